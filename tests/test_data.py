"""Built-in datasets: the embedded MNIST, the 2-D mixtures, torchvision from disk and its download
path (served from files the test writes), and image folders."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

from ganzoo.api import make_config
from ganzoo.data import mnist, toy
from ganzoo.errors import UserError
from ganzoo.registry import get_registry


def build(dataset, **options):
    config = make_config("gan", dataset=dataset, **options)
    return get_registry().dataset(dataset).build(config)


def test_embedded_mnist_is_the_test_split_with_its_published_class_counts():
    images, labels = mnist.embedded_mnist()
    assert images.shape == (10000, 1, 28, 28) and images.dtype == torch.uint8
    counts = torch.bincount(labels).tolist()
    assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(images.float().mean().item() - 33.79) < 0.01


def test_mnist_source_batches_are_in_minus_one_one_on_the_device_and_resized():
    source = build("mnist", image_size=32)
    batch = next(source.batches(16, seed=0, device=torch.device("cpu")))
    assert batch["real"].shape == (16, 1, 32, 32) and batch["label"].shape == (16,)
    assert batch["real"].min() >= -1 and batch["real"].max() <= 1
    assert source.info.num_classes == 10 and source.info.kind == "labelled-images"


def test_batch_order_depends_only_on_seed_epoch_and_position():
    a = build("mnist")
    stream = a.batches(1000, seed=3, device=torch.device("cpu"))
    batches = [next(stream)["label"] for _ in range(13)]  # crosses an epoch boundary (10 per epoch)
    b = build("mnist")
    b.load_state_dict({"epoch": 1, "position": 2})
    assert torch.equal(next(b.batches(1000, seed=3, device=torch.device("cpu")))["label"], batches[12])


@pytest.mark.parametrize(("name", "modes", "std"), [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_mixtures_match_the_pacgan_setup(name, modes, std):
    source = build(name)
    points = source.tensors["real"]
    means, sigma = toy.mixture(name)
    assert points.shape == (100_000, 2) and len(means) == modes and sigma == std
    nearest = torch.cdist(points, means).min(dim=1)
    assert torch.bincount(nearest.indices, minlength=modes).min() > 100_000 / modes * 0.9
    assert abs((points - means[nearest.indices]).std().item() - std) < std * 0.05
    if name == "ring8":
        assert torch.allclose(means.norm(dim=1), torch.ones(8), atol=1e-6)
    else:
        assert sorted(set(means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def _idx_images(n):
    data = (np.arange(n * 28 * 28) % 251).astype(np.uint8).tobytes()
    return struct.pack(">HBBIII", 0, 8, 3, n, 28, 28) + data


def _idx_labels(n):
    return struct.pack(">HBBI", 0, 8, 1, n) + bytes(i % 10 for i in range(n))


def _write_mnist_raw(folder, n_train=30, n_test=20):
    files = {
        "train-images-idx3-ubyte": _idx_images(n_train),
        "train-labels-idx1-ubyte": _idx_labels(n_train),
        "t10k-images-idx3-ubyte": _idx_images(n_test),
        "t10k-labels-idx1-ubyte": _idx_labels(n_test),
    }
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(content))
    return files


def test_full_torchvision_mnist_from_a_data_root(tmp_path):
    files = _write_mnist_raw(tmp_path / "MNIST" / "raw")
    for name, content in files.items():
        (tmp_path / "MNIST" / "raw" / name).write_bytes(content)
    source = build("mnist", data_root=tmp_path, overrides={"data.split": "train"})
    assert source.tensors["real"].shape == (30, 1, 28, 28)
    assert source.tensors["label"][:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server standing in for the MNIST mirror."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "mirror"
    _write_mnist_raw(folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_goes_through_torchvision(tmp_path, monkeypatch, mirror):
    import torchvision.datasets as tvd

    folder, url = mirror
    resources = [(f.name, hashlib.md5(f.read_bytes()).hexdigest()) for f in sorted(folder.iterdir())]
    monkeypatch.setattr(tvd.MNIST, "mirrors", [url])
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    source = build("mnist", data_root=tmp_path / "data", overrides={"data.download": "true", "data.split": "test"})
    assert source.tensors["real"].shape == (20, 1, 28, 28)
    assert (tmp_path / "data" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def test_missing_torchvision_data_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="--set data.download=true"):
        build("cifar10", data_root=tmp_path / "nowhere")


def test_image_folder_reads_classes_from_sub_folders(tmp_path):
    from PIL import Image

    for cls, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 30), colour).save(tmp_path / cls / f"{i}.png")
    source = build("folder", data_root=tmp_path, image_size=16, overrides={"data.workers": "0"})
    assert source.info.num_classes == 2 and source.info.shape == (3, 16, 16)
    batch = next(source.batches(4, seed=0, device=torch.device("cpu")))
    assert batch["real"].shape == (4, 3, 16, 16) and batch["real"].min() >= -1


@pytest.mark.parametrize("setup", ["missing", "empty", "unreadable"])
def test_bad_image_folders_are_one_line_errors(tmp_path, setup):
    root = tmp_path / "images"
    if setup != "missing":
        (root / "a").mkdir(parents=True)
    if setup == "unreadable":
        (root / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError) as info:
        build("folder", data_root=root)
    message = str(info.value)
    assert {"missing": "does not exist", "empty": "holds no images", "unreadable": "broken.png"}[setup] in message


def test_data_limit_trains_on_the_first_n_digits_and_metrics_see_them_all():
    from ganzoo.metrics.reference import build_source

    registry = get_registry()
    full = registry.dataset("mnist").build(make_config("dcgan", registry=registry))
    config = make_config("dcgan", registry=registry, overrides={"data.limit": "500"})
    limited = registry.dataset("mnist").build(config)
    assert len(limited) == 500 and limited.info.size == 500
    assert torch.equal(limited.tensors["real"], full.tensors["real"][:500])

    class Run:  # what the metrics receive: its config says 500, the reference is all 10,000
        pass

    run = Run()
    run.config, run.registry = config, registry
    assert len(build_source(run)) == 10_000 and config.data.limit == 500


@pytest.mark.parametrize("dataset", ["ring8", "digits-styles"])
def test_data_limit_on_a_dataset_that_cannot_honour_it_is_one_line(dataset):
    config = make_config("cyclegan" if dataset == "digits-styles" else "gan", dataset=dataset,
                         overrides={"data.limit": "500"})
    with pytest.raises(UserError, match=f"data.limit is not supported by dataset '{dataset}'"):
        get_registry().dataset(dataset).build(config)


def _images(folder, n, colour=(200, 0, 0)):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (8, 8), colour).save(folder / f"{i}.png")


@pytest.mark.parametrize("layout", ["an empty class", "a flat folder with a sibling", "a flat folder with an empty sub-folder"])
def test_image_folders_as_users_have_them_look_only_inside_the_data_root(layout, tmp_path, capsys):
    root = tmp_path / "data" / "pets"
    if layout == "an empty class":
        _images(root / "cats", 3)
        (root / "dogs").mkdir()
    else:  # images directly in the root, next to a folder holding images of its own
        _images(root, 3)
        _images(tmp_path / "data" / "sibling", 5)
        if layout.endswith("sub-folder"):
            (root / "thumbnails").mkdir()
    source = build("folder", data_root=root, image_size=8, overrides={"data.workers": "0"})
    assert source.info.size == 3 and source.info.num_classes == 1  # nothing from above the root
    assert sorted({label for _, label in source.dataset.samples}) == [0]
    assert all(str(root) in path for path, _ in source.dataset.samples)
    warning = capsys.readouterr().err
    if layout == "an empty class":
        assert f"ganzoo: warning: skipped 1 class folder(s) of '{root}' holding no images: dogs" in warning


def test_sixteen_bit_png_is_scaled_to_eight_bits_not_clipped(tmp_path):
    from PIL import Image

    from ganzoo.data.vision import CheckedLoader

    ramp = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / "deep.png")  # a 16-bit greyscale PNG
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    pixels = np.asarray(CheckedLoader()(str(tmp_path / "deep.png")))
    expected = np.round(ramp / 257.0)
    assert pixels.shape == (64, 64, 3) and np.abs(pixels[..., 0] - expected).max() <= 1
    assert (pixels == 255).mean() < 0.01  # clipping made 99.5 % of such pixels white
