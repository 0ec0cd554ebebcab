// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Owned, OwnedState} from "./utils/Owned.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";

/// @title PushOracle
/// @notice Push oracle: addresses holding the updater role post (price, timestamp, roundId) per feed;
///         reads follow Chainlink's `latestRoundData` shape. Prices have 8 decimals (USD per 1 whole base
///         unit). Staleness is NOT judged here: every consumer applies its own max age (see
///         `priceNoOlderThan` and PerpExchange's per-market `maxOracleAge`).
/// @dev    One slot per feed. Rounds must strictly increase and timestamps must not go backwards or into
///         the future, so `answeredInRound == roundId` always holds for stored data.
contract PushOracle is Owned, IPriceFeed {
    struct Round {
        uint80 roundId;
        uint64 updatedAt;
        int112 answer;
    }

    uint8 public constant decimals = 8;

    mapping(uint256 => Round) internal _latest;
    mapping(address => bool) public isUpdater;

    event UpdaterSet(address indexed updater, bool enabled);
    event PriceUpdated(uint256 indexed feedId, uint80 indexed roundId, int256 answer, uint256 updatedAt, address updater);

    error NotUpdater(address caller);
    error InvalidAnswer(uint256 feedId, int256 answer);
    error TimestampInFuture(uint256 feedId, uint256 timestamp);
    error TimestampNotIncreasing(uint256 feedId, uint256 timestamp, uint256 lastTimestamp);
    error RoundNotIncreasing(uint256 feedId, uint80 roundId, uint80 lastRoundId);
    error LengthMismatch();
    error NoData(uint256 feedId);
    error StalePrice(uint256 feedId, uint256 updatedAt, uint256 maxAge);

    constructor(address admin) OwnedState(admin) {}

    function setUpdater(address updater, bool enabled) external onlyOwner {
        if (updater == address(0)) revert ZeroAddress();
        isUpdater[updater] = enabled;
        emit UpdaterSet(updater, enabled);
    }

    /// @notice Post one price. `timestamp` is the observation time (<= block.timestamp, >= previous).
    function postPrice(uint256 feedId, int256 answer, uint256 timestamp, uint80 roundId) external {
        if (!isUpdater[msg.sender]) revert NotUpdater(msg.sender);
        _post(feedId, answer, timestamp, roundId);
    }

    /// @notice Post several feeds in one transaction (all-or-nothing).
    function postPrices(
        uint256[] calldata feedIds,
        int256[] calldata answers,
        uint256[] calldata timestamps,
        uint80[] calldata roundIds
    ) external {
        if (!isUpdater[msg.sender]) revert NotUpdater(msg.sender);
        uint256 n = feedIds.length;
        if (answers.length != n || timestamps.length != n || roundIds.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            _post(feedIds[i], answers[i], timestamps[i], roundIds[i]);
        }
    }

    function _post(uint256 feedId, int256 answer, uint256 timestamp, uint80 roundId) internal {
        if (answer <= 0 || answer > type(int112).max) revert InvalidAnswer(feedId, answer);
        if (timestamp > block.timestamp) revert TimestampInFuture(feedId, timestamp);
        Round memory last = _latest[feedId];
        if (roundId <= last.roundId) revert RoundNotIncreasing(feedId, roundId, last.roundId);
        if (timestamp < last.updatedAt || timestamp == 0) {
            revert TimestampNotIncreasing(feedId, timestamp, last.updatedAt);
        }
        _latest[feedId] = Round({roundId: roundId, updatedAt: uint64(timestamp), answer: int112(answer)});
        emit PriceUpdated(feedId, roundId, answer, timestamp, msg.sender);
    }

    /// @notice Chainlink-shaped read. All zeros when the feed has never been posted.
    function latestRoundData(uint256 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory r = _latest[feedId];
        return (r.roundId, r.answer, r.updatedAt, r.updatedAt, r.roundId);
    }

    /// @notice Convenience consumer read: reverts `StalePrice` when older than `maxAge` seconds.
    function priceNoOlderThan(uint256 feedId, uint256 maxAge) external view returns (uint256 price, uint256 updatedAt) {
        Round memory r = _latest[feedId];
        if (r.roundId == 0) revert NoData(feedId);
        if (block.timestamp - r.updatedAt > maxAge) revert StalePrice(feedId, r.updatedAt, maxAge);
        return (uint256(int256(r.answer)), r.updatedAt);
    }
}
