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

from keeper.core.fees import TxUrgency
from keeper.core.order_diff import Cancel, LiveOrder, Place, Replace, WireAction
from keeper.core.quote import GasInput, QuoterName
from keeper.core.strategy import MakerDecision, MarketMaker, MarketView, TakeOrder
from keeper.core.types import Side
from keeper.sim._book import Fill, OurBook, SimOrder
from keeper.sim._chain import ChainModel
from keeper.sim._makers import maker_params, risk_limits, settlement_model
from keeper.sim._paths import draw_paths, seeded_generators
from keeper.sim._results import Recorder, SimResult
from keeper.sim._scenario import Scenario

Batch = tuple[tuple[WireAction, ...], tuple[TakeOrder, ...]]


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
        self.book = OurBook()
        self.chain = ChainModel(scenario.chain, self.paths.blocks) if self.paths.blocks else None
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
                        self._taker(t_side[ti], m, t_depth[ti], t_size[ti])
                        ti += 1
                    bi += 1
                    next_block = blocks.step[bi] if bi < len(blocks.step) else n + 1
            else:
                while self._api_queue and self._api_queue[0][0] <= i:
                    self._apply(self._api_queue.popleft()[1], m, now)
                if self.book.orders and self.book.crossed_by(m, self._arb):
                    self._fills(self.book.arbitrage(m, self._arb))
                while ti < nt and t_step[ti] <= i:
                    self._taker(t_side[ti], m, t_depth[ti], t_size[ti])
                    ti += 1
            self._oracle_step(i, m, now)
            if i and i % funding_every == 0:
                self._funding(now)
            if i % margin_every == 0:
                self._margin(m)
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
                self._fills(self.book.arbitrage(m, self._arb))
            cost = self.chain.quote_cost(wei)
            self.cash -= cost
            self.rec.gas(cost, now - tx.sent_s)
            self._tau_ewma += 0.1 * ((now - tx.sent_s) - self._tau_ewma)
            self._apply(tx.payload, m, now)
        if ahead == len(included) and self.book.orders:
            self._fills(self.book.arbitrage(m, self._arb))
        self.chain.observe(b)
        self.chain.escalate(now)

    def _taker(self, side: int, m: float, depth: float, size: float) -> None:
        if self.book.orders:
            self._fills(self.book.sweep(side, m, depth, size))

    def _fills(self, fills: list[Fill]) -> None:
        fee_rate = self.s.venue.maker_fee_bps / 10_000.0
        for f in fills:
            self._trade(f.side, f.size, f.price, fee_rate, f.liquidity)
            self.maker.on_fill(f.order_id, Decimal(repr(f.size)))
            if f.order_id not in self.book.orders:
                self.maker.on_done(f.order_id)

    def _trade(self, side: int, size: float, price: float, fee_rate: float, liquidity: str) -> None:
        self.position += side * size
        self.cash -= side * size * price
        fee = size * price * fee_rate
        self.cash -= fee
        self.rec.fill(size, price, fee, liquidity)
        self.rec.position_now(self.position)

    def _apply(self, batch: Batch, m: float, now: float) -> None:
        actions, takes = batch
        for action in actions:
            if isinstance(action, Cancel):
                if self.book.remove(action.order_id) is not None:
                    self.maker.on_done(action.order_id)
            elif isinstance(action, Replace):
                assert action.new_order_id is not None
                old = self.book.remove(action.order_id)
                if old is None:  # filled meanwhile: the venue refuses to replace it
                    self.maker.on_done(action.new_order_id)
                    continue
                self.maker.on_done(action.order_id)
                self._rest(action.new_order_id, action.side, action.price, action.size, m)
            else:
                assert action.order_id is not None
                self._rest(action.order_id, action.side, action.price, action.size, m)
        for take in takes:
            self._take(take, m)

    def _rest(self, order_id: str, side: Side, price: Decimal, size: Decimal, m: float) -> None:
        sign = side.sign
        p = float(price)
        # Post-only: an order that would cross the rest of the book is refused.
        if (sign > 0 and p >= m * (1.0 + self._h)) or (sign < 0 and p <= m * (1.0 - self._h)):
            self.maker.on_done(order_id)
            self.rec.count("post_only_rejects")
            return
        inside = p > m * (1.0 - self._h) if sign > 0 else p < m * (1.0 + self._h)
        queue = (
            0.0
            if inside or self.s.venue.queue_ahead_mean <= 0
            else float(self.rng.exponential(self.s.venue.queue_ahead_mean))
        )
        self.book.add(SimOrder(order_id, sign, price, float(size), queue))

    def _take(self, take: TakeOrder, m: float) -> None:
        sign = take.side.sign
        size = float(take.size)
        slip = self._h + self.s.market.impact_bps_per_unit * size / 10_000.0
        price = m * (1.0 + sign * slip)
        if (sign > 0 and price > float(take.limit_price)) or (sign < 0 and price < float(take.limit_price)):
            self.rec.count("ioc_unfilled")
        else:
            self._trade(sign, size, price, self.s.venue.taker_fee_bps / 10_000.0, "taker")
            self.rec.count("hedges" if take.reason == "hedge" else "funding_unwinds")
        self.maker.on_done(take.order_id)

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
        # Liquidated: closed at the oracle with a penalty, every order cancelled.
        self.cash += self.position * self.oracle - notional * a.liquidation_penalty_pct / 100.0
        self.position = 0.0
        for order in list(self.book):
            self.book.remove(order.order_id)
            self.maker.on_done(order.order_id)
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
        live = [
            LiveOrder(
                order_id=o.order_id,
                side=Side.BUY if o.side > 0 else Side.SELL,
                price=o.price_dec,
                size=Decimal(repr(o.remaining)),
            )
            for o in self.book
        ]
        equity = self.cash + self.position * seen_mid
        decision = self.maker.decide(view, live, self.position, equity)
        self.rec.decision(decision.state.value, decision.denied)
        if not decision.empty:
            self._send(decision, now)

    def _send(self, decision: MakerDecision, now: float) -> None:
        batches = list(decision.batches)
        takes = decision.takes
        if self.chain is None:
            lat = self.s.venue.latency_ms / 1000.0
            jitter = self.s.venue.latency_jitter_ms / 1000.0
            delay = lat + (float(self.rng.exponential(jitter)) if jitter > 0 else 0.0)
            due = math.ceil((now + delay) / self.dt)
            flat = tuple(a for b in batches for a in b)
            self._api_queue.append((due, (flat, takes)))
            self.rec.count("api_requests", len(batches) + len(takes))
            return
        c = self.s.chain
        gas_of = {Cancel: c.cancel_gas, Replace: c.replace_gas, Place: c.place_gas}
        payloads: list[Batch] = [(b, ()) for b in batches]
        payloads += [((), (t,)) for t in takes]
        for actions, tks in payloads:
            gas = c.tx_gas + sum(gas_of[type(a)] for a in actions) + c.take_gas * len(tks)
            cancel_only = bool(actions) and all(isinstance(a, Cancel) for a in actions)
            urgency = TxUrgency.CANCEL if cancel_only or decision.urgent else TxUrgency.NORMAL
            self.chain.send((actions, tks), gas, urgency, now)
            self.rec.count("txs")

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
