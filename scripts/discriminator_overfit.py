"""How a StyleGAN2 run's D judges its own training digits against digits it never saw.

ADA (Karras et al. 2020, Figure 1b) starts from this measurement: a discriminator that overfits
keeps calling its training images real while its verdict on held-out real images falls towards the
generated ones'. For a run on the first ``data.limit`` embedded digits, this prints the share of
positive logits (the sign that ADA's r_t averages) and the mean logit of D, without augmentation,
on up to 496 of those training digits, on 496 digits from the second half of the embedded set that
the run never saw, and on 496 generated ones, at each checkpoint given::

    python scripts/discriminator_overfit.py runs/ada-50 --limit 50 --checkpoint step-00002000.pt step-00005000.pt

With ``--augment-p P ...`` it also passes the training and the unseen digits through the ADA
pipeline at each P (the run's own ``ada.augment``, seeded) and reports, apart, the digits that no
transform touched and those that some transform changed, with the sign mean that r_t would read on
the whole mix. That splits r_t into what D says of the digits as it memorised them and what it
says of augmented ones, which are as common among the fakes it sees.
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a stylegan2 run on the embedded digits with --set data.limit=N")
    parser.add_argument("--limit", type=int, required=True, help="the run's data.limit (its first N digits)")
    parser.add_argument("--checkpoint", nargs="*", default=[None], help="checkpoint files (default: the latest)")
    parser.add_argument("--augment-p", nargs="*", type=float, default=[], metavar="P",
                        help="also judge the digits through the ADA pipeline at these probabilities")
    args = parser.parse_args()
    if any(not 0 < p <= 1 for p in args.augment_p):
        parser.error("--augment-p takes probabilities in (0, 1]")
    if not 4 <= args.limit <= 5000:
        parser.error("--limit must be between 4 and 5000: the held-out digits are the second half of the set")

    from pathlib import Path

    from ganzoo.api import load
    from ganzoo.data.mnist import embedded_mnist
    from ganzoo.data.source import resize_uint8

    images, _ = embedded_mnist()
    for name in args.checkpoint:
        checkpoint = None if name is None else (name if Path(name).exists() else Path(args.run) / "checkpoints" / name)
        run = load(args.run, checkpoint, device="cpu", weights="raw")
        D, G = run.networks["discriminator"], run.networks["generator"]
        size = G.img_resolution
        digits = resize_uint8(images, size).float() / 127.5 - 1
        n = min(args.limit, 496) // 4 * 4  # whole minibatch-stddev groups
        torch.manual_seed(0)
        with torch.no_grad():
            fake = G(torch.randn(496, G.z_dim))
            sets = {"training digits": digits[:n], "unseen digits": digits[5000:5496], "generated": fake}
            logits = {k: judge(D, x) for k, x in sets.items()}
        parts = [f"{k}: positive {float((v > 0).float().mean()):.2f}, mean logit {float(v.mean()):+.2f}"
                 for k, v in logits.items()]
        print(f"{name or 'latest'}: " + "; ".join(parts))
        for p in args.augment_p:
            print(f"  p {p:g}: " + "; ".join(augmented_verdict(D, k, sets[k], p) for k in
                                              ("training digits", "unseen digits")))


def judge(D, images: torch.Tensor) -> torch.Tensor:
    """D's logits for ``images``, in minibatches of 32."""
    return torch.cat([D(batch) for batch in images.split(32)])


def augmented_verdict(D, label: str, digits, p: float, repeats: int = 8) -> str:
    """Share of positive logits on the digits no transform touched and on those some transform
    changed, over ``repeats`` seeded draws of the pipeline at ``p``; and the sign mean of the mix."""
    from ganzoo_stylegan2.ada import augment

    signs, changed = [], []
    with torch.no_grad():
        for seed in range(repeats):
            x = augment(digits, p, torch.Generator().manual_seed(seed))
            signs.append(judge(D, x).sign())
            changed.append((x - digits).abs().flatten(1).amax(1) > 1e-5)
    signs, changed = torch.cat(signs), torch.cat(changed)

    def share(mask):
        return f"{float((signs[mask] > 0).float().mean()):.2f}" if mask.any() else "-"

    return (f"{label}: untouched {share(~changed)} of {float((~changed).float().mean()):.0%}, changed "
            f"{share(changed)}, sign mean {float(signs.mean()):+.2f}")


if __name__ == "__main__":
    main()
