"""The recipe of ``hmmtl experiment ner``'s English recognizer as the command line uses it
(``hmmtl train --algorithm recognizer``, and the ner task of ``hmmtl train --tasks``): the
Brown clusters and HMM learned on the training words plus the ``--unlabeled`` text, the
recognizer over them, NLTK's gazetteers from ``--data`` and the ``--lexicon`` name lists."""

from __future__ import annotations

from typing import cast

from ._common import CommandError


def read_lexicon(path):
    """The ``--lexicon`` name lists (a folder or a lexicon model file), or None."""
    if not path:
        return None
    from ..studies.ner import read_lexicon as read

    try:
        return read(path)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(f"--lexicon {path}: {exc}") from None


def representations(sentences: list, unlabeled, args) -> tuple:
    """The Brown clusters, the HMM and the word-vector clusters (None where the recipe has
    none) of the NER study's English recipe (:data:`hmmtl.studies.ner.RECIPES`), learned on
    the training ``sentences`` plus the ``unlabeled`` text (token lists, or a stream of them:
    :func:`unlabeled_sentences`): the same clusters and HMM as the study's ``_clusters`` and
    ``_hmm`` on the two together, read in one pass a chunk at a time and kept as counts (the
    clusters' words and word pairs) and as word ids (the HMM's text, 4 bytes a token; the
    word vectors count their contexts on them), never as token lists."""
    import itertools

    from ..studies.ner import HMM_ITERATIONS, RECIPES, learn_representations, word_vectors

    recipe = RECIPES["eng"]
    vectors = word_vectors("eng", seed=getattr(args, "seed", 0) or 0, progress=not args.quiet)
    clusters, hmm, _ = learn_representations(itertools.chain(sentences, unlabeled),
                                             recipe["clusters"], recipe["hmm_states"],
                                             HMM_ITERATIONS, not args.quiet,
                                             word_vectors=vectors)
    return clusters, hmm, vectors


def recognizer(learned: tuple, columns: dict, gazetteer, lexicon, args):
    """The English recipe of the NER study (:data:`hmmtl.studies.ner.RECIPES`) with the
    clusters and HMM of :func:`representations`."""
    from ..ner import NamedEntityRecognizer
    from ..studies.ner import COMMON, RECIPES

    recipe = RECIPES["eng"]
    progress = not args.quiet
    clusters, hmm, vectors = learned
    labeler_params: dict = {**cast(dict, COMMON["labeler_params"])}
    if args.max_iter is not None:
        labeler_params["max_iterations"] = args.max_iter
    if args.c2 is not None:
        labeler_params["c2"] = args.c2
    return NamedEntityRecognizer(
        **{**COMMON, "labeler_params": labeler_params}, columns=columns, clusters=clusters,
        hmm=hmm, word_clusters=vectors, gazetteer=gazetteer,
        auto_lists=recipe["recognizer"]["auto_lists"], lexicon=lexicon, random_state=args.seed,
        verbose=progress)


def unlabeled_sentences(paths, fmt, max_tokens: int | None = None):
    """The sentences of the ``--unlabeled`` files (the clusters, the HMM and the automatic
    lists learn from them) as a stream read again each time it is iterated
    (:class:`hmmtl.io.text.TokenStream`: never held whole), by the one reader of unlabeled
    text; with ``max_tokens`` (``--unlabeled-max-tokens``), its first sentences up to the
    one that reaches that many tokens, the files in the order given.  No files: an empty
    list."""
    if not paths:
        return []
    from ..io.text import TokenStream
    from ._common import iter_text_sentences

    out = TokenStream(lambda: iter_text_sentences(paths, fmt), max_tokens)
    if next(iter(out), None) is None:
        raise CommandError(f"--unlabeled {' '.join(map(str, paths))}: no sentence")
    return out


def nltk_gazetteer(folder):
    """NLTK's gazetteers and first names when the corpora folder has them, else None."""
    if folder is None:
        return None
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers

    try:
        return Gazetteer(load_nltk_gazetteers(folder))
    except FileNotFoundError:
        return None
