"""The command line, through click's CliRunner and through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from ganzoo.cli.main import cli


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    result = CliRunner().invoke(cli, ["run", "gan", "--dataset", "ring8", "--steps", "30", "--batch-size", "32",
                                      "--out", str(out), "--quiet", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out, result


def test_run_prints_the_run_folder_and_last_grid(trained):
    out, result = trained
    assert f"run folder: {out}" in result.output
    assert str(out / "samples" / "step-30.png") in result.output


def test_list_json_describes_each_variant():
    rows = json.loads(invoke("list", "--json").output)
    gan = next(r for r in rows if r["name"] == "gan")
    assert gan["package"] == "ganzoo" and gan["data"] == "images" and gan["paper"]["year"] == 2014


def test_list_table_for_people():
    output = invoke("list").output
    assert "gan" in output and "Goodfellow" in output


def test_info_reports_networks_with_parameter_counts():
    info = json.loads(invoke("info", "gan", "--json").output)
    # 100→128→256→512→1024→784 with BatchNorm on all but the first hidden layer
    assert info["networks"]["generator"]["parameters"] == 1_510_032
    assert info["networks"]["discriminator"]["parameters"] == 784 * 512 + 512 + 512 * 256 + 256 + 257
    assert info["config"]["model"]["lr"] == 2e-4


def test_info_on_a_dataset_size_the_variant_cannot_build_shows_the_config_and_the_size_to_ask_for():
    plain = invoke("info", "biggan")  # the digits are 28 px; BigGAN's architectures start at 32
    assert plain.exit_code == 0, plain.output
    assert "not built" in plain.output and "--image-size 32" in plain.output and "model.g_ch" in plain.output
    info = json.loads(invoke("info", "biggan", "--json").output)
    assert info["networks"] == {} and "--image-size 32" in info["networks_note"]
    asked = invoke("info", "biggan", "--image-size", "28")  # asked for, so refused
    assert asked.exit_code == 2 and "--image-size 32" in asked.output


def test_plugins_json_lists_packages_versions_and_what_they_provide():
    rows = {r["name"]: r for r in json.loads(invoke("plugins", "--json").output)}
    assert rows["gan"]["variants"] == ["gan"] and rows["core"]["status"] == "loaded"
    assert rows["gan"]["version"]


def test_sample_npz_points(trained, tmp_path):
    out, _ = trained
    result = invoke("sample", str(out), "--n", "10", "--out", str(tmp_path / "s.npz"))
    assert result.exit_code == 0
    data = np.load(tmp_path / "s.npz")
    assert list(data) == ["points"] and data["points"].shape == (10, 2) and data["points"].dtype == np.float32


def test_sample_npz_images_and_png_grid(tmp_path):
    run = tmp_path / "mnist"
    assert invoke("run", "gan", "--steps", "2", "--batch-size", "8", "--out", str(run), "--quiet").exit_code == 0
    assert invoke("sample", str(run), "--n", "6", "--out", str(tmp_path / "s.npz")).exit_code == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.uint8
    assert invoke("sample", str(run), "--n", "4", "--out", str(tmp_path / "g.png")).exit_code == 0
    from PIL import Image

    assert Image.open(tmp_path / "g.png").size == (2 + 2 * 30, 2 + 2 * 30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "ganz"], "unknown variant 'ganz'; did you mean: gan"),
        (["run", "gan", "--dataset", "mnsit"], "unknown dataset 'mnsit'; did you mean: mnist"),
        (["run", "gan", "--set", "model.lrr=1"], "unknown config key 'model.lrr'"),
        (["run", "gan", "--set", "steps"], "bad --set 'steps'"),
        (["run", "gan", "--steps", "-3"], "bad value -3 for steps"),
        (["info", "nope"], "unknown variant 'nope'"),
        (["sample", "no/such/run"], "run folder 'no/such/run' does not exist"),
        (["run", "gan", "--dataset", "folder", "--data-root", "no/such/dir"], "does not exist"),
    ],
)
def test_user_mistakes_are_one_line_exit_2_and_write_nothing(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_existing_run_folder_is_never_overwritten(trained):
    out, _ = trained
    before = (out / "metrics.jsonl").read_text()
    result = CliRunner().invoke(cli, ["run", "gan", "--dataset", "ring8", "--steps", "3", "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert (out / "metrics.jsonl").read_text() == before


def test_sample_rejects_unknown_formats_and_class_on_unconditional(trained, tmp_path):
    out, _ = trained
    result = CliRunner().invoke(cli, ["sample", str(out), "--out", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2 and "use a .png or .npz" in result.output
    result = CliRunner().invoke(cli, ["sample", str(out), "--class", "3", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "conditional" in result.output


def test_real_subprocess_runs_and_samples(tmp_path):
    run = tmp_path / "run"
    train = subprocess.run([sys.executable, "-m", "ganzoo", "run", "gan", "--dataset", "ring8", "--steps", "5",
                            "--out", str(run), "--json"], capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    assert json.loads(train.stdout)["step"] == 5
    bad = subprocess.run([sys.executable, "-m", "ganzoo", "sample", str(run), "--n", "0"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "ganzoo", "run", "nope"], capture_output=True, text=True, timeout=300)
    assert usage.returncode == 2 and usage.stderr.startswith("error: unknown variant 'nope'; ")
    assert usage.stderr.count("\n") == 1
