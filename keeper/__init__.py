"""keeper: keeper and market-making bot for perpetual-futures DEXs."""

from keeper._version import __version__

__all__ = ["__version__"]
