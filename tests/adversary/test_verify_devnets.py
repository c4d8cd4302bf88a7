"""`xseqd verify`, run as a user runs it (a subprocess reading the devnet's data dir), on
honest devnets that differ from the default: 3 dev accounts, and 3 rollups (a 903 added
to the rollups dir) with messages toward the third. Must never happen: an honest slot
reported bad because the verifier assumed the default genesis, or an OK that does not
say how many slots it re-executed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from tests.adversary.support import MAILBOX, rollup, sequencer, settled_devnet
from tests.conftest import artifact
from tests.l1.test_settlement import sign, wait_posted
from tests.procs import EXE
from xseqd.accounts import dev_accounts
from xseqd.config import DEFAULT_ROLLUPS_DIR
from xseqd.l1.anvil import Anvil

BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b03")


def three_rollups(tmp_path: Path) -> Path:
    where = tmp_path / "rollups"
    where.mkdir()
    for toml in DEFAULT_ROLLUPS_DIR.glob("*.toml"):
        shutil.copy(toml, where)
    (where / "903.toml").write_text('name = "gamma"\nchain_id = 903\ngas_limit = 30000000\n')
    return where


def send_message(w3: Web3, key: Any, destination: int, value: int) -> None:
    """ETH to BOB on ``destination`` through the Mailbox, in the same slot."""
    mailbox = w3.eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"])
    tx = mailbox.functions.send(destination, BOB, b"").build_transaction(
        {
            "from": key.address,
            "value": value,
            "gas": 500_000,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
        }
    )
    signed = Account.sign_transaction(tx, key.key)
    assert (
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        ).status
        == 1
    )


@pytest.mark.parametrize("devnet", ["accounts-3", "rollups-3"])
def test_verify_never_reports_an_honest_devnet_bad(l1: Anvil, tmp_path: Path, devnet: str) -> None:
    data_dir = tmp_path / "data"
    if devnet == "accounts-3":
        options: dict[str, Any] = {"accounts": 3}
        chains, keys = [901, 902], dev_accounts(3)
    else:
        options = {"rollups_dir": three_rollups(tmp_path)}
        chains, keys = [901, 902, 903], dev_accounts(10)[7:]
    with settled_devnet(l1.url, data_dir=data_dir, db="", **options) as node:
        assert sorted(node.node.sequencer.rollups) == chains
        last = keys[-1]  # the last funded account (account 2 of 3; account 9 of 10)
        for cid in chains:
            rollup(node, cid).eth.send_raw_transaction(sign(cid, last, 0))
        # a cross-rollup bundle and messages toward the last rollup
        seq = sequencer(node)
        bundle = seq.send_bundle([sign(chains[0], keys[0], 0), sign(chains[-1], keys[0], 0)])
        assert bundle["status"] == "included"
        send_message(rollup(node, chains[0]), keys[1], chains[-1], 10**17)
        send_message(rollup(node, chains[-1]), keys[1], chains[0], 10**16)
        wait_posted(node)
        head = node.node.sequencer.head_slot
        done = subprocess.run(
            [str(EXE), "verify", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK: {head} slots re-executed" in done.stdout, done.stdout
