"""Add-ons: declared by ``ganzoo_addons``, inactive until a run names them, recorded in the run,
honoured and checked by resume, sample and eval; network roles checked by the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import QUIET_RUN, TINY

from ganzoo import AddonSpec, VariantSpec, hookimpl
from ganzoo import config as cfg
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.engine.trainer import Trainer
from ganzoo.errors import PluginError, UserError
from ganzoo.registry import get_registry, reset_registry


def ganzoo(*args: str):
    return CliRunner().invoke(cli, list(args))


def tiny_args(variant: str = "gan") -> list[str]:
    args = []
    for key, value in {**QUIET_RUN, **TINY[variant]}.items():
        args += ["--set", f"{key}={value}"]
    return args


@dataclass
class ScaleSettings:
    factor: float = 0.5


class ScalesFakes:
    """An outside add-on that scales every generator's output: easy to see when it acts."""

    calls = 0

    @hookimpl
    def ganzoo_addons(self):
        return [AddonSpec("scale-fakes", "multiplies generated samples", ScaleSettings)]

    @hookimpl(wrapper=True)
    def ganzoo_networks(self, variant, config, data):
        from ganzoo.addons import networks_of

        networks = yield
        if "scale-fakes" in config.addons:
            factor = config.addons["scale-fakes"].factor
            for name in networks_of(variant, networks, "generator", addon="scale-fakes"):
                networks[name].register_forward_hook(lambda m, i, out: out * factor)
                ScalesFakes.calls += 1
        return networks


def test_an_installed_addon_changes_no_run_that_does_not_name_it(tmp_path):
    registry = get_registry()
    plain = make_config("gan", registry=registry, steps=3, overrides={**{k: str(v) for k, v in QUIET_RUN.items()}},
                        **{"dataset": "ring8", "batch_size": 8})
    first = Trainer(plain, registry, run_dir=tmp_path / "a", quiet=True).train()
    registry.register(ScalesFakes(), name="scale-fakes")
    ScalesFakes.calls = 0
    again = Trainer(cfg.load_run_config(tmp_path / "a" / "config.toml", registry.variant("gan")), registry,
                    run_dir=tmp_path / "b", quiet=True).train()
    assert ScalesFakes.calls == 0
    assert again.losses == first.losses
    assert "addons" not in (tmp_path / "b" / "config.toml").read_text().split("[", 1)[1]
    config = make_config("gan", registry=registry, addons=["scale-fakes"], overrides={"scale-fakes.factor": "0.25"},
                         dataset="ring8", steps=1)
    assert config.addons["scale-fakes"].factor == 0.25
    data = registry.dataset("ring8").build(config).info
    torch.manual_seed(0)
    scaled = registry.networks(registry.variant("gan"), config, data)["generator"]
    assert ScalesFakes.calls == 1
    torch.manual_seed(0)
    plain_generator = registry.networks(registry.variant("gan"), plain, data)["generator"]
    z = torch.randn(5, scaled.model[0].in_features)
    assert torch.allclose(scaled(z), 0.25 * plain_generator(z))


def test_addon_settings_are_a_section_of_config_toml_and_read_back(tmp_path):
    registry = get_registry()
    config = make_config("dcgan", registry=registry, addons=["diffaugment", "ema"],
                         overrides={"diffaugment.policy": "color,cutout", "ema.decay": "0.9999", "ema.start_step": "1000"})
    cfg.write_toml(config, tmp_path / "config.toml")
    text = (tmp_path / "config.toml").read_text()
    assert 'addons = [\n    "diffaugment",\n    "ema",\n]' in text or 'addons = ["diffaugment", "ema"]' in text
    assert '[diffaugment]\npolicy = "color,cutout"' in text and "[ema]\ndecay = 0.9999\nstart_step = 1000" in text
    back = cfg.load_run_config(tmp_path / "config.toml", registry.variant("dcgan"), registry.addons())
    assert back.addons == config.addons
    assert "ema.half_life_kimg" in cfg.all_keys(back)


def test_a_config_file_enables_addons_and_with_adds_to_them(tmp_path):
    (tmp_path / "c.toml").write_text('addons = ["ema"]\n[ema]\ndecay = 0.5\n')
    config = make_config("dcgan", config_file=tmp_path / "c.toml", addons=["spectral-norm"])
    assert list(config.addons) == ["ema", "spectral-norm"] and config.addons["ema"].decay == 0.5


@pytest.mark.parametrize("args, message", [
    (["--set", "ema.decay=0.9"], "ema.decay is a setting of add-on 'ema', which this run does not enable; add --with ema"),
    (["--with", "emma"], "unknown add-on 'emma'"),
    (["--with", "ema", "--set", "ema.dekay=0.9"], "unknown config key 'ema.dekay'"),
    (["--with", "ema", "--set", "addons=ema"], "add-ons are chosen with --with NAME"),
])
def test_bad_addon_input_is_one_line(tmp_path, args, message):
    result = ganzoo("run", "gan", "--out", str(tmp_path / "run"), *args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.fixture
def ema_run(tmp_path):
    run_dir = tmp_path / "run"
    result = ganzoo("run", "gan", "--steps", "2", "--out", str(run_dir), "--quiet", "--with", "ema",
                    "--set", "ema.decay=0.9", *tiny_args())
    assert result.exit_code == 0, result.output
    return run_dir


def test_resume_sample_and_eval_honour_the_recorded_addons(ema_run, tmp_path, monkeypatch):
    info = json.loads((ema_run / "run.json").read_text())
    assert info["addons"] == {"ema": {"package": "ganzoo", "version": info["plugins"]["ganzoo"]}}
    assert set(info["plugins"]) == {"ganzoo"}  # not every installed package: only those the run uses
    resumed = ganzoo("run", "--resume", str(ema_run), "--steps", "3", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert "[ema]\ndecay = 0.9" in (ema_run / "config.toml").read_text()
    changed = ganzoo("run", "--resume", str(ema_run), "--steps", "4", "--set", "ema.decay=0.99")
    assert changed.exit_code == 2 and "cannot change ema.decay when resuming" in changed.stderr
    added = ganzoo("run", "--resume", str(ema_run), "--steps", "4", "--with", "spectral-norm")
    assert added.exit_code == 2 and "cannot enable add-on 'spectral-norm' when resuming" in added.stderr
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "ema")
    reset_registry()
    for args in (["run", "--resume", str(ema_run), "--steps", "4"], ["sample", str(ema_run), "--out", str(tmp_path / "s.png")],
                 ["eval", str(ema_run)]):
        result = ganzoo(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "uses add-on 'ema' from package 'ganzoo', which is installed but disabled" in result.stderr


def test_a_missing_addon_names_the_package_to_install(ema_run):
    info = json.loads((ema_run / "run.json").read_text())
    text = (ema_run / "config.toml").read_text().replace('"ema"', '"sharpen"').replace("[ema]", "[sharpen]")
    (ema_run / "config.toml").write_text(text)
    info["addons"] = {"sharpen": {"package": "ganzoo-sharpen", "version": "1.0"}}
    (ema_run / "run.json").write_text(json.dumps(info))
    result = ganzoo("sample", str(ema_run), "--n", "2", "--out", str(ema_run / "s.png"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: run {str(ema_run)!r} uses add-on 'sharpen' from package 'ganzoo-sharpen', "
                                     "which is not installed; install it (pip install ganzoo-sharpen) and try again")


def test_list_plugins_and_info_show_addons():
    rows = {r["name"]: r for r in json.loads(ganzoo("list", "--addons", "--json").output)}
    assert {"ema", "diffaugment", "spectral-norm"} <= set(rows)
    assert rows["diffaugment"]["settings"]["policy"] == "color,translation,cutout"
    assert rows["diffaugment"]["paper"]["year"] == 2020
    assert "ganzoo add-ons" in ganzoo("list").output
    plugins = {r["name"]: r for r in json.loads(ganzoo("plugins", "--json").output)}
    assert plugins["diffaugment"]["addons"] == ["diffaugment"]
    info = json.loads(ganzoo("info", "cyclegan", "--with", "spectral-norm", "--json").output)
    assert info["addons"] == ["spectral-norm"] and info["config"]["spectral-norm"]["n_power_iterations"] == 1
    assert {k: v["role"] for k, v in info["networks"].items()} == {
        "generator_AB": "generator", "generator_BA": "generator",
        "discriminator_A": "discriminator", "discriminator_B": "discriminator"}


# --------------------------------------------------------------------------------------------------
# Network roles
# --------------------------------------------------------------------------------------------------


def test_every_builtin_variant_declares_its_generators_and_discriminators():
    for spec in get_registry().variants().values():
        assert spec.networks_of("generator") and spec.networks_of("discriminator"), spec.name
    assert get_registry().variant("wgan-gp").networks_of("discriminator") == ("critic",)


class DeclaresAWrongRole:
    @hookimpl
    def ganzoo_variants(self):
        base = get_registry().variant("gan")
        return [VariantSpec("misnamed", "roles name a network it does not build", base.paper, "points", base.params,
                            "ring8", roles={"generator": ("generator",), "discriminator": ("critic",)})]

    @hookimpl
    def ganzoo_networks(self, variant, config, data):
        if variant.name == "misnamed":
            return {"generator": torch.nn.Linear(2, 2), "discriminator": torch.nn.Linear(2, 1)}


def test_the_engine_checks_declared_roles_against_the_built_networks():
    registry = get_registry()
    registry.register(DeclaresAWrongRole(), name="misnamed")
    config = make_config("misnamed", registry=registry)
    with pytest.raises(PluginError, match=r"declares discriminator network\(s\) \['critic'\] but its networks hook "
                                          r"built \['discriminator', 'generator'\]"):
        registry.networks(registry.variant("misnamed"), config, registry.dataset("ring8").build(config).info)


def test_an_addon_on_a_variant_without_that_role_says_so():
    from ganzoo.addons import networks_of

    spec = VariantSpec("bare", "", None, "images", dict, "mnist")  # type: ignore[arg-type]
    assert networks_of(spec, {"generator": 1}, "generator") == ("generator",)
    with pytest.raises(UserError, match="add-on 'spectral-norm' acts on the discriminator networks, but variant 'bare'"):
        networks_of(spec, {"generator": 1, "discriminator": 2}, "discriminator", addon="spectral-norm")
