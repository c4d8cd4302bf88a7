"""Decoding revert data into a human reason (pure)."""

from __future__ import annotations

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


def decode_revert_reason(data: bytes) -> str | None:
    """The reason of ``Error(string)`` or ``Panic(uint256)`` revert data, if it is one."""
    try:
        if data[:4] == ERROR_SELECTOR and len(data) >= 68:
            length = int.from_bytes(data[36:68], "big")
            return data[68 : 68 + length].decode("utf-8", errors="replace")
        if data[:4] == PANIC_SELECTOR and len(data) >= 36:
            return f"panic: 0x{int.from_bytes(data[4:36], 'big'):02x}"
    except (ValueError, IndexError):
        return None
    return None
