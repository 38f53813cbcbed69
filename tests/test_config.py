"""Configuration: typed defaults, profile, TOML, --set and CLI options, in that order; clear errors."""

from __future__ import annotations

import pytest

from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.errors import UserError


def test_paper_defaults_when_not_on_the_embedded_demo_data():
    config = make_config("gan", dataset="ring8")
    assert config.profile == "paper"
    assert (config.model.lr, config.model.beta1, config.model.beta2, config.model.latent_dim) == (2e-4, 0.5, 0.999, 100)


def test_demo_profile_on_the_variant_default_dataset():
    config = make_config("gan")
    assert (config.dataset, config.profile) == ("mnist", "demo")
    assert config.steps == 12000


def test_precedence_profile_then_file_then_set_then_cli(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('steps = 111\nbatch_size = 7\nseed = 5\n[model]\nlr = 0.5\nbeta1 = 0.1\n')
    config = make_config("gan", config_file=toml, overrides={"batch_size": "9", "model.lr": "0.25"}, seed=42)
    assert config.steps == 111  # file beats profile
    assert config.batch_size == 9  # --set beats file
    assert config.model.lr == 0.25 and config.model.beta1 == 0.1
    assert config.seed == 42  # CLI option beats file


def test_set_parses_typed_values():
    config = make_config("gan", overrides={"model.generator_widths": "64,128", "data.download": "false", "precision": "bf16"})
    assert config.model.generator_widths == (64, 128)
    assert config.data.download is False and config.precision == "bf16"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model.lrr": "1"}, "unknown config key 'model.lrr'; did you mean: model.lr"),
        ({"steps": "many"}, "bad value 'many' for steps: expected an integer"),
        ({"precision": "fp8"}, "bad value 'fp8' for precision: expected one of 'fp32', 'bf16'"),
        ({"data.download": "maybe"}, "bad value 'maybe' for data.download: expected true or false"),
        ({"steps": "0"}, "bad value 0 for steps: expected > 0"),
        ({"profile": "fast"}, "unknown profile 'fast' for gan"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(overrides, message):
    with pytest.raises(UserError) as info:
        make_config("gan", overrides=overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_wrong_type_in_toml_file_is_an_error(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('steps = "ten"\n')
    with pytest.raises(UserError, match="bad value 'ten' for steps"):
        make_config("gan", config_file=toml)


def test_malformed_set_and_missing_or_broken_files():
    with pytest.raises(UserError, match="expected key=value"):
        cfg.parse_sets(["steps"])
    with pytest.raises(UserError, match="does not exist"):
        cfg.read_toml("no/such/file.toml")


def test_resolved_config_round_trips_through_toml(tmp_path):
    config = make_config("gan", overrides={"model.generator_widths": "32,64"}, steps=7)
    cfg.write_toml(config, tmp_path / "config.toml")
    from ganzoo.registry import get_registry

    again = cfg.load_run_config(tmp_path / "config.toml", get_registry().variant("gan"))
    assert again == config


@pytest.mark.parametrize(("variant", "key", "value", "held", "expected"), [
    ("gan", "model.lr", "-1", "-1.0", "> 0"),
    ("gan", "model.lr", "nan", "nan", "> 0"),
    ("dcgan", "model.lr", "inf", "inf", "> 0"),
    ("gan", "model.beta1", "5", "5.0", "in [0, 1)"),
    ("gan", "model.generator_widths", "64,-3", "(64, -3)", "> 0 (every item)"),
    ("dcgan", "model.ngf", "-8", "-8", "> 0"),
    ("wgan-gp", "model.lambda_gp", "-10", "-10.0", ">= 0"),
    ("cyclegan", "model.decay_fraction", "1.5", "1.5", "in [0, 1]"),
    ("cgan", "model.dropout", "1", "1.0", "in [0, 1)"),
    ("gan", "seed", str(2**63), str(2**63), "in [0, 2**63)"),
    ("gan", "seed", "-1", "-1", "in [0, 2**63)"),
    ("gan", "data.workers", "-2", "-2", ">= 0"),
])
def test_values_torch_would_refuse_are_one_line_at_resolution(variant, key, value, held, expected, tmp_path):
    from click.testing import CliRunner

    from ganzoo.cli.main import cli

    tiny = ["--steps", "1", "--batch-size", "2", "--image-size", "16", "--device", "cpu", "--quiet"]  # should it train
    result = CliRunner().invoke(cli, ["run", variant, *tiny, "--set", f"{key}={value}", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: bad value {held} for {key}: expected {expected}"]
    assert not (tmp_path / "run").exists()


def test_the_largest_seed_trains_and_an_edited_config_toml_is_checked_when_loaded(tmp_path):
    import ganzoo

    run = ganzoo.train("gan", dataset="ring8", steps=2, seed=2**63 - 1, out=tmp_path / "run", device="cpu")
    assert run.step == 2
    path = tmp_path / "run" / "config.toml"
    path.write_text(path.read_text().replace("beta1 = 0.5", "beta1 = 5.0"))
    with pytest.raises(UserError, match=r"bad value 5.0 for model.beta1: expected in \[0, 1\)"):
        ganzoo.load(tmp_path / "run")


def test_a_third_party_variant_declares_bounds_and_info_shows_them():
    from dataclasses import dataclass

    from click.testing import CliRunner

    from ganzoo import Paper, VariantSpec, hookimpl
    from ganzoo.bounds import FINITE, POSITIVE, bounded, in_range
    from ganzoo.cli.main import cli
    from ganzoo.registry import get_registry

    @dataclass
    class Params:
        latent_dim: int = bounded(8, POSITIVE)
        temperature: float = bounded(0.5, in_range(0, 1, "(]"))
        shift: float = bounded(0.0, FINITE)
        lr: float = 2e-4  # no bound declared: any float

    class Plugin:
        @hookimpl
        def ganzoo_variants(self):
            paper = Paper("Bounded", "Tester", 2024, "https://example.org")
            return [VariantSpec("bounded", "test: bounded params", paper, "points", Params, "ring8")]

    get_registry().register(Plugin(), name="bounded-plugin")
    for key, value, expected in (("temperature", "0", "in (0, 1]"), ("shift", "inf", "finite"), ("latent_dim", "0", "> 0")):
        with pytest.raises(UserError) as info:
            make_config("bounded", overrides={f"model.{key}": value})
        assert str(info.value).endswith(f"for model.{key}: expected {expected}")
    assert make_config("bounded", overrides={"model.lr": "-1", "model.temperature": "1"}).model.lr == -1
    result = CliRunner().invoke(cli, ["info", "gan", "--json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["bounds"]["model.beta1"] == "in [0, 1)"
