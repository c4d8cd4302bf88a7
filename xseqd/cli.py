"""Command line: ``xseqd devnet`` (run the devnet, print its banner) and ``xseqd verify``
(re-execute what a devnet posted on L1; exit codes 0 OK, 1 bad slot, 2 no sound target,
3 nothing verified)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from pathlib import Path
from typing import Any

from xseqd import logs
from xseqd.accounts import DEV_MNEMONIC, dev_accounts
from xseqd.config import Settings, add_arguments, resolve
from xseqd.errors import XseqError
from xseqd.node import Node

SHOWN_ACCOUNTS = 10  # the banner lists every account up to 100, else the first 10


def banner(node: Node) -> str:
    """What startup prints: endpoints, chain ids, funded accounts and keys (like anvil)."""
    assert node.endpoints is not None
    ep = node.endpoints
    keyring = node.services.accounts
    accounts = [keyring[a] for a in list(keyring)[: SHOWN_ACCOUNTS if len(keyring) > 100 else None]]
    lines = [
        "",
        "                 xseqd — shared-sequencer devnet",
        "",
        f"Sequencer RPC     {ep.base_url}/   (xseq_*)",
        f"Explorer          {ep.base_url}/explorer   metrics: {ep.base_url}/metrics",
        "",
        "Rollups",
        "=======",
    ]
    for r in node.rollups:
        lines.append(
            f"  {r.chain_id:<8} {r.name:<10} {ep.rollup_url(r.chain_id)}"
            f"   ws: {ep.rollup_ws(r.chain_id)}"
        )
    if node.poster is not None:
        lines += [
            "",
            "L1 (settlement)",
            "===============",
            f"  L1 RPC          {node.l1_url}   (chain id {node.l1_chain_id})",
            f"  Settlement      {node.poster.address}",
            f"  Portal          {node.poster.portal}   (deposits to / withdrawals from rollups)",
            f"  L1 XRT token    {node.poster.portal_token}   (the reference token on L1)",
            f"  challenge window {node.settings.challenge_window} L1 blocks",
        ]
        if node.anvil is not None and node.anvil.block_time > 0:
            lines.append(
                f"  L1 block time   {node.anvil.block_time:g}s (and one per L1 transaction)"
            )
        if node.settings.data_dir is not None:
            lines.append(f"  verify with     xseqd verify --data-dir {node.settings.data_dir}")
    lines += ["", "Available Accounts (10,000 ETH on every rollup)", "=================="]
    lines += [f"({i}) {a.address}" for i, a in enumerate(accounts)]
    lines += ["", "Private Keys", "=================="]
    lines += [f"({i}) 0x{bytes(a.key).hex()}" for i, a in enumerate(accounts)]
    if len(accounts) < len(keyring):
        lines.append(f"... and {len(keyring) - len(accounts):,} more of the same mnemonic")
    lines += [
        "",
        "Wallet",
        "==================",
        f"Mnemonic:          {DEV_MNEMONIC}",
        "Derivation path:   m/44'/60'/0'/0/",
        "",
    ]
    mode = f"interval {node.settings.slot_time}s" if node.settings.slot_time > 0 else "instant"
    lines += [
        f"Slot mode:         {mode}",
        f"Sequencer:         {node.sequencer.address}",
        f"Verifier:          {node.keys.verifier_address}   (its key may attest on L1)",
        f"Keys:              {key_origins(node)}",
        f"Keypers:           {keyper_line(node)}",
        f"Sequencer log:     {node.settings.db_url}"
        + (f" (resumed {node.resumed_slots} slots)" if node.resumed_slots else ""),
    ]
    if node.replication is not None:
        rep = node.replication
        lines.append(
            f"Replica:           {rep.lease.replica_id}, {rep.role.value} "
            f"(lease {node.settings.lease_ttl:g}s, token {rep.lease.view().token})"
        )
    lines += public_bind_warning(node.settings)
    lines += [f"Listening on {ep.host}:{ep.port}", ""]
    return "\n".join(lines)


LOOPBACK = ("localhost", "::1", "ip6-localhost")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def public_bind_warning(settings: Settings) -> list[str]:
    """The banner's warning when a non-loopback --host exposes the cheat methods."""
    if is_loopback(settings.host) or settings.no_cheats:
        return []
    return [
        "",
        f"WARNING: --host {settings.host} is not loopback: anyone who reaches this port can "
        "call the cheat methods (anvil_*, hardhat_*, evm_*, impersonation, signing with the "
        "dev accounts, whose keys are public). Pass --no-cheats (XSEQD_NO_CHEATS=1) to turn "
        "them off.",
        "",
    ]


def key_origins(node: Node) -> str:
    """Where each of the devnet's keys comes from, for the banner."""
    from xseqd.keys import SEQUENCER_FILE, VERIFIER_FILE, key_dir

    directory = key_dir(node.settings)
    if node.replication is not None and not node.settings.sequencer_key:
        return "sequencer and verifier shared by the replicas, kept in the log"
    origins = []
    for role, supplied, name in (
        ("sequencer", node.settings.sequencer_key, SEQUENCER_FILE),
        ("verifier", node.settings.verifier_key, VERIFIER_FILE),
    ):
        if supplied:
            origins.append(f"{role} supplied")
        elif directory is None:
            origins.append(f"{role} generated for this run")
        else:
            origins.append(f"{role} in {(directory / name).resolve()}")
    return ", ".join(origins)


async def run_devnet(settings: Settings) -> None:
    node = Node(settings)
    await node.start()
    node.encryption.pin_event_loop()  # keypers on the other CPUs (xseqd/cpus.py)
    # Everything alive now (modules, genesis state, the restored history) lives as long as
    # the process: out of the cyclic GC's reach, a full collection no longer walks it (one
    # took 0.2-0.4 s here, a pause every request then waited for). Not collected first
    # (that alone took ~0.25 s of every start): what startup left as cyclic garbage stays,
    # once. Objects made later are collected as before.
    gc.freeze()
    print(banner(node), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, frame: Any) -> None:
        # A Python-level handler (not loop.add_signal_handler): it runs even while a call
        # holds the loop thread (``pending`` on an open block), and aborts that call.
        node.services.limits.abort_all()
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    deposed = node.replication.deposed if node.replication is not None else asyncio.Event()
    await asyncio.wait(
        [loop.create_task(stop.wait()), loop.create_task(deposed.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    print("\nshutting down", flush=True)
    await node.stop()
    if deposed.is_set() and not stop.is_set():
        # another replica leads now: start again from the log, as a follower
        print("this replica was deposed: restarting as a follower", flush=True)
        os.execv(sys.executable, [sys.executable, "-m", "xseqd.cli", *sys.argv[1:]])


NOTHING_VERIFIED = 3  # `xseqd verify` exit code when no slot was re-executed


def run_verify(args: argparse.Namespace) -> int:
    """`xseqd verify`: exit 0 and print OK, 1 naming the first bad slot, 2 when there is no
    sound target, 3 when nothing was re-executed (never "OK: 0 slots")."""
    from xseqd.chains.genesis import load_rollups
    from xseqd.l1.client import L1Client
    from xseqd.verify.target import TargetError, resolve_target
    from xseqd.verify.verifier import find_settlement, inspect

    try:
        target = resolve_target(args.l1_rpc, args.settlement, Path(args.data_dir), find_settlement)
    except TargetError as exc:
        print(f"xseqd verify: {exc.message}", file=sys.stderr)
        return 2
    for warning in target.warnings:
        print(warning, file=sys.stderr, flush=True)
    settlement = target.settlement
    print(
        f"Settlement {settlement} on L1 {target.l1_rpc} (chain id {target.chain_id}; "
        f"from {target.source})",
        flush=True,
    )
    specs = None  # by default the genesis the deployment committed to on L1
    if args.rollups_dir:
        accounts = [bytes.fromhex(a.address[2:]) for a in dev_accounts(args.accounts)]
        specs = load_rollups(Path(args.rollups_dir), accounts)

    def progress(done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            print(f"  verified {done}/{total} slots", flush=True)

    client = L1Client(target.l1_rpc)
    watch = None
    if args.keyper:
        from xseqd.core.releases import ReleaseWatch

        watch = ReleaseWatch()
    verdict, finding = inspect(client, specs, settlement, progress,
                               None if watch is None else watch.observe)  # fmt: skip
    withheld = watch is not None and withheld_commits(client, settlement, args.keyper, watch)
    if withheld and verdict.ok:
        print(f"(the L1 order alone: OK, {verdict.checked} slots re-executed)")
        return 1
    if verdict.ok and verdict.checked == 0:
        print(
            f"NOTHING VERIFIED: 0 slots re-executed: Settlement {settlement} (from "
            f"{target.source}) has no posted slots. If the devnet you mean has sealed slots, "
            "this is not its deployment: pass its --data-dir, or the Settlement address its "
            "banner printed with --settlement."
        )
        return NOTHING_VERIFIED
    if verdict.ok:
        print(f"OK: {verdict.checked} slots re-executed, every commitment matches")
        return 0
    if verdict.fault == "genesis":
        print(f"WRONG GENESIS: {verdict.reason}")
        return 1
    print(
        f"BAD slot {verdict.bad_slot} ({verdict.fault}): {verdict.reason} "
        f"({verdict.checked} slots re-executed and matched before it)"
    )
    if args.challenge and finding is not None:
        from xseqd.l1.settlement import Settlement
        from xseqd.verify.challenge import challenge_finding, challenger

        attester = b""
        if finding.fault not in ("data", "mailbox"):  # the contract alone cannot judge it
            try:
                attester = attester_key(args, client, settlement)
            except XseqError as exc:
                print(f"cannot attest: {exc.message}")
                return 2
        commitment = Settlement(client, settlement).slot(finding.slot).commitment
        receipt = challenge_finding(client, challenger(), attester, settlement, finding, commitment)
        kind = "attestation" if finding.fault in ("state", "execution", "deposit") else "challenge"
        print(
            f"{kind} accepted on L1 in tx {receipt['transactionHash']}: slot "
            f"{finding.slot} and every later slot invalidated"
        )
    return 1


def withheld_commits(client: Any, settlement: str, urls: list[str], watch: Any) -> bool:
    """Print every commit the keypers' published releases show the sequencer could read
    and did not reveal in time (verify/releases.py); whether there was one."""
    from xseqd.l1.settlement import Settlement
    from xseqd.verify.releases import fetch, withheld

    published = fetch(urls)
    for problem in published.problems:
        print(f"  {problem}", flush=True)
    print(f"  {len(published.releases)} release(s) published by {len(urls)} keyper(s)")
    found = withheld(watch, published, Settlement(client, settlement).sequencer())
    for w in found:
        print(f"{w.kind.upper()} {w.reason} (keypers {', '.join(map(str, w.keypers))})")
        for tx in w.tx_hashes:
            print(f"  plaintext transaction 0x{tx.hex()}")
    return bool(found)


def attester_key(args: argparse.Namespace, client: Any, settlement: str) -> bytes:
    """The verifier key for an attestation: ``--verifier-key`` / ``XSEQD_VERIFIER_KEY``,
    else ``<--data-dir>/verifier.key``; ``XseqError`` if none, or if it is not the key
    ``settlement`` accepts attestations from."""
    from xseqd.keys import address_of, verifier_key
    from xseqd.l1.parties import settlement_party

    key = verifier_key(args.verifier_key or os.environ.get("XSEQD_VERIFIER_KEY"), args.data_dir)
    if key is None:
        raise XseqError(
            f"no verifier key: pass --verifier-key, or --data-dir of the devnet "
            f"(no {args.data_dir / 'verifier.key'})"
        )
    expected = settlement_party(client, settlement, "verifier")
    if address_of(key).lower() != expected.lower():
        raise XseqError(
            f"the verifier key is {address_of(key)}, but Settlement {settlement} "
            f"accepts attestations from {expected} only"
        )
    return key


def keyper_line(node: Node) -> str:
    if node.keypers is None:
        return "off (--keypers 0): xseq_sendEncryptedBundle is refused"
    ks = node.keypers.keyset
    return f"{ks.threshold}-of-{ks.n} at " + " ".join(node.keypers.urls)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keyper"]:  # a keyper process: light imports, its own flags
        from xseqd.keyper import main as keyper_main

        keyper_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="xseqd", description="shared-sequencer devnet")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keyper", help="run one keyper (see docs/encryption.md; --help for flags)")
    devnet = sub.add_parser("devnet", help="run the devnet (rollups + RPC)")
    add_arguments(devnet)
    devnet.add_argument("--no-l1", action="store_true", help="run without L1 settlement")
    verify_cmd = sub.add_parser("verify", help="re-execute every slot posted on L1 and check it")
    verify_cmd.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("XSEQD_DATA_DIR", ".xseqd")),
        help="the devnet's data dir: its endpoints.json says which L1 and Settlement to "
        "verify when --l1-rpc/--settlement are not given, its verifier.key attests "
        "(default .xseqd)",
    )
    verify_cmd.add_argument(
        "--l1-rpc", default=None, help="L1 JSON-RPC URL (default: the one in the data dir)"
    )
    verify_cmd.add_argument(
        "--rollups-dir",
        default=None,
        help="rollup definitions, only for rollups started from a geth genesis file "
        "(default: the genesis the Settlement deployment committed to)",
    )
    verify_cmd.add_argument(
        "--accounts", type=int, default=10, help="dev accounts, with --rollups-dir"
    )
    verify_cmd.add_argument(
        "--settlement",
        default=None,
        help="Settlement address (default: the one in the data dir, else a scan of the L1)",
    )
    verify_cmd.add_argument(
        "--challenge",
        action="store_true",
        help="challenge the first bad slot on L1 (bond from a dev key)",
    )
    verify_cmd.add_argument(
        "--keyper",
        action="append",
        default=[],
        metavar="URL",
        help="a keyper's URL (repeatable): also check its published releases "
        "(keyper_releases) and name every encrypted commit the sequencer could read and "
        "did not reveal in time (default: L1 only)",
    )
    verify_cmd.add_argument(
        "--verifier-key",
        default=None,
        help="hex private key to attest with (or XSEQD_VERIFIER_KEY; default: verifier.key "
        "in --data-dir)",
    )
    args = parser.parse_args(argv)
    if args.command == "verify":
        return run_verify(args)
    settings = resolve(args)
    if getattr(args, "no_l1", False):
        from dataclasses import replace

        settings = replace(settings, l1_rpc="none")
    try:
        logs.configure(settings.log_level, settings.log_format)
    except ValueError as exc:
        print(f"xseqd: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run_devnet(settings))
    except XseqError as exc:
        print(f"xseqd: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"xseqd: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
