"""``ganzoo bench``: the JSON report's fields, skipped scenarios, user errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ganzoo.cli.main import cli

FAST = ["--device", "cpu", "--steps", "1", "--repeats", "2", "--warmup", "1"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "cpu.json"
    result = CliRunner().invoke(cli, ["bench", "gan-overhead", *FAST, "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == json.loads(result.output)
    return json.loads(result.output)


def test_report_names_the_environment(report):
    assert report["torch"] and report["python"] and report["date"]
    assert report["device"]["type"] == "cpu" and report["device"]["name"]
    assert report["device"]["peak_bf16_tflops"] is None  # no known GPU peak for a CPU
    assert report["command"].startswith("ganzoo bench gan-overhead --device cpu --steps 1 --warmup 1 --repeats 2 --json --out ")
    assert report["settings"] == {"steps": 1, "warmup": 1, "repeats": 2, "modes": ["eager"], "size": "small",
                                  "batch_size": None, "image_size": None, "sets": {}}


def test_each_contender_has_time_throughput_flops_and_memory(report):
    (record,) = report["scenarios"]
    assert record["variant"] == "gan" and record["batch_size"] == 16 and record["images_per_iteration"] == 16
    # tiny MLPs: G 100→32→32→32→32→784 and D 784→32→32→1, forward + backward for a batch of 16
    assert record["flops_per_iteration"] == record["plain_flops_per_iteration"] > 0
    plain, ganzoo = record["results"]["plain"], record["results"]["ganzoo-eager"]
    for entry in (plain, ganzoo):
        ms = entry["ms_per_iteration"]
        assert len(ms["samples"]) == 2 and ms["min"] <= ms["median"] <= ms["max"]
        assert entry["images_per_s"] == pytest.approx(16 / (ms["median"] / 1000), rel=1e-3)
        assert entry["tflops"] > 0 and entry["fraction_of_peak"] is None
        assert entry["peak_memory_bytes"] is None  # measured on CUDA only
    assert ganzoo["settings"]["mode"] == "eager"
    assert ganzoo["ratio_to_plain"]["median"] > 0
    pipeline = record["pipeline"]
    assert pipeline["dataset"] == "mnist" and pipeline["images_per_s"] > 0 and pipeline["ratio_to_synthetic"] > 0


def test_scenarios_of_absent_variants_are_skipped_not_failed(tmp_path, monkeypatch):
    (tmp_path / "scenarios.py").write_text(
        "from ganzoo.bench.scenarios import Scenario\n"
        "SCENARIOS = [Scenario('ghost-64', 'not-installed', 'a variant nobody installed', 8, 64)]\n"
    )
    monkeypatch.setenv("GANZOO_BENCHMARKS", str(tmp_path))
    result = CliRunner().invoke(cli, ["bench", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)["scenarios"]
    assert record["skipped"] == "variant 'not-installed' is not installed"


def test_unknown_names_and_bad_counts_are_one_line_usage_errors():
    result = CliRunner().invoke(cli, ["bench", "dcgan-46", "--device", "cpu"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: no benchmark scenario or variant named 'dcgan-46'; did you mean: dcgan-64")
    result = CliRunner().invoke(cli, ["bench", "gan", "--device", "cpu", "--repeats", "0"])
    assert result.exit_code == 2 and "--repeats 0" in result.output


def test_markdown_table_lists_every_contender(tmp_path):
    result = CliRunner().invoke(cli, ["bench", "gan-overhead", *FAST, "--no-pipeline", "--markdown"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| gan-overhead")]
    assert [row.split("|")[4].strip() for row in rows] == ["plain", "ganzoo-eager"]
    assert "command: ganzoo bench gan-overhead" in result.output


def test_a_variant_without_a_scenario_is_timed_at_its_paper_settings_alone(tmp_path, monkeypatch):
    (tmp_path / "scenarios.py").write_text("SCENARIOS = []\n")
    monkeypatch.setenv("GANZOO_BENCHMARKS", str(tmp_path))
    result = CliRunner().invoke(cli, ["bench", "gan", *FAST, "--no-pipeline", "--json"])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)["scenarios"]
    assert (record["scenario"], record["batch_size"], record["image_size"]) == ("gan", 64, 28)
    assert list(record["results"]) == ["ganzoo-eager"]
    assert record["notes"] == ["no reference loop for this variant: ganzoo alone, no ratio"]


def test_a_failing_scenario_exits_1_and_says_why_on_stderr_even_with_json(tmp_path, monkeypatch):
    (tmp_path / "scenarios.py").write_text(
        "from ganzoo.bench.scenarios import Scenario\n"
        "SCENARIOS = [Scenario('gan-broken', 'gan', 'a reference loop that no longer fits', 8, 28, channels=1)]\n"
    )
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "gan.py").write_text(
        "def make_loop(config, data, device):\n    return config.model.no_such_setting\n"
    )
    monkeypatch.setenv("GANZOO_BENCHMARKS", str(tmp_path))
    result = CliRunner().invoke(cli, ["bench", *FAST, "--no-pipeline", "--json"])
    assert result.exit_code == 1
    (record,) = json.loads(result.stdout)["scenarios"]
    assert record["error"].startswith("AttributeError")
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: scenario gan-broken failed: AttributeError") and "no_such_setting" in line
