"""Keras's optimizers (`RMSprop`, `Adam`, `SGD`, `Adagrad`, `Nadam`, `AdamW`) with Keras's defaults and
update rules, on `torch.optim`.

Each textrnn optimizer is a small Keras-style object (arguments, `get_config`, `learning_rate`,
`iterations`, gradient clipping) that builds a `torch.optim.Optimizer` over a model's parameters.
The update rules are Keras's own, which differ from PyTorch's in where epsilon goes:

- RMSprop: `v = rho·v + (1 − rho)·g²; w −= lr·g / sqrt(v + epsilon)`. PyTorch's `RMSprop(alpha=rho,
  eps=epsilon)` divides by `sqrt(v) + epsilon` instead, which differs while `v` is small (early
  steps, rarely updated embedding rows), so textrnn implements Keras's rule.
- Adam: Keras's epsilon is "epsilon hat": `w −= lr·sqrt(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (sqrt(v) + epsilon)`.
- SGD: the same as PyTorch's (`dampening=0`), so `torch.optim.SGD` is used.

All but SGD are textrnn's own `torch.optim` classes on one shared step (`_KerasRule`: the
weights with a gradient, their state, Keras's decoupled weight decay), each supplying only its rule;
clipping and the moving average live in `Optimizer`, for every rule alike.

With `use_ema=True` the optimizer also keeps Keras's exponential moving average of the weights
(`average = ema_momentum·average + (1 − ema_momentum)·w` after every step, the first step copying
`w`), writes it into the model every `ema_overwrite_frequency` steps if that is set, and `fit` writes
it in at the end of training (`finalize_variable_values`), before `on_train_end`, as Keras does.

The updates run as fused multi-tensor (`torch._foreach_*`) operations, one kernel per step on a GPU.
On CPU, RMSprop without momentum or centering runs textrnn's native one-pass kernel where it is
available (`textrnn.kernels.rmsprop_update_`: the same rule, a correctly rounded square root).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, cast

import torch
from torch import nn

from textrnn import checks


def _check_float(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise checks.invalid(name, f"a number in {lo}{low}, {high}{hi}", value)
    return float(value)


def _check_optional_positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    return _check_float(name, value, 0.0, math.inf, low_open=True, high_open=True)


def _dense_views(tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
    """The tensors as contiguous views of their memory (dims reordered alike), if they share one
    dense layout (a weight stored transposed, its gradient and state made like it); else None."""
    first = tensors[0]
    if all(t.is_contiguous() and t.shape == first.shape for t in tensors):
        return tensors  # the common case: nothing to reorder
    if any(
        t.layout != torch.strided or t.stride() != first.stride() or t.shape != first.shape for t in tensors
    ):
        return None
    strides = first.stride()
    order = sorted(range(first.dim()), key=lambda d: -strides[d])
    views = tuple(t.permute(order) for t in tensors)
    return views if views[0].is_contiguous() else None


def _native_views(
    params: list[torch.Tensor], grads: list[Any], *states: list[torch.Tensor]
) -> list[tuple[torch.Tensor, ...]] | None:
    """`(weight, grad, *state)` views for textrnn's one-pass CPU kernels, or None if they cannot
    apply this step (not all on CPU in one float dtype and dense layout, or no native kernels)."""
    dtype = params[0].dtype
    if dtype not in (torch.float32, torch.float64):
        return None
    views = []
    for group in zip(params, grads, *states, strict=True):
        if any(t.device.type != "cpu" or t.dtype != dtype for t in group):
            return None
        dense = _dense_views(group)
        if dense is None:
            return None
        views.append(dense)
    from textrnn import kernels

    return views if kernels.available() else None


_Group = dict[str, Any]  # a parameter group, or one weight's state
_Tensors = list[torch.Tensor]


class _KerasRule(torch.optim.Optimizer):
    """The step textrnn's own update rules share; a subclass supplies only its rule.

    Per parameter group: the weights that have a gradient this step, their state (made by
    `_new_state` the first time a weight is seen), Keras's decoupled weight decay where the group has
    a `weight_decay` (`w −= w · weight_decay · lr`, before the update, as Keras does), then `_update`,
    the rule itself as multi-tensor (`torch._foreach_*`) operations over the group's weights.
    """

    def _new_state(self, p: torch.Tensor, group: _Group) -> _Group:
        raise NotImplementedError

    def _update(self, group: _Group, params: _Tensors, grads: _Tensors, states: list[_Group]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = [self.state[p] for p in params]
            for p, s in zip(params, states, strict=True):
                if not s:
                    s.update(self._new_state(p, group))
            if group.get("weight_decay"):
                torch._foreach_mul_(params, 1.0 - group["weight_decay"] * group["lr"])
            self._update(group, params, [p.grad for p in params], states)


class _KerasRMSprop(_KerasRule):
    """Keras's RMSprop update (epsilon inside the square root)."""

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float,
        rho: float,
        momentum: float,
        epsilon: float,
        centered: bool,
    ) -> None:
        super().__init__(
            params, {"lr": lr, "rho": rho, "momentum": momentum, "epsilon": epsilon, "centered": centered}
        )

    def _new_state(self, p: torch.Tensor, group: _Group) -> _Group:
        s = {"velocity": torch.zeros_like(p)}
        if group["momentum"] > 0:
            s["momentum"] = torch.zeros_like(p)
        if group["centered"]:
            s["average_gradient"] = torch.zeros_like(p)
        return s

    def _update(self, group: _Group, params: _Tensors, grads: _Tensors, states: list[_Group]) -> None:
        rho, lr, eps = group["rho"], group["lr"], group["epsilon"]
        vel = [s["velocity"] for s in states]
        native = None if group["centered"] or group["momentum"] > 0 else _native_views(params, grads, vel)
        if native is not None:
            from textrnn import kernels

            for p, g, v in native:
                kernels.rmsprop_update_(p, g, v, learning_rate=lr, rho=rho, epsilon=eps)
            return
        torch._foreach_mul_(vel, rho)
        torch._foreach_addcmul_(vel, grads, grads, value=1.0 - rho)
        if group["centered"]:
            avg = [s["average_gradient"] for s in states]
            torch._foreach_lerp_(avg, grads, 1.0 - rho)
            denom = torch._foreach_addcmul(vel, avg, avg, value=-1.0)
            torch._foreach_add_(denom, eps)
        else:
            denom = torch._foreach_add(vel, eps)
        torch._foreach_sqrt_(denom)
        if group["momentum"] > 0:
            mom = [s["momentum"] for s in states]
            torch._foreach_mul_(mom, group["momentum"])
            torch._foreach_addcdiv_(mom, grads, denom, value=lr)
            torch._foreach_sub_(params, mom)
        else:
            torch._foreach_addcdiv_(params, grads, denom, value=-lr)


def _adam_step_size(group: _Group, t: int) -> float:
    """Adam's bias-corrected learning rate at a weight's step `t`."""
    return float(group["lr"] * math.sqrt(1.0 - group["beta_2"] ** t) / (1.0 - group["beta_1"] ** t))


class _KerasAdam(_KerasRule):
    """Keras's Adam update (epsilon hat); with `weight_decay`, Keras's AdamW."""

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        amsgrad: bool,
        weight_decay: float | None = None,
    ) -> None:
        defaults = {"lr": lr, "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "amsgrad": amsgrad}
        if weight_decay is not None:
            defaults["weight_decay"] = weight_decay
        super().__init__(params, defaults)

    def _new_state(self, p: torch.Tensor, group: _Group) -> _Group:
        s = {"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)}
        if group["amsgrad"]:
            s["v_hat"] = torch.zeros_like(p)
        return s

    def _update(self, group: _Group, params: _Tensors, grads: _Tensors, states: list[_Group]) -> None:
        b1, b2 = group["beta_1"], group["beta_2"]
        # Keras counts steps per optimizer; parameters that always get a gradient agree.
        for s in states:
            s["step"] += 1
        ms = [s["m"] for s in states]
        vs = [s["v"] for s in states]
        native = None if group["amsgrad"] else _native_views(params, grads, ms, vs)
        if native is not None:
            from textrnn import kernels

            for (p, g, m, v), s in zip(native, states, strict=True):
                alpha = _adam_step_size(group, s["step"])
                kernels.adam_update_(p, g, m, v, alpha=alpha, beta_1=b1, beta_2=b2, epsilon=group["epsilon"])
            return
        torch._foreach_lerp_(ms, grads, 1.0 - b1)
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - b2)
        if group["amsgrad"]:
            vhat = [s["v_hat"] for s in states]
            torch._foreach_maximum_(vhat, vs)
            denom = torch._foreach_sqrt(vhat)
        else:
            denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, group["epsilon"])
        # Parameters may have taken different numbers of steps (a layer frozen for a while).
        by_step: dict[int, list[int]] = {}
        for i, s in enumerate(states):
            by_step.setdefault(s["step"], []).append(i)
        for t, idx in by_step.items():
            alpha = _adam_step_size(group, t)
            torch._foreach_addcdiv_(
                [params[i] for i in idx], [ms[i] for i in idx], [denom[i] for i in idx], value=-alpha
            )


class Optimizer:
    """Base class of textrnn's Keras-style optimizers.

    Args:
        learning_rate: a positive float.
        clipnorm: if set, each weight's gradient is rescaled so that its L2 norm is at most this.
        clipvalue: if set, each gradient element is clipped to `[-clipvalue, clipvalue]`.
        global_clipnorm: if set, all gradients are rescaled together so that their joint L2 norm is
            at most this. At most one of `clipnorm`, `clipvalue`, `global_clipnorm` may be set.
        use_ema: keep an exponential moving average (EMA) of the weights, default False.
        ema_momentum: the EMA's decay per step, in [0, 1], default 0.99.
        ema_overwrite_frequency: with `use_ema`, replace the weights by their average every this many
            steps (an integer ≥ 1); None (default) replaces them only at the end of `fit`. Set it to
            the steps per epoch to have validation, early stopping and checkpoints see the average.
        name: the optimizer's name.

    Call `build(parameters)` once (the model does it in `fit`), then per step: `zero_grad()`,
    backward, `step()`. `learning_rate` can be changed between steps.
    """

    def __init__(
        self,
        learning_rate: float,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str,
    ) -> None:
        self._learning_rate = _check_float(
            "learning_rate", learning_rate, 0.0, math.inf, low_open=True, high_open=True
        )
        self.clipnorm = _check_optional_positive("clipnorm", clipnorm)
        self.clipvalue = _check_optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _check_optional_positive("global_clipnorm", global_clipnorm)
        given = [n for n in ("clipnorm", "clipvalue", "global_clipnorm") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set, got "
                f"{', '.join(given)}. "
                "Keep one of them."
            )
        if not isinstance(use_ema, bool):
            raise checks.invalid("use_ema", "True or False", use_ema, error=TypeError)
        self.use_ema = use_ema
        self.ema_momentum = _check_float("ema_momentum", ema_momentum, 0.0, 1.0)
        if ema_overwrite_frequency is not None and (
            isinstance(ema_overwrite_frequency, bool)
            or not isinstance(ema_overwrite_frequency, int)
            or ema_overwrite_frequency < 1
        ):
            raise checks.invalid(
                "ema_overwrite_frequency", "an integer >= 1 or None", ema_overwrite_frequency
            )
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if not isinstance(name, str):
            raise checks.invalid("name", "a string", name, error=TypeError)
        self.name = name
        self.iterations = 0
        self._torch: torch.optim.Optimizer | None = None
        self._param_ids: tuple[int, ...] = ()
        self._params: list[nn.Parameter] = []
        self.average: list[torch.Tensor] | None = None  # the EMA of `_params`, once a step was taken

    # -------------------------------------------------------------- torch side
    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        raise NotImplementedError

    def build(self, parameters: Iterable[nn.Parameter]) -> None:
        """Create the optimizer state for `parameters` (those with `requires_grad`)."""
        params = [p for p in parameters if p.requires_grad]
        if not params:
            raise ValueError("The model has no trainable weights, so there is nothing to optimize.")
        self._torch = self._make_torch_optimizer(params)
        self._param_ids = tuple(id(p) for p in params)
        self._params = params
        self.average = None

    def is_built_for(self, parameters: Iterable[nn.Parameter]) -> bool:
        return self._torch is not None and self._param_ids == tuple(
            id(p) for p in parameters if p.requires_grad
        )

    @property
    def built(self) -> bool:
        return self._torch is not None

    @property
    def torch_optimizer(self) -> torch.optim.Optimizer:
        """The underlying `torch.optim.Optimizer` (after `build`)."""
        if self._torch is None:
            raise RuntimeError(
                f"Optimizer `{self.name}` is not built yet: call `build(model.parameters())` first."
            )
        return self._torch

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = _check_float(
            "learning_rate", value, 0.0, math.inf, low_open=True, high_open=True
        )
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = self._learning_rate

    def zero_grad(self) -> None:
        self.torch_optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def _clip(self) -> None:
        grads = [p.grad for g in self.torch_optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        if self.clipvalue is not None:
            torch._foreach_clamp_min_(grads, -self.clipvalue)
            torch._foreach_clamp_max_(grads, self.clipvalue)
        elif self.clipnorm is not None:
            # Keras: g · clipnorm / max(‖g‖, clipnorm), per weight.
            norms = torch._foreach_norm(grads)
            scales = [self.clipnorm / torch.clamp(n, min=self.clipnorm) for n in norms]
            torch._foreach_mul_(grads, scales)
        elif self.global_clipnorm is not None:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, self.global_clipnorm / torch.clamp(total, min=self.global_clipnorm))

    def step(self) -> None:
        """Clip the gradients (if asked) and apply one update."""
        if self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm is not None:
            self._clip()
        self.torch_optimizer.step()
        if self.use_ema:
            self._update_average()
        self.iterations += 1

    @torch.no_grad()
    def _update_average(self) -> None:
        weights = [p.detach() for p in self._params]
        if self.average is None or self.iterations == 0:
            self.average = [w.clone() for w in weights]
        else:
            torch._foreach_lerp_(self.average, weights, 1.0 - self.ema_momentum)
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            torch._foreach_copy_(weights, self.average)

    def load_average(self, average: list[torch.Tensor]) -> None:
        """Restore the moving average saved from `average` (a resumed run), onto the weights' devices."""
        if len(average) != len(self._params):
            raise ValueError(
                f"The saved weight average has {len(average)} tensors, but the optimizer has "
                f"{len(self._params)} weights."
            )
        self.average = [a.to(p.device, p.dtype) for a, p in zip(average, self._params, strict=True)]

    @torch.no_grad()
    def finalize_variable_values(self) -> None:
        """With `use_ema`, write the moving average into the weights (`fit` calls it at the end)."""
        if self.use_ema and self.average is not None:
            torch._foreach_copy_([p.detach() for p in self._params], self.average)

    # -------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "learning_rate": self._learning_rate,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class RMSprop(Optimizer):
    """Keras's RMSprop: divide the gradient by a running root mean square of recent gradients.

    Args:
        learning_rate: default 0.001.
        rho: discounting factor of the squared-gradient average, default 0.9.
        momentum: default 0.0 (plain momentum when > 0).
        epsilon: added inside the square root, default 1e-7.
        centered: if True, normalise by the estimated variance of the gradient. Default False.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, name:
            see `Optimizer`.

    Example:
        >>> opt = RMSprop(learning_rate=1e-3)
        >>> model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["acc"])
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "rmsprop",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        self.rho = _check_float("rho", rho, 0.0, 1.0, high_open=True)
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf, high_open=True)
        self.centered = bool(centered)

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return _KerasRMSprop(params, self.learning_rate, self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    """Keras's Adam.

    Args:
        learning_rate: default 0.001.
        beta_1: decay of the first-moment estimate, default 0.9.
        beta_2: decay of the second-moment estimate, default 0.999.
        epsilon: Keras's "epsilon hat", default 1e-7.
        amsgrad: use the AMSGrad variant, default False.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, name:
            see `Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "adam",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf, high_open=True)
        self.amsgrad = bool(amsgrad)

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return _KerasAdam(params, self.learning_rate, self.beta_1, self.beta_2, self.epsilon, self.amsgrad)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class SGD(Optimizer):
    """Keras's SGD, with optional (Nesterov) momentum.

    Args:
        learning_rate: default 0.01.
        momentum: default 0.0.
        nesterov: default False.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, name:
            see `Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "SGD",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError(
                "`nesterov=True` needs a positive `momentum`, got momentum=0.0. Set `momentum`, e.g. 0.9."
            )

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        # Keras: m = momentum·m − lr·g; w += m  ≡  PyTorch's SGD with dampening 0 at a fixed lr.
        return torch.optim.SGD(params, lr=self.learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


_Known = type[RMSprop] | type[Adam] | type[SGD]
_BY_NAME: dict[str, _Known] = {"rmsprop": RMSprop, "adam": Adam, "sgd": SGD}
_CLASSES: dict[str, _Known] = {"RMSprop": RMSprop, "Adam": Adam, "SGD": SGD}


def get(identifier: Any) -> Optimizer:
    """Resolve an optimizer: a Keras name (`"rmsprop"`, `"adam"`, `"sgd"`), an object, or a config dict.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything else.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise checks.invalid(
                "optimizer",
                f"one of {sorted(_BY_NAME)} or an optimizer from `textrnn.optimizers`",
                identifier,
            )
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _CLASSES.get(name) or _BY_NAME.get(str(name).lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer class {name!r} in config; expected one of {sorted(_CLASSES)}."
            )
        return cls.from_config(dict(identifier.get("config", {})))
    raise checks.invalid(
        "optimizer",
        "a name such as 'rmsprop' or an object such as `textrnn.optimizers.RMSprop(...)`",
        identifier,
        error=TypeError,
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """The `{"class_name", "config"}` form read back by `get()`."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


# ---------------------------------------------------------------- Adagrad, Nadam, AdamW (Keras 3)
class _KerasAdagrad(_KerasRule):
    """Keras's Adagrad: `a += g²; w −= lr · g / sqrt(a + epsilon)`, `a` starting at
    `initial_accumulator_value`."""

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float,
        initial: float,
        epsilon: float,
        wd: float | None,
    ) -> None:
        super().__init__(params, {"lr": lr, "initial": initial, "epsilon": epsilon, "weight_decay": wd})

    def _new_state(self, p: torch.Tensor, group: _Group) -> _Group:
        return {"accumulator": torch.full_like(p, group["initial"])}

    def _update(self, group: _Group, params: _Tensors, grads: _Tensors, states: list[_Group]) -> None:
        acc = [s["accumulator"] for s in states]
        torch._foreach_addcmul_(acc, grads, grads)
        denom = torch._foreach_add(acc, group["epsilon"])
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])


class _KerasNadam(_KerasRule):
    """Keras's Nadam: Adam with Nesterov momentum and the momentum schedule
    `u_t = beta_1 · (1 − 0.5 · 0.96^t)` (t counted per optimizer step, as Keras does)."""

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        wd: float | None,
    ) -> None:
        super().__init__(
            params,
            {"lr": lr, "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "weight_decay": wd},
        )
        self.iterations = 0
        self.u_product = 1.0  # the product of u_1 ... u_t after t steps
        self._schedule = (1, 0.0, 0.0, 1.0)  # this step's t, u_t, u_(t+1), u_1 ... u_t

    def start_at(self, iterations: int) -> None:
        """Continue the momentum schedule after `iterations` steps (a resumed run: the state dict
        holds the moments, not the step count)."""
        b1 = self.defaults["beta_1"]
        self.u_product = 1.0
        for t in range(1, iterations + 1):
            self.u_product *= b1 * (1.0 - 0.5 * 0.96**t)
        self.iterations = iterations

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        t = self.iterations + 1
        b1 = self.defaults["beta_1"]
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        self._schedule = (t, u_t, u_next, self.u_product * u_t)
        super().step()
        self.u_product = self._schedule[3]
        self.iterations = t

    def _new_state(self, p: torch.Tensor, group: _Group) -> _Group:
        return {"m": torch.zeros_like(p), "v": torch.zeros_like(p)}

    def _update(self, group: _Group, params: _Tensors, grads: _Tensors, states: list[_Group]) -> None:
        t, u_t, u_next, u_product = self._schedule
        b2 = group["beta_2"]
        ms = [s["m"] for s in states]
        vs = [s["v"] for s in states]
        torch._foreach_lerp_(ms, grads, 1.0 - self.defaults["beta_1"])
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - b2)
        # m_hat = u_next·m / (1 − u_product·u_next) + (1 − u_t)·g / (1 − u_product)
        m_hat = torch._foreach_mul(ms, u_next / (1.0 - u_product * u_next))
        torch._foreach_add_(m_hat, grads, alpha=(1.0 - u_t) / (1.0 - u_product))
        denom = torch._foreach_div(vs, 1.0 - b2**t)  # v_hat
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, group["epsilon"])
        torch._foreach_addcdiv_(params, m_hat, denom, value=-group["lr"])


def _check_weight_decay(value: Any) -> float | None:
    if value is None:
        return None
    return _check_float("weight_decay", value, 0.0, math.inf, high_open=True)


class Adagrad(Optimizer):
    """Keras's Adagrad: per-weight learning rates from the sum of all past squared gradients.

    Args:
        learning_rate: default 0.001.
        initial_accumulator_value: the accumulators' starting value, default 0.1.
        epsilon: added inside the square root, default 1e-7.
        weight_decay: decoupled weight decay (`w −= w · weight_decay · lr` before each step),
            default None (none).
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            name: see `Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "adagrad",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        self.initial_accumulator_value = _check_float(
            "initial_accumulator_value", initial_accumulator_value, 0.0, math.inf, high_open=True
        )
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf, high_open=True)
        self.weight_decay = _check_weight_decay(weight_decay)

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return _KerasAdagrad(
            params,
            self.learning_rate,
            self.initial_accumulator_value,
            self.epsilon,
            self.weight_decay,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
            "weight_decay": self.weight_decay,
        }


class Nadam(Optimizer):
    """Keras's Nadam (Adam with Nesterov momentum and Keras's momentum schedule).

    Args:
        learning_rate: default 0.001.
        beta_1: default 0.9; beta_2: default 0.999; epsilon: default 1e-7.
        weight_decay: decoupled weight decay, default None (none).
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            name: see `Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "nadam",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf, high_open=True)
        self.weight_decay = _check_weight_decay(weight_decay)

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return _KerasNadam(
            params, self.learning_rate, self.beta_1, self.beta_2, self.epsilon, self.weight_decay
        )

    def step(self) -> None:
        rule = cast(_KerasNadam, self.torch_optimizer)
        if rule.iterations != self.iterations:  # restored from a checkpoint: `iterations` was set
            rule.start_at(self.iterations)
        super().step()

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "weight_decay": self.weight_decay,
        }


class AdamW(Optimizer):
    """Keras's AdamW: Adam with decoupled weight decay (`w −= w · weight_decay · lr`, then the
    Adam step), applied to every trainable weight as Keras does by default.

    Args:
        learning_rate: default 0.001.
        weight_decay: default 0.004 (Keras's; a number is required).
        beta_1: default 0.9; beta_2: default 0.999; epsilon: default 1e-7 ("epsilon hat").
        amsgrad: default False.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            name: see `Optimizer`.

    Raises:
        ValueError: for `weight_decay=None` (Keras's "Argument `weight_decay` must be a float").
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str = "adamw",
    ) -> None:
        super().__init__(
            learning_rate,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            name=name,
        )
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        self.weight_decay = _check_float("weight_decay", weight_decay, 0.0, math.inf, high_open=True)
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf, high_open=True)
        self.amsgrad = bool(amsgrad)

    def _make_torch_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return _KerasAdam(
            params,
            self.learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.amsgrad,
            weight_decay=self.weight_decay,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "weight_decay": self.weight_decay,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


_BY_NAME.update({"adagrad": Adagrad, "nadam": Nadam, "adamw": AdamW})  # type: ignore[dict-item]
_CLASSES.update({"Adagrad": Adagrad, "Nadam": Nadam, "AdamW": AdamW})  # type: ignore[dict-item]
