"""SNGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench sngan``.

The authors' updater (pfnet-research/sngan_projection ``updater.py``) written in PyTorch: per
iteration, one generator update on ``n_gen_samples`` (twice the batch) fresh samples with the hinge
loss, then ``n_dis`` discriminator updates, each on a fresh real batch and fresh fakes; Adam(2e-4,
0, 0.9) for both, their learning rates decayed linearly to zero (the code's ``LinearShift``). The
discriminator's weights are frozen during the generator's update (its gradients would be cleared
unused). Eager, fp32. The networks are ganzoo's (the code's ResNets, spectral norm in D).
"""

import torch
import torch.nn.functional as F
from ganzoo_sngan.networks import ResNetDiscriminator, ResNetGenerator


def make_loop(config, data, device):
    opt = config.model
    gen = ResNetGenerator(opt.latent_dim, data.shape, opt.g_channels).to(device)
    dis = ResNetDiscriminator(data.shape, opt.d_channels).to(device)
    opt_gen = torch.optim.Adam(gen.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    opt_dis = torch.optim.Adam(dis.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    total = config.steps
    decays = [torch.optim.lr_scheduler.LambdaLR(o, lambda it: max(0.0, 1.0 - (it + 1) / (total + 1)))
              for o in (opt_gen, opt_dis)]

    def step(batches):
        x_real = next(batches)["real"]
        batchsize = x_real.shape[0]
        for i in range(opt.n_dis):
            if i == 0:
                dis.requires_grad_(False)
                z = torch.randn(batchsize * opt.generator_batch_ratio, opt.latent_dim, device=device)
                loss_gen = -dis(gen(z)).mean()
                opt_gen.zero_grad()
                loss_gen.backward()
                opt_gen.step()
                dis.requires_grad_(True)
            else:
                x_real = next(batches)["real"]
            dis_real = dis(x_real)
            with torch.no_grad():
                x_fake = gen(torch.randn(batchsize, opt.latent_dim, device=device))
            dis_fake = dis(x_fake)
            loss_dis = F.relu(1.0 - dis_real).mean() + F.relu(1.0 + dis_fake).mean()
            opt_dis.zero_grad()
            loss_dis.backward()
            opt_dis.step()
        for decay in decays:
            decay.step()

    return step, {"generator": gen, "discriminator": dis}
