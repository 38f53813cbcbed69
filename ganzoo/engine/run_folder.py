"""Claiming a run folder: one process per folder, decided before anything slow happens.

A new run claims its folder in one atomic step: it creates the folder (or finds it empty), writes a
lock file under a temporary name, takes an exclusive ``flock`` on it, and then links it to
``RUN_DIR/.lock``. ``link`` fails when the name exists, so of two processes started together exactly
one holds the folder; the other is refused at once (exit 2) with the process that holds it, before
either has read any data or built a network. A resumed run takes the same lock on the existing
``.lock``. The lock dies with its process, ``kill -9`` included; the file stays and says who held it
last.

A folder that holds only the start-up files of a run that never reached its first checkpoint (it was
killed with -9, hit a file-size limit or diverged early) is a *leftover*: ``ganzoo run NAME --out D
--resume`` starts it afresh instead of asking the user to delete it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ganzoo.errors import UserError

#: Held (``flock``) while a process trains into a run folder.
LOCK_NAME = ".lock"
#: What a run writes before its first checkpoint: the files a leftover folder may hold.
STARTUP_FILES = frozenset({LOCK_NAME, "config.toml", "run.json", "metrics.jsonl"})
STARTUP_FOLDERS = frozenset({"samples", "tensorboard", "checkpoints"})

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; the exclusive link still claims
    fcntl = None  # type: ignore[assignment]


@dataclass
class RunFolderLock:
    """The open lock file of a claimed run folder; closing it releases the claim."""

    path: Path
    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _holder_record() -> bytes:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    started = dt.datetime.now().isoformat(timespec="seconds")
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started, "command": command}).encode() + b"\n"


def describe_holder(run_dir: Path) -> str:
    """Who wrote ``RUN_DIR/.lock`` last, e.g. ``process 1234 on host (ganzoo run gan ..., started ...)``."""
    try:
        record = json.loads((Path(run_dir) / LOCK_NAME).read_text())
        return f"process {int(record['pid'])} on {record['host']} ({record['command']}, started {record['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _try_flock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def in_use(run_dir: Path) -> bool:
    """Whether a live process holds the lock of ``run_dir`` (a probe: takes and drops it)."""
    lock = Path(run_dir) / LOCK_NAME
    if fcntl is None or not lock.is_file():
        return False
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        return not _try_flock(fd)
    finally:
        os.close(fd)


def in_use_error(run_dir: Path) -> UserError:
    holder = describe_holder(run_dir)
    by = f" ({holder})" if holder else ""
    return UserError(
        f"run folder {str(run_dir)!r} is in use by another ganzoo process{by}; wait for it to finish or "
        "stop it first"
    )


def refuse_if_in_use(run_dir: Path) -> None:
    """A one-line error naming the process that trains into ``run_dir`` right now, if one does."""
    if in_use(run_dir):
        raise in_use_error(run_dir)


def _exists_error(path: Path) -> UserError:
    if in_use(path):
        return in_use_error(path)
    return UserError(
        f"run folder {str(path)!r} already exists; continue it with --resume {path} or choose another --out"
    )


def is_claim_in_progress(entry: Path) -> bool:
    """The temporary lock file of a claim under way (another process's, or one killed mid-claim)."""
    return entry.name.startswith(LOCK_NAME + ".") and entry.name.endswith(".tmp")


def claim_new(path: Path) -> RunFolderLock:
    """Create ``path`` (or take it empty) and hold its lock, atomically; else a UserError (exit 2)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir() or any(not is_claim_in_progress(entry) for entry in path.iterdir()):
            raise _exists_error(path) from None
    fd, tmp = tempfile.mkstemp(prefix=".lock.", suffix=".tmp", dir=path)
    try:
        os.chmod(tmp, 0o644)
        _try_flock(fd)  # a file nobody else has opened yet: always granted
        os.write(fd, _holder_record())
        try:
            os.link(tmp, path / LOCK_NAME)  # fails if another process claimed the folder first
        except FileExistsError:
            os.close(fd)
            raise _exists_error(path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    finally:
        os.unlink(tmp)
    return RunFolderLock(path / LOCK_NAME, fd)


def claim_default(base: Path) -> RunFolderLock:
    """Claim ``base``, else ``base-2``, ``base-3``, ...: default run names stay unique when several
    runs start in the same second."""
    base = Path(base)
    for n in range(1, 10_000):
        candidate = base if n == 1 else Path(f"{base}-{n}")
        if candidate.exists():
            continue
        try:
            return claim_new(candidate)
        except UserError:
            continue  # another run took this name between the check and the claim
    raise UserError(f"could not find a free run folder name next to {str(base)!r}; pass --out")


def lock_existing(run_dir: Path) -> RunFolderLock:
    """Hold the lock of an existing run folder (to resume it); a live holder is a UserError naming it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)  # held open while training
    if not _try_flock(fd):
        os.close(fd)
        raise in_use_error(run_dir)
    os.ftruncate(fd, 0)
    os.write(fd, _holder_record())
    return RunFolderLock(run_dir / LOCK_NAME, fd)


# --------------------------------------------------------------------------------------------------
# Leftovers of a run that never reached its first checkpoint
# --------------------------------------------------------------------------------------------------


def _has_checkpoint(folder: Path) -> bool:
    from ganzoo.engine.checkpoint import list_checkpoints

    return bool(list_checkpoints(folder))


def leftover_variant(path: Path) -> str | None:
    """The variant of a run folder holding only a run's start-up files and no checkpoint, else ``None``.

    An empty string means "a leftover whose ``run.json`` was not written (or not readable)"."""
    path = Path(path)
    if not path.is_dir():
        return None
    for entry in path.iterdir():
        if is_claim_in_progress(entry):
            continue
        if entry.is_dir() and entry.name in STARTUP_FOLDERS:
            if entry.name == "checkpoints" and _has_checkpoint(entry):
                return None
        elif not (entry.is_file() and entry.name in STARTUP_FILES):
            return None
    try:
        return str(json.loads((path / "run.json").read_text())["variant"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def is_leftover_of(path: Path, variant: str) -> bool:
    """Whether ``path`` holds only the start-up files of a ``variant`` run (or unnamed ones)."""
    found = leftover_variant(path)
    return found is not None and found in ("", variant)


def claim_leftover(path: Path, variant: str) -> RunFolderLock:
    """Hold the lock of a leftover folder and empty it, so a new run starts there afresh."""
    path = Path(path)
    lock = lock_existing(path)
    if not is_leftover_of(path, variant):  # it changed between the check and the lock
        lock.release()
        raise _exists_error(path)
    for entry in path.iterdir():
        if entry.name == LOCK_NAME:
            continue
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return lock
