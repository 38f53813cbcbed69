"""Gradient accumulation: batches beyond memory, as the authors' ``train_fns.py`` builds them.

BigGAN's 128 px batch of 2,048 is 256 images × 8 accumulations (``num_D_accumulations``,
``num_G_accumulations``): each accumulation's loss is divided by their number and back-propagated,
and the optimiser steps once. For a network without batch statistics this is the gradient of one
batch of 2,048; BatchNorm in G sees each accumulation's own statistics and spectral norm runs its
power iteration once per forward, in the authors' code as here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def accumulated_update(optimizer: torch.optim.Optimizer, micro_batch_terms: Callable[[int], dict[str, torch.Tensor]],
                       accumulations: int) -> dict[str, torch.Tensor]:
    """One optimiser step on the mean of ``accumulations`` micro-batches' losses.

    ``micro_batch_terms(i)`` computes the loss terms of micro-batch ``i``; their sum, divided by
    ``accumulations``, is back-propagated at once, so only one micro-batch's graph is alive at a
    time. Returns each term averaged over the micro-batches (detached), as one batch would log it.
    """
    optimizer.zero_grad(set_to_none=True)
    logged: dict[str, torch.Tensor] = {}
    for index in range(accumulations):
        terms = micro_batch_terms(index)
        first, *rest = terms.values()
        (sum(rest, first) / accumulations).backward()
        for name, value in terms.items():
            value = value.detach() / accumulations
            logged[name] = logged[name] + value if name in logged else value
    optimizer.step()
    return logged


def run_accumulated(schedule, ctx, accumulations: dict[str, int]) -> dict[str, torch.Tensor]:
    """One training iteration in schedule order with ``accumulations[player]`` micro-batches per
    update, each on a fresh real batch after the first (``train_fns.py``'s split of one big batch)."""
    from ganzoo.engine import distributed

    out: dict[str, torch.Tensor] = {}

    def terms_of(player, repeat: int):
        def micro_batch(index: int) -> dict[str, torch.Tensor]:
            if player.fresh_batch and (index > 0 or repeat > 0):
                ctx.next_batch()
            with ctx.autocast():
                return ctx.compute_losses(player.name)
        return micro_batch

    for player in schedule.players:
        for repeat in range(player.repeats):
            distributed.begin_update(ctx, player)
            terms = accumulated_update(player.optimizer, terms_of(player, repeat), accumulations.get(player.name, 1))
        for name, value in terms.items():
            out[f"{player.name}/{name}"] = value
        if player.lr_scheduler is not None:
            player.lr_scheduler.step()
    return out
