"""Progress bars: the one place they are made.

On a terminal a progress bar is tqdm's, redrawn as often as tqdm likes.  When standard error
is a file or a pipe (a log of a batch job), every redraw would stay in the log: there the bar
is redrawn at most every :data:`LOG_INTERVAL` seconds, and setting its postfix or description
(done once per iteration by the training loops) does not redraw it, so that a run writes a
few lines of progress, not one per iteration.
"""

from __future__ import annotations

import sys

__all__ = ["LOG_INTERVAL", "progress_bar"]

#: seconds between two redraws of a progress bar written to a file or a pipe
LOG_INTERVAL = 60.0


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False


def progress_bar(iterable=None, *, total=None, desc: str | None = None, unit: str = "it",
                 leave: bool = True, file=None):
    """A tqdm progress bar over ``iterable`` (or of ``total`` steps, advanced by
    ``update``), quiet when ``file`` (standard error by default) is not a terminal.

    Parameters
    ----------
    iterable : iterable, optional
    total : int, optional
    desc, unit : str
    leave : bool, default True
        Keep the finished bar on screen.
    file : stream, optional
        Where the bar is written (default ``sys.stderr``).
    """
    from tqdm.auto import tqdm

    stream = sys.stderr if file is None else file
    kwargs = dict(total=total, desc=desc, unit=unit, leave=leave, file=file)
    if _is_terminal(stream):
        return tqdm(iterable, **kwargs)
    return _log_bar_class(tqdm)(iterable, mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL,
                                **kwargs)


_LOG_BARS: dict = {}


def _log_bar_class(tqdm):
    """``tqdm`` whose postfix and description changes wait for the next timed redraw."""
    if tqdm not in _LOG_BARS:
        class LogBar(tqdm):  # type: ignore[valid-type,misc]  # a class given at run time
            def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
                super().set_postfix(ordered_dict, refresh=False, **kwargs)

            def set_postfix_str(self, s="", refresh=True):
                super().set_postfix_str(s, refresh=False)

            def set_description(self, desc=None, refresh=True):
                super().set_description(desc, refresh=False)

            def set_description_str(self, desc=None, refresh=True):
                super().set_description_str(desc, refresh=False)

        _LOG_BARS[tqdm] = LogBar
    return _LOG_BARS[tqdm]
