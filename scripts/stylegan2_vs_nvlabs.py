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

With ``--train STEPS`` it instead trains NVlabs' networks with NVlabs' ``StyleGAN2Loss`` and the phase
loop of ``training_loop.py`` (Adam with the lazy rescaling, ``nan_to_num`` of the gradients, the EMA
with ramp-up) on the embedded digits at 32 px with the profile's settings (unconditional, no ADA, no
style mixing), and scores the EMA generator every ``--every`` steps with the shipped digit
classifier (500 samples: mean confidence and how many are read as each digit), as ganzoo's runs are
scored in docs/evaluation.md::

    OMP_NUM_THREADS=1 python scripts/stylegan2_vs_nvlabs.py --nvlabs nvlabs --train 750 --set model.channel_max=32 \\
        --set model.channel_base=512 --set model.pl_weight=0 --set model.d_architecture=orig --set model.mbstd_group_size=32
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
    parser.add_argument("--train", type=int, default=0, metavar="STEPS", help="train NVlabs' loop on the digits")
    parser.add_argument("--every", type=int, default=250, help="with --train: score every this many steps")
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


def train_nvlabs(args: argparse.Namespace, config, nvG: torch.nn.Module, nvD: torch.nn.Module) -> None:
    """NVlabs' networks trained by NVlabs' loss and phase loop on the embedded digits; scored as ganzoo's runs."""
    import copy
    import json
    import time

    from training.loss import StyleGAN2Loss

    from ganzoo.data.mnist import embedded_mnist
    from ganzoo.data.source import resize_uint8
    from ganzoo.metrics.digits import classify_digits

    m, batch = config.model, config.batch_size
    images = resize_uint8(embedded_mnist()[0], args.image_size)
    G, D = nvG.train().requires_grad_(False), nvD.train().requires_grad_(False)
    G_ema = copy.deepcopy(G).eval()
    loss = StyleGAN2Loss(device=torch.device("cpu"), G_mapping=G.mapping, G_synthesis=G.synthesis, D=D,
                         style_mixing_prob=0, r1_gamma=m.r1_gamma, pl_batch_shrink=m.pl_batch_shrink,
                         pl_decay=m.pl_decay, pl_weight=m.pl_weight)
    phases = []  # training_loop.py's phases: main and lazy per network, sharing one rescaled Adam
    for name, module, interval in (("G", G, m.pl_interval), ("D", D, m.r1_interval)):
        ratio = interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=m.lr * ratio, betas=(m.beta1 ** ratio, m.beta2 ** ratio),
                               eps=1e-8)
        phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
    order, position, start = torch.randperm(len(images)), 0, time.time()
    for step in range(args.train):
        if position + batch > len(order):
            order, position = torch.randperm(len(images)), 0
        real = images[order[position:position + batch]].float() / 127.5 - 1
        position += batch
        for (phase, module, opt, interval), gen_z in zip(
                phases, torch.randn(len(phases) * batch, m.latent_dim).split(batch), strict=True):
            if step % interval:
                continue
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            loss.accumulate_gradients(phase=phase, real_img=real, real_c=torch.zeros(batch, 0), gen_z=gen_z,
                                      gen_c=torch.zeros(batch, 0), sync=True, gain=interval)
            module.requires_grad_(False)
            for parameter in module.parameters():
                if parameter.grad is not None:
                    torch.nan_to_num(parameter.grad, nan=0, posinf=1e5, neginf=-1e5, out=parameter.grad)
            opt.step()
        with torch.no_grad():  # training_loop.py's EMA (cur_nimg counts the images before this step)
            ema_nimg = m.ema_kimg * 1000
            if m.ema_rampup:
                ema_nimg = min(ema_nimg, step * batch * m.ema_rampup)
            beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
            for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
                b_ema.copy_(b)
        if (step + 1) % args.every == 0:
            with torch.no_grad():
                z = torch.randn(500, m.latent_dim, generator=torch.Generator().manual_seed(1))
                samples = G_ema(z, torch.zeros(500, 0), noise_mode="const").clamp(-1, 1)
            labels, confidence = classify_digits(samples)
            print(json.dumps({"step": step + 1, "seconds": round(time.time() - start),
                              "confidence": round(confidence.mean().item(), 3),
                              "read_as": torch.bincount(labels, minlength=10).tolist()}), flush=True)


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
    if args.train:
        train_nvlabs(args, config, nvG, nvD)
        return
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
