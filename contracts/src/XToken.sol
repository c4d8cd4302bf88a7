// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IMailbox {
    function send(uint256 destination, address target, bytes calldata data)
        external
        payable
        returns (bytes32);
    function xSourceChain() external view returns (uint256);
    function xSender() external view returns (address);
}

/// @title XToken — an ERC-20 that moves between rollups through the mailbox (ERC-7802).
/// @notice `crosschainBurn`/`crosschainMint` with their ERC-7802 events, callable only by
/// the token bridge predeployed on every rollup. Deploy your own token by inheriting it
/// (same address on every rollup: same deployer and nonce); the total supply over all
/// rollups is conserved by every bridge transfer.
abstract contract XToken {
    address public constant bridge = 0x4200000000000000000000000000000000000024;
    uint8 public constant decimals = 18;
    // storage layout (the reference token's genesis relies on it):
    uint256 public totalSupply; // slot 0
    mapping(address => uint256) public balanceOf; // slot 1
    mapping(address => mapping(address => uint256)) public allowance; // slot 2

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event CrosschainMint(address indexed to, uint256 amount, address indexed sender);
    event CrosschainBurn(address indexed from, uint256 amount, address indexed sender);

    error Unauthorized();

    function name() external view virtual returns (string memory);
    function symbol() external view virtual returns (string memory);

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x33331994 /* IERC7802 */ || id == 0x01ffc9a7 /* IERC165 */;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "xtoken: allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function crosschainMint(address to, uint256 amount) external {
        if (msg.sender != bridge) revert Unauthorized();
        _mint(to, amount);
        emit CrosschainMint(to, amount, msg.sender);
    }

    function crosschainBurn(address from, uint256 amount) external {
        if (msg.sender != bridge) revert Unauthorized();
        require(balanceOf[from] >= amount, "xtoken: balance");
        balanceOf[from] -= amount;
        totalSupply -= amount;
        emit Transfer(from, address(0), amount);
        emit CrosschainBurn(from, amount, msg.sender);
    }

    function _mint(address to, uint256 amount) internal {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "xtoken: balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// @title ReferenceXToken — "Cross-rollup Token" (XRT), predeployed on every rollup with
/// 1,000,000 XRT for each dev account.
contract ReferenceXToken is XToken {
    function name() external pure override returns (string memory) {
        return "Cross-rollup Token";
    }

    function symbol() external pure override returns (string memory) {
        return "XRT";
    }
}

/// @title MyXToken — an example of a user's own bridgeable token.
contract MyXToken is XToken {
    constructor(uint256 initial) {
        _mint(msg.sender, initial);
    }

    function name() external pure override returns (string memory) {
        return "My Token";
    }

    function symbol() external pure override returns (string memory) {
        return "MINE";
    }
}

/// @title TokenBridge — burn on the source, mint on the destination, same slot.
/// @notice Predeployed at the same address on every rollup. Works for any token that
/// implements ERC-7802 and trusts this bridge, including users' own tokens.
contract TokenBridge {
    IMailbox public constant MAILBOX = IMailbox(0x4200000000000000000000000000000000000023);

    event SentERC20(address indexed token, address indexed from, address to, uint256 amount, uint256 destination);
    event RelayedERC20(address indexed token, address indexed to, uint256 amount, uint256 source);

    error OnlyMailbox();
    error NotBridge();
    error NotPayableOnL1(address token);

    /// The L1 (chain 900) pays only the reference token (Portal.sol): any other token sent
    /// there would be burned here and never be claimable.
    uint256 public constant L1 = 900;
    address public constant REFERENCE_TOKEN = 0x4200000000000000000000000000000000000025;

    function sendERC20(address token, address to, uint256 amount, uint256 destination)
        external
        returns (bytes32)
    {
        if (destination == L1 && token != REFERENCE_TOKEN) revert NotPayableOnL1(token);
        XToken(token).crosschainBurn(msg.sender, amount);
        emit SentERC20(token, msg.sender, to, amount, destination);
        return MAILBOX.send(
            destination,
            address(this),
            abi.encodeCall(this.relayERC20, (token, msg.sender, to, amount))
        );
    }

    function relayERC20(address token, address from, address to, uint256 amount) external {
        if (msg.sender != address(MAILBOX)) revert OnlyMailbox();
        if (MAILBOX.xSender() != address(this)) revert NotBridge();
        from;
        XToken(token).crosschainMint(to, amount);
        emit RelayedERC20(token, to, amount, MAILBOX.xSourceChain());
    }
}
