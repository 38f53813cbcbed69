"""WGAN-GP trained by a plain PyTorch loop: the baseline of ``ganzoo bench wgan-gp``.

Algorithm 1 of Gulrajani et al. (2017) as the common PyTorch ports of the authors' code write it
(caogang/wgan-gp ``gan_mnist.py``/``gan_cifar10.py``): per iteration, ``CRITIC_ITERS`` critic updates,
each on a fresh real batch, with three backward passes (``D_real.backward(mone)``,
``D_fake.backward(one)``, ``gradient_penalty.backward()``), then one generator update with the
critic's parameters frozen (``requires_grad = False``). Eager, fp32. The networks are ganzoo's
(the DCGAN generator, the DCGAN critic with layer normalisation).
"""

import torch
import torch.autograd as autograd
import torch.optim as optim
from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator


def calc_gradient_penalty(netD, real_data, fake_data, LAMBDA, device):
    alpha = torch.rand(real_data.size(0), 1, 1, 1, device=device)
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates.requires_grad_(True)
    disc_interpolates = netD(interpolates)
    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size(), device=device),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA


def make_loop(config, data, device):
    opt = config.model
    nc, image_size = data.shape[0], data.shape[1]
    netG = DCGANGenerator(opt.latent_dim, nc, image_size, opt.ngf).to(device)
    netD = DCGANDiscriminator(nc, image_size, opt.ndf, norm=opt.critic_norm).to(device)
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2))
    one = torch.tensor(1.0, device=device)
    mone = one * -1

    def step(batches):
        # (1) Update D network
        for p in netD.parameters():  # reset requires_grad
            p.requires_grad = True
        for _ in range(opt.n_critic):
            real_data = next(batches)["real"]
            batch_size = real_data.size(0)
            netD.zero_grad()

            D_real = netD(real_data).mean()
            D_real.backward(mone)

            noise = torch.randn(batch_size, opt.latent_dim, device=device)
            with torch.no_grad():
                fake = netG(noise)
            D_fake = netD(fake).mean()
            D_fake.backward(one)

            gradient_penalty = calc_gradient_penalty(netD, real_data, fake, opt.lambda_gp, device)
            gradient_penalty.backward()
            optimizerD.step()

        # (2) Update G network
        for p in netD.parameters():
            p.requires_grad = False  # to avoid computation
        netG.zero_grad()
        noise = torch.randn(batch_size, opt.latent_dim, device=device)
        fake = netG(noise)
        G = netD(fake).mean()
        G.backward(mone)
        optimizerG.step()

    return step, {"generator": netG, "critic": netD}
