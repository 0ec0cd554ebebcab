"""The anvil harness: launch, readiness, stop by pid, leases, forks, state, and every dev helper."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from eth_account import Account

from keeper.devchain import AnvilError, AnvilNode, AnvilOptions, RpcError, anvil_args, lease_port

pytestmark = pytest.mark.chain

STRANGER = "0x1111111111111111111111111111111111111111"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state to be sure it is gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_anvil_args_follow_options() -> None:
    args = anvil_args(
        AnvilOptions(chain_id=5, mining="interval", block_time_s=0.5, base_fee_wei=7, fork_url="http://x:1"),
        port=9,
    )
    assert args[:6] == ["--host", "127.0.0.1", "--port", "9", "--chain-id", "5"]
    assert args[args.index("--block-time") + 1] == "0.5"
    assert args[args.index("--base-fee") + 1] == "7"
    assert args[args.index("--fork-url") + 1] == "http://x:1"
    assert "--no-mining" in anvil_args(AnvilOptions(mining="manual"), port=9)
    assert "--block-time" not in anvil_args(AnvilOptions(mining="instant"), port=9)


def test_start_answers_then_stop_by_pid_leaves_no_process() -> None:
    node = AnvilNode(AnvilOptions(chain_id=777))
    node.start()
    pid, port = node.pid, node.port
    assert node.running
    assert node.rpc.chain_id() == 777
    assert node.stop() is not None
    assert not pid_alive(pid)
    assert not node.running
    # The port is free again once released: a new lease may take it, and a bind succeeds.
    assert node.stop() is None  # idempotent
    del port


def test_leases_are_exclusive_until_released() -> None:
    leases = [lease_port() for _ in range(20)]
    assert len({lease.port for lease in leases}) == 20
    for lease in leases:
        lease.release()


def test_start_failure_reports_anvil_output(tmp_path: Path) -> None:
    bad_state = tmp_path / "state.json"
    bad_state.write_text("not json")
    node = AnvilNode(AnvilOptions(load_state=str(bad_state), startup_timeout_s=10))
    with pytest.raises(AnvilError, match="exited"):
        node.start()
    assert not node.running


def test_missing_binary_is_a_clear_error() -> None:
    with pytest.raises((AnvilError, FileNotFoundError)):
        AnvilNode(binary="/nonexistent/anvil").start()


def test_snapshot_and_revert(chain: AnvilNode) -> None:
    rpc = chain.rpc
    snap = rpc.snapshot()
    rpc.set_balance(STRANGER, 42)
    assert rpc.balance(STRANGER) == 42
    assert rpc.revert(snap)
    assert rpc.balance(STRANGER) == 0


def test_mine_n_blocks(chain: AnvilNode) -> None:
    before = chain.rpc.block_number()
    chain.rpc.mine(5)
    assert chain.rpc.block_number() == before + 5


def test_increase_time_moves_next_block_clock(chain: AnvilNode) -> None:
    before = int(chain.rpc.get_block()["timestamp"], 16)
    chain.rpc.increase_time(3600)
    chain.rpc.mine(1)
    after = int(chain.rpc.get_block()["timestamp"], 16)
    assert after - before >= 3600


def test_set_balance(chain: AnvilNode) -> None:
    chain.rpc.set_balance(STRANGER, 10**21)
    assert chain.rpc.balance(STRANGER) == 10**21


def test_impersonate_sends_from_an_address_without_its_key(chain: AnvilNode) -> None:
    rpc = chain.rpc
    rpc.set_balance(STRANGER, 10**18)
    with pytest.raises(RpcError):
        rpc.send_transaction({"from": STRANGER, "to": STRANGER, "value": hex(1)})
    rpc.impersonate(STRANGER)
    receipt = rpc.wait_receipt(
        rpc.send_transaction({"from": STRANGER, "to": "0x" + "22" * 20, "value": hex(1000)})
    )
    assert receipt["status"] == "0x1"
    assert rpc.balance("0x" + "22" * 20) == 1000
    rpc.stop_impersonating(STRANGER)


def test_set_next_base_fee_applies_to_the_next_block(chain: AnvilNode) -> None:
    chain.rpc.set_next_base_fee(123 * 10**9)
    chain.rpc.mine(1)
    assert int(chain.rpc.get_block()["baseFeePerGas"], 16) == 123 * 10**9


def test_base_fee_spike_keeps_an_underpriced_tx_out_of_the_next_block() -> None:
    # Manual mining so the transaction can sit in the pool; signed locally with a throwaway key.
    with AnvilNode(AnvilOptions(mining="manual")) as node:
        rpc = node.rpc
        key = Account.create()
        rpc.set_balance(key.address, 10**18)
        tx = {
            "to": STRANGER,
            "value": 1,
            "gas": 21000,
            "nonce": 0,
            "chainId": 31337,
            "maxFeePerGas": 10 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        tx_hash = rpc.send_raw_transaction("0x" + key.sign_transaction(tx).raw_transaction.hex())
        assert tx_hash in str(rpc.request("txpool_content"))
        rpc.set_next_base_fee(50 * 10**9)  # the spike lands after the tx was accepted into the pool
        assert tx_hash in str(rpc.request("txpool_content")), "pending until the next block is built"
        rpc.mine(1)
        block = rpc.get_block()
        assert int(block["baseFeePerGas"], 16) == 50 * 10**9
        assert block["transactions"] == []
        assert rpc.receipt(tx_hash) is None
        # anvil 1.7.1 evicts it from the pool once the spiked block is built: to a sender it is dropped.
        assert rpc.request("txpool_status")["pending"] == "0x0"


def test_fork_sees_base_state_and_diverges(chain: AnvilNode, anvil_fork: AnvilNode) -> None:
    # The fixture forked after the base's snapshot: state set now on the base is not in the fork.
    assert anvil_fork.rpc.chain_id() == chain.rpc.chain_id()
    assert anvil_fork.rpc.block_number() == chain.rpc.block_number()
    anvil_fork.rpc.set_balance(STRANGER, 5)
    assert chain.rpc.balance(STRANGER) == 0


def test_fork_reads_state_written_on_base_before_the_fork(chain: AnvilNode) -> None:
    chain.rpc.set_balance(STRANGER, 123)
    chain.rpc.mine(2)
    with chain.fork() as fork:
        assert fork.rpc.balance(STRANGER) == 123
        assert fork.rpc.block_number() == chain.rpc.block_number()
        # And a fork of the fork still sees it: the keeper's forked-chain tests stack like this.
        with fork.fork() as fork2:
            assert fork2.rpc.balance(STRANGER) == 123


def test_state_dump_and_load(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with AnvilNode(AnvilOptions(dump_state=str(state))) as node:
        node.rpc.set_balance(STRANGER, 99)
        node.rpc.mine(1)
    deadline = time.monotonic() + 5
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state.exists(), "anvil did not dump its state on SIGTERM"
    with AnvilNode(AnvilOptions(load_state=str(state))) as node:
        assert node.rpc.balance(STRANGER) == 99
