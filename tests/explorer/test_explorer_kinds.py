"""Deposits and encrypted items in the explorer, in a real headless Chromium, against one
devnet that settles on a real anvil (with its Portal) and runs real keyper processes
(2 of 2):

- an ETH deposit and an ERC-20 deposit made on the L1 Portal show as "L1 deposit" with the
  L1 tx hash and log index, depositor, rollup, recipient, value / token, and link to the
  rollup's system transaction (which links back); search by the L1 tx hash finds it; the
  home page's L1 card names the Portal;
- an encrypted bundle sent while the keypers are down stays sealed: the slot and item pages
  say "encrypted (sealed)" with its ciphertext hash and size, and nothing of its content
  (leg hash, raw transaction, recipient) is in any answer of the explorer's methods nor in
  the rendered pages; once the keypers are back its reveal shows "encrypted (revealed)"
  with its legs, commit <-> reveal links, and an aborted reveal shows its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_hash.auto import keccak

from tests.encryption.support import client, nonce, transfer
from tests.encryption.support import wait_for as wait_until
from tests.explorer.cdp import Browser
from tests.explorer.test_explorer_browser import ROOT, check_shot, text
from tests.l1.bridge import (
    DEPOSITOR,
    ETH,
    bridged_devnet,
    deposit,
    fresh,
    l1_web3,
    portal,
    rollup,
    send_l1,
    wait_for,
)
from tests.l1.test_settlement import free_port
from xseqd.abi import artifact
from xseqd.accounts import dev_accounts
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread

KEYS = dev_accounts(10)
REFERENCE_TOKEN = "0x4200000000000000000000000000000000000025"


@pytest.fixture(scope="module")
def devnet() -> Iterator[tuple[NodeThread, Anvil]]:
    anvil = Anvil(free_port(), 900)
    anvil.start()
    try:
        with bridged_devnet(anvil.url, keypers=2, keyper_threshold=2) as node:
            yield node, anvil
    finally:
        anvil.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("XSEQD_ARTIFACTS"):
        return ROOT / "artifacts" / "explorer"
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


def base_of(node: NodeThread) -> str:
    assert node.endpoints is not None
    return node.endpoints.base_url


def call(base: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = httpx.post(base, json=body, timeout=30).json()
    assert "error" not in answer, answer
    return answer["result"]


def deposit_items(node: NodeThread, l1_tx: str) -> list[dict[str, Any]]:
    """The deposit items (as xseq_slotItems shows them) that came from ``l1_tx``."""
    base = base_of(node)
    found = []
    for number in range(node.node.sequencer.head_slot + 1):
        for it in call(base, "xseq_slotItems", hex(number)) or []:
            if it["kind"] == "deposit" and it["deposit"]["l1TxHash"] == l1_tx:
                found.append(it)
    return found


def test_deposits_show_with_their_l1_origin_and_system_transaction(
    devnet: tuple[NodeThread, Anvil], browser: Browser, shots: Path
) -> None:
    node, anvil = devnet
    base = base_of(node)
    l1 = l1_web3(anvil.url)
    p = portal(l1, node)
    # home: the L1 card names the Portal
    browser.goto(f"{base}/explorer")
    card = browser.wait_for("document.querySelector('[data-test=l1-portal]')?.innerText")
    assert p.address.lower() in card.lower()

    # an ETH deposit to a fresh address on 901
    ivy = fresh("explorer ivy")
    receipt = deposit(l1, p, DEPOSITOR, 901, ivy.address, ETH // 4)
    l1_tx = receipt.transactionHash.to_0x_hex()
    wait_for(lambda: rollup(node, 901).eth.get_balance(ivy.address) == ETH // 4, "the deposit")
    (item,) = deposit_items(node, l1_tx)
    slot = int(item["slot"], 16)
    route = f"#/slot/{slot}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    card = browser.wait_for(
        "document.querySelector('[data-test=item][data-kind=deposit]')?.innerText"
    )
    assert "L1 deposit" in card and l1_tx in card
    assert DEPOSITOR.address.lower() in card.lower() and "0.25 ETH" in card
    log_index = browser.eval("document.querySelector('[data-test=log-index]').innerText")
    assert log_index == str(receipt.logs[0].logIndex)
    recipient = browser.eval("document.querySelector('[data-test=recipient] a').href")
    assert recipient.endswith(f"#/address/901/{ivy.address.lower()}")
    check_shot(browser.screenshot(shots / "deposit-slot.png", full_page=True), 1280)

    # -> the system transaction on 901, which names the deposit it applied, and back
    browser.click("[data-test=item][data-kind=deposit] a[data-test=system-tx-link]")
    browser.wait_route(f"#/tx/{item['txHash']}")
    tx_text = browser.wait_for(
        "document.querySelector('a[data-test=deposit-link]') && "
        + "document.getElementById('view').innerText"
    )
    assert "applies" in tx_text and "success" in tx_text and str(log_index) in tx_text
    browser.click("a[data-test=deposit-link]")
    browser.wait_route(f"#/bundle/{item['bundleHash']}")
    page = browser.wait_for(
        "document.querySelector('[data-test=deposit]') && "
        + "document.getElementById('view').innerText"
    )
    assert "L1 deposit" in page and l1_tx in page and item["txHash"][:8] in page

    # search by the L1 transaction hash, typed into the box, finds the deposit item
    assert call(base, "xseq_search", l1_tx)["hash"] == item["bundleHash"]
    browser.goto(f"{base}/explorer#/")
    browser.wait_route("#/")
    browser.type_text("#search", l1_tx)
    browser.press_enter()
    browser.wait_route(f"#/bundle/{item['bundleHash']}")

    # an ERC-20 deposit (approve, depositERC20) shows the token, its sender and recipient
    gus = fresh("explorer gus")
    xrt = l1.eth.contract(
        address=p.functions.token().call(), abi=artifact("ReferenceXToken")["abi"]
    )
    approve = xrt.functions.approve(p.address, 7 * ETH)._encode_transaction_data()
    assert send_l1(l1, DEPOSITOR, xrt.address, bytes.fromhex(approve[2:])).status == 1
    data = p.functions.depositERC20(902, gus.address, 7 * ETH)._encode_transaction_data()
    token_receipt = send_l1(l1, DEPOSITOR, p.address, bytes.fromhex(data[2:]))
    assert token_receipt.status == 1
    token_tx = token_receipt.transactionHash.to_0x_hex()
    wait_for(lambda: len(deposit_items(node, token_tx)) == 1, "the token deposit")
    (token_item,) = deposit_items(node, token_tx)
    token = token_item["deposit"]["token"]
    assert token["to"].lower() == gus.address.lower() and int(token["amount"], 16) == 7 * ETH
    route = f"#/bundle/{token_item['bundleHash']}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    shown = browser.wait_for("document.querySelector('[data-test=token]')?.innerText")
    assert shown.startswith("7 of") and REFERENCE_TOKEN[-4:] in shown.lower()
    box = text(browser)
    assert DEPOSITOR.address.lower() in box.lower() and gus.address.lower()[:8] in box.lower()

    # at phone width the deposit's long hashes wrap: no sideways scroll
    browser.viewport(390, 844, mobile=True)
    try:
        for route in ("#/", f"#/slot/{slot}", f"#/bundle/{token_item['bundleHash']}"):
            browser.goto(f"{base}/explorer{route}")
            browser.wait_route(route)
            overflow = browser.eval(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{route}: {overflow}px of horizontal scroll at phone width"
        check_shot(browser.screenshot(shots / "phone-deposit.png"), 390)
    finally:
        browser.viewport(1280, 900)


def reveal_card(browser: Browser, item_hash: str) -> str:
    """The text of ``item_hash``'s reveal card on the slot page on screen."""
    return str(
        browser.wait_for(
            "[...document.querySelectorAll('[data-test=item][data-phase=reveal]')]"
            f".find(e => e.innerText.includes('{item_hash[:8]}'))?.innerText"
        )
    )


def explorer_answers(base: str, head: int, chain_id: int, addresses: list[str]) -> str:
    """Everything the explorer's read methods say about the devnet, as one text."""
    answers: list[Any] = [call(base, "xseq_recentSlots", {"count": 100})]
    answers += [call(base, "xseq_slotItems", hex(n)) for n in range(head + 1)]
    for a in addresses:
        answers.append(call(base, "xseq_addressActivity", {"chainId": chain_id, "address": a}))
        answers.append(call(base, "xseq_search", a))
    return json.dumps(answers).lower()


def test_an_encrypted_item_shows_nothing_until_revealed_then_links_commit_and_reveal(
    devnet: tuple[NodeThread, Anvil], browser: Browser, shots: Path
) -> None:
    node, _ = devnet
    base, seq = base_of(node), client(node)
    keypers = node.node.keypers
    assert keypers is not None
    sender, dest = KEYS[6], fresh("explorer sealed recipient")
    raw = transfer(902, sender, nonce(node, 902, sender), 777_777, dest.address)
    leg_hash = "0x" + keccak(raw).hex()
    broke = fresh("explorer broke")  # no funds on 902: its reveal aborts
    broke_raw = transfer(902, broke, 0, 1)
    keypers.stop_all()  # nobody can decrypt: the items stay sealed
    try:
        envelope = seq.encrypt_bundle([raw])
        sent = call(base, "xseq_sendEncryptedBundle", {"ciphertext": "0x" + envelope.hex()})
        failing = seq.send_encrypted_bundle([broke_raw])
        commit_slot = int(sent["slot"], 16)
        wait_until(lambda: node.node.sequencer.head_slot >= int(failing["slot"], 16), "seals")
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"

        # -- before the reveal: nothing of the content anywhere in the explorer ------------
        head = node.node.sequencer.head_slot
        said = explorer_answers(base, head, 902, [sender.address, dest.address])
        secrets = [leg_hash[2:], raw.hex(), dest.address.lower()[2:]]
        for secret in secrets[:2]:
            assert secret not in said
        activity = call(base, "xseq_addressActivity", {"chainId": 902, "address": dest.address})
        assert activity["transactions"] == [] and activity["balance"] == "0x0"
        mine = call(base, "xseq_addressActivity", {"chainId": 902, "address": sender.address})
        assert leg_hash not in json.dumps(mine)
        assert call(base, "xseq_getTransaction", leg_hash) is None
        assert call(base, "xseq_search", leg_hash) is None
        assert call(base, "xseq_getTransaction", sent["bundleHash"]) is None
        found = call(base, "xseq_search", sent["bundleHash"])
        assert found == {"kind": "bundle", "hash": sent["bundleHash"], "itemKind": "encrypted"}
        (commit,) = [
            it
            for it in call(base, "xseq_slotItems", sent["slot"])
            if it["bundleHash"] == sent["bundleHash"]
        ]
        assert commit["status"] == "sealed" and commit["legs"] == [] and "abort" not in commit
        assert commit["encrypted"]["ciphertextSize"] == len(envelope)
        assert commit["encrypted"]["reveal"] is None

        route = f"#/slot/{commit_slot}"
        browser.goto(f"{base}/explorer{route}")
        browser.wait_route(route)
        card = browser.wait_for(
            "document.querySelector('[data-test=item][data-phase=commit]')?.innerText"
        )
        assert "encrypted (sealed)" in card and sent["bundleHash"] in card
        assert f"{len(envelope):,} bytes" in card and "not revealed yet" in card
        html = str(browser.eval("document.documentElement.outerHTML")).lower()
        assert not [s for s in secrets[:3] if s in html]
        assert "777,777" not in html
        check_shot(browser.screenshot(shots / "encrypted-sealed.png", full_page=True), 1280)
        route = f"#/bundle/{sent['bundleHash']}"
        browser.goto(f"{base}/explorer{route}")
        browser.wait_route(route)
        page = browser.wait_for(
            "document.querySelector('[data-test=encrypted]') && "
            + "document.getElementById('view').innerText"
        )
        assert "Encrypted item (sealed)" in page and "Legs" not in page
        html = str(browser.eval("document.documentElement.outerHTML")).lower()
        assert not [s for s in secrets[:3] if s in html]
    finally:
        keypers.start_all()

    # -- the reveal: legs, commit <-> reveal links, an aborted one with its reason ---------
    done = seq.wait_revealed(sent["bundleHash"])
    aborted = seq.wait_revealed(failing["bundleHash"])
    assert done["status"] in ("included", "safe", "finalized") and aborted["status"] == "aborted"
    reveal_slot = int(done["executedSlot"], 16)
    route = f"#/slot/{commit_slot}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    browser.wait_for(
        "document.querySelector('[data-phase=commit] a[data-test=reveal-link]') !== null"
    )
    browser.click("[data-test=item][data-phase=commit] a[data-test=reveal-link]")
    browser.wait_route(f"#/slot/{reveal_slot}")
    revealed = reveal_card(browser, sent["bundleHash"])
    assert "encrypted (revealed)" in revealed and leg_hash[:8] in revealed
    assert "included" in revealed and f"committed in slot {commit_slot}" in revealed
    check_shot(browser.screenshot(shots / "encrypted-revealed.png", full_page=True), 1280)
    browser.click("[data-test=item][data-phase=reveal] a[data-test=commit-link]")
    browser.wait_route(f"#/slot/{commit_slot}")
    # the item page: both places, the decrypted legs
    route = f"#/bundle/{sent['bundleHash']}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    page = browser.wait_for(
        "document.querySelector('[data-test=leg]') && "
        + "document.getElementById('view').innerText"
    )
    assert "Encrypted item (revealed)" in page and leg_hash[:8] in page
    assert f"revealed in slot {reveal_slot}" in page
    # the reveal of the broke sender's transfer aborted: its reason, on its reveal's slot
    route = f"#/slot/{int(aborted['executedSlot'], 16)}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    failed = reveal_card(browser, failing["bundleHash"])
    assert "encrypted (revealed)" in failed and "aborted" in failed
    assert "insufficient funds" in failed and broke_raw.hex() not in failed
    # the same probe now sees the legs: it is able to catch what it looked for before
    said = explorer_answers(base, node.node.sequencer.head_slot, 902, [dest.address])
    assert leg_hash[2:] in said
    tx = call(base, "xseq_getTransaction", leg_hash)
    assert tx["included"] and tx["item"]["kind"] == "encrypted"
