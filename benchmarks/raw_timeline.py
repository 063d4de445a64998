"""When each worker process of ``hmmtl tag --input raw --jobs N`` splits and tags what:
one line per unit split and tagged (for a model with document features: per unit split and
per batch tagged; and the warm-up of the process that forks the taggers), with the process
id, start and end in seconds from the start of this script's Python code, as the command
runs them (the taggers forked warm after a splitter; ``--cold``: each worker loads Numba).

    python benchmarks/raw_timeline.py MODEL TEXT [--jobs 2] [--batch-size 2000] [--cold]
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


def _tag(*args):
    return _timed("tag", *args)


def _split_and_tag(unit):
    return _timed("split+tag", unit)


def _split_only(unit):
    return _timed("split-unit", unit)


def _tag_split(*args):
    return _timed("tag-unit", *args)


def _warm(model, segmenter):
    return _timed("warm-up", model, segmenter)


def main() -> None:
    import argparse
    import io
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--cold", action="store_true",
                        help="the workers of before the warm fork (each loads Numba itself)")
    args = parser.parse_args()

    def lap(message: str) -> None:
        print(f"{time.perf_counter() - T0:6.3f} {message}", file=sys.stderr, flush=True)

    from hmmtl.cli import _common, _raw

    lap("imports")
    model, _ = _common.load_labeler(args.model)
    lap("model loaded")
    _ORIGINAL.update({"split": _raw._segment_unit, "tag": _raw._tag_unit,
                      "split+tag": _raw._split_and_tag_unit, "split-unit": _raw._split_unit,
                      "tag-unit": _raw._tag_split_unit, "warm-up": _raw._warm_up})
    _raw._segment_unit, _raw._tag_unit = _split, _tag
    _raw._split_and_tag_unit = _split_and_tag
    _raw._split_unit, _raw._tag_split_unit, _raw._warm_up = _split_only, _tag_split, _warm
    # as `hmmtl tag` runs it: the taggers forked warm after a splitter (unless --cold)
    _raw.tag_raw(model, args.text, args.text, "raw", io.StringIO(), place="xpos",
                 output="jsonl", batch=args.batch_size, jobs=args.jobs, warm=not args.cold)
    lap("done")


if __name__ == "__main__":
    main()
