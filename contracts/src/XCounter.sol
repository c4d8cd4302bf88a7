// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMailbox} from "./XToken.sol";

/// @notice Example target of cross-rollup calls (tests, examples): records who called it
/// from where, can call back to the source rollup (A -> B -> A), and can fail on purpose.
contract XCounter {
    IMailbox public constant MAILBOX = IMailbox(0x4200000000000000000000000000000000000023);

    uint256 public count;
    uint256 public lastSource;
    address public lastSender;

    event Pinged(uint256 indexed source, address indexed sender, uint256 count);

    error NotFromMailbox();
    error Refused(uint256 code);

    function ping() public {
        if (msg.sender != address(MAILBOX)) revert NotFromMailbox();
        count += 1;
        lastSource = MAILBOX.xSourceChain();
        lastSender = MAILBOX.xSender();
        emit Pinged(lastSource, lastSender, count);
    }

    /// Ping, then ping the same contract address back on the source rollup.
    function pingBack() external {
        ping();
        MAILBOX.send(lastSource, address(this), abi.encodeCall(this.ping, ()));
    }

    /// Send a ping to `target` on `destination` (a user-facing trigger).
    function sendPing(uint256 destination, address target) external payable {
        MAILBOX.send{value: msg.value}(destination, target, abi.encodeCall(this.ping, ()));
    }

    /// Call itself back on the source rollup, forever: stopped by the sequencer's depth limit.
    function bounce() external {
        ping();
        MAILBOX.send(lastSource, address(this), abi.encodeCall(this.bounce, ()));
    }

    function refuse() external pure {
        revert Refused(42);
    }

    receive() external payable {}
}
