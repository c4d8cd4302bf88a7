"""Withdrawals to the L1 and the proofs the L1 Portal checks (pure logic).

A withdrawal is a Mailbox message toward chain id 900 (``Mailbox.send{value}(900,
target, data)`` on a rollup). It is never delivered on a rollup (core/atomic.py): it rolls
the rollup's ``outboxRoot[900]``, which every slot commits (core/transition.py
``committed_states``, the L1 is the last counterparty). Its proof for
``Portal.finalizeWithdrawal`` is the slot's commitment preimage and a hash chain:

    root_before = outboxRoot[900] after the previous slot
    chain       = roll(roll(...roll(root_before, w_1)...), w_k)    w_i: the slot's
                                                                   withdrawals in order
    chain == RollupState.outbox[900] committed for the slot

so the proof of w_j gives ``prevRoot`` = the chain through w_{j-1} and ``later`` =
w_{j+1..k} (see contracts/src/Portal.sol).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xseqd.chains.predeploys import L1_CHAIN_ID
from xseqd.chains.records import BlockRecord
from xseqd.core.commitment import RollupState
from xseqd.core.messages import Message, roll, sent_messages


@dataclass(frozen=True)
class WithdrawalProof:
    """One withdrawal and what proves it against a committed slot."""

    withdrawal: Message
    tx_hash: bytes
    slot: int
    timestamp: int
    order_root: bytes
    leaves: tuple[bytes, ...]
    index: int  # of the source rollup among the slot's rollup states
    state: RollupState
    prev_root: bytes
    later: tuple[bytes, ...]

    def args(self) -> tuple[Any, Any]:
        """The arguments of ``Portal.finalizeWithdrawal(Withdrawal, SlotProof)``."""
        w = self.withdrawal
        return (
            (w.source, w.nonce, w.sender, w.target, w.value, w.data),
            (
                self.slot,
                self.timestamp,
                self.order_root,
                list(self.leaves),
                self.index,
                self.state.values(),
                self.prev_root,
                list(self.later),
            ),
        )

    def to_json(self) -> dict[str, Any]:
        w, st = self.withdrawal, self.state
        return {
            "withdrawal": {
                "id": "0x" + w.id.hex(),
                "source": w.source,
                "nonce": w.nonce,
                "sender": "0x" + w.sender.hex(),
                "target": "0x" + w.target.hex(),
                "value": hex(w.value),
                "data": "0x" + w.data.hex(),
            },
            "txHash": "0x" + self.tx_hash.hex(),
            "proof": {
                "slot": self.slot,
                "timestamp": self.timestamp,
                "orderRoot": "0x" + self.order_root.hex(),
                "leaves": ["0x" + x.hex() for x in self.leaves],
                "index": self.index,
                "state": {
                    "chainId": st.chain_id,
                    "blockHash": "0x" + st.block_hash.hex(),
                    "stateRoot": "0x" + st.state_root.hex(),
                    "counterparties": list(st.counterparties),
                    "outbox": ["0x" + x.hex() for x in st.outbox_roots],
                    "inbox": ["0x" + x.hex() for x in st.inbox_roots],
                },
                "prevRoot": "0x" + self.prev_root.hex(),
                "later": ["0x" + x.hex() for x in self.later],
            },
        }


def withdrawals_in(chain_id: int, record: BlockRecord) -> list[tuple[bytes, Message]]:
    """The withdrawals a rollup block made, in order: (transaction hash, message)."""
    out = []
    for tx in record.txs:
        for m in sent_messages(chain_id, tx.receipt.logs):
            if m.destination == L1_CHAIN_ID:
                out.append((tx.hash, m))
    return out


def withdrawal_proofs(
    chain_id: int,
    record: BlockRecord,
    tx_hash: bytes,
    slot: tuple[int, int, bytes],
    states: list[RollupState],
    root_before: bytes,
) -> list[WithdrawalProof]:
    """Proofs of the withdrawals transaction ``tx_hash`` made in ``record`` (the block of
    ``chain_id`` in slot ``(number, timestamp, order root)``), against the slot's committed
    ``states``; ``root_before`` is the rollup's outboxRoot[900] after the previous slot."""
    number, timestamp, order_root = slot
    index = [s.chain_id for s in states].index(chain_id)
    made = withdrawals_in(chain_id, record)
    ids = [m.id for _, m in made]
    proofs = []
    root = root_before
    for j, (origin, m) in enumerate(made):
        if origin == tx_hash:
            proofs.append(
                WithdrawalProof(
                    m,
                    origin,
                    number,
                    timestamp,
                    order_root,
                    tuple(s.leaf() for s in states),
                    index,
                    states[index],
                    root,
                    tuple(ids[j + 1 :]),
                )
            )
        root = roll(root, m.id)
    return proofs
