"""Log filter criteria and matching (pure logic), shared by eth_getLogs, filters and
``eth_subscribe("logs")``."""

from __future__ import annotations

from dataclasses import dataclass

from eth_bloom import BloomFilter

# Each position: None (any), or a tuple of accepted 32-byte topics.
TopicFilter = tuple[tuple[bytes, ...] | None, ...]


@dataclass(frozen=True)
class LogCriteria:
    """Which logs a filter selects (block range is handled by the caller)."""

    addresses: tuple[bytes, ...] = ()
    topics: TopicFilter = ()

    def matches(self, address: bytes, topics: list[bytes]) -> bool:
        if self.addresses and address not in self.addresses:
            return False
        if len(self.topics) > len(topics):
            return False
        for wanted, topic in zip(self.topics, topics):
            if wanted is not None and topic not in wanted:
                return False
        return True

    def may_match_bloom(self, bloom: int) -> bool:
        """False only when the block's bloom proves no log can match."""
        filt = BloomFilter(bloom)
        if self.addresses and not any(a in filt for a in self.addresses):
            return False
        for wanted in self.topics:
            if wanted is not None and not any(t in filt for t in wanted):
                return False
        return True
