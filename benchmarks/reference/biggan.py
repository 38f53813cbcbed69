"""BigGAN trained by a plain PyTorch loop: the baseline of ``ganzoo bench biggan``.

Written as the authors' ``train_fns.py`` (``GAN_training_function``) writes an iteration:
``num_D_steps`` discriminator updates, each averaging ``num_D_accumulations`` micro-batches whose
fakes and reals go through D in one concatenated batch, then one generator update averaging
``num_G_accumulations`` micro-batches with D frozen; hinge loss, Adam with the settings' ε, the
classes of the fakes drawn uniformly. Orthogonal regularisation is the code's direct gradient
update on G's weights (``utils.ortho``, blacklisting the shared embedding) when ``ortho_beta`` > 0.
Eager, fp32. The networks are ganzoo's (``ganzoo_biggan.networks``), so the model is identical.
"""

import torch
import torch.nn.functional as F
from ganzoo_biggan.networks import BigGANDiscriminator, BigGANGenerator


def ortho_(model, strength, blacklist):
    """utils.ortho: add 2·strength·((WWᵀ) ⊙ (1 − I))W to each weight's gradient."""
    with torch.no_grad():
        for param in model.parameters():
            if param.grad is None or param.dim() < 2 or any(param is b for b in blacklist):
                continue
            w = param.view(param.shape[0], -1)
            grad = 2 * torch.mm(torch.mm(w, w.t()) * (1.0 - torch.eye(w.shape[0], device=w.device)), w)
            param.grad.data += strength * grad.view(param.shape)


def make_loop(config, data, device):
    opt = config.model
    k = data.num_classes
    G = BigGANGenerator(data.shape, k, opt.g_ch, opt.latent_dim, opt.shared_dim, opt.hierarchical,
                        tuple(opt.g_attention), opt.init, opt.bn_eps, opt.sn_eps, widths=tuple(opt.g_widths)).to(device)
    D = BigGANDiscriminator(data.shape, k, opt.d_ch, tuple(opt.d_attention), opt.init, opt.sn_eps).to(device)
    G_optim = torch.optim.Adam(G.parameters(), lr=opt.lr_g, betas=(opt.beta1, opt.beta2), eps=opt.adam_eps)
    D_optim = torch.optim.Adam(D.parameters(), lr=opt.lr_d, betas=(opt.beta1, opt.beta2), eps=opt.adam_eps)
    dim_z = G.latent_dim

    def step(batches):
        D.requires_grad_(True)
        G.requires_grad_(False)
        for _ in range(opt.d_steps):
            D_optim.zero_grad()
            for _ in range(opt.d_accumulations):
                batch = next(batches)
                x, y = batch["real"], batch["label"]
                bs = x.shape[0]
                z_, y_ = torch.randn(bs, dim_z, device=device), torch.randint(k, (bs,), device=device)
                with torch.no_grad():
                    G_z = G(z_, y_)
                D_out = D(torch.cat([G_z, x], 0), torch.cat([y_, y], 0))
                D_fake, D_real = torch.split(D_out, [bs, bs])
                D_loss = (F.relu(1.0 - D_real).mean() + F.relu(1.0 + D_fake).mean()) / float(opt.d_accumulations)
                D_loss.backward()
            D_optim.step()
        D.requires_grad_(False)
        G.requires_grad_(True)
        G_optim.zero_grad()
        for _ in range(opt.g_accumulations):
            z_, y_ = torch.randn(bs, dim_z, device=device), torch.randint(k, (bs,), device=device)
            G_loss = -D(G(z_, y_), y_).mean() / float(opt.g_accumulations)
            G_loss.backward()
        if opt.ortho_beta > 0:
            ortho_(G, opt.ortho_beta, [] if G.shared is None else list(G.shared.parameters()))
        G_optim.step()
        D.requires_grad_(True)

    return step, {"generator": G, "discriminator": D}
