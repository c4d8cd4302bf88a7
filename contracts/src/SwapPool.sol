// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A constant-product pool of two internal assets, X and USD (0.3% fee), for the
/// sandwich demonstration (examples/sandwich.py): a trader's slippage bound is `minOut`.
/// `faucet` credits anyone: it is a devnet toy, not a token.
contract SwapPool {
    uint256 public reserveX;
    uint256 public reserveUsd;
    mapping(address => uint256) public x;
    mapping(address => uint256) public usd;

    event Swap(address indexed trader, bool sellX, uint256 amountIn, uint256 amountOut);

    constructor(uint256 rx, uint256 ru) {
        reserveX = rx;
        reserveUsd = ru;
    }

    function faucet(address to, uint256 ax, uint256 au) external {
        x[to] += ax;
        usd[to] += au;
    }

    /// @notice What `swap(sellX, amountIn, 0)` pays out now.
    function quote(bool sellX, uint256 amountIn) public view returns (uint256) {
        (uint256 rin, uint256 rout) = sellX ? (reserveX, reserveUsd) : (reserveUsd, reserveX);
        uint256 inFee = amountIn * 997;
        return (inFee * rout) / (rin * 1000 + inFee);
    }

    function swap(bool sellX, uint256 amountIn, uint256 minOut) external returns (uint256 out) {
        out = quote(sellX, amountIn);
        require(out >= minOut, "slippage");
        if (sellX) {
            x[msg.sender] -= amountIn;
            usd[msg.sender] += out;
            reserveX += amountIn;
            reserveUsd -= out;
        } else {
            usd[msg.sender] -= amountIn;
            x[msg.sender] += out;
            reserveUsd += amountIn;
            reserveX -= out;
        }
        emit Swap(msg.sender, sellX, amountIn, out);
    }
}
