"""Fixtures of the replica tests: one PostgreSQL cluster per session, a fresh database
per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.replicas.pg import PgCluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.new_database()
