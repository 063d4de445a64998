"""Tagging speed of a multi-task model in a loaded process: tokens per second of
``MultiTaskTagger.predict`` for all its tasks, and for each task with the tasks it reads,
on the words of a CoNLL file (its ``-DOCSTART-`` documents given to a model that uses them);
the fastest of ``--repeat`` runs after one warm-up run.

    python benchmarks/multitask_tag_speed.py MODEL ../shared/data/conll2003/eng.testa

Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def read_words(path: str) -> tuple[list, list]:
    """The sentences' words (first column) and each sentence's document number."""
    sentences, documents, current, doc = [], [], [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("-DOCSTART-"):
                doc += 1
                continue
            if not line:
                if current:
                    sentences.append(current)
                    documents.append(doc)
                    current = []
                continue
            current.append(line.split()[0])
    if current:
        sentences.append(current)
        documents.append(doc)
    return sentences, documents


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("conll")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from hmmtl import load

    model = load(args.model)
    sentences, documents = read_words(args.conll)
    n = sum(map(len, sentences))
    kwargs = {"documents": documents} if getattr(model, "uses_documents_", True) else {}

    def best(tasks) -> float:
        model.predict(sentences, tasks=tasks, **kwargs)  # warm-up: kernels, caches
        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            model.predict(sentences, tasks=tasks, **kwargs)
            times.append(time.perf_counter() - t0)
        return min(times)

    rows = {"all tasks": best(None)}
    for task in model.tasks_:
        rows[f"{task} (+ the tasks it reads)"] = best([task])
    print(f"{n} tokens, {len(sentences)} sentences; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'tasks':<36}{'seconds':>10}{'tokens/s':>12}")
    for name, seconds in rows.items():
        print(f"{name:<36}{seconds:>10.3f}{n / seconds:>12,.0f}")
    print(json.dumps({"benchmark": "multitask_tag_speed", "model": args.model,
                      "tokens": n, "seconds": {k: round(v, 4) for k, v in rows.items()},
                      "tokens_per_s": {k: round(n / v) for k, v in rows.items()},
                      "target_tokens_per_s": 300_000}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
