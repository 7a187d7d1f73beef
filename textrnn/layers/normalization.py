"""LayerNormalization and BatchNormalization with Keras's arguments, arithmetic and weight order."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import checks, initializers
from textrnn.layers.base import Layer, Shape, unique_name


def _axis_arg(axis: Any) -> int | list[int]:
    if isinstance(axis, (list, tuple)) and axis and all(checks._is_int(a) for a in axis):
        return [int(a) for a in axis]
    if checks._is_int(axis):
        return int(axis)
    raise checks.invalid("axis", "an int or a list/tuple of ints", axis, error=TypeError)


def _resolve(axes: list[int], rank: int, layer: Layer) -> list[int]:
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"Axis {a} is out of bounds for an input of rank {rank} in `{layer.name}`.")
        out.append(a % rank)
    return sorted(out)


class LayerNormalization(Layer):
    """Normalise each sample over `axis`: `(x − mean) / sqrt(variance + epsilon) · gamma + beta`.

    Args:
        axis: the axis or axes to normalise over, default -1 (the features).
        epsilon: added to the variance, default 1e-3 (Keras's default, not PyTorch's 1e-5).
        center: learn an offset `beta`, default True; scale: learn a factor `gamma`, default True.
        beta_initializer: default `"zeros"`; gamma_initializer: default `"ones"`.
        name, trainable: see `Layer`.

    Weights in Keras's order: `gamma`, `beta` (each of the normalised axes' shape). The variance
    is the biased one, as in Keras. The mask passes through.
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name or unique_name("layer_normalization"), trainable=trainable)
        self.axis = _axis_arg(axis)
        self.epsilon = checks.positive_number("epsilon", epsilon)
        self.center = checks.boolean("center", center)
        self.scale = checks.boolean("scale", scale)
        initializers.get(beta_initializer)
        initializers.get(gamma_initializer)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self._axes: list[int] = []

    def build(self, input_shape: Shape) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        self._axes = _resolve(axes, len(input_shape), self)
        dims = [input_shape[a] for a in self._axes]
        shape = tuple(int(d) for d in dims if d is not None)
        if len(shape) < len(dims):
            raise ValueError(
                f"LayerNormalization `{self.name}` needs the size of axes {axes}, got {input_shape}."
            )
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer)
        super().build(input_shape)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        x = inputs.float()
        mean = x.mean(dim=self._axes, keepdim=True)
        variance = (x - mean).square().mean(dim=self._axes, keepdim=True)
        out = (x - mean) * torch.rsqrt(variance + self.epsilon)
        # gamma/beta have the normalised axes' shape: view them against the input's rank
        view = [x.shape[d] if d in self._axes else 1 for d in range(x.dim())]
        if self.scale:
            out = out * self.gamma.reshape(view)
        if self.center:
            out = out + self.beta.reshape(view)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }


class BatchNormalization(Layer):
    """Normalise each feature by batch statistics in training and by moving averages in inference.

    In training (`fit`, or `training=True`) the output uses the batch's mean and (biased)
    variance over every axis but `axis` (masked steps left out, as in Keras), and the moving
    statistics follow Keras's rule `moving = moving · momentum + batch · (1 − momentum)`. In
    inference, `(x − moving_mean) / sqrt(moving_variance + epsilon) · gamma + beta`. A frozen
    layer (`trainable=False`) runs in inference mode even in training, as Keras 3 does.

    Args:
        axis: the features axis, default -1.
        momentum: of the moving statistics, default 0.99.
        epsilon: added to the variance, default 1e-3.
        center: learn `beta`, default True; scale: learn `gamma`, default True.
        beta_initializer: `"zeros"`; gamma_initializer: `"ones"`; moving_mean_initializer:
            `"zeros"`; moving_variance_initializer: `"ones"` (the defaults).
        name, trainable: see `Layer`.

    Weights in Keras's order: `gamma`, `beta`, `moving_mean`, `moving_variance`; the moving
    statistics are non-trainable weights (counted as such by `summary()`, as in Keras),
    kept as buffers so the optimizer never sees them.
    """

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name or unique_name("batch_normalization"), trainable=trainable)
        if not checks._is_int(axis):
            raise checks.invalid("axis", "an integer", axis, error=TypeError)
        self.axis = int(axis)
        self.momentum = checks.number_in("momentum", momentum, 0.0, 1.0)
        self.epsilon = checks.positive_number("epsilon", epsilon)
        self.center = checks.boolean("center", center)
        self.scale = checks.boolean("scale", scale)
        for init in (
            beta_initializer,
            gamma_initializer,
            moving_mean_initializer,
            moving_variance_initializer,
        ):
            initializers.get(init)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self._feature_axis = -1

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. "
                f"Received: axis={self.axis}"
            )
        self._feature_axis = self.axis % rank
        features = input_shape[self._feature_axis]
        if features is None:
            raise ValueError(
                f"BatchNormalization `{self.name}` needs the size of axis {self.axis}, got {input_shape}."
            )
        shape = (int(features),)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer)
        self._add_statistic("moving_mean", shape, self.moving_mean_initializer)
        self._add_statistic("moving_variance", shape, self.moving_variance_initializer)
        super().build(input_shape)

    def _add_statistic(self, name: str, shape: tuple[int], initializer: Any) -> None:
        # A buffer, not a parameter: never trainable (whatever `trainable` is set to later), yet
        # one of the layer's weights, in the state dict, and moved with the model.
        value = initializers.get(initializer)(shape, dtype=torch.float32)
        self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))
        self._weight_names.append(name)

    def _moments(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        axes = [d for d in range(x.dim()) if d != self._feature_axis]
        if mask is None:
            mean = x.mean(dim=axes)
            return mean, (x - self._view(mean, x)).square().mean(dim=axes)
        if mask.dim() != x.dim() - 1:
            raise ValueError(
                "The mask provided should be one dimension less than the inputs. Received: "
                f"mask.shape={tuple(mask.shape)}, inputs.shape={tuple(x.shape)}"
            )
        keep = mask.unsqueeze(-1).expand_as(x)
        weight = keep.to(x.dtype).sum(dim=axes)
        mean = torch.where(keep, x, 0.0).sum(dim=axes) / (weight + 1e-7)  # Keras's backend epsilon
        diff = torch.where(keep, x - self._view(mean, x), 0.0)
        return mean, diff.square().sum(dim=axes) / (weight + 1e-7)

    def _view(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        shape = [1] * x.dim()
        shape[self._feature_axis] = -1
        return v.reshape(shape)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        x = inputs.float()
        moving_mean: torch.Tensor = self.moving_mean  # type: ignore[assignment]
        moving_variance: torch.Tensor = self.moving_variance  # type: ignore[assignment]
        if training and self._trainable:
            mean, variance = self._moments(x, mask)
            with torch.no_grad():
                m = self.momentum
                moving_mean.copy_(moving_mean * m + mean.detach() * (1.0 - m))
                moving_variance.copy_(moving_variance * m + variance.detach() * (1.0 - m))
        else:
            mean, variance = moving_mean, moving_variance
        out = (x - self._view(mean, x)) * torch.rsqrt(self._view(variance, x) + self.epsilon)
        if self.scale:
            out = out * self._view(self.gamma, x)
        if self.center:
            out = out + self._view(self.beta, x)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }
