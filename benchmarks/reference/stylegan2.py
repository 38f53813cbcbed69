"""StyleGAN2(-ADA) trained by a plain PyTorch loop: the baseline of ``ganzoo bench stylegan2``.

Written as NVlabs' stylegan2-ada-pytorch writes an iteration (``training/training_loop.py`` and
``training/loss.py``, ``StyleGAN2Loss.accumulate_gradients``): the phases Gmain, Greg, Dmain, Dreg,
each run when ``batch_idx % interval == 0`` with its own fresh latents and classes, each lazy phase
sharing its network's Adam, whose lr and betas are rescaled by k/(k + 1) whatever the regulariser's
weight; the loss multiplied by the phase's interval (``gain``); the EMA of G with its half-life in
images and ramp-up; then the ADA heuristic every ``ada_interval`` iterations. One process, one
micro-batch per phase (``batch_gpu = batch``), so no DDP syncs and none of the code's ``x * 0``
terms that keep every parameter in DDP's graph. Eager, fp32.

The networks and the augmentation pipeline are ganzoo's (``ganzoo_stylegan2.networks``,
``ganzoo_stylegan2.ada``), so the model and the augmentations are identical; what differs is the
loop around them.
"""

import copy
import math

import torch
import torch.nn.functional as F
from ganzoo_stylegan2 import auto_settings
from ganzoo_stylegan2.ada import adjust_p
from ganzoo_stylegan2.ada import augment as augment_pipe
from ganzoo_stylegan2.networks import Discriminator, Generator


def make_loop(config, data, device):
    channels, resolution, _ = data.shape
    p = auto_settings(config.model, resolution, config.batch_size)
    c_dim = data.num_classes if p.conditional else 0
    conv_clamp = p.conv_clamp or None
    G = Generator(p.latent_dim, c_dim, p.w_dim, resolution, channels, p.mapping_layers, p.mapping_lr_multiplier,
                  p.w_avg_beta, p.channel_base, p.channel_max, conv_clamp).to(device)
    D = Discriminator(c_dim, resolution, channels, p.d_architecture, p.channel_base, p.channel_max,
                      p.mbstd_group_size, p.mbstd_channels, conv_clamp=conv_clamp).to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    batch_size = config.batch_size

    phases = []
    for name, module, reg_interval in (("G", G, p.pl_interval), ("D", D, p.r1_interval)):
        mb_ratio = reg_interval / (reg_interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=p.lr * mb_ratio, betas=[beta ** mb_ratio for beta in (p.beta1, p.beta2)],
                               eps=1e-8)
        phases += [dict(name=name + "main", module=module, opt=opt, interval=1),
                   dict(name=name + "reg", module=module, opt=opt, interval=reg_interval)]
    for module in (G, D):
        module.requires_grad_(False)
    state = {"batch_idx": 0, "cur_nimg": 0, "pl_mean": torch.zeros([], device=device), "augment_p": p.augment_p,
             "signs": [], "ada": p.augment == "ada"}

    def run_G(z, c):
        ws = G.mapping(z, c)
        if p.style_mixing_prob > 0:
            cutoff = int(torch.empty([], dtype=torch.int64).random_(1, ws.shape[1]))
            mixed = G.mapping(torch.randn_like(z), c, update_w_avg=False)
            if float(torch.rand([])) < p.style_mixing_prob:
                ws = ws.clone()
                ws[:, cutoff:] = mixed[:, cutoff:]
        return G.synthesis(ws), ws

    def run_D(img, c):
        if state["ada"]:
            img = augment_pipe(img, state["augment_p"])
        return D(img, c)

    def accumulate_gradients(phase, real_img, real_c, gen_z, gen_c, gain):
        if phase == "Gmain":
            gen_img, _ = run_G(gen_z, gen_c)
            F.softplus(-run_D(gen_img, gen_c)).mean().mul(gain).backward()
        if phase == "Greg" and p.pl_weight != 0:
            n = gen_z.shape[0] // p.pl_batch_shrink
            gen_img, gen_ws = run_G(gen_z[:n], None if gen_c is None else gen_c[:n])
            pl_noise = torch.randn_like(gen_img) / math.sqrt(gen_img.shape[2] * gen_img.shape[3])
            (pl_grads,) = torch.autograd.grad(outputs=[(gen_img * pl_noise).sum()], inputs=[gen_ws], create_graph=True)
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            pl_mean = state["pl_mean"].lerp(pl_lengths.mean(), p.pl_decay)
            state["pl_mean"] = pl_mean.detach()
            ((pl_lengths - pl_mean).square() * p.pl_weight).mean().mul(gain).backward()
        if phase == "Dmain":
            gen_img, _ = run_G(gen_z, gen_c)
            F.softplus(run_D(gen_img, gen_c)).mean().mul(gain).backward()
        do_Dr1 = phase == "Dreg" and p.r1_gamma != 0
        if phase == "Dmain" or do_Dr1:
            real_img_tmp = real_img.detach().requires_grad_(do_Dr1)
            real_logits = run_D(real_img_tmp, real_c)
            loss = 0
            if phase == "Dmain":
                state["signs"].append(real_logits.detach().sign())
                loss = F.softplus(-real_logits)
            if do_Dr1:
                (r1_grads,) = torch.autograd.grad(outputs=[real_logits.sum()], inputs=[real_img_tmp], create_graph=True)
                loss = r1_grads.square().sum([1, 2, 3]) * (p.r1_gamma / 2)
            loss.mean().mul(gain).backward()

    def step(batches):
        batch = next(batches)
        real_img, real_c = batch["real"], batch.get("label") if c_dim else None
        for phase in phases:
            if state["batch_idx"] % phase["interval"] != 0:
                continue
            gen_z = torch.randn([batch_size, G.z_dim], device=device)
            gen_c = torch.randint(c_dim, (batch_size,), device=device) if c_dim else None
            phase["opt"].zero_grad(set_to_none=True)
            phase["module"].requires_grad_(True)
            accumulate_gradients(phase["name"], real_img, real_c, gen_z, gen_c, gain=phase["interval"])
            phase["module"].requires_grad_(False)
            phase["opt"].step()
        # Update G_ema.
        with torch.no_grad():
            ema_nimg = p.ema_kimg * 1000
            if p.ema_rampup > 0:
                ema_nimg = min(ema_nimg, state["cur_nimg"] * p.ema_rampup)
            ema_beta = 0.5 ** (batch_size / max(ema_nimg, 1e-8))
            for p_ema, param in zip(G_ema.parameters(), G.parameters(), strict=True):
                p_ema.copy_(param.lerp(p_ema, ema_beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
                b_ema.copy_(b)
        state["cur_nimg"] += batch_size
        state["batch_idx"] += 1
        # Execute the ADA heuristic.
        if state["ada"] and state["batch_idx"] % p.ada_interval == 0 and state["signs"]:
            rt = float(torch.cat(state["signs"]).float().mean())
            state["augment_p"] = adjust_p(state["augment_p"], rt, batch_size * p.ada_interval, p.ada_target, p.ada_kimg)
            state["signs"] = []

    return step, {"generator": G, "discriminator": D}
