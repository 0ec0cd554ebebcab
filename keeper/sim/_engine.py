"""The simulation loop: one market, one strategy, fixed steps over pre-drawn paths.

Per step, in this order: our actions that reached the venue take effect (API: after their latency; chain:
when a block includes their transaction), arbitrageurs take quotes left through the mid, taker orders
sweep the book, the oracle publishes, funding is paid at a snapshot, margin is checked, the maker decides
(every `decision_interval_s`, once its previous actions have landed), and the series are sampled.

On the contract venue nothing changes between blocks: arbitrage, our transactions and the takers that
arrived since the last block are all applied at the block's step, arbitrageurs first (they win the
priority auction), then ours, then the rest.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal
from typing import TypeVar

from keeper.core.fees import TxUrgency
from keeper.core.quote import GasInput, QuoterName
from keeper.core.strategy import MarketMaker, MarketView, TakeOrder
from keeper.core.trading import Plan, Send, TradingCore
from keeper.core.types import Side
from keeper.core.venue import (
    Canceled,
    CancelOutcome,
    Executed,
    OrderCanceled,
    OrderFilled,
    OrderRequest,
    Rejected,
    Resting,
    SubmitOutcome,
    Unknown,
)
from keeper.sim._book import Fill, OurBook, SimOrder
from keeper.sim._chain import ChainModel
from keeper.sim._makers import maker_params, risk_limits, settlement_model
from keeper.sim._paths import draw_paths, seeded_generators
from keeper.sim._results import Recorder, SimResult
from keeper.sim._scenario import Scenario
from keeper.sim._venue import CANNOT_MODIFY, IOC_NO_MATCH, NOT_RESTING, POST_ONLY_CROSS, SimVenueState

Batch = tuple[Send, ...]  # what one API request batch or one transaction carries
_O = TypeVar("_O", SubmitOutcome, CancelOutcome)
RECONCILE_EVERY_S = 10.0  # as the live loop's default; sooner after a refused replace or a liquidation
SETTLE_AFTER_S = 2.0
RECONCILE_GRACE_MS = 2_000  # as live: a request younger than this may not be listed yet


class Simulation:
    """Run with `run()`; every random draw comes from the scenario seed (or the `seed` override)."""

    def __init__(self, scenario: Scenario, strategy: QuoterName, seed: int | None = None) -> None:
        self.s = scenario
        self.strategy = strategy
        self.seed = scenario.seed if seed is None else seed
        market_rng, self.rng = seeded_generators(self.seed)
        self.paths = draw_paths(scenario, market_rng)
        self.settlement = settlement_model(scenario)
        self.maker = MarketMaker(maker_params(scenario, strategy), self.settlement, risk_limits(scenario))
        # The trading core the live process runs: decisions and every outcome go through its ledger.
        self.core = TradingCore(self.maker, self.maker.params.market)
        self.venue = SimVenueState(
            self.maker.params.market,
            Decimal(scenario.market.lot),
            Decimal(repr(scenario.account.start_position)),
        )
        self._reconcile_due = 0.0
        self.book = OurBook()
        self.chain = ChainModel(scenario.chain, self.paths.blocks) if self.paths.blocks else None
        self._unknown_rate = scenario.venue.unknown_outcome_rate if self.chain is None else 0.0
        self.dt = scenario.dt_s
        a = scenario.account
        self.position = a.start_position
        self.cash = a.collateral - a.start_position * scenario.market.start_price
        self.rec = Recorder(scenario, strategy, self.seed)
        self.oracle = scenario.market.start_price
        self.oracle_s = 0.0
        self._oracle_due: tuple[int, float] | None = None
        self._api_queue: deque[tuple[int, Batch]] = deque()
        self._tau_ewma = self.settlement.tau_s
        self._h = scenario.market.book_half_spread_bps / 10_000.0
        self._arb = scenario.takers.informed_threshold_bps / 10_000.0

    # The loop

    def run(self) -> SimResult:
        s, paths, rec = self.s, self.paths, self.rec
        mid = paths.mid.tolist()
        n = s.steps
        takers = paths.takers
        t_step, t_side, t_depth, t_size = takers.step, takers.side, takers.depth_rel, takers.size
        ti, nt = 0, len(t_step)
        blocks = paths.blocks
        bi = 0
        next_block = blocks.step[0] if blocks is not None else n + 1
        decide_every = max(1, round(s.strategy.requote_interval_s / self.dt))
        record_every = max(1, round(s.record_every_s / self.dt))
        margin_every = max(1, round(1.0 / self.dt))
        data_lag = round(s.venue.data_latency_ms / 1000.0 / self.dt)
        funding_every = round(s.funding.interval_s / self.dt)
        observe_every = max(1, round(0.5 / self.dt))
        for i in range(n + 1):
            m = mid[i]
            now = i * self.dt
            if blocks is not None:
                if i == next_block:
                    self._block(bi, m, now)
                    # Takers that arrived since the last block trade now, against the updated book.
                    while ti < nt and t_step[ti] <= i:
                        self._taker(t_side[ti], m, t_depth[ti], t_size[ti], now)
                        ti += 1
                    bi += 1
                    next_block = blocks.step[bi] if bi < len(blocks.step) else n + 1
            else:
                while self._api_queue and self._api_queue[0][0] <= i:
                    self._apply(self._api_queue.popleft()[1], m, now)
                if self.book.orders and self.book.crossed_by(m, self._arb):
                    self._fills(self.book.arbitrage(m, self._arb), now)
                while ti < nt and t_step[ti] <= i:
                    self._taker(t_side[ti], m, t_depth[ti], t_size[ti], now)
                    ti += 1
            self._oracle_step(i, m, now)
            if i and i % funding_every == 0:
                self._funding(now)
            if i % margin_every == 0:
                self._margin(m)
            if now >= self._reconcile_due:
                self._reconcile(m, now)
            seen = mid[max(0, i - data_lag)]
            if i % observe_every == 0:
                self.maker.observe_mid(seen, now)
            due = i % decide_every == 0 or self.maker.wants_to_react(seen)
            if due and not self._in_flight():
                self._decide(seen, now, max(0, i - data_lag) * self.dt)
            if i % record_every == 0:
                rec.sample(
                    t=now,
                    mid=m,
                    position=self.position,
                    equity=self.cash + self.position * m,
                    half_spread_bps=self._quoted_half_bps(m),
                    base_fee_gwei=self._gas_gwei(),
                    funding_rate=self._funding_rate(now),
                )
        return rec.result(self.cash + self.position * mid[n], self.position)

    # Venue events

    def _block(self, b: int, m: float, now: float) -> None:
        assert self.chain is not None
        included = self.chain.include(b)
        # Arbitrageurs bid the network's typical tip; our transactions that outbid them land first.
        arb_tip = self.chain.arbitrage_tip(b)
        ahead = 0
        while ahead < len(included) and included[ahead][0].fees.max_priority_fee_per_gas > arb_tip:
            ahead += 1
        for k, (tx, wei) in enumerate(included):
            if k == ahead and self.book.orders:
                self._fills(self.book.arbitrage(m, self._arb), now)
            cost = self.chain.quote_cost(wei)
            self.cash -= cost
            self.rec.gas(cost, now - tx.sent_s)
            self._tau_ewma += 0.1 * ((now - tx.sent_s) - self._tau_ewma)
            self._apply(tx.payload, m, now)
        if ahead == len(included) and self.book.orders:
            self._fills(self.book.arbitrage(m, self._arb), now)
        self.chain.observe(b)
        self.chain.escalate(now)

    def _taker(self, side: int, m: float, depth: float, size: float, now: float) -> None:
        if self.book.orders:
            self._fills(self.book.sweep(side, m, depth, size), now)

    def _fills(self, fills: list[Fill], now: float) -> None:
        """Book fills as the venue reports them: exact sizes, trade ids, into the core."""
        fee_rate = self.s.venue.maker_fee_bps / 10_000.0
        ts = int(now * 1000)
        for f in fills:
            event = self.venue.fill_event(f, self.book, fee_rate, ts)
            if event is None:
                continue
            self._trade(f.side, float(event.size), f.price, fee_rate, f.liquidity)
            self.core.on_event(event, ts)

    def _trade(self, side: int, size: float, price: float, fee_rate: float, liquidity: str) -> None:
        self.position += side * size
        self.cash -= side * size * price
        fee = size * price * fee_rate
        self.cash -= fee
        self.rec.fill(size, price, fee, liquidity)
        self.rec.position_now(self.position)

    def _apply(self, batch: Batch, m: float, now: float) -> None:
        """Our sends reach the venue: each is answered in the venue interface's types (or, for a share
        `unknown_outcome_rate` of API requests, the reply is lost: the venue acted, we do not know)."""
        ts = int(now * 1000)
        for send in batch:
            lost = self._unknown_rate > 0 and float(self.rng.random()) < self._unknown_rate
            if send.cancels:
                cancelled = [self._cancel(r.client_id) for r in send.cancels]
                self.core.on_cancelled(send.cancels, self._heard(cancelled, lost, now), ts)
            elif send.replaces:
                replaced = [self._replace(r.client_id, r.new, m) for r in send.replaces]
                refused = sum(isinstance(o, Rejected) and o.reason == CANNOT_MODIFY for o in replaced)
                self.rec.count("refused_replaces", refused)
                self.core.on_replaced(send.replaces, self._heard(replaced, lost, now), ts)
                if any(isinstance(o, Rejected) for o in replaced):
                    self._reconcile_due = min(self._reconcile_due, now + SETTLE_AFTER_S)
            elif send.takes:
                events: list[OrderFilled] = []
                pairs = zip(send.orders, send.takes, strict=True)
                taken = [self._take(r, t, m, ts, events) for r, t in pairs]
                self.core.on_submitted(send.orders, self._heard(taken, lost, now), ts)
                for event in events:
                    self.core.on_event(event, ts)
            else:
                placed = [self._place(r, m) for r in send.orders]
                self.core.on_submitted(send.orders, self._heard(placed, lost, now), ts)

    def _heard(self, outcomes: list[_O], lost: bool, now: float) -> list[_O | Unknown]:
        """What reaches us: the outcomes, or for a lost reply Unknown for each (reconcile soon)."""
        if not lost:
            return list(outcomes)
        self.rec.count("unknown_outcomes", len(outcomes))
        self._reconcile_due = min(self._reconcile_due, now + SETTLE_AFTER_S)
        return [Unknown(reason="reply lost")] * len(outcomes)

    def _cancel(self, client_id: str) -> CancelOutcome:
        if self.book.remove(client_id) is None:
            return Rejected(reason=NOT_RESTING)
        self.venue.gone(client_id)
        return Canceled()

    def _replace(self, client_id: str, new: OrderRequest, m: float) -> SubmitOutcome:
        if client_id not in self.book.orders:  # filled meanwhile: the venue refuses to modify it
            return Rejected(reason=CANNOT_MODIFY)
        if self._crosses(new, m):  # refused, and the old order rests on as it was
            self.rec.count("post_only_rejects")
            return Rejected(reason=POST_ONLY_CROSS)
        self.book.remove(client_id)
        self.venue.gone(client_id)
        return self._place(new, m)

    def _place(self, request: OrderRequest, m: float) -> SubmitOutcome:
        if self._crosses(request, m):
            self.rec.count("post_only_rejects")
            return Rejected(reason=POST_ONLY_CROSS)
        sign = request.side.sign
        p = float(request.price)
        inside = p > m * (1.0 - self._h) if sign > 0 else p < m * (1.0 + self._h)
        queue = (
            0.0
            if inside or self.s.venue.queue_ahead_mean <= 0
            else float(self.rng.exponential(self.s.venue.queue_ahead_mean))
        )
        self.book.add(SimOrder(request.client_id, sign, request.price, float(request.size), queue))
        self.venue.rested(request)
        return Resting(venue_order_id=request.client_id)

    def _crosses(self, request: OrderRequest, m: float) -> bool:
        """Post-only: an order that would cross the rest of the book is refused."""
        p = float(request.price)
        return p >= m * (1.0 + self._h) if request.side.sign > 0 else p <= m * (1.0 - self._h)

    def _take(
        self, request: OrderRequest, take: TakeOrder, m: float, ts: int, events: list[OrderFilled]
    ) -> SubmitOutcome:
        sign = take.side.sign
        size = float(take.size)
        slip = self._h + self.s.market.impact_bps_per_unit * size / 10_000.0
        price = m * (1.0 + sign * slip)
        limit = float(take.limit_price)
        self.rec.count("hedges" if take.reason == "hedge" else "funding_unwinds")
        if (sign > 0 and price > limit) or (sign < 0 and price < limit):
            self.rec.count("ioc_unfilled")
            return Rejected(reason=IOC_NO_MATCH)
        fee_rate = self.s.venue.taker_fee_bps / 10_000.0
        self._trade(sign, size, price, fee_rate, "taker")
        # At or inside the limit, exactly (a float price rounds either way).
        px = Decimal(repr(round(price, 8)))
        px = min(px, take.limit_price) if sign > 0 else max(px, take.limit_price)
        fill = self.venue.trade(
            request.client_id, take.side, px, take.size, fee_rate=fee_rate, ts_ms=ts, maker=False
        )
        events.append(fill)
        return Executed(venue_order_id=request.client_id, filled_size=take.size, avg_price=px)

    def _oracle_step(self, i: int, m: float, now: float) -> None:
        o = self.s.oracle
        if self._oracle_due is not None:
            due, price = self._oracle_due
            if i >= due:
                self.oracle, self.oracle_s = price, now
                self._oracle_due = None
            return
        if abs(m / self.oracle - 1.0) * 10_000.0 >= o.deviation_bps or now - self.oracle_s >= o.heartbeat_s:
            self._oracle_due = (i + round(o.delay_s / self.dt), m)

    def _funding(self, now: float) -> None:
        rate = self._funding_rate(now - 1e-9)
        payment = self.position * self.oracle * rate
        self.cash -= payment
        self.rec.funding(payment)

    def _margin(self, m: float) -> None:
        a = self.s.account
        if self.position == 0:
            return
        notional = abs(self.position) * self.oracle
        if self.cash + self.position * self.oracle >= notional * a.maintenance_margin_pct / 100.0:
            return
        # Liquidated: every order cancelled, the position closed at the oracle with a penalty. The close
        # is a fill of no order of ours: the ledger holds it until the next snapshot confirms it.
        ts = int(self.oracle_s * 1000)
        for order in list(self.book):
            self.book.remove(order.order_id)
            self.venue.gone(order.order_id)
            cancel = OrderCanceled(
                client_id=order.order_id,
                venue_order_id=order.order_id,
                market=self.venue.market,
                ts_ms=ts,
                reason="liquidation",
            )
            self.core.on_event(cancel, ts)
        self.cash += self.position * self.oracle - notional * a.liquidation_penalty_pct / 100.0
        self.position = 0.0
        held = self.venue.position
        if held:
            close = Side.SELL if held > 0 else Side.BUY
            price = Decimal(repr(round(self.oracle, 8)))
            fill = self.venue.trade(None, close, price, abs(held), fee_rate=0.0, ts_ms=ts, maker=False)
            self.core.on_event(fill, ts)
        self._reconcile_due = 0.0
        self.rec.count("liquidations")

    # The maker

    def _in_flight(self) -> bool:
        if self.chain is not None:
            return bool(self.chain.pending)
        return bool(self._api_queue)

    def _decide(self, seen_mid: float, now: float, data_s: float) -> None:
        view = MarketView(
            now_s=now,
            mid=seen_mid,
            best_bid=seen_mid * (1.0 - self._h),
            best_ask=seen_mid * (1.0 + self._h),
            oracle_price=self.oracle,
            funding_rate=self._funding_rate(now),
            time_to_funding_s=self._time_to_funding(now),
            funding_interval_s=self.s.funding.interval_s,
            gas=self._gas_input(),
            tau_s=self._tau_ewma,
            market_data_s=data_s,
            oracle_s=now,  # the oracle is read on chain at each decision: never stale here
        )
        equity = self.cash + self.position * seen_mid
        plan = self.core.decide(view, equity, int(now * 1000))
        self.rec.decision(plan.decision.state.value, plan.decision.denied)
        if plan.sends:
            self._send(plan, now)

    def _send(self, plan: Plan, now: float) -> None:
        if self.chain is None:
            lat = self.s.venue.latency_ms / 1000.0
            jitter = self.s.venue.latency_jitter_ms / 1000.0
            delay = lat + (float(self.rng.exponential(jitter)) if jitter > 0 else 0.0)
            due = math.ceil((now + delay) / self.dt)
            self._api_queue.append((due, plan.sends))
            self.rec.count("api_requests", len(plan.sends))
            return
        # One transaction per decision batch (its cancels, replaces and places), one per IOC take.
        c = self.s.chain
        by_batch: dict[int, list[Send]] = {}
        txs: list[Batch] = []
        for send in plan.sends:
            if send.batch < 0:
                txs.append((send,))
            else:
                by_batch.setdefault(send.batch, []).append(send)
        txs = [tuple(sends) for sends in by_batch.values()] + txs
        for tx in txs:
            gas = c.tx_gas + sum(
                c.cancel_gas * len(x.cancels)
                + c.replace_gas * len(x.replaces)
                + (c.take_gas if x.takes else c.place_gas) * len(x.orders)
                for x in tx
            )
            cancel_only = all(x.cancels for x in tx)
            urgency = TxUrgency.CANCEL if cancel_only or plan.decision.urgent else TxUrgency.NORMAL
            self.chain.send(tx, gas, urgency, now)
            self.rec.count("txs")

    def _reconcile(self, m: float, now: float) -> None:
        """The venue's full state into the core (as the live loop does every few seconds)."""
        ts = int(now * 1000)
        snapshot = self.venue.snapshot(self.book, self.cash + self.position * m, ts)
        result = self.core.reconcile(snapshot, ts, RECONCILE_GRACE_MS)
        for client_id in result.to_query:
            self.core.resolve(client_id, self.venue.order_status(client_id, ts), ts)
        self.rec.count("reconciliations")
        if result.position_corrections:
            self.rec.count("position_corrections", len(result.position_corrections))
        self.core.ledger.prune(ts - 600_000)
        self._reconcile_due = now + RECONCILE_EVERY_S

    # Readings

    def _funding_rate(self, now: float) -> float:
        f = self.s.funding
        k = min(int(now // f.interval_s), len(self.paths.funding_base) - 1)
        flips = sum(1 for t in self.paths.flip_times_s if t <= now)
        return self.paths.funding_base[k] * (-1.0 if flips % 2 else 1.0)

    def _time_to_funding(self, now: float) -> float:
        interval = self.s.funding.interval_s
        return interval - (now % interval)

    def _gas_input(self) -> GasInput:
        if self.chain is None:
            return GasInput(0.0, 1.0)
        return GasInput.from_state(self.chain.state, self.s.chain.native_price_quote)

    def _gas_gwei(self) -> float:
        return 0.0 if self.chain is None else self.chain.state.next_base_fee / 1e9

    def _quoted_half_bps(self, m: float) -> float:
        bid, ask = self.book.best_bid, self.book.best_ask
        if bid <= 0 or not math.isfinite(ask):
            return math.nan
        return (ask - bid) / 2.0 / m * 10_000.0


def simulate(scenario: Scenario, strategy: QuoterName, seed: int | None = None) -> SimResult:
    return Simulation(scenario, strategy, seed).run()
