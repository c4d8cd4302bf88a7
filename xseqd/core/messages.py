"""Cross-rollup messages: decoding ``Mailbox.MessageSent`` logs and encoding deliveries
(pure logic; the Solidity side is contracts/src/Mailbox.sol)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.abi import event_topic, input_types, selector
from xseqd.chains.predeploys import MAILBOX

MESSAGE_SENT = event_topic("Mailbox", "MessageSent")
DELIVER_SELECTOR = selector("Mailbox", "deliver")
DELIVER_TYPES = input_types("Mailbox", "deliver")
MAX_DEPTH = 4  # A -> B -> C -> D -> E: a delivery may trigger messages up to this depth


@dataclass(frozen=True)
class Message:
    """One message as emitted by the source mailbox."""

    id: bytes
    source: int
    destination: int
    nonce: int
    sender: bytes
    target: bytes
    value: int
    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "id": "0x" + self.id.hex(),
            "source": self.source,
            "destination": self.destination,
            "nonce": self.nonce,
            "sender": "0x" + self.sender.hex(),
            "target": "0x" + self.target.hex(),
            "value": hex(self.value),
            "data": "0x" + self.data.hex(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Message:
        return cls(
            bytes.fromhex(doc["id"][2:]),
            int(doc["source"]),
            int(doc["destination"]),
            int(doc["nonce"]),
            bytes.fromhex(doc["sender"][2:]),
            bytes.fromhex(doc["target"][2:]),
            int(doc["value"], 16),
            bytes.fromhex(doc["data"][2:]),
        )


def message_id(m: Message) -> bytes:
    """Mailbox.messageId: keccak256(abi.encode(source, destination, nonce, sender, target,
    value, data))."""
    return keccak(
        encode(
            ["uint256", "uint256", "uint256", "address", "address", "uint256", "bytes"],
            [m.source, m.destination, m.nonce, m.sender, m.target, m.value, m.data],
        )
    )


def sent_messages(source: int, logs: Any) -> list[Message]:
    """The messages a transaction sent: its MessageSent logs from the mailbox, in order."""
    out = []
    for log in logs:
        if bytes(log.address) != MAILBOX or not log.topics:
            continue
        topics = [t.to_bytes(32, "big") for t in log.topics]
        if topics[0] != MESSAGE_SENT:
            continue
        target, value, nonce, data = decode(
            ["address", "uint256", "uint256", "bytes"], bytes(log.data)
        )
        out.append(
            Message(
                id=topics[1],
                source=source,
                destination=int.from_bytes(topics[2], "big"),
                nonce=int(nonce),
                sender=topics[3][12:],
                target=bytes.fromhex(target[2:]),
                value=int(value),
                data=bytes(data),
            )
        )
    return out


def deliver_calldata(m: Message) -> bytes:
    return DELIVER_SELECTOR + encode(
        DELIVER_TYPES,
        [m.source, m.nonce, m.sender, m.target, m.value, m.data],
    )


def root_slot(mapping_index: int, counterparty: int) -> int:
    """Storage slot of ``outboxRoot[c]`` (index 0) / ``inboxRoot[c]`` (index 1)."""
    return int.from_bytes(
        keccak(counterparty.to_bytes(32, "big") + mapping_index.to_bytes(32, "big")), "big"
    )


def roll(root: bytes, message: bytes) -> bytes:
    """The mailbox's rolling root: keccak256(abi.encode(root, id))."""
    return keccak(root + message)
