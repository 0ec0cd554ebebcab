// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Chainlink-style read interface of the push oracle, keyed by feed id.
interface IPriceFeed {
    function decimals() external view returns (uint8);

    function latestRoundData(uint256 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
