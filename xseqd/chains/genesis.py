"""Rollup definitions (``rollups/*.toml``) and the genesis each one starts from.

A rollup file names a chain id and either uses the devnet genesis (PragueVM from block 0,
the dev accounts funded) or points at a geth-style ``genesis.json`` (fork schedule, alloc
and header fields honoured as far as py-evm supports) plus an optional ``chain.rlp`` of
blocks to import. This module only reads files and builds values; ``chains/rollup.py``
turns them into running chains.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth.abc import VirtualMachineAPI
from eth.consensus.noproof import NoProofConsensus
from eth.vm.forks import (
    ArrowGlacierVM,
    BerlinVM,
    ByzantiumVM,
    CancunVM,
    ConstantinopleVM,
    FrontierVM,
    GrayGlacierVM,
    HomesteadVM,
    IstanbulVM,
    LondonVM,
    MuirGlacierVM,
    ParisVM,
    PetersburgVM,
    PragueVM,
    ShanghaiVM,
    SpuriousDragonVM,
    TangerineWhistleVM,
)
from eth_abi import encode
from eth_hash.auto import keccak

from xseqd.accounts import DEV_MNEMONIC, address_of, dev_keys
from xseqd.chains.predeploys import predeploy_state
from xseqd.errors import XseqError

DEFAULT_GAS_LIMIT = 30_000_000
DEV_BALANCE = 10_000 * 10**18
FEE_VAULT = bytes.fromhex("4200000000000000000000000000000000000011")

VMConfiguration = tuple[tuple[int, type[VirtualMachineAPI]], ...]
GenesisState = dict[bytes, dict[str, Any]]

# geth config key -> py-evm VM, in fork order. Block-numbered forks first, then the
# timestamp-activated ones (mapped to block numbers, see ``_timestamp_forks``).
_BLOCK_FORKS: tuple[tuple[str, type[VirtualMachineAPI]], ...] = (
    ("homesteadBlock", HomesteadVM),
    ("eip150Block", TangerineWhistleVM),
    ("eip158Block", SpuriousDragonVM),
    ("byzantiumBlock", ByzantiumVM),
    ("constantinopleBlock", ConstantinopleVM),
    ("petersburgBlock", PetersburgVM),
    ("istanbulBlock", IstanbulVM),
    ("muirGlacierBlock", MuirGlacierVM),
    ("berlinBlock", BerlinVM),
    ("londonBlock", LondonVM),
    ("arrowGlacierBlock", ArrowGlacierVM),
    ("grayGlacierBlock", GrayGlacierVM),
    ("mergeNetsplitBlock", ParisVM),
)
_TIME_FORKS: tuple[tuple[str, type[VirtualMachineAPI]], ...] = (
    ("shanghaiTime", ShanghaiVM),
    ("cancunTime", CancunVM),
    ("pragueTime", PragueVM),
)


class GenesisError(XseqError):
    """Raised when a rollup file or genesis file cannot be used."""


@dataclass(frozen=True)
class Genesis:
    """Everything needed to create a rollup's chain at block 0 and bring it to its head."""

    vm_configuration: VMConfiguration
    params: dict[str, Any]
    state: GenesisState
    blocks_rlp: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class RollupSpec:
    """One rollup as declared in ``rollups/<name>.toml``."""

    chain_id: int
    name: str
    genesis: Genesis
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _noproof(vm: type[VirtualMachineAPI]) -> type[VirtualMachineAPI]:
    """A VM class that accepts blocks without PoW seal checks (we are the sequencer)."""
    configured: type[VirtualMachineAPI] = vm.configure(  # type: ignore[attr-defined]
        consensus_class=NoProofConsensus
    )
    return configured


def devnet_genesis(
    dev_addresses: list[bytes], gas_limit: int = DEFAULT_GAS_LIMIT, timestamp: int = 0
) -> Genesis:
    """The default rollup genesis: Prague from block 0, each dev address funded, the
    mailbox, token bridge and reference token predeployed (chains/predeploys.py)."""
    params = {
        "difficulty": 0,
        "gas_limit": gas_limit,
        "timestamp": timestamp,
        "extra_data": b"xseqd",
        "nonce": b"\x00" * 8,
        "mix_hash": b"\x00" * 32,
        "coinbase": b"\x00" * 20,
    }
    state: GenesisState = {
        addr: {"balance": DEV_BALANCE, "nonce": 0, "code": b"", "storage": {}}
        for addr in dev_addresses
    }
    state.update(predeploy_state(dev_addresses))
    return Genesis(((0, _noproof(PragueVM)),), params, state)


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 16) if text.startswith(("0x", "0X")) else int(text)


def _hexbytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def split_rlp_blocks(data: bytes) -> list[bytes]:
    """Split a concatenation of RLP items (as in geth's ``chain.rlp``) into items."""
    items: list[bytes] = []
    pos = 0
    while pos < len(data):
        prefix = data[pos]
        if prefix < 0xC0:
            raise GenesisError("chain file holds a non-list RLP item")
        if prefix <= 0xF7:
            head, body = 1, prefix - 0xC0
        else:
            size_len = prefix - 0xF7
            head = 1 + size_len
            body = int.from_bytes(data[pos + 1 : pos + head], "big")
        items.append(data[pos : pos + head + body])
        pos += head + body
    return items


def _block_timestamps(blocks: list[bytes]) -> list[tuple[int, int]]:
    """(number, timestamp) of each RLP block, read from the raw header list."""
    out = []
    for raw in blocks:
        header = rlp.decode(raw)[0]
        out.append((int.from_bytes(header[8], "big"), int.from_bytes(header[11], "big")))
    return out


def _timestamp_forks(config: dict[str, Any], blocks: list[bytes]) -> dict[str, int]:
    """Map timestamp-activated forks to the first imported block at or after that time.

    py-evm schedules forks by block number; a fork whose time is after every imported
    block activates at the block after the head.
    """
    numbered = _block_timestamps(blocks)
    head = numbered[-1][0] if numbered else 0
    result = {}
    for key, _vm in _TIME_FORKS:
        if key not in config:
            continue
        when = _int(config[key])
        if when == 0:
            result[key] = 0
            continue
        result[key] = next((n for n, ts in numbered if ts >= when), head + 1)
    return result


def geth_genesis(path: Path, chain_rlp: Path | None) -> tuple[int, Genesis]:
    """Read a geth-style genesis file (and blocks to import) into a ``Genesis``."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GenesisError(f"cannot read genesis {path}: {exc}") from exc
    config = doc.get("config", {})
    blocks = split_rlp_blocks(chain_rlp.read_bytes()) if chain_rlp else []
    schedule: list[tuple[int, type[VirtualMachineAPI]]] = [(0, FrontierVM)]
    for key, vm in _BLOCK_FORKS:
        if key in config:
            schedule.append((_int(config[key]), vm))
    for key, number in _timestamp_forks(config, blocks).items():
        schedule.append((number, dict(_TIME_FORKS)[key]))
    by_block: dict[int, type[VirtualMachineAPI]] = {}
    for number, vm in schedule:  # later forks win at the same block
        by_block[number] = vm
    vm_configuration = tuple(
        (number, _noproof(_configure_dao(vm))) for number, vm in sorted(by_block.items())
    )
    params: dict[str, Any] = {
        "difficulty": _int(doc.get("difficulty", 0)),
        "gas_limit": _int(doc.get("gasLimit", DEFAULT_GAS_LIMIT)),
        "timestamp": _int(doc.get("timestamp", 0)),
        "extra_data": _hexbytes(doc.get("extraData", "0x")),
        "nonce": _int(doc.get("nonce", 0)).to_bytes(8, "big"),
        "mix_hash": _hexbytes(doc.get("mixHash", "0x" + "00" * 32)),
        "coinbase": _hexbytes(doc.get("coinbase", "0x" + "00" * 20)),
    }
    if doc.get("baseFeePerGas") is not None:
        params["base_fee_per_gas"] = _int(doc["baseFeePerGas"])
    state: GenesisState = {}
    for addr, acct in doc.get("alloc", {}).items():
        state[_hexbytes(addr).rjust(20, b"\x00")] = {
            "balance": _int(acct.get("balance", 0)),
            "nonce": _int(acct.get("nonce", 0)),
            "code": _hexbytes(acct.get("code", "0x")),
            "storage": {_int(k): _int(v) for k, v in acct.get("storage", {}).items()},
        }
    return _int(config.get("chainId", 1)), Genesis(vm_configuration, params, state, tuple(blocks))


def _configure_dao(vm: type[VirtualMachineAPI]) -> type[VirtualMachineAPI]:
    if issubclass(vm, HomesteadVM) and vm is HomesteadVM:
        configured: type[VirtualMachineAPI] = vm.configure(support_dao_fork=False)
        return configured
    return vm


def load_rollup_file(path: Path, dev_addresses: list[bytes]) -> RollupSpec:
    """Read one ``rollups/*.toml`` file.

    Keys: ``chain_id`` (required), ``name``, ``gas_limit``, and optionally ``genesis``
    (path to a geth genesis.json, relative to the file) and ``import`` (chain.rlp).
    """
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GenesisError(f"cannot read rollup file {path}: {exc}") from exc
    name = str(doc.get("name", path.stem))
    if "genesis" in doc:
        genesis_path = (path.parent / str(doc["genesis"])).resolve()
        rlp_path = (path.parent / str(doc["import"])).resolve() if "import" in doc else None
        file_chain_id, genesis = geth_genesis(genesis_path, rlp_path)
        chain_id = int(doc.get("chain_id", file_chain_id))
    else:
        if "chain_id" not in doc:
            raise GenesisError(f"{path}: chain_id is required")
        chain_id = int(doc["chain_id"])
        genesis = devnet_genesis(dev_addresses, int(doc.get("gas_limit", DEFAULT_GAS_LIMIT)))
    return RollupSpec(chain_id=chain_id, name=name, genesis=genesis, source=str(path), extra=doc)


def load_rollups(directory: Path, dev_addresses: list[bytes]) -> list[RollupSpec]:
    """All rollups defined in ``directory``, ordered by chain id; chain ids must be unique."""
    specs = [load_rollup_file(p, dev_addresses) for p in sorted(directory.glob("*.toml"))]
    if not specs:
        raise GenesisError(f"no rollup files (*.toml) in {directory}")
    ids = [s.chain_id for s in specs]
    if len(set(ids)) != len(ids):
        raise GenesisError(f"duplicate chain ids in {directory}: {ids}")
    return sorted(specs, key=lambda s: s.chain_id)


def genesis_description(specs: list[RollupSpec], dev_addresses: list[bytes]) -> dict[str, Any]:
    """What a verifier needs to rebuild the rollups' genesis, as committed on L1 at
    deployment (rollups from a geth genesis.json are named, not described: the verifier
    needs their files, ``--rollups-dir``)."""
    rollups: list[dict[str, Any]] = []
    for spec in specs:
        if "genesis" in spec.extra:
            rollups.append({"chainId": spec.chain_id, "name": spec.name, "kind": "geth"})
        else:
            gas = int(spec.extra.get("gas_limit", DEFAULT_GAS_LIMIT))
            rollups.append(
                {"chainId": spec.chain_id, "name": spec.name, "kind": "devnet", "gasLimit": gas}
            )
    doc: dict[str, Any] = {"version": 1, "rollups": rollups}
    if len(dev_addresses) > LISTED_ACCOUNTS and _standard_dev_accounts(dev_addresses):
        # the standard dev mnemonic's first N: a count, not 100,000 addresses (the
        # description rides in the Settlement deployment, which an L1 caps in size)
        doc["devAccountCount"] = len(dev_addresses)
    else:
        doc["accounts"] = ["0x" + a.hex() for a in dev_addresses]
    return doc


LISTED_ACCOUNTS = 100  # up to this many dev accounts are listed in a genesis description


def _standard_dev_accounts(addresses: list[bytes]) -> bool:
    """Whether ``addresses`` are exactly the first N accounts of the standard dev mnemonic."""
    return [bytes(a) for a in addresses] == [
        address_of(k) for k in dev_keys(len(addresses), DEV_MNEMONIC)
    ]


def specs_from_description(doc: dict[str, Any]) -> list[RollupSpec]:
    """The rollup specs a genesis description names (``GenesisError`` when it needs files)."""
    if doc.get("version") != 1:
        raise GenesisError(f"unknown genesis description version {doc.get('version')!r}")
    if "devAccountCount" in doc:
        count = int(doc["devAccountCount"])
        accounts = [address_of(k) for k in dev_keys(count, DEV_MNEMONIC)]
    else:
        accounts = [bytes.fromhex(str(a)[2:]) for a in doc["accounts"]]
    specs = []
    for r in doc["rollups"]:
        if r.get("kind") != "devnet":
            raise GenesisError(
                f"rollup {r['chainId']} starts from a geth genesis file: pass --rollups-dir"
            )
        genesis = devnet_genesis(accounts, int(r["gasLimit"]))
        extra = {"chain_id": int(r["chainId"]), "gas_limit": int(r["gasLimit"])}
        specs.append(RollupSpec(int(r["chainId"]), str(r["name"]), genesis, "L1", extra))
    return sorted(specs, key=lambda s: s.chain_id)


def genesis_commitment(chain_ids: list[int], genesis_hashes: list[bytes]) -> bytes:
    """keccak256(abi.encode(uint256[] chainIds, bytes32[] genesisBlockHashes)), ascending."""
    return keccak(encode(["uint256[]", "bytes32[]"], [chain_ids, genesis_hashes]))
