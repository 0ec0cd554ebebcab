// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import "../exchange/PerpTypes.sol";

/// @title IPerpExchange
/// @notice Complete external ABI of the exchange address (PerpExchange core + PerpExchangeModule +
///         PerpExchangeViews, the latter two reached through the core's fallback). Use this ABI off-chain.
///         Units: collateral USD 6 dec; price 8 dec (USD per whole base unit); size 8 dec (base units);
///         ratios / fees / funding rates 18 dec (1e18 = 100 %); funding rates are per hour.
interface IPerpExchange is IPerpEvents {
    // ---- events / errors of shared base contracts
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error Unauthorized(address caller);
    error ZeroAddress();
    error Reentrancy();
    error NotDelegated();

    // ---- trading core (PerpExchange)
    function place(
        uint8 market,
        Side side,
        uint256 price,
        uint256 size,
        bool postOnly,
        bool reduceOnly,
        uint32 expiry,
        uint64 clientOrderId
    ) external returns (uint256 orderId);
    function placeIOC(uint8 market, Side side, uint256 limitPrice, uint256 size, bool reduceOnly, uint64 clientOrderId)
        external
        returns (uint256 orderId, uint256 filledSize);
    function cancel(uint256 orderId) external;
    function replace(uint256 orderId, uint256 newPrice, uint256 newSize) external;
    function batch(uint256[] calldata cancels, ReplaceParams[] calldata replaces, PlaceParams[] calldata places)
        external
        returns (uint256[] memory orderIds);
    function module() external view returns (address);
    function wiring() external view returns (address token, address priceFeed);
    function owner() external view returns (address);
    function pendingOwner() external view returns (address);

    // ---- module: collateral, admin, funding, liquidation
    function deposit(uint256 amount) external;
    function withdraw(uint256 amount) external;
    function depositInsurance(uint256 amount) external;
    function addMarket(MarketParams calldata p) external returns (uint8 market);
    function updateMarket(uint8 market, MarketParams calldata p) external;
    function setMarketActive(uint8 market, bool active) external;
    function withdrawFees(address to, uint256 amount) external;
    function transferOwnership(address newOwner) external;
    function acceptOwnership() external;
    function purgeExpired(uint8 market, uint256 maxOrders) external returns (uint256 removed);
    function pokeFunding(uint8 market) external returns (int256 premium);
    function settleFunding(uint8 market) external returns (int256 rate);
    function liquidate(address account, uint8 market, uint256 size) external returns (uint256 reward);
    function views() external view returns (address);

    // ---- views
    function collateralToken() external view returns (address);
    function oracle() external view returns (address);
    function marketCount() external view returns (uint8);
    function accountCount() external view returns (uint32);
    function insuranceFund() external view returns (int256);
    function feePool() external view returns (uint256);
    function accountIdOf(address owner_) external view returns (uint32);
    function accountOwner(uint32 accountId) external view returns (address);
    function getMarket(uint8 market) external view returns (MarketView memory);
    function bestBidAsk(uint8 market)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize);
    function getBookLevels(uint8 market, Side side, uint256 depth)
        external
        view
        returns (uint256[] memory prices, uint256[] memory sizes, uint256[] memory orderCounts);
    function getLevelOrders(uint8 market, Side side, uint256 price, uint256 maxOrders)
        external
        view
        returns (uint256[] memory orderIds);
    function getOrder(uint256 orderId) external view returns (OrderView memory);
    function getPosition(address owner_, uint8 market) external view returns (PositionView memory);
    function getAccount(address owner_) external view returns (AccountView memory);
    function isLiquidatable(address owner_) external view returns (bool);
    function markPrice(uint8 market) external view returns (uint256);
    function nextFundingTime(uint8 market) external view returns (uint256);
    function fundingIndex(uint8 market) external view returns (int256);
    function getFunding(uint8 market) external view returns (FundingView memory);
}
