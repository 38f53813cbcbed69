"""ProGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench progan``.

The authors' code is TensorFlow (tkarras/progressive_growing_of_gans); this is its training loop
(``train.py``'s ``train_progressive_gan``) written out in PyTorch: each iteration builds the
``TrainingSchedule`` from the images shown (``cur_nimg``, starting at ``resume_kimg``), resets both
Adam optimisers when the level of detail changes, runs the discriminator's update with the WGAN-GP
loss and the drift ("epsilon") penalty of ``loss.py``'s ``D_wgangp_acgan`` on the reals processed
to the current level (``process_reals``), updates the generator's moving average, adds the batch to
``cur_nimg`` and runs the generator's update (``G_wgan_acgan``), with ``D_repeats = 1``. The
schedule is built every iteration, as ganzoo builds it (the code: every ``minibatch_repeats = 4``
iterations). Eager, fp32. The networks are ganzoo's (the growing generator and discriminator, set to the schedule's
level and α as the code feeds ``lod_in``).
"""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from ganzoo_progan.networks import ProDiscriminator, ProGenerator


class TrainingSchedule:
    """``train.py``'s schedule: phases of ``lod_training_kimg`` then ``lod_transition_kimg``."""

    def __init__(self, cur_nimg, resolution_log2, lod_training_kimg, lod_transition_kimg, minibatch_base, minibatch_dict):
        self.kimg = cur_nimg / 1000.0
        phase_dur = lod_training_kimg + lod_transition_kimg
        phase_idx = int(np.floor(self.kimg / phase_dur)) if phase_dur > 0 else 0
        phase_kimg = self.kimg - phase_idx * phase_dur
        self.lod = resolution_log2
        self.lod -= np.floor(np.log2(4))
        self.lod -= phase_idx
        if lod_transition_kimg > 0:
            self.lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
        self.lod = max(self.lod, 0.0)
        self.resolution = 2 ** (resolution_log2 - int(np.floor(self.lod)))
        self.minibatch = minibatch_dict.get(self.resolution, minibatch_base)


def process_reals(x, lod):
    """The reals at the level of detail ``floor(lod)`` (the code's dataset keeps each level's images,
    made by 2×2 averaging) and its ``process_reals`` fade (``FadeLOD``), without the final upscaling
    to full size: ganzoo's networks run at the current resolution, so the reals stay there."""
    factor = 2 ** int(np.floor(lod))
    if factor > 1:
        x = F.avg_pool2d(x, factor)
    s = x.shape
    y = x.reshape(-1, s[1], s[2] // 2, 2, s[3] // 2, 2).mean(dim=(3, 5), keepdim=True)
    y = y.repeat(1, 1, 1, 2, 1, 2).reshape(-1, s[1], s[2], s[3])
    return torch.lerp(x, y, float(lod - np.floor(lod)))


def make_loop(config, data, device):
    opt = config.model
    nc, image_size = data.shape[0], data.shape[1]
    resolution_log2 = int(np.log2(image_size))
    G = ProGenerator(opt.latent_dim, nc, image_size, opt.fmap_base, opt.fmap_max).to(device)
    D = ProDiscriminator(nc, image_size, opt.fmap_base, opt.fmap_max, opt.group_size).to(device)
    Gs = copy.deepcopy(G)
    for p in Gs.parameters():
        p.requires_grad_(False)
    minibatch_dict = {int(r): int(b) for r, b in (e.split(":") for e in opt.batch_per_resolution)}

    def adam(net):
        return torch.optim.Adam(net.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)

    G_opt, D_opt = adam(G), adam(D)
    state = {"cur_nimg": opt.start_images, "prev_lod": -1.0}

    def set_lod(net, lod):  # lod_in: the networks run at resolution 2^(log2 - floor(lod))
        net.grow_to(resolution_log2 - 2 - int(np.floor(lod)), 1.0 - float(lod - np.floor(lod)))

    def D_wgangp(reals, minibatch_size):
        latents = torch.randn(minibatch_size, opt.latent_dim, device=device)
        with torch.no_grad():
            fake_images_out = G(latents)
        real_scores_out = D(reals)
        fake_scores_out = D(fake_images_out)
        loss = fake_scores_out - real_scores_out
        mixing_factors = torch.rand(minibatch_size, 1, 1, 1, device=device)
        mixed_images_out = torch.lerp(reals, fake_images_out, mixing_factors).requires_grad_(True)
        mixed_scores_out = D(mixed_images_out)
        mixed_grads = torch.autograd.grad(mixed_scores_out.sum(), mixed_images_out, create_graph=True)[0]
        mixed_norms = mixed_grads.square().sum(dim=[1, 2, 3]).sqrt()
        gradient_penalty = (mixed_norms - 1.0).square()
        loss = loss + gradient_penalty * opt.lambda_gp
        epsilon_penalty = real_scores_out.square()
        loss = loss + epsilon_penalty * opt.drift
        return loss.mean()

    def G_wgan(minibatch_size):
        latents = torch.randn(minibatch_size, opt.latent_dim, device=device)
        fake_scores_out = D(G(latents))
        return (-fake_scores_out).mean()

    def step(batches):
        # Choose training parameters and configure training ops.
        sched = TrainingSchedule(state["cur_nimg"], resolution_log2, opt.stable_images / 1000, opt.fade_images / 1000,
                                 config.batch_size, minibatch_dict)
        if state["prev_lod"] >= 0 and (np.floor(sched.lod) != np.floor(state["prev_lod"])
                                       or np.ceil(sched.lod) != np.ceil(state["prev_lod"])):
            G_opt.state.clear()
            D_opt.state.clear()
        state["prev_lod"] = sched.lod
        for net in (G, D, Gs):
            set_lod(net, sched.lod)

        reals = process_reals(next(batches)["real"][: sched.minibatch], sched.lod)
        # D_train_op
        for p in D.parameters():
            p.requires_grad_(True)
        D_opt.zero_grad(set_to_none=True)
        D_wgangp(reals, sched.minibatch).backward()
        D_opt.step()
        # Gs_update_op
        with torch.no_grad():
            for p_s, p in zip(Gs.parameters(), G.parameters(), strict=True):
                p_s.lerp_(p, 1.0 - opt.ema_decay)
        state["cur_nimg"] += sched.minibatch
        # G_train_op
        for p in D.parameters():
            p.requires_grad_(False)
        G_opt.zero_grad(set_to_none=True)
        G_wgan(sched.minibatch).backward()
        G_opt.step()

    return step, {"generator": G, "discriminator": D}
