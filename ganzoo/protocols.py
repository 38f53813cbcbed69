"""Published training protocols that several variants share, as plain settings (no torch import,
so that plugins can build their profiles from them at import time).

``PACGAN_TOY``: the 2-D mode-collapse protocol of PacGAN (Lin, Khetan, Fanti & Oh 2018, "PacGAN:
The power of two samples in generative adversarial networks", section 5.1 and appendix), which
follows VEEGAN's (Srivastava et al. 2017). Read from the paper and the authors' code
(github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py`` and
``pacgan_task.py``; the ring's config is the same): a generator of four 400-unit batch-norm ReLU
layers from a 2-D standard-normal z, a discriminator of three 200-unit maxout layers of 5 pieces
(:mod:`ganzoo.parts.toy`), weights N(0, 0.02²), Adam(1e-4, β1 = 0.8, β2 at its default 0.999),
batches of 100 discriminator inputs (PacGAN*m* draws m × 100 points), 400 epochs of the
100,000-point data set = 400,000 iterations, on ``ring8`` or ``grid25`` (:mod:`ganzoo.data.toy`,
the code's mixtures).
"""

from __future__ import annotations

#: PacGAN's 2-D protocol: training length, batch, the size of z and Adam's settings.
PACGAN_TOY = {"steps": 400_000, "batch_size": 100, "latent_dim": 2, "lr": 1e-4, "beta1": 0.8, "beta2": 0.999}


def pacgan_toy_profile(**model_keys: str) -> dict:
    """A variant's ``pacgan-toy`` profile: the protocol's steps and batch, logging at its pace, and
    its z size and Adam settings under the variant's own ``model.*`` names, e.g.
    ``pacgan_toy_profile(latent_dim="model.point_latent_dim", lr="model.lr", ...)``. Keys the
    variant does not map are left out; pass further ``model.*`` settings in the variant's profile."""
    profile = {"steps": PACGAN_TOY["steps"], "batch_size": PACGAN_TOY["batch_size"],
               "sample_every": 20_000, "checkpoint_every": 20_000, "log_every": 1000}
    for setting, key in model_keys.items():
        profile[key] = PACGAN_TOY[setting]
    return profile
