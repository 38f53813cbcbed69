"""Writing ``.npz`` files a chunk at a time, so that their size is bounded by the disk, not memory.

``numpy.savez`` needs every array whole in memory; ``ganzoo sample --n 1000000000`` would fill it
before writing a byte. An ``.npz`` is a zip archive of ``.npy`` members, so each member is written
here as its header and then its rows, chunk by chunk (zip64, deflated as ``savez_compressed``
does). ``numpy.load`` reads the result as any other ``.npz``. The file is written beside its final
name and renamed over it, as every ganzoo output is: a failure leaves no partial file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganzoo.engine.checkpoint import atomic_write_bytes


@dataclass
class Member:
    """One array of the file: ``n`` rows of ``row_shape`` and ``dtype``, produced by ``rows(start,
    stop)`` for consecutive ranges of at most ``chunk`` rows."""

    n: int
    row_shape: tuple[int, ...]
    dtype: np.dtype
    rows: Callable[[int, int], np.ndarray]
    chunk: int = 500

    def chunks(self) -> Iterator[np.ndarray]:
        for start in range(0, self.n, self.chunk):
            stop = min(start + self.chunk, self.n)
            block = np.ascontiguousarray(self.rows(start, stop), dtype=self.dtype)
            if block.shape != (stop - start, *self.row_shape):
                raise ValueError(f"rows {start}:{stop} have shape {block.shape}, expected {(stop - start, *self.row_shape)}")
            yield block


def write_npz_streamed(path: Path, members: dict[str, Member]) -> None:
    """Write ``members`` into the ``.npz`` at ``path``, holding one chunk of one member in memory."""

    def write(fh) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for name, member in members.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(member.dtype)),
                              "fortran_order": False, "shape": (member.n, *member.row_shape)}
                    np.lib.format.write_array_header_2_0(out, header)
                    for block in member.chunks():
                        out.write(block.tobytes())

    atomic_write_bytes(Path(path), write)
