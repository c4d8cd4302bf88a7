"""Admission checks: geth's wording, and which queue an admissible transaction joins."""

from __future__ import annotations

import pytest

from xseqd.core.checks import AccountFacts, Admission, BlockFacts, TxFacts, check_admission
from xseqd.errors import TxRejected

BLOCK = BlockFacts(chain_id=901, base_fee=100, gas_limit=30_000_000, gas_left=30_000_000)
ACCOUNT = AccountFacts(nonce=5, balance=10**18)


def tx(**kw: int | None) -> TxFacts:
    base: dict[str, int | None] = dict(
        chain_id=901,
        nonce=5,
        gas=21_000,
        value=1,
        max_fee_per_gas=200,
        max_priority_fee_per_gas=1,
        intrinsic_gas=21_000,
    )
    base.update(kw)
    return TxFacts(**base)  # type: ignore[arg-type]


def test_admissible_now_later_or_next_slot() -> None:
    assert check_admission(tx(), ACCOUNT, BLOCK) is Admission.EXECUTE
    assert check_admission(tx(nonce=9), ACCOUNT, BLOCK) is Admission.QUEUE
    full = BlockFacts(901, 100, 30_000_000, gas_left=20_000)
    assert check_admission(tx(), ACCOUNT, full) is Admission.NEXT_SLOT


@pytest.mark.parametrize(
    ("fields", "wording"),
    [
        ({"nonce": 4}, "nonce too low"),
        ({"value": 10**19}, "insufficient funds for gas * price + value"),
        (
            {"max_fee_per_gas": 99, "max_priority_fee_per_gas": 1},
            "max fee per gas less than block base fee",
        ),
        ({"gas": 20_000}, "intrinsic gas too low"),
        ({"gas": 40_000_000}, "exceeds block gas limit"),
        ({"chain_id": 1}, "invalid chain id for signer"),
        ({"max_priority_fee_per_gas": 300}, "max priority fee per gas higher than max fee per gas"),
    ],
)
def test_rejections_use_geth_wording(fields: dict[str, int], wording: str) -> None:
    with pytest.raises(TxRejected) as info:
        check_admission(tx(**fields), ACCOUNT, BLOCK)
    assert info.value.message.startswith(wording)
    assert info.value.code == -32000


def test_legacy_pre_eip155_has_no_chain_id_and_is_accepted() -> None:
    assert check_admission(tx(chain_id=None), ACCOUNT, BLOCK) is Admission.EXECUTE
