"""NLTK's tagged corpora as :class:`Corpus` objects, read by NLTK's own corpus readers from an
NLTK data directory (``<data>/nltk_data``), optionally mapped to the universal tagset with
NLTK's ``map_tag``."""

from __future__ import annotations

import re
import zipfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .conll import CONLL2000_COLUMNS, CONLL2002_COLUMNS, read_conll
from .corpus import Corpus
from .data_root import data_root

if TYPE_CHECKING:
    from .._typing import PathLike

__all__ = ["load_nltk", "load_nltk_text", "NLTK_CORPORA", "NLTK_TEXT_CORPORA",
           "NLTK_TREEBANK_TEXTS", "nltk_data_dir"]

NLTK_CORPORA = ("treebank", "conll2000", "brown", "conll2002", "nps_chat")
#: NLTK's raw-text corpora (no annotation): unlabeled text for the HMMs and auxiliary problems
NLTK_TEXT_CORPORA = ("abc", "webtext", "state_union", "inaugural")
#: NLTK's treebanks of other languages whose words serve as unlabeled text (Spanish newswire of
#: 2000, Dutch newspaper sentences), read by :func:`load_nltk_text`
NLTK_TREEBANK_TEXTS = ("cess_esp", "alpino")
#: cess_esp's bracket and quote symbols, as the CoNLL-2002 files write them
_CESS_SYMBOLS = {"-Fpa-": "(", "-Fpt-": ")", "-fe-": '"'}
# source tagset of each corpus's POS column, as nltk.tag.map_tag names it
_TAGSETS = {"treebank": "wsj", "conll2000": "wsj", "brown": "brown", "nps_chat": "wsj"}


def nltk_data_dir(data_dir: PathLike | None = None) -> Path | None:
    """The NLTK data directory: ``data_dir/nltk_data`` when it exists, else ``data_dir``
    itself when it holds ``corpora/``; with ``data_dir=None``, from ``HMMTL_DATA``, else
    None (NLTK's default search path)."""
    root = data_root(data_dir)
    if root is None:
        return None
    if (root / "nltk_data").is_dir():
        return (root / "nltk_data").resolve()
    if (root / "corpora").is_dir() or (root / "taggers").is_dir():
        return root.resolve()
    raise FileNotFoundError(f"{root} holds neither nltk_data/ nor corpora/; pass the HMMTL_DATA "
                            f"folder (with nltk_data/ inside) or an NLTK data directory")


@contextmanager
def _search_path(root: Path | None):
    """Put ``root`` first on NLTK's data path for the duration (readers open their zip files
    lazily and map_tag loads its tables on first use, both through this path)."""
    import nltk

    if root is None:
        yield
        return
    entry = str(root)
    nltk.data.path.insert(0, entry)
    try:
        yield
    finally:
        nltk.data.path.remove(entry)


def _find(resource: str):
    import nltk

    try:
        return nltk.data.find(resource)
    except LookupError:
        raise FileNotFoundError(f"NLTK resource {resource!r} not found in {nltk.data.path[:3]}; "
                                f"set HMMTL_DATA or pass data_dir") from None


def _reader(name: str):
    from nltk.corpus.reader import (BracketParseCorpusReader, CategorizedTaggedCorpusReader,
                                    ConllChunkCorpusReader, NPSChatCorpusReader)

    # same arguments as the loaders in nltk.corpus
    if name == "treebank":
        return BracketParseCorpusReader(_find("corpora/treebank.zip/treebank/combined/"),
                                        r"wsj_.*\.mrg", tagset="wsj", encoding="ascii")
    if name == "conll2000":
        return ConllChunkCorpusReader(_find("corpora/conll2000.zip/conll2000/"),
                                      ["train.txt", "test.txt"], ("NP", "VP", "PP"),
                                      tagset="wsj", encoding="ascii")
    if name == "brown":
        return CategorizedTaggedCorpusReader(_find("corpora/brown.zip/brown/"), r"c[a-z]\d\d",
                                             cat_file="cats.txt", tagset="brown",
                                             encoding="ascii")
    if name == "conll2002":
        return ConllChunkCorpusReader(_find("corpora/conll2002.zip/conll2002/"),
                                      r".*\.(test|train).*", ("LOC", "PER", "ORG", "MISC"),
                                      encoding="utf-8")
    if name == "nps_chat":
        return NPSChatCorpusReader(_find("corpora/nps_chat.zip/nps_chat/"),
                                   r"(?!README|\.).*\.xml", tagset="wsj")
    raise ValueError(f"unknown NLTK corpus {name!r}; expected one of {NLTK_CORPORA}")


def _fileids(name: str, reader, split) -> list[tuple[str, str]]:
    """(fileid, domain) pairs to read."""
    if name == "treebank":
        if split is not None:
            raise ValueError(f"{name} has no splits; got split={split!r}, expected None")
        return [(f, "wsj") for f in reader.fileids()]
    if name == "nps_chat":
        files = reader.fileids()
        wanted = files if split is None else [split] if isinstance(split, str) else list(split)
        bad = [f for f in wanted if f not in files]
        if bad:
            raise ValueError(f"nps_chat splits are its files {files}, got {bad}")
        return [(f, "chat") for f in wanted]
    if name == "conll2000":
        splits = {"train": "train.txt", "test": "test.txt"}
        wanted = list(splits) if split is None else [split] if isinstance(split, str) else split
        bad = [s for s in wanted if s not in splits]
        if bad:
            raise ValueError(f"conll2000 splits are 'train' and 'test', got {bad}")
        return [(splits[s], "wsj") for s in wanted]
    if name == "conll2002":
        files = list(_CONLL2002_FILES) if reader is None else reader.fileids()
        wanted = [split] if isinstance(split, str) else files if split is None else list(split)
        out: list[tuple[str, str]] = []
        for s in wanted:
            matched = [f for f in files if f == s or f.split(".")[0] == s]
            if not matched:
                raise ValueError(f"conll2002 split {s!r} is not one of {files} or esp / ned")
            out.extend((f, f.split(".")[0]) for f in matched)
        return out
    # brown: splits are categories
    categories = reader.categories()
    wanted = categories if split is None else [split] if isinstance(split, str) else list(split)
    bad = [c for c in wanted if c not in categories]
    if bad:
        raise ValueError(f"brown categories {bad} do not exist; expected some of {categories}")
    wanted = set(wanted)
    out = []
    for f in reader.fileids():
        cats = reader.categories(f)
        if wanted.intersection(cats):
            out.append((f, cats[0]))
    return out


#: the files of NLTK's conll2002 corpus
_CONLL2002_FILES = ("esp.testa", "esp.testb", "esp.train", "ned.testa", "ned.testb", "ned.train")


def _own_files(name: str, root: Path | None, split) -> list[tuple[str, bytes]] | None:
    """``(fileid, contents)`` of the CoNLL-2000 or CoNLL-2002 files of ``split``, read from
    the zip (or folder) in ``root/corpora``; None when they are not there (NLTK's search path
    decides)."""
    if root is None:
        return None
    fileids = [f for f, _ in _fileids(name, None, split)]
    folder = root / "corpora" / name
    if folder.is_dir() and all((folder / f).is_file() for f in fileids):
        return [(f, (folder / f).read_bytes()) for f in fileids]
    archive = root / "corpora" / f"{name}.zip"
    if not archive.is_file():
        return None
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        if not all(f"{name}/{f}" in names for f in fileids):
            return None
        return [(f, z.read(f"{name}/{f}")) for f in fileids]


def load_nltk(name: str, data_dir: PathLike | None = None, split: str | Sequence[str] | None = None,
              tagset: str | None = None, *, drop_traces: bool = True) -> Corpus:
    """Load one of NLTK's tagged corpora through NLTK's own readers.

    Parameters
    ----------
    name : {"treebank", "conll2000", "brown", "conll2002", "nps_chat"}
        ``treebank``: the Penn Treebank WSJ sample, columns ``word, pos``.
        ``conll2000``: WSJ chunking, columns ``word, pos, chunk`` (IOB2).
        ``brown``: Brown corpus, columns ``word, pos`` (Brown tagset), domain = category.
        ``conll2002``: Spanish / Dutch NER, columns ``word, pos, ner`` (IOB2), domain =
        ``esp`` / ``ned``.
        ``nps_chat``: chat posts, columns ``word, pos`` (PTB tags), domain ``chat``.
    data_dir : path, optional
        The ``HMMTL_DATA`` folder (NLTK data in its ``nltk_data/``) or an NLTK data
        directory.  Default: ``HMMTL_DATA``, else NLTK's own search path.
    split : str or list of str, optional
        conll2000: ``"train"`` / ``"test"``; conll2002: a file (``"esp.train"``) or a
        language (``"ned"``); brown: one or more categories; nps_chat: one or more of its
        files (``"10-19-20s_706posts.xml"``).  None: everything.
    tagset : {None, "universal"}
        Map the POS column to the 12 universal tags with ``nltk.tag.map_tag`` (table
        ``taggers/universal_tagset`` in the data directory).
    drop_traces : bool, default True
        treebank only: drop the ``-NONE-`` tokens (traces and empty elements), which are not
        words of the text; taggers are trained and evaluated without them.  A sentence made
        only of traces would be dropped whole (none is in the sample).

    Returns
    -------
    Corpus
        ``format="conll"``; ``doc_ids`` are NLTK file ids (conll2002: one per ``-DOCSTART-``
        document of the file), ``sent_ids`` ``fileid:k``.
    """
    if tagset not in (None, "universal"):
        raise ValueError(f"tagset must be None or 'universal', got {tagset!r}")
    if tagset == "universal" and name not in _TAGSETS:
        raise ValueError(f"{name} POS tags have no universal mapping in NLTK; use tagset=None")
    root = nltk_data_dir(data_dir)
    words, tags, third = [], [], []
    domains, sent_ids, doc_ids = [], [], []
    own = (_own_files(name, root, split) if name in ("conll2000", "conll2002")
           and tagset is None else None)
    for fileid, lines in own or ():  # hmmtl's own reader: no need to import NLTK
        names = CONLL2000_COLUMNS if name == "conll2000" else CONLL2002_COLUMNS
        sents = read_conll(lines, names, sep=" ", name=f"{name}/{fileid}")
        words += sents.columns["word"]
        tags += sents.columns["pos"]
        third += sents.columns[names[2]]
        domains += ["wsj" if name == "conll2000" else fileid.split(".")[0]] * len(sents)
        sent_ids += [f"{fileid}:{k}" for k in range(1, len(sents) + 1)]
        # conll2002: the -DOCSTART- lines of the Dutch files are document boundaries
        doc_ids += list(sents.doc_ids or ()) if name == "conll2002" else [fileid] * len(sents)
    with _search_path(root) if own is None else nullcontext():
        reader = _reader(name) if own is None else None
        for fileid, domain in _fileids(name, reader, split) if own is None else ():
            assert reader is not None
            if name in ("conll2000", "conll2002"):
                sents = reader.iob_sents(fileid)
            elif name == "nps_chat":
                sents = reader.tagged_posts(fileid)
            else:
                sents = reader.tagged_sents(fileid)
            k = 0
            for sent in sents:
                if name == "treebank" and drop_traces:
                    sent = [wt for wt in sent if wt[1] != "-NONE-"]
                if not sent:
                    continue
                fields = list(zip(*sent))
                words.append(list(fields[0]))
                tags.append(list(fields[1]))
                if len(fields) > 2:
                    third.append(list(fields[2]))
                k += 1
                domains.append(domain)
                sent_ids.append(f"{fileid}:{k}")
                doc_ids.append(fileid)
        if tagset == "universal":
            from nltk.tag import map_tag

            source = _TAGSETS[name]
            distinct = {t for s in tags for t in s}
            table = {t: map_tag(source, "universal", t) for t in distinct}
            tags = [list(map(table.__getitem__, s)) for s in tags]
    columns = {"word": words, "pos": tags}
    label = "pos"
    if name == "conll2000":
        columns["chunk"], label = third, "chunk"
    elif name == "conll2002":
        columns["ner"], label = third, "ner"
    where = f"nltk:{name}"
    if split:
        where += ":" + (split if isinstance(split, str) else "+".join(split))
    return Corpus(columns=columns, word_column="word", domains=domains, sent_ids=sent_ids,
                  doc_ids=doc_ids, source=where,
                  label_column=label, format="conll", layout={"sep": " "})


# a sentence ends at . ! ? (and closing quotes or brackets) followed by space and a capital,
# digit or opening quote; lines are never joined (the raw corpora have one paragraph, post
# or sentence a line)
_SENTENCE_END = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])""")
# ... except after a title, an initial or a common abbreviation ("Mr. Speaker", "S. Truman")
_ABBREVIATION = re.compile(r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Gov|Sen|Rep|Capt|Col|Lt|"
                           r"Mt|No|vs|etc|Inc|Co|Corp|Ltd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|"
                           r"Oct|Nov|Dec|[A-Z]|(?:[A-Za-z]\.)+[A-Za-z])\.$")


def split_sentences(line: str) -> list[str]:
    """Split one line of raw text into sentences (see :data:`_SENTENCE_END`).

    >>> split_sentences("Mr. Howard spoke. He left at 5 p.m. Then U.S. officials met.")
    ['Mr. Howard spoke.', 'He left at 5 p.m. Then U.S. officials met.']
    """
    out: list[str] = []
    for piece in _SENTENCE_END.split(line.strip()):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = out[-1] + " " + piece
        elif piece:
            out.append(piece)
    return out


def load_nltk_text(name: str, data_dir: PathLike | None = None,
                   split: str | Sequence[str] | None = None) -> Corpus:
    """Read one of NLTK's raw-text corpora as tokenized sentences (unlabeled text).

    Each line of the raw files is split into sentences at ``. ! ?`` followed by a capital
    and tokenized with NLTK's ``TreebankWordTokenizer`` (Penn Treebank conventions, as the
    annotated corpora: ``don't`` -> ``do n't``), so that the words match those of the
    labeled data.  No model file (Punkt) is needed.

    Parameters
    ----------
    name : {"abc", "webtext", "state_union", "inaugural", "cess_esp", "alpino"}
        ``abc``: Australian Broadcasting Commission news (rural, science), ~0.8M words;
        ``webtext``: web forum posts, reviews, chat and scripts, ~0.4M; ``state_union`` and
        ``inaugural``: US presidential addresses.  ``cess_esp`` (Spanish newswire of 2000,
        ~0.2M words) and ``alpino`` (Dutch newspaper sentences, ~0.14M): the words of these
        treebanks as the CoNLL-2002 files write them (cess_esp's elided subjects ``*0*``
        dropped, its joined names ``Electricité_de_France`` split into tokens, its bracket
        and quote symbols ``-Fpa-`` ``-Fpt-`` ``-fe-`` written ``(`` ``)`` ``"``; alpino's
        HTML entities ``&quot;`` ``&apos;`` unescaped).
    data_dir : path, optional
        As for :func:`load_nltk`.
    split : str or list of str, optional
        File ids of the corpus (``"firefox.txt"``); None: all of them.

    Returns
    -------
    Corpus
        One ``word`` column; ``domains`` = the corpus name, ``doc_ids`` = the file ids.
    """
    if name not in NLTK_TEXT_CORPORA + NLTK_TREEBANK_TEXTS:
        raise ValueError(f"name must be one of {NLTK_TEXT_CORPORA + NLTK_TREEBANK_TEXTS} "
                         f"(raw text, or a treebank's words), got {name!r}; tagged corpora are "
                         f"read by load_nltk")
    sentences_of = _treebank_sentences if name in NLTK_TREEBANK_TEXTS else _raw_sentences
    root = nltk_data_dir(data_dir)
    with _search_path(root):
        import nltk.corpus

        reader = getattr(nltk.corpus, name)
        fileids = reader.fileids()
        if split is not None:
            wanted = {split} if isinstance(split, str) else set(split)
            missing = sorted(wanted - set(fileids))
            if missing:
                raise ValueError(f"{name} has no file(s) {missing}; its files are {fileids}")
            fileids = [f for f in fileids if f in wanted]
        words, doc_ids, sent_ids = [], [], []
        for fileid in fileids:
            k = 0
            for tokens in sentences_of(name, reader, fileid):
                if tokens:
                    k += 1
                    words.append(tokens)
                    doc_ids.append(fileid)
                    sent_ids.append(f"{fileid}:{k}")
    return Corpus(columns={"word": words}, word_column="word", domains=[name] * len(words),
                  sent_ids=sent_ids, doc_ids=doc_ids, source=f"nltk:{name}", label_column=None,
                  format="conll", layout={"sep": " "})


def _raw_sentences(name: str, reader, fileid: str):
    """The tokenized sentences of a raw-text file: each line split into sentences
    (:func:`split_sentences`), each tokenized with NLTK's ``TreebankWordTokenizer``."""
    from nltk.tokenize import TreebankWordTokenizer

    tokenize = TreebankWordTokenizer().tokenize
    for line in reader.raw(fileid).splitlines():
        for sentence in split_sentences(line):
            yield tokenize(sentence)


def _treebank_sentences(name: str, reader, fileid: str):
    """The words of a treebank file's sentences (:data:`NLTK_TREEBANK_TEXTS`), written as
    the CoNLL-2002 files write words (see :func:`load_nltk_text`)."""
    import html

    for sentence in reader.sents(fileid):
        if name == "cess_esp":
            yield [part for w in sentence if not w.startswith("*")
                   for part in _CESS_SYMBOLS.get(w, w).split("_") if part]
        else:
            yield [html.unescape(w) for w in sentence]
