"""CPU seconds of tagging every batch of a raw text (features and Viterbi only), one
process, the model loaded and one batch tagged first (Numba kernels loaded): the minimum of
``--repeat`` passes.

    NUMBA_NUM_THREADS=1 python benchmarks/raw_batches.py MODEL TEXT [--batch-size 2000]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    from hmmtl.cli import _common, _raw
    from hmmtl.io.segment import Segmenter

    model, _ = _common.load_labeler(args.model)
    segmenter = getattr(model, "segmenter_", None) or Segmenter.default("english")
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    sentences = _raw._Sentences.join(_raw._segmented(segmenter, [(None, text, 0)]))
    words = [sentences.forms[a:b] for a, b in _raw._token_ranges(sentences.lengths)]
    size = args.batch_size
    _common.predict(model, words[:size])
    best = float("inf")
    for _ in range(args.repeat):
        t = time.process_time()
        for k in range(0, len(words), size):
            _common.predict(model, words[k:k + size])
        best = min(best, time.process_time() - t)
    print(f"{args.model}: all batches, minimum of {args.repeat}: {best:.3f} s CPU")


if __name__ == "__main__":
    main()
