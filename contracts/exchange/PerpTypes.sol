// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// ------------------------------------------------------------------------------------------------
// Units (all public inputs/outputs of PerpExchange use these scales)
//   collateral / USD amounts : 6 decimals (1e6 = 1 USD)            e.g. fees, collateral, notional
//   price                    : 8 decimals, USD per 1 whole base unit (same as the oracle answer)
//   size                     : 8 decimals of the base asset (1e8 = 1 BTC); long > 0, short < 0
//   ratios and rates         : 18 decimals (1e18 = 100 %): margins, fees, funding rates (per hour)
//   funding index            : 18-decimal USD per 1 whole base unit, cumulative
//   notional (USD6)          = size * price / 1e10
//   funding payment (USD6)   = size * (indexNow - indexAtLastTouch) / 1e20     (> 0: paid by the holder)
// Internally the book stores prices as ticks (price = tick * tickSize) and sizes as lots
// (size = lots * lotSize) so that one order fits in one storage slot.
// ------------------------------------------------------------------------------------------------

uint256 constant PRICE_SCALE = 1e8;
uint256 constant SIZE_SCALE = 1e8;
uint256 constant NOTIONAL_DIVISOR = 1e10; // SIZE_SCALE * PRICE_SCALE / 1e6
int256 constant FUNDING_DIVISOR = 1e20; // SIZE_SCALE * 1e18 / 1e6
uint256 constant WAD = 1e18;
uint256 constant FUNDING_INTERVAL = 1 hours;
/// @dev funding rate per hour = clamp(avgPremium / PREMIUM_PERIODS + interest) (premium is an 8-h quantity)
int256 constant PREMIUM_PERIODS = 8;
uint256 constant MAX_TICK = (1 << 24) - 1;
uint256 constant MAX_LOTS = type(uint32).max;
uint256 constant MAX_MARKETS = 64;

uint256 constant BUY = 0;
uint256 constant SELL = 1;

// Order.flags
uint8 constant FLAG_SELL = 1;
uint8 constant FLAG_POST_ONLY = 2;
uint8 constant FLAG_REDUCE_ONLY = 4;
uint8 constant FLAG_IOC = 8;

enum Side {
    Buy,
    Sell
}

enum CancelReason {
    User, // owner cancelled
    Expired, // expiry passed; removed lazily when met by the matcher, a crossing check or purgeExpired
    SelfTrade, // self-trade prevention: the resting (maker) order of the taker's own account is cancelled
    Margin, // maker failed the margin check at fill time
    ReduceOnly, // reduce-only order whose position is gone
    Unfilled // IOC remainder, or reduce-only remainder that can no longer reduce
}

/// @dev One storage slot. `prev` is only meaningful when the order is not the head of its level.
struct Order {
    uint40 prev; // sequence number of the previous order at the same tick
    uint40 next; // sequence number of the next order at the same tick (0 = tail)
    uint32 account; // account id
    uint32 size; // lots (size of the order since placement / last replace)
    uint32 filled; // lots filled since placement / last replace
    uint32 expiry; // unix seconds; 0 = good-til-cancelled; fillable only while block.timestamp < expiry
    uint24 tick;
    uint8 flags;
}

/// @dev One storage slot per (market, side, tick). `used` keeps an emptied slot non-zero so that
///      re-opening a level costs a 5k (dirty) instead of a 20k (fresh) SSTORE.
struct Level {
    uint40 head;
    uint40 tail;
    uint64 lots;
    uint32 count;
    bool used;
}

/// @dev Hot slot per market: everything place/cancel/replace needs, in one SLOAD.
struct BookHot {
    uint24 bestBid; // 0 = no bids
    uint24 bestAsk; // 0 = no asks
    uint40 nextSeq; // next order sequence number; orderId = market << 40 | seq
    uint40 tickSize; // price units per tick
    uint40 lotSize; // size units per lot
    uint40 minNotional; // USD6, for resting orders
    bool active;
    bool exists;
}

struct RiskParams {
    uint64 imr; // initial margin ratio (WAD); max leverage = 1 / imr
    uint64 mmr; // maintenance margin ratio (WAD)
    int64 makerFee; // WAD, may be negative (rebate)
    int64 takerFee; // WAD
}

struct FundingParams {
    int64 interestRate; // WAD per hour
    uint64 maxFundingRate; // WAD per hour, |rate| clamp
    uint64 premiumBound; // WAD, |premium sample| clamp
    uint32 sampleInterval; // seconds between two premium samples
    uint32 keeperReward; // USD6 paid to settleFunding's caller from the fee pool
}

struct MarketMisc {
    uint64 liquidationFee; // WAD of closed notional, paid by the liquidated account to the liquidator
    uint32 feedId; // oracle feed id
    uint32 maxOracleAge; // seconds
    bytes16 symbol;
}

struct FundingState {
    int128 index; // cumulative funding per whole base unit, 18-dec USD
    uint64 nextFundingTime;
    uint64 lastSampleTime;
}

struct PremiumAccumulator {
    int128 premiumSum; // WAD, sum of clamped samples in the current hour
    uint32 sampleCount;
    int64 lastRate; // WAD per hour, rate applied at the last settlement
}

struct Account {
    int128 collateral; // USD6; realised balance (deposits, realised PnL, settled funding, fees)
    uint64 marketMask; // bit m set <=> position or open orders in market m
}

/// @dev slot 1 is touched by order placement/cancel (open lots) and fills; slot 2 only by fills/funding.
struct Position {
    int64 lots;
    int128 openNotional; // USD6 signed cost basis (long > 0)
    uint32 openBuyLots; // lots of resting buy orders
    uint32 openSellLots; // lots of resting sell orders
    int128 fundingSnapshot; // funding index at the last touch
}

/// @notice Admin input for addMarket / updateMarket.
struct MarketParams {
    bytes16 symbol;
    uint32 feedId;
    uint32 maxOracleAge; // seconds
    uint256 tickSize; // price units (8 dec)
    uint256 lotSize; // size units (8 dec)
    uint256 minNotional; // USD6
    uint256 imr; // WAD
    uint256 mmr; // WAD
    int256 makerFee; // WAD, >= -takerFee
    int256 takerFee; // WAD
    uint256 liquidationFee; // WAD, <= mmr
    int256 interestRate; // WAD per hour
    uint256 maxFundingRate; // WAD per hour
    uint256 premiumBound; // WAD
    uint256 sampleInterval; // seconds
    uint256 keeperReward; // USD6
}

struct PlaceParams {
    uint8 market;
    Side side;
    uint256 price;
    uint256 size;
    bool postOnly;
    bool reduceOnly;
    uint32 expiry;
    uint64 clientOrderId;
}

struct ReplaceParams {
    uint256 orderId;
    uint256 newPrice;
    uint256 newSize;
}

// ---------------------------------- views ----------------------------------

struct OrderView {
    uint256 orderId;
    address owner;
    uint8 market;
    Side side;
    uint256 price;
    uint256 size;
    uint256 filled;
    uint256 open;
    uint32 expiry;
    bool postOnly;
    bool reduceOnly;
    bool expired;
}

struct PositionView {
    int256 size;
    int256 openNotional;
    uint256 entryPrice;
    int256 unrealizedPnl; // at mark (oracle) price
    int256 pendingFunding; // > 0: owed by the account
    uint256 openBuySize;
    uint256 openSellSize;
    uint256 markPrice;
}

struct AccountView {
    uint32 accountId;
    int256 collateral;
    int256 equity;
    uint256 initialMargin; // positions only
    uint256 initialMarginWithOrders; // positions + resting orders (placement / withdrawal check)
    uint256 maintenanceMargin;
    uint256 notional;
    uint64 marketMask;
    bool liquidatable;
}

struct MarketView {
    uint8 marketId;
    bytes16 symbol;
    uint32 feedId;
    uint32 maxOracleAge;
    bool active;
    uint256 tickSize;
    uint256 lotSize;
    uint256 minNotional;
    uint256 imr;
    uint256 mmr;
    uint256 maxLeverage; // WAD
    int256 makerFee;
    int256 takerFee;
    uint256 liquidationFee;
    int256 interestRate;
    uint256 maxFundingRate;
    uint256 premiumBound;
    uint256 sampleInterval;
    uint256 keeperReward;
    uint256 maxPrice;
}

struct FundingView {
    int256 index;
    uint256 nextFundingTime;
    uint256 lastSampleTime;
    uint256 nextSampleTime;
    int256 premiumSum;
    uint256 sampleCount;
    int256 lastRate;
    int256 projectedRate; // rate settleFunding would apply now from the samples so far
}
