"""The Inception metrics' offline path: weights from --weights or the environment, never a pickle,
and one clear line when no weights can be found."""

from __future__ import annotations

import urllib.error

import pytest
import torch

pytest.importorskip("torch_fidelity")

from ganzoo.errors import UserError  # noqa: E402
from ganzoo.metrics import inception  # noqa: E402


def write_random_inception(path):
    """Write a randomly initialised Inception-v3 state dict with the real file's keys and shapes."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with pytest.MonkeyPatch.context() as patch:
        # Build the network without its weights: the real download and load are switched off.
        patch.setattr(fe, "load_state_dict_from_url", lambda *args, **kwargs: {})
        patch.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state, *a, **k: None)
        torch.manual_seed(0)
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    return write_random_inception(tmp_path_factory.mktemp("weights") / "random-inception.pth")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights, no environment variable, and every download fails."""
    monkeypatch.delenv(inception.ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)


def test_missing_weights_offline_is_one_line_naming_both_ways(offline):
    with pytest.raises(UserError) as err:
        inception.resolve_weights(None)
    message = str(err.value)
    assert "\n" not in message
    assert "--weights PATH" in message and inception.ENV in message


def test_weights_come_from_the_option_then_the_environment(offline, random_weights, monkeypatch, tmp_path):
    assert inception.resolve_weights(random_weights) == random_weights
    monkeypatch.setenv(inception.ENV, str(random_weights))
    assert inception.resolve_weights(None) == random_weights
    with pytest.raises(UserError, match="does not exist"):
        inception.resolve_weights(tmp_path / "missing.pth")


def test_a_pickled_object_is_refused_not_executed(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Payload()}, path)
    with pytest.raises(UserError, match="cannot read Inception weights"):
        inception.read_state_dict(path)


def test_random_extractor_file_gives_features_of_the_standard_shapes(offline, random_weights):
    model = inception.build_extractor(random_weights)
    images = torch.rand(3, 1, 28, 28) * 2 - 1  # grey digits-sized images: repeated to RGB, resized inside
    pool, logits = inception.inception_features(model, images)
    assert pool.shape == (3, 2048) and logits.shape == (3, 1008)
    assert torch.isfinite(pool).all()
    # Deterministic: the same images give the same features.
    assert torch.equal(pool, inception.inception_features(model, images)[0])


def test_weights_of_another_network_are_a_clear_error(offline, tmp_path):
    path = tmp_path / "wrong.pth"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(UserError, match="do not fit Inception-v3"):
        inception.build_extractor(path)
