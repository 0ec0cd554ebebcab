"""The durable store: orders and outcomes, fills, funding, positions, risk state, config changes and
operator actions of each account, in one SQLite file beside the config.

Why: a restart must not forget risk. The drawdown high-water mark and a latched halt live here, so a
restarted keeper resumes with the same drawdown budget and stays halted; only `keeper resume` (an
operator, deliberately, with a reason) clears a latch. Orders last known possibly live are here for
start-up recovery.

Properties:

- Crash-only. Every write is one small ``BEGIN IMMEDIATE`` transaction; WAL journal with
  ``synchronous = NORMAL`` for the hot path (orders, outcomes, fills: a killed process loses nothing
  committed, a power cut may lose the last commits, which reconciliation with the venue restores) and
  ``FULL`` for the risk latch and resumes (they survive a power cut too). A process killed at any
  point leaves the last committed state; there is no shutdown step to skip.
- Two processes at once: the running keeper and `keeper resume` each open their own connection; WAL
  lets readers run beside the writer, ``busy_timeout`` makes writers queue instead of failing.
- Schema version in ``PRAGMA user_version``; schema, migrations and records in `_store_schema`.
- Exact: Decimals stored as TEXT, times as integer Unix ms given by the caller (the store reads no
  clock, except `take_resume` when not given one).
- Accounts are caller-chosen keys (`account_key`), e.g. ``"local_hl"`` or ``"hyperliquid:0xabc…"``.
- No key material: free text an operator types (resume reasons) is masked by `mask_keys`; config
  changes record section names and a digest, never values.

Resume protocol: `request_resume` (another process) clears the latch and the high-water mark in the
``risk`` row and leaves a pending operator action in one transaction; the running keeper polls
`take_resume`, which marks it taken and clears the row again (the keeper may have saved its stale
in-memory state in between), then calls ``RiskGate.reset_halt()`` and drops its in-memory high-water
mark so the drawdown budget restarts from the next equity reading. At start-up: `load_risk`, then
``RiskGate.restore``, then `take_resume` (a resume written while no keeper ran is applied at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from keeper.app._store_schema import (
    ConfigChange,
    OutcomeRecord,
    PositionRecord,
    PositionSource,
    RequestKind,
    ResumeRecord,
    RiskRecord,
    StoredOrder,
    StoreError,
    clear_latch,
    migrate,
    row_dict,
    set_order_state,
)
from keeper.config import KeeperConfig, resolve_path
from keeper.core.redact import mask_keys
from keeper.core.venue import (
    Canceled,
    Executed,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    OrderState,
    PositionReport,
    Rejected,
    Resting,
    Unknown,
)

DEFAULT_STORE_PATH = "state/keeper.sqlite"
DEFAULT_BUSY_TIMEOUT_MS = 5_000

Outcome = Resting | Executed | Rejected | Unknown | Canceled | OrderAccepted | OrderCanceled | OrderRejected

_MAYBE_LIVE = tuple(s.value for s in OrderState if s.maybe_live)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
_RISK = "SELECT high_water_mark, halted, halt_reason, halted_at_ms, updated_ms FROM risk WHERE account = ?"
_RESUMES = "SELECT id, account, ts_ms, who, reason, cleared_reason, taken_ms FROM operator_actions"


def store_path(config: KeeperConfig, config_file: str | Path) -> Path:
    """Where the store of a deployment lives: ``[store] path`` (default ``state/keeper.sqlite``) relative
    to the config file's directory. Read with a fallback while the config has no ``[store]`` section."""
    value = getattr(getattr(config, "store", None), "path", None) or DEFAULT_STORE_PATH
    return resolve_path(Path(config_file).absolute().parent, str(value))


def account_key(config: KeeperConfig, account: str | None = None) -> str | None:
    """The store and lease key of the account: ``account`` when given, else ``[strategy] venue`` (None:
    no venue configured). One function so the keeper and `keeper resume` cannot disagree."""
    return account or config.strategy.venue


def config_digest(data: bytes) -> str:
    """The digest `record_config_change` stores for a config file's bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _params(record: msgspec.Struct, **extra: Any) -> dict[str, Any]:
    """A record as named SQL parameters: Decimals as exact strings, enums as values."""
    return {**msgspec.to_builtins(record), **extra}


class Store:
    """One connection to the store file. Not thread-safe: one per process (or per thread)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = conn

    # ---- lifecycle ----

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Store:
        """Open (creating the file and its parent directories) and bring the schema up to date.

        Raises:
            StoreError: the file cannot be opened, is not a store, or is newer than this keeper.
        """
        file = Path(path)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(file, timeout=busy_timeout_ms / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{file}: cannot open the store: {exc}") from exc
        try:
            conn.row_factory = row_dict
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()["journal_mode"]
            if str(mode).lower() != "wal":
                raise StoreError(f"{file}: journal mode {mode!r}: WAL is required")
            conn.execute("PRAGMA synchronous = NORMAL")  # 0.03 ms a write here, FULL 0.3 ms
            migrate(conn, file)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"{file}: not a usable store: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(file, conn)

    @property
    def path(self) -> Path:
        return self._path

    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0]["user_version"])

    def close(self) -> None:
        """Close the connection (idempotent). Nothing to flush: every write already committed."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- orders and outcomes ----

    def record_order(
        self,
        request: OrderRequest,
        account: str,
        *,
        ts_ms: int,
        state: OrderState = OrderState.SUBMITTED,
        venue_order_id: str | None = None,
        reason: str = "",
        external: bool = False,
    ) -> None:
        """Insert or update an order by client id. ``ts_ms`` is the send time on first record (kept
        afterwards) and the update time always; a known venue order id is never erased by None."""
        params = _params(
            request,
            account=account,
            venue_order_id=venue_order_id,
            state=state.value,
            reason=reason,
            ts_ms=ts_ms,
            external=external,
        )
        with self._tx() as conn:
            conn.execute(
                """
                INSERT INTO orders (account, client_id, market, side, price, size, tif, reduce_only,
                                    venue_order_id, state, reason, sent_ms, updated_ms, external)
                VALUES (:account, :client_id, :market, :side, :price, :size, :tif, :reduce_only,
                        :venue_order_id, :state, :reason, :ts_ms, :ts_ms, :external)
                ON CONFLICT (account, client_id) DO UPDATE SET
                    market = excluded.market, side = excluded.side, price = excluded.price,
                    size = excluded.size, tif = excluded.tif, reduce_only = excluded.reduce_only,
                    venue_order_id = COALESCE(excluded.venue_order_id, orders.venue_order_id),
                    state = excluded.state, reason = excluded.reason,
                    updated_ms = excluded.updated_ms, external = excluded.external
                """,
                params,
            )

    def update_order(
        self,
        account: str,
        client_id: str,
        state: OrderState,
        ts_ms: int,
        *,
        venue_order_id: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Set a recorded order's state (e.g. from an order-ledger change). False: no such order."""
        with self._tx() as conn:
            return set_order_state(
                conn, account, client_id, state, ts_ms, venue_id=venue_order_id, reason=reason
            )

    def record_outcome(
        self,
        outcome: Outcome,
        account: str,
        client_id: str,
        ts_ms: int,
        *,
        request: RequestKind = "submit",
        state: OrderState | None = None,
    ) -> None:
        """Append a send outcome or order event; with ``state``, set the order's state in the same
        transaction (a venue order id the outcome carries is kept on the order either way)."""
        kind = str(type(outcome).__struct_config__.tag)
        reason = str(getattr(outcome, "reason", ""))
        venue_id: str | None = getattr(outcome, "venue_order_id", None)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO outcomes (account, client_id, request, kind, reason, venue_order_id, ts_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account, client_id, request, kind, reason, venue_id, ts_ms),
            )
            if state is not None:
                set_order_state(
                    conn, account, client_id, state, ts_ms, venue_id=venue_id, reason=reason or None
                )
            elif venue_id is not None:
                conn.execute(
                    "UPDATE orders SET venue_order_id = ? WHERE account = ? AND client_id = ?"
                    " AND venue_order_id IS NULL",
                    (venue_id, account, client_id),
                )

    def orders(self, account: str, states: Iterable[OrderState] | None = None) -> list[StoredOrder]:
        """Recorded orders of an account (optionally only those in ``states``), oldest send first."""
        wanted = [s.value for s in (OrderState if states is None else states)]
        return self._orders(account, wanted)

    def open_orders(self, account: str) -> list[StoredOrder]:
        """Orders last known possibly live (UNKNOWN included): what start-up recovery must settle."""
        return self._orders(account, _MAYBE_LIVE)

    def outcomes(self, account: str, client_id: str | None = None) -> list[OutcomeRecord]:
        """Outcomes and order events in the order recorded (of one order, or all)."""
        rows = self._read(
            "SELECT * FROM outcomes WHERE account = ? AND (? IS NULL OR client_id = ?) ORDER BY id",
            (account, client_id, client_id),
        )
        return [msgspec.convert(r, OutcomeRecord, strict=False) for r in rows]

    # ---- fills, funding, positions ----

    def record_fill(self, fill: OrderFilled, account: str) -> bool:
        """Store a fill once per (account, trade id). True: it was new; False: a replay, ignored."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO fills (account, trade_id, client_id, venue_order_id, market, side,"
                " price, size, fee, maker, ts_ms) VALUES (:account, :trade_id, :client_id,"
                " :venue_order_id, :market, :side, :price, :size, :fee, :maker, :ts_ms)",
                _params(fill, account=account),
            )
            return cur.rowcount == 1

    def fills(self, account: str, since_ms: int | None = None) -> list[OrderFilled]:
        """Fills of the account from ``since_ms`` on (all when None), in time order."""
        rows = self._read(
            "SELECT * FROM fills WHERE account = ? AND (? IS NULL OR ts_ms >= ?) ORDER BY ts_ms, rowid",
            (account, since_ms, since_ms),
        )
        return [msgspec.convert(r, OrderFilled, strict=False) for r in rows]

    def record_funding(self, payment: FundingPaid, account: str) -> bool:
        """Store a funding payment once per (account, market, time). True: it was new."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO funding (account, market, ts_ms, amount, rate, position)"
                " VALUES (:account, :market, :ts_ms, :amount, :rate, :position)",
                _params(payment, account=account),
            )
            return cur.rowcount == 1

    def funding(self, account: str) -> list[FundingPaid]:
        rows = self._read("SELECT * FROM funding WHERE account = ? ORDER BY ts_ms, market", (account,))
        return [msgspec.convert(r, FundingPaid, strict=False) for r in rows]

    def record_position(
        self, position: PositionReport, account: str, *, ts_ms: int, source: PositionSource
    ) -> None:
        """Append a position snapshot: the venue's (reconciliation) or the ledger's (from fills)."""
        if source not in ("venue", "ledger"):
            raise ValueError(f"position source must be 'venue' or 'ledger', not {source!r}")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO positions (account, ts_ms, market, size, entry_price, liquidation_price, source)"
                " VALUES (:account, :ts_ms, :market, :size, :entry_price, :liquidation_price, :source)",
                _params(position, account=account, ts_ms=ts_ms, source=source),
            )

    def positions(self, account: str, market: str | None = None) -> list[PositionRecord]:
        """Position snapshots, oldest first (the last per market is the latest known)."""
        rows = self._read(
            "SELECT * FROM positions WHERE account = ? AND (? IS NULL OR market = ?) ORDER BY ts_ms, id",
            (account, market, market),
        )
        return [msgspec.convert(r, PositionRecord, strict=False) for r in rows]

    # ---- risk state and operator resume ----

    def load_risk(self, account: str) -> RiskRecord | None:
        """The account's risk state, or None when nothing was ever recorded for it."""
        rows = self._read(_RISK, (account,))
        return msgspec.convert(rows[0], RiskRecord, strict=False) if rows else None

    def save_risk(self, account: str, record: RiskRecord) -> None:
        """Replace the account's risk state (the keeper saves its high-water mark as it moves). Latch
        a new halt with `latch_halt` at once, not here on the next save: a crash in between loses it."""
        halted = record.halted
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO risk (account, high_water_mark, halted, halt_reason, halted_at_ms,"
                " updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    account,
                    None if record.high_water_mark is None else str(record.high_water_mark),
                    int(halted),
                    mask_keys(record.halt_reason) if halted and record.halt_reason is not None else None,
                    record.halted_at_ms if halted else None,
                    record.updated_ms,
                ),
            )

    def latch_halt(self, account: str, reason: str, ts_ms: int) -> None:
        """Record a latched halt; the high-water mark is kept. An existing latch keeps its first reason
        and time (the earliest cause is the one an operator needs)."""
        with self._durable_tx() as conn:
            conn.execute(
                """
                INSERT INTO risk (account, high_water_mark, halted, halt_reason, halted_at_ms, updated_ms)
                VALUES (:account, NULL, 1, :reason, :ts, :ts)
                ON CONFLICT (account) DO UPDATE SET
                    halt_reason = CASE risk.halted WHEN 1 THEN risk.halt_reason ELSE excluded.halt_reason END,
                    halted_at_ms = CASE risk.halted WHEN 1 THEN risk.halted_at_ms
                                   ELSE excluded.halted_at_ms END,
                    halted = 1, updated_ms = excluded.updated_ms
                """,
                {"account": account, "reason": mask_keys(reason), "ts": ts_ms},
            )

    def request_resume(self, account: str, who: str, reason: str, ts_ms: int) -> RiskRecord | None:
        """Operator resume (from any process): if the account is latched, clear the latch and the
        high-water mark and leave a pending action for the running keeper, in one transaction.

        Returns the risk state as it was (what was cleared), or None when nothing was latched (then
        nothing is recorded).
        """
        with self._durable_tx() as conn:
            row = conn.execute(_RISK, (account,)).fetchone()
            before = None if row is None else msgspec.convert(row, RiskRecord, strict=False)
            if before is None or not before.halted:
                return None
            conn.execute(
                "INSERT INTO operator_actions (account, action, ts_ms, who, reason, cleared_reason)"
                " VALUES (?, 'resume', ?, ?, ?, ?)",
                (account, ts_ms, mask_keys(who), mask_keys(reason), before.halt_reason),
            )
            clear_latch(conn, account, ts_ms)
            return before

    def take_resume(self, account: str, ts_ms: int | None = None) -> ResumeRecord | None:
        """The running keeper's poll: take every pending resume of the account (marking them taken) and
        return the latest, or None. On a record: ``RiskGate.reset_halt()`` and drop the in-memory
        high-water mark (the row is cleared here too, in case the keeper saved over it meanwhile)."""
        now = int(time.time() * 1000) if ts_ms is None else ts_ms
        with self._durable_tx() as conn:
            rows = conn.execute(
                _RESUMES + " WHERE account = ? AND taken_ms IS NULL ORDER BY id", (account,)
            ).fetchall()
            if not rows:
                return None
            conn.execute(
                "UPDATE operator_actions SET taken_ms = ? WHERE account = ? AND taken_ms IS NULL",
                (now, account),
            )
            clear_latch(conn, account, now)
        return msgspec.convert({**rows[-1], "taken_ms": now}, ResumeRecord, strict=False)

    def operator_actions(self, account: str) -> list[ResumeRecord]:
        rows = self._read(_RESUMES + " WHERE account = ? ORDER BY id", (account,))
        return [msgspec.convert(r, ResumeRecord, strict=False) for r in rows]

    # ---- config changes ----

    def record_config_change(
        self, ts_ms: int, sections: Sequence[str], digest: str, *, file: str | None = None
    ) -> None:
        """Record an applied config change: section names (``"risk"``, ``"keys.active"``) and the file's
        `config_digest`, never the values."""
        if not _DIGEST.match(digest):
            raise ValueError("digest must be config_digest(file bytes): 'sha256:' + 64 lowercase hex")
        bad = [s for s in sections if not _SECTION.match(s)]
        if bad:
            raise ValueError(f"section names only (dotted identifiers), got {bad!r}")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO config_changes (ts_ms, file, sections, digest) VALUES (?, ?, ?, ?)",
                (ts_ms, file, json.dumps(list(sections)), digest),
            )

    def config_changes(self) -> list[ConfigChange]:
        rows = self._read("SELECT ts_ms, file, sections, digest FROM config_changes ORDER BY id")
        return [
            msgspec.convert({**r, "sections": json.loads(r["sections"])}, ConfigChange, strict=False)
            for r in rows
        ]

    # ---- plumbing ----

    def _orders(self, account: str, states: Sequence[str]) -> list[StoredOrder]:
        marks = ", ".join("?" * len(states))
        rows = self._read(
            f"SELECT * FROM orders WHERE account = ? AND state IN ({marks}) ORDER BY sent_ms, rowid",
            (account, *states),
        )
        return [msgspec.convert(r, StoredOrder, strict=False) for r in rows]

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self._path}: the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _durable_tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction synced to disk at commit (``synchronous = FULL`` for it alone)."""
        conn = self._connection()
        conn.execute("PRAGMA synchronous = FULL")
        try:
            with self._tx() as tx:
                yield tx
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA synchronous = NORMAL")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front (waiting up to busy_timeout),
        so a read inside it cannot be invalidated by another writer (no SQLITE_BUSY_SNAPSHOT)."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: cannot write: {exc}") from exc
        try:
            yield conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self._path}: write failed: {exc}") from exc
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise StoreError(f"{self._path}: commit failed: {exc}") from exc

    def _read(self, query: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return list(self._connection().execute(query, args).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: read failed: {exc}") from exc


__all__ = [
    "DEFAULT_STORE_PATH",
    "ConfigChange",
    "Outcome",
    "OutcomeRecord",
    "PositionRecord",
    "PositionSource",
    "RequestKind",
    "ResumeRecord",
    "RiskRecord",
    "Store",
    "StoreError",
    "StoredOrder",
    "account_key",
    "config_digest",
    "store_path",
]
