"""ganzoo's core plugin: the built-in datasets, metrics and adversarial losses, the training step and the default sampler.

It is registered through the entry point ``core`` in the group ``ganzoo`` like any other plugin, and
answers last (``trylast``) where a variant may want to answer first.
"""

from __future__ import annotations

from functools import partial

from ganzoo.plugins import hookimpl
from ganzoo.spec import DatasetSpec, MetricSpec


def _mnist(config):
    from ganzoo.data import mnist

    return mnist.build(config)


def _torchvision(class_name: str, config):
    from ganzoo.data import vision

    return vision.build_torchvision(class_name, config)


def _folder(config):
    from ganzoo.data import vision

    return vision.build_folder(config)


def _unpaired(builder: str, config):
    from ganzoo.data import unpaired

    return getattr(unpaired, builder)(config)


def _toy(name: str, config):
    from ganzoo.data import toy

    return toy.build(name, config)


def _modes(run, **options):
    from ganzoo.metrics import modes

    return modes.compute(run, **options)


def _metric(module: str, function: str, run, **options):
    """Import a metric's module only when it runs (torchmetrics is an optional extra)."""
    import importlib

    return getattr(importlib.import_module(f"ganzoo.metrics.{module}"), function)(run, **options)


_IMAGES = ("images", "labelled-images", "unpaired-images")
_DIGITS = ("mnist", "digits-styles")


# The shapes are the data's own (``--image-size`` and ``data.channels`` change them as they change the
# data); the folder's classes are its sub-folders, known only from the files (-1).
@hookimpl
def ganzoo_datasets():
    return [
        DatasetSpec("mnist", "MNIST digits, 28 px; the 10,000 test digits ship with ganzoo (no download)", "labelled-images", _mnist, embedded=True, shape=(1, 28, 28), num_classes=10),
        DatasetSpec("fashion-mnist", "Fashion-MNIST, 28 px (torchvision; --data-root or download)", "labelled-images", partial(_torchvision, "FashionMNIST"), shape=(1, 28, 28), num_classes=10),
        DatasetSpec("cifar10", "CIFAR-10, 32 px colour (torchvision; --data-root or download)", "labelled-images", partial(_torchvision, "CIFAR10"), shape=(3, 32, 32), num_classes=10),
        DatasetSpec("folder", "an image folder (--data-root; one sub-folder per class)", "labelled-images", _folder, shape=(3, 64, 64), num_classes=-1),
        DatasetSpec("unpaired-folder", "two unpaired image domains in CycleGAN's trainA/ trainB/ testA/ testB/ layout (--data-root)", "unpaired-images", partial(_unpaired, "build_folder"), shape=(3, 256, 256)),
        DatasetSpec("digits-styles", "handwritten (embedded MNIST) vs typeset digits drawn with Pillow's font, unpaired (no download)", "unpaired-images", partial(_unpaired, "build_digit_styles"), embedded=True, shape=(1, 28, 28)),
        DatasetSpec("ring8", "8 Gaussians on the unit circle, std 0.01 (PacGAN's 2-D ring)", "points", partial(_toy, "ring8"), embedded=True, shape=(2,)),
        DatasetSpec("grid25", "25 Gaussians on a 5×5 grid, std 0.05 (PacGAN's 2-D grid)", "points", partial(_toy, "grid25"), embedded=True, shape=(2,)),
    ]


@hookimpl
def ganzoo_metrics():
    return [
        MetricSpec("modes", "mode coverage, % high-quality and reverse KL on ring8/grid25 (VEEGAN/PacGAN protocol)", ("points",), _modes),
        MetricSpec("fid", "Fréchet Inception Distance (torchmetrics; Inception weights: download, --weights or GANZOO_INCEPTION_WEIGHTS)", _IMAGES, partial(_metric, "image_metrics", "fid"), default=False),
        MetricSpec("kid", "Kernel Inception Distance, mean and std over subsets (torchmetrics)", _IMAGES, partial(_metric, "image_metrics", "kid"), default=False),
        MetricSpec("is", "Inception Score, mean and std over 10 splits (torchmetrics)", _IMAGES, partial(_metric, "image_metrics", "inception_score"), default=False),
        MetricSpec("digit-fd", "FID (MNIST classifier features): Fréchet distance in the shipped digit classifier's features (not FID)", _IMAGES, partial(_metric, "digit_metrics", "digit_fd"), datasets=_DIGITS),
        MetricSpec("classifier-score", "digit classifier's mean confidence, classes covered and class-histogram KL", ("images", "labelled-images"), partial(_metric, "digit_metrics", "classifier_score"), datasets=_DIGITS),
        MetricSpec("class-accuracy", "share of conditional samples the digit classifier reads as the asked class", ("labelled-images",), partial(_metric, "digit_metrics", "class_accuracy"), datasets=_DIGITS),
        MetricSpec("digit-preservation", "share of translated digits the classifier still reads as the input's digit", ("unpaired-images",), partial(_metric, "digit_metrics", "digit_preservation"), datasets=_DIGITS),
        MetricSpec("style-transfer", "share of translations read as the target style (handwritten/typeset) and as the input's digit, each way and back", ("unpaired-images",), partial(_metric, "style_metrics", "style_transfer"), datasets=("digits-styles",)),
    ]


@hookimpl
def ganzoo_adversarial_losses():
    from ganzoo.parts.losses import BUILTIN_LOSSES

    return list(BUILTIN_LOSSES)


@hookimpl(trylast=True)
def ganzoo_train_step(schedule, ctx):
    from ganzoo.engine.trainer import run_schedule

    return run_schedule(schedule, ctx)


@hookimpl(trylast=True)
def ganzoo_sample(variant, networks, config, n, labels, generator, device):
    import torch

    latent_dim = getattr(config.model, "latent_dim", None)
    if latent_dim is None:
        return None
    z = torch.randn(n, latent_dim, generator=generator, device=device)
    net = networks[variant.generator]
    if variant.conditional:
        if labels is None:
            raise ValueError("a conditional variant needs labels to sample")
        return net(z, labels)
    return net(z)
