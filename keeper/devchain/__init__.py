"""Development chains: launch, fork and control anvil (used by `make run`, tests and tools)."""

from keeper.devchain._anvil import AnvilError, AnvilNode, AnvilOptions, anvil_args, find_anvil
from keeper.devchain._orphans import runtime_dir, sweep_orphans
from keeper.devchain._ports import PortLease, lease_port
from keeper.devchain._rpc import DevRpc, RpcError

__all__ = [
    "AnvilError",
    "AnvilNode",
    "AnvilOptions",
    "DevRpc",
    "PortLease",
    "RpcError",
    "anvil_args",
    "find_anvil",
    "lease_port",
    "runtime_dir",
    "sweep_orphans",
]
