"""Parsing at the edge: JSON-RPC parameter values into checked Python values.

Every parser raises ``InvalidParams`` with a message naming what was wrong; handlers never
see a hex string or an untyped dict. Block identifiers become a ``BlockRef``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import Address

from xseqd.chains.calls import CallRequest
from xseqd.chains.overrides import AccountOverride, StateOverride
from xseqd.errors import InvalidInput, InvalidParams

MAX_UINT256 = (1 << 256) - 1
TAGS = ("latest", "pending", "safe", "finalized", "earliest")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def is_hex(text: str) -> bool:
    """Only hex digits (``int(text, 16)`` also takes spaces, signs and underscores)."""
    return _HEX_DIGITS.issuperset(text)


def quantity(value: Any, name: str = "quantity", limit: int = MAX_UINT256) -> int:
    """A hex quantity (``0x1a``); plain JSON integers are accepted too."""
    if isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected hex quantity")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) > 2:
        if not is_hex(value[2:]):
            raise InvalidParams(f"invalid {name}: {value!r} is not hex")
        number = int(value[2:], 16)
    else:
        raise InvalidParams(f"invalid {name}: expected hex quantity, got {value!r}")
    if not 0 <= number <= limit:
        raise InvalidParams(f"invalid {name}: {value!r} out of range")
    return number


def data(value: Any, name: str = "data", size: int | None = None) -> bytes:
    """Hex bytes (``0x...``); with ``size``, exactly that many bytes."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise InvalidParams(f"invalid {name}: expected 0x-prefixed hex string")
    text = value[2:]
    if len(text) % 2:
        raise InvalidParams(f"invalid {name}: odd number of hex digits")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidParams(f"invalid {name}: not hex") from None
    if size is not None and len(raw) != size:
        raise InvalidParams(f"invalid {name}: expected {size} bytes, got {len(raw)}")
    return raw


def address(value: Any, name: str = "address") -> Address:
    return Address(data(value, name, 20))


def hash32(value: Any, name: str = "hash") -> bytes:
    return data(value, name, 32)


def storage_slot(value: Any) -> int:
    """A storage key: a quantity or a 32-byte hex word (geth's -32000 wording on error)."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise InvalidInput("unable to decode storage key: hex string without 0x prefix")
    if len(value) > 66:
        raise InvalidInput(
            "unable to decode storage key: hex string too long, want at most 32 bytes"
        )
    if not is_hex(value[2:]):
        raise InvalidInput("unable to decode storage key: hex string invalid")
    return int(value[2:] or "0", 16)


def boolean(value: Any, name: str = "flag") -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected true or false")
    return value


@dataclass(frozen=True)
class BlockRef:
    """A block identifier: a tag, a number, or a hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    block_hash: bytes | None = None
    require_canonical: bool = False


LATEST = BlockRef(tag="latest")
PENDING = BlockRef(tag="pending")


def block_ref(value: Any, default: BlockRef = LATEST) -> BlockRef:
    """A block parameter: tag, hex number, or ``{blockHash}`` / ``{blockNumber}``."""
    if value is None:
        return default
    if isinstance(value, str) and value in TAGS:
        return BlockRef(tag=value)
    if isinstance(value, dict):
        if "blockHash" in value:
            return BlockRef(
                block_hash=hash32(value["blockHash"], "blockHash"),
                require_canonical=bool(value.get("requireCanonical", False)),
            )
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], default)
        raise InvalidParams("invalid block parameter: expected blockHash or blockNumber")
    if isinstance(value, str) and len(value) == 66:
        return BlockRef(block_hash=hash32(value, "block hash"))
    return BlockRef(number=quantity(value, "block number", (1 << 63) - 1))


def call_request(value: Any) -> CallRequest:
    """A transaction call object; both ``input`` and ``data`` are accepted."""
    if not isinstance(value, dict):
        raise InvalidParams("invalid call object: expected an object")
    payload = value.get("input", value.get("data"))
    if "input" in value and "data" in value and value["input"] != value["data"]:
        raise InvalidParams('both "data" and "input" are set and not equal')
    access = []
    for entry in value.get("accessList") or []:
        if not isinstance(entry, dict):
            raise InvalidParams("invalid accessList entry")
        keys = tuple(storage_slot(k) for k in entry.get("storageKeys", []))
        access.append((address(entry.get("address"), "accessList address"), keys))

    def opt(key: str) -> int | None:
        return quantity(value[key], key) if value.get(key) is not None else None

    if value.get("authorizationList"):
        raise InvalidParams("authorizationList in calls is not supported yet")
    to = value.get("to")
    return CallRequest(
        sender=address(value["from"], "from") if value.get("from") else b"\x00" * 20,
        to=address(to, "to") if to else None,
        gas=opt("gas"),
        gas_price=opt("gasPrice"),
        max_fee_per_gas=opt("maxFeePerGas"),
        max_priority_fee_per_gas=opt("maxPriorityFeePerGas"),
        value=opt("value") or 0,
        data=data(payload, "input") if payload is not None else b"",
        access_list=tuple(access),
        nonce=opt("nonce"),
    )


OVERRIDE_FIELDS = ("balance", "nonce", "code", "state", "stateDiff")


def _slots(value: Any, where: str) -> dict[int, int]:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid {where}: expected an object of slot to value")
    slots = {}
    for key, word in value.items():
        slots[int.from_bytes(hash32(key, f"{where} key"), "big")] = int.from_bytes(
            hash32(word, f"{where} value"), "big"
        )
    return slots


def state_override(value: Any) -> StateOverride | None:
    """geth's ``StateOverride``: address -> {balance, nonce, code, state | stateDiff}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidParams("invalid state override: expected an object keyed by address")
    result: dict[bytes, AccountOverride] = {}
    for key, fields in value.items():
        who = bytes(address(key, "state override address"))
        if who in result:
            raise InvalidParams(f"invalid state override: account {key} appears twice")
        if not isinstance(fields, dict):
            raise InvalidParams(f"invalid state override for {key}: expected an object")
        unknown = sorted(set(fields) - set(OVERRIDE_FIELDS))
        if unknown:
            raise InvalidParams(
                f"invalid state override for {key}: unknown field {unknown[0]!r} "
                f"(expected {', '.join(OVERRIDE_FIELDS)})"
            )
        if fields.get("state") is not None and fields.get("stateDiff") is not None:
            raise InvalidParams(f"account {key} has both 'state' and 'stateDiff'")

        def opt(name: str, limit: int = MAX_UINT256) -> int | None:
            raw = fields.get(name)  # noqa: B023 - used at once
            return quantity(raw, name, limit) if raw is not None else None

        code = fields.get("code")
        state = fields.get("state")
        diff = fields.get("stateDiff")
        result[who] = AccountOverride(
            balance=opt("balance"),
            nonce=opt("nonce", (1 << 64) - 1),
            code=data(code, "code") if code is not None else None,
            state=_slots(state, "state") if state is not None else None,
            state_diff=_slots(diff, "stateDiff") if diff is not None else None,
        )
    return result


def positional(params: Any, count_min: int, count_max: int) -> list[Any]:
    """The positional parameter list, checked for length and padded with None."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise InvalidParams("params must be an array")
    if not count_min <= len(params) <= count_max:
        if count_min == count_max:
            raise InvalidParams(f"expected {count_min} params, got {len(params)}")
        raise InvalidParams(f"expected {count_min} to {count_max} params, got {len(params)}")
    return params + [None] * (count_max - len(params))
