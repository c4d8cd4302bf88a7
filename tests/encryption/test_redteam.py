"""Red-team attacks on encrypted submission over the real RPC, with real keyper
processes (2 of 3):

- a bundle sealed with a maxSlot its reveal cannot meet is voided as ``expired``: its
  decryption shares are never released nor posted, so its signed transactions (still
  valid: their nonces are unused) stay sealed instead of becoming public;
- a transaction signed for one rollup is refused on another's endpoint (a revealed leg,
  now public, cannot be replayed on a rollup it was not signed for).
"""

from __future__ import annotations

from tests.encryption.support import client, nonce, rollup, rpc, transfer
from xseqd.accounts import dev_accounts
from xseqd.core.encrypted import VOID_OPENING, split_payload
from xseqd.core.refusals import certificate_fault
from xseqd.node import NodeThread

KEYS = dev_accounts(20)


def test_an_expired_bundle_is_voided_and_its_content_never_released(
    sealed_devnet: NodeThread,
) -> None:
    seq = client(sealed_devnet)
    key = KEYS[15]
    raw = transfer(901, key, nonce(sealed_devnet, 901, key))
    for _ in range(20):  # maxSlot = the commit's own slot: no reveal (at M+1 > it) can run
        max_slot = sealed_devnet.node.sequencer.head_slot + 1
        sent = seq.send_encrypted_bundle([raw], max_slot)
        if int(sent["slot"], 16) == max_slot:
            break
    else:
        raise AssertionError("never committed in the slot of its maxSlot")
    done = seq.wait_revealed(sent["bundleHash"])
    assert done["status"] == "aborted" and "expired" in done["abort"]["reason"], done
    item = sealed_devnet.node.sequencer.book.items[bytes.fromhex(sent["bundleHash"][2:])]
    envelope, opening = split_payload(item.payload)  # no shares anywhere: n-t+1 refusals
    assert opening.startswith(VOID_OPENING), opening
    assert certificate_fault(envelope, opening[len(VOID_OPENING) :]) is None
    # the legs were never disclosed: the signed transfer is unknown to the rollup
    w3 = rollup(sealed_devnet, 901)
    assert rpc(w3, "eth_getTransactionByHash", "0x" + item.item_hash.hex())["result"] is None


def test_a_transaction_signed_for_another_rollup_is_refused(sealed_devnet: NodeThread) -> None:
    key = KEYS[16]
    raw = transfer(901, key, nonce(sealed_devnet, 901, key))
    w3 = rollup(sealed_devnet, 902)
    before = nonce(sealed_devnet, 902, key)
    reply = rpc(w3, "eth_sendRawTransaction", "0x" + raw.hex())
    assert "error" in reply and "901" in reply["error"]["message"], reply
    assert nonce(sealed_devnet, 902, key) == before
