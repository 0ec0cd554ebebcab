// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "./interfaces/IERC20.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {OrderBook} from "./exchange/OrderBook.sol";
import {ExchangeBase} from "./exchange/ExchangeBase.sol";
import "./exchange/PerpTypes.sol";

/// @title PerpExchange
/// @notice Reference perpetual-futures exchange: cross-margined USD accounts, one on-chain limit order book
///         per market, hourly funding from book-vs-oracle premium samples, permissionless liquidation.
///         Talk to this address with the full ABI of interfaces/IPerpExchange.sol.
/// @dev Because of the 24 KB code-size limit (EIP-170) the exchange is three contracts sharing ONE storage:
///        PerpExchange        (this) trading core: place / placeIOC / cancel / replace / batch
///        PerpExchangeModule  collateral, admin, funding, liquidation, purge  - fallback of this contract
///        PerpExchangeViews   read-only views                                 - fallback of the module
///      Unknown selectors are DELEGATECALLed down that chain, so module and views code runs on this
///      contract's storage, with this contract's address and the original msg.sender. All three inherit
///      OrderBook -> ExchangeBase and declare no state of their own: identical storage layouts.
///      Units: exchange/PerpTypes.sol. Mark price = oracle price. Trading policies:
///      - Initial margin incl. resting orders (max(|q+buys|, |q-sells|) * mark * imr, summed over markets)
///        is required after any action that increases an account's position or resting exposure.
///        A fill that only reduces risk but lowers equity (at mark, incl. fees) must leave equity >= 0.
///      - Makers are re-checked at fill time; a maker failing its check is cancelled (reason Margin).
///      - Self-trade prevention cancels the resting order; expired orders never fill (removed lazily).
///      Design references (/work/shared/docs/perp-dex-facts.md): per-tick FIFO + tick bitmap for best price
///      (Clober/Kuru, section 4.1); atomic replace instead of cancel+place (Perpl, 4.1); post-only rejects,
///      IOC, reduce-only semantics (Hyperliquid/dYdX, 4.3); maker rebates bounded by taker fees (4.3);
///      margin on the oracle price and liquidation when equity < maintenance margin (dYdX v4, 2.3/2.7);
///      lazy cumulative funding index (dYdX v4 / Synthetix, 1.2/1.5); premium/8 + interest, 4 %/h cap
///      (dYdX v4 / Hyperliquid, 1.1/1.2); liquidation by position transfer (Drift, 2.6).
contract PerpExchange is OrderBook {
    /// @notice PerpExchangeModule implementation (immutable)
    address public immutable module;

    constructor(address admin, IERC20 token, IPriceFeed priceFeed, address module_)
        ExchangeBase(admin, token, priceFeed)
    {
        _checkWiring(module_);
        module = module_;
    }

    /// @dev admin, collateral, funding, liquidation and views: executed by the module on this storage
    fallback() external {
        _delegate(module);
    }

    // ================================================================== orders

    /// @notice Limit order (GTC, optionally post-only / reduce-only, optional expiry; 0 = none).
    ///         The crossing part trades immediately at resting prices; the rest rests at `price`.
    /// @param price multiple of tickSize (8 dec); size multiple of lotSize (8 dec)
    function place(
        uint8 market,
        Side side,
        uint256 price,
        uint256 size,
        bool postOnly,
        bool reduceOnly,
        uint32 expiry,
        uint64 clientOrderId
    ) external returns (uint256 orderId) {
        uint32 acct = _requireAccount(msg.sender);
        uint8 checks;
        (orderId,, checks) = _place(
            acct,
            PlaceParams({
                market: market,
                side: side,
                price: price,
                size: size,
                postOnly: postOnly,
                reduceOnly: reduceOnly,
                expiry: expiry,
                clientOrderId: clientOrderId
            }),
            false
        );
        _runChecks(acct, checks);
        _coverShortfall(acct);
    }

    /// @notice Immediate-or-cancel order (market order with a worst acceptable price), e.g. for hedges.
    ///         `limitPrice` need not be on the tick grid (buy rounds down, sell rounds up).
    /// @return orderId id used in the fill events; filledSize base units filled (rest is cancelled)
    function placeIOC(uint8 market, Side side, uint256 limitPrice, uint256 size, bool reduceOnly, uint64 clientOrderId)
        external
        returns (uint256 orderId, uint256 filledSize)
    {
        uint32 acct = _requireAccount(msg.sender);
        uint256 filledLots;
        uint8 checks;
        (orderId, filledLots, checks) = _place(
            acct,
            PlaceParams({
                market: market,
                side: side,
                price: limitPrice,
                size: size,
                postOnly: false,
                reduceOnly: reduceOnly,
                expiry: 0,
                clientOrderId: clientOrderId
            }),
            true
        );
        _runChecks(acct, checks);
        _coverShortfall(acct);
        filledSize = filledLots * _hot[market].lotSize;
    }

    function cancel(uint256 orderId) external {
        _cancel(_requireAccount(msg.sender), orderId, true);
    }

    /// @notice Atomic requote of a resting order (see OrderBook._replace for priority rules).
    function replace(uint256 orderId, uint256 newPrice, uint256 newSize) external {
        uint32 acct = _requireAccount(msg.sender);
        if (_replace(acct, orderId, newPrice, newSize)) _runChecks(acct, CHECK_IM);
    }

    /// @notice Cancels, then replaces, then places, with one margin check at the end. Cancels of ids that
    ///         are no longer live (filled/cancelled) are skipped; every other failure reverts the batch.
    function batch(uint256[] calldata cancels, ReplaceParams[] calldata replaces, PlaceParams[] calldata places)
        external
        returns (uint256[] memory orderIds)
    {
        uint32 acct = _requireAccount(msg.sender);
        uint8 checks;
        for (uint256 i; i < cancels.length; ++i) {
            _cancel(acct, cancels[i], false);
        }
        for (uint256 i; i < replaces.length; ++i) {
            if (_replace(acct, replaces[i].orderId, replaces[i].newPrice, replaces[i].newSize)) checks |= CHECK_IM;
        }
        orderIds = new uint256[](places.length);
        for (uint256 i; i < places.length; ++i) {
            uint8 c;
            (orderIds[i],, c) = _place(acct, places[i], false);
            checks |= c;
        }
        _runChecks(acct, checks);
        _coverShortfall(acct);
    }
}
