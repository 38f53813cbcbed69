"""The training schedule of Mirza & Osindero (2014), section 4.1, as a stepped scheduler.

"The model was trained using stochastic gradient descent with mini-batches of size 100 and initial
learning rate of 0.1 which was exponentially decreased down to .000001 with decay factor of
1.00004. Also momentum was used with initial value of .5 which was increased up to 0.7."

The paper does not say how fast the momentum rises; the code of the GAN paper it builds on
(goodfeli/adversarial, ``mnist.yaml``) raises it linearly over 250 epochs of 500 updates.
"""

from __future__ import annotations

from typing import Any

import torch


class ExponentialDecayMomentumRamp:
    """``lr_t = max(lr / decay**t, min_lr)`` and momentum rising linearly from ``momentum`` to
    ``final_momentum`` over ``saturate`` updates (pylearn2's ExponentialDecay and MomentumAdjustor).

    Stepped once per update by the engine; ``state_dict`` makes it resumable.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        lr: float,
        decay: float,
        min_lr: float,
        momentum: float,
        final_momentum: float,
        saturate: int,
    ) -> None:
        self.optimizer = optimizer
        self.lr, self.decay, self.min_lr = lr, decay, min_lr
        self.momentum, self.final_momentum, self.saturate = momentum, final_momentum, max(1, saturate)
        self.updates = 0
        self._apply()

    def _apply(self) -> None:
        lr = max(self.lr / self.decay**self.updates, self.min_lr)
        ramp = min(1.0, self.updates / self.saturate)
        momentum = self.momentum + ramp * (self.final_momentum - self.momentum)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            group["momentum"] = momentum

    def step(self) -> None:
        self.updates += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self._apply()
