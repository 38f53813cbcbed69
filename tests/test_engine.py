"""The training loop: the run folder it writes, seeding, checkpoints and fixed sample noise."""

from __future__ import annotations

import json

import pytest
import tomllib
import torch

import ganzoo
from ganzoo.engine import checkpoint as ckpt


def losses(run_dir):
    return [{k: v for k, v in json.loads(line).items() if "/" in k and not k.startswith("lr/")}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring") / "run"
    ganzoo.train("gan", dataset="ring8", steps=40, batch_size=64, log_every=10, sample_every=20,
                 checkpoint_every=20, seed=7, out=out)
    return out


def test_run_folder_holds_everything_a_later_command_needs(ring_run):
    assert {p.name for p in ring_run.iterdir()} >= {"config.toml", "run.json", "metrics.jsonl", "samples", "checkpoints"}
    assert sorted(p.name for p in (ring_run / "samples").iterdir()) == ["step-20.png", "step-40.png"]
    assert (ring_run / "checkpoints" / "latest").read_text().strip() == "step-00000040.pt"
    saved = tomllib.loads((ring_run / "config.toml").read_text())
    assert saved["variant"] == "gan" and saved["dataset"] == "ring8" and saved["seed"] == 7
    assert saved["model"]["lr"] == 2e-4
    records = [json.loads(line) for line in (ring_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert {"discriminator/real", "discriminator/fake", "generator/adv", "images_per_s", "lr/generator"} <= set(records[0])


def test_tensorboard_events_are_written_when_installed(ring_run):
    pytest.importorskip("tensorboard")
    assert any((ring_run / "tensorboard").iterdir())


def test_training_changes_the_weights_and_checkpoints_load_safely(ring_run):
    payload = ckpt.load_checkpoint(ring_run / "checkpoints" / "step-00000040.pt")
    first = ckpt.load_checkpoint(ring_run / "checkpoints" / "step-00000020.pt")
    assert payload["step"] == 40 and payload["variant"] == "gan"
    assert set(payload["optimizers"]) == {"discriminator", "generator"}
    weight = "model.0.weight"
    assert not torch.equal(payload["networks"]["generator"][weight], first["networks"]["generator"][weight])


def test_same_seed_gives_the_same_losses_and_another_seed_does_not(ring_run, tmp_path):
    again = tmp_path / "again"
    ganzoo.train("gan", dataset="ring8", steps=40, batch_size=64, log_every=10, sample_every=20,
                 checkpoint_every=20, seed=7, out=again)
    assert losses(again) == losses(ring_run)
    other = tmp_path / "other"
    ganzoo.train("gan", dataset="ring8", steps=10, batch_size=64, log_every=10, seed=8, out=other)
    assert losses(other)[0] != losses(ring_run)[0]


def test_sampling_is_repeatable_for_a_seed(ring_run):
    run = ganzoo.load(ring_run)
    assert torch.equal(run.sample(16, seed=3), run.sample(16, seed=3))
    assert not torch.equal(run.sample(16, seed=3), run.sample(16, seed=4))


def test_atomic_write_leaves_no_partial_file_when_the_writer_fails(tmp_path):
    def failing(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ckpt.atomic_write_bytes(tmp_path / "step-00000001.pt", failing)
    assert list(tmp_path.iterdir()) == []


def test_only_the_last_k_checkpoints_are_kept(tmp_path):
    ganzoo.train("gan", dataset="ring8", steps=6, batch_size=16, checkpoint_every=1, keep_checkpoints=2, out=tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").glob("*.pt")) == ["step-00000005.pt", "step-00000006.pt"]
