"""Where data enters hmmtl: readers and writers for CoNLL-U, CoNLL column files, NLTK's
tagged corpora and plain tokenized text, all reading into a :class:`Corpus`; raw text split
into sentences and tokens with their offsets (:class:`Segmenter`); chunk-scheme
conversions (IOB1, IOB2, BIOES, BILOU) and Penn Treebank notation normalization.

Readers accept a path, an open text or binary stream (``sys.stdin``) or an iterable of
lines, and raise :class:`FormatError` (a ``ValueError``) naming the file and line of
malformed input.  Writers replace files atomically and give a file back byte for byte when
nothing was changed.
"""

from ._source import FormatError
from .conll import (CONLL2000_COLUMNS, CONLL2002_COLUMNS, CONLL2003_COLUMNS, read_conll,
                    write_conll)
from .conllu import CONLLU_COLUMNS, read_conllu, write_conllu
from .corpus import Corpus, concat
from .data_root import DATA_ENV, data_root, find_data_root
from .nltk_corpora import (NLTK_CORPORA, NLTK_TEXT_CORPORA, NLTK_TREEBANK_TEXTS, load_nltk,
                           load_nltk_text, nltk_data_dir)
from .notation import (PTB_BRACKETS, Notation, detect_notation, normalize_notation,
                       normalize_tags, normalize_words)
from .schemes import (Chunks, bilou_to_iob2, bioes_to_iob2, chunk_spans, convert_scheme,
                      iob1_to_bioes, iob1_to_iob2, iob2_to_bilou, iob2_to_bioes, iob2_to_iob1)
from .segment import Segmenter, Sentence, Token
from .text import (check_plain_text, iter_text, iter_unlabeled, read_text, read_unlabeled,
                   write_text)

__all__ = [
    "Corpus", "concat", "FormatError", "DATA_ENV", "data_root", "find_data_root",
    "read_conllu", "write_conllu", "CONLLU_COLUMNS",
    "read_conll", "write_conll", "CONLL2000_COLUMNS", "CONLL2002_COLUMNS", "CONLL2003_COLUMNS",
    "load_nltk", "load_nltk_text", "NLTK_CORPORA", "NLTK_TEXT_CORPORA", "NLTK_TREEBANK_TEXTS",
    "nltk_data_dir",
    "read_text", "iter_text", "write_text", "read_unlabeled", "check_plain_text",
    "iter_unlabeled", "Segmenter", "Sentence", "Token",
    "normalize_notation", "normalize_words", "normalize_tags", "PTB_BRACKETS",
    "Notation", "detect_notation",
    "convert_scheme", "chunk_spans", "Chunks", "iob1_to_iob2", "iob2_to_iob1", "iob2_to_bioes",
    "iob1_to_bioes", "bioes_to_iob2", "iob2_to_bilou", "bilou_to_iob2",
]
