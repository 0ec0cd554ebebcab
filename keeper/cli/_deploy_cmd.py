"""`keeper deploy --config FILE`: deploy the reference perp DEX and write a deployments file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keeper.app import configure_logging
from keeper.app._deploy import DeployError, deploy, write_deployment
from keeper.chain import KeyLoadError, load_signer
from keeper.cli._config_cmd import EXIT_INVALID_CONFIG
from keeper.config import ConfigError, load_config, redact
from keeper.core.redact import mask_url


def run(args: argparse.Namespace) -> int:
    configure_logging("INFO")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    base_dir = Path(args.config).absolute().parent
    rpc_url = args.rpc_url or (config.chain.rpc_http[0] if config.chain.rpc_http else None)
    if rpc_url is None:
        print(
            f"{args.config}: chain.rpc_http: empty (devnet.launch); pass --rpc-url of the running chain",
            file=sys.stderr,
        )
        return EXIT_INVALID_CONFIG
    try:
        signer = load_signer(config.keys.active, config.keys.accounts[config.keys.active], base_dir)
        deployment = deploy(rpc_url, signer.account)
    except (KeyLoadError, DeployError) as exc:
        print(f"keeper deploy: {redact(str(exc))}", file=sys.stderr)
        return 1
    if deployment.chain_id != config.chain.chain_id:
        print(
            f"keeper deploy: {mask_url(rpc_url)} is chain {deployment.chain_id}, "
            f"config says {config.chain.chain_id}"
        )
        return 1
    out = (
        Path(args.out)
        if args.out
        else Path("deployments") / f"{config.chain.name}-{deployment.chain_id}.json"
    )
    write_deployment(deployment, out)
    print(f"exchange {deployment.exchange}")
    print(f"oracle {deployment.oracle}")
    print(f"collateral {deployment.collateral}")
    print(f"wrote {out}")
    return 0
