"""CoGAN: the code's coupled networks (shared layers, own heads, one z) and their parameter counts,
the paper's optimiser, the unpaired digit domains, pairs from ``ganzoo sample``, and a short check
that the two domains learn the same digit from one z."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from ganzoo_cogan.data import coupled_digits, edges
from ganzoo_cogan.networks import CoupledDiscriminator, CoupledGenerator
from PIL import Image

import ganzoo
from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.registry import get_registry

TINY = {"batch_size": 4, "model.latent_dim": 8, "model.width": 4, "device": "cpu", "speed": "eager", "grid_size": 4}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_ganzoo_info_gives_the_codes_parameter_counts_at_28_px():
    out = CliRunner().invoke(cli, ["info", "cogan", "--json"])
    assert out.exit_code == 0, out.output
    info = json.loads(out.output)
    assert {k: v["parameters"] for k, v in info["networks"].items()} == {"generator": 7_842_694, "discriminator": 427_593}
    assert "quarter" in info["profile_notes"]["demo"]
    generator, discriminator = CoupledGenerator(), CoupledDiscriminator()
    assert count(generator.shared) == 7_833_476
    assert [count(head) for head in generator.heads.values()] == [4_609, 4_609]
    assert [count(head) for head in discriminator.heads.values()] == [520, 520]
    assert count(discriminator.shared) == 427_593 - 2 * 520


def test_one_z_feeds_both_generators_which_share_all_but_their_last_layer():
    torch.manual_seed(0)
    generator = CoupledGenerator(latent_dim=8, width=4).eval()
    z = torch.randn(3, 8)
    a, b = generator(z).chunk(2, dim=1)
    assert a.shape == b.shape == (3, 1, 28, 28) and a.min() >= -1 and a.max() <= 1
    with torch.no_grad():
        generator.heads["B"].weight.add_(1.0)
    a2, b2 = generator(z).chunk(2, dim=1)
    assert torch.equal(a, a2) and not torch.allclose(b, b2)  # B's head is B's alone
    with torch.no_grad():
        generator.shared[0].weight.add_(0.5)
    a3, b3 = generator(z).chunk(2, dim=1)
    assert not torch.allclose(a, a3) and not torch.allclose(b2, b3)  # the shared layers move both


def test_discriminators_have_their_own_first_layer_and_share_the_rest():
    torch.manual_seed(0)
    discriminator = CoupledDiscriminator()
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    before = discriminator(x, x)
    with torch.no_grad():
        discriminator.heads["A"][0].weight.add_(1.0)
    after = discriminator(x, x)
    assert not torch.allclose(before[:2], after[:2]) and torch.equal(before[2:], after[2:])


def test_the_optimisers_are_the_papers():
    registry = get_registry()
    config = make_config("cogan", profile="paper")
    assert config.batch_size == 64 and config.dataset == "digits-negatives"
    networks = {"generator": CoupledGenerator(width=4), "discriminator": CoupledDiscriminator()}
    schedule = registry.schedule(registry.variant("cogan"), config, networks)
    assert [p.name for p in schedule.players] == ["discriminator", "generator"]
    for player in schedule.players:
        group = player.optimizer.param_groups[0]
        assert isinstance(player.optimizer, torch.optim.Adam)
        assert (group["lr"], group["betas"], group["weight_decay"]) == (2e-4, (0.5, 0.999), 5e-4)


def test_the_domains_are_unpaired_halves_of_the_digits_with_edges_or_negatives_in_b():
    dot = torch.zeros(1, 1, 5, 5, dtype=torch.uint8)
    dot[0, 0, 2, 2] = 200
    ring = torch.zeros(5, 5, dtype=torch.uint8)
    ring[1:4, 1:4] = 200
    ring[2, 2] = 0
    assert torch.equal(edges(dot)[0, 0], ring)  # dilate3x3(x) - x
    negatives = coupled_digits("digits-negatives")
    assert negatives["A"].shape == negatives["B"].shape == (4500, 1, 28, 28)
    originals = {bytes((255 - image).flatten().tolist()) for image in negatives["B"]}
    assert not any(bytes(image.flatten().tolist()) in originals for image in negatives["A"])  # no digit in both
    edge = coupled_digits("digits-edges")
    assert torch.equal(edge["A"], negatives["A"])  # the same split
    assert (edge["B"].float().mean() < edge["A"].float().mean()) and edge["B"].max() > 0


def test_sample_writes_pairs_from_one_z_as_npz_and_a_side_by_side_grid(tmp_path):
    config = make_config("cogan", steps=2, overrides={k: str(v) for k, v in TINY.items()})
    result = ganzoo.train("cogan", config=config, out=tmp_path / "run")
    run = ganzoo.load(result.run_dir, device="cpu")
    expected = run.variant.split_domains(run.sample(5, seed=3))
    out = CliRunner().invoke(cli, ["sample", str(result.run_dir), "--n", "5", "--seed", "3", "--out", str(tmp_path / "pairs.npz")])
    assert out.exit_code == 0, out.output
    pairs = np.load(tmp_path / "pairs.npz")
    assert sorted(pairs.files) == ["images_A", "images_B"]
    for domain in ("A", "B"):
        assert pairs[f"images_{domain}"].dtype == np.uint8 and pairs[f"images_{domain}"].shape == (5, 28, 28, 1)
        want = expected[domain].add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        assert np.array_equal(pairs[f"images_{domain}"], want)
    out = CliRunner().invoke(cli, ["sample", str(result.run_dir), "--n", "4", "--out", str(tmp_path / "pairs.png")])
    assert out.exit_code == 0, out.output
    assert Image.open(tmp_path / "pairs.png").size == (4 * 30 + 2, 2 * 30 + 2)  # 2 pairs per row, 2 rows
    out = CliRunner().invoke(cli, ["sample", str(result.run_dir), "--direction", "AtoB", "--out", str(tmp_path / "x.png")])
    assert out.exit_code == 2 and "drop --direction" in out.output


def test_pair_agreement_reads_a_and_the_inverse_of_b_and_counts_the_digits_drawn():
    from types import SimpleNamespace

    from ganzoo_cogan.metrics import pair_agreement

    digits = coupled_digits("digits-negatives")["A"][:300].float() / 127.5 - 1  # real digits in [-1, 1]
    shuffled = digits[torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))]

    def run_drawing(a, b):
        return SimpleNamespace(variant=get_registry().variant("cogan"), device="cpu",
                               sample=lambda n, seed: torch.cat([a[:n], b[:n]], dim=1))

    same = pair_agreement(run_drawing(digits, -digits), n=300)  # B is the negative of A's digit
    other = pair_agreement(run_drawing(digits, -shuffled), n=300)  # B is the negative of another digit
    assert same["agreement"] == 1.0 and same["digits_drawn_A"] == 10 and same["mean_confidence_B_inverse"] > 0.9
    assert other["agreement"] < 0.25
    blank = pair_agreement(run_drawing(torch.full_like(digits, -1), torch.ones_like(digits)), n=300)
    assert blank["digits_drawn_A"] == 1  # one digit read in every blank image


def test_ganzoo_eval_scores_a_cogan_run_by_its_pairs_and_refuses_other_variants(tmp_path):
    from types import SimpleNamespace

    from ganzoo_cogan.metrics import pair_agreement

    from ganzoo.errors import UserError

    config = make_config("cogan", steps=2, overrides={k: str(v) for k, v in TINY.items()})
    result = ganzoo.train("cogan", config=config, out=tmp_path / "run")
    out = CliRunner().invoke(cli, ["eval", str(result.run_dir), "--n", "50", "--json"])
    assert out.exit_code == 0, out.output
    values = json.loads((result.run_dir / "eval.json").read_text())["metrics"]["pair-agreement"]["values"]
    assert set(values) == {"agreement", "digits_drawn_A", "mean_confidence_A", "mean_confidence_B_inverse"}
    assert 0 <= values["agreement"] <= 1
    translator = SimpleNamespace(variant=get_registry().variant("cyclegan"))
    with pytest.raises(UserError, match="one z"):
        pair_agreement(translator)


#: The learning check: the demo profile with a generator of width 16, batch 64, 250 steps, seed 0.
#: Measured on a shared 2-core CPU (1,000 pairs each): the classifier reads the same digit in A and
#: in the inverse of B for 51.9 %, 43.6 % and 50.9 % of pairs at seeds 0, 1 and 2 (48.8 ± 4.5 %);
#: two independent digits agree 10 % of the time. 150 steps were too few: 32.9 %, 44.5 % and 14.0 %
#: (seed 2 had not learned yet). The bar is the lowest seed's rate less a margin. The demo profile
#: (width 32, 750 steps) reaches 76.6 %, 74.5 % and 79.0 % at seeds 0-2 (76.7 ± 2.3 %, docs/evaluation.md);
#: this test's shorter, narrower run is held to its own measured rates. Agreement alone
#: does not show learning: the untrained coupled generator (lr 1e-12, 250 steps) draws blobs that the
#: classifier reads as an 8 or a 9 in both domains, which agree for 70.3 % of pairs. So the A images
#: must also be digits of most classes: the trained seeds drew every digit in at least 2 % of their A
#: images, the untrained generator two.
LEARNING_STEPS = 250
LEARNING_SETTINGS = {"steps": LEARNING_STEPS, "model.width": 16, "device": "cpu", "speed": "eager",
                     "sample_every": LEARNING_STEPS, "checkpoint_every": LEARNING_STEPS, "log_every": 100}
MIN_AGREEMENT = 0.35
#: Digits each drawn in at least 2 % of the A images.
MIN_DIGITS_DRAWN = 8


@pytest.mark.slow
def test_both_domains_draw_the_same_digit_from_one_z(tmp_path):
    from ganzoo_cogan.metrics import pair_agreement

    config = make_config("cogan", dataset="digits-negatives", profile="demo", batch_size=64, seed=0,
                         overrides={k: str(v) for k, v in LEARNING_SETTINGS.items()})
    result = ganzoo.train("cogan", config=config, out=tmp_path / "run")
    scores = pair_agreement(ganzoo.load(result.run_dir, device="cpu"), n=1000, seed=1)
    print(f"cogan: the classifier reads the same digit in A and in the inverse of B for {scores['agreement']:.1%} "
          f"of pairs; {scores['digits_drawn_A']:.0f} digits in A")
    assert scores["digits_drawn_A"] >= MIN_DIGITS_DRAWN
    assert scores["agreement"] > MIN_AGREEMENT
