"""The conditional GAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench cgan``.

The step of the common PyTorch conditional GANs (PyTorch-GAN ``cgan.py``, the conditional DCGAN of
pytorch/examples' shape): G(z, y) on the labels of the real batch, a discriminator update on real and
fake, then a generator update, both with Adam(2e-4, 0.5, 0.999). Eager, fp32, ``cudnn.benchmark``
on. The networks are ganzoo's: by default the DCGAN pair with y fed to both players (section 3.2 of
Mirza & Osindero 2014); with ``model.architecture = "mlp"`` the paper's MNIST MLPs (section 4.1).
"""

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.optim as optim
from ganzoo_cgan.networks import (
    ConditionalConvDiscriminator,
    ConditionalConvGenerator,
    ConditionalDiscriminator,
    ConditionalGenerator,
)


def make_loop(config, data, device):
    opt = config.model
    cudnn.benchmark = True
    if opt.architecture == "mlp":
        generator = ConditionalGenerator(opt.latent_dim, data.num_classes, data.shape, opt.z_hidden,
                                         opt.y_hidden, opt.joint_hidden, opt.dropout)
        discriminator = ConditionalDiscriminator(data.shape, data.num_classes, opt.x_units, opt.x_pieces,
                                                 opt.y_units, opt.y_pieces, opt.joint_units, opt.joint_pieces,
                                                 opt.dropout)
    else:
        generator = ConditionalConvGenerator(opt.latent_dim, data.num_classes, data.shape, opt.ngf)
        discriminator = ConditionalConvDiscriminator(data.shape, data.num_classes, opt.ndf)
    generator, discriminator = generator.to(device), discriminator.to(device)
    adversarial_loss = nn.BCEWithLogitsLoss()
    optimizer_G = optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    optimizer_D = optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))

    def step(batches):
        batch = next(batches)
        imgs, labels = batch["real"], batch["label"]
        batch_size = imgs.shape[0]
        valid = torch.ones(batch_size, device=device)
        fake = torch.zeros(batch_size, device=device)

        if opt.noise == "uniform":
            z = torch.rand(batch_size, opt.latent_dim, device=device)
        else:
            z = torch.randn(batch_size, opt.latent_dim, device=device)
        gen_imgs = generator(z, labels)

        # Train Discriminator
        optimizer_D.zero_grad()
        d_real_loss = adversarial_loss(discriminator(imgs, labels), valid)
        d_fake_loss = adversarial_loss(discriminator(gen_imgs.detach(), labels), fake)
        d_loss = d_real_loss + d_fake_loss
        d_loss.backward()
        optimizer_D.step()

        # Train Generator
        optimizer_G.zero_grad()
        g_loss = adversarial_loss(discriminator(gen_imgs, labels), valid)
        g_loss.backward()
        optimizer_G.step()

    return step, {"generator": generator, "discriminator": discriminator}
