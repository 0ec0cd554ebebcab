// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {OwnedState} from "../utils/Owned.sol";
import {ReentrancyGuard} from "../utils/ReentrancyGuard.sol";
import {IERC20} from "../interfaces/IERC20.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {FixedMath} from "../libraries/FixedMath.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {Packing} from "../libraries/Packing.sol";
import {IPerpEvents} from "./IPerpEvents.sol";
import "./PerpTypes.sol";

/// @title ExchangeBase
/// @notice Storage, accounts, positions, cross-margin and funding accounting of PerpExchange.
/// @dev Accounting identity (tested as an invariant): for every account
///        cash = collateral - openNotional - pendingFunding,  equity = cash + size * mark
///      and a fill at price p for n units moves exactly n*p of cash from buyer to seller; fees move cash
///      to the fee pool; funding rounds in favour of the protocol. Hence
///        sum(equity) + feePool + insuranceFund == deposits - withdrawals + insuranceDeposits - feeWithdrawals
///      up to funding rounding dust (which stays in the contract).
abstract contract ExchangeBase is IPerpEvents, OwnedState, ReentrancyGuard {
    using FixedMath for uint256;

    /// @dev margin summary of one account at mark (oracle) prices
    struct Margin {
        int256 equity; // collateral + uPnL - pending funding
        uint256 im; // initial margin of positions
        uint256 imOrders; // initial margin of max(|q + openBuys|, |q - openSells|) per market
        uint256 mm; // maintenance margin
        uint256 notional; // sum |q| * mark
    }

    uint8 internal constant CHECK_IM = 1; // equity >= initial margin incl. resting orders
    uint8 internal constant CHECK_SOLVENT = 2; // equity >= 0

    // Public getters for these live in PerpExchangeViews (code size of the trading core).
    IERC20 internal immutable _token;
    IPriceFeed internal immutable _oracle;

    uint8 internal _marketCount;
    uint32 internal _accountCount;
    /// @dev USD6; may become negative (bad debt) if a shortfall exceeds it.
    int256 internal _insuranceFund;
    /// @dev USD6 of net trading fees (taker fees minus maker rebates) not yet withdrawn or paid as rewards.
    uint256 internal _feePool;

    mapping(uint256 => BookHot) internal _hot;
    mapping(uint256 => RiskParams) internal _risk;
    mapping(uint256 => FundingParams) internal _fundingParams;
    mapping(uint256 => MarketMisc) internal _misc;
    mapping(uint256 => FundingState) internal _funding;
    mapping(uint256 => PremiumAccumulator) internal _premium;

    mapping(address => uint32) internal _accountIdOf;
    mapping(uint32 => address) internal _accountOwner;
    mapping(uint32 => Account) internal _accounts;
    mapping(uint32 => mapping(uint256 => Position)) internal _positions;

    constructor(address admin, IERC20 token, IPriceFeed priceFeed) OwnedState(admin) {
        if (address(token) == address(0) || address(priceFeed) == address(0)) revert ZeroAddress();
        _token = token;
        _oracle = priceFeed;
    }

    /// @notice Token and oracle this component was deployed with (the three exchange components must match).
    function wiring() public view returns (address token, address priceFeed) {
        return (address(_token), address(_oracle));
    }

    /// @dev Reverts unless `next` (the next component of the delegatecall chain) uses the same token/oracle.
    function _checkWiring(address next) internal view {
        (address t, address o) = ExchangeBase(next).wiring();
        if (t != address(_token) || o != address(_oracle)) revert WiringMismatch();
    }

    /// @dev Forwards the call to `impl` with DELEGATECALL and bubbles up its result or revert data.
    function _delegate(address impl) internal {
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ------------------------------------------------------------------ accounts

    function _requireAccount(address owner_) internal view returns (uint32 id) {
        id = _accountIdOf[owner_];
        if (id == 0) revert NoAccount(owner_);
    }

    function _getOrCreateAccount(address owner_) internal returns (uint32 id) {
        id = _accountIdOf[owner_];
        if (id == 0) {
            id = ++_accountCount;
            _accountIdOf[owner_] = id;
            _accountOwner[id] = owner_;
            emit AccountCreated(owner_, id);
        }
    }

    function _addCollateral(uint32 acct, int256 delta) internal {
        Account storage a = _accounts[acct];
        int256 c = a.collateral + delta;
        if (c > type(int128).max || c < type(int128).min) revert AmountTooLarge();
        a.collateral = int128(c);
    }

    function _setMarketBit(uint32 acct, uint256 m) internal {
        Account storage a = _accounts[acct];
        uint64 mask = a.marketMask;
        uint64 bit = uint64(1 << m);
        if (mask & bit == 0) a.marketMask = mask | bit;
    }

    function _clearMarketBit(uint32 acct, uint256 m) internal {
        Account storage a = _accounts[acct];
        uint64 mask = a.marketMask;
        uint64 bit = uint64(1 << m);
        if (mask & bit != 0) a.marketMask = mask & ~bit;
    }

    // ------------------------------------------------------------------ token transfers

    function _pullTokens(address from, uint256 amount) internal {
        (bool ok, bytes memory ret) =
            address(_token).call(abi.encodeCall(IERC20.transferFrom, (from, address(this), amount)));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }

    function _pushTokens(address to, uint256 amount) internal {
        (bool ok, bytes memory ret) = address(_token).call(abi.encodeCall(IERC20.transfer, (to, amount)));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }

    // ------------------------------------------------------------------ markets & oracle

    function _existingHot(uint256 m) internal view returns (BookHot memory hot) {
        hot = _hot[m];
        if (!hot.exists) revert UnknownMarket(m);
    }

    function _activeHot(uint256 m) internal view returns (BookHot memory hot) {
        hot = _existingHot(m);
        if (!hot.active) revert MarketInactive(m);
    }

    uint256 internal constant PRICE_OK = 0;
    uint256 internal constant PRICE_BAD = 1;
    uint256 internal constant PRICE_STALE = 2;

    /// @dev Reads the oracle for market `m` without reverting: status PRICE_OK / PRICE_BAD / PRICE_STALE.
    function _readMark(uint256 m) internal view returns (uint256 status, uint256 price, uint256 updatedAt) {
        MarketMisc memory misc = _misc[m];
        (uint80 roundId, int256 answer,, uint256 upd, uint80 answeredInRound) = _oracle.latestRoundData(misc.feedId);
        if (answer <= 0 || answeredInRound < roundId) return (PRICE_BAD, 0, upd);
        if (upd == 0 || upd + misc.maxOracleAge < block.timestamp) return (PRICE_STALE, 0, upd);
        return (PRICE_OK, uint256(answer), upd);
    }

    /// @notice Mark price = oracle price (as dYdX v4 margins on the oracle price); reverts when stale/invalid.
    function _markPrice(uint256 m) internal view returns (uint256 price) {
        uint256 status;
        uint256 updatedAt;
        (status, price, updatedAt) = _readMark(m);
        if (status == PRICE_BAD) revert BadOraclePrice(m);
        if (status == PRICE_STALE) revert StalePrice(m, updatedAt);
    }

    // ------------------------------------------------------------------ math helpers

    function _notional(uint256 lots, uint256 lotSize, uint256 price) internal pure returns (uint256) {
        return lots * lotSize * price / NOTIONAL_DIVISOR;
    }

    /// @dev initial/maintenance requirement of `lots` at `price` for ratio `ratio` (rounded up twice)
    function _requirement(uint256 lots, uint256 lotSize, uint256 price, uint256 ratio) internal pure returns (uint256) {
        return (lots * lotSize).mulDivUp(price, NOTIONAL_DIVISOR).mulDivUp(ratio, WAD);
    }

    /// @dev positive fees round up (paid), negative fees (rebates) round towards zero.
    function _fee(uint256 notional, int256 rate) internal pure returns (int256) {
        if (rate >= 0) return int256(notional.mulDivUp(uint256(rate), WAD));
        return -int256(notional.mulDivDown(uint256(-rate), WAD));
    }

    function _pendingFunding(Position memory p, int256 index, uint256 lotSize) internal pure returns (int256) {
        if (p.lots == 0) return 0;
        return FixedMath.mulDivCeil(int256(p.lots) * int256(lotSize), index - p.fundingSnapshot, FUNDING_DIVISOR);
    }

    /// @dev exposure incl. resting orders: max(|q + openBuys|, |q - openSells|) in lots
    function _exposure(Position memory p) internal pure returns (uint256) {
        int256 q = p.lots;
        return FixedMath.max(FixedMath.abs(q + int256(uint256(p.openBuyLots))), FixedMath.abs(q - int256(uint256(p.openSellLots))));
    }

    // ------------------------------------------------------------------ margin

    /// @dev Cross-margin summary; reverts if the oracle of any market in use is stale or invalid.
    function _margin(uint32 acct) internal view returns (Margin memory mg) {
        (, mg) = _computeMargin(acct, true);
    }

    /// @dev As _margin but returns ok = false instead of reverting on a bad oracle (used for makers, so a
    ///      stale feed in another market of the maker cancels its order instead of blocking the taker).
    function _computeMargin(uint32 acct, bool strict) internal view returns (bool ok, Margin memory mg) {
        Account memory a = _accounts[acct];
        mg.equity = a.collateral;
        uint256 mask = a.marketMask;
        while (mask != 0) {
            uint256 m = TickBitmap.lsb(mask);
            mask &= mask - 1;
            uint256 price;
            if (strict) {
                price = _markPrice(m);
            } else {
                uint256 status;
                (status, price,) = _readMark(m);
                if (status != PRICE_OK) return (false, mg);
            }
            _addMarketMargin(mg, acct, m, price);
        }
        ok = true;
    }

    function _addMarketMargin(Margin memory mg, uint32 acct, uint256 m, uint256 price) internal view {
        Position memory p = _positions[acct][m];
        uint256 lotSize = _hot[m].lotSize;
        RiskParams memory r = _risk[m];
        if (p.lots != 0) {
            int256 size = int256(p.lots) * int256(lotSize);
            mg.equity += FixedMath.mulDivFloor(size, int256(price), int256(NOTIONAL_DIVISOR)) - p.openNotional
                - _pendingFunding(p, _funding[m].index, lotSize);
            uint256 absLots = FixedMath.abs(p.lots);
            mg.notional += _notional(absLots, lotSize, price);
            mg.im += _requirement(absLots, lotSize, price, r.imr);
            mg.mm += _requirement(absLots, lotSize, price, r.mmr);
        }
        mg.imOrders += _requirement(_exposure(p), lotSize, price, r.imr);
    }

    /// @dev CHECK_IM: equity >= IM incl. orders (risk increased); CHECK_SOLVENT: equity >= 0.
    function _runChecks(uint32 acct, uint8 checks) internal view {
        if (checks == 0) return;
        Margin memory mg = _margin(acct);
        if (checks & CHECK_IM != 0) {
            if (mg.equity < int256(mg.imOrders)) revert InsufficientMargin(mg.equity, mg.imOrders);
        } else if (mg.equity < 0) {
            revert Insolvent(mg.equity);
        }
    }

    // ------------------------------------------------------------------ positions

    /// @notice Apply a fill of `dLots` (signed, + = buy) for `notional` USD6 and `fee` USD6 to an account.
    /// @param released resting-order lots consumed by this fill (maker side), 0 for takers/liquidations.
    function _applyFill(uint32 acct, uint256 m, int256 dLots, uint256 notional, int256 fee, uint256 released) internal {
        Position memory p = _positions[acct][m];
        uint256 lotSize = _hot[m].lotSize;
        int256 paid = _pendingFunding(p, _funding[m].index, lotSize);
        p.fundingSnapshot = _funding[m].index;
        if (paid != 0) emit FundingPaid(_accountOwner[acct], uint8(m), paid);
        int256 cash = _updatePosition(p, dLots, notional) - fee - paid;
        if (released != 0) {
            if (dLots > 0) p.openBuyLots -= uint32(released);
            else p.openSellLots -= uint32(released);
        }
        Packing.store(_positions[acct][m], p);
        _addCollateral(acct, cash);
        if (p.lots == 0 && p.openBuyLots == 0 && p.openSellLots == 0) _clearMarketBit(acct, m);
        else _setMarketBit(acct, m);
    }

    /// @dev Updates size and cost basis; returns the collateral change (realised PnL). By construction
    ///      collateral - openNotional changes by exactly -sign(dLots) * notional.
    function _updatePosition(Position memory p, int256 dLots, uint256 notional) internal pure returns (int256 cash) {
        int256 lots = p.lots;
        int256 on = p.openNotional;
        int256 signedNotional = dLots > 0 ? int256(notional) : -int256(notional);
        int256 newOn;
        if (lots == 0 || (lots > 0) == (dLots > 0)) {
            newOn = on + signedNotional; // increase: no realised PnL
        } else {
            uint256 absLots = FixedMath.abs(lots);
            uint256 absD = FixedMath.abs(dLots);
            if (absD < absLots) {
                newOn = on - on * int256(absD) / int256(absLots); // close a pro-rata part of the cost basis
            } else if (absD > absLots) {
                uint256 openPart = notional * (absD - absLots) / absD; // flip: the rest opens the other side
                newOn = dLots > 0 ? int256(openPart) : -int256(openPart);
            } // else fully closed: newOn = 0
        }
        p.openNotional = int128(newOn);
        p.lots = int64(lots + dLots);
        cash = newOn - on - signedNotional;
    }

    /// @dev A flat account (no position in any market) never keeps a negative balance: the insurance fund
    ///      absorbs it (and may itself go negative = recorded bad debt). Only called once the fill that
    ///      flattened the account passed its checks (a voluntary fill may never create a deficit: a fill
    ///      that lowers equity must leave it >= 0), so insurance only pays pre-existing deficits or
    ///      liquidation shortfalls.
    function _coverShortfall(uint32 acct) internal {
        Account memory a = _accounts[acct];
        if (a.collateral >= 0) return;
        uint256 mask = a.marketMask;
        while (mask != 0) {
            uint256 m = TickBitmap.lsb(mask);
            mask &= mask - 1;
            if (_positions[acct][m].lots != 0) return;
        }
        int256 deficit = -int256(a.collateral);
        _insuranceFund -= deficit;
        _accounts[acct].collateral = 0;
        emit InsuranceCovered(_accountOwner[acct], uint256(deficit), _insuranceFund);
    }

    // ------------------------------------------------------------------ funding

    /// @dev rate = clamp(avgPremium / 8 + interest, +-maxFundingRate)   (per hour, WAD)
    function _projectedRate(uint256 m) internal view returns (int256) {
        PremiumAccumulator memory pa = _premium[m];
        FundingParams memory fp = _fundingParams[m];
        int256 avgPremium = pa.sampleCount == 0 ? int256(0) : int256(pa.premiumSum) / int256(uint256(pa.sampleCount));
        int256 cap = int256(uint256(fp.maxFundingRate));
        return FixedMath.clamp(avgPremium / PREMIUM_PERIODS + fp.interestRate, -cap, cap);
    }

    /// @dev Settles every whole hour elapsed since nextFundingTime (same rate for each missed hour) by
    ///      moving the cumulative index; positions pay lazily on their next touch. Because every fill and
    ///      liquidation calls this first, a position opened after the hour boundary never pays for it.
    function _settleFundingIfDue(uint256 m, uint256 price) internal returns (bool settled) {
        FundingState memory fs = _funding[m];
        if (block.timestamp < fs.nextFundingTime) return false;
        uint256 periods = (block.timestamp - fs.nextFundingTime) / FUNDING_INTERVAL + 1;
        int256 rate = _projectedRate(m);
        int256 index = fs.index + rate * int256(price) * int256(periods) / int256(PRICE_SCALE);
        fs.index = int128(index);
        fs.nextFundingTime += uint64(periods * FUNDING_INTERVAL);
        _funding[m] = fs;
        _premium[m] = PremiumAccumulator({premiumSum: 0, sampleCount: 0, lastRate: int64(rate)});
        emit FundingSettled(uint8(m), rate, index, price, periods);
        return true;
    }
}
