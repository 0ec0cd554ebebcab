"""`keeper run`: bring the chain up (or connect to it), follow it, and shut down cleanly on a signal.

Today this launches the configured local anvil when asked to, checks the chain id of the endpoint it
talks to, and logs each new block. Later layers (venues, quoting, keeper duties) hang off this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import aiohttp

from keeper.app._deploy import deploy
from keeper.chain import GasOracle, HeadWatcher, load_signer, select_http_endpoint
from keeper.config import KeeperConfig, resolve_path
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


async def run_keeper(config: KeeperConfig, config_dir: Path, stop: asyncio.Event) -> int:
    """Run until `stop` is set; paths in `config` are relative to `config_dir`. Returns the exit code."""
    node: AnvilNode | None = None
    try:
        if config.devnet.launch:
            node = AnvilNode(devnet_options(config, config_dir))
            await asyncio.to_thread(node.start)
            log.info("launched anvil pid %d on %s", node.pid, node.http_url)
            http_urls, ws_urls = [node.http_url], [node.ws_url]
        else:
            http_urls, ws_urls = list(config.chain.rpc_http), list(config.chain.rpc_ws)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            http_url = await select_http_endpoint(session, http_urls, config.chain.chain_id)
            log.info("connected to %s: chain id %d (%s)", http_url, config.chain.chain_id, config.chain.name)
            if config.contracts.deploy:
                name = config.keys.active
                signer = load_signer(name, config.keys.accounts[name], config_dir)
                deployment = await asyncio.to_thread(deploy, http_url, signer.account)
                log.info(
                    "deployed reference perp DEX: exchange %s, oracle %s, collateral %s, markets %s",
                    deployment.exchange,
                    deployment.oracle,
                    deployment.collateral,
                    ", ".join(f"{s}=#{i}" for s, i in deployment.markets.items()),
                )
            watcher = HeadWatcher(
                session,
                http_url,
                ws_urls[0] if ws_urls else None,
                poll_interval_s=max(0.2, config.chain.block_time_s / 2),
            )
            oracle = GasOracle(
                session,
                http_url,
                config.gas_policy.priority_percentile,
                window_blocks=config.gas_policy.fee_history_blocks,
            )
            follow = asyncio.create_task(_follow_heads(watcher, oracle), name="follow-heads")
            stopped = asyncio.create_task(stop.wait(), name="stop-signal")
            await asyncio.wait({follow, stopped}, return_when=asyncio.FIRST_COMPLETED)
            failure = follow.exception() if follow.done() and not follow.cancelled() else None
            for task in (follow, stopped):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if failure is not None:
                raise failure
        log.info("stopping")
        return 0
    finally:
        if node is not None:
            code = await asyncio.to_thread(node.stop)
            log.info("anvil stopped (exit %s)", code)


async def _follow_heads(watcher: HeadWatcher, oracle: GasOracle) -> None:
    async for head in watcher.heads():
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
