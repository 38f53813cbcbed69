"""The shipped digit-style classifier and the ``style-transfer`` metric it serves."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from ganzoo.data.source import to_unit_range
from ganzoo.data.unpaired import digit_styles
from ganzoo.errors import UserError
from ganzoo.metrics import styles


@pytest.fixture(scope="module")
def held_out():
    """The test split of digits-styles: 1,000 digits of each style neither the classifier nor a run trained on."""
    return digit_styles("test")


def test_style_classifier_file_is_small_safetensors_loaded_in_eval_mode():
    raw = styles.weights_path().read_bytes()
    assert len(raw) < 1_000_000 and raw[8:9] == b"{"  # a JSON header, never a pickle opcode
    model = styles.load_style_classifier()
    assert not model.training
    with safe_open(str(styles.weights_path()), framework="pt") as fh:
        assert torch.equal(model.style[1].weight, fh.get_tensor("style.1.weight"))
        assert float(fh.metadata()["style_accuracy_typeset"]) >= 0.98


def test_style_classifier_reads_style_and_digit_of_held_out_digits_of_both_styles(held_out):
    for domain, style in (("A", styles.HANDWRITTEN), ("B", styles.TYPESET)):
        digit, read_style = styles.read_digits_and_styles(to_unit_range(held_out[domain]))
        style_accuracy = float((read_style == style).float().mean())
        digit_accuracy = float((digit == held_out[f"labels_{domain}"]).float().mean())
        print(f"held-out {styles.STYLES[style]}: style {style_accuracy:.3f}, digit {digit_accuracy:.3f}")
        assert style_accuracy >= 0.98 and digit_accuracy >= 0.97


def test_style_classifier_takes_colour_images_of_the_demo_size(held_out):
    images = torch.nn.functional.interpolate(to_unit_range(held_out["B"][:200]), size=32, mode="bilinear")
    digit, style = styles.read_digits_and_styles(images.repeat(1, 3, 1, 1))
    assert float((style == styles.TYPESET).float().mean()) >= 0.95
    assert float((digit == held_out["labels_B"][:200]).float().mean()) >= 0.95


# The metric, on stand-in runs whose "translation" is chosen.
# --------------------------------------------------------------------------------------------------


class StandInTranslator:
    """What the metric sees of a loaded cyclegan run, translating with ``translate(inputs, direction)``."""

    def __init__(self, translate, dataset: str = "digits-styles") -> None:
        from ganzoo.api import make_config
        from ganzoo.registry import get_registry
        from ganzoo.spec import DataInfo

        self.registry = get_registry()
        self.variant = self.registry.variant("cyclegan")
        self.config = make_config("cyclegan", image_size=28)
        self.config.dataset = dataset
        self.data_info = DataInfo("unpaired-images", (1, 28, 28))
        self.device, self.step, self.translate = torch.device("cpu"), 0, translate

    def sample(self, n, labels=None, seed=0, inputs=None, direction=None):
        return self.translate(inputs, direction)


def swap_for_same_digit_in_other_style(held_out):
    """A perfect translator: each held-out input becomes a real digit of the same label in the other style."""
    label_of = {}
    by_label = {}
    for domain in ("A", "B"):
        images = to_unit_range(held_out[domain])
        for image, label in zip(images, held_out[f"labels_{domain}"].tolist(), strict=True):
            label_of[image.numpy().tobytes()] = label
        by_label[domain] = {k: images[held_out[f"labels_{domain}"] == k][0] for k in range(10)}

    def translate(inputs, direction):
        target = "B" if direction == "AtoB" else "A"
        return torch.stack([by_label[target][label_of[x.numpy().tobytes()]] for x in inputs])

    return translate


def test_style_transfer_scores_a_perfect_translator_high_and_the_identity_map_low(held_out):
    from ganzoo.metrics.style_metrics import style_transfer

    perfect = style_transfer(StandInTranslator(swap_for_same_digit_in_other_style(held_out)), n=300)
    for key in ("style_AtoB", "style_BtoA", "kept_AtoB", "kept_BtoA", "kept_AtoBtoA", "kept_BtoAtoB"):
        assert perfect[key] > 0.9, (key, perfect)
    # Keeping every digit is not translating: the identity map changes no style.
    identity = style_transfer(StandInTranslator(lambda inputs, direction: inputs), n=300)
    assert identity["kept_AtoB"] == pytest.approx(identity["digit_real_A"]) and identity["kept_AtoB"] > 0.95
    assert identity["style_AtoB"] == pytest.approx(1 - identity["style_real_A"]) and identity["style_AtoB"] < 0.05
    assert identity["style_BtoA"] < 0.05
    # A translator that changes the style but scrambles the digits keeps about one in ten.
    scrambled = swap_for_same_digit_in_other_style(held_out)
    shuffled = style_transfer(StandInTranslator(lambda inputs, direction: scrambled(inputs, direction).roll(1, 0)), n=300)
    assert shuffled["style_AtoB"] > 0.9 and shuffled["kept_AtoB"] < 0.3


def test_style_transfer_refuses_other_data():
    from ganzoo.metrics.style_metrics import style_transfer

    with pytest.raises(UserError, match="digits-styles"):
        style_transfer(StandInTranslator(lambda inputs, direction: inputs, dataset="unpaired-folder"), n=10)
