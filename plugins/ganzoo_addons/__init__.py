"""ganzoo's built-in add-ons, each a plugin module of its own shaped like an outside add-on:

- :mod:`ganzoo_addons.ema`: an exponential moving average of every generator;
- :mod:`ganzoo_addons.diffaugment`: DiffAugment before every discriminator call;
- :mod:`ganzoo_addons.spectral_norm`: spectral normalisation of every discriminator.

None of them acts until a run names it (``ganzoo run NAME --with ema``).
"""
