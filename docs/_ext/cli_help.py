"""``cli-help``: the command line reference, generated from hmmtl's own argparse parsers.

One section per command with the text ``hmmtl COMMAND --help`` prints (at a fixed width of
100 columns), taken from :func:`hmmtl.cli.build_parser`, so the reference cannot drift from
the parsers.  The help texts are shown as they are, not parsed as reStructuredText.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = "100"


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse wraps at the terminal's width
    try:
        return parser.format_help().rstrip() + "\n"
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` of each sub-command, in ``hmmtl --help``'s order."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return [(name, helps.get(name) or "", sub) for name, sub in action.choices.items()]


class CliHelp(Directive):
    has_content = False

    def run(self):
        from hmmtl.cli import build_parser

        parser = build_parser()
        out = [nodes.literal_block(text=_help(parser), language="none")]
        for name, summary, sub in commands(parser):
            section = nodes.section(ids=[f"hmmtl-{name}"], names=[f"hmmtl {name}"])
            section += nodes.title(text=f"hmmtl {name}")
            if summary:
                section += nodes.paragraph(text=summary[:1].upper() + summary[1:] + ".")
            section += nodes.literal_block(text=_help(sub), language="none")
            self.state.document.note_implicit_target(section, section)
            out.append(section)
        return out


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "version": "1"}
