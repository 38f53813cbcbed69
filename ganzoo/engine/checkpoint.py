"""Atomic checkpoints, read back without unpickling arbitrary objects.

A checkpoint is one file written by ``torch.save`` of plain containers and tensors only (checked
before anything is written), and read back with ``torch.load(weights_only=True)``, so a file crafted
to run code when unpickled is refused. Before that, the file's zip records are checked against their
CRC-32 sums: ``torch.load`` alone would hand back silently corrupted tensors.

Writing is atomic: the bytes go to a temporary file beside the target, are fsynced, renamed over the
real name and the folder is fsynced; then ``latest`` is pointed at the new file (the same way) and
only then are checkpoints beyond the last ``keep`` deleted. A crash or ``kill -9`` at any moment
leaves the previous checkpoint and its pointer intact, and never a half-written file under a real
name. A full disk or an unwritable folder becomes a one-line :class:`~ganzoo.errors.UserError`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import pickle
import re
import sys
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import torch

from ganzoo.errors import GanzooError, PluginError, StorageError, UserError

LATEST = "latest"
CHECKPOINTS = "checkpoints"
_NAME = re.compile(r"^step-(\d+)\.pt$")

#: The leaf types a checkpoint may hold: what ``torch.load(weights_only=True)`` accepts on every
#: supported torch (>= 2.4). Anything else would pickle fine and then fail to load on resume.
PLAIN_TYPES = (str, int, float, bool, type(None), torch.dtype, torch.Size)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def storage_error(exc: OSError, path: Path | str, fix: str = "choose another --out") -> GanzooError | None:
    """The one-line error for a full disk (exit 1: the environment failed) or an unwritable place
    (exit 2), or ``None`` for other errors. ``fix`` is the advice for an unwritable place."""
    where = str(exc.filename or path)
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return StorageError(
            f"no space left on the device while writing {where!r}; free some space or {fix} "
            "(no partial file was left behind)"
        )
    if exc.errno == errno.EISDIR:
        return UserError(f"cannot write {where!r}: it is a folder; name a file in it or {fix}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"cannot write {where!r} ({os.strerror(exc.errno)}); {fix}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and not Path(path).parent.is_dir():
        return UserError(f"cannot write {where!r}: a file stands where a folder is needed; {fix}")
    return None


@contextlib.contextmanager
def naming_the_file(path: Path | str) -> Iterator[None]:
    """An OSError raised while writing ``path`` carries its name (a full disk's ENOSPC does not)."""
    try:
        yield
    except OSError as exc:
        if not exc.filename:
            exc.filename = str(path)
        raise


@contextlib.contextmanager
def writing_output(path: Path | str, fix: str = "choose another --out") -> Iterator[None]:
    """Turn an OSError while writing a command's output ``path`` into one line naming the file:
    a full disk (exit 1), an unwritable or read-only place, or a folder where a file goes (exit 2)."""
    try:
        with naming_the_file(path):
            yield
    except OSError as exc:
        error = storage_error(exc, path, fix)
        if error is None:
            where = str(exc.filename or path)
            error = UserError(f"cannot write {where!r} ({exc.strerror or type(exc).__name__}); {fix}")
        raise error from None


def check_writable(path: Path | str, fix: str = "choose another --out") -> None:
    """Refuse, before anything slow, to start work whose result cannot be written to ``path``
    (a read-only mount, no permission): the probe creates and removes a temporary file beside it."""
    with writing_output(path, fix):
        path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            exc.filename = str(path)
            raise
        os.close(fd)
        os.unlink(tmp)


def atomic_write_bytes(path: Path, writer: Callable[[IO[bytes]], Any]) -> None:
    """Call ``writer(fileobj)`` on a temporary file beside ``path``, fsync it, then rename it.

    On any failure (a full disk, a signal) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    with naming_the_file(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:  # named for the file it was to become, not its temporary name
            exc.filename = str(path)
            raise
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not exc.filename:  # a full disk's ENOSPC names no file
            exc.filename = str(path)
        raise


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def atomic_write_text(path: Path, text: str) -> None:
    """Write a small text file atomically (``config.toml``, ``run.json``, the ``latest`` pointer)."""
    data = text.encode()
    atomic_write_bytes(path, lambda fh: fh.write(data))


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on some platforms (Windows); the rename is still atomic
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def check_plain(value: Any, where: str = "checkpoint") -> None:
    """Raise :class:`PluginError` naming the first value that safe loading could not read back.

    Called before a checkpoint is written, so that an object a plugin put in ``ctx.state`` is a
    clear error at the first save, not a checkpoint that cannot be loaded when resuming.
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, torch.Tensor):
            if type(item) not in (torch.Tensor, torch.nn.Parameter):
                raise _not_plain(item, path)
        elif isinstance(item, (dict, OrderedDict)):
            if type(item) not in (dict, OrderedDict):
                raise _not_plain(item, path)
            for key, sub in item.items():
                if not isinstance(key, (str, int)):
                    raise _not_plain(key, f"{path} key {key!r}")
                stack.append((sub, f"{path}[{key!r}]"))
        elif type(item) in (list, tuple):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
        elif type(item) not in PLAIN_TYPES:  # exact types: a str subclass would pickle its class
            raise _not_plain(item, path)


def _not_plain(item: Any, path: str) -> PluginError:
    return PluginError(
        f"cannot checkpoint {path}: it holds a {type(item).__module__}.{type(item).__qualname__}; checkpoints "
        "hold only tensors and plain values (dict, list, tuple, str, int, float, bool, None) so that "
        "they load without unpickling code"
    )


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.pt"


def checkpoint_step(path: Path | str) -> int | None:
    """The step of a checkpoint file name (``step-00000100.pt`` is 100), or ``None``."""
    match = _NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def list_checkpoints(folder: Path) -> list[Path]:
    """The checkpoint files of ``folder``, oldest step first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if checkpoint_step(p) is not None and p.is_file()]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def save_checkpoint(folder: Path, step: int, payload: Mapping[str, Any], keep: int) -> Path:
    """Write ``payload`` as the checkpoint of ``step``, point ``latest`` at it, keep the last ``keep``.

    Checkpoints of later steps (left by a run that was rewound to an earlier checkpoint) are removed,
    so that ``latest`` and "the newest file" always agree. Leftover temporary files of a process
    that was killed while writing are removed too.
    """
    check_plain(dict(payload))
    buffer = io.BytesIO()  # serialise first: torch.save hides the OSError of a failed write
    torch.save(dict(payload), buffer)
    folder = Path(folder)
    path = folder / checkpoint_name(step)
    atomic_write_bytes(path, lambda fh: fh.write(buffer.getbuffer()))
    atomic_write_text(folder / LATEST, path.name + "\n")
    existing = list_checkpoints(folder)
    earlier = [p for p in existing if (checkpoint_step(p) or 0) < step]
    later = [p for p in existing if (checkpoint_step(p) or 0) > step]
    for old in earlier[: max(0, len(earlier) - (keep - 1))] + later:
        old.unlink(missing_ok=True)
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------------------------------
# Finding and reading
# --------------------------------------------------------------------------------------------------


def _pointed_at(folder: Path) -> tuple[Path | None, str]:
    """The checkpoint ``folder/latest`` names, or ``None`` and why it cannot be followed.

    ``latest`` holds one file name inside ``folder``: a path (``../other/...``, an absolute one),
    undecodable bytes or a name that is not a checkpoint file is never followed, so a damaged or
    hand-edited pointer cannot rewind a run to another run's checkpoint."""
    pointer = folder / LATEST
    if not pointer.exists():
        return None, ""
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except IsADirectoryError:
        return None, "it is a folder"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"it cannot be read ({type(exc).__name__})"
    if Path(name).name != name or name in ("", ".", "..") or "\\" in name:
        return None, f"it names {name[:80]!r}, which is not a file of this folder"
    candidate = folder / name
    if checkpoint_step(candidate) is None or not candidate.is_file():
        return None, f"it names {name[:80]!r}, which is not a checkpoint file here"
    return candidate, ""


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder``: the one ``latest`` names, else (with a warning
    on stderr when ``latest`` is there but cannot be followed) the file of the highest step."""
    folder = Path(folder)
    candidate, problem = _pointed_at(folder)
    if candidate is not None:
        return candidate
    found = list_checkpoints(folder)
    if problem:
        instead = f"using {found[-1].name}, the newest checkpoint" if found else "no checkpoint is there"
        warning = f"ganzoo: warning: ignored {str(folder / LATEST)!r}: {problem}; {instead}"
        if warning not in _WARNED:  # several steps of one command look for the latest checkpoint
            _WARNED.add(warning)
            print(warning, file=sys.stderr)
    return found[-1] if found else None


_WARNED: set[str] = set()


def find_checkpoint(path: Path | str) -> Path:
    """A checkpoint file from a file, a run folder or its ``checkpoints`` folder; else a UserError."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        for folder in (path / CHECKPOINTS, path):
            found = latest_checkpoint(folder)
            if found is not None:
                return found
        raise UserError(f"run {str(path)!r} has no checkpoint to resume from; start a new run instead")
    raise UserError(f"checkpoint {str(path)!r} does not exist; pass a run folder or a file from its checkpoints/ folder")


def _verify_archive(path: Path) -> None:
    """Check the zip container and every record's CRC-32 before unpickling anything."""
    truncated = UserError(
        f"checkpoint {str(path)!r} is truncated or corrupted; resume from an earlier checkpoint of the "
        "run (delete this file, or point 'latest' at another)"
    )
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise truncated
    if head != b"PK\x03\x04":
        raise UserError(
            f"{str(path)!r} is not a ganzoo checkpoint (not a torch.save archive); pass a file from a "
            "run's checkpoints/ folder"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
        raise truncated from None
    if bad is not None:
        raise truncated


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely; a corrupt, truncated or code-carrying file is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {str(path)!r} does not exist; pass a file from a run's checkpoints/ folder")
    _verify_archive(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = next((line for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line), "")
        detail = re.sub(r"\x1b\[[0-9;]*m", "", first).strip()[:160] or "it holds more than tensors and plain values"
        raise UserError(
            f"checkpoint {str(path)!r} was refused by safe loading ({detail}); it may carry code, "
            "so it was not run. Only load checkpoints written by ganzoo from a source you trust"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UserError(
            f"checkpoint {str(path)!r} is truncated or corrupted ({type(exc).__name__}); resume from an "
            "earlier checkpoint of the run"
        ) from None
    if not isinstance(payload, dict) or "format" not in payload or "variant" not in payload:
        raise UserError(f"{str(path)!r} is not a ganzoo checkpoint; pass a file from a run's checkpoints/ folder")
    return payload


# --------------------------------------------------------------------------------------------------
# Resuming
# --------------------------------------------------------------------------------------------------

#: Config keys a resumed run may change: how long to train, and where and how to run, log and store
#: it. Every other key shaped the networks, optimisers, data order or randomness saved in the
#: checkpoint, so changing it would not continue the same run. A key ending in "." is a section.
RESUMABLE_KEYS = (
    "steps", "device", "precision", "speed", "fast.", "deterministic", "log_every", "sample_every", "checkpoint_every",
    "keep_checkpoints", "grid_size", "on_nan", "data.root", "data.download", "data.workers",
)


def resumable(key: str) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESUMABLE_KEYS)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = list(value) if isinstance(value, tuple) else value
    return out


def run_variant(run_dir: Path | str, registry: Any) -> Any:
    """The installed variant a run folder needs, from its ``run.json``.

    A variant whose plugin is not installed is a one-line error naming the package to install.
    """
    import json

    run_dir = Path(run_dir)
    info_path = run_dir / "run.json"
    if not run_dir.is_dir():
        raise UserError(f"run folder {str(run_dir)!r} does not exist; pass the folder 'ganzoo run' printed")
    if not info_path.is_file():
        raise UserError(f"{str(run_dir)!r} is not a ganzoo run folder (no run.json); pass the folder 'ganzoo run' printed")
    try:
        info = json.loads(info_path.read_text())
        name, package = info["variant"], info.get("package") or "the plugin that provides it"
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{str(info_path)!r} is damaged (not the JSON ganzoo wrote); the run cannot be resumed") from None
    variants = registry.variants()
    if name not in variants:
        broken = [r for r in getattr(registry, "records", []) if r.package == package and r.status != "loaded"]
        if broken:
            raise UserError(
                f"run {str(run_dir)!r} needs variant {name!r} from package {package!r}, which is installed but "
                f"{broken[0].status} ({broken[0].error or 'blocked by GANZOO_DISABLE_PLUGINS'}); see ganzoo plugins"
            )
        raise UserError(
            f"run {str(run_dir)!r} needs variant {name!r} from package {package!r}, which is not installed; "
            f"install it (pip install {package}) and try again"
        )
    return variants[name]


def resume_config(run_dir: Path | str, registry: Any) -> Any:
    """The resolved :class:`~ganzoo.config.RunConfig` saved in a run folder, to continue the run
    (with the add-ons it recorded: a missing one is a one-line error naming its package)."""
    from ganzoo import config as cfg
    from ganzoo.addons import run_addon_specs

    variant = run_variant(run_dir, registry)
    return cfg.load_run_config(Path(run_dir) / "config.toml", variant, run_addon_specs(run_dir, registry))


def check_resume_config(saved: Mapping[str, Any], now: Mapping[str, Any], path: Path | str) -> None:
    """Refuse to resume with a config that differs from the checkpoint's outside :data:`RESUMABLE_KEYS`."""
    old, new = _flatten(saved), _flatten(now)
    for key in sorted(set(old) & set(new)):
        if old[key] != new[key] and not resumable(key):
            raise UserError(
                f"cannot change {key} when resuming (the checkpoint {str(path)!r} has {old[key]!r}, asked "
                f"{new[key]!r}): it shaped the saved run; start a new run to change it"
            )


# --------------------------------------------------------------------------------------------------
# Plugin versions
# --------------------------------------------------------------------------------------------------


def plugin_warnings(saved: Mapping[str, str], installed: Mapping[str, str]) -> list[str]:
    """One line per plugin package whose version differs from (or is missing since) the checkpoint."""
    lines = []
    for package, version in sorted(saved.items()):
        if package not in installed:
            lines.append(f"run was trained with plugin package {package} {version}, which is not installed now")
        elif installed[package] != version:
            lines.append(f"run was trained with {package} {version}, now {installed[package]} is installed; "
                         "results may differ")
    return lines
