"""Published tables that ``ganzoo reproduce NAME`` re-runs: what a table is and how its data file reads.

A plugin declares a table through the collecting hook ``ganzoo_tables`` as a :class:`TableSpec`
(name, summary, paper, and the path of one JSON data file). The data file holds the protocol and the
published values together, so the numbers a user compares against live beside the recipe that is
meant to reproduce them::

    {
      "protocol": {"variant": "gan", "profile": "pacgan-toy", "metric": "modes", "samples": 2500,
                   "runs": 10, "source": "where the protocol is written down"},
      "columns": [{"key": "ring.modes", "label": "ring: modes", "dataset": "ring8",
                   "value": "modes_covered"}, ...],
      "rows": [{"name": "pacgan2", "label": "PacGAN2", "addons": ["pacgan"], "set": {"pacgan.m": "2"},
                "published": {"ring.modes": [7.9, 0.1], ...}}, ...]
    }

Every row trains ``protocol.variant`` with ``protocol.profile`` on each column's dataset, with the
row's add-ons and ``--set`` values, once per seed 0 … runs − 1; ``protocol.metric`` (a metric
name) then computes each column's ``value`` from ``protocol.samples`` samples. ``published`` gives
``[mean, standard error]`` per column (the error may be ``null``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import PluginError
from ganzoo.spec import Paper


@dataclass(frozen=True)
class TableSpec:
    """A published table ``ganzoo reproduce`` can re-run; ``data`` is its JSON data file."""

    name: str
    summary: str
    data: Path
    paper: Paper | None = None
    #: Set by the plugin manager: the distribution that registered the table.
    package: str = ""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    dataset: str
    value: str


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    addons: tuple[str, ...] = ()
    overrides: dict[str, str] = field(default_factory=dict)
    published: dict[str, tuple[float, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A table's data file, read and checked."""

    spec: TableSpec
    variant: str
    profile: str
    metric: str
    samples: int
    runs: int
    source: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        from ganzoo.errors import unknown

        raise unknown("row", name, [r.name for r in self.rows])

    def datasets(self) -> list[str]:
        """The datasets of the columns, each once, in column order."""
        return list(dict.fromkeys(column.dataset for column in self.columns))


def read_table(spec: TableSpec) -> Table:
    """Read and check ``spec``'s data file; a malformed one is the plugin author's error."""
    where = f"table {spec.name!r} ({spec.package or '?'}), data file {Path(spec.data).name}"
    try:
        document: dict[str, Any] = json.loads(Path(spec.data).read_text(encoding="utf-8"))
        protocol = document["protocol"]
        columns = tuple(Column(c["key"], c["label"], c["dataset"], c["value"]) for c in document["columns"])
        keys = {c.key for c in columns}
        rows = []
        for r in document["rows"]:
            published = {key: (float(v[0]), None if v[1] is None else float(v[1])) for key, v in r.get("published", {}).items()}
            stray = set(published) - keys
            if stray:
                raise ValueError(f"row {r['name']!r} publishes unknown columns {sorted(stray)}")
            rows.append(Row(r["name"], r.get("label", r["name"]), tuple(r.get("addons", ())),
                            {str(k): str(v) for k, v in r.get("set", {}).items()}, published))
        table = Table(spec, protocol["variant"], protocol.get("profile", ""), protocol["metric"],
                      int(protocol.get("samples", 2500)), int(protocol.get("runs", 1)), protocol.get("source", ""),
                      columns, tuple(rows))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise PluginError(f"{where} cannot be read: {type(exc).__name__}: {exc}") from None
    if not table.rows or not table.columns:
        raise PluginError(f"{where} has no rows or no columns")
    return table
