"""Multichannel speech-enhancement modules (NeMo 1.23's ``nemo.collections.asr.modules.audio_modules``).

Mask estimation from complex multichannel spectrograms ``(B, C, F, T)``:

* :class:`SpectrogramToMultichannelFeatures`: magnitudes (optionally reduced across channels) and
  inter-channel phase differences, with optional mean / variance normalization;
* :class:`MaskEstimatorRNN`: stacked (B)LSTM/GRU on the features, one sigmoid mask per output;
* :class:`MaskEstimatorFlexChannels`: channel blocks (TAC / attention) interleaved with Conformer blocks,
  for any number of input channels;
* :class:`MaskEstimatorGSS`: guided source separation, EM for a complex angular central Gaussian mixture.

Mask-based processing:

* :class:`MaskReferenceChannel`: apply masks to one input channel;
* :class:`MaskBasedBeamformer`: multichannel Wiener / MVDR filter from signal and noise masks;
* :class:`WPEFilter`, :class:`MaskBasedDereverbWPE`: weighted-prediction-error dereverberation;
* :class:`MixtureConsistencyProjection`: make source estimates add up to the mixture.

Submodule names and parameter layouts are NeMo's, so its state dicts load with ``strict=True``.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.modules.conformer_encoder import ConformerEncoder
from nemo.collections.asr.parts.submodules.multichannel_modules import (
    ChannelAttentionPool,
    ChannelAveragePool,
    ParametricMultichannelWienerFilter,
    TransformAttendConcatenate,
    TransformAverageConcatenate,
)
from nemo.collections.asr.parts.submodules.tdnn_attention import make_seq_mask_like
from nemo.collections.asr.parts.utils.audio_utils import db2mag, wrap_to_pi
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import FloatType, LengthsType, NeuralType, SpectrogramType
from nemo.utils import logging
from torch import nn

__all__ = [
    "MaskBasedBeamformer",
    "MaskBasedDereverbWPE",
    "MaskEstimatorFlexChannels",
    "MaskEstimatorGSS",
    "MaskEstimatorRNN",
    "MaskReferenceChannel",
    "MixtureConsistencyProjection",
    "SpectrogramToMultichannelFeatures",
    "WPEFilter",
]

_BCFT = ("B", "C", "D", "T")
_MAG_REDUCTIONS = (None, "abs_mean", "mean_abs", "rms")
_NORMALIZATIONS = (None, "mean", "mean_var")


def _spec_port(optional: bool = False) -> NeuralType:
    return NeuralType(_BCFT, SpectrogramType(), optional=optional)


def _lengths_port(optional: bool = False) -> NeuralType:
    return NeuralType(("B",), LengthsType(), optional=optional)


def _mask_port(optional: bool = False) -> NeuralType:
    return NeuralType(_BCFT, FloatType(), optional=optional)


def _zero_padded_frames(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """``x`` ``(B, ..., T)`` with frames ``t >= lengths[b]`` set to zero (unchanged when ``lengths`` is None)."""
    if lengths is None:
        return x
    return x.masked_fill(make_seq_mask_like(like=x, lengths=lengths, valid_ones=False), 0.0)


def _mean_over_valid_frames(
    x: torch.Tensor, lengths: torch.Tensor | None, eps: float = 1e-10
) -> torch.Tensor:
    """Mean of ``x`` ``(B, ..., T)`` over the valid frames of each item, keeping the time axis (size 1)."""
    if lengths is None:
        return x.mean(dim=-1, keepdim=True)
    valid = make_seq_mask_like(like=x, lengths=lengths).to(x.dtype)
    return (x * valid).sum(dim=-1, keepdim=True) / (valid.sum(dim=-1, keepdim=True) + eps)


def _check_choice(owner: str, name: str, value: object, choices: tuple, error: type = ValueError) -> None:
    if value not in choices:
        raise error(f"{owner}: {name}={value!r} is not supported; use one of {list(choices)}.")


class SpectrogramToMultichannelFeatures(NeuralModule):
    """Features for mask estimation from a complex multichannel spectrogram.

    Magnitude features: ``|X|`` per channel (``mag_reduction=None``), or one channel from
    ``'abs_mean'`` (``|mean_c X|``), ``'mean_abs'`` (``mean_c |X|``) or ``'rms'`` (``sqrt(mean_c |X|^2)``);
    optionally raised to ``mag_power``. With ``use_ipd``, each channel's phase minus the phase of the
    channel average, wrapped to ``[-pi, pi)``, is appended along the feature axis (magnitudes broadcast to
    all channels). ``'mean'`` / ``'mean_var'`` normalization subtracts the mean (and divides by the
    standard deviation) taken over valid frames and channels, per subband.

    Args:
        num_subbands: number of subbands ``F`` of the input.
        num_input_channels: number of input channels, if fixed (needed for :attr:`num_channels`).
        mag_reduction: None, ``'abs_mean'``, ``'mean_abs'`` or ``'rms'``.
        mag_power: optional power applied to the magnitudes.
        use_ipd: append inter-channel phase differences.
        mag_normalization: None, ``'mean'`` or ``'mean_var'`` for the magnitudes.
        ipd_normalization: None, ``'mean'`` or ``'mean_var'`` for the phase differences.
        eps: floor of the variance in ``'mean_var'`` normalization.

    Input ``(B, C, F, T)`` complex and lengths ``(B,)``; output ``(B, C', num_features, T)`` real and the lengths.
    """

    def __init__(
        self,
        num_subbands: int,
        num_input_channels: int | None = None,
        mag_reduction: str | None = None,
        mag_power: float | None = None,
        use_ipd: bool = False,
        mag_normalization: str | None = None,
        ipd_normalization: str | None = None,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        _check_choice(owner, "mag_reduction", mag_reduction, _MAG_REDUCTIONS)
        _check_choice(owner, "mag_normalization", mag_normalization, _NORMALIZATIONS, NotImplementedError)
        _check_choice(owner, "ipd_normalization", ipd_normalization, _NORMALIZATIONS, NotImplementedError)
        self.mag_reduction = mag_reduction
        self.mag_power = mag_power
        self.use_ipd = bool(use_ipd)
        self.mag_normalization = mag_normalization
        self.ipd_normalization = ipd_normalization
        self.eps = eps
        self._num_features = 2 * num_subbands if self.use_ipd else num_subbands
        if self.use_ipd or mag_reduction is None:
            self._num_channels = num_input_channels
        else:
            self._num_channels = 1

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "input_length": _lengths_port()}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port(), "output_length": _lengths_port()}

    @property
    def num_features(self) -> int:
        """Features per channel: ``F``, or ``2 F`` with phase differences."""
        return self._num_features

    @property
    def num_channels(self) -> int:
        """Output channels ``C'``; known when reduced to one or when ``num_input_channels`` was given."""
        if self._num_channels is None:
            raise ValueError(
                f"{type(self).__name__}: the number of output channels follows the input; pass "
                "num_input_channels when constructing it to make it known in advance."
            )
        return self._num_channels

    @staticmethod
    def get_mean_time_channel(input: torch.Tensor, input_length: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over valid frames and over channels.

        Args:
            input: ``(B, C, F, T)``.
            input_length: valid frames ``(B,)``, or None for all.

        Returns:
            ``(B, 1, F, 1)``.
        """
        if input.dim() != 4:
            raise ValueError(
                f"get_mean_time_channel expects a (B, C, F, T) tensor, got shape {tuple(input.shape)}."
            )
        return _mean_over_valid_frames(input, input_length).mean(dim=1, keepdim=True)

    @classmethod
    def get_mean_std_time_channel(
        cls, input: torch.Tensor, input_length: torch.Tensor | None = None, eps: float = 1e-10
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (biased) standard deviation over valid frames and channels.

        Args:
            input: ``(B, C, F, T)``.
            input_length: valid frames ``(B,)``, or None for all.
            eps: floor of the variance.

        Returns:
            ``(mean, std)``, each ``(B, 1, F, 1)``.
        """
        mean = cls.get_mean_time_channel(input, input_length)
        var = cls.get_mean_time_channel((input - mean).pow(2), input_length)
        return mean, var.clamp(min=eps).sqrt()

    def normalize_mean(self, input: torch.Tensor, input_length: torch.Tensor | None) -> torch.Tensor:
        """``input`` ``(B, C, F, T)`` minus its mean over valid frames and channels."""
        return input - self.get_mean_time_channel(input, input_length)

    def normalize_mean_var(self, input: torch.Tensor, input_length: torch.Tensor | None) -> torch.Tensor:
        """``input`` ``(B, C, F, T)`` standardized over valid frames and channels."""
        mean, std = self.get_mean_std_time_channel(input, input_length, eps=self.eps)
        return (input - mean) / std

    def _normalize(self, x: torch.Tensor, lengths: torch.Tensor, mode: str | None) -> torch.Tensor:
        if mode == "mean":
            return self.normalize_mean(x, lengths)
        if mode == "mean_var":
            return self.normalize_mean_var(x, lengths)
        return x

    def _magnitude(self, spec: torch.Tensor) -> torch.Tensor:
        if self.mag_reduction is None:
            return spec.abs()
        if self.mag_reduction == "abs_mean":
            return spec.mean(dim=1, keepdim=True).abs()
        if self.mag_reduction == "mean_abs":
            return spec.abs().mean(dim=1, keepdim=True)
        return spec.abs().pow(2).mean(dim=1, keepdim=True).sqrt()

    @typecheck()
    def forward(self, input: torch.Tensor, input_length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self._magnitude(input)
        if self.mag_power is not None:
            features = features.pow(self.mag_power)
        features = self._normalize(features, input_length, self.mag_normalization)
        if self.use_ipd:
            ipd = wrap_to_pi(input.angle() - input.mean(dim=1, keepdim=True).angle())
            ipd = self._normalize(ipd, input_length, self.ipd_normalization)
            features = torch.cat((features.expand_as(ipd), ipd), dim=2)
        if self._num_channels is not None and features.size(1) != self._num_channels:
            raise RuntimeError(
                f"{type(self).__name__}: the features have {features.size(1)} channels but num_input_channels "
                f"configured {self._num_channels}; fix num_input_channels or the input."
            )
        return features, input_length


class MaskEstimatorRNN(NeuralModule):
    """Masks from stacked RNNs over multichannel features (Yoshioka et al., ICASSP 2018).

    features -> ``input_projection`` -> ``rnn`` -> ``fc`` -> ``norm`` (+ skip from the projection)
    -> one ``output_projections[k]`` and sigmoid per output. Frames past each item's length are zero.

    Args:
        num_outputs: number of masks.
        num_subbands: number of subbands ``F``.
        num_features: width of the projection and of ``fc``/``norm``.
        num_layers: RNN layers.
        num_hidden_features: RNN hidden size (default ``num_features``).
        num_input_channels: input channels, needed unless the features reduce to one channel.
        dropout: dropout between RNN layers.
        bidirectional: bidirectional RNN.
        rnn_type: ``'lstm'`` or ``'gru'``.
        mag_reduction: see :class:`SpectrogramToMultichannelFeatures`.
        use_ipd: see :class:`SpectrogramToMultichannelFeatures`.

    Input ``(B, C, F, T)`` complex and lengths ``(B,)``; output masks ``(B, num_outputs, F, T)`` and lengths.
    """

    def __init__(
        self,
        num_outputs: int,
        num_subbands: int,
        num_features: int = 1024,
        num_layers: int = 3,
        num_hidden_features: int | None = None,
        num_input_channels: int | None = None,
        dropout: float = 0,
        bidirectional: bool = True,
        rnn_type: str = "lstm",
        mag_reduction: str = "rms",
        use_ipd: bool | None = None,
    ) -> None:
        super().__init__()
        _check_choice(type(self).__name__, "rnn_type", rnn_type, ("lstm", "gru"))
        hidden = num_features if num_hidden_features is None else num_hidden_features
        self.features = SpectrogramToMultichannelFeatures(
            num_subbands=num_subbands,
            num_input_channels=num_input_channels,
            mag_reduction=mag_reduction,
            use_ipd=bool(use_ipd),
        )
        self.input_projection = nn.Linear(
            self.features.num_features * self.features.num_channels, num_features
        )
        rnn_class = nn.LSTM if rnn_type == "lstm" else nn.GRU
        self.rnn = rnn_class(
            input_size=num_features,
            hidden_size=hidden,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.fc = nn.Linear(2 * hidden if bidirectional else hidden, num_features)
        self.norm = nn.LayerNorm(num_features)
        self.output_projections = nn.ModuleList(
            [nn.Linear(num_features, num_subbands) for _ in range(num_outputs)]
        )
        self.output_nonlinearity = nn.Sigmoid()

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "input_length": _lengths_port()}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _mask_port(), "output_length": _lengths_port()}

    @typecheck()
    def forward(self, input: torch.Tensor, input_length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, _ = self.features(input=input, input_length=input_length)
        batch, _, _, frames = features.shape
        # (B, C', D, T) -> (B, T, C' * D)
        projected = self.input_projection(features.permute(0, 3, 1, 2).reshape(batch, frames, -1))
        packed = nn.utils.rnn.pack_padded_sequence(
            projected, input_length.cpu(), batch_first=True, enforce_sorted=False
        )
        self.rnn.flatten_parameters()
        hidden, _ = self.rnn(packed)
        hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=frames)
        hidden = self.norm(self.fc(hidden)) + projected
        masks = torch.stack(
            [
                self.output_nonlinearity(projection(hidden)).transpose(1, 2)
                for projection in self.output_projections
            ],
            dim=1,
        )
        return _zero_padded_frames(masks, input_length), input_length


class MaskEstimatorFlexChannels(NeuralModule):
    """Masks from interleaved channel and temporal blocks, for any number of channels (Jukić et al. 2023).

    Block ``n`` applies, while ``n < channel_reduction_position``, a channel block (TAC or
    transform-attend-concatenate) and then a Conformer to each channel separately; at
    ``channel_reduction_position`` the channels are pooled (average or attention) and later blocks are
    Conformers only. ``channel_reduction_position=-1`` pools after the last block. Each output has its own
    one-layer Conformer projecting to ``num_subbands``, followed by a sigmoid.

    Args:
        num_outputs: number of masks.
        num_subbands: number of subbands ``F``.
        num_blocks: number of blocks.
        channel_reduction_position: block before which channels are pooled (-1: after the last block).
        channel_reduction_type: ``'average'`` or ``'attention'``.
        channel_block_type: ``'transform_average_concatenate'`` or ``'transform_attend_concatenate'``.
        temporal_block_type: ``'conformer_encoder'``.
        temporal_block_num_layers: Conformer layers per temporal block.
        temporal_block_num_heads: attention heads in the Conformers.
        temporal_block_dimension: model width ``d_model``.
        temporal_block_self_attention_model: Conformer ``self_attention_model``.
        temporal_block_att_context_size: Conformer ``att_context_size``.
        num_input_channels, mag_reduction, mag_power, use_ipd, mag_normalization, ipd_normalization:
            see :class:`SpectrogramToMultichannelFeatures`.

    Input ``(B, C, F, T)`` complex and lengths ``(B,)``; output masks ``(B, num_outputs, F, T)`` and lengths.
    """

    def __init__(
        self,
        num_outputs: int,
        num_subbands: int,
        num_blocks: int,
        channel_reduction_position: int = -1,
        channel_reduction_type: str = "attention",
        channel_block_type: str = "transform_attend_concatenate",
        temporal_block_type: str = "conformer_encoder",
        temporal_block_num_layers: int = 5,
        temporal_block_num_heads: int = 4,
        temporal_block_dimension: int = 128,
        temporal_block_self_attention_model: str = "rel_pos",
        temporal_block_att_context_size: list[int] | None = None,
        num_input_channels: int | None = None,
        mag_reduction: str = "abs_mean",
        mag_power: float | None = None,
        use_ipd: bool = True,
        mag_normalization: str | None = None,
        ipd_normalization: str | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        channel_blocks = {
            "transform_average_concatenate": TransformAverageConcatenate,
            "transform_attend_concatenate": TransformAttendConcatenate,
        }
        _check_choice(owner, "channel_block_type", channel_block_type, tuple(channel_blocks))
        _check_choice(owner, "channel_reduction_type", channel_reduction_type, ("average", "attention"))
        _check_choice(owner, "temporal_block_type", temporal_block_type, ("conformer_encoder",))
        if channel_reduction_position == -1:
            channel_reduction_position = num_blocks
        if not 0 <= channel_reduction_position <= num_blocks:
            raise ValueError(
                f"{owner}: channel_reduction_position={channel_reduction_position} must be -1 or in "
                f"[0, num_blocks={num_blocks}]."
            )
        self.features = SpectrogramToMultichannelFeatures(
            num_subbands=num_subbands,
            num_input_channels=num_input_channels,
            mag_reduction=mag_reduction,
            mag_power=mag_power,
            use_ipd=use_ipd,
            mag_normalization=mag_normalization,
            ipd_normalization=ipd_normalization,
        )
        self.num_blocks = num_blocks
        self.channel_reduction_position = channel_reduction_position
        width = temporal_block_dimension
        feature_width = self.features.num_features

        def conformer(feat_in: int, n_layers: int, feat_out: int = -1) -> ConformerEncoder:
            return ConformerEncoder(
                feat_in=feat_in,
                n_layers=n_layers,
                d_model=width,
                feat_out=feat_out,
                subsampling_factor=1,
                self_attention_model=temporal_block_self_attention_model,
                att_context_size=temporal_block_att_context_size,
                n_heads=temporal_block_num_heads,
            )

        self.channel_blocks = nn.ModuleList(
            [
                channel_blocks[channel_block_type](
                    in_features=feature_width if n == 0 else width, out_features=width
                )
                for n in range(min(num_blocks, channel_reduction_position))
            ]
        )
        # Only a reduction before the very first block feeds raw features to a temporal block.
        self.temporal_blocks = nn.ModuleList(
            [
                conformer(
                    feature_width if n == channel_reduction_position == 0 else width,
                    temporal_block_num_layers,
                )
                for n in range(num_blocks)
            ]
        )
        if channel_reduction_type == "average":
            self.channel_reduction = ChannelAveragePool()
        else:
            self.channel_reduction = ChannelAttentionPool(
                in_features=feature_width if channel_reduction_position == 0 else width
            )
        self.output_layers = nn.ModuleList(
            [conformer(width, 1, feat_out=num_subbands) for _ in range(num_outputs)]
        )
        self.output_nonlinearity = nn.Sigmoid()

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "input_length": _lengths_port()}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _mask_port(), "output_length": _lengths_port()}

    @typecheck()
    def forward(self, input: torch.Tensor, input_length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.features(input=input, input_length=input_length)
        batch, channels = input.size(0), input.size(1)
        for n, temporal_block in enumerate(self.temporal_blocks):
            multichannel = n < self.channel_reduction_position
            if multichannel:
                x = self.channel_blocks[n](input=x)
                # each channel is a separate sequence for the temporal block: (B, C, D, T) -> (B * C, D, T)
                x = x.reshape(batch * channels, x.size(-2), x.size(-1))
                stream_lengths = lengths.repeat_interleave(channels)
            else:
                if n == self.channel_reduction_position:
                    x = self.channel_reduction(input=x)
                stream_lengths = lengths
            with typecheck.disable_checks():
                x, stream_lengths = temporal_block(audio_signal=x, length=stream_lengths)
            if multichannel:
                x = x.reshape(batch, channels, x.size(-2), x.size(-1))
                lengths = stream_lengths.reshape(batch, channels)[:, 0]
            else:
                lengths = stream_lengths
        if self.channel_reduction_position == self.num_blocks:
            x = self.channel_reduction(input=x)
        masks = []
        with typecheck.disable_checks():
            for output_layer in self.output_layers:
                mask, mask_length = output_layer(audio_signal=x, length=lengths)
                masks.append(self.output_nonlinearity(mask))
        return torch.stack(masks, dim=1), mask_length


class MaskEstimatorGSS(NeuralModule):
    """Guided source separation: masks from a complex angular central Gaussian mixture (cACGMM).

    EM on the channel-normalized observations ``z = x / ||x||`` per subband (Ito et al. 2016), with the
    posterior of each source also multiplied by its given frame activity (Boeddeker et al. 2018). Notation:
    ``gamma`` masks, ``alpha`` mixture weights, ``BM`` shape matrices.

    Args:
        num_iterations: EM iterations.
        eps: small positive constant.
        dtype: complex dtype of the internal computation (``torch.cfloat`` or ``torch.cdouble``).

    Inputs ``input`` complex ``(B, C, F, T)`` and ``activity`` ``(B, num_outputs, T)`` (bool or weights,
    ``num_outputs >= 2``); output masks ``(B, num_outputs, F, T)`` summing to one over outputs.
    """

    def __init__(
        self, num_iterations: int = 3, eps: float = 1e-8, dtype: torch.dtype = torch.cdouble
    ) -> None:
        super().__init__()
        if num_iterations <= 0:
            raise ValueError(f"MaskEstimatorGSS: num_iterations={num_iterations} must be positive.")
        if eps <= 0:
            raise ValueError(f"MaskEstimatorGSS: eps={eps} must be positive.")
        _check_choice(type(self).__name__, "dtype", dtype, (torch.cfloat, torch.cdouble))
        self.num_iterations = num_iterations
        self.eps = eps
        self.dtype = dtype

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "activity": NeuralType(("B", "C", "T"))}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"gamma": NeuralType(_BCFT)}

    def normalize(self, x: torch.Tensor, dim: int = 1) -> torch.Tensor:
        """``x`` divided by its L2 norm over ``dim`` (default: channels of ``(B, C, F, T)``)."""
        return x / (torch.linalg.vector_norm(x, ord=2, dim=dim, keepdim=True) + self.eps)

    def update_masks(
        self, alpha: torch.Tensor, activity: torch.Tensor, log_pdf: torch.Tensor
    ) -> torch.Tensor:
        """E-step: posteriors ``alpha * pdf * activity``, normalized over outputs.

        Args:
            alpha: weights ``(B, K, F)``.
            activity: frame activity ``(B, K, T)``.
            log_pdf: component log-likelihoods ``(B, K, F, T)``.

        Returns:
            Masks ``(B, K, F, T)``.
        """
        likelihood = torch.exp(log_pdf - log_pdf.amax(dim=1, keepdim=True))
        gamma = alpha.unsqueeze(-1) * likelihood * activity.unsqueeze(2)
        return gamma / (gamma.sum(dim=1, keepdim=True) + self.eps)

    def update_weights(self, gamma: torch.Tensor) -> torch.Tensor:
        """M-step for the weights: mean mask over time, ``(B, K, F, T) -> (B, K, F)``."""
        return gamma.mean(dim=-1)

    def update_pdf(
        self, z: torch.Tensor, gamma: torch.Tensor, zH_invBM_z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """M-step for the shape matrices, then the component log-likelihoods.

        ``BM_k = C * sum_t (gamma_kt / q_kt) z_t z_t^H / sum_t gamma_kt`` with ``q`` the previous quadratic
        form; the log-likelihood is ``-C log(z^H BM^{-1} z) - log det BM`` (shape matrices scaled so their
        largest eigenvalue is one, which the angular distribution does not notice).

        Args:
            z: normalized observations ``(B, C, F, T)``.
            gamma: masks ``(B, K, F, T)``.
            zH_invBM_z: previous ``z^H BM^{-1} z`` ``(B, K, F, T)``.

        Returns:
            ``(log_pdf, zH_invBM_z)``, each ``(B, K, F, T)``.
        """
        num_inputs = z.size(1)
        weight = (gamma / (zH_invBM_z.real + self.eps)).to(z.dtype)
        shape = torch.einsum("bkft,bift,bjft->bkfij", weight, z, z.conj()) * num_inputs
        shape = shape / (gamma.sum(dim=-1)[..., None, None] + self.eps)
        shape = 0.5 * (shape + shape.conj().transpose(-1, -2))
        eigenvalues, eigenvectors = torch.linalg.eigh(shape)
        eigenvalues = eigenvalues.clamp(min=self.eps)
        eigenvalues = eigenvalues / (eigenvalues.amax(dim=-1, keepdim=True) + self.eps) + self.eps
        log_det = eigenvalues.log().sum(dim=-1)
        # z^H BM^{-1} z = sum_j |v_j^H z|^2 / lambda_j
        projections = torch.einsum("bkfij,bift->bkftj", eigenvectors.conj(), z)
        quadratic = (projections.abs().pow(2) / eigenvalues.unsqueeze(3)).sum(dim=-1) + self.eps
        log_pdf = -num_inputs * quadratic.log() - log_det.unsqueeze(-1)
        return log_pdf, quadratic

    @typecheck()
    def forward(self, input: torch.Tensor, activity: torch.Tensor) -> torch.Tensor:
        batch, _, num_subbands, frames = input.shape
        num_outputs = activity.size(1)
        if activity.size(0) != batch or activity.size(-1) != frames:
            raise ValueError(
                f"MaskEstimatorGSS: activity of shape {tuple(activity.shape)} does not match input of shape "
                f"{tuple(input.shape)}; expected ({batch}, num_outputs, {frames})."
            )
        if num_outputs < 2:
            raise ValueError(f"MaskEstimatorGSS needs at least two sources in activity, got {num_outputs}.")
        with torch.autocast(device_type=input.device.type, enabled=False):
            x = input.to(self.dtype)
            real_dtype = x.real.dtype
            activity = activity.to(real_dtype)
            z = self.normalize(x, dim=1)
            gamma = activity.clamp(min=self.eps)
            gamma = (gamma / gamma.sum(dim=1, keepdim=True)).unsqueeze(2).expand(-1, -1, num_subbands, -1)
            quadratic = torch.ones(
                batch, num_outputs, num_subbands, frames, dtype=real_dtype, device=x.device
            )
            for _ in range(self.num_iterations):
                alpha = self.update_weights(gamma)
                log_pdf, quadratic = self.update_pdf(z, gamma, quadratic)
                gamma = self.update_masks(alpha, activity, log_pdf)
        if torch.isnan(gamma).any():
            raise RuntimeError(
                "MaskEstimatorGSS: the masks contain NaNs; check the input for silence or NaNs."
            )
        return gamma


class MaskReferenceChannel(NeuralModule):
    """Apply each mask to one channel of the input.

    Args:
        ref_channel: index of the channel the masks apply to.
        mask_min_db: masks are clipped below at this level (dB of magnitude).
        mask_max_db: masks are clipped above at this level.

    Inputs ``input`` complex ``(B, C, F, T)``, lengths ``(B,)``, ``mask`` ``(B, M, F, T)``;
    output ``(B, M, F, T)`` and the lengths.
    """

    def __init__(self, ref_channel: int = 0, mask_min_db: float = -200, mask_max_db: float = 0) -> None:
        super().__init__()
        self.ref_channel = ref_channel
        self.mask_min = db2mag(mask_min_db)
        self.mask_max = db2mag(mask_max_db)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "input_length": _lengths_port(), "mask": _mask_port()}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port(), "output_length": _lengths_port()}

    @typecheck()
    def forward(
        self, input: torch.Tensor, input_length: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        reference = input[:, self.ref_channel].unsqueeze(1)
        return mask.clamp(min=self.mask_min, max=self.mask_max) * reference, input_length


class MaskBasedBeamformer(NeuralModule):
    """Multichannel filter per mask, with statistics weighted by the masks.

    For each mask ``m`` the desired-signal mask is ``mask[:, m]``; the undesired one is
    ``mask_undesired[:, m]`` if given, else ``1 - mask`` for a single mask, else the sum of the other masks.
    Both are clipped to ``[mask_min_db, mask_max_db]`` and zeroed past the lengths, then drive a
    :class:`~nemo.collections.asr.parts.submodules.multichannel_modules.ParametricMultichannelWienerFilter`.
    If ``postmask_min_db < postmask_max_db``, the output is also multiplied by the clipped mask.

    Args:
        filter_type: ``'mvdr_souden'`` (forces beta 0, rank one) or ``'pmwf'``.
        filter_beta, filter_rank, filter_postfilter: the filter's ``beta``, ``rank``, ``postfilter``.
        ref_channel, ref_hard, ref_hard_use_grad, ref_subband_weighting, num_subbands: the filter's reference.
        mask_min_db, mask_max_db: clipping of the masks (min must be below max).
        postmask_min_db, postmask_max_db: clipping of the post-mask (equal: no post-mask).
        diag_reg, eps: the filter's regularization.

    Inputs ``input`` complex ``(B, C, F, T)``, ``mask`` ``(B, num_masks, F, T)``, optional ``mask_undesired``
    (same shape) and lengths ``(B,)``; output ``(B, num_masks * M, F, T)`` (``M`` per the reference) and lengths.
    """

    def __init__(
        self,
        filter_type: str = "mvdr_souden",
        filter_beta: float = 0.0,
        filter_rank: str = "one",
        filter_postfilter: str | None = None,
        ref_channel: int | str | None = 0,
        ref_hard: bool = True,
        ref_hard_use_grad: bool = False,
        ref_subband_weighting: bool = False,
        num_subbands: int | None = None,
        mask_min_db: float = -200,
        mask_max_db: float = 0,
        postmask_min_db: float = 0,
        postmask_max_db: float = 0,
        diag_reg: float | None = 1e-6,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        _check_choice(owner, "filter_type", filter_type, ("pmwf", "mvdr_souden"))
        if filter_type == "mvdr_souden" and filter_beta != 0:
            logging.warning(
                "%s: filter_type='mvdr_souden' uses beta=0 and rank='one'; ignoring filter_beta=%s, filter_rank=%s.",
                owner,
                filter_beta,
                filter_rank,
            )
            filter_beta, filter_rank = 0.0, "one"
        if mask_min_db >= mask_max_db:
            raise ValueError(
                f"{owner}: mask_min_db={mask_min_db} must be smaller than mask_max_db={mask_max_db}."
            )
        if postmask_min_db > postmask_max_db:
            raise ValueError(
                f"{owner}: postmask_min_db={postmask_min_db} must not exceed postmask_max_db={postmask_max_db}."
            )
        self.filter_type = filter_type
        self.filter = ParametricMultichannelWienerFilter(
            beta=filter_beta,
            rank=filter_rank,
            postfilter=filter_postfilter,
            ref_channel=ref_channel,
            ref_hard=ref_hard,
            ref_hard_use_grad=ref_hard_use_grad,
            ref_subband_weighting=ref_subband_weighting,
            num_subbands=num_subbands,
            diag_reg=diag_reg,
            eps=eps,
        )
        self.mask_min = db2mag(mask_min_db)
        self.mask_max = db2mag(mask_max_db)
        self.postmask_min = db2mag(postmask_min_db)
        self.postmask_max = db2mag(postmask_max_db)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input": _spec_port(),
            "mask": _mask_port(),
            "mask_undesired": _mask_port(optional=True),
            "input_length": _lengths_port(optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port(), "output_length": _lengths_port(optional=True)}

    def _undesired_mask(
        self, mask: torch.Tensor, mask_undesired: torch.Tensor | None, m: int
    ) -> torch.Tensor:
        if mask_undesired is not None:
            return mask_undesired[:, m]
        if mask.size(1) == 1:
            return 1 - mask[:, 0]
        return mask.sum(dim=1) - mask[:, m]

    @typecheck()
    def forward(
        self,
        input: torch.Tensor,
        mask: torch.Tensor,
        mask_undesired: torch.Tensor | None = None,
        input_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        outputs = []
        for m in range(mask.size(1)):
            desired = mask[:, m].clamp(min=self.mask_min, max=self.mask_max)
            undesired = self._undesired_mask(mask, mask_undesired, m).clamp(
                min=self.mask_min, max=self.mask_max
            )
            filtered = self.filter(
                input=input,
                mask_s=_zero_padded_frames(desired, input_length),
                mask_n=_zero_padded_frames(undesired, input_length),
            )
            if self.postmask_min < self.postmask_max:
                filtered = filtered * mask[:, m : m + 1].clamp(min=self.postmask_min, max=self.postmask_max)
            outputs.append(filtered)
        return _zero_padded_frames(torch.cat(outputs, dim=1), input_length), input_length


class WPEFilter(NeuralModule):
    """Weighted prediction error (WPE) dereverberation filter, estimated in batch mode.

    Per subband, the late reverberation of all channels is predicted from the ``filter_length`` frames
    ending ``prediction_delay`` frames before the current one (all channels), with the prediction filter
    ``G = Q^{-1} R`` from ``Q = X~^H W X~`` and ``R = X~^H W X`` (``W``: inverse desired-signal power); the
    prediction is subtracted (Yoshioka and Nakatani 2012). ``Q`` gets ``diag_reg * tr(Q) + eps`` on its
    diagonal when ``diag_reg`` is set.

    Args:
        filter_length: prediction filter taps per channel (frames).
        prediction_delay: delay of the prediction (frames).
        diag_reg: relative diagonal loading of ``Q`` (None or 0: none).
        eps: small positive constant.

    Inputs ``input`` complex ``(B, C, F, T)``, ``power`` ``(B, C, F, T)``, optional lengths ``(B,)``;
    output ``(B, C, F, T)`` (frames past the lengths zeroed) and the lengths.
    """

    def __init__(
        self, filter_length: int, prediction_delay: int, diag_reg: float | None = 1e-6, eps: float = 1e-8
    ) -> None:
        super().__init__()
        self.filter_length = filter_length
        self.prediction_delay = prediction_delay
        self.diag_reg = diag_reg
        self.eps = eps

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": _spec_port(), "power": _spec_port(), "input_length": _lengths_port(optional=True)}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port(), "output_length": _lengths_port(optional=True)}

    @classmethod
    def convtensor(
        cls, x: torch.Tensor, filter_length: int, delay: int = 0, n_steps: int | None = None
    ) -> torch.Tensor:
        """Past frames of ``x`` for each frame, as a strided view (no copy).

        ``out[b, c, f, n, k] = x[b, c, f, n - delay - (filter_length - 1) + k]`` (zero before the start), so
        tap ``k = filter_length - 1`` is the frame ``delay`` steps back.

        Args:
            x: ``(B, C, F, N)``.
            filter_length: taps ``L``.
            delay: prediction delay.
            n_steps: frames kept (default ``N``).

        Returns:
            ``(B, C, F, n_steps, L)``.
        """
        if x.dim() != 4:
            raise ValueError(
                f"WPEFilter.convtensor expects a (B, C, F, N) tensor, got shape {tuple(x.shape)}."
            )
        n_steps = x.size(-1) if n_steps is None else n_steps
        padded = nn.functional.pad(x, (filter_length - 1 + delay, 0))
        return padded.unfold(-1, filter_length, 1)[..., :n_steps, :]

    @classmethod
    def permute_convtensor(cls, x: torch.Tensor) -> torch.Tensor:
        """:meth:`convtensor`'s output laid out as ``convmtx_mc_numpy`` (for checks; makes a copy).

        Args:
            x: ``(B, C, F, N, L)``.

        Returns:
            ``(B, F, N, C * L)``, channel blocks side by side, each with the most recent tap first.
        """
        batch, channels, subbands, frames, taps = x.shape
        return x.flip(-1).permute(0, 2, 3, 1, 4).reshape(batch, subbands, frames, channels * taps)

    def estimate_correlations(
        self,
        input: torch.Tensor,
        weight: torch.Tensor,
        tilde_input: torch.Tensor,
        input_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted correlations ``Q = X~^H diag(w) X~`` and ``R = X~^H diag(w) X`` per (batch, subband).

        Args:
            input: ``X`` ``(B, C, F, N)``.
            weight: ``w`` ``(B, F, N)``; frames past ``input_length`` count as zero weight.
            tilde_input: ``X~`` from :meth:`convtensor`, ``(B, C, F, N, L)``.
            input_length: optional valid frames ``(B,)``.

        Returns:
            ``Q`` ``(B, F, C, L, C, L)`` and ``R`` ``(B, F, C, L, C)`` (last axis: output channel).
        """
        weight = _zero_padded_frames(weight, input_length)
        weighted_tilde = tilde_input * weight[:, None, :, :, None]
        q = torch.einsum("bcfnk,bdfnl->bfckdl", tilde_input.conj(), weighted_tilde)
        r = torch.einsum("bcfnk,bdfn->bfckd", tilde_input.conj(), input * weight[:, None])
        return q, r

    def estimate_filter(self, Q: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
        """Prediction filter ``G = Q^{-1} R`` per (batch, subband).

        Args:
            Q: ``(B, F, C, L, C, L)``.
            R: ``(B, F, C, L, C)``.

        Returns:
            ``(B, C_out, F, C_in, L)``.
        """
        batch, subbands, channels, taps = Q.shape[:4]
        if taps != self.filter_length:
            raise ValueError(
                f"WPEFilter.estimate_filter: Q of shape {tuple(Q.shape)} has {taps} taps, "
                f"but filter_length={self.filter_length}."
            )
        size = channels * taps
        q = Q.reshape(batch, subbands, size, size)
        r = R.reshape(batch, subbands, size, channels)
        if self.diag_reg:
            loading = self.diag_reg * torch.diagonal(q, dim1=-2, dim2=-1).sum(dim=-1).real + self.eps
            q = q + loading[..., None, None] * torch.eye(size, dtype=q.dtype, device=q.device)
        g = torch.linalg.solve(q, r)
        return g.reshape(batch, subbands, channels, taps, channels).permute(0, 4, 1, 2, 3)

    def apply_filter(
        self, filter: torch.Tensor, input: torch.Tensor | None = None, tilde_input: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Prediction ``X~ G`` for each output channel.

        Args:
            filter: ``(B, C_out, F, C_in, L)``.
            input: ``(B, C, F, N)``; give this or ``tilde_input``, not both.
            tilde_input: ``(B, C, F, N, L)`` from :meth:`convtensor`.

        Returns:
            ``(B, C_out, F, N)``.
        """
        if (input is None) == (tilde_input is None):
            raise ValueError("WPEFilter.apply_filter: pass exactly one of input and tilde_input.")
        if tilde_input is None:
            tilde_input = self.convtensor(
                input, filter_length=self.filter_length, delay=self.prediction_delay
            )
        return torch.einsum("bcfnk,bdfck->bdfn", tilde_input, filter)

    @typecheck()
    def forward(
        self, input: torch.Tensor, power: torch.Tensor, input_length: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        weight = 1 / (power.mean(dim=1) + self.eps)
        tilde_input = self.convtensor(input, filter_length=self.filter_length, delay=self.prediction_delay)
        q, r = self.estimate_correlations(input, weight, tilde_input, input_length=input_length)
        prediction = self.apply_filter(filter=self.estimate_filter(q, r), tilde_input=tilde_input)
        return _zero_padded_frames(input - prediction, input_length), input_length


class MaskBasedDereverbWPE(NeuralModule):
    """Iterative WPE dereverberation, optionally guided by a mask (Kinoshita et al. 2017).

    Each iteration estimates the desired-signal power as ``|Y|^2`` of the current estimate (the input at
    first, multiplied by the clipped mask if given) and applies a :class:`WPEFilter` to the input-type
    estimate from the previous iteration.

    Args:
        filter_length: WPE taps per channel (frames).
        prediction_delay: WPE prediction delay (frames).
        num_iterations: reweighting iterations.
        mask_min_db, mask_max_db: clipping of the mask.
        diag_reg, eps: WPE regularization.
        dtype: complex dtype of the internal computation (``torch.cfloat`` or ``torch.cdouble``).

    Inputs ``input`` complex ``(B, C, F, T)``, optional lengths ``(B,)`` and ``mask`` ``(B, C or 1, F, T)``;
    output ``(B, C, F, T)`` and the lengths.
    """

    def __init__(
        self,
        filter_length: int,
        prediction_delay: int,
        num_iterations: int = 1,
        mask_min_db: float = -200,
        mask_max_db: float = 0,
        diag_reg: float | None = 1e-6,
        eps: float = 1e-8,
        dtype: torch.dtype = torch.cdouble,
    ) -> None:
        super().__init__()
        _check_choice(type(self).__name__, "dtype", dtype, (torch.cfloat, torch.cdouble))
        self.filter = WPEFilter(
            filter_length=filter_length, prediction_delay=prediction_delay, diag_reg=diag_reg, eps=eps
        )
        self.num_iterations = num_iterations
        self.mask_min = db2mag(mask_min_db)
        self.mask_max = db2mag(mask_max_db)
        self.dtype = dtype

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input": _spec_port(),
            "input_length": _lengths_port(optional=True),
            "mask": _mask_port(optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port(), "output_length": _lengths_port(optional=True)}

    @typecheck()
    def forward(
        self, input: torch.Tensor, input_length: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not input.is_complex():
            raise TypeError(f"MaskBasedDereverbWPE expects a complex spectrogram, got {input.dtype}.")
        output_length = input_length
        with torch.autocast(device_type=input.device.type, enabled=False):
            estimate = input.to(self.dtype)
            for iteration in range(self.num_iterations):
                magnitude = estimate.abs()
                if iteration == 0 and mask is not None:
                    magnitude = magnitude * mask.clamp(min=self.mask_min, max=self.mask_max)
                estimate, output_length = self.filter(
                    input=estimate, power=magnitude.pow(2), input_length=input_length
                )
        return estimate.to(input.dtype), output_length


class MixtureConsistencyProjection(NeuralModule):
    """Project source estimates so that they add up to the mixture (Wisdom et al. 2018).

    ``estimate_m + weight_m * (mixture - sum_k estimate_k)`` with ``weight_m = 1 / M`` (``weighting=None``)
    or ``|estimate_m|^2 / (sum_k |estimate_k|^2 + eps)`` (``'power'``).

    Args:
        weighting: None or ``'power'``.
        eps: small positive constant.

    Inputs ``mixture`` ``(B, 1, F, T)`` and ``estimate`` ``(B, M, F, T)``; output ``(B, M, F, T)``.
    """

    def __init__(self, weighting: str | None = None, eps: float = 1e-8) -> None:
        super().__init__()
        _check_choice(type(self).__name__, "weighting", weighting, (None, "power"), NotImplementedError)
        self.weighting = weighting
        self.eps = eps

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"mixture": _spec_port(), "estimate": _spec_port()}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": _spec_port()}

    @typecheck()
    def forward(self, mixture: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
        residual = mixture - estimate.sum(dim=1, keepdim=True)
        if self.weighting is None:
            return estimate + residual / estimate.size(1)
        power = estimate.abs().pow(2)
        return estimate + power / (power.sum(dim=1, keepdim=True) + self.eps) * residual
