"""Errors and exit codes shared by the engine and the CLI."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    """Process exit codes of the ``ganzoo`` command."""

    OK = 0
    FAILURE = 1
    USAGE_ERROR = 2
    INTERRUPTED = 130
    TERMINATED = 143


class GanzooError(Exception):
    """Base class of the errors ganzoo raises on purpose; ``str(err)`` is a complete sentence."""

    exit_code: ExitCode = ExitCode.FAILURE


class UserError(GanzooError):
    """A mistake in what the user asked for: printed as one line, exit code 2, nothing written."""

    exit_code = ExitCode.USAGE_ERROR


class StorageError(GanzooError):
    """The environment failed while writing (a full disk, a quota): one line naming the file, exit 1."""


class PluginError(GanzooError):
    """A plugin broke the contract (duplicate names, a hook returning the wrong thing)."""


def closest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ' (did you mean: a, b?)'-style text listing the valid names closest to ``name``."""
    choices = sorted(set(choices))
    near = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if near:
        return f"did you mean: {', '.join(near)}?"
    return f"choose from: {', '.join(choices)}" if choices else "none are installed"


def unknown(what: str, name: str, choices: Iterable[str]) -> UserError:
    """The one-line error for an unknown variant, dataset, metric or key."""
    return UserError(f"unknown {what} {name!r}; {closest(name, choices)}")
