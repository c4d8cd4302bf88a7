"""Benchmark: an encrypted 2-leg bundle vs the same plain bundle, submission to executed.

  plain           xseq_sendBundle (one leg on 901, one on 902), instant mode: the answer
                  says `included`, so latency = time to the answer
  plain, sealed   the same, until the bundle's slot is sealed (xseq_slotNumber polled)
  encrypted       xseq_sendEncryptedBundle, then xseq_waitBundle (answers once the
                  bundle is no longer `sealed`; no polling): the commit's slot is sealed,
                  the keypers (separate processes) release their shares against the signed
                  seal, the reveal runs at the top of the next slot. Encryption (client
                  side) is outside the timed span. Code without xseq_waitBundle (an older
                  tree via XSEQD_BENCH_CODE) is measured by polling xseq_getBundle instead.

Each timed submission starts on an idle server: the previous bundle's slot (for an
encrypted one, its reveal's slot) is sealed, then ``--gap`` seconds (default 0.02) pass,
so that neither path pays for the tail of the other's work (the seal after an answer, the
reveal's slot seal after xseq_waitBundle answered).

xseqd runs as a subprocess with the default 3-of-5 keypers and its durable log in a temp
dir, as a user runs it. Usage: .venv/bin/python bench/encryption.py [--n 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, free_port, pct, sign_for, start_xseqd  # noqa: E402
from xseqd.client import encrypt_bundle  # noqa: E402

WARM = 3  # cheap reads right before each timed submission (settle)


def settle(root: Rpc, gap: float) -> None:
    """Untimed, before each timed submission: ``gap`` idle seconds, then a few cheap reads,
    so that every timed request finds the server equally warm (on this shared VM a request
    after an idle stretch is several ms slower, which would flatter whichever path leaves
    the server idle longer before the next one)."""
    time.sleep(gap)
    for _ in range(WARM):
        root("xseq_slotNumber")


def waiter(root: Rpc, poll: bool) -> Callable[[str], dict[str, Any]]:
    """How the client learns the outcome: xseq_waitBundle, or polling (``--poll``, or
    where xseq_waitBundle is missing)."""
    try:
        root("xseq_waitBundle", "0x" + "00" * 32, 0)
        assert not poll
    except Exception:

        def poll(bundle_hash: str) -> dict[str, Any]:
            while (found := root("xseq_getBundle", bundle_hash))["status"] == "sealed":
                pass
            return dict(found)

        print("(polling xseq_getBundle for the encrypted outcome)")
        return poll
    return lambda bundle_hash: dict(root("xseq_waitBundle", bundle_hash, 30))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--keypers", type=int, default=5)
    parser.add_argument("--threshold", type=int, default=3)
    parser.add_argument("--poll", action="store_true", help="poll xseq_getBundle instead")
    parser.add_argument("--gap", type=float, default=0.02, help="idle seconds before each")
    args = parser.parse_args()
    n = args.n
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        keypers = ("--keypers", str(args.keypers), "--keyper-threshold", str(args.threshold))
        proc = start_xseqd(port, ("--data-dir", data, *keypers))
        try:
            root = Rpc(f"http://127.0.0.1:{port}/")
            key_info = root("xseq_encryptionKey")
            wait = waiter(root, args.poll)
            lat_plain, lat_sealed, lat_enc = [], [], []
            for i in range(n):
                legs = [sign_for(901, KEYS[1], 2 * i, SINK, value=1),
                        sign_for(902, KEYS[2], 2 * i, SINK, value=1)]  # fmt: skip
                settle(root, args.gap)
                t0 = time.perf_counter()
                done = root("xseq_sendBundle", {"txs": legs})
                lat_plain.append(time.perf_counter() - t0)
                assert done["status"] == "included", done
                while int(root("xseq_slotNumber"), 16) < int(done["slot"], 16):
                    pass
                lat_sealed.append(time.perf_counter() - t0)
                legs = [sign_for(901, KEYS[1], 2 * i + 1, SINK, value=1),
                        sign_for(902, KEYS[2], 2 * i + 1, SINK, value=1)]  # fmt: skip
                envelope = "0x" + encrypt_bundle(key_info, legs).hex()
                settle(root, args.gap)
                t0 = time.perf_counter()
                sent = root("xseq_sendEncryptedBundle", {"ciphertext": envelope})
                found = wait(sent["bundleHash"])
                lat_enc.append(time.perf_counter() - t0)
                assert found["status"] == "included", found
                # untimed: the reveal's slot sealed, so the next plain bundle does not
                # share the event loop with the rest of this round
                executed = int(found.get("executedSlot") or found["slot"], 16)
                while int(root("xseq_slotNumber"), 16) < executed:
                    time.sleep(0.001)
        finally:
            proc.terminate()
            proc.wait()
    base = sorted(lat_plain)[len(lat_plain) // 2]
    print(
        f"{n} two-leg bundles each, sequential ({args.gap * 1000:g} ms idle before each), "
        f"{args.threshold}-of-{args.keypers} keypers, durable log (ms)"
    )
    print("| path | p50 | p99 | p50 / plain p50 |")
    print("|---|---|---|---|")
    for name, lat in (("plain (answer = executed)", lat_plain),
                      ("plain, until its slot is sealed", lat_sealed),
                      ("encrypted, until executed", lat_enc)):  # fmt: skip
        ratio = sorted(lat)[len(lat) // 2] / base
        print(f"| {name} | {pct(lat, 0.5)} | {pct(lat, 0.99)} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
