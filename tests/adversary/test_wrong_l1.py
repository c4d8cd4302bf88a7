"""Adversary rows: a stale L1 left on the port, and a verifier pointed at the wrong
deployment. What must never happen: settling on an L1 xseqd did not start when it was
asked to start one, and a verifier saying OK about slots it never re-executed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from tests.l1.test_lifecycle import send_one, tag_number
from tests.procs import EXE, Devnet, anvil_pids, free_port, kill_leftovers, rpc
from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import genesis_commitment, genesis_description, load_rollups
from xseqd.chains.rollup import Rollup
from xseqd.config import DEFAULT_ROLLUPS_DIR
from xseqd.l1 import settlement
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client


def deploy_settlement(client: L1Client, key: Any, window: int) -> str:
    """An older devnet's Settlement (same default genesis, another operator)."""
    addresses = [bytes.fromhex(a.address[2:]) for a in dev_accounts(10)]
    specs = load_rollups(DEFAULT_ROLLUPS_DIR, addresses)
    ids = [s.chain_id for s in specs]
    genesis = genesis_commitment(ids, [Rollup(s).blocks[0].hash for s in specs])
    description = genesis_description(specs, addresses)
    return settlement.deploy(client, key, key.address, window, ids, genesis, description)


OLD_OPERATOR = Account.from_key(bytes(dev_accounts(10)[9].key))


@pytest.fixture()
def stale_l1() -> Iterator[Anvil]:
    """An anvil left over by an earlier devnet, already holding a Settlement."""
    anvil = Anvil(free_port(), 900)
    anvil.start()
    try:
        yield anvil
    finally:
        anvil.stop()


def verify(*args: str, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [str(EXE), "verify", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    return done.returncode, done.stdout + done.stderr


def test_never_settles_on_a_stale_l1_left_on_the_port(stale_l1: Anvil, tmp_path: Path) -> None:
    old = deploy_settlement(L1Client(stale_l1.url), OLD_OPERATOR, 5)
    before = rpc(stale_l1.url, "eth_blockNumber")
    stale_pids = set(anvil_pids(stale_l1.port))
    port = free_port()
    devnet = Devnet(
        "--port", str(port), "--l1-port", str(stale_l1.port), "--data-dir", str(tmp_path)
    )
    try:
        assert not devnet.wait_ready(), f"devnet started on the stale L1:\n{devnet.output}"
        assert devnet.wait_exit() == 2, devnet.output
        out = devnet.output
        assert str(stale_l1.port) in out and "--l1-port" in out and "--l1-rpc" in out, out
        assert rpc(stale_l1.url, "eth_blockNumber") == before  # nothing deployed or posted
        assert set(anvil_pids(stale_l1.port)) == stale_pids  # no second anvil left behind
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"http://127.0.0.1:{port}/", json={}, timeout=1)
        # and the verifier, pointed at that L1 alone, does not call the old deployment OK
        code, out = verify("--l1-rpc", stale_l1.url, cwd=tmp_path)
        assert code == 3 and "NOTHING VERIFIED" in out and old in out, out
    finally:
        devnet.stop()
        kill_leftovers(stale_l1.port, keep=stale_pids)


def test_verify_never_checks_another_deployment_than_the_devnet_printed(
    stale_l1: Anvil, tmp_path: Path
) -> None:
    """Two Settlements on one L1 (an old one first): by default verify checks the one the
    devnet printed; scanning picks the old one, says so, and says nothing was verified."""
    old = deploy_settlement(L1Client(stale_l1.url), OLD_OPERATOR, 5)
    port = free_port()
    data = tmp_path / "data"
    devnet = Devnet("--port", str(port), "--l1-rpc", stale_l1.url, "--data-dir", str(data))
    try:
        assert devnet.wait_ready(), devnet.output
        info = rpc(f"http://127.0.0.1:{port}/", "xseq_sequencer")["l1"]
        ours = info["settlement"]
        assert ours != old
        url = f"http://127.0.0.1:{port}/rollup/901"
        slot = send_one(url)
        deadline = time.time() + 10
        while tag_number(url, "safe") < slot:
            assert time.time() < deadline, "slot not posted"
            time.sleep(0.05)
        code, out = verify("--data-dir", str(data), cwd=tmp_path)
        assert code == 0 and f"Settlement {ours}" in out and f"OK: {slot} slots" in out, out
        code, out = verify("--l1-rpc", stale_l1.url, cwd=tmp_path)
        assert code == 3, out
        assert "WARNING" in out and old in out, out
        assert "NOTHING VERIFIED" in out and "0 slots re-executed" in out, out
        code, out = verify("--l1-rpc", stale_l1.url, "--settlement", old, cwd=tmp_path)
        assert code == 3 and "NOTHING VERIFIED" in out and "WARNING" not in out, out
    finally:
        devnet.stop()
