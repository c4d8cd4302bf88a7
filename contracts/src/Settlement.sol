// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Settlement — the L1 record of every sealed slot of the shared sequencer, and
/// the challenges that can invalidate it.
/// @notice The sequencer posts, in order and without gaps, one commitment per slot and,
/// in the same call, the batch data that re-derives those slots:
///   data = abi.encode(SlotData[] slots, RollupState[][] states)
/// `post` checks that the data holds exactly the posted slots, each with one state per
/// rollup of the deployment in ascending chain-id order (the canonical leaf order).
/// The deployment commits to the rollups' genesis (`genesis`, and the `Genesis` event
/// carries the description a verifier rebuilds it from). Order receipts are bound to this
/// contract and to an epoch: a successful challenge opens a new epoch, and a rewindable
/// (devnet) deployment lets the sequencer open one explicitly (`EpochOpened`, public).
/// A slot is `safe` once committed and `finalized` once `challengeWindow` L1 blocks have
/// passed without a successful challenge. Inside the window, anyone may challenge (with
/// a bond, returned with the sequencer's bond on success; a failed challenge reverts):
///   - challengeData:    the posted data does not hash to the slot's commitment
///                       (order root recomputed from the items, leaves from the states);
///   - challengeMailbox: the committed mailbox roots of two rollups do not pair up;
///   - challengeReceipt: a receipt signed by the sequencer that the committed order
///                       does not honour;
///   - attest:           the registered verifier attests a wrong state root (this one is
///                       an attestation, not an on-chain fraud proof).
/// A successful challenge invalidates the slot and every later one (shared fate); the
/// sequencer rolls back and posts again from there.
contract Settlement {
    struct Leg {
        uint256 chainId;
        bytes raw;
        address sender;
    }

    struct Item {
        bool included;
        uint8 kind; // 0 transaction, 1 bundle, 2 devnet change, 3 L1 deposit (core/items.py)
        Leg[] legs;
        bytes payload;
    }

    struct SlotData {
        uint256 number;
        uint256 timestamp;
        Item[] items;
    }

    struct RollupState {
        uint256 chainId;
        bytes32 blockHash;
        bytes32 stateRoot;
        uint256[] counterparties;
        bytes32[] outbox;
        bytes32[] inbox;
    }

    struct SlotRecord {
        bytes32 commitment;
        bytes32 dataHash;
        uint64 l1Block;
        bool invalidated;
        uint64 epoch;
    }

    address public immutable sequencer;
    address public immutable verifier;
    uint256 public immutable challengeWindow;
    bool public immutable rewindable;
    bytes32 public immutable genesis;
    uint256 public constant CHALLENGE_BOND = 1 ether;
    uint256 public constant MIN_SEQUENCER_BOND = 1 ether;
    uint256 public nextSlot = 1;
    uint256 public sequencerBond;
    uint64 public epoch;
    uint256[] internal rollupIds;
    mapping(uint256 => SlotRecord) public slots;

    event Genesis(uint256[] rollups, bytes32 genesis, bytes description);
    event SlotsPosted(uint256 indexed firstSlot, uint256 count, bytes32 dataHash);
    event SlotInvalidated(uint256 indexed slot, address indexed challenger, string fault);
    event EpochOpened(uint64 indexed epoch, uint256 firstSlot);

    error OnlySequencer();
    error WrongSlot(uint256 expected, uint256 got);
    error Empty();
    error NotChallengeable(uint256 slot);
    error BondRequired();
    error NotAFault(string why);
    error BadBatch(string why);
    error StaleEpoch(uint64 current, uint64 got);
    error Unbonded(uint256 bond);

    /// @param rollups_ the chain ids of the deployment's rollups, ascending
    /// @param genesis_ keccak256(abi.encode(rollups_, genesisBlockHashes))
    /// @param description what a verifier rebuilds the genesis from (xseqd: JSON)
    constructor(
        address sequencer_,
        address verifier_,
        uint256 challengeWindow_,
        bool rewindable_,
        uint256[] memory rollups_,
        bytes32 genesis_,
        bytes memory description
    ) payable {
        for (uint256 i = 1; i < rollups_.length; i++) {
            require(rollups_[i - 1] < rollups_[i], "rollups not ascending");
        }
        sequencer = sequencer_;
        verifier = verifier_;
        challengeWindow = challengeWindow_;
        rewindable = rewindable_;
        genesis = genesis_;
        rollupIds = rollups_;
        sequencerBond = msg.value;
        emit Genesis(rollups_, genesis_, description);
    }

    /// @notice Add to the sequencer's bond (after a successful challenge took it, nothing
    /// more can be posted until it is back above MIN_SEQUENCER_BOND).
    function bond() external payable {
        sequencerBond += msg.value;
    }

    function rollups() external view returns (uint256[] memory) {
        return rollupIds;
    }

    /// @notice Commit `commitments` for slots firstSlot.. and the data that re-derives
    /// them, in receipt epoch `epoch_` (>= the current one; a higher one opens a new
    /// epoch, which only a rewindable deployment allows).
    function post(
        uint256 firstSlot,
        uint64 epoch_,
        bytes32[] calldata commitments,
        bytes calldata data
    ) external {
        if (msg.sender != sequencer) revert OnlySequencer();
        if (sequencerBond < MIN_SEQUENCER_BOND) revert Unbonded(sequencerBond);
        if (firstSlot != nextSlot) revert WrongSlot(nextSlot, firstSlot);
        if (commitments.length == 0) revert Empty();
        if (epoch_ < epoch || (epoch_ > epoch && !rewindable)) revert StaleEpoch(epoch, epoch_);
        _checkBatch(firstSlot, commitments.length, data);
        if (epoch_ > epoch) {
            epoch = epoch_;
            emit EpochOpened(epoch_, firstSlot);
        }
        bytes32 dataHash = keccak256(data);
        for (uint256 i = 0; i < commitments.length; i++) {
            slots[firstSlot + i] =
                SlotRecord(commitments[i], dataHash, uint64(block.number), false, epoch_);
        }
        nextSlot = firstSlot + commitments.length;
        emit SlotsPosted(firstSlot, commitments.length, dataHash);
    }

    /// @dev The data holds exactly slots first..first+count-1, in order, each with one
    /// state per rollup of the deployment, in ascending chain-id order.
    function _checkBatch(uint256 first, uint256 count, bytes calldata data) internal view {
        (SlotData[] memory all, RollupState[][] memory states) =
            abi.decode(data, (SlotData[], RollupState[][]));
        if (all.length != count || states.length != count) revert BadBatch("slot count");
        for (uint256 i = 0; i < count; i++) {
            if (all[i].number != first + i) revert BadBatch("slot numbers");
            if (states[i].length != rollupIds.length) revert BadBatch("rollup set");
            for (uint256 k = 0; k < rollupIds.length; k++) {
                if (states[i][k].chainId != rollupIds[k]) revert BadBatch("rollup order");
            }
        }
    }

    /// @notice 0 = not committed, 1 = safe, 2 = finalized, 3 = invalidated.
    function status(uint256 slot) external view returns (uint8) {
        SlotRecord storage r = slots[slot];
        if (r.invalidated) return 3;
        if (r.l1Block == 0 || slot >= nextSlot) return 0;
        if (block.number >= r.l1Block + challengeWindow) return 2;
        return 1;
    }

    // -- commitments, as the sequencer computes them (xseqd/core/commitment.py) ---------

    function leaf(RollupState memory r) public pure returns (bytes32) {
        bytes32 mailbox = keccak256(abi.encode(r.counterparties, r.outbox, r.inbox));
        return keccak256(abi.encode(r.chainId, r.blockHash, r.stateRoot, mailbox));
    }

    struct LegDigest {
        uint256 chainId;
        bytes32 txHash;
        address sender;
    }

    /// @notice The id users know an item by (its bundleHash).
    function itemHash(Item memory item) public pure returns (bytes32) {
        if (item.kind == 2) return keccak256(abi.encodePacked("xseqd/devchange", item.payload));
        if (item.kind == 3) return keccak256(abi.encodePacked("xseqd/deposit", item.payload));
        if (item.kind == 0) return keccak256(item.legs[0].raw);
        bytes memory hashes;
        for (uint256 i = 0; i < item.legs.length; i++) {
            hashes = abi.encodePacked(hashes, keccak256(item.legs[i].raw));
        }
        return keccak256(hashes);
    }

    /// @notice What the order chain commits to: kind, inclusion, id, every leg's chain,
    /// transaction hash and sender, and the payload.
    function entryHash(Item memory item) public pure returns (bytes32) {
        LegDigest[] memory legs = new LegDigest[](item.legs.length);
        for (uint256 i = 0; i < item.legs.length; i++) {
            Leg memory g = item.legs[i];
            legs[i] = LegDigest(g.chainId, keccak256(g.raw), g.sender);
        }
        return keccak256(
            abi.encode(item.kind, item.included, itemHash(item), legs, keccak256(item.payload))
        );
    }

    function orderChain(uint256 slot, Item[] memory items, uint256 upto)
        public
        pure
        returns (bytes32 chain)
    {
        chain = keccak256(abi.encodePacked("xseqd/order", uint64(slot)));
        for (uint256 i = 0; i < upto; i++) {
            chain = keccak256(abi.encodePacked(chain, entryHash(items[i])));
        }
    }

    function commitmentOf(SlotData memory s, RollupState[] memory states)
        public
        pure
        returns (bytes32)
    {
        bytes32[] memory leaves = new bytes32[](states.length);
        for (uint256 i = 0; i < states.length; i++) leaves[i] = leaf(states[i]);
        bytes32 root = orderChain(s.number, s.items, s.items.length);
        return keccak256(abi.encode("xseqd/slot/v1", s.number, s.timestamp, root, leaves));
    }

    // -- challenges -----------------------------------------------------------------------

    function _open(uint256 slot, bytes calldata data)
        internal
        view
        returns (SlotData memory s, RollupState[] memory states)
    {
        SlotRecord storage r = slots[slot];
        if (r.l1Block == 0 || r.invalidated || slot >= nextSlot) revert NotChallengeable(slot);
        if (block.number >= r.l1Block + challengeWindow) revert NotChallengeable(slot);
        if (msg.value < CHALLENGE_BOND) revert BondRequired();
        if (keccak256(data) != r.dataHash) revert NotAFault("data is not the posted batch");
        (SlotData[] memory all, RollupState[][] memory allStates) =
            abi.decode(data, (SlotData[], RollupState[][]));
        for (uint256 i = 0; i < all.length; i++) {
            if (all[i].number == slot) return (all[i], allStates[i]);
        }
        revert NotAFault("slot not in this batch");
    }

    /// @notice The posted data of `slot` does not hash to its commitment.
    function challengeData(uint256 slot, bytes calldata data) external payable {
        (SlotData memory s, RollupState[] memory states) = _open(slot, data);
        if (commitmentOf(s, states) == slots[slot].commitment) revert NotAFault("data matches");
        _invalidate(slot, "data does not match commitment");
    }

    /// @notice The committed mailbox roots of rollups i and j (indexes into the slot's
    /// states) do not pair up: i's outbox toward j differs from j's inbox from i.
    function challengeMailbox(uint256 slot, bytes calldata data, uint256 i, uint256 j)
        external
        payable
    {
        (SlotData memory s, RollupState[] memory states) = _open(slot, data);
        if (commitmentOf(s, states) != slots[slot].commitment) {
            revert NotAFault("use challengeData");
        }
        RollupState memory a = states[i];
        RollupState memory b = states[j];
        bytes32 out = _root(a.counterparties, a.outbox, b.chainId);
        bytes32 inn = _root(b.counterparties, b.inbox, a.chainId);
        if (out == inn) revert NotAFault("roots pair up");
        _invalidate(slot, "mailbox roots do not pair up");
    }

    /// @notice A receipt signed by the sequencer (EIP-712 OrderReceipt) that the committed
    /// order of `slot` does not honour.
    function challengeReceipt(
        uint256 slot,
        bytes calldata data,
        uint64 receiptEpoch,
        uint256 index,
        bytes32 receiptItemHash,
        bytes32 receiptChain,
        bytes calldata signature
    ) external payable {
        (SlotData memory s, RollupState[] memory states) = _open(slot, data);
        if (commitmentOf(s, states) != slots[slot].commitment) {
            revert NotAFault("use challengeData");
        }
        if (receiptEpoch != slots[slot].epoch) revert NotAFault("receipt of another epoch");
        bytes32 digest = receiptDigest(receiptEpoch, slot, index, receiptItemHash, receiptChain);
        if (_recover(digest, signature) != sequencer) revert NotAFault("not signed by the sequencer");
        bool honoured = index < s.items.length
            && itemHash(s.items[index]) == receiptItemHash
            && orderChain(slot, s.items, index + 1) == receiptChain;
        if (honoured) revert NotAFault("receipt honoured");
        _invalidate(slot, "order receipt not honoured");
    }

    /// @notice The verifier attests that re-executing `slot` does not give the committed
    /// roots. An attestation by the registered verifier key, not an on-chain proof.
    function attest(uint256 slot, bytes calldata signature) external {
        SlotRecord storage r = slots[slot];
        if (r.l1Block == 0 || r.invalidated || slot >= nextSlot) revert NotChallengeable(slot);
        if (block.number >= r.l1Block + challengeWindow) revert NotChallengeable(slot);
        bytes32 digest = keccak256(abi.encodePacked("xseqd/attest", block.chainid, address(this),
                                                    slot, r.commitment));
        if (_recover(digest, signature) != verifier) revert NotAFault("not the verifier");
        _invalidate(slot, "verifier attests a wrong state root");
    }

    function receiptDigest(
        uint64 epoch_,
        uint256 slot,
        uint256 index,
        bytes32 item,
        bytes32 chain
    ) public view returns (bytes32) {
        bytes32 domain = keccak256(abi.encode(
            keccak256(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
            ),
            keccak256("xseqd"), keccak256("2"), block.chainid, address(this)));
        bytes32 structHash = keccak256(abi.encode(
            keccak256(
                "OrderReceipt(uint64 epoch,uint64 slot,uint32 index,bytes32 itemHash,bytes32 orderChain)"
            ),
            epoch_, slot, index, item, chain));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _root(uint256[] memory parties, bytes32[] memory roots, uint256 who)
        internal
        pure
        returns (bytes32)
    {
        for (uint256 k = 0; k < parties.length; k++) if (parties[k] == who) return roots[k];
        return bytes32(0);
    }

    function _recover(bytes32 digest, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        return ecrecover(digest, v, r, s);
    }

    function _invalidate(uint256 slot, string memory fault) internal {
        for (uint256 s = slot; s < nextSlot; s++) slots[s].invalidated = true;
        nextSlot = slot;
        epoch += 1; // receipts for the re-posted slots are given anew
        emit EpochOpened(epoch, slot);
        uint256 reward = sequencerBond;
        sequencerBond = 0;
        emit SlotInvalidated(slot, msg.sender, fault);
        (bool ok,) = msg.sender.call{value: reward + msg.value}("");
        ok;
    }
}
