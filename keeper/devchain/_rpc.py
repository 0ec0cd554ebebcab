"""A small synchronous JSON-RPC client for dev-chain control (anvil cheat methods).

Used by the harness, tests and the deploy tool, where blocking calls are simpler than asyncio. The
keeper's own chain I/O is async and lives in `keeper.chain`.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from typing import Any
from urllib.parse import urlsplit


class RpcError(Exception):
    """The node answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str) -> None:
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"{method}: {code} {message}")


class DevRpc:
    """JSON-RPC over one kept-alive HTTP connection, with anvil's development methods."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"DevRpc needs an http:// URL, got {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> DevRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        """Send one request and return its `result`; raise `RpcError` on a JSON-RPC error."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []})
        reply = self._post(body.encode())
        if "error" in reply:
            err = reply["error"]
            raise RpcError(method, int(err.get("code", 0)), str(err.get("message", err)))
        return reply.get("result")

    def _post(self, body: bytes) -> dict[str, Any]:
        # One reconnect on a dropped keep-alive connection. These dev methods are not sends of signed
        # transactions, so repeating one is harmless.
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
            try:
                self._conn.request("POST", self._path, body, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 1:
                    raise
                continue
            decoded: dict[str, Any] = json.loads(data)
            return decoded
        raise AssertionError("unreachable")

    # --- reads ---------------------------------------------------------------------------------------
    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def get_block(self, tag: str | int = "latest") -> dict[str, Any]:
        block: dict[str, Any] = self.request("eth_getBlockByNumber", [_tag(tag), False])
        return block

    def balance(self, address: str, tag: str | int = "latest") -> int:
        return int(self.request("eth_getBalance", [address, _tag(tag)]), 16)

    def nonce(self, address: str, tag: str | int = "pending") -> int:
        return int(self.request("eth_getTransactionCount", [address, _tag(tag)]), 16)

    def accounts(self) -> list[str]:
        accounts: list[str] = self.request("eth_accounts")
        return accounts

    # --- state control -------------------------------------------------------------------------------
    def snapshot(self) -> str:
        """Take a snapshot; `revert(id)` returns the chain to it (each id can be used once)."""
        return str(self.request("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        return bool(self.request("evm_revert", [snapshot_id]))

    def mine(self, blocks: int = 1, interval_s: int | None = None) -> None:
        params: list[Any] = [hex(blocks)] if interval_s is None else [hex(blocks), hex(interval_s)]
        self.request("anvil_mine", params)

    def increase_time(self, seconds: int) -> int:
        """Move the clock of the next block forward; returns the total offset anvil reports."""
        offset = self.request("evm_increaseTime", [hex(seconds)])
        return offset if isinstance(offset, int) else int(str(offset), 16)

    def set_next_block_timestamp(self, timestamp: int) -> None:
        self.request("evm_setNextBlockTimestamp", [hex(timestamp)])

    def set_balance(self, address: str, wei: int) -> None:
        self.request("anvil_setBalance", [address, hex(wei)])

    def impersonate(self, address: str) -> None:
        """Let `eth_sendTransaction` send from `address` without its key."""
        self.request("anvil_impersonateAccount", [address])

    def stop_impersonating(self, address: str) -> None:
        self.request("anvil_stopImpersonatingAccount", [address])

    def set_next_base_fee(self, wei: int) -> None:
        self.request("anvil_setNextBlockBaseFeePerGas", [hex(wei)])

    def set_automine(self, enabled: bool) -> None:
        self.request("evm_setAutomine", [enabled])

    def set_code(self, address: str, code: str) -> None:
        self.request("anvil_setCode", [address, code])

    # --- transactions --------------------------------------------------------------------------------
    def send_transaction(self, tx: dict[str, Any]) -> str:
        """`eth_sendTransaction` from an unlocked or impersonated account; returns the hash."""
        return str(self.request("eth_sendTransaction", [tx]))

    def send_raw_transaction(self, raw: str) -> str:
        return str(self.request("eth_sendRawTransaction", [raw]))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        receipt: dict[str, Any] | None = self.request("eth_getTransactionReceipt", [tx_hash])
        return receipt

    def wait_receipt(self, tx_hash: str, timeout_s: float = 30.0, poll_s: float = 0.05) -> dict[str, Any]:
        """Poll until the transaction is mined; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise TimeoutError(f"no receipt for {tx_hash} after {timeout_s}s")
            time.sleep(poll_s)


def _tag(tag: str | int) -> str:
    return hex(tag) if isinstance(tag, int) else tag
