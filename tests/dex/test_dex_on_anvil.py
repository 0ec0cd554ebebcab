"""The reference perp DEX driven from Python on anvil: deposit, orders, a cross, funding, liquidation.

Worked numbers use the local ETH-USD market: tick 0.01, lot 0.001, max leverage 10x (IMR 10 %),
MMR 5 %, maker fee -0.01 % (rebate), taker fee 0.05 %, liquidation fee 1 %, interest 0.00125 %/h.
"""

from __future__ import annotations

import pytest
from web3.exceptions import ContractCustomError

from keeper.adapters.dex import decode_revert, price_to_units, size_to_units, usd_to_units
from keeper.app._deploy import deploy
from keeper.chain import anvil_account
from keeper.devchain import AnvilNode
from tests.dex.conftest import ETH, Dex

pytestmark = pytest.mark.chain

BUY, SELL = 0, 1
NO_EXPIRY = 0


def place(
    dex: Dex, trader: str, side: int, price: str, size: str, post_only: bool = True, cloid: int = 0
) -> int:
    fn = dex.exchange.functions.place(
        ETH, side, price_to_units(price), size_to_units(size), post_only, False, NO_EXPIRY, cloid
    )
    receipt = dex.send(trader, fn)
    (placed,) = dex.events(receipt, "OrderPlaced")
    return int(placed["args"]["orderId"])


def test_deployment_is_wired(dex: Dex) -> None:
    d = dex.deployment
    assert dex.exchange.functions.collateralToken().call() == d.collateral
    assert dex.exchange.functions.oracle().call() == d.oracle
    assert dex.exchange.functions.marketCount().call() == 2
    market = dex.exchange.functions.getMarket(ETH).call()
    assert market[1].rstrip(b"\0") == b"ETH-USD"
    assert dex.exchange.functions.markPrice(ETH).call() == price_to_units("3000")


def test_deposit_and_withdraw(dex: Dex) -> None:
    trader = dex.accounts[1]
    dex.fund(trader, 1000)
    assert dex.account(trader)[1] == usd_to_units(1000)
    receipt = dex.send(trader, dex.exchange.functions.withdraw(usd_to_units(400)))
    assert dex.events(receipt, "Withdraw")[0]["args"]["amount"] == usd_to_units(400)
    assert dex.account(trader)[1] == usd_to_units(600)
    assert dex.token.functions.balanceOf(trader).call() == usd_to_units(400)


def test_place_replace_cancel(dex: Dex) -> None:
    maker = dex.accounts[1]
    dex.fund(maker, 10_000)
    order_id = place(dex, maker, BUY, "2990", "1", cloid=7)
    assert dex.exchange.functions.bestBidAsk(ETH).call()[0] == price_to_units("2990")
    receipt = dex.send(
        maker, dex.exchange.functions.replace(order_id, price_to_units("2995.5"), size_to_units("2"))
    )
    (replaced,) = dex.events(receipt, "OrderReplaced")
    assert replaced["args"]["price"] == price_to_units("2995.5")
    view = dex.exchange.functions.getOrder(order_id).call()
    assert (view[4], view[5], view[7]) == (price_to_units("2995.5"), size_to_units("2"), size_to_units("2"))
    receipt = dex.send(maker, dex.exchange.functions.cancel(order_id))
    assert dex.events(receipt, "OrderCancelled")[0]["args"]["openSize"] == size_to_units("2")
    assert dex.exchange.functions.bestBidAsk(ETH).call()[0] == 0


def cross(dex: Dex, maker: str, taker: str, price: str = "3001", size: str = "1") -> None:
    place(dex, maker, SELL, price, size)
    fn = dex.exchange.functions.placeIOC(ETH, BUY, price_to_units("3010"), size_to_units(size), False, 0)
    receipt = dex.send(taker, fn)
    (fill,) = dex.events(receipt, "OrderFilled")
    assert fill["args"]["price"] == price_to_units(price)  # fills at the maker's price


def test_cross_fills_at_maker_price_with_fees(dex: Dex) -> None:
    maker, taker = dex.accounts[1], dex.accounts[2]
    dex.fund(maker, 10_000)
    dex.fund(taker, 10_000)
    cross(dex, maker, taker)
    assert dex.position(taker)[0] == size_to_units("1")
    assert dex.position(maker)[0] == -size_to_units("1")
    # Taker pays 0.05 % of 3001 = 1.5005; the maker earns the 0.01 % rebate = 0.3001.
    assert dex.account(taker)[1] == usd_to_units("10000") - usd_to_units("1.5005")
    assert dex.account(maker)[1] == usd_to_units("10000") + usd_to_units("0.3001")
    assert dex.exchange.functions.feePool().call() == usd_to_units("1.2004")


def funding_scenario(dex: Dex) -> None:
    """Long and short of 1 ETH; book mid 3030 vs oracle 3000 for the hour; settle; check payments."""
    maker, taker, quoter, keeper = dex.accounts[1], dex.accounts[2], dex.accounts[3], dex.accounts[4]
    for trader in (maker, taker, quoter):
        dex.fund(trader, 10_000)
    cross(dex, maker, taker)  # taker long 1 ETH, maker short 1 ETH
    place(dex, quoter, BUY, "3020", "0.1")
    place(dex, quoter, SELL, "3040", "0.1")
    funding = dex.exchange.functions.getFunding(ETH).call()
    index_before, next_funding = funding[0], funding[1]
    dex.warp_to(max(funding[3], dex.now() + 1))  # next sample time
    dex.post_price(1, "3000")
    receipt = dex.send(keeper, dex.exchange.functions.pokeFunding(ETH))
    (sample,) = dex.events(receipt, "FundingSampled")
    premium = sample["args"]["premium"]
    assert premium == 10**16  # (3030 - 3000) / 3000 = 1 % in WAD
    dex.warp_to(next_funding + 1)
    dex.post_price(1, "3000")  # keep the oracle fresh across the hour
    receipt = dex.send(keeper, dex.exchange.functions.settleFunding(ETH))
    (settled,) = dex.events(receipt, "FundingSettled")
    # Rate per hour = premium average / 8 + interest = 0.125 % + 0.00125 % = 0.12625 %.
    assert settled["args"]["rate"] == 10**16 // 8 + 12_500_000_000_000
    assert settled["args"]["periods"] == 1
    delta_index = settled["args"]["index"] - index_before
    assert delta_index == settled["args"]["rate"] * 3000  # rate x oracle price, 18-dec USD per ETH
    payment = size_to_units("1") * delta_index // 10**20  # USD6: 0.12625 % of 3000 = 3.7875
    assert payment == usd_to_units("3.7875")
    assert dex.position(taker)[4] == payment  # the long owes it
    assert dex.position(maker)[4] == -payment  # the short receives it
    assert dex.events(receipt, "KeeperRewarded")[0]["args"]["reward"] == usd_to_units("1")
    assert dex.account(keeper)[1] == usd_to_units("1")
    # Snapshot semantics: a position opened after the snapshot owes nothing for the past hour.
    late = dex.accounts[5]
    dex.fund(late, 10_000)
    dex.send(
        late,
        dex.exchange.functions.placeIOC(ETH, SELL, price_to_units("3000"), size_to_units("0.1"), False, 0),
    )
    assert dex.position(late)[0] == -size_to_units("0.1")
    assert dex.position(late)[4] == 0


def test_funding_settled_after_the_hour_with_the_right_payments(dex: Dex) -> None:
    funding_scenario(dex)


def test_settle_before_the_hour_reverts_with_a_decodable_error(dex: Dex) -> None:
    next_funding = dex.exchange.functions.nextFundingTime(ETH).call()
    with pytest.raises(ContractCustomError) as err:
        dex.exchange.functions.settleFunding(ETH).call({"from": dex.accounts[4]})
    revert = decode_revert(err.value.data)
    assert revert is not None
    assert (revert.name, revert.args_decoded) == ("FundingNotDue", (next_funding,))


def test_liquidation_after_an_oracle_drop(dex: Dex) -> None:
    maker, taker, liquidator = dex.accounts[1], dex.accounts[2], dex.accounts[3]
    dex.fund(maker, 10_000)
    dex.fund(taker, 400)  # 1 ETH at 3001 needs 300.1 initial margin
    dex.fund(liquidator, 10_000)
    cross(dex, maker, taker)
    assert not dex.exchange.functions.isLiquidatable(taker).call()
    dex.post_price(1, "2700")
    # Equity 400 - 1.5005 fee - 301 loss = 97.4995 < maintenance 5 % x 2700 = 135.
    account = dex.account(taker)
    assert account[2] == usd_to_units("97.4995")
    assert account[5] == usd_to_units("135")
    assert dex.exchange.functions.isLiquidatable(taker).call()
    receipt = dex.send(liquidator, dex.exchange.functions.liquidate(taker, ETH, size_to_units("1")))
    (event,) = dex.events(receipt, "Liquidation")
    assert event["args"]["price"] == price_to_units("2700")
    assert dex.position(taker)[0] == 0
    assert dex.position(liquidator)[0] == size_to_units("1")
    # The liquidator is paid 1 % of 2700 = 27 by the liquidated account.
    assert dex.account(liquidator)[1] == usd_to_units("10027")
    assert dex.account(taker)[1] == usd_to_units("97.4995") - usd_to_units("27")


def test_liquidation_shortfall_goes_to_the_insurance_fund(dex: Dex) -> None:
    maker, taker, liquidator = dex.accounts[1], dex.accounts[2], dex.accounts[3]
    dex.fund(maker, 10_000)
    dex.fund(taker, 400)
    dex.fund(liquidator, 10_000)
    dex.send(dex.admin, dex.token.functions.mint(dex.admin, usd_to_units(1000)))
    dex.send(dex.admin, dex.token.functions.approve(dex.exchange.address, usd_to_units(1000)))
    dex.send(dex.admin, dex.exchange.functions.depositInsurance(usd_to_units(1000)))
    cross(dex, maker, taker)
    dex.post_price(1, "2500")  # equity 400 - 1.5005 - 501 < 0
    insurance_before = dex.exchange.functions.insuranceFund().call()
    receipt = dex.send(liquidator, dex.exchange.functions.liquidate(taker, ETH, size_to_units("1")))
    covered = dex.events(receipt, "InsuranceCovered")
    assert covered, "the shortfall must be covered by the insurance fund"
    assert dex.account(taker)[1] == 0  # never below zero: the fund absorbed the rest
    # Shortfall = 1.5005 + 501 + 25 (1 % of 2500) - 400 = 127.5005.
    assert insurance_before - dex.exchange.functions.insuranceFund().call() == usd_to_units("127.5005")


def test_same_flows_on_an_anvil_forking_the_base(dex: Dex) -> None:
    with dex.node.fork() as fork:
        on_fork = Dex(fork, dex.deployment)
        assert on_fork.exchange.functions.marketCount().call() == 2
        funding_scenario(on_fork)
    # The fork's trades never touched the base chain.
    assert dex.position(dex.accounts[2])[0] == 0


def test_deploy_to_a_fork_of_the_base(anvil_base: AnvilNode) -> None:
    with anvil_base.fork() as fork:
        deployment = deploy(fork.http_url, anvil_account(0))
        fork_dex = Dex(fork, deployment)
        cross_traders = fork_dex.accounts[1], fork_dex.accounts[2]
        for trader in cross_traders:
            fork_dex.fund(trader, 5_000)
        cross(fork_dex, *cross_traders)
        assert fork_dex.position(cross_traders[1])[0] == size_to_units("1")
