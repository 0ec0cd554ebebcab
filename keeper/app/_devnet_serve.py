"""`keeper devnet serve`: the devnet's own process (started detached by `keeper devnet up`).

It launches anvil (interval mining), deploys the reference perp DEX, serves the bundled
Hyperliquid-compatible venue on a leased loopback port (one market, seeded flow, the master funded),
approves the keeper's agent with the master key, writes the keystores and the keeper's config, checks
that config with `load_config`, and only then records itself ready in devnet.json. It runs until
SIGTERM/SIGINT (or until its anvil dies) and stops the venue, then anvil last, by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from decimal import Decimal
from pathlib import Path

import msgspec

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    LocalVenueServer,
    approve_agent,
    start_local_venue,
)
from keeper.app._deploy import deploy, write_deployment
from keeper.app._devnet_files import (
    AGENT_INDEX,
    AGENT_KEY,
    AGENT_NAME,
    CONFIG_FILE,
    DEPLOYMENTS_FILE,
    MASTER_INDEX,
    MASTER_KEY,
    DevnetError,
    DevnetInfo,
    DevnetOptions,
    keeper_config_text,
    write_info,
    write_keys,
)
from keeper.chain import anvil_account
from keeper.codecs.hyperliquid import Accepted, PrivateKeySigner
from keeper.config import load_config, redact
from keeper.devchain import AnvilNode, AnvilOptions, PortLease, lease_port
from keeper.localvenue import AssetConfig, FlowConfig, LocalVenueConfig

log = logging.getLogger("keeper.devnet")

_WATCH_INTERVAL_S = 1.0


class _StoppedError(Exception):
    """A stop signal arrived during start-up."""


def venue_config(options: DevnetOptions, master: str) -> LocalVenueConfig:
    """The same shape `keeper run` serves for a `local_server` section: one asset, seeded flow, the
    master funded (keeper/app/_venues.py)."""
    return LocalVenueConfig(
        assets=(
            AssetConfig(
                name=options.market,
                sz_decimals=4,
                max_leverage=20,
                start_px=Decimal(repr(options.start_px)),
            ),
        ),
        balances={master.lower(): Decimal(repr(options.deposit_usd))},
        flow=FlowConfig(enabled=True, seed=options.flow_seed, coin=options.market),
        mainnet=False,
    )


async def serve(folder: Path, options: DevnetOptions, *, created_dir: bool) -> int:
    """Run the devnet in `folder` until a stop signal; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Detached (own session, no terminal), but a stray SIGHUP must not take the devnet down either.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    info = DevnetInfo(
        state="starting",
        dir=str(folder),
        created_dir=created_dir,
        serve_pid=os.getpid(),
        started_ms=int(time.time() * 1000),
        options=options,
    )
    write_info(folder, info)
    node = AnvilNode(
        AnvilOptions(chain_id=options.chain_id, mining="interval", block_time_s=options.block_time_s)
    )
    lease: PortLease | None = None
    server: LocalVenueServer | None = None
    try:
        await asyncio.to_thread(node.start)
        log.info("anvil pid %d on %s (a block every %g s)", node.pid, node.http_url, options.block_time_s)
        # Recorded at once: if this process is killed from here on, `down` still finds the anvil.
        info = msgspec.structs.replace(
            info, anvil_pid=node.pid, anvil_port=node.port, rpc_http=node.http_url, rpc_ws=node.ws_url
        )
        write_info(folder, info)
        _check(stop)
        master, agent = anvil_account(MASTER_INDEX), anvil_account(AGENT_INDEX)
        deployment = await asyncio.to_thread(deploy, node.http_url, master)
        write_deployment(deployment, folder / DEPLOYMENTS_FILE)
        log.info("deployed the reference perp DEX: exchange %s", deployment.exchange)
        _check(stop)
        lease = lease_port()
        server = await start_local_venue(venue_config(options, master.address), port=lease.port)
        log.info(
            "local venue on %s (%s at %g, %s funded)",
            server.url,
            options.market,
            options.start_px,
            master.address,
        )
        await _approve(server.url, bytes(master.key), bytes(agent.key))
        log.info("agent %s approved for %s", agent.address, master.address)
        _check(stop)
        # A fresh random password per devnet; keystores and password file are 0600 inside the folder.
        write_keys(
            folder, {MASTER_KEY: bytes(master.key), AGENT_KEY: bytes(agent.key)}, secrets.token_urlsafe(24)
        )
        config_path = folder / CONFIG_FILE
        config_path.write_text(
            keeper_config_text(
                options,
                rpc_http=node.http_url,
                rpc_ws=node.ws_url,
                venue_url=server.url,
                venue_ws_url=server.ws_url,
            )
        )
        load_config(config_path)  # ready means `keeper run --config` accepts it
        info = msgspec.structs.replace(
            info,
            state="ready",
            venue_port=lease.port,
            venue_url=server.url,
            venue_ws_url=server.ws_url,
            master=master.address,
            agent=agent.address,
            config=str(config_path),
        )
        write_info(folder, info)
        log.info("devnet ready: %s; keeper run --config %s", info.describe(), config_path)
        return await _watch(stop, node)
    except _StoppedError:
        log.info("stop signal during start-up")
        return 0
    finally:
        if server is not None:
            await server.close()
            log.info("local venue stopped")
        if lease is not None:
            lease.release()
        code = await asyncio.to_thread(node.stop)
        log.info("anvil stopped (exit %s)", code)


def _check(stop: asyncio.Event) -> None:
    if stop.is_set():
        raise _StoppedError


async def _approve(url: str, master_key: bytes, agent_key: bytes) -> None:
    master, agent = PrivateKeySigner(master_key), PrivateKeySigner(agent_key)
    async with HyperliquidRestClient(url, is_mainnet=False) as rest:
        outcome = await approve_agent(rest, master, agent.address, name=AGENT_NAME)
    if not isinstance(outcome, Accepted):
        raise DevnetError(f"approveAgent for {agent.address} failed: {outcome!r}")


async def _watch(stop: asyncio.Event, node: AnvilNode) -> int:
    """Wait for a stop signal; a dead anvil ends the devnet too (exit 1: its record says stopped)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _WATCH_INTERVAL_S)
        if not node.running:
            log.error("anvil pid %d died: %s", node.pid, node.log_tail(3))
            return 1
    log.info("stop signal: stopping the venue, then anvil")
    return 0


def serve_main(folder: Path, options: DevnetOptions, *, created_dir: bool) -> int:
    """Entry of `keeper devnet serve`: the last log line says why it failed (`up` shows it)."""
    try:
        return asyncio.run(serve(folder, options, created_dir=created_dir))
    except Exception as exc:
        log.error("devnet failed: %s", redact(str(exc) or repr(exc)))
        return 1
