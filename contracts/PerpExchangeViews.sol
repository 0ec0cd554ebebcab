// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "./interfaces/IERC20.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {FixedMath} from "./libraries/FixedMath.sol";
import {TickBitmap} from "./libraries/TickBitmap.sol";
import {OrderBook} from "./exchange/OrderBook.sol";
import {ExchangeBase} from "./exchange/ExchangeBase.sol";
import "./exchange/PerpTypes.sol";

/// @title PerpExchangeViews
/// @notice Read-only views of PerpExchange (what the keeper reads). Reached through the exchange's fallback
///         chain (exchange -> module -> views, all DELEGATECALL), so they read the exchange's storage.
///         Called directly on this contract they only see its own, empty, storage.
contract PerpExchangeViews is OrderBook {
    using TickBitmap for TickBitmap.Bitmap;

    constructor(address admin, IERC20 token, IPriceFeed priceFeed) ExchangeBase(admin, token, priceFeed) {}

    // ================================================================== plain getters

    function collateralToken() external view returns (address) {
        return address(_token);
    }

    function oracle() external view returns (address) {
        return address(_oracle);
    }

    function marketCount() external view returns (uint8) {
        return _marketCount;
    }

    function accountCount() external view returns (uint32) {
        return _accountCount;
    }

    /// @notice USD6; negative = bad debt not covered.
    function insuranceFund() external view returns (int256) {
        return _insuranceFund;
    }

    /// @notice USD6 of net fees available for keeper rewards / admin withdrawal.
    function feePool() external view returns (uint256) {
        return _feePool;
    }

    function accountIdOf(address owner_) external view returns (uint32) {
        return _accountIdOf[owner_];
    }

    function accountOwner(uint32 accountId) external view returns (address) {
        return _accountOwner[accountId];
    }

    // ================================================================== views

    function getMarket(uint8 market) external view returns (MarketView memory v) {
        BookHot memory hot = _existingHot(market);
        RiskParams memory r = _risk[market];
        FundingParams memory fp = _fundingParams[market];
        MarketMisc memory misc = _misc[market];
        v.marketId = market;
        v.symbol = misc.symbol;
        v.feedId = misc.feedId;
        v.maxOracleAge = misc.maxOracleAge;
        v.active = hot.active;
        v.tickSize = hot.tickSize;
        v.lotSize = hot.lotSize;
        v.minNotional = hot.minNotional;
        v.imr = r.imr;
        v.mmr = r.mmr;
        v.maxLeverage = WAD * WAD / r.imr;
        v.makerFee = r.makerFee;
        v.takerFee = r.takerFee;
        v.liquidationFee = misc.liquidationFee;
        v.interestRate = fp.interestRate;
        v.maxFundingRate = fp.maxFundingRate;
        v.premiumBound = fp.premiumBound;
        v.sampleInterval = fp.sampleInterval;
        v.keeperReward = fp.keeperReward;
        v.maxPrice = MAX_TICK * hot.tickSize;
    }

    /// @notice Best bid/ask price and total size there (0, 0 when a side is empty). Expired orders are only
    ///         removed lazily, so a level may still show them until purged or met by a taker.
    function bestBidAsk(uint8 market)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
    {
        BookHot memory hot = _existingHot(market);
        if (hot.bestBid != 0) {
            bidPrice = uint256(hot.bestBid) * hot.tickSize;
            bidSize = uint256(_levels[uint256(market) << 1][hot.bestBid].lots) * hot.lotSize;
        }
        if (hot.bestAsk != 0) {
            askPrice = uint256(hot.bestAsk) * hot.tickSize;
            askSize = uint256(_levels[(uint256(market) << 1) | SELL][hot.bestAsk].lots) * hot.lotSize;
        }
    }

    /// @notice Up to `depth` price levels of one side, best first.
    function getBookLevels(uint8 market, Side side, uint256 depth)
        external
        view
        returns (uint256[] memory prices, uint256[] memory sizes, uint256[] memory orderCounts)
    {
        BookHot memory hot = _existingHot(market);
        uint256 key = (uint256(market) << 1) | uint256(side);
        prices = new uint256[](depth);
        sizes = new uint256[](depth);
        orderCounts = new uint256[](depth);
        uint256 tick = side == Side.Buy ? hot.bestBid : hot.bestAsk;
        uint256 n;
        while (n < depth && tick != 0) {
            Level memory l = _levels[key][tick];
            prices[n] = tick * hot.tickSize;
            sizes[n] = uint256(l.lots) * hot.lotSize;
            orderCounts[n] = l.count;
            ++n;
            if (side == Side.Buy) tick = tick == 1 ? 0 : _bitmaps[key].highestAtOrBelow(tick - 1);
            else tick = tick == MAX_TICK ? 0 : _bitmaps[key].lowestAtOrAbove(tick + 1);
        }
        assembly ("memory-safe") {
            mstore(prices, n)
            mstore(sizes, n)
            mstore(orderCounts, n)
        }
    }

    /// @notice Order ids resting at one price, in time priority (up to `maxOrders`).
    function getLevelOrders(uint8 market, Side side, uint256 price, uint256 maxOrders)
        external
        view
        returns (uint256[] memory orderIds)
    {
        BookHot memory hot = _existingHot(market);
        orderIds = new uint256[](maxOrders);
        if (price % hot.tickSize != 0 || price / hot.tickSize > MAX_TICK) return new uint256[](0);
        uint256 seq = _levels[(uint256(market) << 1) | uint256(side)][price / hot.tickSize].head;
        uint256 n;
        while (seq != 0 && n < maxOrders) {
            uint256 id = (uint256(market) << 40) | seq;
            orderIds[n++] = id;
            seq = _orders[id].next;
        }
        assembly ("memory-safe") {
            mstore(orderIds, n)
        }
    }

    /// @notice Order by id; `owner == address(0)` when it is not live (filled, cancelled or unknown).
    function getOrder(uint256 orderId) external view returns (OrderView memory v) {
        Order memory o = _orders[orderId];
        if (o.size == 0) return v;
        uint256 m = orderId >> 40;
        BookHot memory hot = _hot[m];
        v.orderId = orderId;
        v.owner = _accountOwner[o.account];
        v.market = uint8(m);
        v.side = Side(o.flags & FLAG_SELL);
        v.price = uint256(o.tick) * hot.tickSize;
        v.size = uint256(o.size) * hot.lotSize;
        v.filled = uint256(o.filled) * hot.lotSize;
        v.open = v.size - v.filled;
        v.expiry = o.expiry;
        v.postOnly = o.flags & FLAG_POST_ONLY != 0;
        v.reduceOnly = o.flags & FLAG_REDUCE_ONLY != 0;
        v.expired = _isExpired(o);
    }

    /// @notice Position of `owner_` in `market` (reverts on a stale oracle, like every margin read).
    function getPosition(address owner_, uint8 market) external view returns (PositionView memory v) {
        BookHot memory hot = _existingHot(market);
        Position memory p = _positions[_accountIdOf[owner_]][market];
        uint256 lotSize = hot.lotSize;
        v.size = int256(p.lots) * int256(lotSize);
        v.openNotional = p.openNotional;
        v.openBuySize = uint256(p.openBuyLots) * lotSize;
        v.openSellSize = uint256(p.openSellLots) * lotSize;
        if (p.lots != 0) {
            v.markPrice = _markPrice(market);
            v.entryPrice = FixedMath.abs(p.openNotional) * NOTIONAL_DIVISOR / FixedMath.abs(v.size);
            v.unrealizedPnl = FixedMath.mulDivFloor(v.size, int256(v.markPrice), int256(NOTIONAL_DIVISOR)) - p.openNotional;
            v.pendingFunding = _pendingFunding(p, _funding[market].index, lotSize);
        }
    }

    /// @notice Cross-margin summary at mark prices (reverts on a stale oracle of a market in use).
    function getAccount(address owner_) external view returns (AccountView memory v) {
        uint32 acct = _accountIdOf[owner_];
        if (acct == 0) return v;
        Margin memory mg = _margin(acct);
        Account memory a = _accounts[acct];
        v.accountId = acct;
        v.collateral = a.collateral;
        v.equity = mg.equity;
        v.initialMargin = mg.im;
        v.initialMarginWithOrders = mg.imOrders;
        v.maintenanceMargin = mg.mm;
        v.notional = mg.notional;
        v.marketMask = a.marketMask;
        v.liquidatable = mg.notional != 0 && mg.equity < int256(mg.mm);
    }

    function isLiquidatable(address owner_) external view returns (bool) {
        uint32 acct = _accountIdOf[owner_];
        if (acct == 0) return false;
        Margin memory mg = _margin(acct);
        return mg.notional != 0 && mg.equity < int256(mg.mm);
    }

    function markPrice(uint8 market) external view returns (uint256) {
        _existingHot(market);
        return _markPrice(market);
    }

    function nextFundingTime(uint8 market) external view returns (uint256) {
        return _funding[market].nextFundingTime;
    }

    function fundingIndex(uint8 market) external view returns (int256) {
        return _funding[market].index;
    }

    function getFunding(uint8 market) external view returns (FundingView memory v) {
        _existingHot(market);
        FundingState memory fs = _funding[market];
        PremiumAccumulator memory pa = _premium[market];
        v.index = fs.index;
        v.nextFundingTime = fs.nextFundingTime;
        v.lastSampleTime = fs.lastSampleTime;
        v.nextSampleTime = uint256(fs.lastSampleTime) + _fundingParams[market].sampleInterval;
        v.premiumSum = pa.premiumSum;
        v.sampleCount = pa.sampleCount;
        v.lastRate = pa.lastRate;
        v.projectedRate = _projectedRate(market);
    }
}
