"""Atomic checkpoints, loaded without unpickling arbitrary objects.

A checkpoint is one file written by ``torch.save`` of plain containers and tensors, and read back
with ``torch.load(weights_only=True)``: a file crafted to run code when unpickled is refused. Files
are written to a temporary name, fsynced, then renamed, so a crash never leaves a half-written
checkpoint under the real name; ``latest`` names the newest complete one.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import UserError

LATEST = "latest"


def atomic_write_bytes(path: Path, writer) -> None:
    """Call ``writer(fileobj)`` on a temporary file beside ``path``, fsync, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.pt"


def save_checkpoint(folder: Path, step: int, payload: dict[str, Any], keep: int) -> Path:
    """Write ``payload`` as the checkpoint of ``step``, point ``latest`` at it, keep the last ``keep``."""
    path = folder / checkpoint_name(step)
    atomic_write_bytes(path, lambda fh: torch.save(payload, fh))
    atomic_write_bytes(folder / LATEST, lambda fh: fh.write(path.name.encode()))
    for old in sorted(folder.glob("step-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder`` (via ``latest``, else the highest step)."""
    pointer = folder / LATEST
    if pointer.is_file():
        candidate = folder / pointer.read_text().strip()
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("step-*.pt"))
    return found[-1] if found else None


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely; a corrupt, truncated or code-carrying file is a clear error."""
    if not Path(path).is_file():
        raise UserError(f"checkpoint {str(path)!r} does not exist; pass a file from a run's checkpoints/ folder")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise UserError(
            f"checkpoint {str(path)!r} was refused by safe loading ({first[:160]}); "
            "only load checkpoints written by ganzoo from a source you trust"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise UserError(
            f"checkpoint {str(path)!r} is truncated or corrupted ({type(exc).__name__}); "
            "use an earlier checkpoint of the run"
        ) from None
    if not isinstance(payload, dict) or "format" not in payload:
        raise UserError(f"{str(path)!r} is not a ganzoo checkpoint; pass a file from a run's checkpoints/ folder")
    return payload
