"""``ganzoo sample`` into an .npz draws and writes a chunk at a time: memory holds one chunk, not
``--n`` samples, and the file holds the same samples (and labels) as one draw would."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from reliability_helpers import ReliabilityVariants
from test_crash_safety import RUN_ARGS

import ganzoo
from ganzoo.api import LoadedRun
from ganzoo.cli import sample as sample_cmd
from ganzoo.cli.main import cli
from ganzoo.engine.images import to_uint8
from ganzoo.registry import get_registry


@pytest.mark.parametrize("variant", ["gan", "tiny-cond"])
def test_an_npz_is_written_a_chunk_at_a_time_with_the_samples_of_one_draw(variant, tmp_path, monkeypatch):
    get_registry().register(ReliabilityVariants(), name="reliability-variants")
    run_dir = tmp_path / "run"
    args = RUN_ARGS if variant == "gan" else ["--batch-size", "10", "--device", "cpu", "--quiet", "--set", "speed=eager"]
    trained = CliRunner().invoke(cli, ["run", variant, *args, "--steps", "2", "--out", str(run_dir)])
    assert trained.exit_code == 0, trained.output
    drawn = []
    real_sample = LoadedRun.sample

    def counting_sample(self, n, *args, **kwargs):
        drawn.append(n)
        return real_sample(self, n, *args, **kwargs)

    monkeypatch.setattr(LoadedRun, "sample", counting_sample)
    n = 3 * sample_cmd.CHUNK + 7
    result = CliRunner().invoke(cli, ["sample", str(run_dir), "--n", str(n), "--seed", "3", "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.output
    assert max(drawn) <= sample_cmd.CHUNK
    monkeypatch.undo()

    run = ganzoo.load(run_dir, device="cpu")
    arrays = np.load(tmp_path / "s.npz")
    if variant == "gan":
        assert set(arrays.files) == {"images"}
        expected = to_uint8(run.sample(n, seed=3)).numpy()
    else:
        per = n // run.data_info.num_classes  # a row per class, n rounded down to whole rows
        labels = torch.arange(run.data_info.num_classes).repeat_interleave(per)
        assert np.array_equal(arrays["labels"], labels.numpy())
        expected = to_uint8(run.sample(len(labels), labels=labels, seed=3)).numpy()
    assert arrays["images"].dtype == np.uint8 and np.array_equal(arrays["images"], expected)
    assert sum(drawn) == len(expected) == (n if variant == "gan" else n - n % run.data_info.num_classes)
