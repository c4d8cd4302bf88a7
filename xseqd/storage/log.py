"""The durable sequencer log (SQLAlchemy): every ordered item, every sealed slot, every
queued transaction — written and committed before the submission is acknowledged.

Rollup state itself is not stored: it is a pure function of the genesis and the log, so
``sequencer/recovery.py`` rebuilds it by re-executing the log. Any SQLAlchemy URL works;
``sqlite://`` is the in-memory twin used by tests. SQLite files run in WAL mode with
``synchronous=NORMAL``: a committed row survives a killed process (kill -9), not a power
cut.
PostgreSQL (``postgresql://...``, driver psycopg) is the shared log of replicas
(``storage/lease.py``): there ``fence`` is called at the start of every write
transaction, so that a write commits only while its writer holds the lease.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from xseqd.chains.checkpoint import Checkpoint, split
from xseqd.errors import XseqError

SCHEMA_LOCK = 0x78736571  # PostgreSQL advisory lock held while creating the tables
SCHEMA_VERSION = "3"  # 2: items stored as their canonical entry; slots carry the epoch
# 3: one items row per place in the order (an item hash may be ordered more than once)

metadata = MetaData()

meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))
slots = Table(
    "slots",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("order_root", LargeBinary, nullable=False),
    Column("epoch", BigInteger, nullable=False),
)
items = Table(
    "items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("item_hash", LargeBinary, nullable=False, index=True),
    Column("slot", BigInteger, index=True),
    Column("slot_timestamp", BigInteger),
    Column("idx", Integer),
    Column("status", String(16), nullable=False),
    Column("body", Text, nullable=False),
)
queued = Table(
    "queued",
    metadata,
    Column("tx_hash", LargeBinary, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("sender", LargeBinary, nullable=False),
)


ITEM_VALUES = ("seq", "slot", "slot_timestamp", "idx", "status", "body")

snapshots = Table(  # state parts of snapshots: the last base, then deltas (chains/snapshot.py)
    "snapshots",
    metadata,
    Column("slot", BigInteger, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
snapshot_blocks = Table(  # blocks parts: the blocks sealed up to each snapshot, in order
    "snapshot_blocks",
    metadata,
    Column("slot", BigInteger, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


@dataclass
class ItemRow:
    """An item as stored: where it was ordered, its status, and its JSON body."""

    item_hash: bytes
    slot: int | None
    slot_timestamp: int | None
    idx: int | None
    status: str
    raw_body: dict[str, Any] | str  # as loaded: the JSON text, parsed when first read

    @property
    def body(self) -> dict[str, Any]:
        if isinstance(self.raw_body, str):
            self.raw_body = json.loads(self.raw_body)
        assert isinstance(self.raw_body, dict)
        return self.raw_body


@dataclass
class LogContents:
    """Everything recovery needs, in order."""

    sealed: list[tuple[int, int, bytes, int]] = field(default_factory=list)  # n, ts, root, epoch
    items: list[ItemRow] = field(default_factory=list)  # ordered by (slot, idx); held last
    queued: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # chain, raw, sender
    meta: dict[str, str] = field(default_factory=dict)
    snapshot: tuple[int, bytes] | None = None  # the latest state snapshot: slot, payload
    # what restart loads (chains/snapshot.import_rollups): every snapshot part, in order
    snapshots: list[bytes] = field(default_factory=list)


def make_engine(url: str) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:", "memory"):
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    elif url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 (SQLAlchemy's default for postgresql:// is psycopg2). A transaction left
        # open by a stopped process (SIGSTOP mid-write) would hold the lease row's lock, so
        # the server aborts one idle in it after a while.
        driver_url = "postgresql+psycopg://" + url.split("://", 1)[1]
        engine = create_engine(
            driver_url, connect_args={"options": "-c idle_in_transaction_session_timeout=5000"}
        )
    else:
        engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


class SequencerLog:
    """Append-mostly log of the sequencer's decisions."""

    def __init__(self, url: str) -> None:
        # called with the connection at the start of each write transaction (replicas)
        self.fence: Callable[[Connection], None] | None = None
        self.engine = make_engine(url)
        self._conn = self.engine.connect()
        shared = self.engine.dialect.name == "postgresql"
        if shared:  # replicas may start together: one creates the tables
            self._conn.execute(select(func.pg_advisory_lock(SCHEMA_LOCK)))
        metadata.create_all(self._conn)
        self._conn.commit()
        self._check_schema(url)
        if shared:
            self._conn.execute(select(func.pg_advisory_unlock(SCHEMA_LOCK)))
            self._conn.commit()
        self._seq = self._max_seq()
        # item hashes with a row not yet placed (held bundles): only these can be updated
        held = self._conn.execute(select(items.c.item_hash).where(items.c.slot.is_(None)))
        self._held = {bytes(h) for (h,) in held}
        self._uncommitted = False
        # built once: the statements written for every item and every slot
        self._update_held = (
            update(items)
            .where(items.c.item_hash == bindparam("h"), items.c.slot.is_(None))
            .values({c: bindparam(c) for c in ITEM_VALUES})
        )
        self._insert_item = insert(items)
        self._insert_slot = insert(slots)

    def refresh(self) -> None:
        """Re-read where the log ends (another replica wrote it until now)."""
        self._seq = self._max_seq()
        self._conn.commit()

    def _write(self) -> None:
        """Begin a write: the fence (a replica's lease check) runs in the transaction."""
        if self.fence is not None:
            try:
                self.fence(self._conn)
            except BaseException:
                self._conn.rollback()
                raise

    def close(self) -> None:
        self.commit()
        self._conn.close()
        self.engine.dispose()

    def commit(self) -> None:
        """Commit what ``seal_slot(..., commit=False)`` left pending (nothing otherwise)."""
        if self._uncommitted:
            self._conn.commit()
            self._uncommitted = False

    @property
    def uncommitted(self) -> bool:
        return self._uncommitted

    def _check_schema(self, url: str) -> None:
        """Refuse a log written by another schema version (it would not re-derive)."""
        found = self._conn.execute(select(meta.c.value).where(meta.c.key == "schema")).scalar()
        if found is None:
            used = self._conn.execute(select(items.c.seq).limit(1)).first() is not None
            used = used or self._conn.execute(select(slots.c.number).limit(1)).first() is not None
            if used:
                found = "1"
            else:
                self.set_meta("schema", SCHEMA_VERSION)
                return
        if found != SCHEMA_VERSION:
            self.close()
            raise XseqError(
                f"the sequencer log at {url} has schema {found}, this xseqd writes "
                f"{SCHEMA_VERSION}: start with another --data-dir (or delete it)"
            )

    def _max_seq(self) -> int:
        a = self._conn.execute(select(items.c.seq).order_by(items.c.seq.desc()).limit(1)).scalar()
        b = self._conn.execute(select(queued.c.seq).order_by(queued.c.seq.desc()).limit(1)).scalar()
        return max(a or 0, b or 0)

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # -- writes (each commits before returning) ---------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._write()
        if self.engine.dialect.name == "postgresql":  # replicas starting together: an upsert
            upsert = pg_insert(meta).values(key=key, value=value)
            self._conn.execute(
                upsert.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": value})
            )
        else:
            self._conn.execute(delete(meta).where(meta.c.key == key))
            self._conn.execute(insert(meta).values(key=key, value=value))
        self._conn.commit()

    def save_item(self, row: ItemRow) -> None:
        """Record an item: a new row for each place it is ordered in (the same devnet
        change, or a bundle resubmitted after it aborted, is ordered again under the same
        hash), while a row not yet placed (held) is updated when the item is placed,
        cancelled, expires or is held again. Either way the row moves to the end of the
        log order, where the sequencer puts a bundle it holds (restart holds them in
        log order)."""
        self._write()
        values = {
            "seq": self._next(),
            "slot": row.slot,
            "slot_timestamp": row.slot_timestamp,
            "idx": row.idx,
            "status": row.status,
            "body": json.dumps(row.body, separators=(",", ":")),
        }
        done = 0
        if row.item_hash in self._held:
            done = self._conn.execute(self._update_held, {"h": row.item_hash, **values}).rowcount
        if done == 0:
            self._conn.execute(self._insert_item, {"item_hash": row.item_hash, **values})
        if row.slot is None:
            self._held.add(row.item_hash)
        else:
            self._held.discard(row.item_hash)
        self._conn.commit()  # also commits a sealed slot left pending
        self._uncommitted = False

    def retime_slot(self, number: int, timestamp: int, rows: list[ItemRow]) -> None:
        """The open slot ``number`` was re-run under ``timestamp``: its items' rows get
        the new time and their new bodies (outcomes), in one transaction."""
        self._write()
        self._conn.execute(
            update(items).where(items.c.slot == number).values(slot_timestamp=timestamp)
        )
        for row in rows:
            body = json.dumps(row.body, separators=(",", ":"))
            self._conn.execute(
                update(items)
                .where(items.c.slot == row.slot, items.c.idx == row.idx)
                .values(body=body)
            )
        self._conn.commit()

    def seal_slot(
        self, number: int, timestamp: int, order_root: bytes, epoch: int, commit: bool = True
    ) -> None:
        """Record a sealed slot. ``commit=False`` leaves it to the next commit (the next
        item's, or ``commit()``): a slot whose row is lost is sealed again at restart from
        its items, with their timestamp, to the same blocks (sequencer/recovery.py)."""
        self._write()
        params = {"number": number, "timestamp": timestamp, "order_root": order_root}
        self._conn.execute(self._insert_slot, {**params, "epoch": epoch})
        self._uncommitted = True
        if commit or self.fence is not None:  # replicas: followers wait for sealed rows
            self.commit()

    def queue(self, chain_id: int, tx_hash: bytes, raw: bytes, sender: bytes) -> None:
        self._write()
        self._conn.execute(delete(queued).where(queued.c.tx_hash == tx_hash))
        self._conn.execute(
            insert(queued).values(
                tx_hash=tx_hash, seq=self._next(), chain_id=chain_id, raw=raw, sender=sender
            )
        )
        self._conn.commit()

    def dequeue(self, tx_hash: bytes) -> None:
        self._write()
        self._conn.execute(delete(queued).where(queued.c.tx_hash == tx_hash))
        self._conn.commit()

    def save_snapshot(self, slot: int, data: bytes) -> None:
        """Keep snapshot ``data`` (chains/snapshot.py) of the state after ``slot``: a base
        drops the older state parts, a delta joins them; blocks parts accumulate (all of
        them are written again after a rewind)."""
        self._write()
        parts = split(data)
        if parts is None:  # the format before: one whole snapshot
            self._conn.execute(delete(snapshots))
            self._conn.execute(insert(snapshots).values(slot=slot, data=data))
            self._conn.commit()
            return
        if parts.base:
            self._conn.execute(delete(snapshots))
        state = Checkpoint(parts.base, False, parts.state, b"").encode()
        self._conn.execute(insert(snapshots).values(slot=slot, data=state))
        if parts.all_blocks:
            self._conn.execute(delete(snapshot_blocks))
        blocks = Checkpoint(False, parts.all_blocks, b"", parts.blocks).encode()
        self._conn.execute(insert(snapshot_blocks).values(slot=slot, data=blocks))
        self._conn.commit()

    def rewind(self, slot: int, epoch: int) -> None:
        """Forget every slot and item after ``slot``, and all queued transactions; items
        ordered from now on belong to ``epoch``."""
        self._write()
        self._conn.execute(delete(meta).where(meta.c.key == "epoch"))
        self._conn.execute(insert(meta).values(key="epoch", value=str(epoch)))
        self._conn.execute(delete(snapshots).where(snapshots.c.slot > slot))
        self._conn.execute(delete(snapshot_blocks).where(snapshot_blocks.c.slot > slot))
        self._conn.execute(delete(slots).where(slots.c.number > slot))
        self._conn.execute(delete(items).where(items.c.slot > slot))
        self._conn.execute(delete(queued))
        self._conn.commit()
        self._uncommitted = False
        held = self._conn.execute(select(items.c.item_hash).where(items.c.slot.is_(None)))
        self._held = {bytes(h) for (h,) in held}

    # -- read ---------------------------------------------------------------------------

    def load(self, after: int | None = None, sealed_only: bool = False) -> LogContents:
        """The log in order. ``after``: only the slots after that one (and the snapshot
        left out), for a replica that has the rest; ``sealed_only``: only sealed slots and
        their items (no open slot, held items or queue): what a follower replays."""
        out = LogContents()
        out.meta = {r.key: r.value for r in self._conn.execute(select(meta))}
        query = select(slots).order_by(slots.c.number)
        if after is not None:
            query = query.where(slots.c.number > after)
        out.sealed = [
            (r.number, r.timestamp, bytes(r.order_root), int(r.epoch))
            for r in self._conn.execute(query)
        ]
        query = select(items).order_by(items.c.seq)
        if after is not None:
            query = query.where((items.c.slot > after) | items.c.slot.is_(None))
        if sealed_only:
            last = out.sealed[-1][0] if out.sealed else (after or 0)
            query = query.where(items.c.slot <= last)
        rows = self._conn.execute(query).all()
        placed = sorted((r for r in rows if r.slot is not None), key=lambda r: (r.slot, r.idx))
        held = [r for r in rows if r.slot is None]
        out.items = [
            ItemRow(bytes(r.item_hash), r.slot, r.slot_timestamp, r.idx, r.status, r.body)
            for r in placed + held
        ]
        if after is None:
            rows = self._conn.execute(select(snapshots).order_by(snapshots.c.slot)).all()
            out.snapshot = None if not rows else (int(rows[-1].slot), bytes(rows[-1].data))
            out.snapshots = [bytes(r.data) for r in rows]
            query = select(snapshot_blocks.c.data).order_by(snapshot_blocks.c.slot)
            out.snapshots += [bytes(d) for (d,) in self._conn.execute(query)]
        if not sealed_only:
            out.queued = [
                (r.chain_id, bytes(r.raw), bytes(r.sender))
                for r in self._conn.execute(select(queued).order_by(queued.c.seq))
            ]
        self._conn.commit()  # end the read transaction (PostgreSQL: see the newest rows next)
        return out

    def sealed_root(self, number: int) -> bytes | None:
        """The order root of sealed slot ``number`` (None if not sealed)."""
        root = self._conn.execute(select(slots.c.order_root).where(slots.c.number == number))
        value = root.scalar()
        self._conn.commit()
        return None if value is None else bytes(value)

    def last_sealed(self) -> int:
        """The highest sealed slot (0 if none)."""
        value = self._conn.execute(select(func.max(slots.c.number))).scalar()
        self._conn.commit()
        return int(value or 0)
