// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "./interfaces/IERC20.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {FixedMath} from "./libraries/FixedMath.sol";
import {Packing} from "./libraries/Packing.sol";
import {Owned} from "./utils/Owned.sol";
import {OrderBook} from "./exchange/OrderBook.sol";
import {ExchangeBase} from "./exchange/ExchangeBase.sol";
import "./exchange/PerpTypes.sol";

/// @title PerpExchangeModule
/// @notice Collateral, admin, funding, liquidation and purge entry points of PerpExchange. Executed only
///         through PerpExchange's fallback (DELEGATECALL, on the exchange's storage); direct calls to the
///         state-changing functions revert NotDelegated. Its own fallback forwards to PerpExchangeViews.
/// @dev Funding: rate/hour = clamp(avg(premium samples) / 8 + interest, +-maxFundingRate); premium sample =
///      clamp((bookMid - oracle) / oracle, +-premiumBound), at most one per sampleInterval, 0 when the book is
///      one-sided. At each hour boundary the cumulative index moves by rate * oracle price (per elapsed hour)
///      and positions pay size * indexDelta lazily on their next touch; fills settle due funding first, so
///      the position held at the boundary is the one that pays (snapshot semantics).
///      Liquidation: when equity < maintenance margin, anyone with an account takes over (part of) the
///      position at the oracle price and receives liquidationFee * notional from the liquidated account; a
///      flat account left negative is reset to zero by the insurance fund (which may go negative = bad debt).
contract PerpExchangeModule is OrderBook, Owned {
    address private immutable _self;
    /// @notice PerpExchangeViews implementation (immutable)
    address public immutable views;

    error NotDelegated();

    /// @dev state-changing entry points must run on the exchange's storage, never on the module's own
    modifier onlyDelegated() {
        if (address(this) == _self) revert NotDelegated();
        _;
    }

    constructor(address admin, IERC20 token, IPriceFeed priceFeed, address views_) ExchangeBase(admin, token, priceFeed) {
        _checkWiring(views_);
        _self = address(this);
        views = views_;
    }

    /// @dev read-only views: executed by PerpExchangeViews on the exchange's storage
    fallback() external {
        _delegate(views);
    }

    // ================================================================== collateral

    /// @notice Deposit `amount` USD6 (approve first). Creates the caller's account on first use.
    function deposit(uint256 amount) external onlyDelegated nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (amount > uint256(int256(type(int128).max))) revert AmountTooLarge();
        uint32 acct = _getOrCreateAccount(msg.sender);
        _addCollateral(acct, int256(amount));
        emit Deposit(msg.sender, amount);
        _pullTokens(msg.sender, amount);
    }

    /// @notice Withdraw realised collateral while initial margin (incl. resting orders) stays met.
    function withdraw(uint256 amount) external onlyDelegated nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint32 acct = _requireAccount(msg.sender);
        Account memory a = _accounts[acct];
        if (amount > uint256(int256(type(int128).max)) || int256(a.collateral) < int256(amount)) {
            revert InsufficientCollateral(a.collateral, amount);
        }
        _addCollateral(acct, -int256(amount));
        if (a.marketMask != 0) _runChecks(acct, CHECK_IM);
        emit Withdraw(msg.sender, amount);
        _pushTokens(msg.sender, amount);
    }

    // ================================================================== admin

    function addMarket(MarketParams calldata p) external onlyDelegated onlyOwner returns (uint8 market) {
        if (_marketCount >= MAX_MARKETS) revert TooManyMarkets();
        _validate(p);
        market = _marketCount++;
        _hot[market] = BookHot({
            bestBid: 0,
            bestAsk: 0,
            nextSeq: 1,
            tickSize: uint40(p.tickSize),
            lotSize: uint40(p.lotSize),
            minNotional: uint40(p.minNotional),
            active: true,
            exists: true
        });
        _storeParams(market, p);
        _funding[market].nextFundingTime = uint64((block.timestamp / FUNDING_INTERVAL + 1) * FUNDING_INTERVAL);
        emit MarketAdded(market, p.symbol, p.feedId);
    }

    /// @notice Updates every parameter except tickSize and lotSize (resting orders are stored in ticks/lots).
    function updateMarket(uint8 market, MarketParams calldata p) external onlyDelegated onlyOwner {
        BookHot memory hot = _existingHot(market);
        _validate(p);
        if (p.tickSize != hot.tickSize || p.lotSize != hot.lotSize) revert InvalidMarketParams("tick/lot fixed");
        _hot[market].minNotional = uint40(p.minNotional);
        _storeParams(market, p);
        emit MarketUpdated(market);
    }

    /// @notice Inactive markets accept no new orders or replaces (so nothing trades); cancels, funding and
    ///         liquidations keep working.
    function setMarketActive(uint8 market, bool active) external onlyDelegated onlyOwner {
        _existingHot(market);
        _hot[market].active = active;
        emit MarketActiveSet(market, active);
    }

    function withdrawFees(address to, uint256 amount) external onlyDelegated onlyOwner nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount > _feePool) revert InsufficientFees(_feePool, amount);
        _feePool -= amount;
        emit FeesWithdrawn(to, amount);
        _pushTokens(to, amount);
    }

    function _validate(MarketParams calldata p) internal pure {
        if (p.tickSize == 0 || p.tickSize > type(uint40).max) revert InvalidMarketParams("tickSize");
        if (p.lotSize == 0 || p.lotSize > type(uint40).max) revert InvalidMarketParams("lotSize");
        if (p.minNotional > type(uint40).max) revert InvalidMarketParams("minNotional");
        if (p.mmr == 0 || p.mmr >= p.imr || p.imr > WAD) revert InvalidMarketParams("margin ratios");
        if (p.takerFee < 0 || p.takerFee > 5e16) revert InvalidMarketParams("takerFee");
        if (p.makerFee < -p.takerFee || p.makerFee > 5e16) revert InvalidMarketParams("makerFee");
        if (p.liquidationFee > p.mmr) revert InvalidMarketParams("liquidationFee");
        if (p.maxFundingRate == 0 || p.maxFundingRate > 4e16) revert InvalidMarketParams("maxFundingRate");
        if (p.interestRate > int256(p.maxFundingRate) || p.interestRate < -int256(p.maxFundingRate)) {
            revert InvalidMarketParams("interestRate");
        }
        if (p.premiumBound == 0 || p.premiumBound > WAD) revert InvalidMarketParams("premiumBound");
        if (p.sampleInterval == 0 || p.sampleInterval > FUNDING_INTERVAL) revert InvalidMarketParams("sampleInterval");
        if (p.keeperReward > type(uint32).max) revert InvalidMarketParams("keeperReward");
        if (p.maxOracleAge == 0) revert InvalidMarketParams("maxOracleAge");
    }

    function _storeParams(uint256 m, MarketParams calldata p) internal {
        _risk[m] = RiskParams({
            imr: uint64(p.imr),
            mmr: uint64(p.mmr),
            makerFee: int64(p.makerFee),
            takerFee: int64(p.takerFee)
        });
        _fundingParams[m] = FundingParams({
            interestRate: int64(p.interestRate),
            maxFundingRate: uint64(p.maxFundingRate),
            premiumBound: uint64(p.premiumBound),
            sampleInterval: uint32(p.sampleInterval),
            keeperReward: uint32(p.keeperReward)
        });
        _misc[m] = MarketMisc({
            liquidationFee: uint64(p.liquidationFee),
            feedId: p.feedId,
            maxOracleAge: p.maxOracleAge,
            symbol: p.symbol
        });
    }

    /// @notice Anyone may top up the insurance fund.
    function depositInsurance(uint256 amount) external onlyDelegated nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _insuranceFund += int256(amount);
        emit InsuranceDeposited(msg.sender, amount);
        _pullTokens(msg.sender, amount);
    }

    /// @notice Anyone may remove expired orders at the top of both sides of a book (up to `maxOrders`).
    function purgeExpired(uint8 market, uint256 maxOrders) external onlyDelegated returns (uint256 removed) {
        BookHot memory hot = _existingHot(market);
        removed = _purgeTop(hot, market, BUY, maxOrders);
        removed += _purgeTop(hot, market, SELL, maxOrders - removed);
        Packing.store(_hot[market], hot);
    }

    // ================================================================== funding

    /// @notice Records one premium sample (book mid vs oracle), at most once per sampleInterval and only
    ///         before the hour boundary (after it, settleFunding must run first). One-sided book: sample 0.
    function pokeFunding(uint8 market) external onlyDelegated returns (int256 premium) {
        BookHot memory hot = _existingHot(market);
        FundingState memory fs = _funding[market];
        if (block.timestamp >= fs.nextFundingTime) revert FundingDue(fs.nextFundingTime);
        FundingParams memory fp = _fundingParams[market];
        uint256 nextSample = uint256(fs.lastSampleTime) + fp.sampleInterval;
        if (block.timestamp < nextSample) revert SampleTooEarly(nextSample);
        uint256 price = _markPrice(market);
        uint256 mid;
        if (hot.bestBid != 0 && hot.bestAsk != 0) {
            mid = (uint256(hot.bestBid) + hot.bestAsk) * hot.tickSize / 2;
            int256 bound = int256(uint256(fp.premiumBound));
            premium = FixedMath.clamp((int256(mid) - int256(price)) * int256(WAD) / int256(price), -bound, bound);
        }
        _funding[market].lastSampleTime = uint64(block.timestamp);
        PremiumAccumulator storage pa = _premium[market];
        pa.premiumSum += int128(premium);
        uint32 count = pa.sampleCount + 1;
        pa.sampleCount = count;
        emit FundingSampled(market, premium, count, mid, price);
    }

    /// @notice Applies the funding rate once the hour boundary has passed (anyone; pays keeperReward from
    ///         the fee pool, capped by its balance, to the caller's account, created if needed).
    function settleFunding(uint8 market) external onlyDelegated returns (int256 rate) {
        _existingHot(market);
        uint256 next = _funding[market].nextFundingTime;
        if (block.timestamp < next) revert FundingNotDue(next);
        rate = _projectedRate(market);
        _settleFundingIfDue(market, _markPrice(market));
        uint256 reward = FixedMath.min(_fundingParams[market].keeperReward, _feePool);
        if (reward != 0) {
            _feePool -= reward;
            _addCollateral(_getOrCreateAccount(msg.sender), int256(reward));
        }
        emit KeeperRewarded(msg.sender, market, reward);
    }

    // ================================================================== liquidation

    /// @notice Liquidates `size` (base units, multiple of lotSize, <= |position|) of `account`'s position in
    ///         `market` while its equity < maintenance margin. The caller (who needs an account) takes the
    ///         position over at the oracle price and receives liquidationFee * notional from the account;
    ///         the caller must meet initial margin afterwards if its own |position| grows.
    function liquidate(address account, uint8 market, uint256 size) external onlyDelegated returns (uint256 reward) {
        uint32 liq = _requireAccount(msg.sender);
        uint32 acct = _requireAccount(account);
        if (liq == acct) revert SelfLiquidation();
        BookHot memory hot = _existingHot(market);
        uint256 price = _markPrice(market);
        _settleFundingIfDue(market, price);
        Margin memory mg = _margin(acct);
        if (mg.equity >= int256(mg.mm)) revert NotLiquidatable(mg.equity, mg.mm);
        int256 posLots = _positions[acct][market].lots;
        if (posLots == 0) revert NoPosition();
        uint256 lots = _lotsOf(size, hot.lotSize);
        if (lots > FixedMath.abs(posLots)) revert InvalidSize(size);
        int256 dLots = posLots > 0 ? int256(lots) : -int256(lots); // removed from the account
        reward = _transferPosition(acct, liq, market, dLots, price);
        emit Liquidation(account, msg.sender, market, dLots * int256(uint256(hot.lotSize)), price, reward, mg.equity, mg.mm);
        _coverShortfall(acct);
        _coverShortfall(liq);
    }

    /// @dev Moves `dLots` of the account's position to the liquidator at `price`; the account pays the fee.
    function _transferPosition(uint32 acct, uint32 liq, uint256 m, int256 dLots, uint256 price)
        internal
        returns (uint256 reward)
    {
        uint256 notional = _notional(FixedMath.abs(dLots), _hot[m].lotSize, price);
        reward = notional * _misc[m].liquidationFee / WAD;
        (uint256 liqAbsBefore,) = _riskOf(liq, m);
        _applyFill(acct, m, -dLots, notional, int256(reward), 0);
        _applyFill(liq, m, dLots, notional, -int256(reward), 0);
        (uint256 liqAbsAfter,) = _riskOf(liq, m);
        if (liqAbsAfter > liqAbsBefore) _runChecks(liq, CHECK_IM);
    }
}
