"""Shared fixtures: a fresh plugin registry per test, and a site folder for fake installed plugins."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402

from ganzoo import registry as registry_module  # noqa: E402

# Tests are small; one thread per process keeps them fast and repeatable on a shared CI core.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test sees the installed plugins as they are now (no state carried between tests)."""
    registry_module.reset_registry()
    yield
    registry_module.reset_registry()


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A folder on sys.path (and PYTHONPATH, for subprocesses) where tests install fake plugins."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    return folder
