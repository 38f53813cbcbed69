"""The vanilla GAN learns: on ring8, its samples cover most modes under the "within 3 std" rule."""

from __future__ import annotations

import ganzoo
from ganzoo.data.toy import mixture
from ganzoo.metrics.modes import mode_coverage


def test_gan_learns_ring8_modes(tmp_path):
    result = ganzoo.train("gan", dataset="ring8", steps=2000, batch_size=256, seed=0, log_every=500,
                          sample_every=2000, checkpoint_every=2000, out=tmp_path / "run")
    run = ganzoo.load(result.run_dir)
    means, std = mixture("ring8")
    coverage = mode_coverage(run.sample(2500, seed=1), means, std)
    assert coverage["modes_covered"] >= 6, coverage
    assert coverage["high_quality_pct"] > 5, coverage
