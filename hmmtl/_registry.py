"""The one registry of hmmtl's model classes.

Every class whose instances are saved to model files is listed here once, by name, with the
public module it is imported from.  What else names the model classes is derived from it:
the classes a model file may name (:mod:`hmmtl.serialize`), and the models ``hmmtl``
offers at its top level (``from hmmtl import NamedEntityRecognizer``).  What a model can do
(tag sentences) is asked of its class, never kept in a list.  The representations an HMM
gives of a token are named here too, for the HMMs, the pipelines and the command line alike.

This module imports nothing, so that ``import hmmtl`` and the command line's parsers stay
light; the modules are imported when a class is first used.
"""

from __future__ import annotations

__all__ = ["MODEL_CLASSES", "FORMER_MODULES", "REPRESENTATIONS"]

#: class name -> the public module it is imported from.  A model file names its class and
#: this module; only these classes are ever resolved when loading, and only by name: nothing
#: in a file is imported.  A new model class is added here.
MODEL_CLASSES: dict[str, str] = {
    "CategoricalHMM": "hmmtl.hmm",
    "MultiDomainHMM": "hmmtl.hmm",
    "LinearChainCRF": "hmmtl.crf",
    "AveragedPerceptron": "hmmtl.crf",
    "Tagger": "hmmtl.transfer.pipeline",
    "DomainAugmentedCRF": "hmmtl.transfer.augment",
    "MultiTaskHMM": "hmmtl.transfer.multitask_hmm",
    "MultiTaskTagger": "hmmtl.transfer.multitask",
    "AlternatingStructureOptimization": "hmmtl.transfer.aso",
    "BrownClusters": "hmmtl.ner",
    "Gazetteer": "hmmtl.ner",
    "Lexicon": "hmmtl.ner",
    "WordVectorClusters": "hmmtl.ner",
    "NamedEntityRecognizer": "hmmtl.ner",
}

#: modules that files written before a class moved name for it; a file naming one of these
#: still loads (the class is resolved by its name in :data:`MODEL_CLASSES`)
FORMER_MODULES: dict[str, tuple[str, ...]] = {
    "BrownClusters": ("hmmtl.clusters",),
    "Gazetteer": ("hmmtl.gazetteers",),
    "Lexicon": ("hmmtl.gazetteers",),
}

#: the representations an HMM gives of a token (``CategoricalHMM.transform(kind=...)``, the
#: ``representations`` of a :class:`~hmmtl.transfer.pipeline.Tagger`, ``hmmtl train
#: --represent``): its Viterbi state, its posterior over states in context, the
#: context-free p(state | word) of its type, and that table's most probable state
REPRESENTATIONS = ("viterbi", "posterior", "type", "type_cluster")
