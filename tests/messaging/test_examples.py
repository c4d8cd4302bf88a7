"""The examples in examples/ run against a devnet and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xseqd.node import NodeThread

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, base: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--rpc", base],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_examples(devnet: NodeThread) -> None:
    assert devnet.endpoints is not None
    base = devnet.endpoints.base_url
    out = run("bridge_eth.py", base)
    assert "Bob on 902 10001.0000 ETH" in out.splitlines()[-1]
    out = run("bridge_token.py", base)
    lines = out.splitlines()
    assert "Bob on 902 1,000,250 XRT" in lines[-1]
    assert lines[0].rsplit("supply over both", 1)[1] == lines[-1].rsplit("supply over both", 1)[1]
    out = run("cross_call.py", base)
    assert "count=1, lastSource=901" in out
    assert "refused as expected" in out and "-38010" in out
    assert out.splitlines()[-1].endswith("count=1")
