"""``hmmtl experiment``: run one of the studies of :mod:`hmmtl.studies`."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from ._common import (CommandError, add_command, check_inputs, check_output_folder, data_dir,
                      int_list, log, positive_int)

#: study -> (module, function, the options it takes beyond --data/--out/--quick/--quiet)
STUDIES = {
    "domain-adaptation": ("hmmtl.studies.domain_adaptation", "run_domain_adaptation",
                          ("seeds", "states", "representations", "texts", "hmm_iter",
                           "n_hmms")),
    "feature-augmentation": ("hmmtl.studies.domain_adaptation", "run_feature_augmentation",
                             ()),
    "multi-task": ("hmmtl.studies.multitask", "run_multi_task_product", ()),
    "multi-task-mechanisms": ("hmmtl.studies.multitask", "run_multi_task", ()),
    "ner": ("hmmtl.studies.ner", "run_ner", ("languages", "ablation", "curve", "lexicon",
                                             "unlabeled")),
}
#: parameter of the study -> command-line option
_OPTIONS = {"seeds": "--seeds", "states": "--states", "representations": "--representations",
            "texts": "--texts", "hmm_iter": "--hmm-iter", "n_hmms": "--hmms",
            "languages": "--languages", "ablation": "--no-ablation", "curve": "--no-curve",
            "lexicon": "--lexicon", "unlabeled": "--unlabeled"}


def _text_list(text: str) -> list[str]:
    from ..studies.domain_adaptation import TEXTS

    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in TEXTS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated texts among "
                                         f"{', '.join(TEXTS)}, got {text!r}")
    return items


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "experiment", run, "run a study (domain adaptation, multi-task, NER)",
        "Run one of hmmtl's studies on the corpora and write Markdown, CSV and JSON "
        "tables and a PNG plot to --out.",
        "examples:\n  hmmtl experiment domain-adaptation --data ../shared/data "
        "--out results/da --quick\n"
        "  hmmtl experiment ner --data ../shared/data --out results/ner   "
        "# writes ner-eng.model, ner-esp.model, ner-ned.model")
    p.add_argument("study", choices=sorted(STUDIES), help="which study")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder")
    p.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    p.add_argument("--preset", choices=("full", "quick", "tiny"),
                   help="size of the run: full (default), quick (as --quick), tiny (a smoke "
                        "run of about a minute on the same corpora: what the tests run)")
    p.add_argument("--seeds", type=int_list, metavar="S,S,...", help="random seeds")
    p.add_argument("--states", type=int_list, metavar="K,K,...", help="HMM sizes")
    p.add_argument("--representations", type=lambda s: [x for x in s.split(";") if x],
                   metavar="R;R;...",
                   help="representation sets, e.g. 'none;viterbi;viterbi+posterior+type'")
    p.add_argument("--texts", type=_text_list, metavar="T,T,...",
                   help="domain-adaptation: unlabeled text of the HMMs, among source, target, "
                        "both, transductive (both + the words of the dev and test files)")
    p.add_argument("--hmm-iter", type=positive_int, metavar="N",
                   help="domain-adaptation: EM iterations of each HMM (default 30)")
    p.add_argument("--hmms", dest="n_hmms", type=int, metavar="N",
                   help="domain-adaptation: HMMs per setting (an ensemble of seeds whose "
                        "representations are all features; default 5, 1 with --quick)")
    p.add_argument("--languages", type=_language_list, metavar="L,L,...",
                   help="ner: languages among eng, esp, ned (default all three)")
    p.add_argument("--no-ablation", dest="ablation", action="store_const", const=False,
                   help="ner: skip the contribution of each part (one model per part)")
    p.add_argument("--no-curve", dest="curve", action="store_const", const=False,
                   help="ner: skip F1 against the amount of unlabeled text")
    p.add_argument("--lexicon", metavar="PATH",
                   help="ner: name lists as evidence for every language's recognizer (a "
                        "folder such as DATA/lexicon/en: places, organisations and people of "
                        "the world; or a lexicon model file); adds each list's contribution "
                        "on dev")
    p.add_argument("--unlabeled", nargs="+", metavar="FILE",
                   help="ner: more English unlabeled text for the clusters, the HMM and the "
                        "automatic lists (raw or tokenized text, JSON lines with a \"text\" "
                        "field, gzip; e.g. DATA/text/en/reuters21578.jsonl.gz), less every "
                        "sentence sharing 8 tokens with a dev or test sentence")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def _language_list(text: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in ("eng", "esp", "ned")]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated languages among eng, esp, "
                                         f"ned, got {text!r}")
    return items


def find_study(study: str):
    """The function that runs ``study``."""
    module, function, _ = STUDIES[study]
    return getattr(importlib.import_module(module), function)


def run(args: argparse.Namespace) -> int:
    folder = data_dir(args.data)
    if folder is None:
        raise CommandError("the studies need the corpora: give --data DIR or set HMMTL_DATA")
    check_output_folder(args.out, "results", inputs=[str(folder)])
    out = Path(args.out)
    if args.unlabeled:
        check_inputs(args.unlabeled)
    taken = STUDIES[args.study][2]
    options = {}
    for name, flag in _OPTIONS.items():
        value = getattr(args, name)
        if value is None:
            continue
        if name not in taken:
            raise CommandError(f"{flag} is not an option of the {args.study} study")
        options[name] = value
    if args.study.startswith("multi-task"):  # it takes the preset by name
        options.update(quick=bool(args.quick), preset=args.preset)
    else:
        options["quick"] = {"full": False, "quick": True, "tiny": "tiny"}.get(
            args.preset, bool(args.quick))
    result = find_study(args.study)(data_dir=folder, out_dir=out, progress=not args.quiet,
                                    **options)
    log(args, f"results written to {out}")
    if isinstance(result, dict) and result.get("markdown") and not args.quiet:
        print(result["markdown"])
    return 0
