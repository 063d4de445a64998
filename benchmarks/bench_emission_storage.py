"""Benchmark: ways to store a recognizer's HMM emission table, measured on a ready-made NER
model (default ``en-ner``): the table's bytes, its bytes deflated (zip), dev and test
entity F1 with the table as each storage gives it back, and how many word types change
their top-3 states (what the recognizer's features read, ``hmm_top_k=3``).

    HMMTL_DATA=../shared/data python benchmarks/bench_emission_storage.py [--model en-ner]
        [--file PATH]

``--file`` measures another file of that model (e.g. one built before format version 3,
whose table was never rounded: ``git show 9df52f2:hmmtl/models/data/en-ner.hmmtl``).

Storages: the model's own table (float32 probabilities in the files built before format
version 3), float16 log-probabilities relative to each state's largest
(:func:`hmmtl.hmm.estimators.compact_emissions`, what the build now stores), and the
top-k states of each word type kept with the rest of its probability spread evenly over
the other states (uint8 state ids + float16 values; each state's row renormalized).
"""

from __future__ import annotations

import argparse
import io
import os
import time
import zipfile

import numpy as np


def _npy_bytes(arr: np.ndarray) -> tuple[int, int]:
    """(bytes of ``arr`` as .npy, bytes deflated in a zip)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    raw = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", raw)
    return len(raw), len(out.getvalue())


def top_k_per_word(emission: np.ndarray, k: int) -> np.ndarray:
    """The k most probable states of each word column kept, the rest of the column's mass
    spread evenly over the other states; rows normalized again."""
    n_states = emission.shape[0]
    idx = np.argsort(-emission, axis=0)[:k]
    kept = np.take_along_axis(emission, idx, axis=0)
    floor = (emission.sum(axis=0) - kept.sum(axis=0)) / (n_states - k)
    out = np.repeat(floor[None, :], n_states, axis=0)
    np.put_along_axis(out, idx, kept, axis=0)
    return out / out.sum(axis=1, keepdims=True)


def main(argv=None) -> None:
    import hmmtl
    from hmmtl.hmm.estimators import compact_emissions, expand_emissions
    from hmmtl.hmm.representations import type_table
    from hmmtl.studies.ready_models import RECIPES, read_labeled, score

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="en-ner")
    parser.add_argument("--file", help="model file (default: the shipped --model)")
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    args = parser.parse_args(argv)
    recipe = RECIPES[args.model]
    dev = read_labeled(recipe["dev"], args.data)
    test = read_labeled(recipe["test"], args.data)
    model = hmmtl.load(args.file or args.model)
    hmm = model.hmms_[0]
    emission = hmm.emission_prob_.copy()
    n_states, n_types = emission.shape
    reference = type_table(hmm.start_prob_, hmm.transition_prob_, emission)
    ref_top = np.argsort(-reference, axis=1)[:, :3]

    compact = compact_emissions(emission)
    size32, zip32 = _npy_bytes(emission.astype(np.float32))
    size16, zip16 = _npy_bytes(compact)
    storages = [("float32 probabilities (as built before)", emission, size32, zip32),
                ("float16 log-probabilities", expand_emissions(compact), size16, zip16)]
    for k in (8, 4):
        storages.append((f"top-{k} states a word + even rest", top_k_per_word(emission, k),
                         n_types * k * 3 + n_types * 2, None))
    print(f"{args.model}: emission table {n_states} x {n_types}")
    print("| storage | bytes | deflated | dev F1 | test F1 | types whose top-3 states "
          "change |")
    print("|---|---|---|---|---|---|")
    for name, table, size, zipped in storages:
        hmm.emission_prob_ = table
        t = time.perf_counter()
        f_dev, f_test = score(model, dev, recipe), score(model, test, recipe)
        top = np.argsort(-type_table(hmm.start_prob_, hmm.transition_prob_, table),
                         axis=1)[:, :3]
        changed = float((top != ref_top).any(axis=1).mean())
        print(f"| {name} | {size / 1e6:.2f} MB | "
              f"{'-' if zipped is None else f'{zipped / 1e6:.2f} MB'} | {100 * f_dev:.2f} | "
              f"{100 * f_test:.2f} | {100 * changed:.2f} % |  ({time.perf_counter() - t:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
