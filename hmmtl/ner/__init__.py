"""Named-entity recognition.

* :mod:`~hmmtl.ner.recognizer` -- :class:`NamedEntityRecognizer`, a two-stage CRF with word
  clusters, gazetteers and document-level evidence, and its document features;
* :mod:`~hmmtl.ner.clusters` -- Brown clustering (:class:`~hmmtl.ner.clusters.BrownClusters`),
  with its compiled kernels in :mod:`~hmmtl.ner._cluster_kernels`;
* :mod:`~hmmtl.ner.vectors` -- clusters of count-based word vectors
  (:class:`~hmmtl.ner.vectors.WordVectorClusters`);
* :mod:`~hmmtl.ner.gazetteers` -- lists of names matched in running text
  (:class:`~hmmtl.ner.gazetteers.Gazetteer`, :class:`~hmmtl.ner.gazetteers.Lexicon`) and
  their readers.

``BrownClusters``, ``WordVectorClusters``, ``Gazetteer`` and ``Lexicon`` are importable from
here too; their modules (and Numba) are imported on first use.
"""

from __future__ import annotations

import importlib

from .recognizer import (ENCODINGS, CaseTable, NamedEntityRecognizer, aggregate_in_documents,
                         capitalization_context, document_case_features,
                         document_context_features, document_index, document_type_features)

#: the classes imported from their module (of this package) on first use
_LAZY = {"BrownClusters": "clusters", "Gazetteer": "gazetteers", "Lexicon": "gazetteers",
         "WordVectorClusters": "vectors"}

# the names of the lazily imported classes come from _LAZY, their one list
__all__ = ["NamedEntityRecognizer", "capitalization_context", "CaseTable",
           "aggregate_in_documents", "document_index", "document_case_features",
           "document_type_features", "document_context_features", "ENCODINGS"] + list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
