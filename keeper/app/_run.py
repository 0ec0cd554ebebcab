"""`keeper run`: bring the chain up (or connect to it), follow it, and shut down cleanly on a signal.

Launches the configured local anvil when asked to, checks the chain id of every endpoint, deploys or
finds the DEX, and runs the chain layer: heads and the gas oracle, the mempool watcher (DEX and oracle
calls decoded), the transaction manager with the active key, and config hot reload (file watch and
SIGHUP: gas policy and key rotation). Venues, quoting and keeper duties hang off this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import msgspec

from keeper.adapters.dex import DexPendingDecoder, PendingOracleUpdate
from keeper.app._deploy import Deployment, deploy, load_deployment
from keeper.app._journal import Journal
from keeper.app._maker_setup import build_maker, reloaded_params
from keeper.app._quoting import QuotingLoop, QuotingSettings
from keeper.app._reload import ConfigReloader, Prepare
from keeper.app._venues import open_hyperliquid
from keeper.app.lease import AccountLease, lock_dir_beside
from keeper.app.store import Store, account_key, config_digest, store_path
from keeper.chain import (
    ChainNotice,
    GasOracle,
    HeadWatcher,
    KeyLoadError,
    MempoolWatcher,
    NoEndpointAvailableError,
    PendingEvent,
    RpcClient,
    Signer,
    TxManager,
    fee_policy,
    load_signer,
)
from keeper.config import ConfigError, HyperliquidVenueConfig, KeeperConfig, resolve_path
from keeper.core.redact import mask_keys, mask_url
from keeper.core.risk import RiskGate, RiskLimits, limits_from_mapping
from keeper.devchain import AnvilNode, AnvilOptions

log = logging.getLogger("keeper.run")


def devnet_options(config: KeeperConfig, base_dir: Path) -> AnvilOptions:
    """The anvil launch options a config's [devnet] section describes."""
    d = config.devnet

    def path(value: str | None) -> str | None:
        return None if value is None else str(resolve_path(base_dir, value))

    return AnvilOptions(
        chain_id=config.chain.chain_id,
        mining=d.mining,
        block_time_s=d.block_time_s,
        base_fee_wei=d.base_fee_wei,
        accounts=d.accounts,
        balance_eth=d.balance_eth,
        fork_url=d.fork_url,
        fork_block=d.fork_block,
        load_state=path(d.load_state),
        dump_state=path(d.dump_state),
    )


async def run_keeper(
    config: KeeperConfig,
    config_path: Path,
    stop: asyncio.Event,
    reload_request: asyncio.Event | None = None,
) -> int:
    """Run until `stop` is set; paths in `config` are relative to `config_path`'s directory.

    Setting `reload_request` (SIGHUP) re-reads the config at once; edits are also noticed by polling.
    Returns the exit code.
    """
    config_dir = config_path.parent
    node: AnvilNode | None = None
    try:
        # The active key first: a wrong password fails in a second, before any chain is touched.
        signer = load_signer(config.keys.active, config.keys.accounts[config.keys.active], config_dir)
        if config.devnet.launch:
            node = AnvilNode(devnet_options(config, config_dir))
            await asyncio.to_thread(node.start)
            log.info("launched anvil pid %d on %s", node.pid, node.http_url)
            http_urls, ws_urls = [node.http_url], [node.ws_url]
        else:
            http_urls, ws_urls = list(config.chain.rpc_http), list(config.chain.rpc_ws)
        async with RpcClient([*http_urls, *ws_urls], config.chain.chain_id) as rpc:
            # connect() has checked every endpoint's chain id; deployment needs a plain HTTP one.
            http_url = rpc.http_url
            if http_url is None:
                raise NoEndpointAvailableError("no HTTP endpoint answered (deployment needs one)")
            log.info(
                "connected to %s: chain id %d (%s)",
                mask_url(http_url),
                config.chain.chain_id,
                config.chain.name,
            )
            deployment = await _contracts(config, config_dir, http_url, signer)
            oracle = GasOracle(
                rpc,
                config.gas_policy.priority_percentile,
                window_blocks=config.gas_policy.fee_history_blocks,
            )
            manager = TxManager(
                rpc, config.chain.chain_id, fee_policy(config.gas_policy), gas_state=lambda: oracle.latest
            )
            manager.set_active_signer(signer)
            mempool = MempoolWatcher(rpc, ws_urls[0] if ws_urls else None)
            mempool.track_own(config_addresses(config, config_dir))
            if deployment is not None:
                DexPendingDecoder(deployment.exchange, deployment.oracle).attach(mempool)
            mempool.subscribe(_log_pending)
            await _serve(
                config,
                config_path,
                stop,
                reload_request,
                rpc=rpc,
                ws_urls=ws_urls,
                manager=manager,
                oracle=oracle,
                mempool=mempool,
            )
        log.info("stopping")
        return 0
    except Exception as exc:
        if stop.is_set():  # a signal during start-up (e.g. mid-deploy): not a failure
            log.info("stopped during start-up (%r)", exc)
            return 0
        raise
    finally:
        if node is not None:
            code = await asyncio.to_thread(node.stop)
            log.info("anvil stopped (exit %s)", code)


async def _serve(
    config: KeeperConfig,
    config_path: Path,
    stop: asyncio.Event,
    reload_request: asyncio.Event | None,
    *,
    rpc: RpcClient,
    ws_urls: list[str],
    manager: TxManager,
    oracle: GasOracle,
    mempool: MempoolWatcher,
) -> None:
    """Open the venue and quoting loop, run every task until `stop`, then shut down in order."""
    async with AsyncExitStack() as venues:
        quoting = await _quoting_loop(config, config_path, venues)
        # The gate every order of the quoting loop passes; `[risk]` (the kill flag above all) applies
        # at run time through the reloader.
        gate = quoting.maker.gate if quoting is not None else RiskGate(risk_limits(config))
        preparer = _reload_preparer(manager, oracle, gate, config_path, quoting)
        reloader = ConfigReloader(config_path, config, preparer)
        block_s = config.chain.block_time_s
        watcher = HeadWatcher(
            rpc,
            ws_urls[0] if ws_urls else None,
            poll_interval_s=max(0.2, block_s / 2),
            stale_after_s=max(3 * block_s, 5.0),
        )
        watcher.add_notice_listener(_chain_notices(mempool, oracle))
        # Block timestamps are whole seconds and lag by up to a block: allow that beside the skew limit.
        skew_limit_s = config.risk.max_clock_skew_ms / 1000 + 2 * block_s
        manager.start()
        quoting_stop = asyncio.Event()
        # Chain work and the reloader are supervised: a failure is logged and the task restarted, so a
        # chain outage degrades chain work and never takes quoting on an API venue down with it.
        tasks = {
            asyncio.create_task(
                _supervised("follow-heads", lambda: _follow_heads(watcher, oracle, skew_limit_s))
            ),
            asyncio.create_task(_supervised("mempool", mempool.run)),
            asyncio.create_task(_supervised("config-reload", reloader.run)),
            asyncio.create_task(_forward(reload_request, reloader.request), name="sighup"),
        }
        if quoting is not None:
            tasks.add(asyncio.create_task(quoting.run(quoting_stop), name="quoting"))
        stopped = asyncio.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({*tasks, stopped}, return_when=asyncio.FIRST_COMPLETED)
        # Quoting first, and by its own stop (not a cancel): it cancels its resting orders on the way.
        quoting_stop.set()
        await _settle(tasks, "quoting", timeout_s=15.0)
        failures = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
        for task in (*tasks, stopped):
            task.cancel()
        # Every task's end is collected, failures included (they are in `failures`): awaiting them one by
        # one would raise the first failure and skip stopping the rest and the tx manager.
        await asyncio.gather(*tasks, stopped, return_exceptions=True)
        await manager.stop()
        if quoting is not None:
            _log_quoting_summary(quoting)
        if failures:
            raise failures[0]  # type: ignore[misc]


async def _quoting_loop(config: KeeperConfig, config_path: Path, stack: AsyncExitStack) -> QuotingLoop | None:
    """The quoting loop on `[strategy] venue`, or None when the config names no venue. Takes the
    account's lease before the venue hears from us, opens the store, restores nothing yet (the loop
    restores the risk state when it starts)."""
    config_dir = config_path.parent
    name = config.strategy.venue
    if name is None:
        log.info("no [strategy] venue: chain duties only, no quoting")
        return None
    venue_config = config.venues[name]
    if not isinstance(venue_config, HyperliquidVenueConfig):  # validation refuses other kinds for now
        raise ConfigError("(run)", "strategy.venue", f"venues.{name} is not an API venue")
    store_file = store_path(config, config_path)
    lock_dir = lock_dir_beside(store_file)

    def claim(key: str) -> None:
        lease = AccountLease.acquire(lock_dir, key, config_path=config_path)
        stack.callback(lease.release)  # released last: after the venue closed and the store
        log.info("account lease taken: %s", key)

    venue, mid = await open_hyperliquid(name, venue_config, config, config_dir, stack, claim=claim)
    store = Store.open(store_file)
    stack.callback(store.close)
    account = account_key(config) or name
    journal = Journal(store, account)
    log.info("store %s (account %s)", store_file, account)
    spec = venue.market(config.strategy.market)
    settlement = venue.settlement_model()
    maker = build_maker(config, spec, mid, settlement, risk_limits(config))
    if settlement.place_gas == settlement.cancel_gas == 0 and not settlement.replace_gas:
        # The API venue settles off-chain: nothing is paid per order, so the quote's gas input is zero
        # (the contract venue feeds the gas oracle's state here instead).
        log.info("%s charges no gas per order: the quote's gas input is zero", name)
    settings = quoting_settings(config)
    log.info(
        "quoting %s on %s: %s strategy, %g x %d level(s), tick %s, lot %s, first mid %s",
        spec.market,
        name,
        config.strategy.kind,
        config.strategy.order_size,
        config.strategy.levels,
        spec.tick,
        spec.lot,
        mid,
    )
    return QuotingLoop(venue, maker, settings, journal=journal)


def quoting_settings(config: KeeperConfig) -> QuotingSettings:
    """The quoting loop's settings from `[strategy]` and the `[risk]` fields the loop itself watches."""
    return QuotingSettings(
        market=config.strategy.market,
        requote_interval_s=config.strategy.requote_interval_s,
        reconcile_interval_s=config.strategy.reconcile_interval_s,
        stale_data_s=config.risk.stale_data_s,
        max_clock_skew_ms=config.risk.max_clock_skew_ms,
    )


async def _supervised(
    name: str, run: Callable[[], Awaitable[None]], *, backoff_s: float = 1.0, max_backoff_s: float = 30.0
) -> None:
    """Run `run()` for ever: when it raises (or returns, which a watcher never should) log one line and
    start it again after a backoff that doubles up to `max_backoff_s` and resets after a good hour."""
    delay = backoff_s
    while True:
        started = time.monotonic()
        try:
            await run()
            log.error("%s ended on its own: restarting in %.0f s", name, delay)
        except Exception as exc:
            log.error("%s failed (%s): restarting in %.0f s", name, mask_keys(repr(exc)), delay)
        if time.monotonic() - started > 3600.0:
            delay = backoff_s
        await asyncio.sleep(delay)
        delay = min(max_backoff_s, delay * 2)


async def _settle(tasks: set[asyncio.Task[None]], name: str, timeout_s: float) -> None:
    """Wait up to `timeout_s` for the task called `name` to finish on its own."""
    for task in tasks:
        if task.get_name() == name and not task.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await asyncio.wait({task})


def _log_quoting_summary(quoting: QuotingLoop) -> None:
    s = quoting.stats
    log.info(
        "quoting summary: %d decisions, %d requests, %d fills (%s), %d rejected, %d unknown (%d unresolved), "
        "%d reconciliations, %d inferred fills, %d position corrections, position %s, fees %s, "
        "settlement delay (action round trip) %.1f ms",
        s.decisions,
        s.sent,
        s.fills,
        s.filled_size,
        s.rejected,
        s.unknown,
        quoting.unresolved(),
        s.reconciliations,
        s.inferred_fills,
        s.position_corrections,
        quoting.ledger.position(quoting.settings.market),
        quoting.ledger.fees_paid,
        quoting.venue.settlement_model().tau_s * 1000,
    )


async def _contracts(
    config: KeeperConfig, config_dir: Path, http_url: str, signer: Signer
) -> Deployment | None:
    if config.contracts.deploy:
        deployment = await asyncio.to_thread(deploy, http_url, signer.account)
        log.info(
            "deployed reference perp DEX: exchange %s, oracle %s, collateral %s, markets %s",
            deployment.exchange,
            deployment.oracle,
            deployment.collateral,
            ", ".join(f"{s}=#{i}" for s, i in deployment.markets.items()),
        )
        return deployment
    if config.contracts.deployments_file is not None:
        return load_deployment(resolve_path(config_dir, config.contracts.deployments_file))
    return None


def config_addresses(config: KeeperConfig, config_dir: Path) -> list[str]:
    """Addresses of every configured key (our own pending txs are flagged in the mempool)."""
    addresses = []
    for name, source in config.keys.accounts.items():
        try:
            addresses.append(load_signer(name, source, config_dir).address)
        except KeyLoadError as exc:
            log.warning("not tracking key %r in the mempool: %s", name, exc)
    return addresses


def risk_limits(config: KeeperConfig) -> RiskLimits:
    return limits_from_mapping(msgspec.structs.asdict(config.risk))


def _reload_preparer(
    manager: TxManager, oracle: GasOracle, gate: RiskGate, config_path: Path, quoting: QuotingLoop | None
) -> Prepare:
    config_dir = config_path.parent

    def prepare(old: KeeperConfig, new: KeeperConfig) -> Callable[[], None]:
        signer: Signer | None = None
        rotated = new.keys.active != old.keys.active or (
            new.keys.accounts.get(new.keys.active) != old.keys.accounts.get(new.keys.active)
        )
        if rotated:
            try:
                signer = load_signer(new.keys.active, new.keys.accounts[new.keys.active], config_dir)
            except KeyLoadError as exc:
                raise ConfigError("(reload)", f"keys.accounts.{new.keys.active}", str(exc)) from None
        policy = fee_policy(new.gas_policy) if new.gas_policy != old.gas_policy else None
        limits = risk_limits(new) if new.risk != old.risk else None
        # [strategy] edits: restart-only fields refuse the edit, the rest rebuild the maker's parameters
        # on the venue's current tick and lot, at the latest mid.
        running = None if quoting is None else quoting.maker.params
        maker = reloaded_params(old, new, running, None if quoting is None else quoting.market.mid)

        def apply() -> None:
            if quoting is not None:
                # stale-data and clock-skew limits, the requote and reconcile intervals
                quoting.settings = quoting_settings(new)
                if maker is not None:
                    quoting.maker.params = maker
                    quoting.maker.vol.half_life_s = maker.vol_half_life_s  # the estimate reads it per update
                    log.info(
                        "strategy updated: %g x %d level(s), max position %g, gamma %g",
                        maker.quote.order_size,
                        maker.quote.levels,
                        maker.quote.max_position,
                        maker.quote.gamma,
                    )
                _record_change(quoting, old, new, config_path)
            if limits is not None:
                gate.set_limits(limits)
                if limits.kill:
                    log.warning(
                        "risk.kill is set: trading halted, every order is denied and quotes cancelled"
                    )
                else:
                    log.info("risk limits updated; kill flag clear")
            if policy is not None:
                manager.set_policy(policy)
                oracle.set_priority_percentile(new.gas_policy.priority_percentile)
            if signer is not None:
                manager.set_active_signer(signer)

        return apply

    return prepare


def _record_change(quoting: QuotingLoop, old: KeeperConfig, new: KeeperConfig, config_path: Path) -> None:
    """The applied edit in the store: which sections changed and the file's digest, never values."""
    if quoting.journal is None:
        return
    sections = [f for f in new.__struct_fields__ if getattr(old, f) != getattr(new, f)]
    try:
        digest = config_digest(config_path.read_bytes())
    except OSError:
        digest = "unreadable"
    journal = quoting.journal
    ts_ms = int(time.time() * 1000)
    journal.record(lambda: journal.store.record_config_change(ts_ms, sections, digest, file=str(config_path)))


async def _forward(event: asyncio.Event | None, action: Callable[[], None]) -> None:
    if event is None:
        await asyncio.Event().wait()  # never: no SIGHUP source
        return
    while True:
        await event.wait()
        event.clear()
        action()


def _log_pending(event: PendingEvent) -> None:
    if isinstance(event, PendingOracleUpdate):
        log.info(
            "pending oracle update: feed %d -> %s (tx %s…)", event.feed_id, event.price, event.tx_hash[:12]
        )
    else:
        log.debug("pending %s", event)


def _chain_notices(mempool: MempoolWatcher, oracle: GasOracle) -> Callable[[ChainNotice], None]:
    """A reorg or a reset chain is named in the log and passed to everything that follows blocks."""

    def on_notice(notice: ChainNotice) -> None:
        log.warning("%s", notice.describe())
        mempool.on_chain_notice(notice)
        oracle.on_chain_notice(notice)

    return on_notice


async def _follow_heads(watcher: HeadWatcher, oracle: GasOracle, skew_limit_s: float) -> None:
    warned = -math.inf
    async for head in watcher.heads():
        offset = watcher.clock_offset_s
        if offset is not None and abs(offset) > skew_limit_s and time.monotonic() - warned > 60.0:
            warned = time.monotonic()
            log.warning(
                "chain clock: block %d stamped %+.1f s from our clock (limit %.1f s): check the host clock",
                head.number,
                offset,
                skew_limit_s,
            )
        gas = await oracle.on_head(head)
        if gas is None:
            log.info(
                "block %d %s… gas used %d/%d", head.number, head.hash[:12], head.gas_used, head.gas_limit
            )
            continue
        log.info(
            "block %d %s… base fee %.3f gwei, next %.3f gwei, tip %.3f gwei, gas used %d/%d%s",
            head.number,
            head.hash[:12],
            gas.base_fee / 1e9,
            gas.next_base_fee / 1e9,
            gas.priority_fee / 1e9,
            head.gas_used,
            head.gas_limit,
            ", GAS SPIKE" if gas.spike else "",
        )
