"""Persisting a sealed block's header: only what is ever read back.

py-evm's ``HeaderDB.persist_header`` also keeps the canonical-chain pointers (number ->
hash, the head) and its header-gap bookkeeping for out-of-order sync, each read, decoded
and written again for every block: ~0.1 ms per block, two blocks or more per slot.
xseqd never reads those: which block is canonical is its own index's to say
(chains/rollup.py, ``rewind``). What is read back is the header under its hash (state
reads and BLOCKHASH walk parent hashes, py-evm's ``get_prev_hashes``) and its score (py-evm
reads a parent's score when it imports a block on top of it), so those two are written,
with py-evm's keys and values.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import rlp
from eth.abc import BlockHeaderAPI
from eth.db.schema import SchemaV1
from eth.exceptions import ParentNotFound
from rlp.sedes import big_endian_int


def persist_header(db: MutableMapping[bytes, bytes], header: BlockHeaderAPI) -> None:
    """Write ``header`` under its hash and its score (parent's score plus the difficulty,
    or plus the block number after the merge: py-evm's rule); ``ParentNotFound`` if the
    parent was never written."""
    try:
        parent = db[SchemaV1.make_block_hash_to_score_lookup_key(header.parent_hash)]
    except KeyError:
        raise ParentNotFound(f"no header 0x{bytes(header.parent_hash).hex()}") from None
    step = header.difficulty if header.difficulty != 0 else header.block_number
    score = rlp.decode(parent, sedes=big_endian_int) + step
    db[header.hash] = rlp.encode(header)
    db[SchemaV1.make_block_hash_to_score_lookup_key(header.hash)] = rlp.encode(
        score, sedes=big_endian_int
    )
