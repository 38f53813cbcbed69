"""DCGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench dcgan``.

The training step of pytorch/examples ``dcgan/main.py``, line for line: ``netD.zero_grad()``, real
batch through D and backward, fake batch through D and backward, ``optimizerD.step()``; then
``netG.zero_grad()``, the fakes through D with real labels, backward, ``optimizerG.step()``. Eager,
fp32, ``cudnn.benchmark = True`` as the example sets it. The networks are ganzoo's classes (layer for
layer the example's); the example's sigmoid + ``BCELoss`` is the logit + ``BCEWithLogitsLoss`` here,
the same function. The per-step ``.item()`` prints and image saving are left out (they would sync
the device and slow the baseline).
"""

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.optim as optim
from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator


def make_loop(config, data, device):
    opt = config.model
    nz, nc, image_size = opt.latent_dim, data.shape[0], data.shape[1]
    cudnn.benchmark = True
    netG = DCGANGenerator(nz, nc, image_size, opt.ngf).to(device)
    netD = DCGANDiscriminator(nc, image_size, opt.ndf).to(device)

    criterion = nn.BCEWithLogitsLoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))

    def step(batches):
        real_cpu = next(batches)["real"]
        batch_size = real_cpu.size(0)

        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        # train with real
        netD.zero_grad()
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()

        # train with fake
        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        optimizerD.step()

        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()

    return step, {"generator": netG, "discriminator": netD}
