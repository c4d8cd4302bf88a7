"""Devnet methods test suites rely on: ``evm_*``, ``anvil_*`` / ``hardhat_*`` state and
impersonation, and ``eth_sendTransaction`` / signing for the unlocked dev accounts.

State changes (setBalance, setCode, ...) are applied to the open slot and, in instant
mode, sealed at once like a transaction, so ``latest`` shows them on the next request.
They are refused on the predeploys and the system account, which cannot be impersonated
either: cross-rollup effects must stay the sequencer's alone (core/checks.py).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_typing import Address

from xseqd.chains import calls
from xseqd.chains.calls import CallRequest
from xseqd.core.checks import refuse_protected_account, refuse_system_sender
from xseqd.core.devchange import DevChange
from xseqd.errors import InvalidParams, TxRejected
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall
from xseqd.rpc.envelope import OffLoop, Registry
from xseqd.rpc.eth import _next_base_fee, decode_tx, submit
from xseqd.sequencer.devtime import MAX_TIMESTAMP

dev: Registry[RollupCall] = Registry({})

# A fixed throwaway key signs transactions of impersonated accounts; the sequencer
# executes them as the impersonated sender (like anvil, such blocks do not re-verify).
_IMPERSONATION_KEY = Account.from_key("0x" + "42" * 32)


def _both(name: str) -> list[str]:
    return [f"anvil_{name}", f"hardhat_{name}"]


def _register_both(name: str):  # type: ignore[no-untyped-def]
    def wrap(fn):  # type: ignore[no-untyped-def]
        for full in _both(name):
            dev.method(full)(fn)
        return fn

    return wrap


# -- mining and time ----------------------------------------------------------------------


# Most blocks one evm_mine / anvil_mine call seals.
MAX_MINE_BLOCKS = 10_000


def _mine_count(value: Any) -> int:
    count = p.quantity(value, "blocks")
    if count > MAX_MINE_BLOCKS:
        raise InvalidParams(f"at most {MAX_MINE_BLOCKS} blocks at once, got {count}")
    return count


@dev.method("evm_mine")
def evm_mine(c: RollupCall, params: list[Any]) -> str:
    (arg,) = p.positional(params, 0, 1)
    timestamp = None
    if isinstance(arg, dict):
        timestamp = p.quantity(arg["timestamp"], "timestamp") if "timestamp" in arg else None
        blocks = _mine_count(arg.get("blocks", 1))
        for _ in range(blocks):
            c.services.driver.seal(timestamp)
            timestamp = None
        return "0x0"
    if arg is not None:
        timestamp = p.quantity(arg, "timestamp")
    c.services.driver.seal(timestamp)
    return "0x0"


@_register_both("mine")
def anvil_mine(c: RollupCall, params: list[Any]) -> None:
    count_v, interval_v = p.positional(params, 0, 2)
    count = _mine_count(count_v) if count_v is not None else 1
    interval = p.quantity(interval_v, "interval") if interval_v is not None else 1
    seq = c.services.sequencer
    if seq.head_timestamp + count * max(interval, 1) > MAX_TIMESTAMP:  # before sealing any
        raise InvalidParams(f"interval {interval}: the last block would be past {MAX_TIMESTAMP}")
    for i in range(count):
        ts = None if i == 0 else seq.head_timestamp + max(interval, 1)
        c.services.driver.seal(ts)


@dev.method("evm_increaseTime")
def evm_increase_time(c: RollupCall, params: list[Any]) -> str:
    (seconds,) = p.positional(params, 1, 1)
    return fmt.q(c.services.sequencer.dev.increase_time(p.quantity(seconds, "seconds")))


@dev.method("evm_setNextBlockTimestamp")
def evm_set_next_block_timestamp(c: RollupCall, params: list[Any]) -> None:
    (ts,) = p.positional(params, 1, 1)
    c.services.sequencer.dev.set_next_timestamp(p.quantity(ts, "timestamp"))


@dev.method("evm_setAutomine")
def evm_set_automine(c: RollupCall, params: list[Any]) -> None:
    (flag,) = p.positional(params, 1, 1)
    c.services.driver.set_automine(p.boolean(flag, "automine"))


@dev.method("anvil_getAutomine")
def anvil_get_automine(c: RollupCall, params: list[Any]) -> bool:
    return c.services.driver.mode.value == "instant"


# Bounds of evm_setIntervalMining: a shorter interval would seal back to back and hog the
# event loop; a longer one is a typo (asyncio cannot sleep past ~2^53 s anyway).
MIN_MINING_INTERVAL = 0.01
MAX_MINING_INTERVAL = 86_400 * 365


def mining_interval(value: Any) -> float:
    """Seconds between slots for ``evm_setIntervalMining``: a JSON number or a hex quantity,
    0 (manual mining, as anvil) or within [MIN_MINING_INTERVAL, MAX_MINING_INTERVAL]."""
    if isinstance(value, float):
        seconds = value
    else:  # a quantity (refuses booleans, negatives, strings that are not hex)
        seconds = float(min(p.quantity(value, "interval"), MAX_MINING_INTERVAL + 1))
    if seconds != 0 and not MIN_MINING_INTERVAL <= seconds <= MAX_MINING_INTERVAL:
        raise InvalidParams(
            f"invalid interval: {value!r} seconds; 0 (manual) or between "
            f"{MIN_MINING_INTERVAL} and {MAX_MINING_INTERVAL}"
        )
    return seconds


@dev.method("evm_setIntervalMining")
def evm_set_interval_mining(c: RollupCall, params: list[Any]) -> None:
    (seconds,) = p.positional(params, 1, 1)
    c.services.driver.set_interval(mining_interval(seconds))


@dev.method("evm_snapshot")
def evm_snapshot(c: RollupCall, params: list[Any]) -> str:
    return fmt.q(c.services.sequencer.dev.take_snapshot())


@dev.method("evm_revert")
def evm_revert(c: RollupCall, params: list[Any]) -> bool:
    (snap,) = p.positional(params, 1, 1)
    return c.services.sequencer.dev.revert_snapshot(p.quantity(snap, "snapshot id"))


# -- state changes ------------------------------------------------------------------------


def _change(c: RollupCall, kind: str, account: bytes, value: int | bytes, slot: int = 0) -> None:
    refuse_protected_account(account)
    change = DevChange(c.rollup.chain_id, kind, account, value, slot)
    c.services.sequencer.apply_dev_change(change)
    c.services.driver.submitted()
    c.services.driver.seal_now_if_instant()


@_register_both("setBalance")
def set_balance(c: RollupCall, params: list[Any]) -> None:
    who, amount = p.positional(params, 2, 2)
    account, value = p.address(who), p.quantity(amount, "balance")
    _change(c, "balance", account, value)


@_register_both("setNonce")
def set_nonce(c: RollupCall, params: list[Any]) -> None:
    who, nonce = p.positional(params, 2, 2)
    account, value = p.address(who), p.quantity(nonce, "nonce", (1 << 64) - 1)
    _change(c, "nonce", account, value)


@_register_both("setCode")
def set_code(c: RollupCall, params: list[Any]) -> None:
    who, code = p.positional(params, 2, 2)
    account, value = p.address(who), p.data(code, "code")
    _change(c, "code", account, value)


@_register_both("setStorageAt")
def set_storage_at(c: RollupCall, params: list[Any]) -> bool:
    who, slot, word = p.positional(params, 3, 3)
    account, key = p.address(who), p.quantity(slot, "slot")
    value = int.from_bytes(p.data(word, "value", 32), "big")
    _change(c, "storage", account, value, key)
    return True


@_register_both("impersonateAccount")
def impersonate(c: RollupCall, params: list[Any]) -> None:
    (who,) = p.positional(params, 1, 1)
    account = p.address(who)
    refuse_system_sender(account, "the system account cannot be impersonated")
    refuse_protected_account(account, "impersonate")
    c.services.impersonated.add(account)


@_register_both("stopImpersonatingAccount")
def stop_impersonating(c: RollupCall, params: list[Any]) -> None:
    (who,) = p.positional(params, 1, 1)
    c.services.impersonated.discard(p.address(who))


# -- sending and signing for unlocked accounts --------------------------------------------


@dev.method("eth_sendTransaction")
def send_transaction(c: RollupCall, params: list[Any]) -> str | OffLoop:
    return _send(c, params, unsigned=False)


@dev.method("eth_sendUnsignedTransaction")
def send_unsigned_transaction(c: RollupCall, params: list[Any]) -> str | OffLoop:
    """viem test client's send: as ``eth_sendTransaction``, only from an impersonated account."""
    return _send(c, params, unsigned=True)


def _send(c: RollupCall, params: list[Any], *, unsigned: bool) -> str | OffLoop:
    """Without ``gas``, the estimate runs off the loop (on a copy of the pending state)
    and the transaction is signed and submitted back on it, nonce read then."""
    (obj,) = p.positional(params, 1, 1)
    req = p.call_request(obj)
    if not isinstance(obj, dict) or not obj.get("from"):
        raise InvalidParams("from is required")
    sender = req.sender
    refuse_system_sender(sender)
    impersonated = sender in c.services.impersonated
    if unsigned and not impersonated:
        raise TxRejected(f"account {fmt.h(sender)} is not impersonated")
    key = c.services.accounts.get(sender)
    if key is None and not impersonated:
        raise TxRejected(f"unknown account {fmt.h(sender)}")
    if req.gas is None:
        job = calls.prepare_estimate(c.rollup, None, req, c.services.limits)
        return OffLoop(job.run, lambda gas: _sign_and_submit(c, req, gas, key))
    return _sign_and_submit(c, req, req.gas, key)


def _sign_and_submit(c: RollupCall, req: CallRequest, gas: int, key: Any) -> str:
    sender = req.sender
    state = c.rollup.pending_state()
    nonce = req.nonce if req.nonce is not None else state.get_nonce(Address(sender))
    prio = req.max_priority_fee_per_gas
    if prio is None:
        prio = 1_000_000
    base_fee = _next_base_fee(c)
    fields: dict[str, Any] = {
        "chainId": c.rollup.chain_id,
        "nonce": nonce,
        "gas": gas,
        "value": req.value,
        "data": req.data,
    }
    if req.to is not None:
        fields["to"] = req.to
    if req.gas_price is not None and req.max_fee_per_gas is None:
        fields["gasPrice"] = req.gas_price
    else:
        fields["maxPriorityFeePerGas"] = prio
        fields["maxFeePerGas"] = req.max_fee_per_gas or (2 * base_fee + prio)
        fields["type"] = 2
    signer = key if key is not None else _IMPERSONATION_KEY
    raw = bytes(signer.sign_transaction(fields).raw_transaction)
    tx = decode_tx(c, raw)
    return submit(c, tx, None if key is not None else sender)


def _key(c: RollupCall, who: Any) -> Any:
    key = c.services.accounts.get(p.address(who))
    if key is None:
        raise TxRejected("unknown account")
    return key


@dev.method("eth_sign")
def eth_sign(c: RollupCall, params: list[Any]) -> str:
    who, message = p.positional(params, 2, 2)
    signed = _key(c, who).sign_message(encode_defunct(primitive=p.data(message, "message")))
    return fmt.h(signed.signature)


@dev.method("personal_sign")
def personal_sign(c: RollupCall, params: list[Any]) -> str:
    message, who = p.positional(params, 2, 2)
    return eth_sign(c, [who, message])


@dev.method("eth_signTypedData_v4")
def sign_typed_data(c: RollupCall, params: list[Any]) -> str:
    import json

    who, doc = p.positional(params, 2, 2)
    try:
        typed = json.loads(doc) if isinstance(doc, str) else doc
        signable = encode_typed_data(full_message=typed)
    except Exception as exc:
        raise InvalidParams(f"invalid typed data: {exc}") from None
    return fmt.h(_key(c, who).sign_message(signable).signature)
