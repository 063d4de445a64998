"""Gazetteers: lists of names (one or several words) matched in running text.

A :class:`Gazetteer` holds named lists (``"countries"``, ``"train-PER"``, ...) of entries,
each a sequence of tokens (``("New", "York")``).  Entries are stored in a token trie built
once per entry; :meth:`Gazetteer.match` walks the trie from every token of a batch in
compiled code and marks each token covered by an entry of list ``l`` with its position in
the match (BILOU: Begin, Inside, Last, Unit), the longest match covering a token winning.
The result is a categorical feature per token (``gaz=countries:U``) for a labeler.

Entries may carry *sources* (small integers): matching a sentence can exclude one source.
A list extracted from the training labels with each entry tagged by the cross-validation
fold(s) it came from then gives training sentences only the entries found in the *other*
folds, as a held-out sentence would see them (jackknifing; otherwise the labeler learns to
trust a list that, on its own training data, is always right).

Readers for the word lists of NLTK's ``gazetteers`` and ``names`` corpora
(:func:`load_nltk_gazetteers`) and for the entity strings of labeled data
(:func:`entity_strings`) build the usual lists.
"""

from __future__ import annotations

import collections
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from numba import njit, prange

__all__ = ["Gazetteer", "load_nltk_gazetteers", "entity_strings", "POSITIONS"]

#: position codes of a token in a match
POSITIONS = ("B", "I", "L", "U")
_ALL_SOURCES = -1  # an entry without sources: always matched


class Gazetteer:
    """Named lists of (multi-word) entries and a compiled matcher.

    Parameters
    ----------
    lists : mapping of str to iterable of entries, optional
        ``{list name: entries}``; an entry is a string (split on whitespace) or a sequence
        of tokens.
    lowercase : bool, default=False
        Match case-insensitively.

    Attributes
    ----------
    names : list of str
        The list names, in the order of their feature ids.
    n_entries : int

    Examples
    --------
    >>> gaz = Gazetteer({"city": ["New York", "York"], "country": ["France"]})
    >>> ids = gaz.match(["in", "New", "York", "and", "France"], [0, 5])
    >>> [gaz.feature_names[i] for i in ids[2] if i >= 0]
    ['city:L']
    >>> [gaz.feature_names[i] for i in ids[4] if i >= 0]
    ['country:U']
    """

    def __init__(self, lists: Mapping[str, Iterable] | None = None, *, lowercase: bool = False):
        self.lowercase = bool(lowercase)
        self.names: list[str] = []
        self._list_index: dict[str, int] = {}
        self.token_index: dict[str, int] = {}
        # trie: node -> {token id: child}, node -> {list id: source mask}
        self._children: list[dict] = [{}]
        self._terminal: list[dict] = [{}]
        self.n_entries = 0
        self._compiled = None
        for name, entries in (lists or {}).items():
            self.add(name, entries)

    # ------------------------------------------------------------------ building
    def _norm(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def add(self, name: str, entries: Iterable, source: int | None = None) -> "Gazetteer":
        """Add ``entries`` to list ``name`` (created if new).

        Parameters
        ----------
        name : str
        entries : iterable of str or of token sequences
        source : int in [0, 62], optional
            Tag the entries with this source (see :meth:`match`'s ``exclude``); entries
            added with no source always match.
        """
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(f"list name must be a non-empty string without ':', got {name!r}")
        if source is not None and not (0 <= int(source) <= 62):
            raise ValueError(f"source must be an int in [0, 62], got {source!r}")
        if isinstance(entries, str):
            raise TypeError(f"entries of list {name!r} must be an iterable of entries, not one "
                            f"string")
        lid = self._list_index.get(name)
        if lid is None:
            lid = self._list_index[name] = len(self.names)
            self.names.append(name)
        bit = _ALL_SOURCES if source is None else 1 << int(source)
        index = self.token_index
        self._trie_dicts()
        for entry in entries:  # per entry (type-level), never per token of text
            tokens = entry.split() if isinstance(entry, str) else list(entry)
            if not tokens:
                continue
            node = 0
            for tok in tokens:
                tid = index.setdefault(self._norm(tok), len(index))
                nxt = self._children[node].get(tid)
                if nxt is None:
                    nxt = len(self._children)
                    self._children[node][tid] = nxt
                    self._children.append({})
                    self._terminal.append({})
                node = nxt
            old = self._terminal[node].get(lid)
            if old is None:
                self.n_entries += 1
                self._terminal[node][lid] = bit
            elif old != _ALL_SOURCES:
                self._terminal[node][lid] = _ALL_SOURCES if bit == _ALL_SOURCES else old | bit
        self._compiled = None
        return self

    @property
    def feature_names(self) -> list[str]:
        """``"list:P"`` for each feature id ``list_id * 4 + position``."""
        return [f"{n}:{p}" for n in self.names for p in POSITIONS]

    @property
    def n_features(self) -> int:
        return 4 * len(self.names)

    def _arrays(self):
        """The trie as CSR arrays (children sorted by token id, for binary search)."""
        if self._compiled is None:
            n_nodes = len(self._children)
            child_len = np.fromiter(map(len, self._children), np.int64, n_nodes)
            child_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
            np.cumsum(child_len, out=child_ptr[1:])
            child_token = np.empty(child_ptr[-1], dtype=np.int64)
            child_node = np.empty(child_ptr[-1], dtype=np.int64)
            for node, ch in enumerate(self._children):  # per trie node
                keys = sorted(ch)
                a = child_ptr[node]
                child_token[a:a + len(keys)] = keys
                child_node[a:a + len(keys)] = [ch[k] for k in keys]
            term_len = np.fromiter(map(len, self._terminal), np.int64, n_nodes)
            term_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
            np.cumsum(term_len, out=term_ptr[1:])
            term_list = np.fromiter((lid for t in self._terminal for lid in t), np.int64,
                                    term_ptr[-1])
            term_mask = np.fromiter((m for t in self._terminal for m in t.values()), np.int64,
                                    term_ptr[-1])
            self._compiled = (child_ptr, child_token, child_node, term_ptr, term_list,
                              term_mask)
        return self._compiled

    # ------------------------------------------------------------------ matching
    def token_ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Gazetteer token id of each token (``-1`` when it occurs in no entry), looked up
        once per distinct token."""
        from .data import factorize

        types, ids = factorize(tokens)
        index = self.token_index
        norm = self._norm
        gid = np.fromiter((index.get(norm(w), -1) for w in types), np.int64, len(types))
        return gid[ids]

    def match(self, tokens: Sequence[str], offsets, exclude=None) -> np.ndarray:
        """Gazetteer features of each token.

        Parameters
        ----------
        tokens : sequence of str
            The flat tokens of a batch of sentences.
        offsets : int array of shape (n_sentences + 1,)
        exclude : int array of shape (n_sentences,), optional
            Per sentence, a source whose entries do not count there (``-1``: none).  An
            entry tagged with several sources still counts through the others.

        Returns
        -------
        int32 ndarray of shape (n_tokens, k)
            Feature ids ``list_id * 4 + position`` (positions ``B, I, L, U``), one per list
            that covers the token (by its longest match), ``-1`` padded; ``k`` is the largest
            number of lists covering one token (at least 1).
        """
        offsets = np.asarray(offsets, dtype=np.int64)
        n_seq = offsets.shape[0] - 1
        if offsets.ndim != 1 or offsets[0] != 0 or offsets[-1] != len(tokens):
            raise ValueError(f"offsets must run from 0 to the number of tokens "
                             f"({len(tokens)}), got {offsets[:1].tolist()}..."
                             f"{offsets[-1:].tolist()}")
        if exclude is None:
            exclude = np.full(n_seq, -1, dtype=np.int64)
        exclude = np.asarray(exclude, dtype=np.int64)
        if exclude.shape != (n_seq,):
            raise ValueError(f"exclude must hold one source per sentence ({n_seq}), got shape "
                             f"{exclude.shape}")
        n_lists = max(len(self.names), 1)
        code = np.full((len(tokens), n_lists), -1, dtype=np.int8)
        length = np.zeros((len(tokens), n_lists), dtype=np.int32)
        if self.n_entries and len(tokens):
            _match_kernel(self.token_ids(tokens), offsets, exclude, *self._arrays(), code,
                          length)
        rows, cols = np.nonzero(code >= 0)
        per_row = np.bincount(rows, minlength=len(tokens))
        k = max(int(per_row.max(initial=0)), 1)
        out = np.full((len(tokens), k), -1, dtype=np.int32)
        if rows.size:
            first = np.concatenate([[0], np.cumsum(per_row)[:-1]])
            rank = np.arange(rows.shape[0]) - first[rows]
            out[rows, rank] = cols * 4 + code[rows, cols]
        return out

    def entries(self, name: str) -> list[tuple[str, ...]]:
        """The entries of list ``name`` (normalized tokens), in trie order."""
        lid = self._list_index[name]
        tokens = list(self.token_index)
        self._trie_dicts()
        out = []
        stack = [(0, ())]
        while stack:  # per trie node
            node, path = stack.pop()
            if lid in self._terminal[node]:
                out.append(path)
            for tid, child in sorted(self._children[node].items(), reverse=True):
                stack.append((child, path + (tokens[tid],)))
        return out

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        child_ptr, child_token, child_node, term_ptr, term_list, term_mask = self._arrays()
        arrays = {"child_ptr": child_ptr, "child_token": child_token, "child_node": child_node,
                  "term_ptr": term_ptr, "term_list": term_list, "term_mask": term_mask}
        meta = {"lowercase": self.lowercase, "names": list(self.names),
                "tokens": list(self.token_index), "n_entries": int(self.n_entries)}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        gaz = cls(lowercase=bool(meta["lowercase"]))
        gaz.names = list(meta["names"])
        gaz._list_index = {n: i for i, n in enumerate(gaz.names)}
        gaz.token_index = {t: i for i, t in enumerate(meta["tokens"])}
        a = {k: np.asarray(arrays[k], dtype=np.int64) for k in
             ("child_ptr", "child_token", "child_node", "term_ptr", "term_list", "term_mask")}
        n_nodes = a["child_ptr"].shape[0] - 1
        if n_nodes < 1 or a["term_ptr"].shape != (n_nodes + 1,):
            raise ValueError("gazetteer trie arrays disagree on the number of nodes")
        for ptr, cols in (("child_ptr", ("child_token", "child_node")),
                          ("term_ptr", ("term_list", "term_mask"))):
            p = a[ptr]
            if p[0] != 0 or np.any(np.diff(p) < 0) or any(a[c].shape != (p[-1],) for c in cols):
                raise ValueError(f"gazetteer trie: {ptr} does not fit {cols}")
        if a["child_node"].size and (a["child_node"].min() < 1 or
                                     a["child_node"].max() >= n_nodes):
            raise ValueError("gazetteer trie: a child node is out of range")
        if a["child_token"].size and (a["child_token"].min() < 0 or
                                      a["child_token"].max() >= len(gaz.token_index)):
            raise ValueError("gazetteer trie: a token id is out of range")
        if a["term_list"].size and (a["term_list"].min() < 0 or
                                    a["term_list"].max() >= len(gaz.names)):
            raise ValueError("gazetteer trie: a list id is out of range")
        gaz.n_entries = int(meta["n_entries"])
        gaz._compiled = tuple(a[k] for k in ("child_ptr", "child_token", "child_node",
                                             "term_ptr", "term_list", "term_mask"))
        gaz._children = gaz._terminal = None  # rebuilt from the arrays only when needed
        return gaz

    def _trie_dicts(self):
        """The trie as per-node dicts (for adding and listing entries); a loaded gazetteer
        holds only the arrays until then."""
        if self._children is None:
            child_ptr, child_token, child_node, term_ptr, term_list, term_mask = self._compiled
            self._children = [dict(zip(child_token[a:b].tolist(), child_node[a:b].tolist()))
                              for a, b in zip(child_ptr[:-1].tolist(), child_ptr[1:].tolist())]
            self._terminal = [dict(zip(term_list[a:b].tolist(), term_mask[a:b].tolist()))
                              for a, b in zip(term_ptr[:-1].tolist(), term_ptr[1:].tolist())]
        return self._children, self._terminal

    def save(self, path):
        """Write the gazetteer to one model file (see :mod:`hmmtl.serialize`)."""
        from . import serialize

        return serialize.save(self, path)

    @classmethod
    def load(cls, path) -> "Gazetteer":
        from . import serialize

        return serialize.load(path, expected_class=cls)

    def __repr__(self) -> str:
        return (f"Gazetteer({len(self.names)} lists, {self.n_entries} entries, "
                f"lowercase={self.lowercase})")


@njit(cache=True, parallel=True)
def _match_kernel(token_ids, offsets, exclude, child_ptr, child_token, child_node, term_ptr,
                  term_list, term_mask, code, length):
    """Walk the trie from every token; mark the tokens of each match with their position
    code (0 B, 1 I, 2 L, 3 U) when the match is the longest of its list covering them."""
    n_seq = offsets.shape[0] - 1
    for s in prange(n_seq):
        t0 = offsets[s]
        t1 = offsets[s + 1]
        drop = exclude[s]
        for t in range(t0, t1):
            node = 0
            for u in range(t, t1):
                tid = token_ids[u]
                if tid < 0:
                    break
                lo = child_ptr[node]
                hi = child_ptr[node + 1]
                while lo < hi:  # binary search among the node's children
                    mid = (lo + hi) // 2
                    if child_token[mid] < tid:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo == child_ptr[node + 1] or child_token[lo] != tid:
                    break
                node = child_node[lo]
                n = u - t + 1
                for e in range(term_ptr[node], term_ptr[node + 1]):
                    mask = term_mask[e]
                    if mask != -1 and drop >= 0:
                        mask = mask & ~(np.int64(1) << drop)
                        if mask == 0:
                            continue
                    lst = term_list[e]
                    for v in range(t, u + 1):
                        if n > length[v, lst]:
                            length[v, lst] = n
                            if n == 1:
                                code[v, lst] = 3
                            elif v == t:
                                code[v, lst] = 0
                            elif v == u:
                                code[v, lst] = 2
                            else:
                                code[v, lst] = 1


# ============================================================================ list sources
#: the word lists of NLTK's gazetteers corpus, and names' first names
NLTK_GAZETTEER_FILES = {
    "countries": "gazetteers/countries.txt", "isocountries": "gazetteers/isocountries.txt",
    "nationalities": "gazetteers/nationalities.txt", "uscities": "gazetteers/uscities.txt",
    "usstates": "gazetteers/usstates.txt", "usstateabbrev": "gazetteers/usstateabbrev.txt",
    "caprovinces": "gazetteers/caprovinces.txt", "mexstates": "gazetteers/mexstates.txt",
    "male_names": "names/male.txt", "female_names": "names/female.txt",
}


def load_nltk_gazetteers(data_dir=None) -> dict[str, list[str]]:
    """The word lists of NLTK's ``gazetteers.zip`` and ``names.zip`` (first names).

    Parameters
    ----------
    data_dir : path, optional
        The ``HMMTL_DATA`` folder (with ``nltk_data/``) or an NLTK data directory; default
        ``HMMTL_DATA``.

    Returns
    -------
    dict
        List name (keys of :data:`NLTK_GAZETTEER_FILES`) -> entries (one name a line;
        files that are not UTF-8 are read as Latin-1).
    """
    from .io.nltk_corpora import nltk_data_dir

    root = Path(nltk_data_dir(data_dir))
    out: dict[str, list[str]] = {}
    archives: dict[str, zipfile.ZipFile] = {}
    try:
        for name, member in NLTK_GAZETTEER_FILES.items():
            corpus = member.split("/")[0]
            if corpus not in archives:
                path = root / "corpora" / f"{corpus}.zip"
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no such file (NLTK's {corpus} corpus)")
                archives[corpus] = zipfile.ZipFile(path)
            raw = archives[corpus].read(member)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            out[name] = [line.strip() for line in text.splitlines() if line.strip()]
    finally:
        for z in archives.values():
            z.close()
    return out


def entity_strings(sentences, labels, *, scheme: str = "auto",
                   min_count: int = 1) -> dict[str, collections.Counter]:
    """The entities of labeled (or tagged) sentences: type -> Counter of token tuples.

    Parameters
    ----------
    sentences : list of list of str
    labels : list of list of str
        Chunk labels (IOB1, IOB2, BIOES or BILOU).
    min_count : int, default=1
        Keep entity strings seen at least this many times.

    >>> entity_strings([["Tony", "Blair", "met", "Blair"]], [["B-PER", "I-PER", "O", "B-PER"]])
    {'PER': Counter({('Tony', 'Blair'): 1, ('Blair',): 1})}
    """
    from .data import flatten
    from .io.schemes import chunk_spans

    flat, offsets = flatten(sentences)
    chunks = chunk_spans(labels, scheme=scheme)
    if chunks.end.size and chunks.end.max() > len(flat):
        raise ValueError("labels and sentences differ in length")
    out: dict[str, collections.Counter] = {}
    for a, b, t in zip(chunks.start.tolist(), chunks.end.tolist(), chunks.type.tolist()):
        out.setdefault(chunks.types[t], collections.Counter())[tuple(flat[a:b])] += 1
    if min_count > 1:
        out = {t: collections.Counter({e: c for e, c in cnt.items() if c >= min_count})
               for t, cnt in out.items()}
    return out
