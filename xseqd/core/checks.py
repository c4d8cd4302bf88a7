"""Admission checks for a signed transaction against an account and a block: pure logic.

py-evm reports an invalid transaction as a Python exception with its own wording; wallets
and libraries match on geth's wording instead. ``check_admission`` runs the same checks
first, on plain numbers, and raises ``TxRejected`` with geth's message. It returns which
queue the transaction belongs to: executable now, or a future nonce to hold back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from xseqd.errors import TxRejected


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
