// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TokenBridge, XToken} from "./XToken.sol";

/// @dev What the Portal reads of Settlement.
interface ISettlementView {
    function sequencer() external view returns (address);
    function rollups() external view returns (uint256[] memory);
    function status(uint256 slot) external view returns (uint8);
    function slots(uint256 slot)
        external
        view
        returns (bytes32 commitment, bytes32 dataHash, uint64 l1Block, bool invalidated, uint64 epoch);
}

/// @title Portal — deposits from the L1 into the rollups, withdrawals from them to the L1.
/// @notice Deployed by the sequencer next to its Settlement (one Portal per Settlement;
/// `Opened` names it). The L1 is counterparty 900 of every rollup's Mailbox.
///
/// Deposit: `depositETH(chainId, target, data)` locks msg.value here and emits `Deposited`
/// with a global `index` (L1 order) and a per-rollup `nonce`. The sequencer includes every
/// deposit, in index order, in its next slot as a system call `Mailbox.receiveDeposit` on
/// the target rollup, which rolls `inboxRoot[900]` with the same message id this contract
/// rolls into `depositRoot[chainId]`:
///   id = keccak256(abi.encode(900, chainId, nonce, sender, target, value, data))
/// A deposit's value is credited on the rollup even if its call reverts (to `sender`).
/// `depositERC20(chainId, to, amount)` locks the L1 reference token `token` (XRT; the
/// Portal creates it, 1,000,000 XRT per dev account) and emits a deposit from the rollups'
/// TokenBridge to itself calling `relayERC20(XRT, from, to, amount)`: the bridge mints
/// XRT on the rollup. Only the Portal can make a deposit whose sender is the TokenBridge.
///
/// Inclusion deadline: every batch Settlement records as posted in an L1 block >=
/// b + `inclusionWindow` must include (in its slots or earlier ones) each deposit made in
/// L1 block b; one that leaves it out is a `deposit` fault for `xseqd verify`, so a
/// sequencer that stops including deposits is challengeable. Fixed at deployment, read by
/// the verifier from here.
///
/// Withdrawal: on rollup R, `Mailbox.send{value: v}(900, target, data)` rolls R's
/// `outboxRoot[900]` with id = keccak256(abi.encode(R, 900, nonce, sender, target, v, data)).
/// Settlement commits that root in every slot (RollupState.outbox). Once the slot is
/// finalized, anyone calls `finalizeWithdrawal` with the withdrawal and a proof: the slot's
/// commitment preimage (timestamp, order root, every rollup's leaf), R's RollupState, and
/// the hash chain from the root before the withdrawal (`prevRoot`) through it and the
/// withdrawals after it in the same slot (`later`) to the committed root. The target is
/// then called with the value and data, once.
///
/// Genesis backing: the rollups start with ETH and XRT in their dev accounts (public keys),
/// which anyone can withdraw to the L1. The deployer funds the Portal with the rollups'
/// whole genesis ETH (msg.value, `genesisEth`) and the Portal mints their genesis XRT to
/// itself (`genesisXrt`) when it creates the L1 token, so every rollup ETH/XRT is redeemable
/// and a withdrawal of genesis value never pays out of a depositor's locked value:
/// Portal balance == genesisEth + deposited - claimed.
contract Portal {
    uint256 public constant L1 = 900;
    address public constant TOKEN_BRIDGE = 0x4200000000000000000000000000000000000024;
    address public constant REFERENCE_TOKEN = 0x4200000000000000000000000000000000000025;
    uint256 public constant TOKEN_PER_HOLDER = 1_000_000 ether;
    /// Largest deposit calldata: what the rollup's system call (at most 10M gas) and the
    /// slot's batch on L1 can always carry. A bigger one would stop every later deposit.
    uint256 public constant MAX_DEPOSIT_DATA = 32 * 1024;

    struct Withdrawal {
        uint256 source;
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        bytes data;
    }

    struct RollupState {
        uint256 chainId;
        bytes32 blockHash;
        bytes32 stateRoot;
        uint256[] counterparties;
        bytes32[] outbox;
        bytes32[] inbox;
    }

    struct SlotProof {
        uint256 slot;
        uint256 timestamp;
        bytes32 orderRoot;
        bytes32[] leaves;
        uint256 index;
        RollupState state;
        bytes32 prevRoot;
        bytes32[] later;
    }

    ISettlementView public immutable settlement;
    uint256 public immutable inclusionWindow;
    /// the rollups' genesis supply this Portal was funded with (see the contract notice)
    uint256 public immutable genesisEth;
    uint256 public immutable genesisXrt;
    L1ReferenceToken public immutable token;
    uint256 public depositCount;
    mapping(uint256 => uint256) public nonces;
    mapping(uint256 => bytes32) public depositRoot;
    mapping(uint256 => bytes32) public depositIds;
    mapping(uint256 => bool) public isRollup;
    mapping(bytes32 => bool) public finalized;

    event Opened(address indexed settlement, uint256[] rollups);
    event Deposited(
        uint256 indexed index,
        uint256 indexed chainId,
        address indexed sender,
        address target,
        uint256 value,
        uint256 nonce,
        bytes data,
        bytes32 id
    );
    event WithdrawalFinalized(
        bytes32 indexed id, uint256 indexed source, address indexed target, uint256 value
    );

    error NotSequencer();
    error UnknownRollup(uint256 chainId);
    error NotFinalized(uint256 slot, uint8 status);
    error AlreadyFinalized(bytes32 id);
    error BadProof(string why);
    error CallFailed(bytes data);
    error UnknownToken(address token);
    error DataTooLarge(uint256 size, uint256 max);
    error NotTheBridge();
    error ForbiddenTarget(address target);

    /// @param holders who gets TOKEN_PER_HOLDER of the L1 reference token (the dev accounts)
    /// @param window_ the inclusion window in L1 blocks (see the contract notice), > 0
    /// @param genesisXrt_ the rollups' genesis XRT supply, minted to the Portal; msg.value
    /// is their genesis ETH supply (the genesis backing, see the contract notice)
    constructor(address settlement_, address[] memory holders, uint256 window_, uint256 genesisXrt_)
        payable
    {
        settlement = ISettlementView(settlement_);
        if (msg.sender != settlement.sequencer()) revert NotSequencer();
        require(window_ > 0, "portal: inclusion window");
        inclusionWindow = window_;
        genesisEth = msg.value;
        genesisXrt = genesisXrt_;
        token = new L1ReferenceToken(holders, TOKEN_PER_HOLDER, genesisXrt_);
        uint256[] memory ids = settlement.rollups();
        for (uint256 i = 0; i < ids.length; i++) isRollup[ids[i]] = true;
        emit Opened(settlement_, ids);
    }

    /// @notice Deposit msg.value to `target` on rollup `chainId`, calling it with `data`.
    function depositETH(uint256 chainId, address target, bytes calldata data)
        external
        payable
        returns (bytes32)
    {
        // only depositERC20 speaks for the rollups' TokenBridge (an impersonated L1 account
        // at that address would otherwise mint XRT on the rollups)
        if (msg.sender == TOKEN_BRIDGE) revert NotTheBridge();
        return _deposit(chainId, msg.sender, target, msg.value, data);
    }

    /// @notice Deposit `amount` L1 XRT (approve the Portal first) to `to` on `chainId`.
    function depositERC20(uint256 chainId, address to, uint256 amount)
        external
        returns (bytes32)
    {
        require(token.transferFrom(msg.sender, address(this), amount), "portal: transfer");
        bytes memory relay =
            abi.encodeCall(TokenBridge.relayERC20, (REFERENCE_TOKEN, msg.sender, to, amount));
        return _deposit(chainId, TOKEN_BRIDGE, TOKEN_BRIDGE, 0, relay);
    }

    function _deposit(
        uint256 chainId,
        address sender,
        address target,
        uint256 value,
        bytes memory data
    ) internal returns (bytes32 id) {
        if (!isRollup[chainId]) revert UnknownRollup(chainId);
        if (data.length > MAX_DEPOSIT_DATA) revert DataTooLarge(data.length, MAX_DEPOSIT_DATA);
        uint256 nonce = nonces[chainId]++;
        uint256 index = depositCount++;
        id = keccak256(abi.encode(L1, chainId, nonce, sender, target, value, data));
        depositRoot[chainId] = keccak256(abi.encode(depositRoot[chainId], id));
        depositIds[index] = id;
        emit Deposited(index, chainId, sender, target, value, nonce, data, id);
    }

    function withdrawalId(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(abi.encode(w.source, L1, w.nonce, w.sender, w.target, w.value, w.data));
    }

    /// @dev Settlement.leaf, the same encoding (xseqd/core/commitment.py).
    function leaf(RollupState calldata r) public pure returns (bytes32) {
        bytes32 mailbox = keccak256(abi.encode(r.counterparties, r.outbox, r.inbox));
        return keccak256(abi.encode(r.chainId, r.blockHash, r.stateRoot, mailbox));
    }

    /// @notice Pay a withdrawal committed in a finalized slot (see the contract notice).
    function finalizeWithdrawal(Withdrawal calldata w, SlotProof calldata p) external {
        bytes32 id = withdrawalId(w);
        if (finalized[id]) revert AlreadyFinalized(id);
        uint8 st = settlement.status(p.slot);
        if (st != 2) revert NotFinalized(p.slot, st);
        (bytes32 commitment,,,,) = settlement.slots(p.slot);
        if (p.state.chainId != w.source) revert BadProof("rollup");
        if (p.index >= p.leaves.length || p.leaves[p.index] != leaf(p.state)) {
            revert BadProof("leaf");
        }
        bytes32 claimed =
            keccak256(abi.encode("xseqd/slot/v1", p.slot, p.timestamp, p.orderRoot, p.leaves));
        if (claimed != commitment) revert BadProof("commitment");
        bytes32 root = keccak256(abi.encode(p.prevRoot, id));
        for (uint256 i = 0; i < p.later.length; i++) {
            root = keccak256(abi.encode(root, p.later[i]));
        }
        if (root != _outboxToL1(p.state)) revert BadProof("outbox root");
        finalized[id] = true;
        if (w.sender == TOKEN_BRIDGE && w.target == TOKEN_BRIDGE) {
            _payToken(w.data);
            emit WithdrawalFinalized(id, w.source, w.target, 0);
            return;
        }
        // the Portal holds everyone's XRT and is the token's spender: a withdrawal must not
        // make it call its token (transfer/approve) or itself
        if (w.target == address(token) || w.target == address(this)) {
            revert ForbiddenTarget(w.target);
        }
        (bool ok, bytes memory ret) = w.target.call{value: w.value}(w.data);
        if (!ok) revert CallFailed(ret);
        emit WithdrawalFinalized(id, w.source, w.target, w.value);
    }

    /// @dev A TokenBridge withdrawal: relayERC20(token, from, to, amount) of the reference token.
    function _payToken(bytes calldata data) internal {
        if (data.length < 4 || bytes4(data[:4]) != TokenBridge.relayERC20.selector) {
            revert BadProof("not a token relay");
        }
        (address l2Token,, address to, uint256 amount) =
            abi.decode(data[4:], (address, address, address, uint256));
        if (l2Token != REFERENCE_TOKEN) revert UnknownToken(l2Token);
        require(token.transfer(to, amount), "portal: transfer");
    }

    function _outboxToL1(RollupState calldata r) internal pure returns (bytes32) {
        for (uint256 k = 0; k < r.counterparties.length; k++) {
            if (r.counterparties[k] == L1) return r.outbox[k];
        }
        return bytes32(0);
    }
}

/// @notice The L1 side of the reference token XRT: plain ERC-20, created by the Portal,
/// which locks it for deposits and pays it out for withdrawals; `backing` (the rollups'
/// genesis XRT) is minted to the Portal.
contract L1ReferenceToken is XToken {
    constructor(address[] memory holders, uint256 each, uint256 backing) {
        for (uint256 i = 0; i < holders.length; i++) _mint(holders[i], each);
        if (backing > 0) _mint(msg.sender, backing);
    }

    function name() external pure override returns (string memory) {
        return "Cross-rollup Token (L1)";
    }

    function symbol() external pure override returns (string memory) {
        return "XRT";
    }
}
