"""Benchmark: tagging raw text with ``hmmtl tag --input raw`` against NLTK's pipeline as its
users run it: ``PunktSentenceTokenizer()`` (untrained: NLTK's pretrained English Punkt model is
not in the data folder), ``NLTKWordTokenizer().span_tokenize`` per sentence and the pretrained
averaged perceptron of ``nltk.pos_tag`` (``../shared/anchors/nltk_pos_tag.py``'s
``load_tagger``).

Quality: the raw text of the EWT test files (``--split dev`` for tuning): each document's
``# text`` lines joined with a space, documents separated by a blank line, scored against the
gold words with a character-aligned scorer in the manner of the CoNLL 2018 shared task's
``conll18_ud_eval.py`` (tokenization errors count): a system word is aligned to a gold word
when both cover the same characters; Words F1, Sentences F1 (same first and last character),
and aligned XPOS F1 (correct XPOS among aligned words; precision over system words, recall
over gold words).  The words of a multi-word token (``don't`` = ``do`` + ``n't``) cover the
characters of their forms when the forms spell the token, else the whole token (and then align
only with a system word that covers it all).

Speed: raw text of 250k+ tokens not in any test set (20 Newsgroups train split,
``text/en/20newsgroups.jsonl.gz``): ``hmmtl tag`` through the command line (start-up
included) against the NLTK pipeline in this process (its model already loaded), document by
document (Punkt's regular expressions time out on the whole text), tokens/s each by its own
count; CPU seconds too (the wall clock of a shared machine varies with its load, printed
with the figures).  Each system is timed ``--repeat`` times (default 3), the runs of the two
interleaved, and the fastest run of each is compared (as :mod:`timeit` does: on a shared
machine the slower runs measure the neighbours); every run's seconds are in the JSON line.
The quality run goes first and is hmmtl's warm-up: its Numba kernels are compiled on the first
run ever and cached on disk (``cache=True``), and every later run, the user's normal case,
loads them from the cache; the timed run is such a later run (start-up, model loading and
the cache load included).  ``benchmarks/raw_phases.py`` splits hmmtl's time into phases.

The model: ``--model PATH``, else one trained here by
``hmmtl train --format nltk:conll2000:train --tag-column pos --data DIR [--unlabeled EWT train
files]`` (``--no-unlabeled`` to leave the HMMs out).

    HMMTL_DATA=../shared/data python benchmarks/bench_raw.py [--model M] [--split dev]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


# ------------------------------------------------------------------ gold and the scorer
def read_ewt_documents(path):
    """The documents of a CoNLL-U file: ``[(text, sentences)]``, each sentence a list of
    gold words ``(start, end, xpos)`` with offsets into the document's text (its sentences'
    ``# text`` joined with a space), and the sentences' ``(start, end)``."""
    docs, sents, offset = [], [], 0
    text_parts = []
    sentence, sent_text, mwt = [], None, None

    def close_sentence():
        nonlocal sentence, sent_text
        if sent_text is not None:
            sents.append(sentence)
        sentence, sent_text = [], None

    def close_doc():
        nonlocal sents, text_parts, offset
        if sents:
            docs.append((" ".join(text_parts), sents))
        sents, text_parts, offset = [], [], 0

    pos = base = 0
    with open(path, encoding="utf-8") as f:
        lines = list(f)
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("# newdoc"):
            close_sentence()
            close_doc()
        elif line.startswith("# text = "):
            sent_text = line[len("# text = "):]
            base = offset
            text_parts.append(sent_text)
            offset += len(sent_text) + 1
            pos = 0
        elif not line:
            close_sentence()
        elif not line.startswith("#"):
            cols = line.split("\t")
            if "." in cols[0]:
                continue
            if "-" in cols[0]:
                a, b = map(int, cols[0].split("-"))
                start = sent_text.index(cols[1], pos)
                pos = start + len(cols[1])
                mwt = [a, b, cols[1], start, []]
                continue
            i = int(cols[0])
            if mwt is not None and mwt[0] <= i <= mwt[1]:
                mwt[4].append((cols[1], cols[4]))
                if i == mwt[1]:
                    _, _, form, start, words = mwt
                    if "".join(w for w, _ in words) == form:
                        for w, x in words:
                            sentence.append((base + start, base + start + len(w), x))
                            start += len(w)
                    else:
                        sentence.extend((base + start, base + start + len(form), x)
                                        for _, x in words)
                    mwt = None
                continue
            start = sent_text.index(cols[1], pos)
            pos = start + len(cols[1])
            sentence.append((base + start, base + pos, cols[4]))
    close_sentence()
    close_doc()
    return docs


def f1(correct, system, gold):
    p = correct / system if system else 0.0
    r = correct / gold if gold else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def score(gold_sentences, system_sentences):
    """Words, Sentences and aligned XPOS F1 (percent) of system sentences (lists of
    ``(start, end, xpos)``) against gold ones, aligned by character offsets."""
    gold = {(a, b): x for s in gold_sentences for a, b, x in s}
    n_gold = sum(map(len, gold_sentences))
    n_sys = sum(map(len, system_sentences))
    aligned = xpos = 0
    for s in system_sentences:
        for a, b, x in s:
            g = gold.get((a, b))
            if g is not None:
                aligned += 1
                xpos += g == x
    gold_spans = {(s[0][0], s[-1][1]) for s in gold_sentences if s}
    sys_spans = {(s[0][0], s[-1][1]) for s in system_sentences if s}
    return {"words": 100 * f1(aligned, n_sys, n_gold),
            "sentences": 100 * f1(len(gold_spans & sys_spans), len(sys_spans), len(gold_spans)),
            "xpos": 100 * f1(xpos, n_sys, n_gold)}


# ------------------------------------------------------------------ the systems
def load_nltk_tagger(data):
    spec = importlib.util.spec_from_file_location(
        "nltk_pos_tag", ROOT.parent / "shared" / "anchors" / "nltk_pos_tag.py")
    if spec is None or not Path(spec.origin).exists():
        spec = importlib.util.spec_from_file_location(
            "nltk_pos_tag", Path("/work/shared/anchors/nltk_pos_tag.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_tagger(str(data))


def nltk_pipeline(tagger, text):
    """NLTK's sentences of ``text``: lists of ``(start, end, tag)``."""
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    punkt, words = PunktSentenceTokenizer(), NLTKWordTokenizer()
    out = []
    for a, b in punkt.span_tokenize(text):
        spans = [(a + s, a + e) for s, e in words.span_tokenize(text[a:b])]
        if not spans:
            continue
        tags = tagger.tag([text[s:e] for s, e in spans])
        out.append([(s, e, t) for (s, e), (_, t) in zip(spans, tags)])
    return out


def hmmtl_tag(model, path, out, jobs: str = "auto"):
    """Run ``hmmtl tag --input raw`` on ``path`` (``--jobs``: default ``auto``, as a user
    runs it); seconds, CPU seconds (its worker processes included) and its sentences.

    Python writes the package's byte-code cache as it does for a user (an installed package
    has it; ``PYTHONDONTWRITEBYTECODE``, set on some machines, is left out here), so the
    timed run, which follows the quality run, does not compile the package's sources."""
    import resource

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", str(model), "--input",
                    "raw", "--output-format", "jsonl", "--jobs", jobs, "-q", "-o", str(out),
                    str(path)], check=True, env=env)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sentences = []
    with open(out, encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            sentences.append([(t["start"], t["end"], t["tag"]) for t in s["tokens"]])
    return seconds, cpu, sentences


def train_model(data, folder, unlabeled: bool):
    path = Path(folder) / "model.hmmtl"
    cmd = [sys.executable, "-m", "hmmtl", "train", "--format", "nltk:conll2000:train",
           "--tag-column", "pos", "--data", str(data), "-q", "--out", str(path)]
    if unlabeled:
        cmd[-2:-2] = ["--unlabeled", *(str(data / "ud" / "en_ewt" / f"en_ewt-{d}-train.conllu")
                                       for d in DOMAINS)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, check=True, env=env)
    return path


def newsgroups_texts(data, n_tokens: int) -> list[str]:
    """Raw 20 Newsgroups train texts, about ``n_tokens`` whitespace tokens in all."""
    parts, count = [], 0
    with gzip.open(data / "text" / "en" / "20newsgroups.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("split") != "train":
                continue
            parts.append(doc["text"].strip())
            count += len(doc["text"].split())
            if count >= n_tokens:
                break
    return parts


# ------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    parser.add_argument("--model", help="model file (default: trained here)")
    parser.add_argument("--no-unlabeled", action="store_true",
                        help="train the default model without --unlabeled EWT train text")
    parser.add_argument("--split", default="test", choices=("test", "dev"))
    parser.add_argument("--speed-tokens", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each system (the fastest counts)")
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set HMMTL_DATA")
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model = args.model or train_model(data, folder, not args.no_unlabeled)
        tagger = load_nltk_tagger(data)

        # quality: EWT documents, one blank line between them
        texts, gold, ours_in = [], [], folder / "ewt.txt"
        offset = 0
        for d in DOMAINS:
            for text, sentences in read_ewt_documents(
                    data / "ud" / "en_ewt" / f"en_ewt-{d}-{args.split}.conllu"):
                texts.append((offset, text))
                gold += [[(a + offset, b + offset, x) for a, b, x in s] for s in sentences]
                offset += len(text) + 2
        ours_in.write_text("\n\n".join(t for _, t in texts) + "\n", encoding="utf-8")
        _, _, ours = hmmtl_tag(model, ours_in, folder / "ewt.jsonl")
        theirs = []
        for start, text in texts:
            theirs += [[(a + start, b + start, t) for a, b, t in s]
                       for s in nltk_pipeline(tagger, text)]
        q_ours, q_theirs = score(gold, ours), score(gold, theirs)

        # speed: 250k+ tokens of raw text not in a test set
        raw = folder / "news.txt"
        docs = newsgroups_texts(data, args.speed_tokens)
        raw.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
        load_before = os.getloadavg()[0]
        runs: dict = {"hmmtl": [], "hmmtl_jobs_1": [], "nltk": []}
        for _ in range(max(1, args.repeat)):
            ours_s, ours_cpu, ours_sents = hmmtl_tag(model, raw, folder / "news.jsonl")
            runs["hmmtl"].append((ours_s, ours_cpu))
            one_s, one_cpu, one_sents = hmmtl_tag(model, raw, folder / "news1.jsonl", "1")
            runs["hmmtl_jobs_1"].append((one_s, one_cpu))
            if one_sents != ours_sents:
                raise SystemExit("--jobs 1 and --jobs auto disagree")
            t0, c0 = time.perf_counter(), time.process_time()
            # document by document: NLTK's Punkt refuses a long text
            nltk_tokens = sum(len(s) for doc in docs for s in nltk_pipeline(tagger, doc))
            runs["nltk"].append((time.perf_counter() - t0, time.process_time() - c0))
        ours_tokens = sum(map(len, ours_sents))
        (ours_s, ours_cpu), (one_s, one_cpu), (nltk_s, nltk_cpu) = (
            min(runs[k]) for k in ("hmmtl", "hmmtl_jobs_1", "nltk"))
        load_after = os.getloadavg()[0]

    ours_rate, nltk_rate = ours_tokens / ours_s, nltk_tokens / nltk_s
    print(f"EWT {args.split} raw text, {len(gold)} gold sentences, "
          f"{sum(map(len, gold))} gold words")
    print(f"{'system':<28}{'Words F1':>10}{'Sents F1':>10}{'XPOS F1':>10}{'tokens/s':>12}")
    print(f"{'hmmtl tag --input raw':<28}{q_ours['words']:>10.2f}{q_ours['sentences']:>10.2f}"
          f"{q_ours['xpos']:>10.2f}{ours_rate:>12.0f}")
    print(f"{'NLTK Punkt+word+pos_tag':<28}{q_theirs['words']:>10.2f}"
          f"{q_theirs['sentences']:>10.2f}{q_theirs['xpos']:>10.2f}{nltk_rate:>12.0f}")
    cpu_ratio = (ours_tokens / ours_cpu) / (nltk_tokens / nltk_cpu)
    print(f"speed on {ours_tokens} tokens (hmmtl, start-up included: {ours_s:.2f} s, "
          f"{ours_cpu:.2f} s CPU) / {nltk_tokens} tokens (NLTK: {nltk_s:.2f} s, {nltk_cpu:.2f} s "
          f"CPU): {ours_rate / nltk_rate:.1f}x wall clock, {cpu_ratio:.1f}x CPU time; "
          f"fastest of {len(runs['nltk'])} runs each; "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} before the timed runs, "
          f"{load_after:.1f} after")
    one_rate = ours_tokens / one_s
    print(f"hmmtl tag --jobs 1 (one process): {one_s:.2f} s, {one_cpu:.2f} s CPU: "
          f"{one_rate / nltk_rate:.1f}x wall clock")
    print(json.dumps({"benchmark": "raw", "split": args.split, "model": str(args.model or
                      "trained: conll2000 train" + ("" if args.no_unlabeled else
                                                    " + EWT train unlabeled")),
                      "hmmtl": {**q_ours, "seconds": round(ours_s, 3),
                                "cpu_seconds": round(ours_cpu, 3), "tokens": ours_tokens,
                                "tokens_per_s": round(ours_rate), "jobs": "auto",
                                "jobs_1": {"seconds": round(one_s, 3),
                                           "cpu_seconds": round(one_cpu, 3),
                                           "tokens_per_s": round(one_rate),
                                           "speed_ratio": round(one_rate / nltk_rate, 2)}},
                      "nltk": {**q_theirs, "seconds": round(nltk_s, 3),
                               "cpu_seconds": round(nltk_cpu, 3), "tokens": nltk_tokens,
                               "tokens_per_s": round(nltk_rate)},
                      "runs_seconds": {k: [round(s, 3) for s, _ in v] for k, v in runs.items()},
                      "load_average": [round(load_before, 2), round(load_after, 2)],
                      "speed_ratio": round(ours_rate / nltk_rate, 2),
                      "cpu_speed_ratio": round(cpu_ratio, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
