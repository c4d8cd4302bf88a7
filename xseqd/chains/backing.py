"""The rollups' genesis supply that the L1 Portal must hold (pure logic over genesis specs).

Every ETH and XRT a rollup account holds at genesis can be withdrawn to the L1 (the dev
keys are public), so the Portal is funded with all of it when it is deployed
(l1/portal.py, contracts/src/Portal.sol "Genesis backing"):

- ETH: the balance of every genesis account of every rollup, predeploys and the system
  account included, except the Mailbox's reserve. The reserve is not anyone's money: the
  Mailbox pays deposits (already locked in the Portal) and cross-rollup arrivals (locked
  in the source rollup's Mailbox) out of it, so backing it would back that value twice.
- XRT: the reference token's genesis ``totalSupply`` (storage slot 0) on every rollup.
"""

from __future__ import annotations

from dataclasses import dataclass

from xseqd.chains.genesis import RollupSpec
from xseqd.chains.predeploys import MAILBOX, REFERENCE_TOKEN


@dataclass(frozen=True)
class GenesisBacking:
    """Wei of ETH and of XRT the rollups hold at genesis, summed over every rollup."""

    eth: int
    xrt: int


def genesis_backing(specs: list[RollupSpec]) -> GenesisBacking:
    """What the Portal must hold so that all genesis value on ``specs`` is redeemable."""
    eth = xrt = 0
    for spec in specs:
        for address, account in spec.genesis.state.items():
            if address != MAILBOX:
                eth += int(account.get("balance", 0))
        token = spec.genesis.state.get(REFERENCE_TOKEN)
        if token is not None:
            xrt += int(token.get("storage", {}).get(0, 0))
    return GenesisBacking(eth, xrt)
