"""Keypers: the separate processes that hold the decryption key's shares, the dealer that
makes their share files, and the process set the devnet starts.

A keyper (``xseqd keyper --share FILE --sequencer ADDRESS --port P``) answers
``keyper_status`` (cheap: is it up), ``keyper_release``, ``keyper_refuse`` and
``keyper_releases`` over HTTP.

``keyper_release``: given the sequencer's signed **seal** of a slot N (the slot's final
order root, every entry hash of the slot), the ciphertexts of that slot it is asked to
open, and the binding ``after`` = {M ≥ N, the order roots of every slot N+1..M, the
sequencer's signature over the release context (N's seal, M, the span root of those
roots)}, it checks the seal and the signature, that the entry hashes chain to N's root,
and that each ciphertext is a sealed commit at its index, and only then answers with its
decryption share of each (core/threshold.py, the proof bound to that context: the reveal
must sit at the top of M+1, after exactly those slots). Anything else is refused — so
nothing is released before the order is final, and a sequencer that asks ahead of time
(a seal of a future empty slot) has committed to every slot up to the reveal before it
could read anything.

``keyper_refuse`` (the same request; ``after`` optional): for each ciphertext this keyper
never released, a signed **refusal** (core/refusals.py), after which it never releases
it; for one released under the binding ``after`` names, its share again (the sequencer
missed the answer); for one released under another binding, neither.

``keyper_release`` of a ciphertext this keyper released before under ANOTHER binding
(a partial round: too few keypers answered) answers its share under that old binding
again, marked ``binding: {slot, span}``: the sequencer may reveal with a mixed opening
(core/encrypted.py). Both act only on a request the sequencer signed for this keyper
(``auth``, core/asks.py). ``keyper_releases {after?, limit?}`` (public, ``PAGE`` a call)
lists every release made, with the seal, the signed binding, its share and proof: t of
them decrypt the commit, so a sequencer that read a bundle and never revealed it is
named by ``xseqd verify --keyper URL`` (xseqd/verify/releases.py).

A keyper **never rebinds** and never changes its mind: what it did with each ciphertext
(released bound to (M, span), or refused) is kept in ``<share file>.bindings.json``
(appended before it answers: Bindings); a release of a refused ciphertext or under
another binding is refused, a refusal of a released one is not given; the same binding
gets its share again (a restarted sequencer keeps working). ``--release-delay S`` (tests
only) hangs S seconds before each release, as a keyper that is alive but stuck.

The dealer (``deal_files``) is a devnet simplification: one process draws the key, writes
``keyset.json`` and ``keyper-<i>.json`` (0600) and forgets it. docs/encryption.md says
what that means for trust.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from xseqd import keyperhttp
from xseqd.core import threshold
from xseqd.core.asks import ask_signer
from xseqd.core.encrypted import (
    PAGE,
    Envelope,
    commit_entry_hash,
    digest_signer,
    release_context,
    seal_signer,
    span_root,
)
from xseqd.core.order import ReceiptDomain, order_root
from xseqd.core.refusals import sign_refusal
from xseqd.core.threshold import Keyset, KeyShare
from xseqd.errors import XseqError
from xseqd.keyperhttp import IDLE_TIMEOUT, MAX_CONNECTIONS

START_TIMEOUT = 20.0
REFUSED = "refused"


class Refused(Exception):
    """Raised when a release request does not carry a valid seal of the sealed order."""


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise Refused(f"{what} must be 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise Refused(f"{what} is not hex") from None


class Bindings:
    """What this keyper did with each ciphertext: released it bound to (M, span), or
    refused it for good. Kept in a file of JSON lines (each one object ``{id: [M, span]}``
    or ``{id: "refused"}``), appended once per request (the file kept open) before the
    answer: one ``write``, which a killed keyper (kill -9) never loses — the kernel holds
    it — as the sequencer's SQLite log (``synchronous=NORMAL``) keeps its commits. With
    ``sync`` (``xseqd keyper --fsync``, devnet ``--keyper-fsync``) each record is also
    fdatasynced before the answer, so that it survives a power cut: three keypers syncing
    at once cost ~5 ms per release on this machine's disk. A torn line (a crash while
    writing, so before the answer went out) is skipped."""

    def __init__(self, path: Path | None, sync: bool = False) -> None:
        self.path, self.sync = path, sync
        self.known: dict[str, Any] = {}
        self.order: list[str] = []  # ids of the published releases, in the order made
        self._fd: int | None = None
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                with contextlib.suppress(ValueError, AttributeError):
                    self._remember(json.loads(line) if line.strip() else {})

    def _remember(self, line: dict[str, Any]) -> None:
        line = {k: v for k, v in line.items() if k not in self.known}
        self.known.update(line)
        self.order += [k for k, v in line.items() if isinstance(v, list) and len(v) > 2]

    def check(self, item_id: bytes, after: int, span: bytes) -> bool:
        """Whether ``item_id`` may be released bound to (after, span)."""
        known = self.known.get("0x" + item_id.hex())
        return known is None or known[:2] == [after, "0x" + span.hex()]

    def binding(self, item_id: bytes) -> tuple[int, bytes] | None:
        """(M, span) ``item_id`` was released under, if it was."""
        known = self.known.get("0x" + item_id.hex())
        if not isinstance(known, list):
            return None
        return int(known[0]), bytes.fromhex(str(known[1])[2:])

    def releases(self, start: int = 0, count: int | None = None) -> list[dict[str, Any]]:
        """The releases recorded at positions start.. (at most ``count``), each with its
        full record (the seal of the commit slot, the sequencer's signed binding and,
        since it is stored at release time, the share with its proof)."""
        end = None if count is None else start + count
        return [dict(self.known[k][2], id=k) for k in self.order[start:end]]

    def root(self, item_id: bytes) -> bytes | None:
        """The order root of the commit's slot that ``item_id`` was released under (its
        seal), if it was released and that was recorded."""
        known = self.known.get("0x" + item_id.hex())
        if not isinstance(known, list) or len(known) < 3 or "orderRoot" not in known[2]:
            return None
        return bytes.fromhex(str(known[2]["orderRoot"])[2:])

    def refused(self, item_id: bytes) -> bool:
        return self.known.get("0x" + item_id.hex()) == REFUSED

    def released(self, item_id: bytes) -> bool:
        return isinstance(self.known.get("0x" + item_id.hex()), list)

    def record(
        self, ids: list[bytes], after: int, span: bytes, proof: dict[str, Any] | None = None
    ) -> None:
        """Record releases bound to (after, span); ``proof`` (the request's seal and the
        sequencer's signed binding) is what ``keyper_releases`` publishes."""
        value = [after, "0x" + span.hex()] + ([proof] if proof else [])
        self._append({item_id: value for item_id in ids})

    def record_releases(self, records: dict[bytes, list[Any]]) -> None:
        """Record releases, each its own [M, span, proof] (one line)."""
        self._append(records)

    def record_refusals(self, ids: list[bytes]) -> None:
        self._append({item_id: REFUSED for item_id in ids})

    def _append(self, values: dict[bytes, Any]) -> None:
        line = {"0x" + i.hex(): v for i, v in values.items() if "0x" + i.hex() not in self.known}
        if not line:
            return
        self._remember(line)
        if self.path is None:
            return
        created = self._fd is None and not self.path.exists()
        if self._fd is None:  # kept open: one write (and fdatasync, with sync) per request
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        # after a torn line, on a line of its own; fdatasync also makes the new length
        # durable (what reading the line back needs)
        os.write(self._fd, ("\n" + json.dumps(line) + "\n").encode())
        if self.sync:
            os.fdatasync(self._fd)
        if created and self.sync:
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@functools.lru_cache(maxsize=64)
def _seal_signer(domain: ReceiptDomain, slot: int, root: bytes, signature: bytes) -> str:
    """seal_signer, remembered: the next round names the same commit slot again."""
    return seal_signer(domain, slot, root, signature)


def _checked_seal(domain: ReceiptDomain, sequencer: str, slot: int, seal: dict[str, Any]) -> bytes:
    """The order root of ``slot`` that ``seal`` carries, if the sequencer signed it."""
    root = _hex(seal.get("orderRoot"), "orderRoot")
    signature = _hex(seal.get("signature"), "signature")
    try:
        signer = _seal_signer(domain, slot, root, signature)
    except Exception:
        raise Refused(
            f"no valid seal: slot {slot}'s order is not sealed by the sequencer"
        ) from None
    if signer.lower() != sequencer.lower():
        raise Refused(f"the seal is signed by {signer}, not by the sequencer {sequencer}")
    return root


def _sealed_items(
    share: KeyShare, sequencer: str, request: dict[str, Any]
) -> tuple[ReceiptDomain, int, bytes, list[Envelope]]:
    """The deployment, commit slot N, its sealed order root and the ciphertexts a request
    names, once checked: N sealed by the sequencer, each a sealed commit of N, encrypted
    to this keyset for this deployment (or ``Refused``)."""
    try:
        domain = ReceiptDomain.from_json(request["domain"])
        slot = int(request["slot"])
        entries = [_hex(e, "entry hash") for e in request["entries"]]
        items = [(int(i["index"]), _hex(i["envelope"], "envelope")) for i in request["items"]]
    except Refused:
        raise
    except Exception:
        raise Refused(
            "expected {domain, slot, orderRoot, signature, entries, items, "
            "after: {slot, roots, signature}}"
        ) from None
    if len({index for index, _ in items}) != len(items):
        raise Refused("an item is named twice")
    root = _checked_seal(domain, sequencer, slot, request)
    if order_root(slot, entries) != root:
        raise Refused("the entry hashes do not chain to the sealed order root")
    envelopes = []
    for index, envelope in items:
        if not 0 <= index < len(entries) or entries[index] != commit_entry_hash(envelope):
            raise Refused(f"item {index} is not a sealed ciphertext of slot {slot}")
        try:
            env = Envelope.decode(envelope)
        except ValueError as exc:
            raise Refused(f"item {index}: {exc}") from None
        if env.keyset_id != share.keyset.id:
            raise Refused(f"item {index} is encrypted to another keyset")
        if env.domain != domain:
            raise Refused(f"item {index} is bound to another deployment")
        envelopes.append(env)
    return domain, slot, root, envelopes


def _authorized(share: KeyShare, sequencer: str, method: str, request: Any) -> dict[str, Any]:
    """``request`` if the sequencer signed it for this keyper and ``method`` (``auth``,
    core/asks.py): a published seal and binding replayed by others do nothing."""
    if ask_signer(request, share.index, method).lower() != sequencer.lower():
        raise Refused(f"{method}: not signed by the sequencer for keyper {share.index} (auth)")
    return dict(request)


def _binding(
    domain: ReceiptDomain, sequencer: str, slot: int, root: bytes, after: Any
) -> tuple[int, bytes, bytes]:
    """(M, span root, release context) of ``after`` = {slot M, roots of N+1..M,
    signature}: the sequencer must have signed the context, so that it commits to the
    order of every slot between the commit and the reveal before it can read anything."""
    try:
        after_slot = int(after["slot"])
        roots = [_hex(r, "roots") for r in after["roots"]]
        signature = _hex(after["signature"], "signature")
    except Refused:
        raise
    except Exception:
        raise Refused("after: expected {slot, roots (N+1..M), signature}") from None
    if after_slot < slot:
        raise Refused(f"after: slot {after_slot} is before the commit slot {slot}")
    if len(roots) != after_slot - slot or any(len(r) != 32 for r in roots):
        raise Refused(f"after: the order roots of slots {slot + 1}..{after_slot}, one each")
    span = span_root(roots)
    context = release_context(domain, slot, root, after_slot, span)
    try:
        signer = digest_signer(context, signature)
    except ValueError:
        signer = ""
    if signer.lower() != sequencer.lower():
        raise Refused("after: the binding is not signed by the sequencer")
    return after_slot, span, context


def release(
    share: KeyShare, sequencer: str, request: dict[str, Any], bindings: Bindings | None = None
) -> list[dict[str, Any]]:
    """This keyper's shares for the ciphertexts ``request`` names, or ``Refused``."""
    bindings = bindings or Bindings(None)
    domain, slot, root, envelopes = _sealed_items(share, sequencer, request)
    after_slot, span, context = _binding(domain, sequencer, slot, root, request.get("after"))
    out: list[dict[str, Any]] = []
    made: dict[bytes, dict[str, Any]] = {}
    for index, env in zip((int(i["index"]) for i in request["items"]), envelopes, strict=True):
        if bindings.refused(env.id):
            raise Refused(f"item {index} was refused: it is never released")
        if env.max_slot and env.max_slot < after_slot + 1:
            raise Refused(f"item {index} expires at slot {env.max_slot}, before its reveal")
        if bindings.root(env.id) not in (None, root):  # the sequencer signed two orders
            raise Refused(f"item {index} was released under another order root of slot {slot}")
        old = bindings.binding(env.id)
        if old is not None and old != (after_slot, span):
            # released before under another binding (a partial round): the same share,
            # proven under that binding again, so the sequencer can reveal with a mixed
            # opening (core/encrypted.py); this keyper never binds it to anything else
            old_context = release_context(domain, slot, root, old[0], old[1])
            again = threshold.make_share(share, env.c1, old_context).to_json()
            out.append(dict(again, binding={"slot": old[0], "span": "0x" + old[1].hex()}))
            continue
        made[env.id] = threshold.make_share(share, env.c1, context).to_json()
        out.append(made[env.id])
    proof = {"domain": domain.to_json(), "slot": slot, "orderRoot": "0x" + root.hex(),
             "signature": request["signature"], "after": request["after"]}  # fmt: skip
    value = [after_slot, "0x" + span.hex()]
    # the share and its proof are stored: keyper_releases serves them without re-proving
    bindings.record_releases({i: value + [dict(proof, c1="0x" + e.c1.hex(), share=made[i])]
                              for i, e in ((e.id, e) for e in envelopes) if i in made})  # fmt: skip
    return out


def published(share: KeyShare, bindings: Bindings, request: Any) -> list[dict[str, Any]]:
    """``keyper_releases {after?, limit?}``: the releases this keyper made from position
    ``after`` (default 0) on, at most ``limit`` (default and at most ``PAGE``); the next
    page starts at the last one's ``position`` + 1. Each carries what anyone needs to
    check and use it: the commit id, the seal of its slot, the sequencer's signed binding
    (M, roots of N+1..M) and this keyper's decryption share with its proof under that
    binding. It reveals nothing the keyper did not already give the sequencer; t of them
    decrypt the commit."""
    if request is not None and not isinstance(request, dict):
        raise Refused("expected {after?: position, limit?: count}")
    start, limit = (request or {}).get("after"), (request or {}).get("limit")
    if start is not None and (not isinstance(start, int) or start < 0):
        raise Refused("after: a position (integer >= 0) in the list of releases")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= PAGE):
        raise Refused(f"limit: at most {PAGE} releases per call (page with after)")
    start = start or 0
    out = []
    for position, record in enumerate(bindings.releases(start, limit or PAGE), start):
        if "share" not in record:  # recorded before shares were stored: prove it now
            domain = ReceiptDomain.from_json(record["domain"])
            roots = [bytes.fromhex(r[2:]) for r in record["after"]["roots"]]
            context = release_context(domain, int(record["slot"]),
                                      bytes.fromhex(record["orderRoot"][2:]),
                                      int(record["after"]["slot"]), span_root(roots))  # fmt: skip
            c1 = bytes.fromhex(record["c1"][2:])
            record["share"] = threshold.make_share(share, c1, context).to_json()
        out.append(dict(record, position=position))
    return out


def refuse(
    share: KeyShare, sequencer: str, request: dict[str, Any], bindings: Bindings | None = None
) -> list[dict[str, Any]]:
    """For each ciphertext ``request`` names: ``{refusal}`` (this keyper never released
    it, and now never will), or ``{share}`` if it was released under the binding
    ``request.after`` names (the sequencer missed the answer; the reveal slot may still
    be open), or ``{released: [M, span]}`` (released under another binding: neither)."""
    bindings = bindings or Bindings(None)
    domain, slot, root, envelopes = _sealed_items(share, sequencer, request)
    binding = None
    if request.get("after") is not None:
        binding = _binding(domain, sequencer, slot, root, request["after"])
    out: list[dict[str, Any]] = []
    for env in envelopes:
        if bindings.released(env.id):
            same_root = bindings.root(env.id) in (None, root)  # never a second order of N
            if binding is not None and same_root and bindings.check(env.id, *binding[:2]):
                out.append({"share": threshold.make_share(share, env.c1, binding[2]).to_json()})
            else:
                out.append({"released": bindings.known["0x" + env.id.hex()][:2]})
        else:
            out.append({"refusal": sign_refusal(share, domain, env.id).to_json()})
    bindings.record_refusals([env.id for env in envelopes if not bindings.released(env.id)])
    return out


def serve(
    share: KeyShare,
    sequencer: str,
    host: str,
    port: int,
    bindings: Bindings | None = None,
    delay: float = 0.0,
    idle_timeout: float = IDLE_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Serve ``keyper_info``, ``keyper_status``, ``keyper_release``, ``keyper_refuse``
    and ``keyper_releases`` (JSON-RPC 2.0 over HTTP/1.1 POST, keep-alive) until killed;
    the transport is xseqd/keyperhttp.py: at most ``max_connections`` open at once (one
    past that is closed as soon as it is accepted), each closed after ``idle_timeout``
    seconds without a whole request head."""
    held = bindings or Bindings(None)

    async def answer(body: bytes) -> dict[str, Any]:
        rid: Any = None
        try:
            request = json.loads(body)
            rid = request.get("id")
            if request.get("method") == "keyper_info":
                result: Any = {"index": share.index, "keyset": share.keyset.to_json()}
            elif request.get("method") == "keyper_status":
                result = {"index": share.index, "up": True}
            elif request.get("method") == "keyper_release":
                if delay:  # TESTS ONLY: hung before it does anything
                    await asyncio.sleep(delay)
                # on the loop, so one release at a time (its record written first)
                asked = _authorized(share, sequencer, "keyper_release", request["params"][0])
                result = release(share, sequencer, asked, held)
            elif request.get("method") == "keyper_releases":
                result = published(share, held, (request.get("params") or [None])[0])
            elif request.get("method") == "keyper_refuse":
                asked = _authorized(share, sequencer, "keyper_refuse", request["params"][0])
                result = refuse(share, sequencer, asked, held)
            else:
                raise Refused("unknown method")
            return {"jsonrpc": "2.0", "id": rid, "result": result}
        except Refused as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32001, "message": str(exc)}}
        except Exception as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32600, "message": str(exc)}}

    async def main() -> None:
        server = await keyperhttp.start(answer, host, port, idle_timeout, max_connections)
        bound = server.sockets[0].getsockname()[1]
        print(f"keyper {share.index} listening on {host}:{bound}", flush=True)
        gc.freeze()  # what is alive now lives as long as the keyper: out of the GC's walk
        async with server:
            await server.serve_forever()

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    asyncio.run(main())


def _exit_with_parent(parent: int) -> None:
    """A keyper started by a devnet ends when that devnet's process is gone (even after
    kill -9), so that no keyper outlives it holding its port."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


# -- the dealer and the devnet's keyper processes ------------------------------------------


# Keypers a devnet starts share its machine: a little below the sequencer's priority, so
# that a keyper woken by a release request does not take the sequencer's core while it
# writes the next keyper's request and builds the slot's blocks (on 2 cores: the
# encrypted bundle's p50 0.6-1.6 ms lower, bench/encryption.py alternated).
NICE = 5


def deal_files(directory: Path, n: int, t: int) -> Keyset:
    """The keyset in ``directory`` (made by an earlier run with the same n and t), else a
    freshly dealt one with its share files. Refuses 2t <= n: two disjoint sets of t
    keypers could then release one commit under two bindings (docs/encryption.md)."""
    if not 2 * t > n:
        raise XseqError(
            f"--keyper-threshold {t} must be more than half of --keypers {n}: with 2t <= n "
            "two disjoint sets of keypers could each release a bundle under another binding"
        )
    directory.mkdir(parents=True, exist_ok=True)
    known = directory / "keyset.json"
    if known.exists():
        keyset = Keyset.from_json(json.loads(known.read_text()))
        if (keyset.n, keyset.threshold) == (n, t):
            return keyset
    keyset, shares = threshold.deal(n, t)
    for share in shares:
        (directory / f"keyper-{share.index}.bindings.json").unlink(missing_ok=True)
        path = directory / f"keyper-{share.index}.json"
        path.write_text(share.to_json())
        os.chmod(path, 0o600)
    known.write_text(json.dumps(keyset.to_json(), indent=2))
    return keyset


class KeyperSet:
    """The devnet's keyper processes: one per share file, each on its own port."""

    def __init__(self, directory: Path, keyset: Keyset, sequencer: str, host: str = "127.0.0.1"):
        self.directory, self.keyset, self.sequencer, self.host = directory, keyset, sequencer, host
        self.extra_args: dict[int, list[str]] = {}  # per keyper (tests: --release-delay)
        self.fsync = False  # --fsync for every keyper (devnet --keyper-fsync)
        self.cpus: set[int] = set()  # --cpus for every keyper (xseqd/cpus.py); empty: any
        self.ports: dict[int, int] = {}
        self.procs: dict[int, subprocess.Popen[str]] = {}

    @property
    def urls(self) -> list[str]:
        return [f"http://{self.host}:{self.ports[i]}/" for i in sorted(self.ports)]

    def start_all(self) -> None:
        """Start every keyper at once, then wait for each to listen."""
        self.spawn_all()
        self.await_all()

    def spawn_all(self) -> None:
        for i in range(1, self.keyset.n + 1):
            self._spawn(i)

    def await_all(self) -> None:
        """Wait for every spawned keyper to listen (stops them all if one does not)."""
        try:
            for i in range(1, self.keyset.n + 1):
                self._await(i)
        except BaseException:
            self.stop_all()
            raise

    def start(self, index: int) -> None:
        """(Re)start keyper ``index`` on its port."""
        self._spawn(index)
        self._await(index)

    def _spawn(self, index: int) -> None:
        cmd = [sys.executable, "-m", "xseqd.keyper", "--share",
               str(self.directory / f"keyper-{index}.json"), "--sequencer", self.sequencer,
               "--host", self.host, "--port", str(self.ports.get(index, 0)),
               "--nice", str(NICE), *(["--fsync"] if self.fsync else []),
               *(["--cpus", ",".join(map(str, sorted(self.cpus)))] if self.cpus else []),
               *self.extra_args.get(index, [])]  # fmt: skip
        self.procs[index] = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )

    def _await(self, index: int) -> None:
        proc = self.procs[index]
        deadline = time.monotonic() + START_TIMEOUT
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line or time.monotonic() > deadline:
            self.stop(index)
            raise RuntimeError(f"keyper {index} did not start: {line.strip()!r}")
        self.ports[index] = int(line.strip().rsplit(":", 1)[1])

    def stop(self, index: int) -> None:
        proc = self.procs.pop(index, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for index in list(self.procs):
            self.stop(index)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="xseqd keyper", description="run one keyper")
    parser.add_argument("--share", required=True, help="this keyper's share file")
    parser.add_argument("--sequencer", required=True, help="address whose seals are honoured")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--release-delay", type=float, default=0.0,
                        help="TESTS ONLY: hang this many seconds before each release")  # fmt: skip
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT,
                        help="close a connection idle this many seconds")  # fmt: skip
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS,
                        help="connections open at once; more are closed at once")  # fmt: skip
    parser.add_argument("--nice", type=int, default=0,
                        help="raise the nice value by this much (devnet keypers: 5)")  # fmt: skip
    parser.add_argument("--fsync", action="store_true",
                        help="fdatasync each record before answering (power-cut safe)")  # fmt: skip
    parser.add_argument("--cpus", default="",
                        help="run only on these CPUs, e.g. 0,1 (see xseqd/cpus.py)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    path = Path(args.share)
    share = KeyShare.from_json(path.read_text())
    bindings = Bindings(path.with_name(path.stem + ".bindings.json"), args.fsync)
    try:
        serve(share, args.sequencer, args.host, args.port, bindings, args.release_delay,
              args.idle_timeout, args.max_connections)  # fmt: skip
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
