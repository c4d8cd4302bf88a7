// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Mailbox — cross-rollup calls executed by the shared sequencer in the same slot.
/// @notice Predeployed at the same address on every rollup. `send` records a message to
/// another rollup; the sequencer then calls `deliver` on the destination in the same slot,
/// as its system account. If the delivered call reverts, the sequencer drops the whole
/// originating transaction (or bundle) everywhere.
/// Each mailbox keeps, per counterparty, a rolling root of the messages it sent and
/// received: A.outboxRoot[B] == B.inboxRoot[A] after every slot.
/// Native ETH sent with a message is locked here on the source and paid out of this
/// contract's reserve on the destination, so ETH is conserved across rollups.
/// The L1 (chain id 900) is one more counterparty: a message `send` toward 900 is a
/// withdrawal (never delivered here; its value stays locked, claimable on L1 through the
/// Portal once the slot is finalized), and `receiveDeposit` delivers an L1 Portal deposit
/// (inboxRoot[900] rolls with the same message ids the Portal rolls on L1).
contract Mailbox {
    /// The sequencer's system account (key: keccak256("xseqd devnet system account key")),
    /// the only caller allowed to deliver.
    address public constant SYSTEM = 0xC94BE4064c3892F19b298038DAD4d6e5704BC8a2;

    mapping(uint256 => bytes32) public outboxRoot;
    mapping(uint256 => bytes32) public inboxRoot;
    mapping(uint256 => uint256) public outboxCount;
    mapping(uint256 => uint256) public inboxCount;

    /// Source chain and sender of the message being delivered (0 outside a delivery).
    uint256 public transient xSourceChain;
    address public transient xSender;

    event MessageSent(
        bytes32 indexed id,
        uint256 indexed destination,
        address indexed sender,
        address target,
        uint256 value,
        uint256 nonce,
        bytes data
    );
    event MessageDelivered(bytes32 indexed id, uint256 indexed source, address indexed target);

    event DepositReceived(
        bytes32 indexed id,
        bytes32 indexed l1TxHash,
        address indexed target,
        uint256 logIndex,
        uint256 value,
        bool success
    );

    /// Gas a deposit's call to its target gets.
    uint256 public constant DEPOSIT_GAS = 1_000_000;

    error OnlySystem();
    error SameChain();
    error OutOfOrder(uint256 expected, uint256 got);

    function messageId(
        uint256 source,
        uint256 destination,
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        bytes calldata data
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(source, destination, nonce, sender, target, value, data));
    }

    /// @notice Call `target` with `data` (and `msg.value`) on rollup `destination`, this slot.
    function send(uint256 destination, address target, bytes calldata data)
        external
        payable
        returns (bytes32 id)
    {
        if (destination == block.chainid) revert SameChain();
        uint256 nonce = outboxCount[destination]++;
        id = messageId(block.chainid, destination, nonce, msg.sender, target, msg.value, data);
        outboxRoot[destination] = keccak256(abi.encode(outboxRoot[destination], id));
        emit MessageSent(id, destination, msg.sender, target, msg.value, nonce, data);
    }

    /// @notice Executed by the sequencer on the destination rollup. Reverts (bubbling the
    /// target's revert data) if the call fails, which makes the sequencer drop the origin.
    function deliver(
        uint256 source,
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        bytes calldata data
    ) external {
        if (msg.sender != SYSTEM) revert OnlySystem();
        uint256 expected = inboxCount[source]++;
        if (nonce != expected) revert OutOfOrder(expected, nonce);
        bytes32 id = messageId(source, block.chainid, nonce, sender, target, value, data);
        inboxRoot[source] = keccak256(abi.encode(inboxRoot[source], id));
        (uint256 outerSource, address outerSender) = (xSourceChain, xSender);
        (xSourceChain, xSender) = (source, sender);
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        (xSourceChain, xSender) = (outerSource, outerSender);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        emit MessageDelivered(id, source, target);
    }

    /// @notice Executed by the sequencer for an L1 Portal deposit (a system call nobody
    /// else can make). Rolls inboxRoot[source] like a delivery, then calls `target` with
    /// `value` and `data` (DEPOSIT_GAS) when `callTarget`; if that call reverts, or is not
    /// made, the value is still credited: to `sender`'s address on this rollup, as OP does,
    /// without running any code there. Never reverts on the target's account, so a deposit
    /// is always applied.
    function receiveDeposit(
        uint256 source,
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        bytes calldata data,
        bytes32 l1TxHash,
        uint256 logIndex,
        bool callTarget
    ) external {
        if (msg.sender != SYSTEM) revert OnlySystem();
        uint256 expected = inboxCount[source]++;
        if (nonce != expected) revert OutOfOrder(expected, nonce);
        bytes32 id = messageId(source, block.chainid, nonce, sender, target, value, data);
        inboxRoot[source] = keccak256(abi.encode(inboxRoot[source], id));
        bool ok = false;
        if (callTarget) {
            (uint256 outerSource, address outerSender) = (xSourceChain, xSender);
            (xSourceChain, xSender) = (source, sender);
            (ok,) = target.call{value: value, gas: DEPOSIT_GAS}(data);
            (xSourceChain, xSender) = (outerSource, outerSender);
        }
        if (!ok && value > 0) new Credit{value: value}(payable(sender));
        emit DepositReceived(id, l1TxHash, target, logIndex, value, ok);
    }
}

/// @dev Pays its value to `to` without running `to`'s code (created and self-destructed in
/// one transaction, EIP-6780): how a failed deposit still credits its value.
contract Credit {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
