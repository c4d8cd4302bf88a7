"""The reveal slot is bound (issue 11): keypers bind their shares to the latest sealed
slot M and never rebind, a reveal lands at the top of M+1 under concurrent plain
traffic, a sequencer that reads and trades before revealing a slot late is named by
``xseqd verify`` from L1 (a commit whose keypers did not answer in time is voided, with
a refusal certificate: test_void_certificate.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
from eth_hash.auto import keccak
from eth_keys import keys

from tests.encryption.support import client, nonce, rollup, transfer, verify, wait_for
from tests.l1.test_settlement import wait_posted
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.asks import ask_digest
from xseqd.core.order import ReceiptDomain, order_root
from xseqd.core.reveals import RevealLedger
from xseqd.keyper import KeyperSet, deal_files
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread
from xseqd.sequencer.encrypted import is_reveal

KEYS = dev_accounts(10)
SEQUENCER_KEY = keccak(b"a test sequencer")
DOMAIN = ReceiptDomain(0)


def sealed(slot: int, root: bytes) -> dict[str, Any]:
    signature = enc.sign_seal(SEQUENCER_KEY, DOMAIN, slot, root)
    return {"slot": slot, "orderRoot": "0x" + root.hex(), "signature": "0x" + signature.hex()}


def binding(slot: int, root: bytes, after: int, roots: list[bytes]) -> dict[str, Any]:
    """The sequencer's signed binding of slot ``slot``'s commits to the reveal slot
    ``after`` + 1, over the order roots of slots slot+1..after."""
    ctx = enc.release_context(DOMAIN, slot, root, after, enc.span_root(roots))
    return {"slot": after, "roots": ["0x" + r.hex() for r in roots],
            "signature": "0x" + enc.sign_digest(SEQUENCER_KEY, ctx).hex()}  # fmt: skip


def commit_request(envelope: bytes, slot: int = 1) -> tuple[dict[str, Any], bytes]:
    """A release request for ``envelope``, the one commit of slot ``slot`` (signed seal,
    its entries), bound to M = N; and that slot's order root."""
    entries = [enc.commit_entry_hash(envelope)]
    root = order_root(slot, entries)
    request = {"domain": DOMAIN.to_json(), **sealed(slot, root),
               "entries": ["0x" + e.hex() for e in entries],
               "items": [{"index": 0, "envelope": "0x" + envelope.hex()}],
               "after": binding(slot, root, slot, [])}  # fmt: skip
    return request, root


def signed(request: dict[str, Any], method: str, index: int = 1) -> dict[str, Any]:
    """``request`` with the sequencer's per-keyper ``auth`` (core/asks.py)."""
    auth = enc.sign_digest(SEQUENCER_KEY, ask_digest(request, index, method))
    return {**request, "auth": "0x" + auth.hex()}


def ask(url: str, request: dict[str, Any], method: str = "keyper_release") -> dict[str, Any]:
    """``request`` to keyper 1 at ``url``, signed for it as the sequencer does."""
    if method in ("keyper_release", "keyper_refuse"):
        request = signed(request, method)
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": [request]}
    return dict(httpx.post(url, json=body, timeout=10).json())


def test_keyper_never_rebinds_a_release_even_after_a_restart(tmp_path: Path) -> None:
    """Asked again under another binding, a keyper answers its share under the binding
    it released (marked so; a mixed opening can use it), never a share for the new one;
    it publishes every release (keyper_releases), also after it was killed (kill -9) and
    restarted."""
    keyset = deal_files(tmp_path, 2, 2)
    address = keys.PrivateKey(SEQUENCER_KEY).public_key.to_checksum_address()
    keypers = KeyperSet(tmp_path, keyset, address)
    keypers.start(1)
    try:
        envelope = enc.encrypt_bundle(keyset, [transfer(901, KEYS[0], 0)], DOMAIN).encode()
        request, root1 = commit_request(envelope)
        del request["after"]  # each ask below names its own binding
        root2 = order_root(2, [keccak(b"another entry")])
        url = keypers.urls[0]
        assert ask(url, {}, "keyper_releases")["result"] == []
        first = ask(url, {**request, "after": binding(1, root1, 1, [])})
        again = ask(url, {**request, "after": binding(1, root1, 1, [])})
        assert "result" in first and "result" in again, (first, again)
        c1 = enc.Envelope.decode(envelope).c1
        ctx = enc.release_context(DOMAIN, 1, root1, 1, enc.span_root([]))
        new_ctx = enc.release_context(DOMAIN, 1, root1, 2, enc.span_root([root2]))
        for reply in (first, again):  # the same binding: a valid share again
            assert th.verify_share(keyset, c1, ctx, th.Share.from_json(reply["result"][0]))
            assert "binding" not in reply["result"][0]

        def old_binding_only(reply: dict[str, Any]) -> None:
            (answer,) = reply["result"]
            assert answer["binding"] == {"slot": 1, "span": "0x" + enc.span_root([]).hex()}
            share = th.Share.from_json(answer)
            assert th.verify_share(keyset, c1, ctx, share)
            assert not th.verify_share(keyset, c1, new_ctx, share)

        old_binding_only(ask(url, {**request, "after": binding(1, root1, 2, [root2])}))
        # ... nor refused: a keyper never refuses what it released
        answer = ask(url, {**request, "after": binding(1, root1, 2, [root2])}, "keyper_refuse")
        assert answer["result"] == [{"released": [1, "0x" + enc.span_root([]).hex()]}], answer
        killed = keypers.procs.pop(1)
        killed.kill()  # kill -9, no clean exit: the records were written, not fdatasynced
        killed.wait()
        keypers.start(1)  # the binding survives it (bindings file)
        url = keypers.urls[0]
        old_binding_only(ask(url, {**request, "after": binding(1, root1, 2, [root2])}))
        assert "result" in ask(url, {**request, "after": binding(1, root1, 1, [])})
        assert "refusal" not in str(ask(url, request, "keyper_refuse"))
        forged = ask(url, {**request, "after": {**binding(1, root1, 2, [root2]), "roots": []}})
        assert "one each" in forged["error"]["message"], forged
        assert (tmp_path / "keyper-1.bindings.json").exists()
        # published after the restart: one release, with its seal, binding and a share
        (published,) = ask(url, {}, "keyper_releases")["result"]
        assert published["id"] == "0x" + enc.Envelope.decode(envelope).id.hex()
        assert (published["slot"], published["orderRoot"]) == (1, "0x" + root1.hex())
        assert published["after"] == binding(1, root1, 1, []) | {
            "signature": published["after"]["signature"]
        }
        assert enc.digest_signer(ctx, bytes.fromhex(published["after"]["signature"][2:])) == (
            address
        )
        assert th.verify_share(keyset, c1, ctx, th.Share.from_json(published["share"]))
        assert ask(url, {"after": 1}, "keyper_releases")["result"] == []
        assert "position" in ask(url, {"after": -1}, "keyper_releases")["error"]["message"]
    finally:
        keypers.stop_all()


def check_ledger(node: NodeThread) -> list[tuple[int, int]]:
    """Run the verifier's cross-slot rule over every sealed slot of ``node``; the
    (slot, bound M) of every reveal."""
    slots = list(node.node.sequencer.slots)
    assert [s.number for s in slots] == list(range(1, len(slots) + 1))
    ledger, bound = RevealLedger(), []
    for slot in slots:
        assert ledger.check(slot.number, [i.entry for i in slot.items]) is None, slot.number
        for item in slot.items:
            opening = enc.split_payload(item.payload)[1] if is_reveal(item) else b""
            if opening and not enc.is_void(opening):
                bound.append((slot.number, enc.Opening.decode(opening).after_slot))
    return bound


def test_reveals_land_at_the_top_of_the_slot_after_their_binding_under_plain_traffic() -> None:
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        seq, a, b = client(node), rollup(node, 901), rollup(node, 902)
        plain, stop, sent_plain = KEYS[1], threading.Event(), []

        def traffic() -> None:
            w3, n = rollup(node, 902), nonce(node, 902, plain)
            while not stop.is_set():
                sent_plain.append(w3.eth.send_raw_transaction(transfer(902, plain, n)))
                n += 1

        thread = threading.Thread(target=traffic)
        thread.start()
        try:
            wait_for(lambda: len(sent_plain) >= 3, "plain traffic flowing")
            sent = [seq.send_encrypted_bundle([transfer(901, KEYS[0], i, 3)]) for i in range(6)]
            done = [seq.wait_revealed(s["bundleHash"]) for s in sent]
        finally:
            stop.set()
            thread.join()
        assert [d["status"] for d in done] == ["included"] * 6
        for tx in sent_plain:  # every plain transaction sent meanwhile is ordered
            assert b.eth.wait_for_transaction_receipt(tx, timeout=20)["status"] == 1
        wait_for(lambda: not node.node.sequencer.open_slot_needs_seal, "the last seal")
        assert a.eth.get_transaction_count(KEYS[0].address) == 6
        bound = check_ledger(node)
        assert len(bound) == 6 and all(m == s - 1 for s, m in bound), bound
        assert len(sent_plain) > 3  # plain traffic went on while the reveals were released
    finally:
        node.stop()


def test_verify_names_a_sequencer_that_withholds_a_reveal_to_trade(
    anvil: Anvil, tmp_path: Path
) -> None:
    """--fault withhold: with the shares in hand the sequencer orders its own transaction,
    seals, and reveals one slot late; verify names the reveal from L1 data alone."""
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path,
                                  db="", keypers=2, keyper_threshold=2,
                                  fault="withhold")  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        seq = client(node)
        sent = seq.send_encrypted_bundle([transfer(901, KEYS[0], 0, 5)])
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "included"
        executed = int(done["executedSlot"], 16)
        own = seq.get_slot(executed - 1)["items"]  # the sequencer's trade sits in between
        assert [i["kind"] for i in own] == ["transaction"], own
        wait_posted(node)
    finally:
        node.stop()
    out = verify(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"BAD slot {executed} (execution)" in out.stdout, out.stdout
    assert "(withheld)" in out.stdout, out.stdout


def test_the_gate_holds_writes_only() -> None:
    from xseqd.sequencer.gate import is_write

    for method in ("eth_sendRawTransaction", "xseq_sendBundle", "xseq_sendEncryptedBundle",
                   "evm_mine", "anvil_setBalance", "hardhat_setCode"):  # fmt: skip
        assert is_write(method), method
    for method in ("eth_call", "eth_getBalance", "xseq_getBundle", "anvil_getAutomine"):
        assert not is_write(method), method
