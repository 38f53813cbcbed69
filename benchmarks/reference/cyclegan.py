"""CycleGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench cyclegan``.

``CycleGANModel.optimize_parameters`` of the authors' reference code (junyanz/pytorch-CycleGAN-and-
pix2pix) unrolled into one function: forward (two translations and two reconstructions), the
generators' update with the discriminators frozen (LSGAN ``MSELoss`` against an expanded target,
L1 cycle and identity losses, one backward), then both discriminators' update on real images and
on fakes from a 50-image history (its ``ImagePool``, copied below), each loss halved. Eager, fp32.
The networks are ganzoo's (ResNet generators, 70×70 PatchGAN); ``discriminator_A`` judges domain A.
"""

import itertools
import random

import torch
import torch.nn as nn
from ganzoo_cyclegan.networks import PatchDiscriminator, ResnetGenerator, residual_blocks_for


class ImagePool:
    """The reference code's ``util/image_pool.py``."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        if self.pool_size > 0:
            self.num_imgs = 0
            self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        return_images = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.num_imgs < self.pool_size:
                self.num_imgs = self.num_imgs + 1
                self.images.append(image)
                return_images.append(image)
            else:
                p = random.uniform(0, 1)
                if p > 0.5:
                    random_id = random.randint(0, self.pool_size - 1)
                    tmp = self.images[random_id].clone()
                    self.images[random_id] = image
                    return_images.append(tmp)
                else:
                    return_images.append(image)
        return torch.cat(return_images, 0)


class GANLoss(nn.Module):
    """The reference code's LSGAN loss: MSE against a target tensor expanded to the prediction."""

    def __init__(self):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(1.0))
        self.register_buffer("fake_label", torch.tensor(0.0))
        self.loss = nn.MSELoss()

    def __call__(self, prediction, target_is_real):
        target_tensor = self.real_label if target_is_real else self.fake_label
        return self.loss(prediction, target_tensor.expand_as(prediction))


def set_requires_grad(nets, requires_grad=False):
    for net in nets:
        for param in net.parameters():
            param.requires_grad = requires_grad


def make_loop(config, data, device):
    opt = config.model
    nc, size = data.shape[0], data.shape[1]
    blocks = opt.residual_blocks or residual_blocks_for(size)
    netG_A = ResnetGenerator(nc, opt.generator_width, blocks).to(device)  # A -> B
    netG_B = ResnetGenerator(nc, opt.generator_width, blocks).to(device)  # B -> A
    netD_A = PatchDiscriminator(nc, opt.discriminator_width, opt.discriminator_layers).to(device)  # judges A
    netD_B = PatchDiscriminator(nc, opt.discriminator_width, opt.discriminator_layers).to(device)  # judges B
    fake_A_pool, fake_B_pool = ImagePool(opt.pool_size), ImagePool(opt.pool_size)
    criterionGAN = GANLoss().to(device)
    criterionCycle, criterionIdt = nn.L1Loss(), nn.L1Loss()
    betas = (opt.beta1, opt.beta2)
    optimizer_G = torch.optim.Adam(itertools.chain(netG_A.parameters(), netG_B.parameters()), lr=opt.lr, betas=betas)
    optimizer_D = torch.optim.Adam(itertools.chain(netD_A.parameters(), netD_B.parameters()), lr=opt.lr, betas=betas)
    lambda_A = lambda_B = opt.lambda_cycle
    lambda_idt = opt.lambda_identity

    def backward_D_basic(netD, real, fake):
        pred_real = netD(real)
        loss_D_real = criterionGAN(pred_real, True)
        pred_fake = netD(fake.detach())
        loss_D_fake = criterionGAN(pred_fake, False)
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    def step(batches):
        batch = next(batches)
        real_A, real_B = batch["A"], batch["B"]
        # forward
        fake_B = netG_A(real_A)
        rec_A = netG_B(fake_B)
        fake_A = netG_B(real_B)
        rec_B = netG_A(fake_A)
        # G_A and G_B
        set_requires_grad([netD_A, netD_B], False)
        optimizer_G.zero_grad()
        if lambda_idt > 0:
            idt_A = netG_A(real_B)
            loss_idt_A = criterionIdt(idt_A, real_B) * lambda_B * lambda_idt
            idt_B = netG_B(real_A)
            loss_idt_B = criterionIdt(idt_B, real_A) * lambda_A * lambda_idt
        else:
            loss_idt_A = loss_idt_B = 0
        loss_G_A = criterionGAN(netD_B(fake_B), True)
        loss_G_B = criterionGAN(netD_A(fake_A), True)
        loss_cycle_A = criterionCycle(rec_A, real_A) * lambda_A
        loss_cycle_B = criterionCycle(rec_B, real_B) * lambda_B
        loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        loss_G.backward()
        optimizer_G.step()
        # D_A and D_B
        set_requires_grad([netD_A, netD_B], True)
        optimizer_D.zero_grad()
        backward_D_basic(netD_B, real_B, fake_B_pool.query(fake_B))
        backward_D_basic(netD_A, real_A, fake_A_pool.query(fake_A))
        optimizer_D.step()

    return step, {"generator_AB": netG_A, "generator_BA": netG_B, "discriminator_A": netD_A, "discriminator_B": netD_B}
