"""``style-transfer``: does a translation on ``digits-styles`` change the style and keep the digit?

The identity map keeps every digit, so a digit-kept rate alone cannot tell a translation from no
translation. This metric translates the held-out ``test`` split of ``digits-styles`` (1,000
handwritten and 1,000 typeset digits no run trains on) both ways and has the shipped digit-style
classifier (``styles.py``) read every output:

- ``style_AtoB``: share of A → B translations read as typeset; ``style_BtoA``: of B → A, as handwritten;
- ``kept_AtoB``, ``kept_BtoA``: share read as the input's digit (its label);
- ``kept_AtoBtoA``, ``kept_BtoAtoB``: the same after translating back (the cycle);
- ``style_real_A``, ``style_real_B``, ``digit_real_A``, ``digit_real_B``: the classifier's own
  accuracy on the real inputs, the ceiling of the rates above.
"""

from __future__ import annotations

import copy

import torch

from ganzoo.errors import UserError
from ganzoo.metrics import styles
from ganzoo.metrics.samples import is_translation

#: Images of each domain in the held-out split.
DEFAULT_SAMPLES = 1000
#: The style each domain of digits-styles is drawn in.
DOMAIN_STYLE = {"A": styles.HANDWRITTEN, "B": styles.TYPESET}
WAYS = (("A", "AtoB", "BtoA"), ("B", "BtoA", "AtoB"))
#: The order of the reported values: what a reader looks at first comes first.
ORDER = ("style_AtoB", "kept_AtoB", "style_BtoA", "kept_BtoA", "kept_AtoBtoA", "kept_BtoAtoB",
         "style_real_A", "digit_real_A", "style_real_B", "digit_real_B")


def held_out_domains(run, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` images and labels of each domain from the ``test`` split, at the run's size and channels."""
    config = copy.deepcopy(run.config)
    config.data.split, config.data.limit = "test", 0
    source = run.registry.dataset(config.dataset).build(config)
    total = len(source.tensors["A"])
    index = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[: min(n, total)]
    picked = {}
    for domain in DOMAIN_STYLE:
        picked[domain] = source._convert(domain, source.tensors[domain].cpu()[index])
        picked[f"labels_{domain}"] = source.extra[f"labels_{domain}"].cpu()[index]
    return picked


def share(condition: torch.Tensor) -> float:
    return float(condition.float().mean())


def style_transfer(run, n: int = DEFAULT_SAMPLES, seed: int = 0, **_: object) -> dict[str, float]:
    """Style changed and digit kept, both ways and back, on held-out digits of both styles."""
    if not is_translation(run) or run.config.dataset != "digits-styles":
        raise UserError(f"style-transfer judges translations between the styles of 'digits-styles'; this "
                        f"{run.variant.name} run trains on {run.config.dataset!r}")
    picked = held_out_domains(run, n, seed)
    results: dict[str, float] = {}
    for domain, way, back in WAYS:
        inputs, labels = picked[domain], picked[f"labels_{domain}"]
        target = DOMAIN_STYLE["B" if domain == "A" else "A"]
        digit, style = styles.read_digits_and_styles(inputs, run.device)
        results[f"style_real_{domain}"] = share(style == DOMAIN_STYLE[domain])
        results[f"digit_real_{domain}"] = share(digit == labels)
        translated = run.sample(len(inputs), inputs=inputs, seed=seed, direction=way)
        digit, style = styles.read_digits_and_styles(translated, run.device)
        results[f"style_{way}"] = share(style == target)
        results[f"kept_{way}"] = share(digit == labels)
        returned = run.sample(len(inputs), inputs=translated, seed=seed, direction=back)
        digit, _ = styles.read_digits_and_styles(returned, run.device)
        results[f"kept_{way}to{domain}"] = share(digit == labels)
    return {key: results[key] for key in ORDER}
