"""The leader lease of replicated xseqd, and the replicas' roll call, in PostgreSQL.

One row holds the lease: who leads, where it takes writes (its URL), until when (the
database's clock, so hosts' clocks do not matter) and a fencing token that goes up by one
at every takeover. A replica takes the lease only once it has expired. The leader renews
it; every write the leader makes to the log first reads the token ``FOR SHARE`` in the
same transaction (``fence``), so a takeover (which updates that row) waits for a write in
flight, and a write after a takeover finds another token and is refused: a deposed leader
that wakes up cannot write. Each replica also reports its head slot in ``replicas``, which
is how ``xseq_sequencer`` tells every replica's lag.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from xseqd.errors import XseqError

SCHEMA = """
CREATE TABLE IF NOT EXISTS lease (
    id INTEGER PRIMARY KEY,
    holder TEXT,
    url TEXT,
    token BIGINT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS replicas (
    id TEXT PRIMARY KEY,
    url TEXT,
    role TEXT NOT NULL,
    head_slot BIGINT NOT NULL,
    token BIGINT,
    seen TIMESTAMPTZ NOT NULL
);
INSERT INTO lease (id, holder, url, token, expires)
VALUES (1, NULL, NULL, 0, '-infinity') ON CONFLICT (id) DO NOTHING;
"""


class Deposed(XseqError):
    """Raised when a replica writes to the log without holding the lease (it was taken
    over, or it never led): nothing was written."""

    code = -38031


@dataclass(frozen=True)
class LeaseView:
    """The lease as the database has it now."""

    holder: str | None
    url: str | None
    token: int
    live: bool


class Lease:
    """One replica's handle on the lease row (``replica_id`` names it)."""

    def __init__(self, engine: Engine, replica_id: str, url: str, ttl: float) -> None:
        self.engine = engine
        self.replica_id = replica_id
        self.url = url
        self.ttl = ttl
        self.token: int | None = None  # set while this replica holds the lease
        self.on_deposed: Callable[[], None] = lambda: None
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(7893361)"))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(text(statement))

    def try_acquire(self) -> bool:
        """Take the lease if it has expired (a new token); whether this replica leads."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE lease SET holder = :me, url = :url, token = token + 1, "
                    "expires = clock_timestamp() + make_interval(secs => :ttl) "
                    "WHERE id = 1 AND expires < clock_timestamp() RETURNING token"
                ),
                {"me": self.replica_id, "url": self.url, "ttl": self.ttl},
            ).first()
        if row is None:
            return False
        self.token = int(row[0])
        return True

    def renew(self) -> None:
        """Extend the lease; raises ``Deposed`` if another replica has taken it."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE lease SET expires = clock_timestamp() + make_interval(secs => :ttl) "
                    "WHERE id = 1 AND holder = :me AND token = :token RETURNING token"
                ),
                {"me": self.replica_id, "token": self.token, "ttl": self.ttl},
            ).first()
        if row is None:
            self._deposed()
            raise Deposed(f"replica {self.replica_id} lost the lease (token {self.token})")

    def release(self) -> None:
        """Let the lease go at once (clean shutdown): a follower takes over without waiting
        for it to expire."""
        if self.token is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE lease SET expires = '-infinity' "
                    "WHERE id = 1 AND holder = :me AND token = :token"
                ),
                {"me": self.replica_id, "token": self.token},
            )
        self.token = None

    def fence(self, conn: Connection) -> None:
        """Run first in each of the leader's write transactions (``SequencerLog.fence``):
        locks the lease row for share until the commit, and refuses the write unless this
        replica's token is still the current one."""
        current = conn.execute(text("SELECT token FROM lease WHERE id = 1 FOR SHARE")).scalar()
        if self.token is None or current != self.token:
            if self.token is not None:
                self._deposed()
            raise Deposed(
                f"replica {self.replica_id} is not the leader (token {self.token}, "
                f"current {current}): nothing written"
            )

    def _deposed(self) -> None:
        self.token = None
        self.on_deposed()

    def view(self) -> LeaseView:
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "SELECT holder, url, token, expires > clock_timestamp() FROM lease WHERE id = 1"
                )
            ).one()
        return LeaseView(row[0], row[1], int(row[2]), bool(row[3]))

    def report(self, role: str, head_slot: int) -> None:
        """This replica's entry in the roll call: role and head slot, seen now."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO replicas (id, url, role, head_slot, token, seen) "
                    "VALUES (:id, :url, :role, :head, :token, clock_timestamp()) "
                    "ON CONFLICT (id) DO UPDATE SET url = :url, role = :role, "
                    "head_slot = :head, token = :token, seen = clock_timestamp()"
                ),
                {
                    "id": self.replica_id,
                    "url": self.url,
                    "role": role,
                    "head": head_slot,
                    "token": self.token,
                },
            )

    def roll_call(self) -> list[dict[str, Any]]:
        """Every replica that has reported: id, url, role, head slot, seconds since seen."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, url, role, head_slot, "
                    "EXTRACT(EPOCH FROM clock_timestamp() - seen) FROM replicas ORDER BY id"
                )
            ).all()
        return [
            {"id": r[0], "url": r[1], "role": r[2], "headSlot": int(r[3]), "seenAgo": float(r[4])}
            for r in rows
        ]


def shared_keys(engine: Engine, make: Callable[[], bytes]) -> tuple[bytes, bytes]:
    """The sequencer and verifier keys every replica uses, kept in the shared log's meta
    table: the first replica to ask makes them, the others read them."""
    fresh = json.dumps({"sequencer": make().hex(), "verifier": make().hex()})
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('keys', :v) ON CONFLICT (key) DO NOTHING"),
            {"v": fresh},
        )
        stored = json.loads(
            conn.execute(text("SELECT value FROM meta WHERE key = 'keys'")).one()[0]
        )
    return bytes.fromhex(stored["sequencer"]), bytes.fromhex(stored["verifier"])


def default_replica_id(port: int) -> str:
    """``<hostname>:<port>``, or with a random suffix when the port is picked at start."""
    suffix = str(port) if port else secrets.token_hex(3)
    return f"{socket.gethostname()}:{suffix}"
