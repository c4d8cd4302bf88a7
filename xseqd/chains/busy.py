"""The seal of a block that had transactions or changes (``Rollup.seal``): py-evm's
set-transactions, post-processing and finalize steps, without the work whose result the
sealer already holds.

For a Prague block (``PragueVM``'s own post-processing, not a subclass's), py-evm reads
the block's receipts back from the database (decoding the receipt trie it has just
written) to find deposit-contract logs, then copies the header three times (requests
hash, ``pack_block``, state root). Here the deposit requests come from the receipts in
hand, the withdrawal and consolidation requests from py-evm's own system calls, and the
header is copied once with both fields. The block is the same, byte for byte
(``tests/chains/test_busy.py`` seals each block both ways; the replay and verifier
equality tests re-execute through this path). Any other fork takes py-evm's steps as they
are.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.constants import (
    DEPOSIT_CONTRACT_ADDRESS,
    DEPOSIT_EVENT_SIGNATURE_HASH,
    DEPOSIT_REQUEST_TYPE,
)
from eth.vm.interrupt import EVMMissingData
from eth_utils import to_bytes


def deposit_request_data(receipts: Sequence[ReceiptAPI]) -> bytes:
    """EIP-6110's type-0 request data: what PragueVM.process_deposit_request_data
    collects from the deposit contract's events, from the receipts given."""
    data = b""
    for receipt in receipts:
        for log in receipt.logs:
            if (
                log.address == DEPOSIT_CONTRACT_ADDRESS
                and len(log.topics) > 0
                and to_bytes(log.topics[0]) == DEPOSIT_EVENT_SIGNATURE_HASH
            ):
                d = log.data
                data += d[192:240] + d[288:320] + d[352:360] + d[416:512] + d[544:552]
    return data


def requests_hash(requests: Sequence[bytes]) -> bytes:
    """EIP-7685's commitment to a block's requests (empty ones left out)."""
    m = sha256()
    for r in requests:
        if len(r) > 1:
            m.update(sha256(r).digest())
    return m.digest()


def _plain_prague(vm: Any) -> bool:
    cls = type(vm)
    return (
        issubclass(cls, PragueVM)
        and cls.block_postprocessing is PragueVM.block_postprocessing
        and cls.pack_block is PragueVM.pack_block
        and cls.finalize_block is PragueVM.finalize_block
    )


def finish_block(
    vm: Any,
    header: BlockHeaderAPI,
    txs: Sequence[SignedTransactionAPI],
    receipts: Sequence[ReceiptAPI],
) -> BlockAPI:
    """The finished block: transactions and receipts in, requests, rewards and the state
    root computed (the state persisted to the chain database)."""
    filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, txs, receipts)
    if not _plain_prague(vm):
        processed = vm.block_postprocessing(filled)
        return vm.finalize_block(vm.pack_block(processed)).block  # type: ignore[no-any-return]
    filled.block_requests.append(DEPOSIT_REQUEST_TYPE + deposit_request_data(receipts))
    vm.process_withdrawal_request_data(filled)
    vm.process_consolidation_request_data(filled)
    commitment = requests_hash(filled.block_requests)
    # finalize_block: rewards (zero after the merge, but the coinbase is touched), then
    # persist the state for its root
    if filled.number > 0:
        snapshot = vm.state.snapshot()
        try:
            vm._assign_block_rewards(filled)
        except EVMMissingData:
            vm.state.revert(snapshot)
            raise
        vm.state.commit(snapshot)
    vm.state.persist()
    final_header = filled.header.copy(requests_hash=commitment, state_root=vm.state.state_root)
    return filled.copy(uncles=filled.uncles, header=final_header)  # type: ignore[no-any-return]
