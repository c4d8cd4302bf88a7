// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Settlement — the L1 record of every sealed slot of the shared sequencer.
/// @notice The sequencer posts, in order and without gaps, one commitment per slot
/// (hash of each rollup's block hash, state root and mailbox roots, plus the order root)
/// and, in the same transaction's calldata, the data needed to re-derive those slots.
/// A slot is `safe` once committed here and `finalized` once `challengeWindow` L1 blocks
/// have passed without a successful challenge. (Challenges come with the verifier.)
contract Settlement {
    struct SlotRecord {
        bytes32 commitment;
        bytes32 dataHash; // keccak256 of the batch calldata that carries this slot
        uint64 l1Block;
        bool invalidated;
    }

    address public immutable sequencer;
    uint256 public immutable challengeWindow;
    uint256 public nextSlot = 1;
    mapping(uint256 => SlotRecord) public slots;

    event SlotsPosted(uint256 indexed firstSlot, uint256 count, bytes32 dataHash);

    error OnlySequencer();
    error WrongSlot(uint256 expected, uint256 got);
    error Empty();

    constructor(address sequencer_, uint256 challengeWindow_) {
        sequencer = sequencer_;
        challengeWindow = challengeWindow_;
    }

    /// @notice Post commitments for slots firstSlot .. firstSlot+n-1 with their data.
    function post(uint256 firstSlot, bytes32[] calldata commitments, bytes calldata data)
        external
    {
        if (msg.sender != sequencer) revert OnlySequencer();
        if (firstSlot != nextSlot) revert WrongSlot(nextSlot, firstSlot);
        if (commitments.length == 0) revert Empty();
        bytes32 dataHash = keccak256(data);
        for (uint256 i = 0; i < commitments.length; i++) {
            slots[firstSlot + i] = SlotRecord(commitments[i], dataHash, uint64(block.number), false);
        }
        nextSlot = firstSlot + commitments.length;
        emit SlotsPosted(firstSlot, commitments.length, dataHash);
    }

    /// @notice 0 = not committed, 1 = safe (committed), 2 = finalized, 3 = invalidated.
    function status(uint256 slot) external view returns (uint8) {
        SlotRecord storage r = slots[slot];
        if (r.l1Block == 0) return 0;
        if (r.invalidated) return 3;
        if (block.number >= r.l1Block + challengeWindow) return 2;
        return 1;
    }
}
