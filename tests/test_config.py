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
        ({"steps": "0"}, "bad value 0 for steps: expected a positive integer"),
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
