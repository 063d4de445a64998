"""``tag_text``: raw text in, tagged sentences out, for every labeler.

A labeler that carries a segmenter (the optional fitted attribute ``segmenter_``, a
:class:`hmmtl.io.Segmenter`, stored in its model file) splits text with it; any other uses
:meth:`Segmenter.default`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TaggedToken", "TaggedSentence", "TextTagging", "tag_segmented"]


@dataclass(frozen=True, slots=True)
class TaggedToken:
    """A token of the text with its tag: ``text[start:end] == form``; ``space_after`` is
    False when the next character is not whitespace."""
    form: str
    start: int
    end: int
    tag: str
    space_after: bool


@dataclass(frozen=True, slots=True)
class TaggedSentence:
    """A sentence: its ``text`` (``original[start:end]``) and its tagged tokens."""
    text: str
    start: int
    end: int
    tokens: tuple


def tag_segmented(model, sentences) -> list[TaggedSentence]:
    """The :class:`hmmtl.io.Sentence` list ``sentences`` tagged by ``model.predict``."""
    if not sentences:
        return []
    predicted = model.predict([[t.form for t in s.tokens] for s in sentences])
    return [TaggedSentence(s.text, s.start, s.end,
                           tuple(TaggedToken(t.form, t.start, t.end, str(tag), t.space_after)
                                 for t, tag in zip(s.tokens, tags)))
            for s, tags in zip(sentences, predicted)]


class TextTagging:
    """Gives a labeler :meth:`tag_text` (beside ``tag`` and ``tag_sents``)."""

    def tag_text(self, text: str, segmenter=None) -> list[TaggedSentence]:
        """Split raw ``text`` into sentences and tokens and tag them.

        Parameters
        ----------
        text : str
        segmenter : hmmtl.io.Segmenter, optional
            Default: the model's own ``segmenter_`` when it has one, else
            ``Segmenter.default("english")``.

        Returns
        -------
        list of TaggedSentence
            Each token with its character offsets into ``text`` and its tag.

        Raises
        ------
        TypeError
            ``text`` is not a str (a list of tokens goes to ``tag``).
        """
        if not isinstance(text, str):
            raise TypeError(f"tag_text expects raw text (a str), got a {type(text).__name__}; "
                            f"tag token lists with tag / tag_sents")
        if segmenter is None:
            segmenter = getattr(self, "segmenter_", None)
        if segmenter is None:
            from .io.segment import Segmenter

            segmenter = Segmenter.default("english")
        return tag_segmented(self, segmenter.segment(text))
