"""``hmmtl models``: the ready-made models (list), and their reproducible build."""

from __future__ import annotations

import argparse
import json

from ._common import CommandError, add_command, check_output_folder, data_dir


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "models", run, "the ready-made models: list them, or build them",
        "List the ready-made models that come with hmmtl (give a name to 'hmmtl tag "
        "--model', 'hmmtl evaluate --model' or hmmtl.load): their training data, recipe, "
        "size and measured scores.  'hmmtl models build --data DIR --out FOLDER [--only "
        "en-pos,...]' trains them again from the corpora in DIR with the recipe of "
        "hmmtl.studies.ready_models (fixed seeds) and writes the model files and catalog.json, "
        "which records the data files' SHA-256 checksums, the settings, the library "
        "version and the dev and test scores; the shipped files are what it writes.",
        "examples:\n"
        "  hmmtl models\n"
        "  hmmtl models --json")
    p.add_argument("action", nargs="?", choices=("list", "build"), default="list",
                   help="list (default) or build")
    p.add_argument("--data", metavar="DIR", help="build: corpora folder (default: "
                                                 "$HMMTL_DATA)")
    p.add_argument("--out", metavar="FOLDER", help="build: where the model files and "
                                                   "catalog.json go")
    p.add_argument("--only", metavar="NAMES", help="build: comma-separated model names "
                                                   "(default: all)")
    p.add_argument("--no-segmenter", action="store_true",
                   help="build: leave out the sentence splitter and tokenizer settings")
    p.add_argument("--json", action="store_true", help="list: print the catalog as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="build: no progress messages")


def _list(args) -> int:
    from ..models import MODELS, catalog, data_folder

    cat = catalog()
    if args.json:
        print(json.dumps(cat, indent=1))
        return 0
    rows = [("name", "task", "trained on", "unlabeled", "name lists", "size", "dev", "test",
             "file")]
    for name, spec in MODELS.items():
        entry = cat["models"].get(name)
        if entry is None:
            rows.append((name, spec["task"], "-", "-", "-", "-", "-", "-", "not installed"))
            continue
        scores = entry["scores"]
        metric = "acc" if entry["metric"] == "accuracy" else "F1"
        rows.append((name, spec["task"], ", ".join(entry["training_data"]),
                     ", ".join(entry["unlabeled"]) or "-", entry.get("lexicon", "-"),
                     f"{entry['bytes'] / 1e6:.1f} MB", f"{metric} {100 * scores['dev']:.2f}",
                     f"{metric} {100 * scores['test']:.2f}", spec["file"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"\nfolder: {data_folder()}; details (recipe, data checksums, pruning): "
          f"hmmtl models --json")
    return 0


def _build(args) -> int:
    from ..models import MODELS
    from ..studies.ready_models import build

    if not args.out:
        raise CommandError("hmmtl models build needs --out FOLDER (the package's own "
                           "folder is hmmtl/models/data)")
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    bad = [n for n in only or () if n not in MODELS]
    if bad:
        raise CommandError(f"--only {args.only}: unknown {', '.join(bad)}; the models are "
                           f"{', '.join(MODELS)}")
    folder = data_dir(args.data)
    if folder is None:
        raise CommandError("no corpora folder: give --data DIR or set HMMTL_DATA")
    check_output_folder(args.out, "models", inputs=[str(folder)])
    build(folder, args.out, only, segmenter=not args.no_segmenter, progress=not args.quiet)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        return _build(args)
    for flag, value in (("--data", args.data), ("--out", args.out), ("--only", args.only)):
        if value is not None:
            raise CommandError(f"{flag} is an option of 'hmmtl models build'")
    return _list(args)
