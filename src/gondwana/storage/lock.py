"""One server per data directory. Two processes on one database would each trust what they keep
in memory (sequence counters, caches, bounds) and break each other's answers, so a server holds
an exclusive lock on `gondwana.lock` in its directory for as long as it runs. The kernel drops the
lock with the process, so a `kill -9` leaves nothing to clean up."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gondwana.storage.base import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - no advisory locks (Windows): nothing is checked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "gondwana.lock"

log = logging.getLogger("gondwana.storage")


def lock_directory(directory: Path) -> int:
    """Create the directory if need be and take its lock; the lock's file descriptor, which holds
    the lock until it is closed. StoreError when the directory cannot be used or another server
    holds it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot use {directory} as the data directory: {exc.strerror}") from None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"{directory} is in use by another gondwana server (pid {owner}); "
                "give this one a --data-dir of its own"
            ) from None
        except OSError as exc:  # a file system without locks: run, unguarded
            log.warning(
                "cannot lock %s (%s): nothing stops a second server using it", directory, exc.strerror
            )
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
