"""Bounds on a raw signed transaction before anything decodes it (eth_sendRawTransaction,
bundle legs): its size, and how deeply its RLP nests.

py-evm and pyrlp decode recursively, copying the rest of the input at every level, and
py-evm raises Python's recursion limit to 100,000: a 128 KB transaction of nested RLP
lists took 18 s of the event loop to decode, a 1 MB one about a second to fail. A signed
transaction nests at most 4 lists deep (typed: the transaction, its access or
authorization list, an entry, its storage keys; a blob transaction's network form one
more), so the shape is walked first, without recursion and in one pass, and refused past
``MAX_RLP_DEPTH``. Sizes are geth's: 128 KB per transaction (``txMaxSize``, error
"oversized data"), more for a blob transaction carrying its blobs.
"""

from __future__ import annotations

from xseqd.errors import InvalidParams, TxRejected

MAX_TX_BYTES = 128 * 1024
# a blob transaction in network form: up to 9 blobs of 128 KB, their commitments and
# proofs, and the transaction itself
MAX_BLOB_TX_BYTES = 9 * 128 * 1024 + 128 * 1024
MAX_RLP_DEPTH = 8
BLOB_TX_TYPE = 3


def check(raw: bytes) -> None:
    """Raise ``TxRejected`` (geth: "oversized data") for a transaction above its size
    limit, ``InvalidParams`` for RLP nested deeper than ``MAX_RLP_DEPTH``."""
    limit = MAX_BLOB_TX_BYTES if raw[:1] == bytes([BLOB_TX_TYPE]) else MAX_TX_BYTES
    if len(raw) > limit:
        raise TxRejected(f"oversized data: transaction size {len(raw)}, limit {limit}")
    typed = bool(raw) and raw[0] < 0x7F  # EIP-2718: type byte, then the RLP payload
    if rlp_depth_exceeds(raw[1:] if typed else raw, MAX_RLP_DEPTH):
        raise InvalidParams(f"invalid transaction: RLP nested deeper than {MAX_RLP_DEPTH}")


def rlp_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether the RLP item at the start of ``data`` nests lists deeper than ``max_depth``.

    One pass over the item headers with an explicit stack (never recursion); strings are
    skipped whole. Malformed input (truncated, overrunning its list) is left to the
    decoder to refuse: this only looks at depth."""
    n = len(data)
    pos = 0
    ends: list[int] = []  # where each open list ends
    while pos < n:
        first = data[pos]
        if first < 0x80:
            pos += 1
        elif first <= 0xB7:
            pos += 1 + first - 0x80
        elif first <= 0xBF:
            width = first - 0xB7
            pos += 1 + width + int.from_bytes(data[pos + 1 : pos + 1 + width], "big")
        else:
            if first <= 0xF7:
                head, size = 1, first - 0xC0
            else:
                width = first - 0xF7
                head = 1 + width
                size = int.from_bytes(data[pos + 1 : pos + head], "big")
            ends.append(pos + head + size)
            pos += head
            if len(ends) > max_depth:
                return True
        while ends and pos >= ends[-1]:
            if pos > ends[-1]:
                return False  # overruns its list: malformed, the decoder says so
            ends.pop()
        if not ends:
            return False  # the top-level item is complete
    return False
