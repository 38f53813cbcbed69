"""SAGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench sagan``.

As StudioGAN trains its CIFAR-10 SAGAN (one discriminator step, then one generator step, hinge
loss, fakes of uniformly random classes, real images with their labels) and the paper sets the
two time-scales (Adam lr 4e-4 for D, 1e-4 for G, β = (0, 0.9)). The discriminator's weights are
frozen during the generator's update. Eager, fp32. The networks are ganzoo's (spectral norm in
both, self-attention after G's block 2 and D's block 1, conditional BN, projection head).
"""

import torch
import torch.nn.functional as F
from ganzoo_sngan.networks import ResNetDiscriminator, ResNetGenerator


def make_loop(config, data, device):
    opt = config.model
    k = data.num_classes
    gen = ResNetGenerator(opt.latent_dim, data.shape, opt.g_channels, num_classes=k, spectral=True,
                          attention=opt.g_attention, bn_eps=1e-4, init="orthogonal").to(device)
    dis = ResNetDiscriminator(data.shape, opt.d_channels, num_classes=k, attention=opt.d_attention,
                              init="orthogonal", head_bias=True).to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=opt.lr_g, betas=(opt.beta1, opt.beta2))
    opt_d = torch.optim.Adam(dis.parameters(), lr=opt.lr_d, betas=(opt.beta1, opt.beta2))

    def step(batches):
        batch = next(batches)
        real, real_y = batch["real"], batch["label"]
        n = real.shape[0]
        # discriminator
        for i in range(opt.n_dis):
            if i:
                batch = next(batches)
                real, real_y = batch["real"], batch["label"]
            z, fake_y = torch.randn(n, opt.latent_dim, device=device), torch.randint(k, (n,), device=device)
            with torch.no_grad():
                fake = gen(z, fake_y)
            d_loss = F.relu(1.0 - dis(real, real_y)).mean() + F.relu(1.0 + dis(fake, fake_y)).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        # generator
        dis.requires_grad_(False)
        z, fake_y = torch.randn(n, opt.latent_dim, device=device), torch.randint(k, (n,), device=device)
        g_loss = -dis(gen(z, fake_y), fake_y).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        dis.requires_grad_(True)

    return step, {"generator": gen, "discriminator": dis}
