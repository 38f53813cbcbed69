"""Run logging: ``metrics.jsonl``, TensorBoard when installed, and a rich progress bar on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _step_of(line: str) -> float:
    """The step of a metrics line; infinity for a line that is not a complete JSON record."""
    try:
        return float(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return float("inf")


class MetricsLog:
    """Appends one JSON object per logged step; mirrors scalars and grids to TensorBoard."""

    def __init__(self, run_dir: Path, resume_step: int = 0) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step and self.path.exists():
            # drop lines logged after the checkpoint we resume from, so the log reads as one run (and
            # a last line cut short by kill -9); rewritten atomically so a second kill loses nothing
            from ganzoo.engine.checkpoint import atomic_write_text

            kept = [line for line in self.path.read_text().splitlines() if _step_of(line) <= resume_step]
            atomic_write_text(self.path, "".join(line + "\n" for line in kept))
        elif self.path.exists():
            self.path.unlink()
        self._fh = self.path.open("a")
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step or None)
        except Exception:  # tensorboard is optional
            self._tb = None

    def write(self, record: dict[str, Any]) -> None:
        from ganzoo.engine.checkpoint import naming_the_file

        with naming_the_file(self.path):  # a full disk: the error names this file
            self._fh.write(json.dumps(record) + "\n")
            self._fh.flush()
        if self._tb is not None:
            step = record["step"]
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, step)

    def image(self, step: int, path: Path) -> None:
        if self._tb is None:
            return
        import numpy as np
        from PIL import Image

        array = np.asarray(Image.open(path).convert("RGB"))
        self._tb.add_image("samples", array, step, dataformats="HWC")

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def format_losses(losses: dict[str, float], limit: int = 6) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in list(losses.items())[:limit])


class Progress:
    """A rich progress bar (to stderr) with the losses and images/s; silent when ``disabled``."""

    def __init__(self, total: int, start: int = 0, disabled: bool = False, title: str = "train") -> None:
        self.disabled = disabled
        self.total = total
        self.start = start
        self.title = title
        self._progress = None

    def __enter__(self) -> Progress:
        if self.disabled:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("<"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[losses]}", markup=False),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task(self.title, total=self.total, completed=self.start, rate="", losses="")
        return self

    def update(self, step: int, losses: dict[str, float] | None = None, rate: float | None = None) -> None:
        if self._progress is None:
            return
        fields = {}
        if losses is not None:
            fields["losses"] = format_losses(losses)
        if rate is not None:
            fields["rate"] = f"{rate:,.0f} img/s"
        self._progress.update(self._task, completed=step, **fields)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
