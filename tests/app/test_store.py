"""The durable store: round trips of every table, de-duplication, risk state across reopen and across
connections and processes, the resume hand-over, schema versions and migrations, and kill -9 safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.app import _store_schema
from keeper.app.store import (
    ConfigChange,
    PositionRecord,
    RiskRecord,
    Store,
    StoreError,
    config_digest,
)
from keeper.core.types import Side
from keeper.core.venue import (
    Canceled,
    Executed,
    FundingPaid,
    OrderCanceled,
    OrderFilled,
    OrderRequest,
    OrderState,
    PositionReport,
    Rejected,
    Resting,
    TimeInForce,
    Unknown,
)

D = Decimal
ACCT = "hyperliquid:0x00000000000000000000000000000000000000aa"
OTHER = "local_hl"
KEY = "0x" + "ab" * 32  # the shape of a private key: must never land in the store


def request(cid: str, price: str = "2000.10", size: str = "0.5", **kw: object) -> OrderRequest:
    return OrderRequest(client_id=cid, market="ETH", side=Side.BUY, price=D(price), size=D(size), **kw)  # type: ignore[arg-type]


def fill(trade_id: str, cid: str | None = "o1", ts_ms: int = 10) -> OrderFilled:
    return OrderFilled(
        client_id=cid,
        venue_order_id="v1",
        trade_id=trade_id,
        market="ETH",
        side=Side.SELL,
        price=D("2001.50"),
        size=D("0.0100"),
        fee=D("-0.000150"),
        maker=True,
        ts_ms=ts_ms,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "keeper.sqlite") as s:
        yield s


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# -- opening --------------------------------------------------------------------------------------


def test_open_creates_dirs_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "keeper.sqlite"
    with Store.open(path) as store:
        assert store.schema_version() == _store_schema.SCHEMA_VERSION == 1
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        raw.close()


def test_a_writer_waits_for_another_connections_lock(tmp_path: Path) -> None:
    path = tmp_path / "keeper.sqlite"
    Store.open(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        with Store.open(path, busy_timeout_ms=50) as impatient, pytest.raises(StoreError, match="locked"):
            impatient.latch_halt(ACCT, "drawdown_halt", 1)
        timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        timer.start()
        with Store.open(path, busy_timeout_ms=5_000) as patient:
            patient.latch_halt(ACCT, "drawdown_halt", 1)  # waits for the commit instead of failing
            assert patient.load_risk(ACCT) is not None
        timer.join()
    finally:
        other.close()


def test_a_newer_schema_or_a_foreign_file_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite"
    Store.open(newer).close()
    raw = sqlite3.connect(newer)
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="schema 99 is newer"):
        Store.open(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(StoreError, match=r"junk\.sqlite"):
        Store.open(junk)


def test_migrations_run_the_missing_steps_and_keep_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keeper.sqlite"
    with Store.open(path) as v1:
        v1.record_order(request("o1"), ACCT, ts_ms=1)
    step2 = ("ALTER TABLE orders ADD COLUMN note TEXT",)
    monkeypatch.setattr(_store_schema, "MIGRATIONS", {**_store_schema.MIGRATIONS, 2: step2})
    with Store.open(path) as v2:
        assert v2.schema_version() == 2
        assert [o.client_id for o in v2.orders(ACCT)] == ["o1"]
    with Store.open(path) as again:  # idempotent: nothing left to run
        assert again.schema_version() == 2


def test_a_closed_store_refuses_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "keeper.sqlite")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load_risk(ACCT)


# -- orders and outcomes --------------------------------------------------------------------------


def test_orders_round_trip_exactly_and_upsert_by_client_id(store: Store) -> None:
    req = request("o1", tif=TimeInForce.GTC, reduce_only=True)
    store.record_order(req, ACCT, ts_ms=100)
    [got] = store.orders(ACCT)
    assert got.request == req
    assert str(got.price) == "2000.10"  # exact, trailing zero kept
    assert (got.state, got.sent_ms, got.updated_ms, got.venue_order_id, got.external) == (
        OrderState.SUBMITTED,
        100,
        100,
        None,
        False,
    )
    store.record_order(req, ACCT, ts_ms=150, state=OrderState.ACCEPTED, venue_order_id="v1")
    store.record_order(req, ACCT, ts_ms=200, state=OrderState.PARTIALLY_FILLED)  # venue id not erased
    [got] = store.orders(ACCT)
    assert (got.state, got.sent_ms, got.updated_ms, got.venue_order_id) == (
        OrderState.PARTIALLY_FILLED,
        100,
        200,
        "v1",
    )
    assert store.update_order(ACCT, "o1", OrderState.CANCELED, 300, reason="by us")
    assert not store.update_order(ACCT, "nope", OrderState.CANCELED, 300)
    [got] = store.orders(ACCT)
    assert (got.state, got.reason, got.updated_ms) == (OrderState.CANCELED, "by us", 300)
    assert store.orders(OTHER) == []


def test_open_orders_are_those_possibly_live(store: Store) -> None:
    states = list(OrderState)
    for i, state in enumerate(states):
        store.record_order(
            request(f"o{i}"), ACCT, ts_ms=i, state=state, external=state is OrderState.ACCEPTED
        )
    live = {o.state for o in store.open_orders(ACCT)}
    assert live == {
        OrderState.SUBMITTED,
        OrderState.ACCEPTED,
        OrderState.PARTIALLY_FILLED,
        OrderState.PENDING_CANCEL,
        OrderState.UNKNOWN,
    }
    assert [o.external for o in store.open_orders(ACCT) if o.state is OrderState.ACCEPTED] == [True]
    assert [o.state for o in store.orders(ACCT, [OrderState.FILLED])] == [OrderState.FILLED]
    assert len(store.orders(ACCT)) == len(states)


def test_outcomes_are_appended_in_order_and_can_set_the_state(store: Store) -> None:
    store.record_order(request("o1"), ACCT, ts_ms=1)
    store.record_outcome(Unknown(reason="timeout"), ACCT, "o1", 2, state=OrderState.UNKNOWN)
    store.record_outcome(Resting(venue_order_id="v9"), ACCT, "o1", 3)  # no state: only the venue id
    [o] = store.orders(ACCT)
    assert (o.state, o.reason, o.venue_order_id) == (OrderState.UNKNOWN, "timeout", "v9")
    store.record_outcome(Rejected(reason="post only would cross"), ACCT, "o1", 4, request="cancel")
    store.record_outcome(Canceled(), ACCT, "o1", 5, request="cancel", state=OrderState.CANCELED)
    store.record_outcome(
        OrderCanceled(client_id="o1", venue_order_id="v9", market="ETH", ts_ms=6),
        ACCT,
        "o1",
        6,
        request="event",
    )
    store.record_outcome(
        Executed(venue_order_id="v2", filled_size=D(1), avg_price=D(2)), ACCT, "o2", 7
    )  # an order never recorded: the outcome is kept anyway
    rows = store.outcomes(ACCT, "o1")
    assert [(r.request, r.kind, r.reason, r.ts_ms) for r in rows] == [
        ("submit", "unknown", "timeout", 2),
        ("submit", "resting", "", 3),
        ("cancel", "rejected", "post only would cross", 4),
        ("cancel", "canceled", "", 5),
        ("event", "order_canceled", "canceled", 6),
    ]
    assert [r.client_id for r in store.outcomes(ACCT)] == ["o1"] * 5 + ["o2"]
    assert store.orders(ACCT)[0].state is OrderState.CANCELED


# -- fills, funding, positions --------------------------------------------------------------------


def test_a_replayed_fill_is_stored_once(store: Store) -> None:
    first = fill("t1")
    assert store.record_fill(first, ACCT) is True
    assert store.record_fill(first, ACCT) is False
    assert store.record_fill(fill("t1", cid=None, ts_ms=99), ACCT) is False  # same trade id, any content
    assert store.record_fill(first, OTHER) is True  # the other side of a self-trade shares the id
    assert store.record_fill(fill("t2", ts_ms=20), ACCT) is True
    assert store.fills(ACCT) == [first, fill("t2", ts_ms=20)]
    assert [f.trade_id for f in store.fills(ACCT, since_ms=15)] == ["t2"]
    assert str(store.fills(ACCT)[0].fee) == "-0.000150"


def test_funding_is_unique_per_market_and_time(store: Store) -> None:
    paid = FundingPaid(
        market="ETH", amount=D("-1.2500"), rate=D("0.0000125"), position=D("2.5"), ts_ms=3_600_000
    )
    assert store.record_funding(paid, ACCT) is True
    assert store.record_funding(paid, ACCT) is False
    later = FundingPaid(market="ETH", amount=D("0.5"), rate=D("-0.00001"), position=D("2.5"), ts_ms=7_200_000)
    btc = FundingPaid(market="BTC", amount=D("0.1"), rate=D("0.00001"), position=D("-0.01"), ts_ms=3_600_000)
    assert store.record_funding(later, ACCT) is True
    assert store.record_funding(btc, ACCT) is True
    assert store.funding(ACCT) == [btc, paid, later]


def test_position_snapshots_round_trip(store: Store) -> None:
    venue = PositionReport(market="ETH", size=D("-1.5"), entry_price=D("2000.5"), liquidation_price=D("2600"))
    ledger = PositionReport(market="ETH", size=D("-1.4"))
    store.record_position(venue, ACCT, ts_ms=1, source="venue")
    store.record_position(ledger, ACCT, ts_ms=2, source="ledger")
    store.record_position(PositionReport(market="BTC", size=D("0.01")), ACCT, ts_ms=3, source="venue")
    assert store.positions(ACCT, "ETH") == [
        PositionRecord(
            ts_ms=1,
            market="ETH",
            size=D("-1.5"),
            entry_price=D("2000.5"),
            liquidation_price=D(2600),
            source="venue",
        ),
        PositionRecord(
            ts_ms=2, market="ETH", size=D("-1.4"), entry_price=None, liquidation_price=None, source="ledger"
        ),
    ]
    assert [p.market for p in store.positions(ACCT)] == ["ETH", "ETH", "BTC"]
    with pytest.raises(ValueError, match="source"):
        store.record_position(ledger, ACCT, ts_ms=4, source="guess")  # type: ignore[arg-type]


# -- risk state -----------------------------------------------------------------------------------


def test_risk_state_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "keeper.sqlite"
    with Store.open(path) as store:
        assert store.load_risk(ACCT) is None
        store.save_risk(ACCT, RiskRecord(high_water_mark=D("100000.25"), updated_ms=5))
        store.latch_halt(ACCT, "drawdown_halt", 7)
    with Store.open(path) as store:
        assert store.load_risk(ACCT) == RiskRecord(
            high_water_mark=D("100000.25"),
            halted=True,
            halt_reason="drawdown_halt",
            halted_at_ms=7,
            updated_ms=7,
        )
        assert store.load_risk(OTHER) is None


def test_a_latch_keeps_its_first_cause_and_a_save_replaces_the_row(store: Store) -> None:
    store.latch_halt(ACCT, "drawdown_halt", 7)
    store.latch_halt(ACCT, "kill_switch", 9)
    risk = store.load_risk(ACCT)
    assert risk is not None
    assert (risk.halt_reason, risk.halted_at_ms, risk.updated_ms, risk.high_water_mark) == (
        "drawdown_halt",
        7,
        9,
        None,
    )
    store.save_risk(
        ACCT, RiskRecord(high_water_mark=D(5), halted=False, halt_reason="ignored", updated_ms=10)
    )
    assert store.load_risk(ACCT) == RiskRecord(high_water_mark=D(5), updated_ms=10)


def test_a_halt_latched_in_one_connection_is_seen_by_another(tmp_path: Path) -> None:
    path = tmp_path / "keeper.sqlite"
    with Store.open(path) as keeper, Store.open(path) as other:
        keeper.save_risk(ACCT, RiskRecord(high_water_mark=D(100), updated_ms=1))
        assert other.load_risk(ACCT) == RiskRecord(high_water_mark=D(100), updated_ms=1)
        keeper.latch_halt(ACCT, "drawdown_halt", 2)
        seen = other.load_risk(ACCT)
        assert seen is not None
        assert seen.halted
        assert seen.halt_reason == "drawdown_halt"


def test_resume_clears_the_latch_and_the_peak_and_is_taken_once(store: Store) -> None:
    assert store.request_resume(ACCT, "op@host/1", "nothing latched", 1) is None
    assert store.operator_actions(ACCT) == []  # nothing latched: nothing recorded
    store.save_risk(ACCT, RiskRecord(high_water_mark=D(100), updated_ms=1))
    store.latch_halt(ACCT, "drawdown_halt", 2)
    before = store.request_resume(ACCT, f"op@host/{KEY}", f"checked; pasted {KEY} by mistake", 3)
    assert before is not None
    assert (before.halted, before.high_water_mark) == (True, D(100))
    assert store.load_risk(ACCT) == RiskRecord(high_water_mark=None, updated_ms=3)
    # The keeper saved its stale in-memory state over the cleared row before it polled:
    store.save_risk(
        ACCT, RiskRecord(high_water_mark=D(100), halted=True, halt_reason="drawdown_halt", updated_ms=4)
    )
    taken = store.take_resume(ACCT, ts_ms=5)
    assert taken is not None
    assert (taken.cleared_reason, taken.ts_ms, taken.taken_ms) == ("drawdown_halt", 3, 5)
    assert KEY[2:] not in taken.reason
    assert KEY[2:] not in taken.who
    assert store.load_risk(ACCT) == RiskRecord(high_water_mark=None, updated_ms=5)  # cleared again
    assert store.take_resume(ACCT, ts_ms=6) is None
    assert store.take_resume(OTHER) is None
    assert [a.taken_ms for a in store.operator_actions(ACCT)] == [5]


def test_a_resume_written_by_another_process_is_taken_once(tmp_path: Path) -> None:
    path = tmp_path / "keeper.sqlite"
    with Store.open(path) as keeper:
        keeper.latch_halt(ACCT, "drawdown_halt", 1)
        result = run_python(
            """
            import os, sys
            from keeper.app.store import Store
            with Store.open(sys.argv[1]) as s:
                cleared = s.request_resume(sys.argv[2], f"op@host/{os.getpid()}", "flat and checked", 2)
            print(os.getpid(), cleared.halt_reason)
            """,
            str(path),
            ACCT,
        )
        assert result.returncode == 0, result.stderr
        pid, cleared = result.stdout.split()
        assert cleared == "drawdown_halt"
        taken = keeper.take_resume(ACCT, ts_ms=3)
        assert taken is not None
        assert (taken.who, taken.reason) == (f"op@host/{pid}", "flat and checked")
        assert keeper.take_resume(ACCT, ts_ms=4) is None


# -- config changes -------------------------------------------------------------------------------


def test_config_changes_keep_sections_and_digest_only(store: Store) -> None:
    digest = config_digest(b"[risk]\nkill = true\n")
    store.record_config_change(1, ["risk", "keys.active"], digest, file="/etc/keeper/prod.toml")
    store.record_config_change(2, [], digest)
    assert store.config_changes() == [
        ConfigChange(ts_ms=1, file="/etc/keeper/prod.toml", sections=("risk", "keys.active"), digest=digest),
        ConfigChange(ts_ms=2, file=None, sections=(), digest=digest),
    ]
    with pytest.raises(ValueError, match="digest"):
        store.record_config_change(3, ["risk"], "kill = true")
    with pytest.raises(ValueError, match="section names only"):
        store.record_config_change(3, ["risk.kill = true"], digest)


# -- crash safety ---------------------------------------------------------------------------------

_WRITER = """
import sys
from decimal import Decimal
from keeper.app.store import RiskRecord, Store
from keeper.core.types import Side
from keeper.core.venue import OrderFilled, OrderRequest, OrderState, Resting

account = "acct"
store = Store.open(sys.argv[1])
i = len(store.orders(account))
while True:
    cid = f"o{i}"
    req = OrderRequest(
        client_id=cid, market="ETH", side=Side.BUY, price=Decimal("2000.5"), size=Decimal("0.1")
    )
    store.record_order(req, account, ts_ms=i)
    store.record_outcome(Resting(venue_order_id=f"v{i}"), account, cid, i, state=OrderState.ACCEPTED)
    store.record_fill(
        OrderFilled(client_id=cid, venue_order_id=f"v{i}", trade_id=f"t{i}", market="ETH", side=Side.BUY,
                    price=Decimal("2000.5"), size=Decimal("0.1"), fee=Decimal("0.01"), maker=True, ts_ms=i),
        account,
    )
    store.update_order(account, cid, OrderState.FILLED, i)
    store.save_risk(account, RiskRecord(high_water_mark=Decimal(i), updated_ms=i))
    i += 1
"""


def check_consistent(path: Path, cut: set[int]) -> int:
    """The invariants a kill may not break; returns the number of orders. ``cut``: iterations an
    earlier kill may have left unfinished (the writer starts a new order after a restart)."""
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        raw.close()
    with Store.open(path) as store:
        orders = store.orders("acct")
        n = len(orders)
        assert [o.client_id for o in orders] == [f"o{i}" for i in range(n)]  # no gap, no torn row
        fills = {f.trade_id for f in store.fills("acct")}
        assert fills <= {f"t{i}" for i in range(n)}  # no fill without its order
        with_outcome = {r.client_id for r in store.outcomes("acct")}
        for i, order in enumerate(orders):
            if i not in cut and i != n - 1:  # only a cut iteration may be unfinished
                assert order.state is OrderState.FILLED
            if order.state is OrderState.FILLED:
                assert f"t{i}" in fills
            # An outcome row and the state it set are one transaction: both or neither.
            assert (order.client_id in with_outcome) == (order.state is not OrderState.SUBMITTED)
            if order.client_id in with_outcome:
                assert order.venue_order_id == f"v{i}"
        risk = store.load_risk("acct")
        assert risk is not None
        assert risk.high_water_mark in (D(n - 2), D(n - 1))
        return n


@pytest.mark.slow
def test_kill_9_of_a_writer_leaves_a_consistent_store(tmp_path: Path) -> None:
    path = tmp_path / "keeper.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    seen = 0
    cut: set[int] = set()
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            with Store.open(path) as reader:  # reads beside the writer (WAL)
                while len(reader.orders("acct")) < seen + 20 + 7 * round_:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    assert time.monotonic() < deadline, "the writer made no progress"
                    time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        n = check_consistent(path, cut)
        assert n > seen
        seen = n
        cut.add(n - 1)
