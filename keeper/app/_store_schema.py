"""The store's schema, its migrations (versioned in ``PRAGMA user_version``) and the records it returns.

``MIGRATIONS[n]`` takes a store from version n - 1 to n; a fresh file runs them all. A migration is
appended, never edited: a file written by an older keeper opens by running the steps it lacks, inside
the same write transaction that bumps ``user_version`` (so two processes opening the same old file
at once migrate it once). A file newer than this keeper is refused rather than guessed at.

Conventions: money and sizes are Decimal as TEXT (``str(Decimal)`` round-trips exactly), times are
integer Unix milliseconds, enums are their ``.value``, booleans 0/1. Column names equal the record
fields, so rows convert with ``msgspec.convert``. No ``STRICT`` tables (SQLite 3.37+); CHECK
constraints keep the enumerations honest instead.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import msgspec

from keeper.core.types import Side
from keeper.core.venue import OrderRequest, OrderState, TimeInForce

PositionSource = Literal["venue", "ledger"]
RequestKind = Literal["submit", "cancel", "replace", "event"]


class StoreError(Exception):
    """The store cannot be opened, read or written; ``str(err)`` is one line naming the file."""


class _Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the records the store returns."""


class RiskRecord(_Record, frozen=True, kw_only=True):
    """The risk state of one account. ``high_water_mark`` None: take the next equity reading as the peak."""

    high_water_mark: Decimal | None
    halted: bool = False
    halt_reason: str | None = None
    halted_at_ms: int | None = None
    updated_ms: int


class ResumeRecord(_Record, frozen=True, kw_only=True):
    """One `keeper resume`: who (user@host/pid), when, why, and which latch it cleared."""

    id: int
    account: str
    ts_ms: int
    who: str
    reason: str
    cleared_reason: str | None = None
    taken_ms: int | None = None  # None: not yet applied by a running keeper


class StoredOrder(_Record, frozen=True, kw_only=True):
    """An order as last recorded (the request's fields flat, as in the table)."""

    account: str
    client_id: str
    market: str
    side: Side
    price: Decimal
    size: Decimal
    tif: TimeInForce
    reduce_only: bool
    venue_order_id: str | None
    state: OrderState
    reason: str
    sent_ms: int
    updated_ms: int
    external: bool

    @property
    def request(self) -> OrderRequest:
        return OrderRequest(
            client_id=self.client_id,
            market=self.market,
            side=self.side,
            price=self.price,
            size=self.size,
            tif=self.tif,
            reduce_only=self.reduce_only,
        )


class OutcomeRecord(_Record, frozen=True, kw_only=True):
    client_id: str
    request: RequestKind
    kind: str  # the outcome's or event's tag: resting, executed, rejected, unknown, canceled, ...
    reason: str
    venue_order_id: str | None
    ts_ms: int


class PositionRecord(_Record, frozen=True, kw_only=True):
    ts_ms: int
    market: str
    size: Decimal
    entry_price: Decimal | None
    liquidation_price: Decimal | None
    source: PositionSource


class ConfigChange(_Record, frozen=True, kw_only=True):
    ts_ms: int
    file: str | None
    sections: tuple[str, ...]
    digest: str  # "sha256:<hex>" of the file's bytes


_V1 = (
    # One row per order, upserted by client id: the last known state of everything we sent or adopted.
    """
    CREATE TABLE orders (
        account TEXT NOT NULL,
        client_id TEXT NOT NULL,
        market TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        price TEXT NOT NULL,
        size TEXT NOT NULL,
        tif TEXT NOT NULL,
        reduce_only INTEGER NOT NULL CHECK (reduce_only IN (0, 1)),
        venue_order_id TEXT,
        state TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        sent_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        external INTEGER NOT NULL CHECK (external IN (0, 1)),
        PRIMARY KEY (account, client_id)
    )
    """,
    "CREATE INDEX orders_by_state ON orders (account, state)",
    # Append-only: every send outcome and order event, in the order they were recorded.
    """
    CREATE TABLE outcomes (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        client_id TEXT NOT NULL,
        request TEXT NOT NULL CHECK (request IN ('submit', 'cancel', 'replace', 'event')),
        kind TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        venue_order_id TEXT,
        ts_ms INTEGER NOT NULL
    )
    """,
    "CREATE INDEX outcomes_by_order ON outcomes (account, client_id)",
    # A venue trade id is unique per venue; both sides of a self-trade share it, hence per account.
    """
    CREATE TABLE fills (
        account TEXT NOT NULL,
        trade_id TEXT NOT NULL,
        client_id TEXT,
        venue_order_id TEXT NOT NULL,
        market TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        price TEXT NOT NULL,
        size TEXT NOT NULL,
        fee TEXT NOT NULL,
        maker INTEGER NOT NULL CHECK (maker IN (0, 1)),
        ts_ms INTEGER NOT NULL,
        PRIMARY KEY (account, trade_id)
    )
    """,
    "CREATE INDEX fills_by_time ON fills (account, ts_ms)",
    """
    CREATE TABLE funding (
        account TEXT NOT NULL,
        market TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        amount TEXT NOT NULL,
        rate TEXT NOT NULL,
        position TEXT NOT NULL,
        PRIMARY KEY (account, market, ts_ms)
    )
    """,
    """
    CREATE TABLE positions (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        market TEXT NOT NULL,
        size TEXT NOT NULL,
        entry_price TEXT,
        liquidation_price TEXT,
        source TEXT NOT NULL CHECK (source IN ('venue', 'ledger'))
    )
    """,
    "CREATE INDEX positions_by_market ON positions (account, market, ts_ms)",
    # high_water_mark NULL: restart the drawdown budget from the next equity reading (after a resume).
    """
    CREATE TABLE risk (
        account TEXT PRIMARY KEY,
        high_water_mark TEXT,
        halted INTEGER NOT NULL CHECK (halted IN (0, 1)),
        halt_reason TEXT,
        halted_at_ms INTEGER,
        updated_ms INTEGER NOT NULL,
        CHECK (halted = 1 OR (halt_reason IS NULL AND halted_at_ms IS NULL))
    )
    """,
    # Which sections changed and the file's digest: never the values (they may name secrets' places).
    """
    CREATE TABLE config_changes (
        id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        file TEXT,
        sections TEXT NOT NULL,
        digest TEXT NOT NULL
    )
    """,
    # taken_ms NULL: written by `keeper resume`, not yet applied by the running keeper.
    """
    CREATE TABLE operator_actions (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('resume')),
        ts_ms INTEGER NOT NULL,
        who TEXT NOT NULL,
        reason TEXT NOT NULL,
        cleared_reason TEXT,
        taken_ms INTEGER
    )
    """,
    "CREATE INDEX operator_actions_pending ON operator_actions (account, taken_ms)",
)

MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1}
SCHEMA_VERSION = max(MIGRATIONS)


def migrate(conn: sqlite3.Connection, file: Path) -> None:
    """Run the migrations the file lacks. Up to date: a read only (opening never waits for a writer).
    Else one IMMEDIATE write transaction that re-reads the version (a second process opening the same
    old file waits, then finds it migrated). ``conn`` returns rows as dicts (`row_dict`)."""
    latest = max(MIGRATIONS)
    if _version(conn, file, latest) == latest:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn, file, latest)
        for step in range(version + 1, latest + 1):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
        if version != latest:
            conn.execute(f"PRAGMA user_version = {latest}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _version(conn: sqlite3.Connection, file: Path, latest: int) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()["user_version"])
    if version > latest:
        raise StoreError(f"{file}: store schema {version} is newer than this keeper's ({latest})")
    return version


def row_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """sqlite3 row factory: rows as dicts keyed by column name (what ``msgspec.convert`` takes)."""
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def set_order_state(
    conn: sqlite3.Connection,
    account: str,
    client_id: str,
    state: OrderState,
    ts_ms: int,
    *,
    venue_id: str | None,
    reason: str | None,
) -> bool:
    """The order's new state; a venue id or reason given is kept, None keeps the old. False: no order."""
    cur = conn.execute(
        "UPDATE orders SET state = ?, updated_ms = ?, venue_order_id = COALESCE(?, venue_order_id),"
        " reason = COALESCE(?, reason) WHERE account = ? AND client_id = ?",
        (state.value, ts_ms, venue_id, reason, account, client_id),
    )
    return cur.rowcount == 1


def clear_latch(conn: sqlite3.Connection, account: str, ts_ms: int) -> None:
    """No latch and no high-water mark: the drawdown budget restarts from the next equity reading."""
    conn.execute(
        "UPDATE risk SET halted = 0, halt_reason = NULL, halted_at_ms = NULL, high_water_mark = NULL,"
        " updated_ms = ? WHERE account = ?",
        (ts_ms, account),
    )
