"""Benchmark: an encrypted 2-leg bundle vs the same plain bundle, submission to executed.

  plain           xseq_sendBundle (one leg on 901, one on 902), instant mode: the answer
                  says `included`, so latency = time to the answer
  plain, sealed   the same, until the bundle's slot is sealed (xseq_slotNumber polled)
  encrypted       xseq_sendEncryptedBundle, then xseq_getBundle polled until `included`:
                  the commit's slot is sealed, the keypers (separate processes) release
                  their shares against the signed seal, the reveal runs at the top of the
                  next slot. Encryption (client side) is outside the timed span.

xseqd runs as a subprocess with the default 3-of-5 keypers and its durable log in a temp
dir, as a user runs it. Usage: .venv/bin/python bench/encryption.py [--n 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, free_port, pct, sign_for, start_xseqd  # noqa: E402
from xseqd.client import encrypt_bundle  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    n = args.n
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        proc = start_xseqd(port, ("--data-dir", data))
        try:
            root = Rpc(f"http://127.0.0.1:{port}/")
            key_info = root("xseq_encryptionKey")
            lat_plain, lat_sealed, lat_enc = [], [], []
            for i in range(n):
                legs = [sign_for(901, KEYS[1], 2 * i, SINK, value=1),
                        sign_for(902, KEYS[2], 2 * i, SINK, value=1)]  # fmt: skip
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
                t0 = time.perf_counter()
                sent = root("xseq_sendEncryptedBundle", {"ciphertext": envelope})
                while (found := root("xseq_getBundle", sent["bundleHash"]))["status"] == "sealed":
                    pass
                lat_enc.append(time.perf_counter() - t0)
                assert found["status"] == "included", found
        finally:
            proc.terminate()
            proc.wait()
    base = sorted(lat_plain)[len(lat_plain) // 2]
    print(f"{n} two-leg bundles each, sequential, 3-of-5 keypers, durable log (ms)")
    print("| path | p50 | p99 | p50 / plain p50 |")
    print("|---|---|---|---|")
    for name, lat in (("plain (answer = executed)", lat_plain),
                      ("plain, until its slot is sealed", lat_sealed),
                      ("encrypted, until executed", lat_enc)):  # fmt: skip
        ratio = sorted(lat)[len(lat) // 2] / base
        print(f"| {name} | {pct(lat, 0.5)} | {pct(lat, 0.99)} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
