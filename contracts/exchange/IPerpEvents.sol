// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side, CancelReason} from "./PerpTypes.sol";

/// @notice Events and custom errors of PerpExchange (units: see PerpTypes.sol).
interface IPerpEvents {
    // ------------------------------------------------------------------ events
    event MarketAdded(uint8 indexed market, bytes16 symbol, uint32 feedId);
    event MarketUpdated(uint8 indexed market);
    event MarketActiveSet(uint8 indexed market, bool active);
    event AccountCreated(address indexed owner, uint32 accountId);
    event Deposit(address indexed account, uint256 amount);
    event Withdraw(address indexed account, uint256 amount);
    event InsuranceDeposited(address indexed from, uint256 amount);
    event FeesWithdrawn(address indexed to, uint256 amount);

    event OrderPlaced(
        uint256 indexed orderId,
        address indexed owner,
        uint8 indexed market,
        Side side,
        uint256 price,
        uint256 size,
        uint8 flags,
        uint32 expiry,
        uint64 clientOrderId
    );
    event OrderCancelled(uint256 indexed orderId, address indexed owner, uint256 openSize, CancelReason reason);
    /// @notice the order now rests at `price` with `size` open (filled restarts at 0); earlier fills were
    ///         reported by OrderFilled
    event OrderReplaced(uint256 indexed orderId, address indexed owner, uint256 price, uint256 size);
    /// @param price maker's price; size base units; fees USD6 (> 0 paid, < 0 rebate received)
    event OrderFilled(
        uint8 indexed market,
        uint256 indexed makerOrderId,
        uint256 indexed takerOrderId,
        address maker,
        address taker,
        Side takerSide,
        uint256 price,
        uint256 size,
        int256 makerFee,
        int256 takerFee
    );

    event FundingSampled(uint8 indexed market, int256 premium, uint256 sampleCount, uint256 midPrice, uint256 oraclePrice);
    /// @param rate per-hour rate (WAD); index cumulative (18-dec USD per unit); periods = hours applied
    event FundingSettled(uint8 indexed market, int256 rate, int256 index, uint256 oraclePrice, uint256 periods);
    event KeeperRewarded(address indexed keeper, uint8 indexed market, uint256 reward);
    /// @param amount USD6 (> 0 paid by the account, < 0 received)
    event FundingPaid(address indexed account, uint8 indexed market, int256 amount);

    event Liquidation(
        address indexed account,
        address indexed liquidator,
        uint8 indexed market,
        int256 size, // signed size removed from the liquidated account (its former direction)
        uint256 price,
        uint256 reward,
        int256 equityBefore,
        uint256 maintenanceMarginBefore
    );
    event InsuranceCovered(address indexed account, uint256 amount, int256 insuranceFundAfter);

    // ------------------------------------------------------------------ errors
    error UnknownMarket(uint256 market);
    error MarketInactive(uint256 market);
    error TooManyMarkets();
    error InvalidMarketParams(string what);
    error NoAccount(address owner);
    error ZeroAmount();
    error InsufficientCollateral(int256 collateral, uint256 amount);
    error InsufficientMargin(int256 equity, uint256 required);
    error Insolvent(int256 equity);
    error InvalidPrice(uint256 price);
    error InvalidSize(uint256 size);
    error BelowMinNotional(uint256 notional, uint256 minNotional);
    error InvalidExpiry(uint32 expiry);
    error TooManyOpenLots();
    error WouldCross();
    error ReduceOnlyViolation();
    error UnknownOrder(uint256 orderId);
    error NotOrderOwner(uint256 orderId, address caller);
    error OrderExpired(uint256 orderId);
    error StalePrice(uint256 market, uint256 updatedAt);
    error BadOraclePrice(uint256 market);
    error FundingNotDue(uint256 nextFundingTime);
    error FundingDue(uint256 nextFundingTime);
    error SampleTooEarly(uint256 nextSampleTime);
    error NotLiquidatable(int256 equity, uint256 maintenanceMargin);
    error NoPosition();
    error SelfLiquidation();
    error InsufficientFees(uint256 available, uint256 amount);
    error TransferFailed();
    error AmountTooLarge();
    error WiringMismatch();
}
