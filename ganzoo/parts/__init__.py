"""Parts that many GAN papers share, one public module per kind, so that a variant or add-on reads
like its paper's algorithm box.

- :mod:`ganzoo.parts.augment`: differentiable augmentations (DiffAugment: color, translation,
  cutout; Zhao et al. 2020), applied to real and generated images alike before a discriminator.
"""
