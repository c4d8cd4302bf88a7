"""The ``eth_`` / ``net_`` / ``web3_`` / ``debug_getRaw*`` methods of a rollup endpoint.

Each handler parses its params (rpc/params.py), delegates to the rollup, the sequencer or
chains/calls.py, and formats the answer (rpc/format.py). ``eth_call`` and
``eth_estimateGas`` at a sealed block run on a worker thread (rpc/envelope.py ``OffLoop``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import rlp
from eth.abc import SignedTransactionAPI
from eth.vm.forks.cancun.state import fake_exponential
from eth_utils import ValidationError

from xseqd.chains import calls
from xseqd.chains.records import BlockRecord
from xseqd.core.logfilter import LogCriteria
from xseqd.errors import InvalidParams, ResourceNotFound, ServerBusy, TxRejected
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc import rawtx
from xseqd.rpc.context import RollupCall
from xseqd.rpc.envelope import OffLoop, Registry
from xseqd.rpc.filters import Filter, matching_logs
from xseqd.rpc.recover import check_and_recover

eth: Registry[RollupCall] = Registry({})
T = TypeVar("T")

# Bounds on what one request can ask for (exceeding one is -32602, except blockCount of
# eth_feeHistory, which is clamped as geth does).
MAX_LOG_RANGE = 10_000  # blocks one eth_getLogs / eth_getFilterLogs may scan
MAX_LOG_RESULTS = 10_000  # logs one eth_getLogs / eth_getFilterLogs may return
MAX_FEE_HISTORY = 1024  # blocks of eth_feeHistory (geth's limit)
MAX_REWARD_PERCENTILES = 100  # reward percentiles of one eth_feeHistory
MIN_PRIORITY_FEE = 1_000_000_000 // 1000  # 1 mwei tip suggested


# -- chain and client info ----------------------------------------------------------------


@eth.method("web3_clientVersion")
def client_version(c: RollupCall, params: list[Any]) -> str:
    return c.services.client_version


@eth.method("web3_sha3")
def sha3(c: RollupCall, params: list[Any]) -> str:
    from eth_hash.auto import keccak

    (value,) = p.positional(params, 1, 1)
    return fmt.h(keccak(p.data(value)))


@eth.method("net_version")
def net_version(c: RollupCall, params: list[Any]) -> str:
    return str(c.rollup.chain_id)


@eth.method("net_listening")
def net_listening(c: RollupCall, params: list[Any]) -> bool:
    return True


@eth.method("net_peerCount")
def net_peer_count(c: RollupCall, params: list[Any]) -> str:
    return "0x0"


@eth.method("eth_chainId")
def chain_id(c: RollupCall, params: list[Any]) -> str:
    return fmt.q(c.rollup.chain_id)


@eth.method("eth_syncing")
def syncing(c: RollupCall, params: list[Any]) -> bool:
    return False


@eth.method("eth_mining")
def mining(c: RollupCall, params: list[Any]) -> bool:
    return True


@eth.method("eth_hashrate")
def hashrate(c: RollupCall, params: list[Any]) -> str:
    return "0x0"


@eth.method("eth_coinbase")
def coinbase(c: RollupCall, params: list[Any]) -> str:
    return fmt.h(c.rollup.head.block.header.coinbase)


@eth.method("eth_accounts")
def accounts(c: RollupCall, params: list[Any]) -> list[str]:
    return [fmt.h(a) for a in c.services.accounts]


@eth.method("eth_blockNumber")
def block_number(c: RollupCall, params: list[Any]) -> str:
    return fmt.q(c.rollup.head.number)


# -- blocks -------------------------------------------------------------------------------


def _block_or_none(c: RollupCall, ref: p.BlockRef) -> BlockRecord | None:
    if ref.number is not None and ref.number > c.rollup.head.number:
        return None
    return c.record(ref)


@eth.method("eth_getBlockByNumber")
def get_block_by_number(c: RollupCall, params: list[Any]) -> Any:
    ref_value, full = p.positional(params, 1, 2)
    ref = p.block_ref(ref_value)
    record = _block_or_none(c, ref)
    return None if record is None else fmt.block_json(record, bool(full))


@eth.method("eth_getBlockByHash")
def get_block_by_hash(c: RollupCall, params: list[Any]) -> Any:
    value, full = p.positional(params, 1, 2)
    record = c.rollup.block_by_hash(p.hash32(value, "block hash"))
    return None if record is None else fmt.block_json(record, bool(full))


def _count(record: BlockRecord | None) -> str | None:
    return None if record is None else fmt.q(len(record.txs))


@eth.method("eth_getBlockTransactionCountByNumber")
def tx_count_by_number(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    return _count(_block_or_none(c, p.block_ref(ref_value)))


@eth.method("eth_getBlockTransactionCountByHash")
def tx_count_by_hash(c: RollupCall, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    return _count(c.rollup.block_by_hash(p.hash32(value, "block hash")))


@eth.method("eth_getUncleCountByBlockNumber")
def uncle_count_by_number(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    record = _block_or_none(c, p.block_ref(ref_value))
    return None if record is None else fmt.q(len(record.block.uncles))


@eth.method("eth_getUncleCountByBlockHash")
def uncle_count_by_hash(c: RollupCall, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    record = c.rollup.block_by_hash(p.hash32(value, "block hash"))
    return None if record is None else fmt.q(len(record.block.uncles))


@eth.method("eth_getBlockReceipts")
def block_receipts(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    record = _block_or_none(c, p.block_ref(ref_value))
    if record is None:
        return None
    blob_price = _blob_base_fee(record)
    return [fmt.receipt_json(t, blob_price) for t in record.txs]


# -- state reads --------------------------------------------------------------------------


@eth.method("eth_getBalance")
def get_balance(c: RollupCall, params: list[Any]) -> str:
    who, ref = p.positional(params, 1, 2)
    return fmt.q(c.state(p.block_ref(ref)).get_balance(p.address(who)))


@eth.method("eth_getTransactionCount")
def get_transaction_count(c: RollupCall, params: list[Any]) -> str:
    who, ref = p.positional(params, 1, 2)
    return fmt.q(c.state(p.block_ref(ref)).get_nonce(p.address(who)))


@eth.method("eth_getCode")
def get_code(c: RollupCall, params: list[Any]) -> str:
    who, ref = p.positional(params, 1, 2)
    return fmt.h(c.state(p.block_ref(ref)).get_code(p.address(who)))


@eth.method("eth_getStorageAt")
def get_storage_at(c: RollupCall, params: list[Any]) -> str:
    who, slot, ref = p.positional(params, 2, 3)
    account = p.address(who)
    key = p.storage_slot(slot)
    value = c.state(p.block_ref(ref)).get_storage(account, key)
    return fmt.h(int(value).to_bytes(32, "big"))


# -- calls and fees -----------------------------------------------------------------------


def _answer(job: calls.CallJob[T], shape: Callable[[T], str]) -> str | OffLoop:
    """Run a call job off the event loop when it has a state of its own (a sealed block's),
    else here (the open block's state belongs to the loop), bounded by the timeout."""
    if job.own_state:
        return OffLoop(lambda: shape(job.run()))
    return shape(job.run())


def _call_output(outcome: calls.CallOutcome) -> str:
    calls.raise_for_failure(outcome)
    return fmt.h(outcome.output)


@eth.method("eth_call")
def call(c: RollupCall, params: list[Any]) -> str | OffLoop:
    obj, ref, overrides = p.positional(params, 1, 3)
    req = p.call_request(obj)
    ov = p.state_override(overrides)
    header = c.header_for_state(p.block_ref(ref))
    job = calls.prepare_call(c.rollup, header, req, c.services.limits, ov)
    return _answer(job, _call_output)


@eth.method("eth_estimateGas")
def estimate_gas(c: RollupCall, params: list[Any]) -> str | OffLoop:
    obj, ref, overrides = p.positional(params, 1, 3)
    req = p.call_request(obj)
    ov = p.state_override(overrides)
    header = c.header_for_state(p.block_ref(ref, p.PENDING))
    return _answer(calls.prepare_estimate(c.rollup, header, req, c.services.limits, ov), fmt.q)


def _next_base_fee(c: RollupCall) -> int:
    ob = c.rollup.open
    header = ob.header if ob is not None else None
    if header is None:
        parent = c.rollup.head.block.header
        vm_class = c.rollup.vm_class_for(parent.block_number + 1)
        header = vm_class.create_header_from_parent(
            parent, timestamp=parent.timestamp + 1, gas_limit=parent.gas_limit
        )
    return int(getattr(header, "base_fee_per_gas", 0) or 0)


@eth.method("eth_gasPrice")
def gas_price(c: RollupCall, params: list[Any]) -> str:
    latest = int(getattr(c.rollup.head.block.header, "base_fee_per_gas", 0) or 0)
    return fmt.q(max(latest, _next_base_fee(c)) + MIN_PRIORITY_FEE)


@eth.method("eth_maxPriorityFeePerGas")
def max_priority_fee(c: RollupCall, params: list[Any]) -> str:
    return fmt.q(MIN_PRIORITY_FEE)


def _blob_base_fee(record: BlockRecord) -> int:
    excess = getattr(record.block.header, "excess_blob_gas", None)
    if excess is None:
        return 0
    from eth.vm.forks.prague.constants import BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE

    return int(fake_exponential(1, excess, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE))


@eth.method("eth_blobBaseFee")
def blob_base_fee(c: RollupCall, params: list[Any]) -> str:
    return fmt.q(_blob_base_fee(c.rollup.head))


def _rewards(record: BlockRecord, percentiles: list[float]) -> list[str]:
    header = record.block.header
    base_fee = int(getattr(header, "base_fee_per_gas", 0) or 0)
    if not record.txs:
        return ["0x0" for _ in percentiles]
    tips = sorted((t.effective_gas_price - base_fee, t.gas_used) for t in record.txs)
    total = sum(g for _, g in tips)
    out = []
    for pct in percentiles:
        threshold = total * pct / 100
        acc = 0
        chosen = tips[-1][0]
        for tip, used in tips:
            acc += used
            if acc >= threshold:
                chosen = tip
                break
        out.append(fmt.q(max(chosen, 0)))
    return out


@eth.method("eth_feeHistory")
def fee_history(c: RollupCall, params: list[Any]) -> dict[str, Any]:
    count_v, newest_v, pcts = p.positional(params, 2, 3)
    count = min(p.quantity(count_v, "blockCount"), MAX_FEE_HISTORY)
    newest_ref = p.block_ref(newest_v)
    newest = c.record(newest_ref) if newest_ref.tag != "pending" else c.rollup.head
    if newest is None:
        raise ResourceNotFound("block not found")
    if pcts is not None and not isinstance(pcts, list):
        raise InvalidParams("reward percentiles must be an array")
    if pcts is not None and len(pcts) > MAX_REWARD_PERCENTILES:
        raise InvalidParams(
            f"too many reward percentiles: {len(pcts)}, at most {MAX_REWARD_PERCENTILES}"
        )
    try:
        percentiles = [float(x) for x in (pcts or [])]
    except (TypeError, ValueError, OverflowError):  # "0x 1", {}, 10**400: not a percentile
        raise InvalidParams("invalid reward percentiles") from None
    if any(not 0 <= x <= 100 for x in percentiles) or percentiles != sorted(percentiles):
        raise InvalidParams("invalid reward percentiles")
    oldest = max(0, newest.number - count + 1)
    blocks = [c.rollup.blocks[n] for n in range(oldest, newest.number + 1)] if count else []
    base_fees = [int(getattr(b.block.header, "base_fee_per_gas", 0) or 0) for b in blocks]
    if blocks:
        nxt = c.rollup.block(newest.number + 1)
        if nxt is not None:
            base_fees.append(int(getattr(nxt.block.header, "base_fee_per_gas", 0) or 0))
        else:
            base_fees.append(_next_base_fee(c))
    out: dict[str, Any] = {
        "oldestBlock": fmt.q(oldest),
        "baseFeePerGas": [fmt.q(x) for x in base_fees],
        "gasUsedRatio": [b.block.header.gas_used / b.block.header.gas_limit for b in blocks],
        "baseFeePerBlobGas": ["0x0" for _ in base_fees],
        "blobGasUsedRatio": [0 for _ in blocks],
    }
    if pcts is not None:  # geth's field order: reward right after oldestBlock
        rewards = [_rewards(b, percentiles) for b in blocks]
        out = {"oldestBlock": out.pop("oldestBlock"), "reward": rewards, **out}
    return out


# -- transactions -------------------------------------------------------------------------


def unwrap_blob_network_form(raw: bytes) -> bytes:
    """EIP-4844 network form ``0x03 || rlp([tx, blobs, commitments, proofs])`` -> the
    canonical ``0x03 || rlp(tx)``, after checking that the versioned hashes commit to the
    sidecar's commitments. (KZG proofs are not verified on the devnet.)"""
    if not raw or raw[0] != 3:
        return raw
    try:
        outer = rlp.decode(raw[1:])
    except rlp.DecodingError:
        return raw
    if not (isinstance(outer, list) and len(outer) == 4 and isinstance(outer[0], list)):
        return raw
    body, blobs, commitments, proofs = outer
    hashes = body[10] if len(body) > 10 else []
    if not (len(blobs) == len(commitments) == len(proofs) == len(hashes)):
        raise InvalidParams("invalid blob transaction: sidecar does not match its hashes")
    for commitment, versioned in zip(commitments, hashes):
        if b"\x01" + hashlib.sha256(commitment).digest()[1:] != versioned:
            raise InvalidParams("invalid blob transaction: versioned hash mismatch")
    return b"\x03" + rlp.encode(body)


def decode_tx(c: RollupCall, raw: bytes) -> SignedTransactionAPI:
    """Decode and check a signed transaction (any type the next block's fork accepts)."""
    rawtx.check(raw)  # size and RLP depth, before anything decodes it
    vm_class = c.rollup.vm_class_for(c.rollup.head.number + 1)
    raw = unwrap_blob_network_form(raw)
    try:
        tx = vm_class.get_transaction_builder().decode(raw)
        check_and_recover(tx)  # py-evm's check_signature_validity, one recovery (recover.py)
        tx.validate()
    except (ValidationError, rlp.DecodingError, rlp.DeserializationError) as exc:
        raise InvalidParams(f"invalid transaction: {exc}") from None
    except Exception as exc:  # eth_keys BadSignature and friends
        raise TxRejected(f"invalid sender: {exc}") from None
    return tx


def check_backlog(services: Any) -> None:
    """Refuse new submissions while the L1 backlog is at its bound (L1 down for long)."""
    if services.l1 is not None and services.l1.backlog_full():
        raise ServerBusy(f"L1 backlog full ({services.l1.backlog} slots unposted); retry later")


def submit(c: RollupCall, tx: SignedTransactionAPI, sender: bytes | None = None) -> str:
    check_backlog(c.services)
    tx_hash = c.services.sequencer.submit(c.rollup.chain_id, tx, sender)
    c.services.driver.submitted()
    return fmt.h(tx_hash)


@eth.method("eth_sendRawTransaction")
def send_raw_transaction(c: RollupCall, params: list[Any]) -> str:
    (raw,) = p.positional(params, 1, 1)
    return submit(c, decode_tx(c, p.data(raw, "transaction")))


@eth.method("eth_getTransactionByHash")
def get_transaction_by_hash(c: RollupCall, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    tx_hash = p.hash32(value, "transaction hash")
    record = c.rollup.txs.get(tx_hash)
    if record is not None:
        return fmt.tx_json(record)
    ob = c.rollup.open
    if ob is not None:
        for tx, sender in zip(ob.txs, ob.senders):
            if bytes(tx.hash) == tx_hash:
                return fmt.pending_tx_json(tx, sender)
    for queued in c.services.sequencer.pending.all(c.rollup.chain_id):
        if queued.tx_hash == tx_hash:
            return fmt.pending_tx_json(queued.payload.tx, queued.payload.sender)
    return None


def _tx_at(record: BlockRecord | None, index: int) -> Any:
    if record is None or not 0 <= index < len(record.txs):
        return None
    return fmt.tx_json(record.txs[index])


@eth.method("eth_getTransactionByBlockNumberAndIndex")
def tx_by_number_index(c: RollupCall, params: list[Any]) -> Any:
    ref_value, index = p.positional(params, 2, 2)
    return _tx_at(_block_or_none(c, p.block_ref(ref_value)), p.quantity(index, "index"))


@eth.method("eth_getTransactionByBlockHashAndIndex")
def tx_by_hash_index(c: RollupCall, params: list[Any]) -> Any:
    value, index = p.positional(params, 2, 2)
    record = c.rollup.block_by_hash(p.hash32(value, "block hash"))
    return _tx_at(record, p.quantity(index, "index"))


@eth.method("eth_getTransactionReceipt")
def get_transaction_receipt(c: RollupCall, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    tx_hash = p.hash32(value, "transaction hash")
    c.services.driver.seal_for_read(c.rollup.chain_id, tx_hash)  # if in the open slot
    record = c.rollup.txs.get(tx_hash)
    if record is None:
        return None
    block = c.rollup.blocks[record.block_number]
    return fmt.receipt_json(record, _blob_base_fee(block))


# -- logs and filters ---------------------------------------------------------------------


def _topics(value: Any) -> tuple[tuple[bytes, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 4:
        raise InvalidParams("invalid topics: expected an array of at most 4 entries")
    out: list[tuple[bytes, ...] | None] = []
    for entry in value:
        if entry is None:
            out.append(None)
        elif isinstance(entry, list):
            out.append(tuple(p.hash32(t, "topic") for t in entry) if entry else None)
        else:
            out.append((p.hash32(entry, "topic"),))
    return tuple(out)


def criteria_of(obj: Any) -> LogCriteria:
    if not isinstance(obj, dict):
        raise InvalidParams("invalid filter: expected an object")
    addr = obj.get("address")
    if addr is None:
        addresses: tuple[bytes, ...] = ()
    elif isinstance(addr, list):
        addresses = tuple(p.address(a) for a in addr)
    else:
        addresses = (p.address(addr),)
    return LogCriteria(addresses, _topics(obj.get("topics")))


def _range(c: RollupCall, obj: dict[str, Any]) -> tuple[int, int]:
    head = c.rollup.head.number

    def bound(key: str) -> int:
        ref = p.block_ref(obj.get(key))
        if ref.number is not None:
            return ref.number
        record = c.record(ref)
        return head if record is None else record.number

    return bound("fromBlock"), bound("toBlock")


@eth.method("eth_getLogs")
def get_logs(c: RollupCall, params: list[Any]) -> list[Any]:
    (obj,) = p.positional(params, 1, 1)
    criteria = criteria_of(obj)
    if obj.get("blockHash") is not None:
        if "fromBlock" in obj or "toBlock" in obj:
            raise InvalidParams("cannot specify both blockHash and fromBlock/toBlock")
        record = c.rollup.block_by_hash(p.hash32(obj["blockHash"], "blockHash"))
        if record is None:
            raise ResourceNotFound("unknown block")
        return matching_logs(record, criteria)
    start, end = _range(c, obj)
    if start > end:
        raise InvalidParams("invalid block range params")
    return _logs_in_range(c, start, min(end, c.rollup.head.number), criteria)


def _logs_in_range(c: RollupCall, start: int, end: int, criteria: LogCriteria) -> list[Any]:
    """The matching logs of blocks ``start..end``, within the range and result bounds."""
    if end - start + 1 > MAX_LOG_RANGE:
        raise InvalidParams(
            f"block range too large: {end - start + 1} blocks, at most {MAX_LOG_RANGE}"
        )
    out: list[Any] = []
    for n in range(start, end + 1):
        out.extend(matching_logs(c.rollup.blocks[n], criteria))
        if len(out) > MAX_LOG_RESULTS:
            raise InvalidParams(
                f"query returns more than {MAX_LOG_RESULTS} results; narrow the block range"
            )
    return out


@eth.method("eth_newFilter")
def new_filter(c: RollupCall, params: list[Any]) -> str:
    (obj,) = p.positional(params, 1, 1)
    criteria = criteria_of(obj)
    start, end = _range(c, obj)
    to_ref = p.block_ref(obj.get("toBlock"))
    flt = Filter("logs", criteria, start, end if to_ref.number is not None else None)
    return c.filters.install(flt)


@eth.method("eth_newBlockFilter")
def new_block_filter(c: RollupCall, params: list[Any]) -> str:
    return c.filters.install(Filter("block"))


@eth.method("eth_newPendingTransactionFilter")
def new_pending_filter(c: RollupCall, params: list[Any]) -> str:
    return c.filters.install(Filter("pending"))


@eth.method("eth_getFilterChanges")
def get_filter_changes(c: RollupCall, params: list[Any]) -> list[Any]:
    (fid,) = p.positional(params, 1, 1)
    return c.filters.poll(str(fid))


@eth.method("eth_getFilterLogs")
def get_filter_logs(c: RollupCall, params: list[Any]) -> list[Any]:
    (fid,) = p.positional(params, 1, 1)
    flt = c.filters.get(str(fid))
    if flt.kind != "logs" or flt.criteria is None:
        raise ResourceNotFound("filter not found")
    start = flt.from_block or 0
    end = min(
        flt.to_block if flt.to_block is not None else c.rollup.head.number, c.rollup.head.number
    )
    return _logs_in_range(c, start, end, flt.criteria)


@eth.method("eth_uninstallFilter")
def uninstall_filter(c: RollupCall, params: list[Any]) -> bool:
    (fid,) = p.positional(params, 1, 1)
    return c.filters.uninstall(str(fid))


# -- raw encodings ------------------------------------------------------------------------


@eth.method("debug_getRawHeader")
def raw_header(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    record = _block_or_none(c, p.block_ref(ref_value))
    return None if record is None else fmt.h(rlp.encode(record.block.header))


@eth.method("debug_getRawBlock")
def raw_block(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    record = _block_or_none(c, p.block_ref(ref_value))
    return None if record is None else fmt.h(rlp.encode(record.block))


@eth.method("debug_getRawReceipts")
def raw_receipts(c: RollupCall, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    record = _block_or_none(c, p.block_ref(ref_value))
    return None if record is None else [fmt.h(t.receipt.encode()) for t in record.txs]


@eth.method("debug_getRawTransaction")
def raw_transaction(c: RollupCall, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    record = c.rollup.txs.get(p.hash32(value, "transaction hash"))
    return "0x" if record is None else fmt.h(record.tx.encode())
