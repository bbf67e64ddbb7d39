"""HiFi-GAN's generator and discriminators (https://arxiv.org/abs/2010.05646), with NeMo 1.23's names,
constructor arguments and state-dict keys.

- :class:`Generator`: mel (B, n_mels, T) -> audio (B, 1, T * prod(upsample_rates)); ``resblock`` 1 or 2.
- :class:`MultiPeriodDiscriminator` (``mpd.*``) and :class:`MultiScaleDiscriminator` (``msd.*``): scores and
  feature maps of real and generated audio.

Weight-normalised convolutions keep NeMo's ``weight_g`` / ``weight_v`` parameters. Without autograd
(inference, export) the folded weight ``g * v / ||v||`` is computed once and reused until either parameter
changes (their version counters and storage are checked on each call), so eval-mode inference does no
weight-norm work per call.

On a CPU without autograd the generator runs in a 2-D layout: (B, C, 1, T) in channels-last memory order, each
1-D (transposed) convolution as a 2-D one of height 1, whose oneDNN kernels are faster for HiFi-GAN's shapes
(v1 generator, 256 frames, 2 idle cores: 0.54 s -> 0.45 s); the audio agrees with the 1-D path to ~1e-7.
Training, CUDA and export keep the 1-D layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from nemo.collections.tts.modules.submodules import channels_last_conv_weight
from nemo.core.classes.module import NeuralModule
from nemo.core.neural_types.elements import AudioSignal, MelSpectrogramType, VoidType
from nemo.core.neural_types.neural_type import NeuralType
from torch import nn
from torch.nn.utils import spectral_norm

__all__ = [
    "LRELU_SLOPE",
    "DiscriminatorP",
    "DiscriminatorS",
    "Generator",
    "MultiPeriodDiscriminator",
    "MultiScaleDiscriminator",
    "ResBlock1",
    "ResBlock2",
    "WeightNormConv1d",
    "WeightNormConv2d",
    "WeightNormConvTranspose1d",
    "get_padding",
    "init_weights",
]

LRELU_SLOPE = 0.1


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the length of a stride-1 convolution: ``(kernel_size - 1) * dilation // 2``."""
    return int((kernel_size * dilation - dilation) / 2)


def init_weights(module: nn.Module, mean: float = 0.0, std: float = 0.01) -> None:
    """Draw a plain convolution's ``weight`` from N(mean, std) (NeMo's helper; use with ``Module.apply``).

    A weight-normalised convolution keeps its weights: in NeMo 1.23 this initialisation writes a ``weight`` that
    the weight-norm hook recomputes before each use. NeMo still draws those numbers, so they are drawn and
    dropped here too: with the same seed, the generator starts from NeMo's weights.
    """
    if "Conv" not in type(module).__name__:
        return
    if isinstance(getattr(module, "weight", None), nn.Parameter):
        module.weight.data.normal_(mean, std)
    elif isinstance(module, _WeightNorm):
        torch.empty_like(module.weight_v).normal_(mean, std)


class _WeightNorm:
    """Weight normalisation over output axis 0 with parameters ``weight_g`` and ``weight_v`` (torch's layout).

    Mixed into a ``torch.nn`` convolution: ``weight`` becomes ``g * v / ||v||``, computed in :meth:`folded_weight`.
    """

    weight_g: nn.Parameter
    weight_v: nn.Parameter

    def _init_weight_norm(self) -> None:
        weight = self.weight
        del self._parameters["weight"]
        self.weight_g = nn.Parameter(torch.norm_except_dim(weight, 2, 0).detach())
        self.weight_v = nn.Parameter(weight.detach())
        self._folded: torch.Tensor | None = None
        self._folded_key: tuple | None = None
        self._weight_norm_removed = False

    def folded_weight(self) -> torch.Tensor:
        """The convolution weight ``g * v / ||v||`` (same shape as ``weight_v``).

        With gradients enabled it is recomputed (gradients reach ``g``, ``v`` and the input); under
        ``torch.no_grad()`` / ``torch.inference_mode()`` it is cached until ``weight_g`` or ``weight_v`` change
        (in-place updates, ``load_state_dict``, ``.to()``).
        """
        if self._weight_norm_removed:
            return self.weight
        g, v = self.weight_g, self.weight_v
        if torch.is_grad_enabled():
            return torch._weight_norm(v, g, 0)
        key = (g._version, v._version, g.data_ptr(), v.data_ptr(), g.dtype, v.dtype)
        if self._folded is None or self._folded_key != key:
            with torch.no_grad():
                self._folded = torch._weight_norm(v, g, 0)
            self._folded_key = key
        return self._folded

    def folded_weight_2d(self) -> torch.Tensor:
        """:meth:`folded_weight` as (C_out, C_in, 1, K) in channels-last order, for the 2-D inference layout."""
        return channels_last_conv_weight(self, self.folded_weight())

    def remove_weight_norm(self) -> None:
        """Replace ``weight_g`` / ``weight_v`` by a plain ``weight`` parameter (state-dict key ``weight``)."""
        if self._weight_norm_removed:
            raise ValueError(
                f"{type(self).__name__}.remove_weight_norm(): weight norm was already removed from this layer. "
                "Call it once per layer."
            )
        with torch.no_grad():
            weight = torch._weight_norm(self.weight_v, self.weight_g, 0)
        del self._parameters["weight_g"]
        del self._parameters["weight_v"]
        self.weight = nn.Parameter(weight)
        self._folded = None
        self._weight_norm_removed = True


class WeightNormConv1d(_WeightNorm, nn.Conv1d):
    """``nn.Conv1d`` with weight normalisation (keys ``weight_g``, ``weight_v``, ``bias``).

    Input (B, C_in, T), or (B, C_in, 1, T) in the generator's 2-D inference layout.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            return F.conv2d(
                x,
                self.folded_weight_2d(),
                self.bias,
                (1, self.stride[0]),
                (0, self.padding[0]),
                (1, self.dilation[0]),
                self.groups,
            )
        return self._conv_forward(x, self.folded_weight(), self.bias)


class WeightNormConv2d(_WeightNorm, nn.Conv2d):
    """``nn.Conv2d`` with weight normalisation (keys ``weight_g``, ``weight_v``, ``bias``). Input (B, C, H, W)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.folded_weight(), self.bias)


class WeightNormConvTranspose1d(_WeightNorm, nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` with weight normalisation over its input-channel axis (torch's ``dim=0``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_weight_norm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:  # the generator's 2-D inference layout (B, C_in, 1, T)
            return F.conv_transpose2d(
                x,
                self.folded_weight_2d(),
                self.bias,
                (1, self.stride[0]),
                (0, self.padding[0]),
                (0, self.output_padding[0]),
                self.groups,
                (1, self.dilation[0]),
            )
        return F.conv_transpose1d(
            x,
            self.folded_weight(),
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )


def _same_conv(channels: int, kernel_size: int, dilation: int) -> WeightNormConv1d:
    return WeightNormConv1d(
        channels, channels, kernel_size, 1, dilation=dilation, padding=get_padding(kernel_size, dilation)
    )


def _leaky_relu(x: torch.Tensor, slope: float = LRELU_SLOPE) -> torch.Tensor:
    """Leaky ReLU written in place into ``x`` when no autograd graph is recorded (``x`` must be a temporary)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return F.leaky_relu(x, slope)
    return F.leaky_relu_(x, slope)


def _use_2d_layout(x: torch.Tensor) -> bool:
    """Whether the generator runs in the faster 2-D layout: CPU inference, not while tracing or exporting."""
    return (
        x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.onnx.is_in_onnx_export()
    )


class ResBlock1(nn.Module):
    """HiFi-GAN residual block type 1: per dilation, lrelu -> dilated conv -> lrelu -> conv, plus the input.

    Keys ``convs1.{i}`` (dilated) and ``convs2.{i}``. Input and output (B, channels, T).

    Args:
        channels: channels in and out.
        kernel_size: kernel of every convolution.
        dilation: the three dilations of ``convs1``.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.lrelu_slope = LRELU_SLOPE
        self.convs1 = nn.ModuleList([_same_conv(channels, kernel_size, d) for d in dilation])
        self.convs1.apply(init_weights)
        self.convs2 = nn.ModuleList([_same_conv(channels, kernel_size, 1) for _ in dilation])
        self.convs2.apply(init_weights)

    def forward(self, x: torch.Tensor, x_activated: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the block; ``x_activated`` may hold ``leaky_relu(x)`` already (it is not modified)."""
        for index, (c1, c2) in enumerate(zip(self.convs1, self.convs2)):
            xt = x_activated if index == 0 and x_activated is not None else F.leaky_relu(x, self.lrelu_slope)
            xt = _leaky_relu(c1(xt), self.lrelu_slope)
            x = c2(xt) + x
        return x

    def remove_weight_norm(self) -> None:
        """Fold the weight norm of every convolution into a plain ``weight``."""
        for conv in [*self.convs1, *self.convs2]:
            conv.remove_weight_norm()


class ResBlock2(nn.Module):
    """HiFi-GAN residual block type 2: per dilation, lrelu -> dilated conv, plus the input. Keys ``convs.{i}``.

    Args:
        channels: channels in and out.
        kernel_size: kernel of every convolution.
        dilation: the dilations (one convolution each).
    """

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_same_conv(channels, kernel_size, d) for d in dilation])
        self.convs.apply(init_weights)
        self.lrelu_slope = LRELU_SLOPE

    def forward(self, x: torch.Tensor, x_activated: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the block; ``x_activated`` may hold ``leaky_relu(x)`` already (it is not modified)."""
        for index, conv in enumerate(self.convs):
            xt = x_activated if index == 0 and x_activated is not None else F.leaky_relu(x, self.lrelu_slope)
            x = conv(xt) + x
        return x

    def remove_weight_norm(self) -> None:
        """Fold the weight norm of every convolution into a plain ``weight``."""
        for conv in self.convs:
            conv.remove_weight_norm()


class Generator(NeuralModule):
    """HiFi-GAN generator: mel spectrogram (B, initial_input_size, T) -> audio (B, 1, T * prod(upsample_rates)).

    Keys: ``conv_pre``, ``ups.{i}``, ``resblocks.{i}.{j}`` (upsampling stage i, kernel j), ``conv_post``.

    Args:
        resblock: 1 for :class:`ResBlock1`, anything else for :class:`ResBlock2` (NeMo's rule).
        upsample_rates: stride of each transposed convolution; their product is the hop length.
        upsample_kernel_sizes: kernel of each transposed convolution.
        upsample_initial_channel: channels after ``conv_pre``; halved by each upsampling.
        resblock_kernel_sizes: kernel of each parallel residual block.
        resblock_dilation_sizes: dilations of each parallel residual block.
        initial_input_size: mel bands of the input.
        apply_weight_init_conv_pre: kept for NeMo's configs; like NeMo's, its effect on a weight-normalised
            ``conv_pre`` is nil.
    """

    def __init__(
        self,
        resblock: int,
        upsample_rates: Sequence[int],
        upsample_kernel_sizes: Sequence[int],
        upsample_initial_channel: int,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        initial_input_size: int = 80,
        apply_weight_init_conv_pre: bool = False,
    ) -> None:
        super().__init__()
        if len(upsample_rates) != len(upsample_kernel_sizes):
            raise ValueError(
                f"Generator: upsample_rates {list(upsample_rates)} and upsample_kernel_sizes "
                f"{list(upsample_kernel_sizes)} must have the same length (one kernel per upsampling). "
                "Fix generator.upsample_kernel_sizes in the model config."
            )
        if len(resblock_kernel_sizes) != len(resblock_dilation_sizes):
            raise ValueError(
                f"Generator: resblock_kernel_sizes {list(resblock_kernel_sizes)} and resblock_dilation_sizes "
                f"(length {len(resblock_dilation_sizes)}) must have the same length. Fix "
                "generator.resblock_dilation_sizes in the model config."
            )
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(upsample_rates)
        self.lrelu_slope = LRELU_SLOPE
        self.conv_pre = WeightNormConv1d(initial_input_size, upsample_initial_channel, 7, 1, padding=3)
        block_cls = ResBlock1 if resblock == 1 else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        # NeMo's order of creating and initialising the layers, so that a seed gives NeMo's initial weights.
        stage_channels = [upsample_initial_channel // 2 ** (i + 1) for i in range(len(upsample_rates))]
        for channels, rate, kernel in zip(stage_channels, upsample_rates, upsample_kernel_sizes):
            self.ups.append(
                WeightNormConvTranspose1d(channels * 2, channels, kernel, rate, padding=(kernel - rate) // 2)
            )
        for channels in stage_channels:
            self.resblocks.append(
                nn.ModuleList(
                    [
                        block_cls(channels, k, d)
                        for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes)
                    ]
                )
            )
        self.conv_post = WeightNormConv1d(stage_channels[-1], 1, 7, 1, padding=3)
        self.ups.apply(init_weights)
        self.conv_post.apply(init_weights)
        if apply_weight_init_conv_pre:
            self.conv_pre.apply(init_weights)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "D", "T"), MelSpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"audio": NeuralType(("B", "S", "T"), AudioSignal())}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, T * prod(upsample_rates)) in [-1, 1] from mel spectrograms ``x`` (B, n_mels, T)."""
        layout_2d = _use_2d_layout(x)
        if layout_2d:
            x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        x = self.conv_pre(x)
        for upsample, blocks in zip(self.ups, self.resblocks):
            x = upsample(F.leaky_relu(x, self.lrelu_slope))
            x_activated = F.leaky_relu(x, self.lrelu_slope)
            total = blocks[0](x, x_activated)
            for block in blocks[1:]:
                total = total + block(x, x_activated)
            x = total / self.num_kernels
        # NeMo's generator uses leaky_relu's default slope (0.01) here, not LRELU_SLOPE.
        x = self.conv_post(_leaky_relu(x, 0.01))
        return torch.tanh(x.squeeze(2) if layout_2d else x)

    def remove_weight_norm(self) -> None:
        """Fold every weight norm into plain ``weight`` parameters (state-dict keys change to ``*.weight``)."""
        for layer in [self.conv_pre, *self.ups, self.conv_post]:
            layer.remove_weight_norm()
        for blocks in self.resblocks:
            for block in blocks:
                block.remove_weight_norm()


def _norm_conv(use_spectral_norm: bool, conv_cls: type, weight_norm_cls: type, *args, **kwargs) -> nn.Module:
    if use_spectral_norm:
        return spectral_norm(conv_cls(*args, **kwargs))
    return weight_norm_cls(*args, **kwargs)


class DiscriminatorP(NeuralModule):
    """Period discriminator: audio (B, 1, T) folded to (B, 1, T / period, period), then 2-D convolutions.

    Args:
        period: the fold width.
        kernel_size: kernel along time.
        stride: stride along time of the first four convolutions.
        use_spectral_norm: spectral instead of weight normalisation.
        debug: narrow channels (8, 12, 32, 64) for tests, as NeMo's ``debug``.
    """

    def __init__(
        self,
        period: int,
        kernel_size: int = 5,
        stride: int = 3,
        use_spectral_norm: bool = False,
        debug: bool = False,
    ) -> None:
        super().__init__()
        self.period = period
        self.use_spectral_norm = use_spectral_norm
        channels = [1, *([8, 12, 32, 64] if debug else [32, 128, 512, 1024])]
        pad = (get_padding(5, 1), 0)
        convs = [
            _norm_conv(
                use_spectral_norm,
                nn.Conv2d,
                WeightNormConv2d,
                channels[i],
                channels[i + 1],
                (kernel_size, 1),
                (stride, 1),
                padding=pad,
            )
            for i in range(4)
        ]
        convs.append(
            _norm_conv(
                use_spectral_norm,
                nn.Conv2d,
                WeightNormConv2d,
                channels[4],
                channels[4],
                (kernel_size, 1),
                1,
                padding=(2, 0),
            )
        )
        self.convs = nn.ModuleList(convs)
        self.conv_post = _norm_conv(
            use_spectral_norm, nn.Conv2d, WeightNormConv2d, channels[4], 1, (3, 1), 1, padding=(1, 0)
        )

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "S", "T"), AudioSignal())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "decision": NeuralType(("B", "T"), VoidType()),
            "feature_maps": [NeuralType(("B", "C", "H", "W"), VoidType())],
        }

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Scores (B, H') and the six feature maps (B, C, H, W) of audio ``x`` (B, 1, T)."""
        batch, channels, length = x.shape
        if length % self.period:
            x = F.pad(x, (0, self.period - length % self.period), "reflect")
        x = x.view(batch, channels, -1, self.period)
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class DiscriminatorS(NeuralModule):
    """Scale discriminator: grouped 1-D convolutions over audio (B, 1, T).

    Args:
        use_spectral_norm: spectral instead of weight normalisation.
        debug: narrow channels (16, 32, 32, 64) for tests, as NeMo's ``debug``.
    """

    def __init__(self, use_spectral_norm: bool = False, debug: bool = False) -> None:
        super().__init__()
        self.use_spectral_norm = use_spectral_norm
        ch = [16, 32, 32, 64] if debug else [128, 256, 512, 1024]
        layers = [
            (1, ch[0], 15, 1, 1, 7),
            (ch[0], ch[0], 41, 2, 4, 20),
            (ch[0], ch[1], 41, 2, 16, 20),
            (ch[1], ch[2], 41, 4, 16, 20),
            (ch[2], ch[3], 41, 4, 16, 20),
            (ch[3], ch[3], 41, 1, 16, 20),
            (ch[3], ch[3], 5, 1, 1, 2),
        ]
        self.convs = nn.ModuleList(
            [
                _norm_conv(
                    use_spectral_norm, nn.Conv1d, WeightNormConv1d, c_in, c_out, k, s, groups=g, padding=p
                )
                for c_in, c_out, k, s, g, p in layers
            ]
        )
        self.conv_post = _norm_conv(use_spectral_norm, nn.Conv1d, WeightNormConv1d, ch[3], 1, 3, 1, padding=1)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "S", "T"), AudioSignal())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "decision": NeuralType(("B", "T"), VoidType()),
            "feature_maps": [NeuralType(("B", "C", "T"), VoidType())],
        }

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Scores (B, T') and the eight feature maps (B, C, T_i) of audio ``x`` (B, 1, T)."""
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


def _score_pair(
    discriminator: nn.Module, y: torch.Tensor, y_hat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """One discriminator on real ``y`` and generated ``y_hat`` (both (B, 1, T)).

    Both go through in one batch, unless their lengths differ, or the discriminator is spectrally normalised
    and training: its power iteration then runs once per call, as in NeMo, so real and generated audio are
    scored separately.
    """
    if y.shape != y_hat.shape or (discriminator.use_spectral_norm and discriminator.training):
        score_r, fmap_r = discriminator(y)
        score_g, fmap_g = discriminator(y_hat)
        return score_r, score_g, fmap_r, fmap_g
    batch = y.shape[0]
    scores, fmaps = discriminator(torch.cat([y, y_hat]))
    return (
        scores[:batch],
        scores[batch:],
        [f[:batch] for f in fmaps],
        [f[batch:] for f in fmaps],
    )


class _PairDiscriminator(NeuralModule):
    """Shared interface of the multi-discriminators: ``forward(y, y_hat)`` -> four lists, one item each."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "y": NeuralType(("B", "S", "T"), AudioSignal()),
            "y_hat": NeuralType(("B", "S", "T"), AudioSignal()),
        }


class MultiPeriodDiscriminator(_PairDiscriminator):
    """Five :class:`DiscriminatorP` (periods 2, 3, 5, 7, 11); keys ``discriminators.{i}``.

    Args:
        debug: narrow discriminators for tests (NeMo's ``debug``).
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([DiscriminatorP(p, debug=debug) for p in (2, 3, 5, 7, 11)])

    @property
    def output_types(self) -> dict[str, object]:
        return {
            "real_scores": [NeuralType(("B", "T"), VoidType())],
            "fake_scores": [NeuralType(("B", "T"), VoidType())],
            "real_feature_maps": [[NeuralType(("B", "C", "H", "W"), VoidType())]],
            "fake_feature_maps": [[NeuralType(("B", "C", "H", "W"), VoidType())]],
        }

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor) -> tuple[list, list, list, list]:
        """Real scores, generated scores, real feature maps, generated feature maps (one entry per period).

        Args:
            y: real audio (B, 1, T).
            y_hat: generated audio (B, 1, T).
        """
        outputs = [_score_pair(d, y, y_hat) for d in self.discriminators]
        return tuple([list(column) for column in zip(*outputs)])

    def discriminate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """Scores and feature maps of one batch of audio ``x`` (B, 1, T), one entry per period."""
        outputs = [d(x) for d in self.discriminators]
        return [score for score, _ in outputs], [fmap for _, fmap in outputs]


class MultiScaleDiscriminator(_PairDiscriminator):
    """Three :class:`DiscriminatorS` on audio average-pooled 1, 2 and 4 times; the first is spectrally normed.

    Keys ``discriminators.{i}``; ``meanpools`` hold no weights.

    Args:
        debug: narrow discriminators for tests (NeMo's ``debug``).
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            [
                DiscriminatorS(use_spectral_norm=True, debug=debug),
                DiscriminatorS(debug=debug),
                DiscriminatorS(debug=debug),
            ]
        )
        self.meanpools = nn.ModuleList([nn.AvgPool1d(4, 2, padding=2), nn.AvgPool1d(4, 2, padding=2)])

    @property
    def output_types(self) -> dict[str, object]:
        return {
            "real_scores": [NeuralType(("B", "T"), VoidType())],
            "fake_scores": [NeuralType(("B", "T"), VoidType())],
            "real_feature_maps": [[NeuralType(("B", "C", "T"), VoidType())]],
            "fake_feature_maps": [[NeuralType(("B", "C", "T"), VoidType())]],
        }

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor) -> tuple[list, list, list, list]:
        """As :meth:`MultiPeriodDiscriminator.forward`, one entry per scale.

        Args:
            y: real audio (B, 1, T).
            y_hat: generated audio (B, 1, T).
        """
        outputs = []
        for index, discriminator in enumerate(self.discriminators):
            if index:
                pool = self.meanpools[index - 1]
                y, y_hat = pool(y), pool(y_hat)
            outputs.append(_score_pair(discriminator, y, y_hat))
        return tuple([list(column) for column in zip(*outputs)])

    def discriminate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """Scores and feature maps of one batch of audio ``x`` (B, 1, T), one entry per scale."""
        scores, fmaps = [], []
        for index, discriminator in enumerate(self.discriminators):
            if index:
                x = self.meanpools[index - 1](x)
            score, fmap = discriminator(x)
            scores.append(score)
            fmaps.append(fmap)
        return scores, fmaps
