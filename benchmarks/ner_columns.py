"""Dev figures of a ready-made recognizer that supplies its POS column (es-ner, nl-ner):
the embedded tagger's POS accuracy on the dev file, the dev F1 from the words alone (the
tagger's column) and with the dev file's own POS column.

    PYTHONPATH=$PWD python benchmarks/ner_columns.py --data DIR --models DIR nl-ner es-ner

``--models``: the folder ``hmmtl models build --out`` wrote (default: the installed models).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv=None):
    from hmmtl.metrics import accuracy, entity_scores
    from hmmtl.models import MODELS, data_folder
    from hmmtl.serialize import load
    from hmmtl.studies import ready_models as rm
    from hmmtl.studies.ner import LANGUAGES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--models", default=None)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    folder = Path(args.models) if args.models else data_folder()
    for name in args.names:
        recipe = rm.RECIPES[name]
        lang = recipe["lang"]
        model = load(folder / MODELS[name]["file"])
        dev = rm.read_labeled(recipe["dev"], args.data)
        docs = list(dev.doc_ids) if LANGUAGES[lang]["documents"] else None
        gold_pos = dev.column(LANGUAGES[lang]["columns"]["pos"])
        gold = dev.column(LANGUAGES[lang]["label"])
        tagged = model.column_taggers_["pos"].predict(dev.sentences)
        print(name, json.dumps({
            "dev_pos_accuracy": accuracy(gold_pos, tagged),
            "dev_f1_words": entity_scores(gold, model.predict(dev.sentences,
                                                              documents=docs)).f1,
            "dev_f1_file_pos": entity_scores(gold, model.predict(
                dev.sentences, columns={"pos": gold_pos}, documents=docs)).f1}), flush=True)


if __name__ == "__main__":
    main()
