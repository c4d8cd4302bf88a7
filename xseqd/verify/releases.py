"""``xseqd verify --keyper URL``: fetch the keypers' published releases
(``keyper_releases``, xseqd/keyper.py) and name, from them and the committed order on L1
(core/releases.py), every commit the sequencer could read and did not reveal in time.

The keyset is asked of the keypers (``keyper_info``) and must be the one the commits'
ciphertexts name; the sequencer's address is the Settlement contract's. A keyper that
does not answer is reported and skipped: the others may still hold t releases. Releases
are fetched a page (``PAGE``) at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from xseqd.core.encrypted import PAGE
from xseqd.core.releases import Release, ReleaseWatch, Withheld
from xseqd.core.threshold import Keyset

TIMEOUT = 5.0


@dataclass
class Published:
    """What the keypers published: their releases, their keyset, who did not answer."""

    releases: list[Release] = field(default_factory=list)
    keyset: Keyset | None = None
    problems: list[str] = field(default_factory=list)


def _call(url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = httpx.post(url, json=body, timeout=TIMEOUT).json()
    if "error" in reply:
        raise ValueError(str(reply["error"].get("message")))
    return reply["result"]


def _pages(url: str) -> list[Any]:
    """Every release record the keyper at ``url`` published, a page at a time
    (``keyper_releases`` serves at most ``PAGE`` per call)."""
    records: list[Any] = []
    while True:
        page = _call(url, "keyper_releases", [{"after": len(records), "limit": PAGE}])
        if not isinstance(page, list):
            raise ValueError("keyper_releases: not a list")
        records += page
        if len(page) < PAGE:
            return records


def fetch(urls: list[str]) -> Published:
    """Every release each keyper at ``urls`` published."""
    out = Published()
    for url in urls:
        try:
            keyset = Keyset.from_json(_call(url, "keyper_info", [])["keyset"])
            releases = [Release.from_json(r) for r in _pages(url)]
        except Exception as exc:
            out.problems.append(f"keyper {url}: {exc}")
            continue
        if out.keyset is not None and keyset.id != out.keyset.id:
            out.problems.append(f"keyper {url}: another keyset than the first keyper's")
            continue
        out.keyset = keyset
        out.releases.extend(releases)
    return out


def withheld(watch: ReleaseWatch, published: Published, sequencer: str) -> list[Withheld]:
    if published.keyset is None:
        return []
    return watch.findings(published.releases, published.keyset, sequencer)
