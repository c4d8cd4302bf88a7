"""Where a devnet's processes and threads run (unless ``--no-cpu-pinning``).

A socket write wakes its reader on the writer's CPU (the kernel's wake-affine placement),
so a keyper woken by a release request would run on the sequencer's CPU, in the middle of
the seal it was asked for: the sequencer lost ~1.3 ms per decryption round that way
(timestamps of both sides, docs/encryption.md "Latency"). With keypers on 2 or more CPUs,
``xseqd devnet`` therefore runs the keyper processes on every CPU but the one its event
loop runs on at start (``split``), and keeps the loop's thread on that one while a
decryption round is out with the keypers (the order gate closed, sequencer/gate.py);
between rounds it runs anywhere, as plain traffic always did. Threads the loop starts
while pinned would inherit its one-CPU mask, so each pool thread starts with
``unpin_thread``.
"""

from __future__ import annotations

import os
from pathlib import Path

ALLOWED = frozenset(os.sched_getaffinity(0))  # this process's CPUs before any pinning


def split() -> tuple[int, set[int]] | None:
    """(the event loop's CPU, the keypers' CPUs): the CPU this thread is running on, and
    every other CPU the process may use; None with fewer than 2."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    try:  # field 39 of /proc/thread-self/stat: the CPU this thread last ran on
        here = int(Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        here = allowed[-1]
    mine = here if here in allowed else allowed[-1]
    return mine, {c for c in allowed if c != mine}


def pin_thread(cpu: int) -> None:
    """Keep the calling thread on ``cpu``."""
    os.sched_setaffinity(0, {cpu})


def unpin_thread() -> None:
    """Let the calling thread run on every CPU the process started with (a thread pool's
    initializer: a pool thread started by a pinned thread inherits its mask)."""
    os.sched_setaffinity(0, ALLOWED)
