"""What a handler is given: the node's services, and the rollup its endpoint serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth.abc import BlockHeaderAPI, StateAPI
from eth_account.signers.local import LocalAccount

from xseqd.chains.limits import CallLimits
from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Rollup
from xseqd.errors import InvalidParams, ResourceNotFound
from xseqd.rpc.filters import FilterHub
from xseqd.rpc.params import BlockRef
from xseqd.sequencer.driver import SlotDriver
from xseqd.sequencer.sequencer import Sequencer


@dataclass
class Services:
    """The node's parts that RPC handlers use."""

    sequencer: Sequencer
    driver: SlotDriver
    accounts: Mapping[bytes, LocalAccount]
    filters: dict[int, FilterHub]
    client_version: str
    base_url: str = "http://127.0.0.1:9545"
    impersonated: set[bytes] = field(default_factory=set)
    l1: Any = None  # l1/poster.py Poster when settling on an L1
    limits: CallLimits = field(default_factory=CallLimits)  # eth_call gas cap and timeout
    metrics: Any = None  # rpc/metrics.py Metrics: /metrics, RPC timing (set by the node)
    encrypted: Any = None  # sequencer/encrypted.py EncryptedDesk (None: encryption off)
    decryptor: Any = None  # sequencer/decryption.py Decryptor, when keypers run
    keyper_urls: list[str] = field(default_factory=list)
    replica: Any = None  # sequencer/replication.py Replication with --db postgresql://
    order_gate: Any = None  # sequencer/gate.py OrderGate: writes wait while reveals go out
    bundle_waits: Any = None  # rpc/wait.py Waits, made by the first xseq_waitBundle


@dataclass
class RollupCall:
    """Context of a request made on ``/rollup/<chainId>``."""

    services: Services
    rollup: Rollup

    @property
    def filters(self) -> FilterHub:
        return self.services.filters[self.rollup.chain_id]

    def record(self, ref: BlockRef) -> BlockRecord | None:
        """The sealed block ``ref`` names; pending resolves to latest. None if unknown."""
        rollup = self.rollup
        if ref.block_hash is not None:
            return rollup.block_by_hash(ref.block_hash)
        if ref.number is not None:
            return rollup.block(ref.number)
        if ref.tag == "earliest":
            return rollup.block(0)
        l1 = self.services.l1
        if l1 is not None and ref.tag in ("safe", "finalized"):
            slot = l1.safe_slot if ref.tag == "safe" else l1.finalized_slot
            return rollup.block(min(slot, rollup.head.number))
        return rollup.head

    def header_for_state(self, ref: BlockRef) -> BlockHeaderAPI | None:
        """Header whose post-state a read uses; None means the pending block.

        A number above the head answers from the head: wallets keep asking for block
        numbers of a previous run after a devnet restart.
        """
        if ref.tag == "pending":
            return None
        if ref.number is not None and ref.number > self.rollup.head.number:
            return self.rollup.head.block.header
        record = self.record(ref)
        if record is None:
            raise ResourceNotFound("header not found")
        return record.block.header

    def state(self, ref: BlockRef) -> StateAPI:
        header = self.header_for_state(ref)
        if header is None:
            return self.rollup.pending_state()
        return self.rollup.state_at(header)


def chain_id_of(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParams(f"invalid chain id {value!r}") from None
