"""Novograd: Adam-like optimization with per-layer (per-tensor) second moments.

Ginsburg et al., "Stochastic Gradient Methods with Layer-wise Adaptive Moments for Training of Deep Networks"
(https://arxiv.org/abs/1905.11286). For each parameter tensor ``w`` with gradient ``g`` at step ``t``::

    v_t = ||g||^2                                    if t == 1 (or while v is still 0)
    v_t = beta2 * v_{t-1} + (1 - beta2) * ||g||^2    otherwise
    d_t = g / (sqrt(v_t) + eps) + weight_decay * w
    m_t = beta1 * m_{t-1} + c * d_t                  c = 1 - beta1 if grad_averaging else 1
    w  <- w - lr * m_t

With ``amsgrad`` the running maximum of ``v`` replaces ``v`` in the denominator. With ``luc`` (layer-wise
update clipping) the step size is ``min(lr, luc_trust * ||w|| / (||m_t|| + luc_eps))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer


class Novograd(Optimizer):
    """Novograd optimizer (NeMo's ``nemo.core.optim.novograd.Novograd``).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: ``(beta1, beta2)``, decay rates of the first moment and of the per-tensor second moment.
        eps: added to ``sqrt(v)`` for numerical stability.
        weight_decay: L2 coefficient, added to the normalized gradient.
        grad_averaging: scale the normalized gradient by ``1 - beta1`` before accumulating it.
        amsgrad: normalize by the running maximum of the second moment.
        luc: clip each tensor's step to ``luc_trust * ||w|| / ||m||`` (layer-wise update clipping).
        luc_trust: trust ratio of ``luc``.
        luc_eps: added to ``||m||`` in ``luc``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.95, 0.98),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        grad_averaging: bool = False,
        amsgrad: bool = False,
        luc: bool = False,
        luc_trust: float = 1e-3,
        luc_eps: float = 1e-8,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Novograd got an invalid learning rate lr={lr}; expected lr >= 0.")
        if eps < 0.0:
            raise ValueError(f"Novograd got an invalid epsilon eps={eps}; expected eps >= 0.")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Novograd got an invalid betas[{index}]={beta}; expected 0 <= beta < 1.")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            grad_averaging=grad_averaging,
            amsgrad=amsgrad,
        )
        self.luc = luc
        self.luc_trust = luc_trust
        self.luc_eps = luc_eps
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Apply one update to every parameter that has a gradient.

        Args:
            closure: re-evaluates the model and returns the loss (optional).

        Returns:
            The loss returned by ``closure``, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError(
                        "Novograd does not support sparse gradients; use a dense gradient (e.g. nn.Embedding "
                        "with sparse=False)."
                    )
                self._update(param, group, beta1, beta2)
        return loss

    def _update(self, param: torch.Tensor, group: dict[str, Any], beta1: float, beta2: float) -> None:
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros((), device=param.device, dtype=param.dtype)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros((), device=param.device, dtype=param.dtype)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1

        grad_norm_sq = param.grad.norm().pow(2)
        if exp_avg_sq == 0:
            exp_avg_sq.copy_(grad_norm_sq)
        else:
            exp_avg_sq.mul_(beta2).add_(grad_norm_sq, alpha=1.0 - beta2)

        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = max_exp_avg_sq.sqrt().add_(group["eps"])
        else:
            denom = exp_avg_sq.sqrt().add_(group["eps"])

        direction = param.grad / denom
        if group["weight_decay"] != 0:
            direction.add_(param, alpha=group["weight_decay"])
        if group["grad_averaging"]:
            direction.mul_(1.0 - beta1)
        exp_avg.mul_(beta1).add_(direction)

        step_size = group["lr"]
        if self.luc:
            luc_factor = self.luc_trust * param.norm() / (exp_avg.norm() + self.luc_eps)
            step_size = min(float(luc_factor), step_size)
        param.add_(exp_avg, alpha=-step_size)
