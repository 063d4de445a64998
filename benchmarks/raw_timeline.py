"""When each worker process of ``hmmtl tag --input raw --jobs N`` splits and tags what:
one line per unit split and tagged (for a model with document features: per unit split and
per batch tagged), with the process id, start and end in seconds from the start of this
script's Python code, as the command runs them.

    python benchmarks/raw_timeline.py MODEL TEXT [--jobs 2] [--batch-size 2000]
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
_ORIGINAL: dict = {}


def _timed(name, *a):
    import os
    import sys

    start = time.perf_counter()
    result = _ORIGINAL[name](*a)
    print(f"  [{os.getpid()}] {name} {start - T0:.3f}-{time.perf_counter() - T0:.3f}",
          file=sys.stderr, flush=True)
    return result


def _split(unit):
    return _timed("split", unit)


def _tag(chunk, first_id):
    return _timed("tag", chunk, first_id)


def _split_and_tag(unit):
    return _timed("split+tag", unit)


def main() -> None:
    import argparse
    import io
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()

    def lap(message: str) -> None:
        print(f"{time.perf_counter() - T0:6.3f} {message}", file=sys.stderr, flush=True)

    from hmmtl.cli import _common, _raw

    lap("imports")
    model, _ = _common.load_labeler(args.model)
    lap("model loaded")
    _ORIGINAL.update({"split": _raw._segment_unit, "tag": _raw._tag_unit,
                      "split+tag": _raw._split_and_tag_unit})
    _raw._segment_unit, _raw._tag_unit = _split, _tag
    _raw._split_and_tag_unit = _split_and_tag
    _raw.tag_raw(model, args.text, args.text, "raw", io.StringIO(), place="xpos",
                 output="jsonl", batch=args.batch_size, jobs=args.jobs)
    lap("done")


if __name__ == "__main__":
    main()
