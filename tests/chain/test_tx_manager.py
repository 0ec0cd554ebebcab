"""The transaction manager on anvil: nonces, replace-by-fee under a cap, reorgs, unknown outcomes, keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest

from keeper.chain import (
    GasEstimateError,
    LaneState,
    RpcClient,
    SendOutcomeUnknownError,
    SendRejectedError,
    Signer,
    TxHandle,
    TxManager,
    TxStatus,
    anvil_account,
)
from keeper.core.fees import FeePolicy, TxUrgency, bump
from keeper.devchain import AnvilNode, AnvilOptions
from tests.fee_policies import fee_policy

pytestmark = pytest.mark.chain

GWEI = 10**9
SINK = "0x000000000000000000000000000000000000dEaD"
DONE = {TxStatus.MINED, TxStatus.CONFIRMED}


def policy(**overrides: object) -> FeePolicy:
    # Quick replacements and a roomy cap: the anvil tests steer base fees by hand.
    return fee_policy(**{"cap_wei": 200 * GWEI, "replace_after_s": 0.3, **overrides})


def signer(index: int) -> Signer:
    return Signer(f"dev{index}", anvil_account(index))


@pytest.fixture(scope="module")
def manual_node() -> Iterator[AnvilNode]:
    """Mines only when asked: sent transactions stay pending for the test to steer."""
    with AnvilNode(AnvilOptions(mining="manual")) as node:
        yield node


@pytest.fixture
def manual(manual_node: AnvilNode) -> Iterator[AnvilNode]:
    snapshot = manual_node.rpc.snapshot()
    yield manual_node
    manual_node.rpc.request("anvil_dropAllTransactions", [])
    manual_node.rpc.set_next_base_fee(GWEI)
    manual_node.rpc.mine(1)
    assert manual_node.rpc.revert(snapshot)


@pytest.fixture
async def rpc(manual: AnvilNode) -> AsyncIterator[RpcClient]:
    async with RpcClient([manual.http_url], chain_id=31337) as client:
        yield client


async def until(handle: TxHandle, statuses: set[TxStatus], timeout_s: float = 10.0) -> TxStatus:
    return await handle.wait(statuses, timeout_s=timeout_s)


async def eventually(predicate: object, timeout_s: float = 10.0) -> None:
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def assert_escalation_rules(handle: TxHandle, cap: int, bump_bps: int = 1250) -> None:
    for earlier, later in zip(handle.attempts, handle.attempts[1:], strict=False):
        assert later.fees.max_fee_per_gas >= bump(earlier.fees.max_fee_per_gas, bump_bps)
        assert later.fees.max_priority_fee_per_gas >= bump(earlier.fees.max_priority_fee_per_gas, bump_bps)
    assert all(a.fees.max_fee_per_gas <= cap for a in handle.attempts)


async def test_concurrent_sends_get_consecutive_nonces_and_all_mine(chain: AnvilNode) -> None:
    key = signer(5)
    start = chain.rpc.nonce(key.address)
    async with (
        RpcClient([chain.http_url], chain_id=31337) as client,
        # No replacement deadline within the test: a slow machine must not turn this into an RBF test.
        TxManager(client, 31337, policy(replace_after_s=120.0)) as manager,
    ):
        manager.set_active_signer(key)
        handles = await asyncio.gather(*(manager.submit(SINK, value=i + 1) for i in range(200)))
        await asyncio.gather(*(until(h, DONE, 60) for h in handles))
    assert sorted(h.nonce for h in handles) == list(range(start, start + 200))
    assert chain.rpc.nonce(key.address, "latest") == start + 200
    assert all(h.receipt is not None and not h.receipt.reverted for h in handles)
    assert all(len(h.attempts) == 1 for h in handles)


async def test_stuck_tx_is_replaced_after_a_base_fee_spike_and_mined(
    manual: AnvilNode, rpc: RpcClient
) -> None:
    async with TxManager(rpc, 31337, policy()) as manager:
        manager.set_active_signer(signer(1))
        handle = await manager.submit(SINK, value=1)
        await until(handle, {TxStatus.PENDING})
        first = handle.attempts[0].fees
        manual.rpc.set_next_base_fee(40 * GWEI)  # far above what the first attempt pays
        manual.rpc.mine(1)
        assert handle.status is not TxStatus.MINED
        await eventually(lambda: len(handle.attempts) >= 2 and handle.status is TxStatus.PENDING)
        manual.rpc.mine(1)
        await until(handle, DONE)
    assert first.max_fee_per_gas < 40 * GWEI
    assert TxStatus.DROPPED in handle.history  # anvil evicts a tx under the base fee
    assert_escalation_rules(handle, 200 * GWEI)
    assert handle.receipt is not None
    assert handle.receipt.tx_hash == handle.attempts[-1].tx_hash
    assert manager.replacements >= 1


async def test_at_the_cap_it_waits_and_a_policy_reload_unsticks_it(manual: AnvilNode, rpc: RpcClient) -> None:
    cap = 10 * GWEI
    async with TxManager(rpc, 31337, policy(cap_wei=cap)) as manager:
        manager.set_active_signer(signer(2))
        handle = await manager.submit(SINK, value=1)
        await until(handle, {TxStatus.PENDING})
        manual.rpc.set_next_base_fee(30 * GWEI)
        manual.rpc.mine(1)
        await eventually(lambda: handle.attempts[-1].fees.max_fee_per_gas == cap)
        await asyncio.sleep(1.0)  # several replace intervals at the cap
        manual.rpc.mine(1)
        assert handle.status not in DONE
        assert all(a.fees.max_fee_per_gas <= cap for a in handle.attempts)
        attempts_at_cap = len(handle.attempts)
        loop = asyncio.get_running_loop()
        reloaded_at = loop.time()
        manager.set_policy(policy(cap_wei=100 * GWEI))
        await eventually(lambda: len(handle.attempts) > attempts_at_cap)
        assert loop.time() - reloaded_at < 1.0
        # Mine only once the node holds an attempt above the base fee (the writer may still be sending).
        await eventually(lambda: manual.rpc.request("txpool_status", [])["pending"] == "0x1")
        manual.rpc.mine(1)
        await until(handle, DONE)
    assert_escalation_rules(handle, 100 * GWEI)


async def test_a_fifty_fold_base_fee_never_pays_above_the_cap(manual: AnvilNode, rpc: RpcClient) -> None:
    """Fault suite: base fee x50 while a tx is pending and for a new one: no attempt above the cap."""
    cap = 20 * GWEI
    async with TxManager(rpc, 31337, policy(cap_wei=cap)) as manager:
        manager.set_active_signer(signer(3))
        pending = await manager.submit(SINK, value=1)
        await until(pending, {TxStatus.PENDING})
        manual.rpc.set_next_base_fee(50 * GWEI)  # x50 the fixture's 1 gwei
        manual.rpc.mine(1)
        fresh = await manager.submit(SINK, value=2)
        await eventually(lambda: pending.attempts[-1].fees.max_fee_per_gas == cap)
        await asyncio.sleep(0.5)  # replace intervals at the cap
        attempts = [*pending.attempts, *fresh.attempts]
        highest = max(a.fees.max_fee_per_gas for a in attempts) / GWEI
        print(f"\nbase fee x50: {len(attempts)} attempts, top max fee {highest:g}, cap {cap / GWEI:g}")
        assert all(a.fees.max_fee_per_gas <= cap for a in attempts)
        assert pending.status not in DONE  # it waits at the cap rather than overpay


async def test_at_the_cap_a_cancel_policy_takes_the_nonce_back(manual: AnvilNode, rpc: RpcClient) -> None:
    cap = 9 * GWEI
    async with TxManager(rpc, 31337, policy(cap_wei=cap, at_cap="cancel")) as manager:
        key = signer(3)
        manager.set_active_signer(key)
        handle = await manager.submit(SINK, value=12345)
        await until(handle, {TxStatus.PENDING})
        manual.rpc.set_next_base_fee(30 * GWEI)
        manual.rpc.mine(1)
        await eventually(lambda: handle.attempts[-1].is_cancel, timeout_s=15)
        manual.rpc.set_next_base_fee(GWEI)
        manual.rpc.mine(1)  # the base fee falls; the manager keeps re-broadcasting the cancel
        await eventually(lambda: manual.rpc.request("txpool_status", [])["pending"] == "0x1")
        manual.rpc.mine(1)
        await until(handle, {TxStatus.REPLACED})
    assert handle.receipt is not None
    mined = manual.rpc.request("eth_getTransactionByHash", [handle.receipt.tx_hash])
    assert mined["to"].lower() == key.address.lower()
    assert int(mined["value"], 16) == 0
    assert_escalation_rules(handle, cap)


async def test_a_reorged_out_receipt_goes_back_to_pending_then_confirms(
    manual: AnvilNode, rpc: RpcClient
) -> None:
    async with TxManager(rpc, 31337, policy(confirmations=3, replace_after_s=30)) as manager:
        manager.set_active_signer(signer(4))
        handle = await manager.submit(SINK, value=1)
        await until(handle, {TxStatus.PENDING})
        manual.rpc.mine(1)
        await until(handle, {TxStatus.MINED})
        first_block = handle.receipt.block_hash if handle.receipt else None
        manual.rpc.request("anvil_reorg", [1, []])  # replace the block that held it with an empty one
        await eventually(lambda: manager.reorgs >= 1)
        # The node forgot it with its block; the manager notices and puts the same bytes back.
        await eventually(lambda: manual.rpc.request("txpool_status", [])["pending"] == "0x1")
        manual.rpc.mine(3)
        await until(handle, {TxStatus.CONFIRMED})
    assert handle.history[:4] == [TxStatus.BUILT, TxStatus.SENT, TxStatus.PENDING, TxStatus.MINED]
    assert TxStatus.PENDING in handle.history[4:]
    assert handle.receipt is not None
    assert handle.receipt.block_hash != first_block


class LossyRpc(RpcClient):
    """Loses the reply of the first `lose` batches; `deliver` says whether the node got them anyway."""

    def __init__(self, urls: Sequence[str], *, lose: int, deliver: bool) -> None:
        super().__init__(urls, 31337)
        self.lose = lose
        self.deliver = deliver

    async def send_raw_transactions(self, raws: Sequence[bytes]) -> list[str | SendRejectedError]:
        if self.lose > 0:
            self.lose -= 1
            if self.deliver:
                await super().send_raw_transactions(raws)
            raise SendOutcomeUnknownError("reply lost (test)")
        return await super().send_raw_transactions(raws)


@pytest.mark.parametrize("delivered", [True, False])
async def test_an_unknown_send_outcome_is_resolved_not_guessed(manual: AnvilNode, delivered: bool) -> None:
    key = signer(6)
    start = manual.rpc.nonce(key.address)
    async with (
        LossyRpc([manual.http_url], lose=1, deliver=delivered) as client,
        TxManager(client, 31337, policy(replace_after_s=30)) as manager,
    ):
        manager.set_active_signer(key)
        handle = await manager.submit(SINK, value=1)
        await until(handle, {TxStatus.PENDING})
        manual.rpc.mine(1)
        await until(handle, DONE)
    assert TxStatus.UNKNOWN in handle.history
    assert TxStatus.REJECTED not in handle.history
    assert len(handle.attempts) == 1  # same bytes re-broadcast, never a second tx
    assert manual.rpc.nonce(key.address, "latest") == start + 1


class GatedRpc(RpcClient):
    """Holds every broadcast until `gate` opens, so several sends leave in one batch."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__(urls, 31337)
        self.gate = asyncio.Event()

    async def send_raw_transactions(self, raws: Sequence[bytes]) -> list[str | SendRejectedError]:
        await self.gate.wait()
        return await super().send_raw_transactions(raws)


async def test_a_refused_tx_gives_its_nonce_back_and_no_gap_remains(manual: AnvilNode) -> None:
    key = signer(7)
    start = manual.rpc.nonce(key.address)
    async with (
        GatedRpc([manual.http_url]) as client,
        TxManager(client, 31337, policy(replace_after_s=30)) as manager,
    ):
        manager.set_active_signer(key)
        broke = await manager.submit(SINK, value=10**30, gas=21_000)  # more than the account holds
        fine = await manager.submit(SINK, value=1)
        assert (broke.nonce, fine.nonce) == (start, start + 1)
        client.gate.set()
        await until(broke, {TxStatus.REJECTED})
        assert "nsufficient funds" in (broke.error or "")
        # The hole at `start` is filled with a self-send so `fine` is not stuck behind it.
        await eventually(lambda: manual.rpc.request("txpool_status", [])["pending"] == "0x2")
        manual.rpc.mine(1)
        await until(fine, DONE)
        after = await manager.submit(SINK, value=2)
        await until(after, {TxStatus.PENDING})
        manual.rpc.mine(1)
        await until(after, DONE)
    assert after.nonce == start + 2
    assert manual.rpc.nonce(key.address, "latest") == start + 3


async def test_gas_estimate_failure_sends_nothing_and_keeps_the_nonce(
    manual: AnvilNode, rpc: RpcClient
) -> None:
    async with TxManager(rpc, 31337, policy()) as manager:
        key = signer(8)
        manager.set_active_signer(key)
        with pytest.raises(GasEstimateError):
            await manager.submit(None, bytes.fromhex("fe"))  # init code that hits INVALID
        handle = await manager.submit(SINK, value=1)
    assert handle.nonce == manual.rpc.nonce(key.address, "latest")


async def test_another_sender_on_the_same_key_is_stepped_around(manual: AnvilNode, rpc: RpcClient) -> None:
    key = signer(9)
    async with TxManager(rpc, 31337, policy(replace_after_s=30)) as manager:
        manager.set_active_signer(key)
        first = await manager.submit(SINK, value=1)
        await until(first, {TxStatus.PENDING})
        manual.rpc.mine(1)
        await until(first, DONE)
        # An operator's wallet uses the lane's next nonce behind the manager's back, and it is mined.
        manual.rpc.send_transaction({"from": key.address, "to": SINK, "value": hex(7)})
        manual.rpc.mine(1)
        second = await manager.submit(SINK, value=2)  # first try: "nonce too low"
        await until(second, {TxStatus.PENDING})
        manual.rpc.mine(1)
        await until(second, DONE)
    assert second.nonce == first.nonce + 2
    assert len(second.attempts) == 1  # re-signed at the new nonce; the refused one is forgotten


async def test_a_nonce_taken_by_someone_else_marks_the_tx_replaced(manual: AnvilNode, rpc: RpcClient) -> None:
    key = signer(0)
    async with TxManager(rpc, 31337, policy(replace_after_s=30)) as manager:
        manager.set_active_signer(key)
        handle = await manager.submit(SINK, value=1)
        await until(handle, {TxStatus.PENDING})
        pool_fees = handle.attempts[0].fees
        manual.rpc.send_transaction(
            {
                "from": key.address,
                "to": SINK,
                "value": hex(99),
                "nonce": hex(handle.nonce),
                "maxFeePerGas": hex(pool_fees.max_fee_per_gas * 2),
                "maxPriorityFeePerGas": hex(pool_fees.max_priority_fee_per_gas * 2),
            }
        )
        manual.rpc.mine(1)
        await until(handle, {TxStatus.REPLACED})
    assert handle.receipt is None
    assert "another transaction" in (handle.error or "")


async def test_key_rotation_mid_stream_drains_then_retires_the_old_lane(
    manual: AnvilNode, rpc: RpcClient
) -> None:
    old, new = signer(1), signer(2)
    async with TxManager(rpc, 31337, policy(replace_after_s=30)) as manager:
        manager.set_active_signer(old)
        before = [await manager.submit(SINK, value=i + 1) for i in range(5)]
        await asyncio.gather(*(until(h, {TxStatus.PENDING}) for h in before))
        manager.set_active_signer(new)
        after = [await manager.submit(SINK, value=i + 1) for i in range(5)]
        assert manager.lane_state(old.address) is LaneState.DRAINING
        assert manager.active_address == new.address
        await asyncio.gather(*(until(h, {TxStatus.PENDING}) for h in after))
        manual.rpc.mine(1)
        await asyncio.gather(*(until(h, DONE) for h in before + after))
        await eventually(lambda: manager.lane_state(old.address) is LaneState.RETIRED)
    assert {h.sender for h in before} == {old.address}
    assert {h.sender for h in after} == {new.address}


async def test_cancels_tip_more_than_placements(manual: AnvilNode, rpc: RpcClient) -> None:
    async with TxManager(rpc, 31337, policy(replace_after_s=30)) as manager:
        manager.set_active_signer(signer(3))
        place = await manager.submit(SINK, value=1)
        cancel = await manager.submit(SINK, value=1, urgency=TxUrgency.CANCEL)
    tip_place = place.attempts[0].fees.max_priority_fee_per_gas
    tip_cancel = cancel.attempts[0].fees.max_priority_fee_per_gas
    assert tip_cancel * 10_000 >= tip_place * 15_000
