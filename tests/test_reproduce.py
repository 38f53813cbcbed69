"""``ganzoo reproduce``: tables declared through ``ganzoo_tables``, their data file, the statistics
beside the published values, the files written and the one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganzoo import hookimpl
from ganzoo.cli.main import cli
from ganzoo.errors import PluginError
from ganzoo.registry import Registry, get_registry
from ganzoo.reproduce import summarise, within_two_se
from ganzoo.tables import TableSpec, read_table


def test_pacgan_table1_holds_the_protocol_and_the_published_values():
    table = read_table(get_registry().table("pacgan-table1"))
    assert (table.variant, table.profile, table.metric, table.samples, table.runs) == ("gan", "pacgan-toy", "modes", 2500, 10)
    assert [row.name for row in table.rows] == ["gan", "minibatch", "pacgan2", "pacgan3", "pacgan4"]
    assert table.datasets() == ["ring8", "grid25"]
    assert table.row("pacgan4").published["ring.modes"] == (7.8, 0.1)
    assert table.row("pacgan4").published["ring.high_quality"] == (95.9, 1.4)
    assert table.row("pacgan3").overrides == {"pacgan.m": "3"}


def test_a_plugin_adds_its_own_table_and_a_duplicate_name_is_refused(tmp_path):
    data = tmp_path / "mine.json"
    data.write_text(json.dumps({"protocol": {"variant": "gan", "metric": "modes"},
                                "columns": [{"key": "m", "label": "modes", "dataset": "ring8", "value": "modes_covered"}],
                                "rows": [{"name": "gan", "published": {"m": [8, None]}}]}))

    class Mine:
        @hookimpl
        def ganzoo_tables(self):
            return [TableSpec("my-table", "mine", data)]

    registry = Registry()
    registry.register(Mine(), name="mine")
    table = read_table(registry.table("my-table"))
    assert table.row("gan").published == {"m": (8.0, None)}

    class Clash:
        @hookimpl
        def ganzoo_tables(self):
            return [TableSpec("pacgan-table1", "again", data)]

    registry.register(Clash(), name="clash")
    with pytest.raises(PluginError, match="pacgan-table1"):
        registry.tables()


def test_a_malformed_data_file_is_the_plugin_authors_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"protocol": {"variant": "gan", "metric": "modes"}, "columns": [],
                               "rows": [{"name": "x", "published": {"nope": [1, 1]}}]}))
    with pytest.raises(PluginError, match="publishes unknown columns"):
        read_table(TableSpec("bad", "bad", bad, package="pkg"))


def test_mean_standard_error_and_the_two_standard_error_verdict():
    mean, se = summarise([6.0, 7.0, 8.0])
    assert mean == 7.0 and se == pytest.approx(1.0 / math.sqrt(3))
    assert within_two_se(mean, se, 8.1) is True and within_two_se(mean, se, 8.2) is False
    assert math.isnan(summarise([5.0])[1]) and within_two_se(5.0, math.nan, 5.0) is None


def test_an_unknown_table_or_row_is_one_line_and_exit_2(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["reproduce", "pacgan-tabel1", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "pacgan-table1" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["reproduce", "pacgan-table1", "--rows", "gan,pacgan9", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "pacgan9" in result.output
    assert not any(Path(tmp_path).iterdir())  # nothing half-written


def test_reproduce_runs_each_row_and_dataset_and_writes_json_and_markdown(tmp_path):
    out = tmp_path / "table"
    args = ["reproduce", "pacgan-table1", "--rows", "gan,pacgan2", "--runs", "1", "--steps", "3",
            "--device", "cpu", "--out", str(out), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text())
    assert [row["name"] for row in document["rows"]] == ["gan", "pacgan2"]
    cell = document["rows"][1]["columns"]["grid.modes"]
    assert cell["published"] == [23.8, 0.7] and len(cell["values"]) == 1 and cell["se"] is None
    assert 0 <= cell["mean"] <= 25
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "gan-grid25-seed0", "gan-ring8-seed0", "pacgan2-grid25-seed0", "pacgan2-ring8-seed0"]
    config = (out / "runs" / "pacgan2-grid25-seed0" / "config.toml").read_text()
    assert "pacgan" in config and 'point_networks = "pacgan-toy"' in config
    markdown = (out / "table.md").read_text()
    assert "| PacGAN2 |" in markdown and "23.8 ± 0.7" in markdown
    again = CliRunner().invoke(cli, args[:-1])  # finished runs are reused, the table printed
    assert again.exit_code == 0 and "PacGAN2" in again.output
    longer = CliRunner().invoke(cli, [*args[:7], "4", *args[8:]])  # other steps: not mixed with these runs
    assert longer.exit_code == 2 and "trained for 3 steps, not 4" in longer.output
    listed = CliRunner().invoke(cli, ["reproduce", "--list"])
    assert listed.exit_code == 0 and "pacgan-table1" in listed.output
