"""`abis/` must equal a fresh export of the forge build (make test builds first)."""

from __future__ import annotations

import json
from pathlib import Path

from keeper.adapters.dex import exchange_abi
from keeper.devchain.abi_export import collect_abis, main

REPO = Path(__file__).resolve().parents[2]


def test_committed_abis_match_a_fresh_build() -> None:
    fresh = collect_abis(REPO / "out")
    assert fresh, "no forge artifacts: run `forge build` (make test does)"
    committed = {p.name: p.read_text() for p in (REPO / "abis").glob("*.json")}
    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert stale == [], f"abis/ is stale for {stale}: run `make abis` and commit"


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "abis"
    assert main(["--build", str(REPO / "out"), "--out", str(target)]) == 0
    assert main(["--build", str(REPO / "out"), "--out", str(target), "--check"]) == 0
    victim = next(target.glob("*.json"))
    victim.write_text("[]\n")
    assert main(["--build", str(REPO / "out"), "--out", str(target), "--check"]) == 1


def test_exported_abis_are_deployable_contracts_only() -> None:
    names = {p.stem for p in (REPO / "abis").glob("*.json")}
    assert {"PerpExchange", "PerpExchangeModule", "PerpExchangeViews", "PushOracle", "USDToken"} <= names
    assert not any(n.endswith("Test") or (n.startswith("I") and n[1].isupper()) for n in names)


def test_exchange_abi_is_the_union_of_its_three_parts() -> None:
    names = {entry.get("name") for entry in exchange_abi()}
    assert {"place", "replace", "cancel", "deposit", "settleFunding", "liquidate", "getPosition"} <= names
    signatures = [json.dumps(e, sort_keys=True) for e in exchange_abi()]
    assert len(signatures) == len(set(signatures))
