"""Sizing networks without data: datasets declare their shape and classes; --shape and --classes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.data.declared import data_info, parse_shape
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def info(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["info", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_builtin_dataset_declares_its_shape():
    declared = {name: (spec.shape, spec.num_classes) for name, spec in get_registry().datasets().items() if spec.package == "ganzoo"}
    assert declared["mnist"] == ((1, 28, 28), 10)
    assert declared["cifar10"] == ((3, 32, 32), 10)
    assert declared["ring8"] == ((2,), 0)
    assert all(shape for shape, _ in declared.values())


def test_a_declared_shape_matches_the_data_read_from_disk():
    registry = get_registry()
    for sets in ({}, {"data.channels": "3"}):
        config = make_config("dcgan", dataset="mnist", image_size=32, overrides=sets)
        read = registry.dataset("mnist").build(config).info
        declared = data_info(registry, config)
        assert (declared.kind, declared.shape, declared.num_classes) == (read.kind, read.shape, read.num_classes)


def test_ganzoo_info_sizes_networks_for_a_dataset_that_is_not_on_disk(tmp_path):
    # before: "data folder ... does not exist"; the declared shape needs no files
    described = info("dcgan", "--dataset", "cifar10", "--set", f"data.root={tmp_path / 'absent'}")
    assert described["sample_shape"] == [3, 32, 32] and described["classes"] == 10


def test_shape_and_classes_replace_the_declared_ones():
    described = info("cgan", "--shape", "3,16,16", "--classes", "4", "--set", "model.ngf=8", "--set", "model.ndf=8")
    assert described["sample_shape"] == [3, 16, 16] and described["classes"] == 4
    # the folder dataset's classes are its sub-folders: --classes sizes it without them
    described = info("cgan", "--dataset", "folder", "--classes", "5", "--image-size", "32")
    assert described["sample_shape"] == [3, 32, 32] and described["classes"] == 5


@pytest.mark.parametrize("text", ["3,32", "a,b,c", "0,32,32", ""])
def test_a_bad_shape_is_a_usage_error(text):
    with pytest.raises(UserError, match="bad --shape"):
        parse_shape(text)
    result = CliRunner().invoke(cli, ["info", "dcgan", "--shape", text or ","])
    assert result.exit_code == 2 and "bad --shape" in result.output


def test_ganzoo_bench_takes_shape_and_classes():
    result = CliRunner().invoke(cli, ["bench", "cgan", "--shape", "3,16,16", "--classes", "4", "--steps", "1",
                                      "--warmup", "0", "--repeats", "1", "--no-pipeline", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["settings"]["shape"] == [3, 16, 16] and report["settings"]["classes"] == 4
    (scenario,) = report["scenarios"]
    assert scenario["image_size"] == 16
    result = CliRunner().invoke(cli, ["bench", "cgan", "--shape", "3,16,8", "--steps", "1"])
    assert result.exit_code == 2 and "square" in result.output
