"""Where the time of ``hmmtl tag --input raw`` goes: CPU and wall seconds of each phase of
the command's path (imports, loading the model, segmentation, tagging in batches of
``--batch-size`` sentences, writing JSON lines and CoNLL-U to memory), in one process.

    python benchmarks/raw_phases.py MODEL TEXT [--batch-size 2000]

The first batch carries the loading of the Numba kernels from their on-disk cache (compiled
on the first run ever, then cached: run this twice and read the second).
"""

from __future__ import annotations

import time

_CPU, _WALL = time.process_time(), time.perf_counter()
_LAST = [_CPU, _WALL]


def lap(name: str) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    print(f"{name:<28}{cpu - _LAST[0]:8.3f} s CPU {wall - _LAST[1]:8.3f} s wall")
    _LAST[:] = [cpu, wall]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    lap("interpreter + argparse")
    import itertools

    import numpy  # noqa: F401 - timed on its own

    lap("import numpy")
    from hmmtl.cli import _common, _raw
    from hmmtl.io.segment import Segmenter

    lap("import hmmtl.cli")
    model, _ = _common.load_labeler(args.model)
    lap("load model")
    segmenter = getattr(model, "segmenter_", None) or Segmenter.default("english")
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    sentences = _raw._Sentences.join(_raw._segmented(segmenter, [(None, text, 0)]))
    lap("segmentation")
    words = [sentences.forms[a:b] for a, b in _raw._token_ranges(sentences.lengths)]
    tags = []
    for k in range(0, len(words), args.batch_size):
        tags += _common.predict(model, words[k:k + args.batch_size])
        if not k:
            lap("first batch (+ Numba load)")
    lap("other batches")
    tags = list(itertools.chain.from_iterable(tags))
    _raw._WRITERS["jsonl"](sentences, tags, 1, "xpos")
    lap("write JSON lines")
    _raw._WRITERS["conllu"](sentences, tags, 1, "xpos")
    lap("write CoNLL-U")
    import os

    print(f"{len(sentences.forms)} tokens, {len(words)} sentences; total "
          f"{time.process_time() - _CPU:.3f} s CPU (after the interpreter's start); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
