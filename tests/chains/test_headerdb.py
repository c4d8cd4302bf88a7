"""Sealed headers are persisted with only the keys xseqd reads back (chains/headerdb.py).

Must never happen: a header or score differs from what py-evm's own HeaderDB writes
(py-evm reads both back: state reads, BLOCKHASH, an import on top), or a header whose
parent was never written is accepted.
"""

from __future__ import annotations

import pytest
from eth.db.schema import SchemaV1
from eth.exceptions import ParentNotFound

from tests.chains.test_idle import PLAN, run_slots
from tests.chains.test_workspace import new_rollup
from xseqd.chains.headerdb import persist_header


def test_headers_and_scores_are_the_ones_py_evm_writes() -> None:
    ours, theirs = new_rollup(), new_rollup()  # the same genesis
    run_slots(ours, PLAN, force_full=False)
    headers = [record.block.header for record in ours.blocks[1:]]
    for header in headers:
        theirs.chaindb.persist_header(header)  # py-evm's whole HeaderDB path
    score = SchemaV1.make_block_hash_to_score_lookup_key
    for header in headers:
        for key in (header.hash, score(header.hash)):
            assert ours.chaindb.db[key] == theirs.chaindb.db[key]
        assert ours.chaindb.get_block_header_by_hash(header.hash) == header
        assert ours.chaindb.get_score(header.hash) == theirs.chaindb.get_score(header.hash)


def test_a_header_without_its_parent_is_refused() -> None:
    rollup = new_rollup()
    run_slots(rollup, ["tx", "idle"], force_full=False)
    orphan = rollup.head.block.header.copy(parent_hash=b"\x42" * 32)
    with pytest.raises(ParentNotFound):
        persist_header(rollup.chaindb.db, orphan)
    assert orphan.hash not in rollup.chaindb.db
