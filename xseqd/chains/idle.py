"""Blocks that change nothing: an idle rollup's block for a slot, built as a header over
the parent's unchanged state, without py-evm's block machinery.

Every slot seals one block on every rollup, so most blocks of a multi-rollup devnet are
empty. py-evm would build a VM and a state, run the fork's pre- and post-processing,
build empty tries and persist an unchanged state for each; the result is fully determined
by the parent header: the same state root, blank transaction/receipt/withdrawal roots,
an empty bloom, no gas used, and (Prague) the hash of no requests. ``Rollup.seal`` takes
this path only when nothing touched the open block and ``changes_nothing`` holds, and it is
the one path the sequencer, restart, the verifier and replays all take (they seal through
``core/transition.py``), so block hashes agree everywhere. tests/chains/test_idle.py checks
that the block equals the one py-evm builds, and that py-evm imports it with full
validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from typing import Any

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, VirtualMachineAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.vm.forks import ParisVM
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
)
from eth_hash.auto import keccak

from xseqd.chains.prune import decode_node

# system contracts that a fork's block pre/post-processing writes to or runs (EIP-4788,
# EIP-2935, EIP-7002, EIP-7251): where one has code, an empty block changes state
SYSTEM_CONTRACTS = (
    BEACON_ROOTS_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
)
NO_REQUESTS_HASH = sha256().digest()  # EIP-7685 requests hash of a block without requests


def changes_nothing(
    vm_class: type[VirtualMachineAPI], db: Mapping[bytes, bytes], state_root: bytes
) -> bool:
    """Whether an empty block of ``vm_class`` over the state at ``state_root`` (its nodes
    in ``db``) leaves state as it is: a proof-of-stake fork (no block or uncle rewards)
    and no system contract deployed. Read straight from the account trie (four look-ups,
    ~0.1 ms; building a py-evm state to ask it took ~0.5 ms per rollup and slot)."""
    if not issubclass(vm_class, ParisVM):
        return False
    for address in SYSTEM_CONTRACTS:
        account = trie_get(db, state_root, keccak(address))
        if account is not None and rlp.decode(account)[3] != EMPTY_SHA3:  # its code hash
            return False
    return True


def trie_get(db: Mapping[bytes, bytes], root: bytes, key: bytes) -> bytes | None:
    """The value under ``key`` in the Merkle-Patricia trie at ``root`` (None if absent),
    nodes decoded by chains/prune.py's direct slicer. Raises ``KeyError`` if a node is
    missing from ``db``, as py-evm's state would (MissingTrieNode)."""
    if root == BLANK_ROOT_HASH:
        return None
    path = bytes(n for byte in key for n in (byte >> 4, byte & 15))
    node: object = decode_node(db[root])
    while True:
        assert isinstance(node, list)
        if len(node) == 17:  # branch
            if not path:
                return bytes(node[16]) or None
            ref, path = node[path[0]], path[1:]
        else:  # leaf or extension: hex-prefix encoded nibbles first
            prefix = bytes(node[0])
            flag = prefix[0] >> 4
            nibbles = bytes(n for byte in prefix for n in (byte >> 4, byte & 15))
            nibbles = nibbles[2:] if flag in (0, 2) else nibbles[1:]
            if flag >= 2:  # leaf: the rest of the path must match exactly
                return bytes(node[1]) if nibbles == path else None
            if path[: len(nibbles)] != nibbles:
                return None
            ref, path = node[1], path[len(nibbles) :]
        if isinstance(ref, list):  # a node embedded in its parent (under 32 bytes)
            node = ref
        elif not ref:
            return None
        else:
            node = decode_node(db[bytes(ref)])


def empty_block(
    vm_class: type[VirtualMachineAPI], header: BlockHeaderAPI, parent: BlockHeaderAPI
) -> BlockAPI:
    """The sealed empty block for ``header`` (made by ``create_header_from_parent``):
    exactly what py-evm's set-transactions / post-processing / finalize steps produce for
    a block without transactions, withdrawals or requests over an unchanged state."""
    fields: dict[str, Any] = {
        "state_root": parent.state_root,
        "transaction_root": BLANK_ROOT_HASH,
        "receipt_root": BLANK_ROOT_HASH,
        "bloom": 0,
        "gas_used": 0,
    }
    names = set(header._meta.field_names)  # type: ignore[attr-defined]
    if "withdrawals_root" in names:
        fields["withdrawals_root"] = BLANK_ROOT_HASH
    if "requests_hash" in names:
        fields["requests_hash"] = NO_REQUESTS_HASH
    if "blob_gas_used" in names:
        fields["blob_gas_used"] = 0
    block: BlockAPI = vm_class.get_block_class()(header.copy(**fields), [], [])
    return block
