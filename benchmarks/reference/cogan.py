"""CoGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench cogan``.

The authors' PyTorch digit trainer (mingyuliutw/CoGAN ``cogan_pytorch/src/trainer_cogan_mnistedge.py``
and its training script) unrolled into one iteration: ``dis_update`` on a real batch of each domain
and the detached fakes of one noise batch (two-class cross-entropy, real labelled 1 and fake 0, one
backward), then ``gen_update`` on fresh noise with the fakes labelled real (the discriminator frozen,
see below). Adam(2e-4, (0.5, 0.999),
weight decay 5e-4) for both. Eager, fp32. The networks are ganzoo's coupled modules, called as the
code's ``CoDis28x28.forward`` calls its layers: each domain's first convolution and pool, then the
shared layers, two class scores per image. ganzoo's images are in [-1, 1], the code's in [0, 1]:
the loop converts at the discriminator's input as ganzoo's module does.
"""

import torch
import torch.nn as nn
from ganzoo_cogan.networks import CoupledDiscriminator, CoupledGenerator


def make_loop(config, data, device):
    opt = config.model
    batch_size = config.batch_size
    dis = CoupledDiscriminator(data.shape[0]).to(device)
    gen = CoupledGenerator(opt.latent_dim, data.shape[0], opt.width).to(device)
    betas = (opt.beta1, opt.beta2)
    dis_opt = torch.optim.Adam(dis.parameters(), lr=opt.lr, betas=betas, weight_decay=opt.weight_decay)
    gen_opt = torch.optim.Adam(gen.parameters(), lr=opt.lr, betas=betas, weight_decay=opt.weight_decay)
    true_labels = torch.ones(batch_size * 2, dtype=torch.long, device=device)
    fake_labels = torch.zeros(batch_size * 2, dtype=torch.long, device=device)

    def dis_forward(x_a, x_b):
        h0_a = dis.heads["A"]((x_a + 1) / 2)
        h0_b = dis.heads["B"]((x_b + 1) / 2)
        return dis.shared(torch.cat((h0_a, h0_b), 0)).squeeze()

    def gen_forward(noise):
        fake_images = gen(noise)
        return fake_images.chunk(2, dim=1)

    def dis_update(images_a, images_b, noise):
        dis.zero_grad()
        true_outputs = dis_forward(images_a, images_b)
        true_loss = nn.functional.cross_entropy(true_outputs, true_labels)
        fake_images_a, fake_images_b = gen_forward(noise)
        fake_outputs = dis_forward(fake_images_a.detach(), fake_images_b.detach())
        fake_loss = nn.functional.cross_entropy(fake_outputs, fake_labels)
        ad_loss = true_loss + fake_loss
        ad_loss.backward()
        dis_opt.step()
        return ad_loss

    def gen_update(noise):
        # The code leaves the discriminator's gradients on here and computes (then discards) its
        # weight gradients; frozen, as ganzoo's generator update has it, the two loops do the
        # same arithmetic and the benchmark compares the loops, not that extra work.
        for p in dis.parameters():
            p.requires_grad = False
        gen.zero_grad()
        fake_images_a, fake_images_b = gen_forward(noise)
        fake_outputs = dis_forward(fake_images_a, fake_images_b)
        ad_loss = nn.functional.cross_entropy(fake_outputs, true_labels)
        ad_loss.backward()
        gen_opt.step()
        for p in dis.parameters():
            p.requires_grad = True
        return ad_loss

    def step(batches):
        batch = next(batches)
        images_a, images_b = batch["A"], batch["B"]
        noise = torch.randn(batch_size, opt.latent_dim, device=device)
        dis_update(images_a, images_b, noise)
        noise = torch.randn(batch_size, opt.latent_dim, device=device)
        gen_update(noise)

    return step, {"generator": gen, "discriminator": dis}
