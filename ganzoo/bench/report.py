"""Benchmark reports for people: a rich table on the terminal and a markdown table for the docs."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, spec: str, missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _memory(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.0f} MiB"


def rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per scenario and contender; skipped and failed scenarios get one row saying why."""
    out: list[list[str]] = []
    for record in report["scenarios"]:
        name = record["scenario"]
        if "skipped" in record or "error" in record:
            why = record.get("skipped") or "error: " + record["error"]
            out.append([name, "", "", why, "", "", "", "", "", "", "", ""])
            continue
        pipeline = record.get("pipeline") or {}
        for contender, entry in record["results"].items():
            flops = record.get("plain_flops_per_iteration" if contender == "plain" else "flops_per_iteration")
            ms = entry["ms_per_iteration"]
            ratio = entry.get("ratio_to_plain")
            pipe = ""
            if pipeline and contender == f"ganzoo-{pipeline['mode']}":
                pipe = f"{_fmt(pipeline['images_per_s'], ',.0f')} ({_fmt(pipeline.get('ratio_to_synthetic'), '.2f')}×)"
            out.append([
                name,
                str(record["batch_size"]),
                str(record["image_size"]),
                contender,
                f"{ms['median']:.3f} ± {ms['iqr']:.3f}",
                _fmt(entry["images_per_s"], ",.0f"),
                "" if ratio is None else f"{ratio['median']:.3f} [{ratio['min']:.3f}–{ratio['max']:.3f}]",
                _fmt(None if flops is None else flops / 1e9, ",.2f"),
                _fmt(entry.get("tflops"), ".3f"),
                _fmt(None if entry.get("fraction_of_peak") is None else 100 * entry["fraction_of_peak"], ".1f"),
                _memory(entry.get("peak_memory_bytes")),
                pipe,
            ])
    return out


HEADERS = ["scenario", "batch", "px", "run", "ms/iter (median ± IQR)", "images/s", "vs plain loop",
           "GFLOP/iter", "TFLOP/s", "% bf16 peak", "peak memory", "real data img/s"]


def header_lines(report: dict[str, Any]) -> list[str]:
    device = report["device"]
    s = report["settings"]
    peak = f", dense bf16 peak {device['peak_bf16_tflops']} TFLOP/s" if device.get("peak_bf16_tflops") else ""
    return [
        f"device: {device['name']} ({device['type']}, {device['threads']} threads{peak})",
        f"torch {report['torch']}, python {report['python']}, ganzoo {report['ganzoo']}; {report['date']}",
        f"command: {report['command']}",
        f"{s['repeats']} repeats × {s['steps']} iterations after {s['warmup']} warm-up, size {s['size']}, modes {', '.join(s['modes'])}",
    ]


def table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="ganzoo bench", caption="\n".join(header_lines(report)))
    for h in HEADERS:
        t.add_column(h, overflow="fold")
    for row in rows(report):
        t.add_row(*row)
    return t


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table with its environment above it (for docs/benchmarks.md)."""
    lines = [f"- {line}" for line in header_lines(report)] + [""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" for _ in HEADERS) + "|")
    for row in rows(report):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    notes = [(r["scenario"], n) for r in report["scenarios"] for n in r.get("notes", [])]
    if notes:
        lines.append("")
        lines += [f"- {name}: {note}" for name, note in notes]
    return "\n".join(lines) + "\n"
