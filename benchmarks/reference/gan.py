"""The original GAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench gan``.

Written the way the classic implementations write it (pytorch/examples ``dcgan/main.py``, the
PyTorch-GAN ``gan.py``): the networks, two Adams, one criterion, and per iteration a discriminator
update on real then fake and a non-saturating generator update. Eager, fp32, no engine. The
networks are ganzoo's own classes, so both sides train the same model. The references also print
``.item()`` values every step; that would sync the device and slow the baseline, so it is left out.
"""

import torch
import torch.nn as nn
import torch.optim as optim
from ganzoo_gan.networks import MLPDiscriminator, MLPGenerator


def make_loop(config, data, device):
    opt = config.model
    nz = opt.latent_dim
    netG = MLPGenerator(nz, data.shape, opt.generator_widths).to(device)
    netD = MLPDiscriminator(data.shape, opt.discriminator_widths).to(device)
    netG.train()
    netD.train()

    criterion = nn.BCEWithLogitsLoss()  # the networks return logits
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))

    def step(batches):
        real = next(batches)["real"]
        batch_size = real.size(0)

        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label = torch.full((batch_size,), real_label, device=device)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()

        noise = torch.randn(batch_size, nz, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        optimizerD.step()

        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()

    return step, {"generator": netG, "discriminator": netD}
