"""Who the decryption round asks (sequencer/collect.py ``first``), with asks that answer
at once and no keyper processes.

Must never happen: the round gives up while a keyper it has not asked yet could complete
it. After a restart, the keypers that released a commit before the crash answer their
shares under that earlier binding; those are good answers but not enough (one share must
be under the round's binding), and the round once ended right there, before the hedge
asked the third keyper; settling then had that keyper refuse for good, and the commit,
with every later one, waited forever (a ~10% flake of the early-ask crash test).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from xseqd.core import threshold
from xseqd.sequencer.collect import HEDGE, ShareCollector


def collector(n: int, t: int) -> ShareCollector:
    keyset, _ = threshold.deal(n, t)
    shares = ShareCollector(SimpleNamespace(keyset=keyset))  # type: ignore[arg-type]
    shares.urls = [f"http://keyper-{i}/" for i in range(1, n + 1)]
    return shares


def test_good_answers_that_are_not_enough_make_the_round_ask_the_rest_at_once() -> None:
    shares = collector(3, 2)
    binding = {shares.urls[0]: "old", shares.urls[1]: "old", shares.urls[2]: "current"}
    asked: list[str] = []

    async def ask(url: str) -> str:
        asked.append(url)
        return binding[url]

    def enough(good: list[Any]) -> bool:
        return len(good) >= 2 and "current" in good

    async def scenario() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        good = await shares.first(ask, enough)
        return good, loop.time() - started

    good, took = asyncio.run(scenario())
    assert sorted(good) == ["current", "old", "old"]
    assert sorted(asked) == sorted(shares.urls)
    assert took < HEDGE  # not after the hedge's delay: at once


def test_the_round_still_stops_when_nobody_is_left_to_ask() -> None:
    shares = collector(3, 2)

    async def ask(url: str) -> str | None:
        return "old"

    good = asyncio.run(shares.first(ask, lambda good: "current" in good))
    assert good == ["old", "old", "old"]
