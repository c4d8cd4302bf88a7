"""The L1 Portal from Python: deploy or find it, read its deposits, claim withdrawals, and
the watcher that feeds deposits to the sequencer.

One Portal per Settlement, deployed by the sequencer (the contract refuses anyone else);
its ``Opened`` event names the Settlement, so the node and the verifier find it from the
L1 alone. ``DepositWatcher`` polls the Portal's ``Deposited`` logs (up to ``confirmations``
blocks behind the L1 head) and hands every deposit the rollups have not applied yet, in
L1 order, to the sequencer (sequencer/deposits.py). What is applied is read back from the
rollups' state each time (``Mailbox.inboxCount[900]``), so a restart of xseqd, a rewind
or an L1 that restarted never applies a deposit twice and never forgets one.

The Portal is deployed holding the rollups' genesis ETH and XRT (chains/backing.py): the
deployer tops itself up with ``anvil_setBalance`` on the devnet's anvil (another L1 must
have funded it).

The Portal fixes the deposit inclusion window (``inclusionWindow``, L1 blocks, from
``--deposit-window`` when it is deployed): the verifier reads it from here, never from a
flag. ``DepositWatcher.censor`` (DEV ONLY, ``--fault censor-deposits``) makes the watcher
stop including deposits while the sequencer goes on sealing and posting slots.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from xseqd.abi import artifact, calldata, event_topic
from xseqd.chains.backing import GenesisBacking
from xseqd.core.deposits import Deposit
from xseqd.core.items import ItemKind
from xseqd.errors import XseqError
from xseqd.l1.client import L1Client

if TYPE_CHECKING:
    from xseqd.core.transition import Slot

log = logging.getLogger("xseqd.l1")

OPENED = "0x" + event_topic("Portal", "Opened").hex()
DEPOSITED = "0x" + event_topic("Portal", "Deposited").hex()
MAX_LOG_RANGE = 5_000  # L1 blocks per eth_getLogs
NO_BACKING = GenesisBacking(0, 0)
DEPLOY_GAS_MONEY = 10**18  # wei the deployer keeps for gas on top of the backing it sends


DEFAULT_WINDOW = 10  # L1 blocks (--deposit-window)


def deploy_portal(
    client: L1Client,
    key: LocalAccount,
    settlement: str,
    holders: list[str],
    window: int = DEFAULT_WINDOW,
    backing: GenesisBacking = NO_BACKING,
) -> str:
    """Deploy the Portal of ``settlement`` (from its sequencer's key), with its L1 reference
    token (1,000,000 XRT to each of ``holders``), deposit inclusion window ``window`` (L1
    blocks) and the rollups' genesis supply ``backing`` (ETH sent with the deployment, XRT
    minted to the Portal); returns its address."""
    fund_deployer(client, key.address, backing.eth)
    code = bytes.fromhex(artifact("Portal")["bytecode"][2:])
    args = encode(
        ["address", "address[]", "uint256", "uint256"], [settlement, holders, window, backing.xrt]
    )
    receipt = client.send(key, None, code + args, gas=6_000_000, value=backing.eth)
    return str(to_checksum_address(receipt["contractAddress"]))


def fund_deployer(client: L1Client, deployer: str, eth: int) -> None:
    """Make sure ``deployer`` can send the genesis ETH backing (plus gas): on the devnet's
    anvil it tops itself up with ``anvil_setBalance``; an L1 that refuses that method (not
    anvil) must have funded the deployer beforehand, else this raises a clear error."""
    have = int(client.call("eth_getBalance", deployer, "latest"), 16)
    if have >= eth + DEPLOY_GAS_MONEY or eth == 0:
        return
    need = have + eth + DEPLOY_GAS_MONEY  # keeps what it had for posting
    if need >= 2**256:
        raise XseqError(f"the rollups' genesis ETH ({eth} wei) cannot be backed on an L1")
    try:
        client.call("anvil_setBalance", deployer, hex(need))
    except XseqError as exc:
        raise XseqError(
            f"the L1 Portal must be funded with the rollups' genesis ETH ({eth} wei) and "
            f"{deployer} holds {have} wei; the L1 refused anvil_setBalance ({exc}): fund "
            "that account on the L1 first, or use anvil as the L1"
        ) from exc


def find_portal(client: L1Client, settlement: str) -> str | None:
    """The Portal ``settlement``'s sequencer deployed: the first ``Opened`` naming it that
    was emitted by a contract the sequencer created in that transaction. Anyone can emit an
    ``Opened`` naming a (predictable) Settlement address from their own contract; such a
    log is not the Portal."""
    (sequencer,) = decode(
        ["address"], client.eth_call(settlement, calldata("Settlement", "sequencer"))
    )
    for entry in _opened_logs(client, settlement):
        receipt = client.call("eth_getTransactionReceipt", entry["transactionHash"])
        created = (receipt or {}).get("contractAddress") or ""
        sender = (receipt or {}).get("from") or ""
        if created.lower() == entry["address"].lower() and sender.lower() == sequencer.lower():
            return str(to_checksum_address(entry["address"]))
    return None


def _opened_logs(client: L1Client, settlement: str) -> list[dict[str, Any]]:
    logs: list[dict[str, Any]] = client.call(
        "eth_getLogs",
        {
            "fromBlock": "0x0",
            "toBlock": "latest",
            "topics": [OPENED, "0x" + bytes.fromhex(settlement[2:]).rjust(32, b"\0").hex()],
        },
    )
    return logs


def portal_for(
    client: L1Client,
    key: LocalAccount,
    settlement: str,
    holders: list[str],
    window: int = DEFAULT_WINDOW,
    backing: GenesisBacking = NO_BACKING,
) -> str:
    """The Portal of ``settlement``: found on L1 (with the window and backing it was
    deployed with), else deployed now with ``window`` and ``backing``."""
    found = find_portal(client, settlement)
    return found or deploy_portal(client, key, settlement, holders, window, backing)


def portal_window(client: L1Client, portal: str) -> int:
    """The Portal's deposit inclusion window in L1 blocks (fixed at its deployment)."""
    (window,) = decode(["uint256"], client.eth_call(portal, calldata("Portal", "inclusionWindow")))
    return int(window)


def portal_token(client: L1Client, portal: str) -> str:
    """The Portal's L1 reference token (XRT)."""
    (address,) = decode(["address"], client.eth_call(portal, calldata("Portal", "token")))
    return str(to_checksum_address(address))


def deposit_of(entry: dict[str, Any]) -> Deposit:
    """A ``Deposited`` log (as eth_getLogs returns it) as a deposit."""
    topics = [bytes.fromhex(t[2:]) for t in entry["topics"]]
    target, value, nonce, data, _id = decode(
        ["address", "uint256", "uint256", "bytes", "bytes32"], bytes.fromhex(entry["data"][2:])
    )
    return Deposit(
        index=int.from_bytes(topics[1], "big"),
        chain_id=int.from_bytes(topics[2], "big"),
        nonce=int(nonce),
        sender=topics[3][12:],
        target=bytes.fromhex(target[2:]),
        value=int(value),
        data=bytes(data),
        l1_tx_hash=bytes.fromhex(entry["transactionHash"][2:]),
        log_index=int(entry["logIndex"], 16),
        l1_block=int(entry["blockNumber"], 16),
    )


def read_deposits(client: L1Client, portal: str, first: int, last: int) -> list[Deposit]:
    """The Portal's deposits in L1 blocks ``first..last``, in L1 order."""
    out: list[Deposit] = []
    start = first
    while start <= last:
        end = min(last, start + MAX_LOG_RANGE - 1)
        logs = client.call(
            "eth_getLogs",
            {
                "address": portal,
                "fromBlock": hex(start),
                "toBlock": hex(end),
                "topics": [DEPOSITED],
            },
        )
        out.extend(deposit_of(entry) for entry in logs if not entry.get("removed"))
        start = end + 1
    return sorted(out, key=lambda d: d.index)


def deposit_calldata(chain_id: int, target: str, data: bytes = b"") -> bytes:
    """Calldata of ``Portal.depositETH(chainId, target, data)`` (send the value with it)."""
    return calldata("Portal", "depositETH", chain_id, target, data)


def token_deposit_calldata(chain_id: int, to: str, amount: int) -> bytes:
    """Calldata of ``Portal.depositERC20(chainId, to, amount)`` (approve the Portal first)."""
    return calldata("Portal", "depositERC20", chain_id, to, amount)


Include = Callable[[list[Deposit]], int]  # applies deposits in order; how many it applied
Applied = Callable[[int], int]  # rollup chain id -> deposits it has applied (its nonce)


@dataclass
class DepositWatcher:
    """Polls the Portal and hands new deposits, in L1 order, to ``include`` (called on the
    event loop thread, between submissions)."""

    client: L1Client
    portal: str
    include: Include
    applied: Applied
    confirmations: int = 0
    interval: float = 0.2
    known: dict[int, Deposit] = field(default_factory=dict)  # by index
    scanned: int = -1  # last L1 block read
    last_error: str | None = None
    censor: bool = False  # DEV ONLY (--fault censor-deposits): include nothing
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def fetch(self) -> None:
        """Read deposits up to ``confirmations`` blocks behind the head (worker thread).
        An L1 whose head went back (restarted) is read again from block 0."""
        head = self.client.block_number()
        if head < self.scanned:
            log.warning("the L1 went back to block %d: reading its deposits again", head)
            self.known.clear()
            self.scanned = -1
        upto = head - self.confirmations
        if upto <= self.scanned:
            return
        for d in read_deposits(self.client, self.portal, self.scanned + 1, upto):
            self.known[d.index] = d
        self.scanned = upto

    def due(self) -> list[Deposit]:
        """Deposits not applied yet, in index order, up to the first one not seen."""
        applied: dict[int, int] = {}
        out = []
        for index in sorted(self.known):
            d = self.known[index]
            if d.chain_id not in applied:
                applied[d.chain_id] = self.applied(d.chain_id)
            if d.nonce >= applied[d.chain_id]:
                out.append(d)
        if out:
            first = out[0].index
            out = [d for i, d in enumerate(out) if d.index == first + i]
        return out

    async def poll(self) -> int:
        """One round: read L1, include what is due; how many deposits were included."""
        await asyncio.to_thread(self.fetch)
        due = [] if self.censor else self.due()
        return self.include(due) if due else 0

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # L1 down or restarting: try again
                if self.last_error != str(exc):
                    log.warning("reading L1 deposits failed: %s", exc)
                self.last_error = str(exc)
            await asyncio.sleep(self.interval)


def lost_deposit(client: L1Client, portal: str, slots: Sequence[Slot], first: int) -> bool:
    """Whether one of the sealed ``slots`` from ``first`` on applied a deposit the Portal
    no longer has (``Portal.depositIds(index)`` is not its id): the L1 went back before it."""
    for s in slots:
        if s.number < first:
            continue
        for item in s.items:
            if item.kind is not ItemKind.DEPOSIT:
                continue
            d = Deposit.decode(item.payload)
            known = client.eth_call(portal, calldata("Portal", "depositIds", d.index))
            if known != d.message_id:
                return True
    return False
