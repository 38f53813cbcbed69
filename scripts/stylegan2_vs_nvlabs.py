"""ganzoo's StyleGAN2 training phases beside NVlabs' ``StyleGAN2Loss`` on the same weights and draws.

The check behind the review in docs/evaluation.md ("StyleGAN2: the training path against NVlabs'
code"). It builds ganzoo's ``stylegan2`` networks with a profile's settings, builds NVlabs'
``training.networks`` Generator and Discriminator with the same settings, copies ganzoo's weights
into them, and then, for each of the four phases of one iteration (Gmain, Greg, Dmain, Dreg),
computes the loss with ganzoo's ``ganzoo_losses`` hook and with NVlabs' ``accumulate_gradients``
from the same random state (so the same z, classes, per-pixel noise and path-length noise), and
prints the largest relative difference of the parameter gradients. It also checks that no phase
leaves gradients on the other network and that both forwards agree.

ADA is off (``model.augment=none``: NVlabs' augmentation draws its random numbers in another
order) and style mixing is off (its crossover is drawn in another order); the noise strengths are
set to 0.1 so that the per-pixel noise takes part. NVlabs' code needs no compiler on the CPU (its
custom ops fall back to their reference implementations)::

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch nvlabs
    OMP_NUM_THREADS=1 python scripts/stylegan2_vs_nvlabs.py --nvlabs nvlabs
    OMP_NUM_THREADS=1 python scripts/stylegan2_vs_nvlabs.py --nvlabs nvlabs --set model.d_architecture=orig --classes 10
"""

from __future__ import annotations

import argparse
import sys
import types

import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nvlabs", required=True, help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--profile", default="demo", help="the stylegan2 profile whose settings both build")
    parser.add_argument("--classes", type=int, default=0, help="10 for a class-conditional model")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more settings")
    return parser.parse_args()


def nvlabs_key(key: str, img_resolution: int, network: str) -> str:
    """The name of ganzoo's state-dict entry ``key`` in NVlabs' networks."""
    key = key.replace("mapping.layers.", "mapping.fc")
    if network == "generator" and key.startswith("synthesis.blocks."):
        index, rest = key[len("synthesis.blocks."):].split(".", 1)
        return f"synthesis.b{4 * 2 ** int(index)}.{rest}"
    if network == "discriminator":
        if key.startswith("blocks."):
            index, rest = key[len("blocks."):].split(".", 1)
            return f"b{img_resolution // 2 ** int(index)}.{rest}"
        if key.split(".")[0] in ("conv", "fc", "out"):
            return "b4." + key
    return key


def copy_weights(ours: torch.nn.Module, theirs: torch.nn.Module, img_resolution: int, network: str) -> None:
    state = {nvlabs_key(k, img_resolution, network): v for k, v in ours.state_dict().items()}
    expected = {k for k in theirs.state_dict() if not k.endswith("resample_filter")}  # the same [1,3,3,1]
    if set(state) != expected:
        raise SystemExit(f"state dicts differ: {sorted(set(state) ^ expected)[:5]}")
    theirs.load_state_dict(state, strict=False)


def gradients(module: torch.nn.Module) -> dict[str, torch.Tensor | None]:
    return {k: None if v.grad is None else v.grad.clone() for k, v in module.named_parameters()}


def worst_difference(ours: dict, theirs: dict, img_resolution: int, network: str) -> tuple[float, str]:
    worst, where = 0.0, ""
    for key, grad in ours.items():
        other = theirs[nvlabs_key(key, img_resolution, network)]
        if grad is None or other is None:
            size = max(0.0 if g is None else g.abs().max().item() for g in (grad, other))
            if size > 0:
                return float("inf"), key
            continue
        difference = ((grad - other).norm() / (other.norm() + 1e-12)).item()
        if difference > worst:
            worst, where = difference, key
    return worst, where


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, args.nvlabs)
    sys.modules.setdefault("requests", types.ModuleType("requests"))  # dnnlib imports it for downloads only
    from training.loss import StyleGAN2Loss
    from training.networks import Discriminator as NVlabsDiscriminator
    from training.networks import Generator as NVlabsGenerator

    import ganzoo
    from ganzoo.api import make_config
    from ganzoo.registry import get_registry
    from ganzoo.spec import StepContext

    sets = dict(item.split("=", 1) for item in args.set)
    sets.update({"model.augment": "none", "model.style_mixing_prob": "0",
                 "model.conditional": "true" if args.classes else "false"})
    registry = get_registry()
    variant = registry.variant("stylegan2")
    config = make_config("stylegan2", profile=args.profile, overrides=sets)
    m, res, n, k = config.model, args.image_size, args.batch, args.classes
    torch.manual_seed(0)
    nets = registry.networks(variant, config, ganzoo.DataInfo("labelled-images" if k else "images", (1, res, res),
                                                              k or 10))
    G, D = nets["generator"], nets["discriminator"]
    clamp = m.conv_clamp or None
    nvG = NVlabsGenerator(z_dim=m.latent_dim, c_dim=k, w_dim=m.w_dim, img_resolution=res, img_channels=1,
                          mapping_kwargs={"num_layers": m.mapping_layers, "lr_multiplier": m.mapping_lr_multiplier},
                          synthesis_kwargs={"channel_base": m.channel_base, "channel_max": m.channel_max,
                                            "num_fp16_res": 0, "conv_clamp": clamp})
    nvD = NVlabsDiscriminator(c_dim=k, img_resolution=res, img_channels=1, architecture=m.d_architecture,
                              channel_base=m.channel_base, channel_max=m.channel_max, num_fp16_res=0,
                              conv_clamp=clamp, epilogue_kwargs={"mbstd_group_size": m.mbstd_group_size,
                                                                 "mbstd_num_channels": m.mbstd_channels})
    with torch.no_grad():  # let the per-pixel noise take part
        for name, parameter in G.named_parameters():
            if name.endswith("noise_strength"):
                parameter.fill_(0.1)
    copy_weights(G, nvG, res, "generator")
    copy_weights(D, nvD, res, "discriminator")

    real = torch.rand(n, 1, res, res) * 2 - 1
    labels = torch.randint(k, (n,)) if k else None
    onehot = torch.nn.functional.one_hot(labels, k).float() if k else torch.zeros(n, 0)
    z = torch.randn(n, m.latent_dim)
    print(f"D forward: max difference {(D(real, labels) - nvD(real, onehot).squeeze(1)).abs().max().item():.2e}")
    print(f"G forward (constant noise): max difference "
          f"{(G(z, labels, noise_mode='const') - nvG(z, onehot, noise_mode='const')).abs().max().item():.2e}")

    loss = StyleGAN2Loss(device=torch.device("cpu"), G_mapping=nvG.mapping, G_synthesis=nvG.synthesis, D=nvD,
                         style_mixing_prob=0, r1_gamma=m.r1_gamma, pl_batch_shrink=m.pl_batch_shrink,
                         pl_decay=m.pl_decay, pl_weight=m.pl_weight)
    state: dict = {}
    phases = [("generator", "Gmain", 1), ("generator_pl", "Greg", m.pl_interval), ("discriminator", "Dmain", 1),
              ("discriminator_r1", "Dreg", m.r1_interval)]
    if m.pl_weight == 0:
        phases.pop(1)
    for player, phase, gain in phases:
        network = "generator" if phase.startswith("G") else "discriminator"
        ours_net, other_net = (G, D) if network == "generator" else (D, G)
        for module in (G, D, nvG, nvD):
            module.zero_grad(set_to_none=True)
        batch = {"real": real, **({"label": labels} if k else {})}
        ctx = StepContext(variant=variant, config=config, networks=nets, batch=batch, step=0,
                          device=torch.device("cpu"), state=state)
        torch.manual_seed(123)
        terms = registry.losses(variant, player, ctx)
        sum(terms.values()).backward()
        leaked = [key for key, grad in gradients(other_net).items() if grad is not None]
        # NVlabs' draws from the same random state: z (and classes) as ganzoo's draw() makes them
        torch.manual_seed(123)
        size = n // m.pl_batch_shrink if phase == "Greg" else n
        gen_z = torch.randn(size, m.latent_dim)
        gen_c = torch.nn.functional.one_hot(torch.randint(k, (size,)), k).float() if k else torch.zeros(size, 0)
        if phase == "Greg":  # NVlabs takes the first n // shrink of a full batch
            gen_z = torch.cat([gen_z, torch.zeros(n - size, m.latent_dim)])
            gen_c = torch.cat([gen_c, torch.zeros(n - size, k)])
        nvG.requires_grad_(network == "generator")
        nvD.requires_grad_(network == "discriminator")
        loss.accumulate_gradients(phase=phase, real_img=real, real_c=onehot, gen_z=gen_z, gen_c=gen_c, sync=True,
                                  gain=gain)
        theirs = gradients(nvG if network == "generator" else nvD)
        worst, where = worst_difference(gradients(ours_net), theirs, res, network)
        values = ", ".join(f"{name} {value.item():.5f}" for name, value in terms.items())
        print(f"{phase:5s} ({player}): {values}; largest relative gradient difference {worst:.1e} ({where}); "
              f"gradients on the other network: {leaked or 'none'}")
    if "pl_mean" in state:
        print(f"path-length mean: ganzoo {float(state['pl_mean']):.6f}, NVlabs {float(loss.pl_mean):.6f}")


if __name__ == "__main__":
    main()
