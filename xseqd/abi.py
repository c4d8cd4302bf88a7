"""Names from the ABI: the committed solc artifacts, and the selectors, event topics and
revert decoding derived from them (pure; the bottom floor, imports nothing of xseqd).

Every function selector and event topic the daemon uses is computed here from the
artifact's ABI entry (``selector("Settlement", "post")``), never spelled as a signature
string elsewhere, so a contract change that alters a signature is seen at once (the
artifacts are checked fresh by tests/test_contracts_fresh.py).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

ARTIFACTS = Path(__file__).resolve().parent / "contracts" / "artifacts"

ERROR_SELECTOR = keccak(b"Error(string)")[:4]
PANIC_SELECTOR = keccak(b"Panic(uint256)")[:4]


@cache
def artifact(name: str) -> dict[str, Any]:
    """A committed solc artifact: ``abi``, ``bytecode``, ``deployedBytecode``."""
    data: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return data


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of one input (tuples spelled out, array suffixes kept)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _entry(contract: str, name: str, kind: str) -> dict[str, Any]:
    matches = [
        e
        for e in artifact(contract)["abi"]
        if e.get("type") == kind and (kind == "constructor" or e.get("name") == name)
    ]
    if len(matches) != 1:
        raise LookupError(f"{contract}.{name}: {len(matches)} {kind} entries in the ABI")
    return matches[0]


def signature(contract: str, name: str, kind: str = "function") -> str:
    """``name(type,...)`` of a function, event or error declared in ``contract``."""
    entry = _entry(contract, name, kind)
    return f"{name}({','.join(canonical_type(p) for p in entry['inputs'])})"


def input_types(contract: str, name: str, kind: str = "function") -> list[str]:
    return [canonical_type(p) for p in _entry(contract, name, kind)["inputs"]]


def selector(contract: str, name: str) -> bytes:
    """The 4-byte selector of ``contract.name(...)``."""
    return keccak(signature(contract, name).encode())[:4]


def event_topic(contract: str, name: str) -> bytes:
    """topic0 of ``contract``'s event ``name``."""
    return keccak(signature(contract, name, "event").encode())


def decode_revert_reason(data: bytes) -> str | None:
    """The reason of ``Error(string)`` or ``Panic(uint256)`` revert data, if it is one."""
    try:
        if data[:4] == ERROR_SELECTOR:
            return str(decode(["string"], data[4:])[0])
        if data[:4] == PANIC_SELECTOR:
            return f"panic: 0x{int(decode(['uint256'], data[4:])[0]):02x}"
    except Exception:  # malformed revert data is simply not a known reason
        return None
    return None


def decode_error(contract: str, data: bytes) -> str | None:
    """Revert data as ``Name(arg, ...)`` when it is one of the errors ``contract``
    declares (``BadBatch(rollup set)``), or an ``Error(string)`` / ``Panic`` reason."""
    reason = decode_revert_reason(data)
    if reason is not None:
        return reason
    for entry in artifact(contract)["abi"]:
        if entry.get("type") != "error":
            continue
        types = [canonical_type(p) for p in entry["inputs"]]
        if keccak(f"{entry['name']}({','.join(types)})".encode())[:4] != data[:4]:
            continue
        try:
            values = decode(types, data[4:])
        except Exception:  # malformed: not this error after all
            return None
        shown = ", ".join("0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values)
        return f"{entry['name']}({shown})"
    return None


def output_types(contract: str, name: str) -> list[str]:
    return [canonical_type(p) for p in _entry(contract, name, "function")["outputs"]]


def calldata(contract: str, name: str, *args: Any) -> bytes:
    """Calldata of ``contract.name(*args)``, typed by the artifact's ABI."""
    return selector(contract, name) + encode(input_types(contract, name), list(args))


def decode_output(contract: str, name: str, data: bytes) -> tuple[Any, ...]:
    """The return values of ``contract.name`` from raw return data."""
    return tuple(decode(output_types(contract, name), data))
