"""WGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench wgan``.

The training loop of the authors' code (martinarjovsky/WassersteinGAN ``main.py``) unrolled into
one iteration: ``Diters`` critic updates (100 while the generator has made fewer than 25 steps and
at every 500th generator step, else ``--Diters``), each one clamping every critic parameter to
[clamp_lower, clamp_upper] first, then drawing a fresh real batch, ``errD_real.backward(one)`` and
``errD_fake.backward(mone)`` on a frozen generator's fakes, ``optimizerD.step()``; then one generator
update with the critic's parameters frozen (``requires_grad = False``). RMSProp for both. Eager,
fp32. The networks are ganzoo's (the DCGAN generator, the DCGAN critic with BatchNorm); the code's
critic averages its scores inside the network, here the loop takes the mean, and the signs are the
code's (its critic maximises the fake score: f ↦ −f of the paper's).
"""

import torch
import torch.optim as optim
from ganzoo_dcgan.networks import DCGANDiscriminator, DCGANGenerator


def make_loop(config, data, device):
    opt = config.model
    nc, image_size = data.shape[0], data.shape[1]
    netG = DCGANGenerator(opt.latent_dim, nc, image_size, opt.ngf).to(device)
    netD = DCGANDiscriminator(nc, image_size, opt.ndf, norm="batch").to(device)
    optimizerD = optim.RMSprop(netD.parameters(), lr=opt.lr_critic)
    optimizerG = optim.RMSprop(netG.parameters(), lr=opt.lr_generator)
    one = torch.tensor(1.0, device=device)
    mone = one * -1
    batchSize = config.batch_size
    gen_iterations = 0

    def step(batches):
        nonlocal gen_iterations
        ############################
        # (1) Update D network
        ###########################
        for p in netD.parameters():  # reset requires_grad
            p.requires_grad = True  # they are set to False below in netG update

        # train the discriminator Diters times
        if gen_iterations < opt.warmup_generator_steps or gen_iterations % opt.warmup_every == 0:
            Diters = opt.warmup_critic_steps
        else:
            Diters = opt.n_critic
        j = 0
        while j < Diters:
            j += 1

            # clamp parameters to a cube
            for p in netD.parameters():
                p.data.clamp_(-opt.clip, opt.clip)

            real_cpu = next(batches)["real"]
            netD.zero_grad()

            # train with real
            errD_real = netD(real_cpu).mean()
            errD_real.backward(one)

            # train with fake
            noise = torch.randn(batchSize, opt.latent_dim, 1, 1, device=device)
            with torch.no_grad():  # totally freeze netG
                fake = netG(noise)
            errD_fake = netD(fake).mean()
            errD_fake.backward(mone)
            optimizerD.step()

        ############################
        # (2) Update G network
        ###########################
        for p in netD.parameters():
            p.requires_grad = False  # to avoid computation
        netG.zero_grad()
        noise = torch.randn(batchSize, opt.latent_dim, 1, 1, device=device)
        fake = netG(noise)
        errG = netD(fake).mean()
        errG.backward(one)
        optimizerG.step()
        gen_iterations += 1

    return step, {"generator": netG, "critic": netD}
