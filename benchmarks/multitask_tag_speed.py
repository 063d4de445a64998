"""Tagging speed of a multi-task model in a loaded process: tokens per second of
``MultiTaskTagger.predict`` for all its tasks, and for each task with the tasks it reads,
on the words of a CoNLL file (its ``-DOCSTART-`` documents given to a model that uses them);
the fastest of ``--repeat`` runs after one warm-up run.

The comparison in the same run: the same labelers each run on its own, as separate
single-task models would be (each computes the shared clusters / HMM features itself and
reads the words, looks them up and featurizes them again; each later task gets the earlier
tasks' tags); the tags must be the same.  Quality: each task's score on the file's own
columns (``--columns pos=1,chunk=2,ner=3``, CoNLL-2003's order; POS accuracy, chunk and
entity F1), so that speed is never bought with accuracy.

    python benchmarks/multitask_tag_speed.py MODEL ../shared/data/conll2003/eng.testa

Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def read_conll(path: str, columns: dict) -> tuple[list, list, dict]:
    """The sentences' words (first column), each sentence's document number, and the tags
    of each task of ``columns`` (task -> column index)."""
    sentences, documents, current, doc = [], [], [], 0
    tags: dict = {t: [] for t in columns}
    rows: dict = {t: [] for t in columns}
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
                    for t in columns:
                        tags[t].append(rows[t])
                        rows[t] = []
                    current = []
                continue
            fields = line.split()
            current.append(fields[0])
            for t, k in columns.items():
                rows[t].append(fields[k])
    if current:
        sentences.append(current)
        documents.append(doc)
        for t in columns:
            tags[t].append(rows[t])
    return sentences, documents, tags


def one_at_a_time(model, sentences, documents):
    """Every task of ``model`` by its labeler alone, as separate single-task models tag:
    the shared features computed anew for each CRF task, the words read and featurized by
    each, each later task given the earlier tasks' tags."""
    from hmmtl.transfer.multitask import _INPUT

    out: dict = {}
    for task in model.tasks_:
        labeler = model.labelers_[task]
        earlier = {_INPUT + u: out[u] for u in model.inputs_[task]}
        if task in model._model_tasks():
            out[task] = labeler.predict(sentences, columns=earlier or None,
                                        documents=documents)
            continue
        shared = model._shared_features(sentences)
        extra = {k: shared[k] for k in model.shared_inputs_.get(task, shared)}
        extra.update(earlier)
        out[task] = labeler.predict(sentences, extra=extra or None)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("conll")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--columns", default="pos=1,chunk=2,ner=3",
                        help="task=column of the file's gold tags, for the quality figures")
    args = parser.parse_args(argv)
    from hmmtl import load

    model = load(args.model)
    if getattr(model, "input_columns_", None):
        parser.error(f"this model reads input columns {sorted(model.input_columns_)}; give a "
                     f"model that tags from the words alone")
    columns = {t: int(k) for t, k in (p.split("=") for p in args.columns.split(","))}
    sentences, documents, gold = read_conll(args.conll, columns)
    n = sum(map(len, sentences))
    kwargs = {"documents": documents} if getattr(model, "uses_documents_", True) else {}

    def best(run) -> float:
        run()  # warm-up: kernels, caches
        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        return min(times)

    rows = {"all tasks": best(lambda: model.predict(sentences, **kwargs))}
    for task in model.tasks_:
        rows[f"{task} (+ the tasks it reads)"] = best(
            lambda task=task: model.predict(sentences, tasks=[task], **kwargs))
    alone = best(lambda: one_at_a_time(model, sentences, kwargs.get("documents")))
    shared_tags = model.predict(sentences, **kwargs)
    same = one_at_a_time(model, sentences, kwargs.get("documents")) == shared_tags
    scores = model.score_tasks(sentences, {t: gold[t] for t in model.tasks_ if t in gold},
                               **kwargs)
    print(f"{n} tokens, {len(sentences)} sentences; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'tasks':<36}{'seconds':>10}{'tokens/s':>12}")
    for name, seconds in rows.items():
        print(f"{name:<36}{seconds:>10.3f}{n / seconds:>12,.0f}")
    print(f"{'all tasks, each labeler alone':<36}{alone:>10.3f}{n / alone:>12,.0f}")
    print(f"features shared: {alone / rows['all tasks']:.2f}x the labelers one at a time "
          f"(the same tags: {same})")
    print("quality: " + ", ".join(f"{t} {100 * s:.2f}" for t, s in scores.items()))
    print(json.dumps({"benchmark": "multitask_tag_speed", "model": args.model,
                      "tokens": n, "seconds": {k: round(v, 4) for k, v in rows.items()},
                      "tokens_per_s": {k: round(n / v) for k, v in rows.items()},
                      "alone_seconds": round(alone, 4),
                      "alone_tokens_per_s": round(n / alone),
                      "ratio_shared_vs_alone": round(alone / rows["all tasks"], 3),
                      "same_tags": same,
                      "scores": {t: round(100 * s, 2) for t, s in scores.items()},
                      "target_tokens_per_s": 300_000}))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
