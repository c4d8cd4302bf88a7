"""Which deployment ``xseqd verify`` checks, decided before anything is re-executed.

Order: ``--l1-rpc`` / ``--settlement`` when given; otherwise what the devnet recorded in
its data dir (``endpoints.json``: ``l1.rpc``, ``l1.chainId``, ``l1.settlement``, the same
Settlement its banner printed); scanning the L1 for the first contract that answers like
Settlement only as a last resort, with a warning naming what it picked (on an L1 shared
with an older deployment that is the wrong one). A target that cannot be right (no code
at the address, another chain than recorded, no L1 at all) is a ``TargetError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from xseqd.errors import XseqError
from xseqd.l1.client import L1Client


class TargetError(XseqError):
    """The verifier has nothing it can soundly check (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class Target:
    """The L1 and Settlement to verify, where they came from, and what to warn about."""

    l1_rpc: str
    chain_id: int
    settlement: str
    source: str
    warnings: tuple[str, ...] = ()


def recorded_l1(data_dir: Path) -> tuple[bool, dict[str, Any] | None]:
    """(whether ``data_dir`` has an endpoints.json, its ``l1`` object or None)."""
    path = data_dir / "endpoints.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return False, None
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from None
    if "l1" not in info:
        raise TargetError(f"{path} records no L1 (written by an older xseqd?): restart the devnet")
    return True, info["l1"]


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def resolve_target(
    l1_rpc: str | None,
    settlement: str | None,
    data_dir: Path,
    scan: Callable[[L1Client], str],
) -> Target:
    """Decide what to verify (see the module docstring); ``scan`` finds a Settlement."""
    endpoints = data_dir / "endpoints.json"
    exists, recorded = recorded_l1(data_dir)
    if l1_rpc is None:
        if not exists:
            raise TargetError(
                f"nothing to verify: no {endpoints} (is --data-dir the devnet's?); "
                "pass --data-dir of a devnet, or --l1-rpc URL"
            )
        if recorded is None:
            raise TargetError(f"the devnet in {data_dir} runs without L1 settlement")
        l1_rpc = str(recorded["rpc"])
    client = L1Client(l1_rpc)
    try:
        chain_id = client.chain_id()
        warnings: list[str] = []
        if settlement is not None:
            source = "--settlement"
        elif recorded is not None and _same_url(str(recorded["rpc"]), l1_rpc):
            settlement, source = str(recorded["settlement"]), str(endpoints)
            if int(recorded["chainId"]) != chain_id:
                raise TargetError(
                    f"L1 {l1_rpc} is chain {chain_id}, but the devnet in {data_dir} settled "
                    f"on chain {recorded['chainId']}: not the L1 it printed"
                )
        else:
            try:
                settlement = scan(client)
            except LookupError as exc:
                raise TargetError(f"{exc} ({l1_rpc}); pass --settlement") from None
            source = "a scan of the L1"
            warnings.append(
                f"WARNING: no Settlement given and none recorded for {l1_rpc} in {endpoints}; "
                f"scanned the L1 and picked the first contract that answers like Settlement, "
                f"{settlement}. It may belong to another deployment: pass the address the "
                "devnet printed with --settlement, or its --data-dir."
            )
        if client.call("eth_getCode", settlement, "latest") in ("0x", "0x0"):
            raise TargetError(
                f"no contract at Settlement {settlement} on L1 {l1_rpc} (from {source}): "
                "that deployment is not on this L1 (was its L1 restarted without its state?)"
            )
    except httpx.HTTPError as exc:
        raise TargetError(f"L1 {l1_rpc} does not answer ({exc}): is it running?") from None
    return Target(l1_rpc, chain_id, settlement, source, tuple(warnings))
