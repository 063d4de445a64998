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

Lists of hundreds of thousands of names (Wikipedia titles, GeoNames cities: ``lexicon/en``,
read and cleaned by :func:`load_lexicon` / :func:`clean_entry`) go into a :class:`Lexicon`
instead: a sorted table of hashed n-grams, ten bytes an entry, matched as written and
case-folded, that a model file can carry.
"""

from __future__ import annotations

import collections
import itertools
import zipfile
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numba import njit, prange

from ..serialize import ModelFileMixin

__all__ = ["Gazetteer", "Lexicon", "load_nltk_gazetteers", "load_lexicon", "entity_strings",
           "token_hashes", "POSITIONS"]

#: position codes of a token in a match
POSITIONS = ("B", "I", "L", "U")
_ALL_SOURCES = -1  # an entry without sources: always matched


class Gazetteer(ModelFileMixin):
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
        self._compiled: tuple | None = None
        for name, entries in (lists or {}).items():
            self.add(name, entries)

    # ------------------------------------------------------------------ building
    def _norm(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def add(self, name: str, entries: Iterable, source: int | None = None) -> Gazetteer:
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
    def token_ids(self, tokens: Sequence[str], types: tuple | None = None) -> np.ndarray:
        """Gazetteer token id of each token (``-1`` when it occurs in no entry), looked up
        once per distinct token (``types``: the distinct tokens and each token's index among
        them, :func:`~hmmtl.data.factorize`, where the caller has them)."""
        from ..data import factorize

        types, ids = factorize(tokens) if types is None else types
        index = self.token_index
        norm = self._norm
        gid = np.fromiter(map(index.get, map(norm, types), itertools.repeat(-1)), np.int64,
                          len(types))
        return gid[ids]

    def match(self, tokens: Sequence[str], offsets, exclude=None,
              types: tuple | None = None) -> np.ndarray:
        """Gazetteer features of each token.

        Parameters
        ----------
        tokens : sequence of str
            The flat tokens of a batch of sentences.
        offsets : int array of shape (n_sentences + 1,)
        exclude : int array of shape (n_sentences,), optional
            Per sentence, a source whose entries do not count there (``-1``: none).  An
            entry tagged with several sources still counts through the others.
        types : tuple of (list of str, int64 ndarray), optional
            The distinct tokens and each token's index among them
            (:func:`~hmmtl.data.factorize` of ``tokens``), where the caller has them.

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
            _match_kernel(self.token_ids(tokens, types), offsets, exclude, *self._arrays(),
                          code, length)
        return _feature_ids(code)

    def entries(self, name: str) -> list[tuple[str, ...]]:
        """The entries of list ``name`` (normalized tokens), in trie order."""
        lid = self._list_index[name]
        tokens = list(self.token_index)
        self._trie_dicts()
        out = []
        stack: list[tuple[int, tuple[str, ...]]] = [(0, ())]
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
        # rebuilt from the arrays only when needed (_trie_dicts)
        gaz._children = gaz._terminal = None  # type: ignore[assignment]
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

    def __repr__(self) -> str:
        return (f"Gazetteer({len(self.names)} lists, {self.n_entries} entries, "
                f"lowercase={self.lowercase})")


def _feature_ids(code: np.ndarray) -> np.ndarray:
    """Feature ids ``column * 4 + position code`` of each token's marked columns, from the
    (n_tokens, n_columns) codes the matcher kernels write (-1: unmarked), in column order,
    padded with -1 to the most a token has (at least one column)."""
    rows, cols = np.nonzero(code >= 0)
    per_row = np.bincount(rows, minlength=code.shape[0])
    k = max(int(per_row.max(initial=0)), 1)
    out = np.full((code.shape[0], k), -1, dtype=np.int32)
    if rows.size:
        first = np.concatenate([[0], np.cumsum(per_row)[:-1]])
        rank = np.arange(rows.shape[0]) - first[rows]
        out[rows, rank] = cols * 4 + code[rows, cols]
    return out


@njit(cache=True)
def _mark_span(code, length, t, u, col):
    """Mark tokens ``t`` to ``u`` (one match, in column ``col``) with their position code
    (0 B, 1 I, 2 L, 3 U) where the match is the longest of the column covering them;
    ``length[v, col]`` keeps the length of that longest match.  Shared by the trie
    (:class:`Gazetteer`) and the hashed n-gram (:class:`Lexicon`) matchers."""
    n = u - t + 1
    for v in range(t, u + 1):
        if n > length[v, col]:
            length[v, col] = n
            if n == 1:
                code[v, col] = 3
            elif v == t:
                code[v, col] = 0
            elif v == u:
                code[v, col] = 2
            else:
                code[v, col] = 1


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
                for e in range(term_ptr[node], term_ptr[node + 1]):
                    mask = term_mask[e]
                    if mask != -1 and drop >= 0:
                        mask = mask & ~(np.int64(1) << drop)
                        if mask == 0:
                            continue
                    _mark_span(code, length, t, u, term_list[e])


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
    from ..io.nltk_corpora import nltk_data_dir

    root = nltk_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError("no data folder for the NLTK name lists: pass data_dir or set "
                                "HMMTL_DATA (the folder with nltk_data/ inside)")
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
    from ..data import flatten
    from ..io.schemes import chunk_spans

    flat, _offsets = flatten(sentences)
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


# ============================================================================ large lists
#: bits of an entry's key (the hash of its case-folded tokens); the other 16 bits of the
#: stored word hold a hash of its case as written.  With a million entries a text n-gram
#: matches a wrong key with probability ~ 1e6 / 2^48 ~ 4e-9.
_KEY_BITS = 48
_KEY_MASK = (1 << _KEY_BITS) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MIX = 0x9E3779B97F4A7C15


@njit(cache=True)
def _fnv1a(data, offsets):
    """64-bit FNV-1a hash of each byte string ``data[offsets[i]:offsets[i + 1]]``."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    for i in range(n):
        h = np.uint64(_FNV_OFFSET)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * prime
        out[i] = h
    return out


def token_hashes(types: Sequence[str]) -> np.ndarray:
    """Stable 64-bit hashes of strings (FNV-1a of their UTF-8 bytes; Python's ``hash`` of a
    string changes from one process to the next).

    >>> h = token_hashes(["Paris", "paris", "Paris"])
    >>> bool(h[0] == h[2]), bool(h[0] == h[1])
    (True, False)
    """
    encoded = [t.encode("utf-8", "surrogatepass") for t in types]
    lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return _fnv1a(data, offsets)


@njit(cache=True, inline="always")
def _combine(h, token_hash):
    return (h ^ token_hash) * np.uint64(_MIX) + np.uint64(0x632BE59BD9B4E019)


@njit(cache=True)
def _entry_words(folded, cased, offsets):
    """Key (case-folded hash, 48 bits) and case hash (16 bits) of each entry, from the
    hashes of its tokens."""
    n = offsets.shape[0] - 1
    keys = np.empty(n, dtype=np.uint64)
    case = np.empty(n, dtype=np.uint16)
    for i in range(n):
        h = np.uint64(0)
        c = np.uint64(0)
        for j in range(offsets[i], offsets[i + 1]):
            h = _combine(h, folded[j])
            c = _combine(c, cased[j])
        keys[i] = h & np.uint64(_KEY_MASK)
        case[i] = np.uint16(c >> np.uint64(48))
    return keys, case


def _bucket_starts(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Where each bucket of the sorted 48-bit ``keys`` starts, a bucket being the keys of
    equal top bits (about 8 keys a bucket: the keys are hashes, spread evenly), and the
    shift that gives a key's bucket: a lookup then searches its bucket only, one or two
    cache lines, instead of the whole table (the same first index as a search of all)."""
    bits = int(min(24, max(1, np.ceil(np.log2(max(keys.shape[0], 1) / 8 + 1)))))
    shift = _KEY_BITS - bits
    bounds = np.arange((1 << bits) + 1, dtype=np.uint64) << np.uint64(shift)
    return np.searchsorted(keys, bounds).astype(np.int64), shift


@njit(cache=True, parallel=True)
def _lexicon_kernel(folded, cased, upper, offsets, max_len, keys, case, masks, n_lists, code,
                    length, buckets, shift):
    """From every token, the n-grams of up to ``max_len`` tokens looked up among the sorted
    keys (in their bucket, :func:`_bucket_starts`); each list an n-gram belongs to marks
    its tokens with their position (0 B, 1 I, 2 L, 3 U) in column ``2 * list`` (case as
    written) or ``2 * list + 1`` (case-folded only, and only for an n-gram with a capital
    letter: a lowercase word is not a name written in another case), when the match is the
    longest of its kind covering them."""
    n_seq = offsets.shape[0] - 1
    n_keys = keys.shape[0]
    bucket_shift = np.uint64(shift)
    for s in prange(n_seq):
        t0 = offsets[s]
        t1 = offsets[s + 1]
        for t in range(t0, t1):
            h = np.uint64(0)
            c = np.uint64(0)
            capital = False
            for u in range(t, min(t1, t + max_len)):
                h = _combine(h, folded[u])
                c = _combine(c, cased[u])
                capital = capital or upper[u]
                key = h & np.uint64(_KEY_MASK)
                cs = np.uint16(c >> np.uint64(48))
                bucket = np.int64(key >> bucket_shift)
                lo = buckets[bucket]
                hi = buckets[bucket + 1]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if keys[mid] < key:
                        lo = mid + 1
                    else:
                        hi = mid
                exact = np.int64(0)
                anycase = np.int64(0)
                while lo < n_keys and keys[lo] == key:
                    anycase |= np.int64(masks[lo])
                    if case[lo] == cs:
                        exact |= np.int64(masks[lo])
                    lo += 1
                if not capital:
                    anycase = exact
                if anycase == 0:
                    continue
                for lst in range(n_lists):
                    bit = np.int64(1) << lst
                    if anycase & bit == 0:
                        continue
                    _mark_span(code, length, t, u, 2 * lst if exact & bit else 2 * lst + 1)


class Lexicon(ModelFileMixin):
    """Large name lists (hundreds of thousands of entries) as a sorted table of hashed
    n-grams: compact in memory and in a model file, matched in compiled code.

    Each entry (a token sequence of at most ``max_tokens`` tokens) is stored as one 64-bit
    word: 48 bits of a hash of its case-folded tokens (the sorted key) and 16 bits of a
    hash of its tokens as written; beside it a bit mask of the lists holding it.  In text,
    every n-gram is looked up by a search of its key's bucket (the keys of equal top bits,
    about eight: the keys are hashes); a match whose case agrees is a feature
    ``list:P`` (P the BILOU position of the token in its longest match), one that agrees
    only case-folded is ``list~:P`` (the case-folded fallback: ``"CHINA"`` in a headline,
    ``"Bank Of America"``).  No string is stored: a model file carries ten bytes an entry.

    Parameters
    ----------
    lists : mapping of str to iterable of entries, optional
        ``{list name: entries}``, at most 16 lists; an entry is a string (split on
        whitespace) or a sequence of tokens.
    max_tokens : int, default=8
        Longer entries are left out.

    Examples
    --------
    >>> lex = Lexicon({"LOC": ["New York", "Paris"], "ORG": ["New York Times"]})
    >>> ids = lex.match(["The", "New", "York", "Times", "in", "PARIS"], [0, 6])
    >>> [[lex.feature_names[i] for i in row if i >= 0] for row in ids]
    [[], ['LOC:B', 'ORG:B'], ['LOC:L', 'ORG:I'], ['ORG:L'], [], ['LOC~:U']]
    """

    #: at most this many lists (the masks are 16-bit)
    MAX_LISTS = 16

    def __init__(self, lists: Mapping[str, Iterable] | None = None, *, max_tokens: int = 8):
        if not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
        self.max_tokens = int(max_tokens)
        lists = dict(lists or {})
        if len(lists) > self.MAX_LISTS:
            raise ValueError(f"a Lexicon holds at most {self.MAX_LISTS} lists, got "
                             f"{len(lists)}; merge some lists")
        for name in lists:
            if not isinstance(name, str) or not name or ":" in name or "~" in name:
                raise ValueError(f"list name must be a non-empty string without ':' or '~', "
                                 f"got {name!r}")
        self.names = list(lists)
        keys, case, masks = [], [], []
        for lid, entries in enumerate(lists.values()):
            if isinstance(entries, str):
                raise TypeError(f"entries of list {self.names[lid]!r} must be an iterable of "
                                f"entries, not one string")
            k, c = self._entry_words(entries)
            keys.append(k)
            case.append(c)
            masks.append(np.full(k.shape[0], 1 << lid, dtype=np.uint16))
        self._set_table(np.concatenate(keys) if keys else np.zeros(0, np.uint64),
                        np.concatenate(case) if case else np.zeros(0, np.uint16),
                        np.concatenate(masks) if masks else np.zeros(0, np.uint16))

    def _entry_words(self, entries):
        tokens: list[str] = []
        lengths: list[int] = []
        for entry in entries:  # per entry (type-level), never per token of text
            toks = entry.split() if isinstance(entry, str) else list(entry)
            if 0 < len(toks) <= self.max_tokens:
                tokens.extend(toks)
                lengths.append(len(toks))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
        folded, cased = self._hashes(tokens)
        return _entry_words(folded, cased, offsets)

    @staticmethod
    def _hashes(tokens: Sequence[str], with_upper: bool = False, types: tuple | None = None):
        """Case-folded and as-written hashes of each token (and whether it has a capital
        letter), computed once per type (``types``: as in :meth:`match`)."""
        from ..data import factorize

        types, ids = factorize(tokens) if types is None else types
        out: tuple = (token_hashes([t.lower() for t in types])[ids], token_hashes(types)[ids])
        if with_upper:
            upper = np.fromiter((t != t.lower() for t in types), bool, len(types))
            out = out + (upper[ids],)
        return out

    def _set_table(self, keys, case, masks):
        """Sort by (key, case) and merge the masks of equal words."""
        order = np.lexsort((case, keys))
        keys, case, masks = keys[order], case[order], masks[order]
        if keys.shape[0]:
            new = np.ones(keys.shape[0], dtype=bool)
            new[1:] = (keys[1:] != keys[:-1]) | (case[1:] != case[:-1])
            starts = np.flatnonzero(new)
            masks = np.bitwise_or.reduceat(masks, starts).astype(np.uint16)
            keys, case = keys[starts], case[starts]
        self.keys_, self.case_, self.masks_ = keys, case, masks

    def _buckets(self) -> tuple[np.ndarray, int]:
        """:func:`_bucket_starts` of the table, made on first use and kept with the keys
        they index (a table set again gets new ones; threads that make them at once make
        the same)."""
        made = self.__dict__.get("_bucket_table")
        if made is None or made[0] is not self.keys_:
            made = (self.keys_, *_bucket_starts(self.keys_))
            self.__dict__["_bucket_table"] = made
        return made[1], made[2]

    @property
    def n_entries(self) -> int:
        """Distinct entries (as written) over all lists."""
        return int(self.keys_.shape[0])

    @property
    def feature_names(self) -> list[str]:
        """``"list:P"`` / ``"list~:P"`` for each feature id ``(2 * list_id + folded) * 4 +
        position``."""
        return [f"{n}{k}:{p}" for n in self.names for k in ("", "~") for p in POSITIONS]

    @property
    def n_features(self) -> int:
        return 8 * len(self.names)

    def nbytes(self) -> int:
        """Bytes of the table (as stored in a model file)."""
        return int(self.keys_.nbytes + self.case_.nbytes + self.masks_.nbytes)

    def match(self, tokens: Sequence[str], offsets, types: tuple | None = None) -> np.ndarray:
        """Lexicon features of each token.

        Parameters
        ----------
        tokens : sequence of str
            The flat tokens of a batch of sentences.
        offsets : int array of shape (n_sentences + 1,)
        types : tuple of (list of str, int64 ndarray), optional
            The distinct tokens and each token's index among them
            (:func:`~hmmtl.data.factorize` of ``tokens``), where the caller has them.

        Returns
        -------
        int32 ndarray of shape (n_tokens, k)
            Feature ids (see :attr:`feature_names`), ``-1`` padded; ``k`` is the largest
            number of features of one token (at least 1).
        """
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0 or \
                offsets[-1] != len(tokens):
            raise ValueError(f"offsets must run from 0 to the number of tokens "
                             f"({len(tokens)}), got {offsets[:1].tolist()}..."
                             f"{offsets[-1:].tolist()}")
        n_cols = 2 * max(len(self.names), 1)
        code = np.full((len(tokens), n_cols), -1, dtype=np.int8)
        length = np.zeros((len(tokens), n_cols), dtype=np.int16)
        if self.n_entries and len(tokens):
            folded, cased, upper = self._hashes(tokens, with_upper=True, types=types)
            buckets, shift = self._buckets()
            _lexicon_kernel(folded, cased, upper, offsets, self.max_tokens, self.keys_, self.case_,
                            self.masks_, len(self.names), code, length, buckets, shift)
        return _feature_ids(code)

    def list_sizes(self) -> dict[str, int]:
        """Entries of each list."""
        return {n: int(np.count_nonzero(self.masks_ & (1 << i)))
                for i, n in enumerate(self.names)}

    def subset(self, names: Sequence[str]) -> Lexicon:
        """A lexicon of the lists ``names`` only (in that order), from the table as it is.

        >>> Lexicon({"a": ["X"], "b": ["X", "Y"]}).subset(["b"]).list_sizes()
        {'b': 2}
        """
        missing = [n for n in names if n not in self.names]
        if missing:
            raise ValueError(f"no list {missing} in this lexicon; it has {self.names}")
        masks = np.zeros_like(self.masks_)
        for new, name in enumerate(names):
            old = self.names.index(name)
            masks |= (((self.masks_ >> old) & 1) << new).astype(np.uint16)
        keep = masks != 0
        out = Lexicon(max_tokens=self.max_tokens)
        out.names = list(names)
        out.keys_, out.case_, out.masks_ = self.keys_[keep], self.case_[keep], masks[keep]
        return out

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        arrays = {"keys": self.keys_, "case": self.case_, "masks": self.masks_}
        meta = {"names": list(self.names), "max_tokens": self.max_tokens}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        lex = cls(max_tokens=int(meta["max_tokens"]))
        names = list(meta["names"])
        if len(names) > cls.MAX_LISTS:
            raise ValueError(f"lexicon file: {len(names)} lists, at most {cls.MAX_LISTS}")
        keys = np.asarray(arrays["keys"])
        case = np.asarray(arrays["case"])
        masks = np.asarray(arrays["masks"])
        if keys.dtype != np.uint64 or case.dtype != np.uint16 or masks.dtype != np.uint16:
            raise ValueError(f"lexicon arrays must be uint64 keys and uint16 case and masks, "
                             f"got {keys.dtype}, {case.dtype}, {masks.dtype}")
        if not (keys.ndim == 1 and case.shape == keys.shape and masks.shape == keys.shape):
            raise ValueError(f"lexicon arrays disagree in shape: keys {keys.shape}, case "
                             f"{case.shape}, masks {masks.shape}")
        if keys.size and np.any(keys[1:] < keys[:-1]):
            raise ValueError("lexicon keys are not sorted")
        if masks.size and int(masks.max()) >= 1 << len(names):
            raise ValueError(f"lexicon masks name lists beyond the {len(names)} of the file")
        lex.names = names
        lex.keys_, lex.case_, lex.masks_ = keys, case, masks
        return lex

    def __repr__(self) -> str:
        return f"Lexicon({len(self.names)} lists, {self.n_entries} entries)"


# ============================================================================ lexicon/en
#: the lists of ``lexicon/en/``, grouped by the entity type they are evidence of
LEXICON_FILES = {
    "wiki-LOC": ("wiki_locations.txt", "wiki_locations_redirects.txt"),
    "city": ("geonames_cities15000.txt",),
    "country": ("countries.txt",),
    "wiki-ORG": ("wiki_organizations.txt", "wiki_organizations_redirects.txt"),
    "agency": ("government_agencies.txt",),
    "university": ("universities.txt",),
    "corporation": ("known_corporations.txt",),
    "first-name": ("first_names_male.txt", "first_names_female.txt", "first_names_5k.txt"),
    "last-name": ("family_names.txt", "last_names_5k.txt"),
    "title": ("person_titles.txt",),
}

#: words that stay lowercase inside a name when a list written all in one case is recased
FUNCTION_WORDS = frozenset(
    "a an and at by de del della der des di du for from in la le les of on or the to van "
    "von y".split())

#: "<topic> of <place>" titles of Wikipedia articles about a place, not names of one
TOPIC_PREFIXES = frozenset(
    "list lists history economy geography politics demographics culture transport "
    "transportation education music climate religion tourism flag flags timeline outline "
    "index communications military foreign telecommunications energy health law sport "
    "sports government administrative subdivisions municipalities districts provinces "
    "regions states cities towns villages counties outline battle siege invasion".split())

_NAMESPACE = ("category:", "user:", "template:", "wikipedia:", "portal:", "file:", "image:",
              "help:", "talk:", "book:", "draft:", "module:", "mediawiki:", "list of ")


def _split_entry(text: str) -> list[str]:
    """CoNLL-like tokens of a list entry: commas, brackets and quotes split off, ``'s``
    a token of its own, abbreviation dots kept (``Inc.``, ``U.S.``).

    >>> _split_entry("Women's Post")
    ['Women', "'s", 'Post']
    >>> _split_entry("RLM Software, Inc.")
    ['RLM', 'Software', ',', 'Inc.']
    """
    out = []
    for word in text.split():
        lead = []
        while word and word[0] in "\"'(["and len(word) > 1:
            lead.append(word[0])
            word = word[1:]
        trail = []
        while word and word[-1] in ",;:\"')]" and len(word) > 1:
            trail.append(word[-1])
            word = word[:-1]
        out.extend(lead)
        if word.endswith("'s") and len(word) > 2:
            out.extend([word[:-2], "'s"])
        elif word:
            out.append(word)
        out.extend(reversed(trail))
    return out


def clean_entry(text: str) -> list[list[str]]:
    """The name(s) a raw list entry stands for, as token lists (none when it is not a name).

    * Wikipedia pages that are not articles (``Category:``, ``User:``, ``List of``) and
      titles about a place rather than names of one (``Economy of Algeria``) are dropped;
    * a parenthesised qualifier is stripped (``Paris (Texas)`` -> ``Paris``); a title with
      a comma gives itself and its head (``Bay Springs, Mississippi`` -> also
      ``Bay Springs``);
    * entries written all in lower or upper case are recased (``university of shimane``
      -> ``University of Shimane``); what still has no capital letter is dropped, as are
      entries mostly of function words, with a ``/``, or with letters outside Latin
      scripts (no such name occurs in English newswire as written).

    >>> clean_entry("Paris (Texas)")
    [['Paris']]
    >>> clean_entry("Economy of Algeria"), clean_entry("Category:Towns in Kent")
    ([], [])
    >>> clean_entry("Bay Springs, Mississippi")
    [['Bay', 'Springs', ',', 'Mississippi'], ['Bay', 'Springs']]
    >>> clean_entry("university of shimane"), clean_entry("DOTTY")
    ([['University', 'of', 'Shimane']], [['Dotty']])
    """
    text = text.strip()
    if not text or "/" in text or text.lower().startswith(_NAMESPACE):
        return []
    if any(ch.isalpha() and ord(ch) > 0x24F for ch in text):
        return []
    if text.endswith(")") and "(" in text:
        text = text[: text.rindex("(")].strip()
    if "(" in text or ")" in text or not text:
        return []
    words = text.split()
    if len(words) >= 3 and words[1] == "of" and words[0].lower() in TOPIC_PREFIXES:
        return []
    letters = [ch for ch in text if ch.isalpha()]
    if letters and (all(ch.islower() for ch in letters) or
                    (all(ch.isupper() for ch in letters) and len(letters) > 3)):
        words = [w if (i and w.lower() in FUNCTION_WORDS) else w[:1].upper() + w[1:].lower()
                 for i, w in enumerate(words)]
        text = " ".join(words)
    if not any(ch.isupper() for ch in text):
        return []
    lowered = [w.lower() for w in words]
    if 2 * sum(w in FUNCTION_WORDS for w in lowered) > len(lowered):
        return []
    out = [_split_entry(text)]
    if "," in text:
        head = _split_entry(text.split(",")[0])
        if head and any(ch.isupper() for ch in "".join(head)):
            out.append(head)
    return [e for e in out if e]


def load_lexicon(data_dir=None, lists: Mapping[str, Sequence[str]] | None = None, *,
                 clean: bool = True, max_tokens: int = 8) -> Lexicon:
    """The name lists of ``lexicon/en/`` as a :class:`Lexicon`.

    Parameters
    ----------
    data_dir : path, optional
        The ``HMMTL_DATA`` folder (with ``lexicon/en/``) or the ``lexicon/en`` folder
        itself; default ``HMMTL_DATA``.
    lists : mapping, optional
        List name -> file names (default :data:`LEXICON_FILES`); a subset leaves lists out.
    clean : bool, default=True
        Pass each entry through :func:`clean_entry` (else split on whitespace as it is).
    max_tokens : int, default=8

    Returns
    -------
    Lexicon
    """
    from ..io.data_root import data_root

    root = data_root(data_dir)
    if root is None:
        raise FileNotFoundError("no data folder: pass data_dir or set HMMTL_DATA to the "
                                "folder that holds lexicon/en/")
    if not (root / "countries.txt").is_file():
        root = root / "lexicon" / "en"
    lists = dict(LEXICON_FILES if lists is None else lists)
    entries: dict[str, list] = {}
    for name, files in lists.items():
        out = []
        for fname in files:
            path = root / fname
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such file (list {name!r} of the lexicon; "
                                        f"expected the lexicon/en/ folder of the data README)")
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:  # per list entry
                    if clean:
                        out.extend(clean_entry(line))
                    elif line.strip():
                        out.append(line.split())
        entries[name] = out
    return Lexicon(entries, max_tokens=max_tokens)
