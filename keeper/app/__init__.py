"""The keeper process: orchestration, scheduling and the CLI's long-running commands."""

from keeper.app._logging import configure_logging
from keeper.app._run import devnet_options, run_keeper

__all__ = ["configure_logging", "devnet_options", "run_keeper"]
