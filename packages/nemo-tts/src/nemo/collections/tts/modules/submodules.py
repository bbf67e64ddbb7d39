"""Building blocks of the TTS modules (NeMo 1.23's names and state-dict keys): conditioning by a speaker
embedding, Xavier-initialised linear and conv layers, and the speaker lookup table / encoder.
"""

from __future__ import annotations

import torch
from nemo.core.classes import NeuralModule
from nemo.core.neural_types import EncodedRepresentation, Index, LengthsType, MelSpectrogramType, NeuralType

__all__ = [
    "SUPPORTED_CONDITION_TYPES",
    "ConditionalInput",
    "ConditionalLayerNorm",
    "ConvNorm",
    "LinearNorm",
    "SpeakerEncoder",
    "SpeakerLookupTable",
    "check_support_condition_types",
]

SUPPORTED_CONDITION_TYPES = ["add", "concat", "layernorm"]


def check_support_condition_types(condition_types: list[str]) -> None:
    """Raise ValueError for a condition type other than ``add``, ``concat`` or ``layernorm``."""
    for condition_type in condition_types:
        if condition_type not in SUPPORTED_CONDITION_TYPES:
            raise ValueError(
                f"Unknown conditioning type {condition_type!r} in condition_types {condition_types}; "
                f"expected some of {SUPPORTED_CONDITION_TYPES}. Fix the module's `condition_types` config key."
            )


def _missing_conditioning_error() -> ValueError:
    return ValueError(
        "This module is conditioned (its condition_types are set) but got conditioning=None. Pass a speaker "
        "id (speaker=...) or reference audio, and define n_speakers or speaker_encoder in the model config."
    )


class ConditionalLayerNorm(torch.nn.LayerNorm):
    """LayerNorm over the last dimension; with ``"layernorm"`` in ``condition_types`` its scale and shift
    come from the conditioning (B, 1, condition_dim) through two linear layers instead of parameters."""

    def __init__(self, hidden_dim: int, condition_dim: int | None = None, condition_types: list[str] = ()):
        check_support_condition_types(list(condition_types))
        self.condition = "layernorm" in condition_types
        super().__init__(hidden_dim, elementwise_affine=not self.condition)
        if self.condition:
            self.cond_weight = torch.nn.Linear(condition_dim, hidden_dim)
            self.cond_bias = torch.nn.Linear(condition_dim, hidden_dim)
            torch.nn.init.constant_(self.cond_weight.weight, 0.0)
            torch.nn.init.constant_(self.cond_weight.bias, 1.0)
            torch.nn.init.constant_(self.cond_bias.weight, 0.0)
            torch.nn.init.constant_(self.cond_bias.bias, 0.0)

    def forward(self, inputs: torch.Tensor, conditioning: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, H) -> (B, T, H); ``conditioning`` (B, 1, C) is needed when conditioned."""
        inputs = super().forward(inputs)
        if self.condition:
            if conditioning is None:
                raise _missing_conditioning_error()
            inputs = inputs * self.cond_weight(conditioning) + self.cond_bias(conditioning)
        return inputs


class ConditionalInput(torch.nn.Module):
    """Adds (``"add"``) and/or concatenates then projects (``"concat"``) a conditioning vector to the inputs;
    with neither, the inputs pass through unchanged."""

    def __init__(self, hidden_dim: int, condition_dim: int, condition_types: list[str] = ()):
        check_support_condition_types(list(condition_types))
        super().__init__()
        self.support_types = ["add", "concat"]
        self.condition_types = [tp for tp in condition_types if tp in self.support_types]
        self.hidden_dim = hidden_dim
        self.condition_dim = condition_dim
        if "add" in self.condition_types and condition_dim != hidden_dim:
            self.add_proj = torch.nn.Linear(condition_dim, hidden_dim)
        if "concat" in self.condition_types:
            self.concat_proj = torch.nn.Linear(hidden_dim + condition_dim, hidden_dim)

    def forward(self, inputs: torch.Tensor, conditioning: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, H) inputs, (B, 1, C) conditioning -> (B, T, H)."""
        if not self.condition_types:
            return inputs
        if conditioning is None:
            raise _missing_conditioning_error()
        if "add" in self.condition_types:
            if self.condition_dim != self.hidden_dim:
                conditioning = self.add_proj(conditioning)
            inputs = inputs + conditioning
        if "concat" in self.condition_types:
            conditioning = conditioning.expand(-1, inputs.shape[1], -1)
            inputs = self.concat_proj(torch.cat([inputs, conditioning], dim=-1))
        return inputs


class LinearNorm(torch.nn.Module):
    """``torch.nn.Linear`` (under ``linear_layer``) with Xavier-uniform weights for ``w_init_gain``."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, w_init_gain: str = "linear"):
        super().__init__()
        self.linear_layer = torch.nn.Linear(in_dim, out_dim, bias=bias)
        torch.nn.init.xavier_uniform_(
            self.linear_layer.weight, gain=torch.nn.init.calculate_gain(w_init_gain)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_dim) -> (..., out_dim)."""
        return self.linear_layer(x)


class ConvNorm(torch.nn.Module):
    """``torch.nn.Conv1d`` (under ``conv``) with "same" padding for odd kernels and Xavier-uniform weights."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        bias: bool = True,
        w_init_gain: str = "linear",
    ):
        super().__init__()
        if padding is None:
            if kernel_size % 2 != 1:
                raise ValueError(
                    f"ConvNorm pads 'same' only for odd kernels; got kernel_size={kernel_size}. Use an odd "
                    "kernel_size or pass padding explicitly."
                )
            padding = dilation * (kernel_size - 1) // 2
        self.conv = torch.nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
        )
        torch.nn.init.xavier_uniform_(self.conv.weight, gain=torch.nn.init.calculate_gain(w_init_gain))

    def forward(self, signal: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C_in, T) -> (B, C_out, T'); ``mask`` (B, 1, T) zeroes padding first."""
        if mask is not None:
            signal = signal * mask
        return self.conv(signal)


class SpeakerLookupTable(torch.nn.Module):
    """Speaker id -> embedding (under ``table``)."""

    def __init__(self, n_speakers: int, embedding_dim: int):
        super().__init__()
        self.table = torch.nn.Embedding(n_speakers, embedding_dim)

    def forward(self, speaker: torch.Tensor) -> torch.Tensor:
        """(B,) ids -> (B, embedding_dim)."""
        return self.table(speaker)


class SpeakerEncoder(NeuralModule):
    """Speaker representation: a precomputed embedding, a lookup table, a reference-audio (GST) module, or
    the sum of the last two (NeMo 1.23's ``speaker_encoder`` config)."""

    def __init__(
        self,
        lookup_module: torch.nn.Module | None = None,
        gst_module: torch.nn.Module | None = None,
        precomputed_embedding_dim: int | None = None,
    ):
        super().__init__()
        self.lookup_module = lookup_module
        self.gst_module = gst_module
        if precomputed_embedding_dim is not None:
            self.precomputed_emb = torch.nn.Parameter(torch.empty(precomputed_embedding_dim))
        else:
            self.precomputed_emb = None

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "batch_size": NeuralType(optional=True),
            "speaker": NeuralType(("B",), Index(), optional=True),
            "reference_spec": NeuralType(("B", "D", "T_spec"), MelSpectrogramType(), optional=True),
            "reference_spec_lens": NeuralType(("B",), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"embs": NeuralType(("B", "D"), EncodedRepresentation())}

    def overwrite_precomputed_emb(self, emb: torch.Tensor) -> None:
        """Use ``emb`` (D,) as the speaker embedding from now on."""
        self.precomputed_emb = torch.nn.Parameter(emb)

    def forward(
        self,
        batch_size: int | None = None,
        speaker: torch.Tensor | None = None,
        reference_spec: torch.Tensor | None = None,
        reference_spec_lens: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """(B, D) embeddings, or None when nothing identifies a speaker."""
        if self.precomputed_emb is not None:
            return self.precomputed_emb.unsqueeze(0).expand(batch_size, -1)
        embs = None
        if self.lookup_module is not None and speaker is not None:
            embs = self.lookup_module(speaker)
        if reference_spec is not None and reference_spec_lens is not None and self.gst_module is not None:
            out = self.gst_module(reference_spec, reference_spec_lens)
            embs = out if embs is None else embs + out
        return embs


def channels_last_conv_weight(owner: torch.nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """``weight`` (C_out, C_in, K) as (C_out, C_in, 1, K) in channels-last order, for an inference ``Conv1d``
    run as a 2-D convolution of height 1.

    Cached on ``owner`` until ``weight`` is another tensor or changes (in-place updates, ``load_state_dict``,
    ``.to()``); the cache holds ``weight`` itself, so a new tensor can never pass for the old one.
    """
    # An inference tensor (made under torch.inference_mode) cannot change in place: its identity is its key.
    key = (0 if weight.is_inference() else weight._version, weight.data_ptr(), weight.dtype)
    cached = owner.__dict__.get("_channels_last_weight_cache")
    if cached is None or cached[0] is not weight or cached[1] != key:
        copy = weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
        cached = owner.__dict__["_channels_last_weight_cache"] = (weight, key, copy)
    return cached[2]
