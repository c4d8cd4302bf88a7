// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A small contract the test suite and the walkthrough deploy: storage, events,
/// a revert with a reason and a custom error, and a view that depends on the block.
contract Counter {
    uint256 public count;
    mapping(address => uint256) public byUser;

    event Incremented(address indexed by, uint256 newCount);

    error TooLarge(uint256 given, uint256 limit);

    function increment() external {
        count += 1;
        byUser[msg.sender] += 1;
        emit Incremented(msg.sender, count);
    }

    function add(uint256 amount) external {
        if (amount > 1000) revert TooLarge(amount, 1000);
        count += amount;
        emit Incremented(msg.sender, count);
    }

    function fail() external pure {
        revert("counter: always fails");
    }

    function stamp() external view returns (uint256 number, uint256 time, uint256 chain) {
        return (block.number, block.timestamp, block.chainid);
    }
}
