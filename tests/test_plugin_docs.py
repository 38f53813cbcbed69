"""The guide for plugin authors covers every hook and every check, and its examples run."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from fakeplugins import install_fake_distribution

import ganzoo
from ganzoo import hookspecs
from ganzoo.api import make_config
from ganzoo.conformance import CHECKS
from ganzoo.registry import get_registry, reset_registry

GUIDE = Path(__file__).parents[1] / "docs" / "writing-plugins.md"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("ganzoo_"))


def guide() -> str:
    return GUIDE.read_text()


def test_every_hook_is_in_the_guide_with_a_link_to_its_spec():
    text = guide()
    for hook in HOOKS:
        assert f"[`{hook}`](../ganzoo/hookspecs.py)" in text, hook


def test_every_check_of_the_conformance_kit_is_explained():
    text = guide()
    for check in CHECKS:
        assert f"| `{check}` |" in text, check


def test_blocking_and_locating_plugins_are_documented():
    text = guide()
    for needle in ("GANZOO_DISABLE_PLUGINS", "GANZOO_STRICT_PLUGINS", "ganzoo plugins", "ganzoo new-plugin",
                   "get_registry().register(plugin", "ganzoo_registry", "ganzoo_conformance", "pytest11"):
        assert needle in text, needle


def test_every_python_block_of_the_guide_parses():
    blocks = re.findall(r"```python\n(.*?)```", guide(), re.S)
    assert len(blocks) >= 8
    for block in blocks:
        ast.parse(textwrap.dedent(block))


def test_the_guides_dataset_and_metric_example_plugs_in_and_measures(site, tmp_path):
    source = re.search(r"<!-- example: ganzoo_spiral -->\n```python\n(.*?)```", guide(), re.S).group(1)
    install_fake_distribution(site, "ganzoo-spiral", "0.1.0", {"ganzoo_spiral": source}, {"spiral": "ganzoo_spiral"})
    reset_registry()
    registry = get_registry()
    dataset = registry.dataset("spiral")
    assert dataset.package == "ganzoo-spiral" and dataset.kind == "points"
    metric = registry.metric("spiral-distance")

    class RealData:  # a stand-in run whose "samples" are the dataset's own points
        def sample(self, n, seed=0):
            return dataset.build(make_config("gan", dataset="spiral", seed=seed)).examples(n, "cpu")["real"]

    on_spiral = metric.compute(RealData(), n=1000)["distance_to_spiral"]
    result = ganzoo.train("gan", dataset="spiral", steps=2, batch_size=64, device="cpu", out=tmp_path / "run")
    untrained = metric.compute(ganzoo.load(result.run_dir, device="cpu"), n=1000)["distance_to_spiral"]
    assert on_spiral < 0.03  # the data itself lies within its noise (0.02) of the curve
    assert untrained > 5 * on_spiral, (on_spiral, untrained)


def test_the_guides_addon_example_acts_only_in_runs_that_name_it(site):
    import torch

    source = re.search(r"<!-- example: ganzoo_flip -->\n```python\n(.*?)```", guide(), re.S).group(1)
    install_fake_distribution(site, "ganzoo-flip", "0.1.0", {"ganzoo_flip": source}, {"flip": "ganzoo_flip"})
    reset_registry()
    registry = get_registry()
    assert registry.addon("flip").package == "ganzoo-flip"
    spec = registry.variant("cyclegan")
    images = torch.arange(24.0).repeat(4, 1, 24, 1)  # 4 images whose columns count 0..23

    def discriminator_inputs(**options):
        overrides = {"model.generator_width": "4", "model.discriminator_width": "4", **options.pop("overrides", {})}
        config = make_config("cyclegan", registry=registry, image_size=24, overrides=overrides, **options)
        networks = registry.networks(spec, config, ganzoo.DataInfo("unpaired-images", (1, 24, 24)))
        seen = []
        for name in ("discriminator_A", "discriminator_B"):
            networks[name].register_forward_hook(lambda m, args, out: seen.append(args[0]))
            networks[name].train()(images)
        return seen

    assert all(torch.equal(x, images) for x in discriminator_inputs())  # installed, not named: untouched
    flipped = discriminator_inputs(addons=["flip"], overrides={"flip.p": "1.0"})
    assert len(flipped) == 2 and all(torch.equal(x, images.flip(-1)) for x in flipped)
