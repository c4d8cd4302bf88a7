"""Admission checks for a signed transaction against an account and a block: pure logic.

py-evm reports an invalid transaction as a Python exception with its own wording; wallets
and libraries match on geth's wording instead. ``check_admission`` runs the same checks
first, on plain numbers, and raises ``TxRejected`` with geth's message. It returns which
queue the transaction belongs to: executable now, or a future nonce to hold back.

``refuse_system_account`` and ``refuse_protected_account`` keep cross-rollup deliveries
unforgeable: the system account's key is public (Mailbox.sol names the account), so intake
refuses every submission that would act as it, and cheat methods leave the predeploys and
the system account alone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

import rlp
from eth.abc import SignedTransactionAPI
from eth_keys import keys

from xseqd.chains.predeploys import MAILBOX, REFERENCE_TOKEN, SYSTEM, TOKEN_BRIDGE
from xseqd.errors import ProtectedAccount, SystemAccountRefused, TxRejected


class Admission(enum.Enum):
    """Where an admissible transaction goes."""

    EXECUTE = "execute"
    QUEUE = "queue"
    NEXT_SLOT = "next_slot"


@dataclass(frozen=True)
class TxFacts:
    """The fields of a signed transaction the admission checks look at."""

    chain_id: int | None
    nonce: int
    gas: int
    value: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    intrinsic_gas: int
    blob_cost: int = 0


@dataclass(frozen=True)
class AccountFacts:
    """What the open block knows of the sender."""

    nonce: int
    balance: int


@dataclass(frozen=True)
class BlockFacts:
    """What the open block offers the transaction."""

    chain_id: int
    base_fee: int
    gas_limit: int
    gas_left: int


def check_admission(tx: TxFacts, account: AccountFacts, block: BlockFacts) -> Admission:
    """Decide whether ``tx`` may run now, must wait for a nonce gap, needs a
    fresh block (this one is full), or is rejected.

    Raises ``TxRejected`` with geth's wording when the transaction can never be valid in
    this block as it stands (wrong chain, low nonce, fees, gas, funds).
    """
    if tx.chain_id is not None and tx.chain_id != block.chain_id:
        raise TxRejected(f"invalid chain id for signer: have {tx.chain_id} want {block.chain_id}")
    if tx.nonce < account.nonce:
        raise TxRejected(f"nonce too low: next nonce {account.nonce}, tx nonce {tx.nonce}")
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise TxRejected("max priority fee per gas higher than max fee per gas")
    if tx.gas < tx.intrinsic_gas:
        raise TxRejected(f"intrinsic gas too low: gas {tx.gas}, minimum needed {tx.intrinsic_gas}")
    if tx.gas > block.gas_limit:
        raise TxRejected("exceeds block gas limit")
    if tx.max_fee_per_gas < block.base_fee:
        raise TxRejected(
            "max fee per gas less than block base fee: "
            f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {block.base_fee}"
        )
    if tx.nonce > account.nonce:
        return Admission.QUEUE
    cost = tx.gas * tx.max_fee_per_gas + tx.value + tx.blob_cost
    if account.balance < cost:
        raise TxRejected(
            "insufficient funds for gas * price + value: "
            f"balance {account.balance}, tx cost {cost}, overshot {cost - account.balance}"
        )
    if tx.gas > block.gas_left:
        return Admission.NEXT_SLOT
    return Admission.EXECUTE


# -- the system account and the predeploys --------------------------------------------------

SET_CODE_MAGIC = b"\x05"  # EIP-7702: an authorization signs keccak(0x05 || rlp([...]))
SET_CODE_TX_TYPE = 4
FROM_SYSTEM = "transactions from the system account are refused"
PROTECTED = {
    MAILBOX: "the Mailbox",
    TOKEN_BRIDGE: "the TokenBridge",
    REFERENCE_TOKEN: "the reference token",
    SYSTEM: "the system account",
}


def authorities(tx: SignedTransactionAPI) -> list[bytes]:
    """The accounts an EIP-7702 transaction's authorizations would give code to (those
    whose signature does not recover are skipped, as the EVM skips them)."""
    if getattr(tx, "type_id", None) != SET_CODE_TX_TYPE:
        return []
    out = []
    for auth in tx.authorization_list:
        try:
            message = SET_CODE_MAGIC + rlp.encode([auth.chain_id, auth.address, auth.nonce])
            signature = keys.Signature(vrs=(auth.y_parity, auth.r, auth.s))
            out.append(signature.recover_public_key_from_msg(message).to_canonical_address())
        except Exception:
            continue
    return out


def refuse_system_account(txs: Iterable[tuple[SignedTransactionAPI, bytes | None]]) -> None:
    """Raise ``SystemAccountRefused`` if any of ``txs`` (transaction, sender override of an
    impersonated account or None) would act as the system account: sent as it (signed or
    impersonated), or authorizing code for it. ``data.index`` is the offending position."""
    for index, (tx, sender) in enumerate(txs):
        why = acts_as_system(tx, sender)
        if why is not None:
            raise SystemAccountRefused(why, {"index": index})


def acts_as_system(tx: SignedTransactionAPI, sender: bytes | None) -> str | None:
    """Why ``tx`` (run as ``sender`` when impersonated) would act as the system account, or
    None. The one rule for intake and for the slot transition (core/atomic.py), so that a
    posted item breaking it is an execution fault the verifier names."""
    if SYSTEM in (bytes(tx.sender), sender):
        return FROM_SYSTEM
    if SYSTEM in authorities(tx):
        return "authorizations signed by the system account are refused"
    return None


def refuse_system_sender(account: bytes, message: str = FROM_SYSTEM) -> None:
    """Raise ``SystemAccountRefused`` with ``message`` if ``account`` is the system account
    (eth_sendTransaction from it, impersonating it)."""
    if account == SYSTEM:
        raise SystemAccountRefused(message)


def refuse_protected_account(account: bytes, action: str = "rewrite") -> None:
    """Raise ``ProtectedAccount`` if a cheat method would ``action`` (rewrite,
    impersonate) a predeploy or the system account."""
    name = PROTECTED.get(account)
    if name is not None:
        raise ProtectedAccount(
            f"cheat methods cannot {action} the predeploys or the system account "
            f"({name} at 0x{account.hex()})"
        )
