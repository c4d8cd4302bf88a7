"""Settings: command-line flags and ``XSEQD_*`` environment variables, one table.

Every setting has a flag ``--name`` and an environment variable ``XSEQD_NAME``; the flag
wins. ``Settings.for_tests()`` is the preset tests use (ephemeral port, no data dir).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_ROLLUPS_DIR = Path(__file__).resolve().parent / "rollups"


@dataclass(frozen=True)
class Settings:
    """Everything ``xseqd devnet`` can be told."""

    host: str = "127.0.0.1"
    port: int = 9545
    rollups_dir: Path = DEFAULT_ROLLUPS_DIR
    slot_time: float = 0.0
    data_dir: Path | None = Path(".xseqd")
    db: str = ""
    snapshot_every: int = 64
    state_history: int = 256
    l1_rpc: str = ""
    l1_port: int = 8545
    l1_block_time: float = 1.0
    anvil: str = ""
    challenge_window: int = 5
    l1_confirmations: int = 0
    deposit_window: int = 10
    fault: str = ""
    accounts: int = 10
    client_version: str = "xseqd/0.1.0"
    log_level: str = "info"
    log_format: str = "text"
    max_body_bytes: int = 5 * 1024 * 1024
    rpc_gas_cap: int = 50_000_000
    rpc_evm_timeout: float = 5.0
    no_cheats: bool = False
    keypers: int = 5
    keyper_threshold: int = 3
    keyper_fsync: bool = False
    no_cpu_pinning: bool = False
    sequencer_key: str = field(default="", repr=False)
    verifier_key: str = field(default="", repr=False)
    replica_id: str = ""
    replica_url: str = ""
    lease_ttl: float = 2.0

    @classmethod
    def for_tests(cls, **overrides: object) -> Settings:
        preset = cls(
            port=0, log_level="warning", data_dir=None, db="memory", l1_rpc="none", keypers=0
        )
        return replace(preset, **overrides)  # type: ignore[arg-type]

    @property
    def db_url(self) -> str:
        """Where the sequencer log lives: ``--db``, else <data-dir>/xseqd.db, else memory."""
        if self.db:
            return self.db
        if self.data_dir is None:
            return "memory"
        return f"sqlite:///{self.data_dir.resolve() / 'xseqd.db'}"

    @property
    def replicated(self) -> bool:
        """Several replicas share the log (PostgreSQL): one leads under a lease."""
        return self.db.startswith(("postgresql", "postgres:"))


HELP = {
    "host": "interface to bind (default 127.0.0.1)",
    "port": "port of the RPC server (default 9545)",
    "rollups_dir": "directory of rollup definitions, one *.toml per rollup",
    "slot_time": "seconds per slot; 0 = instant (seal as soon as the intake is idle)",
    "data_dir": "directory for xseqd's data: the sequencer log, keys and endpoints.json "
    "(default .xseqd)",
    "snapshot_every": "slots between state snapshots in the log (incremental; bounds the slots a "
    "restart re-executes; default 64; 0 = never)",
    "state_history": "blocks whose whole state each rollup keeps for reads at a block number "
    "(as geth's --history.state; default 256; 0 = archive: keep every state); older states "
    "answer 'missing trie node'",
    "l1_rpc": "URL of an existing L1; default: start anvil on --l1-port; 'none' = no settlement",
    "l1_port": "port of the anvil xseqd starts (default 8545, chain id 900)",
    "l1_block_time": "seconds between the blocks of the anvil xseqd starts, besides one per "
    "transaction, so finality advances while idle (default 1; 0 = only on transactions)",
    "anvil": "path of the anvil binary to start (default: the checkout's node_modules, "
    "else `anvil` on PATH)",
    "challenge_window": "L1 blocks after which a committed slot is finalized (default 5)",
    "l1_confirmations": "L1 blocks a Portal deposit must be behind the L1 head before it is "
    "included (default 0)",
    "deposit_window": "deposit inclusion window in L1 blocks, fixed in the Portal when it is "
    "deployed: a deposit made in L1 block b must be in a slot posted by block b + W, else "
    "verify names a deposit fault (default 10; more than --l1-confirmations)",
    "fault": "DEV ONLY: make the sequencer misbehave on L1 (commitment:N, data:N) to test "
    "verify, stop including deposits (censor-deposits), front-run what it can read "
    "(frontrun), reveal encrypted items a slot late after trading (withhold), or void them "
    "after reading them, without a refusal certificate (readvoid), or read them under t "
    "different bindings and neither reveal nor void them (splitread), or exit right after "
    "asking the keypers for a slot's shares, before sealing it (crash-early-ask)",
    "db": "SQLAlchemy URL of the sequencer log (default: SQLite in the data dir; 'memory')",
    "accounts": "number of funded dev accounts (default 10)",
    "client_version": "web3_clientVersion answer (some tools check its prefix)",
    "log_level": "debug, info, warning, error",
    "log_format": "text (one short line per event) or json (one JSON object per line: ts, "
    "level, logger, msg and the event's fields)",
    "max_body_bytes": "largest JSON-RPC request body (HTTP) or WebSocket message accepted; "
    "larger ones get a -32600 error (default 5242880, 5 MB)",
    "rpc_gas_cap": "gas cap of eth_call, eth_estimateGas and xseq_callBundle "
    "(as geth's --rpc.gascap; default 50000000; 0 = none)",
    "rpc_evm_timeout": "seconds an eth_call, eth_estimateGas or xseq_callBundle may run "
    "before it is aborted (as geth's --rpc.evmtimeout; default 5; 0 = no limit)",
    "no_cheats": "turn off the cheat methods (anvil_*, hardhat_*, evm_*, impersonation, "
    "signing with the unlocked dev accounts): they answer -32601 method not found",
    "keypers": "keyper processes the devnet starts for encrypted submission "
    "(xseq_sendEncryptedBundle; default 5; 0 = encryption off)",
    "keyper_threshold": "keypers whose shares decrypt a sealed slot (default 3, t of "
    "--keypers, more than half of them)",
    "keyper_fsync": "keypers fdatasync each release or refusal record before answering, so "
    "that it survives a power cut too (default off: a record survives a killed keyper, "
    "kill -9, as the sequencer's own log does)",
    "no_cpu_pinning": "leave CPU placement to the kernel (default, with keypers on 2 or more "
    "CPUs: the sequencer's event loop runs on one CPU and the keyper processes on the "
    "others, so that a keyper woken by a release request does not take the sequencer's "
    "CPU mid-seal)",
    "sequencer_key": "hex private key that signs receipts and L1 posts "
    "(default: generated, kept in <data-dir>/sequencer.key)",
    "verifier_key": "hex private key Settlement accepts attestations from "
    "(default: generated, kept in <data-dir>/verifier.key)",
    "replica_id": "this replica's name in a replicated sequencer (--db postgresql://...; "
    "default: <hostname>:<port>)",
    "replica_url": "URL other replicas forward writes to while this one leads "
    "(default: http://<host>:<port>)",
    "lease_ttl": "seconds a replicated leader's lease lasts unrenewed: a follower takes "
    "over this long after the leader dies (default 2)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    base = Settings()
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(getattr(base, f.name), bool):  # a switch: present = on
            parser.add_argument(
                flag, dest=f.name, action="store_const", const="1", default=None, help=HELP[f.name]
            )
        else:
            parser.add_argument(flag, dest=f.name, default=None, help=HELP[f.name])


def env_name(field_name: str) -> str:
    return "XSEQD_" + field_name.upper()


def resolve(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    """Settings from flags, else ``XSEQD_*`` variables, else defaults."""
    environ = dict(os.environ) if environ is None else environ
    base = Settings()
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = getattr(args, f.name, None)
        if raw is None:
            raw = environ.get(env_name(f.name))
        if raw is None:
            continue
        default = getattr(base, f.name)
        if f.name == "data_dir" or isinstance(default, Path):
            values[f.name] = Path(str(raw))
        elif isinstance(default, bool):
            values[f.name] = str(raw).lower() in ("1", "true", "yes", "on")
        elif isinstance(default, int):
            values[f.name] = int(str(raw))
        elif isinstance(default, float):
            values[f.name] = float(str(raw))
        else:
            values[f.name] = str(raw)
    return replace(base, **values)  # type: ignore[arg-type]
