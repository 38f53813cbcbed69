"""Unpaired data: CycleGAN's trainA/ trainB/ testA/ testB/ folders and the embedded digit styles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganzoo.api import make_config
from ganzoo.cli.main import cli
from ganzoo.data import unpaired
from ganzoo.errors import UserError
from ganzoo.registry import get_registry

CPU = torch.device("cpu")


def write_images(folder: Path, count: int, size=(40, 30), colour=None, suffix=".png") -> list[Path]:
    """``count`` RGB images with a bright left half (so a horizontal flip is visible)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        array = np.zeros((size[1], size[0], 3), dtype=np.uint8)
        array[:, : size[0] // 2] = colour if colour is not None else (40 * i % 255, 200, 100)
        path = folder / f"img{i}{suffix}"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def cyclegan_layout(tmp_path) -> Path:
    root = tmp_path / "apples2oranges"
    write_images(root / "trainA", 3, colour=(255, 0, 0))
    write_images(root / "trainB", 5, colour=(0, 0, 255), suffix=".jpg")
    write_images(root / "testA", 2, colour=(255, 0, 0))
    write_images(root / "testB", 1, colour=(0, 0, 255))
    return root


def build(dataset: str, **options):
    registry = get_registry()
    config = make_config("cyclegan", registry=registry, dataset=dataset, **options)
    return registry.dataset(config.dataset).build(config)


def test_unpaired_folder_reads_the_cyclegan_layout_into_batches_of_A_and_B(cyclegan_layout):
    source = build("unpaired-folder", data_root=cyclegan_layout, image_size=32, overrides={"data.workers": "0"})
    assert source.info.kind == "unpaired-images"
    assert source.info.shape == (3, 32, 32)
    assert source.info.size == 5  # an epoch is max(|A|, |B|), as in the reference code
    batch = next(source.batches(4, seed=0, device=CPU))
    assert set(batch) == {"A", "B"}
    assert batch["A"].shape == batch["B"].shape == (4, 3, 32, 32)
    assert batch["A"].min() >= -1 and batch["A"].max() <= 1
    # domain A is red, domain B blue: the two folders are not mixed up
    assert (batch["A"][:, 0] > batch["A"][:, 2]).float().mean() > 0.4
    assert (batch["B"][:, 2] > batch["B"][:, 0]).float().mean() > 0.4


def test_unpaired_folder_augments_training_images_but_not_its_fixed_examples(cyclegan_layout):
    source = build("unpaired-folder", data_root=cyclegan_layout, image_size=32, overrides={"data.workers": "0"})
    first, again = source.examples(2, CPU), source.examples(2, CPU)
    assert torch.equal(first["A"], again["A"]) and first["A"].shape == (2, 3, 32, 32)
    # examples: a plain resize, the bright half stays on the left
    assert first["A"][0, 0, :, :12].mean() > first["A"][0, 0, :, -12:].mean()
    # training: resized to 286/256 of the size, randomly cropped and flipped: some images come out mirrored
    batches = source.batches(3, seed=0, device=CPU)
    mirrored = [bool(x[0, :, :12].mean() < x[0, :, -12:].mean()) for _ in range(6) for x in next(batches)["A"]]
    assert any(mirrored) and not all(mirrored)
    assert unpaired.load_size_for(256) == 286


def test_unpaired_folder_test_split_reads_testA_and_testB(cyclegan_layout):
    source = build("unpaired-folder", data_root=cyclegan_layout, image_size=16, overrides={"data.split": "test"})
    examples = source.examples(8, CPU)
    assert examples["A"].shape == (2, 3, 16, 16) and examples["B"].shape == (1, 3, 16, 16)


def test_unpaired_folder_reads_grey_images_when_asked(cyclegan_layout):
    source = build("unpaired-folder", data_root=cyclegan_layout, image_size=24, overrides={"data.channels": "1"})
    assert source.info.shape == (1, 24, 24)
    assert source.examples(1, CPU)["B"].shape == (1, 1, 24, 24)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root: None, "needs a path"),
        (lambda root: root / "missing", "does not exist"),
        (lambda root: (root / "only").mkdir() or write_images(root / "only" / "trainA", 1) and root / "only",
         "no trainB/ sub-folder"),
        (lambda root: (root / "empty" / "trainA").mkdir(parents=True) or write_images(root / "empty" / "trainB", 1)
         and root / "empty", "holds no images"),
    ],
    ids=["no-root", "missing-folder", "missing-domain", "empty-domain"],
)
def test_unpaired_folder_bad_input_is_one_clear_error(tmp_path, make, expected):
    root = make(tmp_path)
    options = {"data_root": root} if root is not None else {}
    with pytest.raises(UserError, match=expected):
        build("unpaired-folder", **options)


def test_unpaired_folder_names_an_unreadable_image(cyclegan_layout):
    (cyclegan_layout / "trainA" / "img0.png").write_bytes(b"not an image")
    with pytest.raises(UserError, match="cannot read image .*img0.png"):
        build("unpaired-folder", data_root=cyclegan_layout)


def test_run_on_a_missing_folder_exits_2_with_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["run", "cyclegan", "--dataset", "unpaired-folder", "--data-root",
                                      str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "does not exist" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_digits_styles_holds_handwritten_A_and_typeset_B_unpaired():
    train, test = unpaired.digit_styles("train"), unpaired.digit_styles("test")
    assert train["A"].shape == train["B"].shape == (9000, 1, 28, 28)
    assert test["A"].shape == test["B"].shape == (1000, 1, 28, 28)
    assert train["A"].dtype == train["B"].dtype == torch.uint8
    for labels in (train["labels_A"], train["labels_B"], test["labels_B"]):
        assert torch.bincount(labels, minlength=10).min() > 0.07 * len(labels)  # all ten digits, balanced
    # no pairing: the digit of B[i] says nothing about the digit of A[i]
    assert (train["labels_A"] == train["labels_B"]).float().mean() < 0.15
    # white digits on black, like MNIST, and every typeset image differs (size, weight, place, angle)
    b = train["B"].float()
    assert b[:, :, :3].mean() < 5 and b[:, :, 10:18, 10:18].mean() > 60
    assert len({tuple(img.flatten().tolist()) for img in train["B"][:500]}) == 500


def test_typeset_digits_are_the_same_for_the_same_seed_and_differ_in_style():
    first, labels = unpaired.typeset_digits(64, seed=5)
    again, labels_again = unpaired.typeset_digits(64, seed=5)
    assert torch.equal(first, again) and torch.equal(labels, labels_again)
    ink = (first.float() / 255).sum(dim=(1, 2, 3))
    ones = ink[labels == 1]
    assert ones.numel() > 1 and ones.max() > 1.3 * ones.min()  # weights and sizes vary


def test_digits_styles_source_is_embedded_and_resizes_both_domains():
    registry = get_registry()
    assert registry.dataset("digits-styles").embedded
    source = build("digits-styles", image_size=32)
    assert source.info.kind == "unpaired-images" and source.info.shape == (1, 32, 32)
    batch = next(source.batches(8, seed=0, device=CPU))
    assert set(batch) == {"A", "B"} and batch["B"].shape == (8, 1, 32, 32)
    assert batch["A"].min() >= -1 and batch["A"].max() <= 1
    rgb = build("digits-styles", image_size=28, overrides={"data.channels": "3", "data.split": "test"})
    assert rgb.info.shape == (3, 28, 28) and len(rgb) == 1000


def test_read_images_keeps_names_and_sizes_images_for_the_run(tmp_path):
    write_images(tmp_path / "in", 2, size=(50, 20))
    write_images(tmp_path / "in" / "nested", 1, suffix=".jpg")
    images, names = unpaired.read_images(tmp_path / "in", channels=1, size=16)
    assert images.shape == (3, 1, 16, 16) and images.min() >= -1 and images.max() <= 1
    assert names == ["img0.png", "img1.png", str(Path("nested") / "img0.jpg")]
    one, name = unpaired.read_images(tmp_path / "in" / "img1.png", channels=3, size=8)
    assert one.shape == (1, 3, 8, 8) and name == ["img1.png"]
    (tmp_path / "none").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        unpaired.read_images(tmp_path / "none", channels=1, size=16)
