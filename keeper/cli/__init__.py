"""The `keeper` command line (also `python -m keeper`)."""

from keeper.cli._main import main

__all__ = ["main"]
