"""DEV ONLY (``--fault frontrun``): the sequencer as the strongest attacker we can give it,
for the sandwich demonstration (examples/sandwich.py, docs/encryption.md).

Before running any bundle it can read, the sequencer looks for legs calling
``SwapPool.swap(bool sellX, uint256 amountIn, uint256 minOut)`` (contracts/src/SwapPool.sol),
and sandwiches each: it front-runs with the largest trade in the same direction that
still leaves the victim's ``minOut`` met, orders the victim's bundle, then back-runs by
selling what the front-run bought. It trades as dev account 9 (the attacker the example
funds). It cannot read an encrypted item before its place is sealed, and a reveal runs at
the top of its slot: an item ordered before it would be a reorder the verifier names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_typing import Address
from eth_utils import to_checksum_address

from xseqd.accounts import dev_accounts
from xseqd.core import transition
from xseqd.core.atomic import Leg
from xseqd.errors import XseqError

SWAP = keccak(b"swap(bool,uint256,uint256)")[:4]
ATTACKER_INDEX = 9
RESERVE_X_SLOT, RESERVE_USD_SLOT, X_SLOT, USD_SLOT = 0, 1, 2, 3
GAS = 200_000


def quote(reserve_in: int, reserve_out: int, amount_in: int) -> int:
    """SwapPool.quote, in Python (the same integer arithmetic)."""
    fee_in = amount_in * 997
    return fee_in * reserve_out // (reserve_in * 1000 + fee_in)


def best_front_run(reserve_in: int, reserve_out: int, victim_in: int, min_out: int,
                   budget: int) -> int:  # fmt: skip
    """The largest front-run (same direction, at most ``budget``) after which the victim
    still gets ``min_out``; 0 if none."""
    lo, hi = 0, budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        got = quote(reserve_in, reserve_out, mid)
        if quote(reserve_in + mid, reserve_out - got, victim_in) >= min_out:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class Frontrunner:
    """Sandwiches readable swaps; ``submit`` orders one of its own transactions."""

    submit: Callable[[int, Any], Any]
    key: bytes = bytes(dev_accounts(ATTACKER_INDEX + 1)[ATTACKER_INDEX].key)

    @property
    def address(self) -> bytes:
        return bytes.fromhex(Account.from_key(self.key).address[2:])

    def front_run(self, rollups: Any, legs: tuple[Leg, ...]) -> list[tuple[int, Any]]:
        """Order the front-runs of ``legs``' swaps now; the back-runs to order after them."""
        back: list[tuple[int, Any]] = []
        for leg in legs:
            data = bytes(leg.tx.data)
            if data[:4] != SWAP or leg.tx.to == b"" or bytes(leg.tx.sender) == self.address:
                continue
            try:
                sell_x, amount_in, min_out = decode(["bool", "uint256", "uint256"], data[4:])
            except Exception:
                continue
            pool = bytes(leg.tx.to)
            ob = rollups[leg.chain_id].open
            if ob is None:
                continue
            state = ob.workspace.state
            rx = state.get_storage(Address(pool), RESERVE_X_SLOT)
            ru = state.get_storage(Address(pool), RESERVE_USD_SLOT)
            r_in, r_out = (rx, ru) if sell_x else (ru, rx)
            holdings = state.get_storage(Address(pool), _balance_slot(self.address, sell_x))
            size = best_front_run(r_in, r_out, amount_in, min_out, holdings)
            if size == 0:
                continue
            bought = quote(r_in, r_out, size)
            nonce = state.get_nonce(Address(self.address))
            try:
                self.submit(
                    leg.chain_id, self._tx(rollups, leg.chain_id, pool, nonce, sell_x, size)
                )
            except XseqError:
                continue
            back.append((leg.chain_id, self._tx(rollups, leg.chain_id, pool, nonce + 1,
                                                not sell_x, bought)))  # fmt: skip
        return back

    def back_run(self, chain_id: int, tx: Any) -> None:
        try:
            self.submit(chain_id, tx)
        except XseqError:
            pass

    def _tx(self, rollups: Any, chain_id: int, pool: bytes, nonce: int, sell_x: bool,
            amount: int) -> Any:  # fmt: skip
        data = SWAP + encode(["bool", "uint256", "uint256"], [sell_x, amount, 0])
        tx = {"chainId": chain_id, "nonce": nonce, "to": to_checksum_address(pool), "value": 0,
              "gas": GAS, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 0,
              "data": data}  # fmt: skip
        raw = bytes(Account.sign_transaction(tx, self.key).raw_transaction)
        return transition.decoder(rollups)(chain_id, raw)


def _balance_slot(owner: bytes, x: bool) -> int:
    """Storage slot of ``x[owner]`` (or ``usd[owner]``) in SwapPool."""
    slot = X_SLOT if x else USD_SLOT
    return int.from_bytes(keccak(owner.rjust(32, b"\x00") + slot.to_bytes(32, "big")), "big")


def own_transaction(seq: Any) -> None:
    """DEV ONLY (``--fault withhold``, sequencer/decryption.py): order a 1-wei transfer of
    the attacker (dev account 9) to itself on the first rollup, as the sequencer trading
    on what it has just read."""
    key = dev_accounts(ATTACKER_INDEX + 1)[ATTACKER_INDEX]
    seq.open_slot()
    chain_id = min(seq.rollups)
    state = seq.rollups[chain_id].open.workspace.state
    tx = {"chainId": chain_id, "nonce": state.get_nonce(Address(bytes.fromhex(key.address[2:]))),
          "to": key.address, "value": 1, "gas": 21_000, "maxFeePerGas": 10**11,
          "maxPriorityFeePerGas": 0}  # fmt: skip
    raw = bytes(Account.sign_transaction(tx, key.key).raw_transaction)
    seq.submit(chain_id, transition.decoder(seq.rollups)(chain_id, raw))
