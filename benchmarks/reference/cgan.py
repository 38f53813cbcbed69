"""The conditional GAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench cgan``.

The step of the common PyTorch conditional GANs (PyTorch-GAN ``cgan.py``): G(z, y) on labels of the
real batch, a discriminator update on real and fake, a generator update, with the paper's optimiser
(Mirza & Osindero 2014, section 4.1): SGD with momentum, the learning rate divided by 1.00004 every
update and the momentum raised linearly, written inline. Eager, fp32. The networks are ganzoo's
(maxout discriminator, dropout on both players).
"""

import torch
import torch.nn as nn
import torch.optim as optim
from ganzoo_cgan.networks import ConditionalDiscriminator, ConditionalGenerator


def make_loop(config, data, device):
    opt = config.model
    generator = ConditionalGenerator(opt.latent_dim, data.num_classes, data.shape, opt.z_hidden,
                                     opt.y_hidden, opt.joint_hidden, opt.dropout).to(device)
    discriminator = ConditionalDiscriminator(data.shape, data.num_classes, opt.x_units, opt.x_pieces,
                                             opt.y_units, opt.y_pieces, opt.joint_units, opt.joint_pieces,
                                             opt.dropout).to(device)
    adversarial_loss = nn.BCEWithLogitsLoss()
    if opt.optimizer == "adam":
        optimizer_G = optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
        optimizer_D = optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    else:
        optimizer_G = optim.SGD(generator.parameters(), lr=opt.lr, momentum=opt.momentum)
        optimizer_D = optim.SGD(discriminator.parameters(), lr=opt.lr, momentum=opt.momentum)
    updates = [0]

    def adjust_sgd():
        updates[0] += 1
        lr = max(opt.lr / opt.lr_decay ** updates[0], opt.min_lr)
        ramp = min(1.0, updates[0] / max(1, opt.momentum_saturate))
        momentum = opt.momentum + ramp * (opt.final_momentum - opt.momentum)
        for optimizer in (optimizer_G, optimizer_D):
            for group in optimizer.param_groups:
                group["lr"], group["momentum"] = lr, momentum

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
        if opt.optimizer == "sgd":
            adjust_sgd()

    return step, {"generator": generator, "discriminator": discriminator}
