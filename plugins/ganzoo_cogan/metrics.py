"""CoGAN's pair rate: do the two domains draw the same digit from one z?

Liu & Tuzel (2016, section 5) claim that the coupled networks learn a joint distribution of the two
domains without ever seeing a pair. On ``digits-negatives`` that is measurable with the shipped digit
classifier: row i of domain A and row i of domain B come from the same z, so the classifier should
read the same digit in image A and in the inverse of image B (the inverse of a negative is a digit
again). Two independent digits agree 10 % of the time.

Agreement alone does not show learning: an untrained coupled generator draws blobs that the
classifier reads as the same one or two digits in both domains (they agreed for 70 % of pairs).
So the metric also reports how many digits domain A draws and the classifier's confidence.
"""

from __future__ import annotations

import torch

from ganzoo.errors import UserError

#: Pairs drawn when the caller names no count.
DEFAULT_PAIRS = 1000
#: A digit counts as drawn when it is at least this share of the A images.
DRAWN_SHARE = 0.02


def pair_agreement(run, n: int = DEFAULT_PAIRS, seed: int = 0, **_: object) -> dict[str, float]:
    """The classifier's agreement between image A and the inverse of image B over ``n`` pairs.

    Returns ``agreement`` (share of pairs read as the same digit), ``digits_drawn_A`` (digits each
    read in at least 2 % of the A images) and the mean confidence in A and in B's inverse.
    """
    from ganzoo.metrics.digits import classify_digits

    if tuple(run.variant.joint_domains) != ("A", "B"):
        raise UserError(f"pair-agreement needs a variant that draws domains A and B from one z (cogan); "
                        f"{run.variant.name!r} does not")
    pairs = run.variant.split_domains(run.sample(n, seed=seed))
    digits_a, confidence_a = classify_digits(pairs["A"], run.device)
    digits_b, confidence_b = classify_digits(-pairs["B"], run.device)  # negating in [-1, 1] is 1 - x in [0, 1]
    drawn = int((torch.bincount(digits_a, minlength=10) >= DRAWN_SHARE * len(digits_a)).sum())
    return {
        "agreement": float((digits_a == digits_b).float().mean()),
        "digits_drawn_A": float(drawn),
        "mean_confidence_A": float(confidence_a.mean()),
        "mean_confidence_B_inverse": float(confidence_b.mean()),
    }
