"""ProGAN: Table 2's parameter counts at 1024², the code's growth schedule in images, fade-in in both
networks, equalised learning rate, pixel norm and minibatch stddev, Adam's reset when a layer is
added, and samples at the checkpoint's resolution."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner
from ganzoo_progan import growth, resolution_batches, schedule_at
from ganzoo_progan.networks import (
    EqualisedConv2d,
    ProDiscriminator,
    ProGenerator,
    minibatch_stddev,
    pixel_norm,
)

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.errors import UserError

TINY = {"dataset": "mnist", "image_size": 16, "batch_size": 4, "model.latent_dim": 8, "model.fmap_base": 32,
        "model.fmap_max": 8, "model.stable_images": 8, "model.fade_images": 8, "device": "cpu", "speed": "eager",
        "grid_size": 4}


def test_ganzoo_info_gives_table_2s_parameter_counts_at_1024():
    out = CliRunner().invoke(cli, ["info", "progan", "--shape", "3,1024,1024", "--json"])
    assert out.exit_code == 0, out.output
    counts = {k: v["parameters"] for k, v in json.loads(out.output)["networks"].items()}
    assert counts == {"generator": 23_079_115, "discriminator": 23_087_249}


def test_growth_follows_the_codes_schedule_in_images():
    # phases of 600k + 600k images at batch 16: 37,500 steps of stable training, 37,500 of fade-in
    at = lambda step: growth(step, 16, 600_000, 600_000, levels=8)  # noqa: E731
    assert at(0) == (0, 1.0) and at(37_499) == (0, 1.0)
    assert at(37_500) == (1, 0.0) and at(56_250) == (1, 0.5)
    assert at(75_000) == (1, 1.0) and at(112_500 + 18_750) == (2, 0.5)
    assert at(10**9) == (8, 1.0)


def test_fade_in_is_a_lerp_of_the_old_and_new_output_mirrored_by_the_discriminator():
    torch.manual_seed(0)
    G, D = ProGenerator(8, 1, 16, fmap_base=32, fmap_max=8), ProDiscriminator(1, 16, fmap_base=32, fmap_max=8)
    z = torch.randn(4, 8)
    G.grow_to(0, 1.0)
    old = torch.nn.functional.interpolate(G(z), scale_factor=2, mode="nearest")
    G.grow_to(1, 1.0)
    new = G(z)
    G.grow_to(1, 0.25)
    assert torch.allclose(G(z), torch.lerp(old, new, 0.25), atol=1e-6)
    G.grow_to(1, 0.0)
    assert torch.allclose(G(z), old, atol=1e-6)  # α = 0: the new layers are invisible
    x = torch.randn(4, 1, 8, 8)
    D.grow_to(1, 0.0)
    at_zero = D(x)
    D.grow_to(0, 1.0)
    assert torch.allclose(at_zero, D(torch.nn.functional.avg_pool2d(x, 2)), atol=1e-5)


def test_equalised_lr_pixel_norm_and_minibatch_stddev():
    conv = EqualisedConv2d(16, 8, 3)
    assert abs(conv.weight.std().item() - 1) < 0.1 and conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(16 * 9))
    x = torch.randn(2, 5, 3, 3) * 7
    assert torch.allclose(pixel_norm(x).pow(2).mean(dim=1), torch.ones(2, 3, 3), atol=1e-4)
    y = torch.randn(8, 3, 4, 4)
    out = minibatch_stddev(y, 4)
    assert out.shape == (8, 4, 4, 4)
    groups = y.reshape(4, 2, 3, 4, 4)  # member i of each group of 4 is i, i + 2, i + 4, i + 6
    expected = groups.std(dim=0, unbiased=False).mean(dim=(1, 2, 3))
    assert torch.allclose(out[:2, 3, 0, 0], expected, atol=1e-4)


def test_a_run_grows_resets_adam_at_each_new_layer_and_samples_at_the_checkpoints_resolution(tmp_path):
    # phases of 2 steps: 4 px for steps 0-1, the fade-in to 8 px from step 2
    values = {**TINY, "steps": 3, "checkpoint_every": 1}
    options = {k: values.pop(k) for k in ("dataset", "image_size", "batch_size")}
    config = make_config("progan", overrides={k: str(v) for k, v in values.items()}, **options)
    result = ganzoo.train("progan", config=config, out=tmp_path / "run")
    before = torch.load(result.run_dir / "checkpoints" / "step-00000002.pt", weights_only=True)
    assert all(int(s["step"]) == 2 for s in before["optimizers"]["generator"]["state"].values())
    saved = torch.load(result.run_dir / "checkpoints" / "step-00000003.pt", weights_only=True)
    assert int(saved["networks"]["generator"]["level"]) == 1 and float(saved["networks"]["generator"]["alpha"]) == 0.0
    assert saved["state"]["phase"] == [1, 1]
    # Adam's moments were reset when the 8 px layers were added: one update since, not three
    assert all(int(s["step"]) == 1 for s in saved["optimizers"]["generator"]["state"].values())
    assert all(int(s["step"]) == 1 for s in saved["optimizers"]["discriminator"]["state"].values())
    run = ganzoo.load(result.run_dir, device="cpu")
    images = run.sample(2, seed=0)
    assert images.shape == (2, 1, 16, 16)
    blocks = images.unfold(2, 2, 2).unfold(3, 2, 2)  # 8 px, enlarged: each 2×2 block is one value
    assert torch.equal(blocks.amax(dim=(-1, -2)), blocks.amin(dim=(-1, -2)))


def test_per_resolution_batch_sizes_count_the_images_each_step_really_showed():
    # the paper's sizes (appendix A.1) on a short schedule: 16 up to 128², then 14, 6, 3
    batches = resolution_batches(["256:14", "512:6", "1024:3"], 16, 1024)
    batch_of_level = lambda level: batches.get(4 * 2**level, 16)  # noqa: E731
    stable, fade, levels, start = 100, 60, 8, 7
    images, seen = start, []
    for step in range(400):  # the walk step by step, as the code's loop adds each minibatch
        phase, within = divmod(images, stable + fade)
        level, alpha = (levels, 1.0) if phase >= levels else (phase, 1.0) if within < stable else (phase + 1, (within - stable) / fade)
        batch = batch_of_level(level)
        assert schedule_at(step, batch_of_level, stable, fade, levels, start) == (level, alpha, batch), step
        seen.append(batch)
        images += batch
    assert {16, 14, 6, 3} <= set(seen) and seen[-1] == 3
    assert resolution_batches(["256:14"], 16, 32) == {256: 14}  # a resolution the run never reaches


@pytest.mark.parametrize("entries, match", [(["256-14"], "RES:BATCH"), (["12:4"], "power of two"), (["8:0"], "BATCH 1"),
                                            (["8:32"], "asks for 32 images at 8².*--batch-size 32")])
def test_bad_per_resolution_batch_sizes_are_refused_with_the_fix(entries, match):
    with pytest.raises(UserError, match=match):
        resolution_batches(entries, 16, 32)


def test_a_run_shows_each_resolution_its_own_batch(tmp_path):
    seen: list[tuple[int, int]] = []

    def record(module, inputs):
        if next(module.parameters()).requires_grad:  # the discriminator's own update: reals and fakes
            seen.append((inputs[0].shape[0], inputs[0].shape[-1]))

    class WatchDiscriminator:
        @ganzoo.hookimpl(wrapper=True)
        def ganzoo_networks(self, variant):
            networks = yield
            if variant.name == "progan":
                networks["discriminator"].register_forward_pre_hook(record)
            return networks

    from ganzoo.registry import get_registry

    registry = get_registry()
    registry.register(WatchDiscriminator(), name="watch-discriminator")
    # phases of 8 images: 4 px at batch 4 (2 steps), the fade-in to 8 px at batch 2 (4 steps)
    values = {**TINY, "steps": 4, "model.batch_per_resolution": "8:2"}
    options = {k: values.pop(k) for k in ("dataset", "image_size", "batch_size")}
    try:
        config = make_config("progan", overrides={k: str(v) for k, v in values.items()}, **options)
        ganzoo.train("progan", config=config, out=tmp_path / "run")
    finally:
        registry.unregister("watch-discriminator")
    shapes = sorted(set(seen))
    assert (4, 4) in shapes and (2, 8) in shapes and (2, 4) not in shapes and (4, 8) not in shapes
    with pytest.raises(UserError, match="--batch-size 8"):
        bad = make_config("progan", overrides={k: str(v) for k, v in {**values, "model.batch_per_resolution": "8:8"}.items()}, **options)
        ganzoo.train("progan", config=bad, out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


#: The learning check: grown 4→8→16 px in phases of 100 steps (3,200 images) with narrow networks,
#: 700 steps of batch 32 (the last 300 at 16 px), EMA 0.9. CPU digit classifiers read little at
#: 16 px, so it is scored by the Fréchet distance of the samples' pixels to the real digits' at 16 px
#: (2,000 each), against an untrained generator of the same shape and seed. Measured on a shared
#: 2-core CPU (one thread, about 45 s of CPU time each): 13.1 against 76.3 untrained (ratio 0.17) at seed 0,
#: 43.7/419.8 (0.10) at seed 1, 53.3/392.2 (0.14) at seed 2. The bar is twice the worst seed's ratio.
#: It fails without learning: with a learning rate of 1e-12 the distance stayed at 77.3 (ratio 1.01);
#: with the generator's loss sign flipped it rose to 842.5 (ratio 11).
LEARNING_SIZE, LEARNING_STEPS, LEARNING_PHASE = 16, 700, 100
LEARNING_SETTINGS = {"steps": LEARNING_STEPS, "model.fmap_base": 128, "model.fmap_max": 32, "model.latent_dim": 32,
                     "model.stable_images": LEARNING_PHASE * 32, "model.fade_images": LEARNING_PHASE * 32,
                     "model.ema_decay": 0.9, "device": "cpu", "speed": "eager", "sample_every": LEARNING_STEPS,
                     "checkpoint_every": LEARNING_STEPS, "log_every": 100}
MAX_DISTANCE_RATIO = 0.35


@pytest.mark.slow
def test_a_short_grown_run_draws_pixels_far_closer_to_the_digits_than_an_untrained_generator(tmp_path):
    from ganzoo.metrics.distances import frechet_distance
    from ganzoo.metrics.reference import build_source, real_samples

    config = make_config("progan", dataset="mnist", image_size=LEARNING_SIZE, batch_size=32, seed=0, profile="demo",
                         overrides={k: str(v) for k, v in LEARNING_SETTINGS.items()})
    result = ganzoo.train("progan", config=config, out=tmp_path / "run")
    run = ganzoo.load(result.run_dir, device="cpu")
    assert int(run.networks["generator"].level) == 2  # grown to 16 px
    n = 2000
    real = real_samples(build_source(run), n, seed=0)["real"].flatten(1)
    torch.manual_seed(0)
    p = config.model
    untrained = ProGenerator(p.latent_dim, 1, LEARNING_SIZE, p.fmap_base, p.fmap_max)
    untrained.grow_to(untrained.levels, 1.0)
    with torch.no_grad():
        before = untrained(torch.randn(n, p.latent_dim)).clamp(-1, 1).flatten(1)
    trained = frechet_distance(real, run.sample(n, seed=1).flatten(1))
    untrained_distance = frechet_distance(real, before)
    print(f"progan: pixel Fréchet distance at 16 px {trained:.1f}, untrained {untrained_distance:.1f}")
    assert trained < MAX_DISTANCE_RATIO * untrained_distance
