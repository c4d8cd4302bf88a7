"""A ciphertext revealed, then rewound away (evm_revert), and sent again (red team 5,
R5-4): the keypers released its shares bound to the old order and release them under no
other, so the resent commit could never be revealed, and every later commit would wait
behind it to keep the sealed order.

Must never happen: the resend accepted (the encrypted lane then stops for every user).
What happens: it is refused with -38004 and a reason; a fresh encryption of the same
transactions, and another user's commit, are revealed as usual.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from tests.encryption.support import client, rollup, transfer
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerError
from xseqd.config import Settings
from xseqd.node import NodeThread

KEYS = [Account.from_key(a.key) for a in dev_accounts(6)]


def test_a_ciphertext_revealed_before_a_rewind_is_refused_when_sent_again() -> None:
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        seq, b = client(node), rollup(node, 902)
        snap = b.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        legs = [transfer(902, KEYS[1], 0, 22)]
        envelope = seq.encrypt_bundle(legs)
        first = seq.call("xseq_sendEncryptedBundle", {"ciphertext": "0x" + envelope.hex()})
        assert seq.wait_revealed(first["bundleHash"])["status"] == "included"
        b.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]
        b.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert seq.get_bundle(first["bundleHash"]) is None  # rewound away
        with pytest.raises(SequencerError) as refused:
            seq.call("xseq_sendEncryptedBundle", {"ciphertext": "0x" + envelope.hex()})
        assert refused.value.code == -38004 and "rewind" in refused.value.message
        assert seq.get_bundle(first["bundleHash"]) is None  # nothing was ordered
        again = seq.send_encrypted_bundle(legs)  # encrypted anew: another ciphertext
        other = seq.send_encrypted_bundle([transfer(902, KEYS[2], 0, 33)])
        for sent in (again, other):
            assert seq.wait_revealed(sent["bundleHash"])["status"] == "included"
        assert b.eth.get_transaction_count(KEYS[1].address) == 1
    finally:
        node.stop()
