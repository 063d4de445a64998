"""``python -m hmmtl``: the same as the ``hmmtl`` command."""

from .cli import console_main

if __name__ == "__main__":
    console_main()
