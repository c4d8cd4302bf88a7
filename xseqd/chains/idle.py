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

from hashlib import sha256
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, StateAPI, VirtualMachineAPI
from eth.constants import BLANK_ROOT_HASH
from eth.vm.forks import ParisVM
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
)
from eth_typing import Address

# system contracts that a fork's block pre/post-processing writes to or runs (EIP-4788,
# EIP-2935, EIP-7002, EIP-7251): where one has code, an empty block changes state
SYSTEM_CONTRACTS = (
    BEACON_ROOTS_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
)
NO_REQUESTS_HASH = sha256().digest()  # EIP-7685 requests hash of a block without requests


def changes_nothing(vm_class: type[VirtualMachineAPI], parent_state: StateAPI) -> bool:
    """Whether an empty block of ``vm_class`` over ``parent_state`` leaves state as it is:
    a proof-of-stake fork (no block or uncle rewards) and no system contract deployed."""
    if not issubclass(vm_class, ParisVM):
        return False
    return not any(parent_state.get_code(Address(a)) for a in SYSTEM_CONTRACTS)


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
