"""Device choice and seeding."""

from __future__ import annotations

import os
import random

import torch

from ganzoo.errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; a named device that is absent is a user error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name!r} is not available (no CUDA GPU found); use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("device 'mps' is not available on this machine; use --device cpu or auto")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU); on CPU the same seed gives the same losses.

    NumPy too: checkpoints save its global state, so a plugin drawing from it resumes exactly.
    """
    import numpy as np

    random.seed(seed)
    # for child processes only (this one hashed at start-up); Python takes [0, 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed % 2**32))
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
