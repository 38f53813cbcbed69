"""The scenarios of ``ganzoo bench``: each variant at the batch and image size its paper (or the
common recipe) trains at, and a ``small`` size that CI and CPUs can afford.

A scenario names its variant; the plain loop it is compared with is ``reference/<variant>.py``.
Scenarios of variants that are not installed are skipped with a note.
"""

from ganzoo.bench.scenarios import Scenario

SCENARIOS = [
    Scenario(
        name="gan-mnist28",
        variant="gan",
        summary="MLP GAN on MNIST 28×28, batch 64 (Goodfellow et al. 2014; the classic PyTorch recipe)",
        batch_size=64,
        image_size=28,
        channels=1,
        pipeline_dataset="mnist",
    ),
    Scenario(
        name="gan-overhead",
        variant="gan",
        summary="a tiny MLP GAN, batch 16: so little arithmetic that the loop's own cost shows",
        batch_size=16,
        image_size=28,
        channels=1,
        overrides={"model.generator_widths": "32,32,32,32", "model.discriminator_widths": "32,32"},
        pipeline_dataset="mnist",
    ),
    Scenario(
        name="dcgan-64",
        variant="dcgan",
        summary="DCGAN at 64×64 RGB, batch 128 (Radford et al. 2016; pytorch/examples dcgan)",
        batch_size=128,
        image_size=64,
        channels=3,
        small={"batch_size": 16, "image_size": 32, "model.ngf": 16, "model.ndf": 16},
        pipeline_dataset="folder",
        pipeline_folder="classes",
    ),
    Scenario(
        name="cgan-32",
        variant="cgan",
        summary="conditional DCGAN on 32×32 digits, batch 100, y fed to both players (Mirza & Osindero 2014)",
        batch_size=100,
        image_size=32,
        channels=1,
        num_classes=10,
        small={"batch_size": 16, "model.ngf": 16, "model.ndf": 16},
        pipeline_dataset="mnist",
    ),
    Scenario(
        name="wgan-gp-64",
        variant="wgan-gp",
        summary="WGAN-GP at 64×64 RGB, batch 64, 5 critic steps with the gradient penalty (Gulrajani et al. 2017)",
        batch_size=64,
        image_size=64,
        channels=3,
        small={"batch_size": 8, "image_size": 32, "model.ngf": 16, "model.ndf": 16},
        pipeline_dataset="folder",
        pipeline_folder="classes",
    ),
    Scenario(
        name="cyclegan-256-b1",
        variant="cyclegan",
        summary="CycleGAN at 256×256, batch 1: the paper's setting (Zhu et al. 2017)",
        batch_size=1,
        image_size=256,
        channels=3,
        small={"image_size": 32, "model.generator_width": 8, "model.discriminator_width": 8},
        pipeline_dataset="unpaired-folder",
        pipeline_folder="unpaired",
    ),
    Scenario(
        name="cyclegan-256-b8",
        variant="cyclegan",
        summary="CycleGAN at 256×256, batch 8: the same model with a batch that can fill a GPU",
        batch_size=8,
        image_size=256,
        channels=3,
        small={"batch_size": 4, "image_size": 32, "model.generator_width": 8, "model.discriminator_width": 8},
        pipeline_dataset="unpaired-folder",
        pipeline_folder="unpaired",
    ),
]
