"""Parts that many GAN papers share, written once, public and documented.

One module per kind, so that a variant's file reads like its paper's algorithm box: which parts,
in what order, with which settings.

- :mod:`ganzoo.parts.losses`: adversarial losses by name (``minimax``, ``non-saturating``,
  ``hinge``, ``wasserstein``, ``least-squares``); plugins add more through the
  ``ganzoo_adversarial_losses`` hook.
- :mod:`ganzoo.parts.regularisers`: gradient penalties (one-centred, R1, R2), lazy regularisation,
  drift, orthogonal regularisation, weight clipping.
- :mod:`ganzoo.parts.layers`: spectral norm, self-attention, conditional BatchNorm, the projection
  discriminator head.
- :mod:`ganzoo.parts.augment`: differentiable augmentations (DiffAugment: color, translation,
  cutout; Zhao et al. 2020), applied to real and generated images alike before a discriminator.

The modules import torch; import them where a network or a loss is built, not at plugin import time
(``ganzoo list`` stays fast).
"""
