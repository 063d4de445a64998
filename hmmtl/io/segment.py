"""Sentence splitting and tokenization of raw text, keeping each token's character offsets
into the original text so that output can be aligned back to it.

Tokens follow the Penn Treebank conventions as UD English EWT writes them: clitics split
(``can't`` -> ``ca n't``, ``it's`` -> ``it 's``), hyphens between words split
(``Bare-knuckle`` -> ``Bare - knuckle``), URLs, e-mail addresses, emoticons (``:)``),
ellipses (``...``), numbers (``3.14``, ``1,000``, ``10:30``) and dotted abbreviations
(``U.S.``, ``e.g.``) kept whole, and the period of a known abbreviation (``Mr.``) kept on
its word.  Tokens are found by one compiled regular expression over the whole text.

Sentences are split over the token stream with the decisions of Punkt (Kiss and Strunk,
2006, *Unsupervised Multilingual Sentence Boundary Detection*, Computational Linguistics
32(4)): a period ends a sentence unless it ends an abbreviation; an abbreviation or an
initial ends one when the next word is a frequent sentence starter; a lowercase word after an
abbreviation or an ellipsis starts no sentence (after ``. ? !`` it may: web text starts
sentences in lower case); a blank line always ends one.  The parameters (abbreviation types,
collocations, sentence starters, the words seen capitalized inside sentences) are learned
from raw text by NLTK's :class:`~nltk.tokenize.punkt.PunktTrainer` (:meth:`Segmenter.fit`)
and kept as JSON data (:meth:`Segmenter.to_dict`), never pickled.

Examples
--------
>>> seg = Segmenter.default("english")
>>> [[t.form for t in s.tokens] for s in seg.segment("I can't go. Mr. Smith can!")]
[['I', 'ca', "n't", 'go', '.'], ['Mr.', 'Smith', 'can', '!']]
>>> s = seg.segment("Hi there.")[0]
>>> s.tokens[1]
Token(form='there', start=3, end=8, space_after=False)
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from dataclasses import dataclass
from typing import NamedTuple
from collections.abc import Iterable

__all__ = ["Token", "Sentence", "TokenSpans", "Segmenter", "DEFAULT_ABBREVIATIONS"]


@dataclass(frozen=True, slots=True)
class Token:
    """A token of a text: ``text[start:end] == form``; ``space_after`` is False when the
    next character of the text is not whitespace (CoNLL-U's ``SpaceAfter=No``)."""
    form: str
    start: int
    end: int
    space_after: bool


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a text: ``text`` is ``original[start:end]``, from its first token's
    start to its last token's end; ``tokens`` carry offsets into the original text."""
    text: str
    start: int
    end: int
    tokens: tuple


class TokenSpans(NamedTuple):
    """The tokens of a text, flat: ``forms[k] == text[starts[k]:ends[k]]`` (offsets plus
    the ``offset`` asked for), and ``breaks``, the indices of the tokens that start a
    sentence."""
    forms: list
    starts: list
    ends: list
    breaks: list


#: untrained defaults: abbreviations of English that take a period and are rarely words
#: that end a sentence (not ``no``, ``sat``, ``sun``) (lowercase, without
#: the final period, as Punkt stores them); used by :meth:`Segmenter.default` and kept by
#: :meth:`Segmenter.fit` beside what it learns
DEFAULT_ABBREVIATIONS = frozenset("""
mr mrs ms dr prof st jr sr rev sen gov lt sgt capt cmdr adm maj messrs mt ft
inc ltd corp bros llc plc dept univ assn vol vols pp eds approx
vs etc al cf jan feb apr jun jul aug sep sept oct nov dec tue tues thu thur
thurs fri ave blvd hwy p.m a.m e.g i.e u.s u.k u.n u.s.a d.c n.y l.a
""".split())

_APOS = "'\u2019"
_END = r"(?![^\W_])"
_CLITIC_BODY = r"(?:[sSmMdD]|ll|LL|re|RE|ve|VE)(?![^\W_])"
_CLITIC = r"(?:[nN][" + _APOS + r"][tT](?![^\W_])|[" + _APOS + r"]" + _CLITIC_BODY + ")"
#: a character repeated (``----``, ``***``), one alternative per character: the pattern has
#: no group of its own
_REPEATS = "(?:" + "|".join(re.escape(c) + "{2,}" for c in "-=*+#~_<>$^") + ")"


def _nt(*heads: str) -> str:
    """Words split before a following ``nt`` (EWT: ``dont`` -> ``do nt``)."""
    return "(?:" + "|".join(heads) + ")(?=nt" + _END + ")"


#: the EWT spellings without apostrophe split as UD English does (``cannot`` -> ``can not``,
#: ``gonna`` -> ``gon na``, ``dont`` -> ``do nt``): one branch per first letter, behind a
#: check of that letter, so that the regular expression engine tries none of them for most
#: words (the same words and splits as a flat alternation; on 326k tokens of newsgroup text
#: the branch costs 6 ms of matching against the flat alternation's 37)
_RUN_TOGETHER = (
    r"(?<![^\W_])(?i:(?=[acdghiostw])(?:"
    r"c(?:an(?=not" + _END + r")|" + _nt("a", "ould") + r")"
    r"|w(?:an(?=na" + _END + r")|" + _nt("as", "ould", "ere") + r")"
    r"|g(?:on(?=na" + _END + r")|ot(?=ta" + _END + r"))"
    r"|out(?=ta" + _END + r")"
    r"|a(?:(?=lot" + _END + r")|" + _nt("re") + r")"
    r"|i(?:(?=(?:m|ve)" + _END + r")|" + _nt("s") + r")"
    r"|that(?=s" + _END + r")"
    r"|d" + _nt("o", "oes", "id")
    + r"|ha" + _nt("ve", "s", "d")
    + r"|should(?=nt" + _END + r")))")
#: a punctuation mark that is a token of its own, tried first: no alternative after it can
#: start with one of these characters and match more (a period that could start ``...``
#: or an e-mail address, ``?!`` that could repeat, ``:;`` that could start an emoticon
#: are left to them), so that the engine tries none of the others for the most frequent
#: punctuation
_PUNCT_ALONE = (r"[,()\[\]{}\"/\\%&@|]|\.(?![.\w+@-])|[?!](?![?!])"
                r"|[:;](?![-^o'()\[\]DPpO/\\|*3])")
_TOKEN_PATTERN = (
    _PUNCT_ALONE +
    # URL (the check of the first letter spares the engine the three prefixes elsewhere)
    r"|(?=[fhw])(?:https?://|ftp://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'\u2019]"
    r"|" + _RUN_TOGETHER +                                            # EWT: cannot, dont
    # the common case first, for speed: a word or number that no rule below applies to
    r"|[^\W\d_]+(?![\w.@'\u2019&/-])|\d+(?![\w.,:/@-])"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"                     # e-mail address
    r"|(?<![\w)])[:;=][-^o']?[()\[\]DPpO/\\|*3](?![\w(])"           # emoticon
    r"|<3"
    r"|\.{2,}|\u2026|``|''|[?!]{2,}|" + _REPEATS +                       # ellipsis, ----, ***
    r"|(?i:e-mail)s?|(?<![^\W_])[A-Za-z]/[A-Za-z](?![^\W_])"            # e-mail, b/c w/o
    r"|#[^\W_]\w*"                                                     # #hashtags
    r"|[^\W_][\w-]*(?:\.[\w-]+)*\.(?i:com|org|net|edu|gov|html?|pdf|docx?|xlsx?|txt"
    r"|jpe?g|gif|png|zip|exe|pptx?)(?![^\W_])"                          # file and host names
    r"|[a-z]+(?:\.[a-z]+){2,}(?![^\W_])"                                 # alt.animals.cat
    r"|\d+(?i:st|nd|rd|th)(?![^\W_])"                                   # 4th
    r"|(?:[^\W\d_]\.){2,}(?![^\W\d_])"                                 # U.S. e.g.
    r"|\d+(?:[.,:/]\d+)*"                                              # numbers
    r"|" + _CLITIC +                                                  # n't 's 'll ...
    r"|[^\W_]+?(?=[nN][" + _APOS + r"][tT](?![^\W_]))"                 # ca|n't  do|n't
    r"|[^\W_]+(?:[" + _APOS + r"&](?!" + _CLITIC_BODY + r")[^\W_]+)*"   # words, O'Neil, AT&T
    r"|_+|\S")                                                         # one other character
#: a token after the white space before it (groups: the white space, the token): the
#: alternatives above are tried at the first character of a token only, not at every space
#: too; ``findall`` gives (space, token) pairs whose lengths, added up, are the offsets
_TOKEN = re.compile(r"(\s*+)(" + _TOKEN_PATTERN + ")")

_FORM = operator.itemgetter(1)
_ENDS_FINAL = operator.methodcaller("endswith", (".", "?", "!", "\u2026"))
_TERMINAL = frozenset((".", "?", "!", "...", "\u2026"))
_CLOSING = frozenset((")", "]", "}", "'", '"', "''", "\u2019", "\u201d", "'s"))
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
# Punkt's orthographic context flags (nltk.tokenize.punkt): upper/lower case seen at the
# beginning / in the middle of a sentence
_ORTHO_MID_UC, _ORTHO_LC = 1 << 2, (1 << 1) | (1 << 3) | (1 << 5)


class Segmenter:
    """Sentence splitter and tokenizer of raw text (see the module's description).

    Parameters
    ----------
    language : str
        The language the parameters are for (only English conventions are implemented for
        tokens; Punkt's parameters can be learned for any language by :meth:`fit`).
    abbreviations, collocations, sentence_starters, names : iterables, optional
        Punkt's parameters: abbreviation types (lowercase, no final period), pairs of
        lowercase words a period between which ends no sentence, lowercase words that often
        start a sentence, lowercase words seen capitalized inside sentences and never in
        lower case (names, which an initial or abbreviation before does not end the
        sentence).  Default: :data:`DEFAULT_ABBREVIATIONS` and nothing else.
    """

    def __init__(self, language: str = "english", *, abbreviations=None, collocations=(),
                 sentence_starters=(), names=()):
        self.language = language
        self.abbreviations = frozenset(DEFAULT_ABBREVIATIONS if abbreviations is None
                                       else abbreviations)
        self.collocations = frozenset(tuple(c) for c in collocations)
        self.sentence_starters = frozenset(sentence_starters)
        self.names = frozenset(names)

    def __repr__(self) -> str:
        return (f"Segmenter(language={self.language!r}, {len(self.abbreviations)} "
                f"abbreviations, {len(self.sentence_starters)} sentence starters)")

    # ------------------------------------------------------------------ parameters
    @classmethod
    def default(cls, language: str = "english") -> Segmenter:
        """A ready splitter with untrained defaults: the built-in English abbreviation list
        (:data:`DEFAULT_ABBREVIATIONS`), no collocations and no sentence starters.  A
        splitter trained by :meth:`fit` on text of the kind to split does better."""
        if language != "english":
            raise ValueError(f"no default segmenter for {language!r}; train one: "
                             f"Segmenter({language!r}).fit(texts)")
        return cls(language)

    def fit(self, texts: Iterable[str]) -> Segmenter:
        """Learn Punkt's parameters from raw texts (NLTK's ``PunktTrainer``, unsupervised);
        the built-in abbreviations are kept beside the learned ones.  Returns ``self``."""
        from nltk.tokenize.punkt import PunktTrainer

        trainer = PunktTrainer()
        n = 0
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"fit expects an iterable of str texts, got a "
                                f"{type(text).__name__}")
            trainer.train(text, finalize=False)
            n += 1
        if not n:
            raise ValueError("fit got no text; give an iterable of raw texts")
        trainer.finalize_training()
        params = trainer.get_params()
        self.abbreviations = frozenset(params.abbrev_types) | DEFAULT_ABBREVIATIONS
        self.collocations = frozenset(tuple(c) for c in params.collocations)
        self.sentence_starters = frozenset(params.sent_starters)
        self.names = frozenset(w for w, flags in params.ortho_context.items()
                               if flags & _ORTHO_MID_UC and not flags & _ORTHO_LC
                               and w.isalpha())
        return self

    def to_dict(self) -> dict:
        """The parameters as JSON data (sorted lists), for a model file."""
        return {"language": self.language,
                "abbreviations": sorted(self.abbreviations),
                "collocations": sorted(list(c) for c in self.collocations),
                "sentence_starters": sorted(self.sentence_starters),
                "names": sorted(self.names)}

    @classmethod
    def from_dict(cls, d: dict) -> Segmenter:
        """The segmenter of :meth:`to_dict`."""
        try:
            return cls(d["language"], abbreviations=d["abbreviations"],
                       collocations=d["collocations"],
                       sentence_starters=d["sentence_starters"], names=d.get("names", ()))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a segmenter's parameters (expected the keys language, "
                             f"abbreviations, collocations, sentence_starters): {exc}") from None

    # ------------------------------------------------------------------ segmenting
    def spans(self, text: str, offset: int = 0) -> tuple[list[int], list[int], list[int]]:
        """``(starts, ends, breaks)``: token offsets (plus ``offset``) and the indices of
        the tokens that start a sentence (the first is 0 when there is any token).  The
        fast form of :meth:`segment`, for tagging large texts."""
        _, starts, ends, breaks = self.token_spans(text, offset)
        return starts, ends, breaks

    def token_spans(self, text: str, offset: int = 0) -> TokenSpans:
        """:meth:`spans` and the tokens' forms (``text[start:end]``), as a
        :class:`TokenSpans`."""
        if not isinstance(text, str):
            raise TypeError(f"expected a str text, got {type(text).__name__}; decode bytes "
                            f"first (e.g. data.decode('utf-8'))")
        forms: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        breaks: list[int] = []
        pos = 0
        for m in _PARAGRAPH.finditer(text):
            self._paragraph(text, pos, m.start(), forms, starts, ends, breaks)
            pos = m.end()
        self._paragraph(text, pos, len(text), forms, starts, ends, breaks)
        if offset:
            starts = list(map(offset.__add__, starts))
            ends = list(map(offset.__add__, ends))
        return TokenSpans(forms, starts, ends, breaks)

    def _paragraph(self, text, pos, endpos, all_forms, all_starts, all_ends, breaks):
        # C-level maps over the (space, token) pairs; Python runs per sentence-final
        # candidate only
        found = _TOKEN.findall(text, pos, endpos)
        if not found:
            return
        forms = list(map(_FORM, found))
        # pos, then the end of each space and of each token
        bounds = list(itertools.accumulate(map(len, itertools.chain.from_iterable(found)),
                                           initial=pos))
        starts, ends = bounds[1::2], bounds[2::2]
        base = len(all_starts)
        n = len(forms)
        merge = []  # indices of abbreviation periods joined to the word before
        cuts = [0]
        abbreviations, starters = self.abbreviations, self.sentence_starters
        for i in itertools.compress(itertools.count(), map(_ENDS_FINAL, forms)):
            form = forms[i]
            nxt = i + 1
            abbreviation = False
            if form == "." and i and ends[i - 1] == starts[i]:
                word = forms[i - 1].lower()
                if word in abbreviations or (len(word) == 1 and word.isalpha()):
                    merge.append(i)
                    abbreviation = True
            elif len(form) > 1 and form[-1] == "." and form[0] != ".":
                abbreviation = True  # U.S. e.g.
                word = form[:-1].lower()
            elif form not in _TERMINAL and form.strip("?!"):
                continue
            while nxt < n and forms[nxt] in _CLOSING and starts[nxt] == ends[nxt - 1]:
                nxt += 1  # a closing quote or bracket right after the period
            if nxt >= n:
                continue
            following = forms[nxt]
            first = following[0]
            if first.islower() and (abbreviation or (form[0] == "." and len(form) > 1)
                                    or form == "\u2026"):
                # "wait ... then", "Mr. smith": no sentence starts; after ". ? !" one may
                # (web text starts sentences in lower case: "i", "thanks"; tuned on EWT dev)
                continue
            if not first.isalnum() and first not in "\"'`([{<\u201c\u2018":
                continue  # "... , " or ".?" : not a sentence start
            if abbreviation:
                low = following.lower()
                if not (first.isupper() and low in starters and low not in self.names):
                    continue
            elif form == "." and i and (forms[i - 1].lower(), following.lower()) in \
                    self.collocations:
                continue
            cuts.append(nxt)
        if merge:
            for i in merge:
                ends[i - 1] = ends[i]
                forms[i - 1] += forms[i]
            for i in reversed(merge):
                del starts[i], ends[i], forms[i]
            dropped = set(merge)
            cuts = sorted({c - bisect.bisect_left(merge, c) for c in cuts if c not in dropped})
        all_forms.extend(forms)
        all_starts.extend(starts)
        all_ends.extend(ends)
        breaks.extend(map(base.__add__, cuts))

    def segment(self, text: str) -> list[Sentence]:
        """The sentences of ``text``, each with its tokens and their offsets.

        Raises
        ------
        TypeError
            ``text`` is not a str.
        """
        starts, ends, breaks = self.spans(text)
        n = len(starts)
        sentences = []
        bounds = breaks + [n]
        for k in range(len(breaks)):
            a, b = bounds[k], bounds[k + 1]
            tokens = tuple(Token(text[s:e], s, e, e >= len(text) or text[e].isspace())
                           for s, e in zip(starts[a:b], ends[a:b]))
            sentences.append(Sentence(text[starts[a]:ends[b - 1]], starts[a], ends[b - 1],
                                      tokens))
        return sentences

    def tokenize(self, text: str) -> list[list[str]]:
        """The token lists (forms only) of the sentences of ``text``."""
        starts, ends, breaks = self.spans(text)
        bounds = breaks + [len(starts)]
        return [[text[s:e] for s, e in zip(starts[a:b], ends[a:b])]
                for a, b in zip(bounds, bounds[1:])]
