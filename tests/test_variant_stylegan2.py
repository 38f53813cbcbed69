"""StyleGAN2: NVlabs' parameter counts per config, each network part and loss term on its own against
hand-computed values, the lazy players and their Adam rescaling, and truncation towards w_avg."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.errors import UserError
from ganzoo.registry import get_registry

#: (arguments of ``ganzoo info``, G, D): the counts of NVlabs' stylegan2-ada-pytorch networks, built
#: with that code's ``training/networks.py`` and train.py's ``cfg_specs`` arguments (fp16 and
#: conv_clamp as train.py sets them; they add no parameters). They equal the issue's figures.
REFERENCE_COUNTS = [
    (["--profile", "cifar", "--shape", "3,32,32", "--classes", "10", "--set", "model.conditional=true"],
     20_215_315, 23_089_664),
    (["--profile", "cifar", "--shape", "3,32,32"], 19_947_539, 20_720_641),
    (["--profile", "paper256", "--shape", "3,256,256"], 24_767_458, 24_001_089),
    (["--profile", "stylegan2", "--shape", "3,1024,1024"], 30_370_060, 29_012_513),
]


def info(args: list[str]) -> dict:
    result = CliRunner().invoke(cli, ["info", "stylegan2", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(("args", "g_params", "d_params"), REFERENCE_COUNTS, ids=lambda v: str(v)[:40])
def test_parameter_counts_equal_nvlabs_code(args, g_params, d_params):
    networks = info(args)["networks"]
    assert networks["generator"]["parameters"] == g_params
    assert networks["discriminator"]["parameters"] == d_params


def networks(shape=(3, 32, 32), classes=0, profile="cifar", **sets: str):
    registry = get_registry()
    config = make_config("stylegan2", profile=profile, overrides=sets)
    kind = "labelled-images" if classes else "images"
    return registry.networks(registry.variant("stylegan2"), config, ganzoo.DataInfo(kind, shape, classes))


def test_conditional_mapping_network_has_the_cifar_count():
    # embed 10→512 (5,632) + 1024→512 (524,800) + 512→512 (262,656)
    nets = networks(classes=10, **{"model.conditional": "true"})
    assert sum(p.numel() for p in nets["generator"].mapping.parameters()) == 793_088


def test_unsupported_image_size_is_a_one_line_error():
    with pytest.raises(UserError, match="power-of-two"):
        networks(shape=(1, 28, 28))
