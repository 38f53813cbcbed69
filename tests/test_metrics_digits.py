"""The shipped digit classifier: safe loading, accuracy on held-out embedded digits, input handling."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from ganzoo.data.mnist import embedded_mnist
from ganzoo.data.source import to_unit_range
from ganzoo.metrics import digits


@pytest.fixture(scope="module")
def held_out():
    images, labels = embedded_mnist()
    _, index = digits.held_out_split()
    return to_unit_range(images[index]), labels[index]


def test_classifier_file_is_small_safetensors_with_no_pickle():
    raw = digits.weights_path().read_bytes()
    assert len(raw) < 1_000_000
    # A safetensors file starts with the 8-byte header length and a JSON header, never a pickle opcode.
    header_len = int.from_bytes(raw[:8], "little")
    assert raw[8:9] == b"{" and header_len < len(raw)
    with safe_open(str(digits.weights_path()), framework="pt") as fh:
        assert "head.1.weight" in fh.keys()
        assert float(fh.metadata()["held_out_accuracy"]) >= 0.98


def test_classifier_loads_in_eval_mode_with_shipped_weights():
    model = digits.load_digit_classifier()
    assert not model.training
    with safe_open(str(digits.weights_path()), framework="pt") as fh:
        assert torch.equal(model.head[1].weight, fh.get_tensor("head.1.weight"))


def test_classifier_is_accurate_on_held_out_embedded_digits(held_out):
    images, labels = held_out
    predicted, confidence = digits.classify_digits(images)
    assert predicted.dtype == torch.int64 and predicted.shape == labels.shape
    assert float((predicted == labels).float().mean()) >= 0.98
    assert float(confidence.min()) >= 0.1 and float(confidence.max()) <= 1.0
    assert float(confidence.mean()) > 0.9


def test_classifier_accepts_colour_images_of_other_sizes(held_out):
    images, labels = held_out
    images, labels = images[:200], labels[:200]
    big = torch.nn.functional.interpolate(images, size=64, mode="bilinear").repeat(1, 3, 1, 1)
    predicted, _ = digits.classify_digits(big)
    assert float((predicted == labels).float().mean()) >= 0.95


def test_the_classifier_is_unsure_of_what_is_not_a_digit(held_out):
    """Its confidence is a legibility score: high on digits, low on noise and on a digit's pixels
    shuffled (the same ink, no shape), which it was taught with outlier exposure."""
    images, _ = held_out
    generator = torch.Generator().manual_seed(123)
    noise = torch.rand(300, 1, 28, 28, generator=generator) * 2 - 1
    shuffled = images[:300].flatten(1)[:, torch.randperm(784, generator=generator)].view(-1, 1, 28, 28)
    _, on_digits = digits.classify_digits(images[:300])
    _, on_noise = digits.classify_digits(noise)
    _, on_shuffled = digits.classify_digits(shuffled)
    assert float(on_digits.mean()) > 0.95
    assert float(on_noise.mean()) < 0.5 and float(on_shuffled.mean()) < 0.5


def test_features_are_penultimate_and_batched(held_out):
    images, _ = held_out
    features = digits.digit_features(images[:1500] if len(images) >= 1500 else torch.cat([images, images]))
    assert features.shape[1] == digits.FEATURES and features.dtype == torch.float64
    model = digits.load_digit_classifier()
    with torch.no_grad():
        logits = model.head(features[:10].float())
        assert torch.allclose(logits, model(images[:10]), atol=1e-4)


def test_bad_image_shape_is_rejected():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        digits.classify_digits(torch.zeros(2, 2, 28, 28))


# --------------------------------------------------------------------------------------------------
# The digit metrics, on stand-in runs whose "generator" returns known images.
# --------------------------------------------------------------------------------------------------


class StandInRun:
    """What a metric sees of a LoadedRun, with a generator that returns the images we choose."""

    def __init__(self, tmp_path, dataset: str, draw, conditional: bool = False, kind: str = "labelled-images"):
        import dataclasses

        from ganzoo.api import make_config
        from ganzoo.registry import get_registry
        from ganzoo.spec import DataInfo

        self.registry = get_registry()
        gan = self.registry.variant("gan")
        self.variant = dataclasses.replace(gan, data_kind="labelled-images") if conditional else gan
        self.config = make_config("gan", dataset=dataset if dataset != "digits-styles" else "mnist")
        self.config.dataset = dataset
        self.data_info = DataInfo(kind, (1, 28, 28), 10)
        self.run_dir, self.device, self.step, self.draw = tmp_path, torch.device("cpu"), 0, draw

    def sample(self, n, labels=None, seed=0, inputs=None, direction=None):
        return self.draw(n, labels, inputs)


@pytest.fixture(scope="module")
def mnist():
    images, labels = embedded_mnist()
    return to_unit_range(images), labels


def test_classifier_score_of_real_digits_is_confident_and_covers_every_class(tmp_path, mnist):
    from ganzoo.metrics import digit_metrics

    real = StandInRun(tmp_path, "mnist", lambda n, labels, inputs: mnist[0][:n])
    score = digit_metrics.classifier_score(real, n=2000)
    assert score["classes_covered"] == 10 and score["mean_confidence"] > 0.9 and score["class_kl"] < 0.05
    one_digit = mnist[0][mnist[1] == 3][:500]
    collapsed = StandInRun(tmp_path, "mnist", lambda n, labels, inputs: one_digit[:n])
    score = digit_metrics.classifier_score(collapsed, n=500)
    # A handful of misreads may add a class or two; the histogram still says "one digit".
    assert score["classes_covered"] <= 4 and score["class_kl"] > 1.8  # log 10 = 2.30 for one class


def test_digit_fd_is_small_for_real_digits_and_large_for_noise(tmp_path, mnist):
    from ganzoo.metrics import digit_metrics

    # Generated = a different part of the same digits than the reference pick: near zero, not zero.
    real = StandInRun(tmp_path / "a", "mnist", lambda n, labels, inputs: mnist[0].flip(0)[:n])
    noise = StandInRun(tmp_path / "b", "mnist", lambda n, labels, inputs: torch.rand(n, 1, 28, 28) * 2 - 1)
    close = digit_metrics.digit_fd(real, n=1000)["digit_fd"]
    far = digit_metrics.digit_fd(noise, n=1000)["digit_fd"]
    assert 0 < close < far / 10
    assert list((tmp_path / "a" / "eval").glob("digit-features-*.safetensors")), "reference features cached"


def test_class_accuracy_reads_the_asked_digit(tmp_path, mnist):
    from ganzoo.metrics import digit_metrics

    by_class = [mnist[0][mnist[1] == k] for k in range(10)]

    def obedient(n, labels, inputs):
        return torch.stack([by_class[int(k)][i // 10] for i, k in enumerate(labels)])

    def ignores_labels(n, labels, inputs):
        return mnist[0][:n]

    assert digit_metrics.class_accuracy(StandInRun(tmp_path, "mnist", obedient, conditional=True), n=500)["class_accuracy"] > 0.97
    wrong = digit_metrics.class_accuracy(StandInRun(tmp_path, "mnist", ignores_labels, conditional=True), n=500)
    assert wrong["class_accuracy"] < 0.3 and wrong["worst_class_accuracy"] < 0.3
    from ganzoo.errors import UserError

    with pytest.raises(UserError, match="conditional"):
        digit_metrics.class_accuracy(StandInRun(tmp_path, "mnist", obedient), n=10)


def test_digit_preservation_of_identity_and_scrambling_translations(tmp_path):
    from ganzoo.metrics import digit_metrics

    identity = StandInRun(tmp_path, "digits-styles", lambda n, labels, inputs: inputs, kind="unpaired-images")
    kept = digit_metrics.digit_preservation(identity, n=300)
    # Translating nothing keeps every digit the classifier can read: the score is its accuracy.
    assert kept["preserved_AtoB"] == pytest.approx(kept["classifier_accuracy_real_A"])
    assert kept["preserved_BtoA"] == pytest.approx(kept["classifier_accuracy_real_B"])
    assert kept["preserved_AtoB"] > 0.97
    scrambled = StandInRun(tmp_path, "digits-styles", lambda n, labels, inputs: inputs.roll(1, 0), kind="unpaired-images")
    assert digit_metrics.digit_preservation(scrambled, n=300)["preserved_AtoB"] < 0.3
