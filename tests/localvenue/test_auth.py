"""Signer recovery, accounts vs agents, nonce window and set, expiresAfter, malformed bodies."""

from __future__ import annotations

import re

import msgspec
import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from keeper.codecs.hyperliquid import (
    NoopAction,
    UsdSendAction,
    Withdraw3Action,
    cancel_action,
    recover_l1_signer,
    sign_user_signed_action,
)
from keeper.localvenue import BadRequest, LocalVenue
from tests.localvenue.conftest import (
    ADDRESS_A,
    ADDRESS_B,
    ETH,
    KEY_A,
    KEY_AGENT1,
    KEY_AGENT2,
    T0,
    Trader,
    info,
    oid_of,
)

DAY = 86_400_000
NOOP = NoopAction()
UNKNOWN_WALLET = re.compile(r"^L1 error: User or API Wallet 0x[0-9a-f]{40} does not exist\.$")


def test_tampered_request_recovers_a_stranger_with_the_exact_error(venue: LocalVenue, alice: Trader) -> None:
    body = alice.body(NOOP, T0)
    body["nonce"] = T0 + 1  # the signature covered T0: recovery yields some other address
    stranger = recover_l1_signer(NOOP, body["signature"], T0 + 1, is_mainnet=False)
    assert stranger != alice.address
    reply = venue.handle_exchange(body, T0)
    assert reply == {"status": "err", "response": f"L1 error: User or API Wallet {stranger} does not exist."}
    assert UNKNOWN_WALLET.match(reply["response"])


def test_unfunded_signer_and_mainnet_signature_are_unknown_wallets(venue: LocalVenue, alice: Trader) -> None:
    stranger = Trader(venue, KEY_AGENT1)
    assert (
        stranger.send(NOOP)["response"] == f"L1 error: User or API Wallet {stranger.address} does not exist."
    )
    # Signed for mainnet (source "a") but this venue verifies testnet ("b"): a different signer recovers.
    mainnet_body = alice.body(NOOP, T0, mainnet=True)
    reply = venue.handle_exchange(mainnet_body, T0)
    assert UNKNOWN_WALLET.match(reply["response"])
    assert alice.address not in reply["response"]


def test_order_signed_by_the_official_sdk_is_accepted(venue: LocalVenue) -> None:
    wallet = Account.from_key(KEY_A)
    order = {
        "coin": "ETH",
        "is_buy": True,
        "sz": 0.0147,
        "limit_px": 1670.1,
        "order_type": {"limit": {"tif": "Gtc"}},
        "reduce_only": False,
        "cloid": None,
    }
    action = sdk.order_wires_to_order_action([sdk.order_request_to_order_wire(order, ETH)])  # type: ignore[arg-type]
    signature = sdk.sign_l1_action(wallet, action, None, T0, None, False)
    body = {"action": action, "nonce": T0, "signature": signature, "vaultAddress": None, "expiresAfter": None}
    reply = venue.handle_exchange(body, T0)
    assert reply["response"]["data"]["statuses"] == [{"resting": {"oid": 1}}]
    assert info(venue, type="openOrders", user=ADDRESS_A)[0]["limitPx"] == "1670.1"


def test_duplicate_nonce(alice: Trader) -> None:
    assert alice.send(NOOP, nonce=T0) == {"status": "ok", "response": {"type": "default"}}
    assert alice.send(NOOP, nonce=T0) == {"status": "err", "response": f"Invalid nonce: duplicate nonce {T0}"}


def test_nonce_time_window_is_open_on_both_ends(alice: Trader) -> None:
    now = T0
    for nonce in (now - 2 * DAY, now + DAY):
        assert alice.send(NOOP, now=now, nonce=nonce) == {
            "status": "err",
            "response": f"Invalid nonce: {nonce} is outside (now - 2 days, now + 1 day) at block time {now}",
        }
    for nonce in (now - 2 * DAY + 1, now + DAY - 1):
        assert alice.send(NOOP, now=now, nonce=nonce)["status"] == "ok"


def test_nonce_must_exceed_the_smallest_of_the_100_highest(alice: Trader) -> None:
    # Out-of-order arrival is fine while fewer than 100 nonces are stored.
    assert alice.send(NOOP, nonce=T0 + 10)["status"] == "ok"
    assert alice.send(NOOP, nonce=T0 + 5)["status"] == "ok"
    for nonce in range(T0 + 100, T0 + 198):
        assert alice.send(NOOP, nonce=nonce)["status"] == "ok"
    # Stored: T0+5, T0+10, T0+100..T0+197 (100 nonces); smallest T0+5.
    assert alice.send(NOOP, nonce=T0 + 4)["response"] == (
        f"Invalid nonce: {T0 + 4} is not larger than the smallest of the 100 highest nonces ({T0 + 5})"
    )
    assert alice.send(NOOP, nonce=T0 + 7)["status"] == "ok"  # evicts T0+5
    assert alice.send(NOOP, nonce=T0 + 6)["response"].startswith(f"Invalid nonce: {T0 + 6} is not larger")


def test_expired_action_is_refused_without_burning_the_nonce(alice: Trader) -> None:
    now = T0 + 10_000
    reply = alice.send(NOOP, now=now, nonce=now, expires_after=now - 1)
    assert reply == {
        "status": "err",
        "response": f"L1 error: Action expired: expiresAfter {now - 1} is before block time {now}.",
    }
    assert alice.send(NOOP, now=now, nonce=now, expires_after=now)["status"] == "ok"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"action": {"type": "noop"}, "nonce": T0},
        {"action": {"type": "noop"}, "nonce": "1", "signature": {"r": "0x1", "s": "0x1", "v": 27}},
        {"action": {"type": "noop"}, "nonce": T0, "signature": {}, "expiresAfter": 1.5},
        {"action": {"type": "noop"}, "nonce": T0, "signature": {}, "vaultAddress": "0x12"},
    ],
)
def test_undeserializable_bodies_are_422(venue: LocalVenue, body: object) -> None:
    assert venue.handle_exchange(body, T0) == BadRequest(
        "Failed to deserialize the JSON body into the target type"
    )


def test_invalid_action_fields_are_422_and_unknown_types_are_refused(
    venue: LocalVenue, alice: Trader
) -> None:
    body = alice.body(NOOP, T0)
    body["action"] = {"type": "order", "orders": [{"a": 0, "b": True, "p": 2000.5}], "grouping": "na"}
    assert isinstance(venue.handle_exchange(body, T0), BadRequest)
    body["action"] = {"type": "createSubAccount", "name": "x"}
    assert venue.handle_exchange(body, T0) == {
        "status": "err",
        "response": "Action type 'createSubAccount' is not supported on the local venue.",
    }
    body = alice.body(NOOP, T0)
    body["signature"]["v"] = 29
    assert venue.handle_exchange(body, T0) == {"status": "err", "response": "L1 error: Invalid signature."}
    body = alice.body(NOOP, T0)
    body["vaultAddress"] = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    assert venue.handle_exchange(body, T0)["response"].startswith("Vault and sub-account actions")


def test_agent_trades_for_its_master_and_is_rotated_by_name(venue: LocalVenue, alice: Trader) -> None:
    agent1, agent2 = Trader(venue, KEY_AGENT1), Trader(venue, KEY_AGENT2)
    assert alice.approve_agent(agent1.address, "mm") == {"status": "ok", "response": {"type": "default"}}
    oid = oid_of(agent1.order(ETH, True, "1900", "1"))
    assert [o["oid"] for o in info(venue, type="openOrders", user=alice.address)] == [oid]
    assert info(venue, type="openOrders", user=agent1.address) == []
    # Nonces are per signer: the master may use a nonce value the agent used.
    assert agent1.send(NOOP, nonce=T0 + 50)["status"] == "ok"
    assert alice.send(NOOP, nonce=T0 + 50)["status"] == "ok"

    assert alice.approve_agent(agent2.address, "mm")["status"] == "ok"  # same name: replaces agent1
    assert agent1.send(NOOP)["response"] == f"L1 error: User or API Wallet {agent1.address} does not exist."
    assert info(venue, type="extraAgents", user=alice.address) == [
        {"name": "mm", "address": agent2.address, "validUntil": T0 + 180 * DAY}
    ]
    # The old agent's resting order stays the master's; the new agent can cancel it.
    assert agent2.send(cancel_action([(ETH, oid)]))["response"]["data"]["statuses"] == ["success"]


def test_named_and_unnamed_agents_coexist_and_agents_cannot_approve(venue: LocalVenue, alice: Trader) -> None:
    agent1, agent2 = Trader(venue, KEY_AGENT1), Trader(venue, KEY_AGENT2)
    assert alice.approve_agent(agent1.address, "")["status"] == "ok"
    assert alice.approve_agent(agent2.address, "bot")["status"] == "ok"
    assert agent1.send(NOOP)["status"] == "ok"
    assert agent2.send(NOOP)["status"] == "ok"
    assert agent1.approve_agent(ADDRESS_B, "x")["response"].startswith("Agents cannot approve agents")
    assert (
        alice.approve_agent(ADDRESS_B, "x")["response"]
        == "Agent address is already in use by another account."
    )
    assert alice.approve_agent(agent1.address, "", chain="Mainnet")["response"] == (
        "Invalid hyperliquidChain: this venue expects 'Testnet'."
    )


def test_usd_send_and_withdraw_move_balances(venue: LocalVenue, alice: Trader) -> None:
    def post(action: UsdSendAction | Withdraw3Action) -> object:
        signature = sign_user_signed_action(alice.signer, action)
        body = {
            "action": msgspec.to_builtins(action),
            "nonce": action.time,
            "signature": msgspec.to_builtins(signature),
        }
        return venue.handle_exchange(body, T0)

    send = UsdSendAction(
        destination=ADDRESS_B,
        amount="250.5",
        time=T0,
        signature_chain_id="0x66eee",
        hyperliquid_chain="Testnet",
    )
    withdraw = Withdraw3Action(
        destination=ADDRESS_A,
        amount="1000",
        time=T0 + 1,
        signature_chain_id="0x66eee",
        hyperliquid_chain="Testnet",
    )
    assert post(send) == {"status": "ok", "response": {"type": "default"}}
    assert post(withdraw) == {"status": "ok", "response": {"type": "default"}}
    assert info(venue, type="clearinghouseState", user=ADDRESS_A)["withdrawable"] == "98749.5"
    assert info(venue, type="clearinghouseState", user=ADDRESS_B)["withdrawable"] == "100250.5"
    too_much = Withdraw3Action(
        destination=ADDRESS_A,
        amount="98749.6",
        time=T0 + 2,
        signature_chain_id="0x66eee",
        hyperliquid_chain="Testnet",
    )
    assert post(too_much) == {"status": "err", "response": "Insufficient balance for transfer."}


def test_unnamed_agent_approved_by_the_official_sdk(venue: LocalVenue) -> None:
    wallet = Account.from_key(KEY_A)
    agent = Trader(venue, KEY_AGENT1)
    action = {
        "type": "approveAgent",
        "agentAddress": Account.from_key(KEY_AGENT1).address,  # checksummed, as the SDK sends it
        "agentName": "",
        "nonce": T0,
    }
    signature = sdk.sign_agent(wallet, action, False)
    del action["agentName"]  # the SDK signs "" but omits the key for an unnamed agent
    body = {"action": action, "nonce": T0, "signature": signature, "vaultAddress": None}
    assert venue.handle_exchange(body, T0) == {"status": "ok", "response": {"type": "default"}}
    assert agent.send(NOOP)["status"] == "ok"
    assert info(venue, type="extraAgents", user=ADDRESS_A)[0]["address"] == agent.address
