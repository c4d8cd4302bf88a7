"""Red team 2, finding 4: ``xseq_waitBundle`` waiters are capped (-32005 past
``MAX_WAITERS``) and kept by hash, so while many wait on a sealed bundle, plain traffic
still answers and only that bundle's reveal wakes them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from tests.encryption.support import client, nonce, rollup, transfer, wait_for
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient, SequencerError
from xseqd.config import Settings
from xseqd.node import NodeThread
from xseqd.rpc import wait as wait_module

KEYS = [Account.from_key(a.key) for a in dev_accounts(10)]
WAITERS = 40


def test_waiters_are_capped_and_plain_traffic_flows_while_they_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wait_module, "MAX_WAITERS", WAITERS)
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    pool = ThreadPoolExecutor(WAITERS)
    try:
        assert node.endpoints is not None
        seq, a = client(node), rollup(node, 901)
        keypers = node.node.keypers
        assert keypers is not None
        keypers.stop(1)
        keypers.stop(2)  # the commit stays sealed
        key, plain = KEYS[7], KEYS[8]
        sent = seq.send_encrypted_bundle([transfer(901, key, nonce(node, 901, key))])
        url = node.endpoints.base_url
        waiting = [
            pool.submit(lambda: SequencerClient(url, 90).wait_bundle(sent["bundleHash"], 60))
            for _ in range(WAITERS)
        ]
        waits = node.node.services
        wait_for(
            lambda: waits.bundle_waits is not None and waits.bundle_waits.count == WAITERS,
            f"{WAITERS} waiters",
        )
        with pytest.raises(SequencerError) as refused:
            seq.wait_bundle(sent["bundleHash"], 5)
        assert refused.value.code == -32005 and "retry later" in str(refused.value)
        for _ in range(3):  # plain transfers answer while they wait
            tx = a.eth.send_raw_transaction(transfer(901, plain, nonce(node, 901, plain)))
            assert a.eth.get_transaction_receipt(tx)["status"] == 1
        assert waits.bundle_waits.count == WAITERS and not any(w.done() for w in waiting)
        keypers.start(1)
        keypers.start(2)
        answers = [w.result(timeout=60) for w in waiting]
        assert [x["status"] for x in answers] == ["included"] * WAITERS
        assert waits.bundle_waits.count == 0  # the room is free again
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        node.stop()
