"""FastPitch's network (NeMo 1.23's ``FastPitchModule``): text encoder, duration/pitch/energy predictors,
the optional alignment encoder, length regulation and the mel decoder, with NeMo's state-dict keys.

Reading order of :meth:`FastPitchModule.forward`: speaker embedding -> encoder -> durations -> (learned
alignment) -> pitch (target averaged per token, or predicted) added as an embedding -> energy likewise ->
each token repeated for its duration -> decoder -> linear projection to mel channels.
"""

from __future__ import annotations

import torch
from nemo.collections.common.parts.dropout import Dropout
from nemo.collections.tts.modules.submodules import ConditionalInput, ConditionalLayerNorm
from nemo.collections.tts.parts.utils.helpers import (
    average_features,
    binarize_attention_parallel,
    regulate_len,
)
from nemo.core.classes import NeuralModule, typecheck
from nemo.core.neural_types import (
    EncodedRepresentation,
    Index,
    LengthsType,
    LogprobsType,
    MelSpectrogramType,
    NeuralType,
    ProbsType,
    RegressionValuesType,
    TokenDurationType,
    TokenIndex,
    TokenLogDurationType,
)

__all__ = [
    "ConvReLUNorm",
    "FastPitchModule",
    "TemporalPredictor",
    "average_features",
    "forward_input_types",
    "log_to_duration",
]


def log_to_duration(
    log_dur: torch.Tensor, min_dur: float, max_dur: float, mask: torch.Tensor
) -> torch.Tensor:
    """Durations from log-durations: ``clamp(exp(log_dur) - 1, min_dur, max_dur)``, zero at padding.

    Args:
        log_dur: (B, T) predicted ``log(1 + duration)``.
        min_dur, max_dur: bounds in frames.
        mask: (B, T, 1), 1/True at valid tokens.

    Returns:
        (B, T) float durations in frames.
    """
    return torch.clamp(torch.exp(log_dur) - 1.0, min_dur, max_dur) * mask.squeeze(2)


class ConvReLUNorm(torch.nn.Module):
    """Conv1d -> ReLU -> (conditional) LayerNorm over channels -> Dropout, on (B, C, T)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        dropout: float = 0.0,
        condition_dim: int = 384,
        condition_types: list[str] = (),
    ):
        super().__init__()
        self.conv = torch.nn.Conv1d(
            in_channels, out_channels, kernel_size=kernel_size, padding=kernel_size // 2
        )
        self.norm = ConditionalLayerNorm(
            out_channels, condition_dim=condition_dim, condition_types=condition_types
        )
        self.dropout = Dropout(dropout)

    def forward(self, signal: torch.Tensor, conditioning: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C_in, T) -> (B, C_out, T)."""
        out = torch.relu(self.conv(signal))
        out = self.norm(out.transpose(1, 2), conditioning).transpose(1, 2)
        return self.dropout(out)


class TemporalPredictor(NeuralModule):
    """Predicts one value per token (log-duration, pitch or energy) from the encoder output.

    Args:
        input_size: encoder width.
        filter_size: conv channels.
        kernel_size: conv kernel size.
        dropout: dropout after each conv block.
        n_layers: conv blocks.
        condition_types: speaker conditioning (``add``, ``concat``, ``layernorm``).
    """

    def __init__(
        self,
        input_size: int,
        filter_size: int,
        kernel_size: int,
        dropout: float,
        n_layers: int = 2,
        condition_types: list[str] = (),
    ):
        super().__init__()
        self.cond_input = ConditionalInput(input_size, input_size, list(condition_types))
        self.layers = torch.nn.ModuleList(
            ConvReLUNorm(
                input_size if i == 0 else filter_size,
                filter_size,
                kernel_size=kernel_size,
                dropout=dropout,
                condition_dim=input_size,
                condition_types=list(condition_types),
            )
            for i in range(n_layers)
        )
        self.fc = torch.nn.Linear(filter_size, 1, bias=True)
        self.filter_size = filter_size

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "enc": NeuralType(("B", "T", "D"), EncodedRepresentation()),
            # NeMo 1.23 declares ('B', 'T', 1), which NeuralType refuses (its property raises); the mask's size-1
            # last axis is a channel axis here (the conformance kit reads every declaration).
            "enc_mask": NeuralType(("B", "T", "D"), TokenDurationType()),
            "conditioning": NeuralType(("B", "T", "D"), EncodedRepresentation(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"out": NeuralType(("B", "T"), EncodedRepresentation())}

    def forward(
        self, enc: torch.Tensor, enc_mask: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, T, D) encodings and (B, T, 1) mask -> (B, T) values (zero at padding)."""
        out = (self.cond_input(enc, conditioning) * enc_mask).transpose(1, 2)
        for layer in self.layers:
            out = layer(out, conditioning=conditioning)
        return (self.fc(out.transpose(1, 2)) * enc_mask).squeeze(-1)


def forward_input_types() -> dict[str, NeuralType]:
    """The input types of :meth:`FastPitchModule.forward`, also checked by ``FastPitchModel.forward``."""
    return {
        "text": NeuralType(("B", "T_text"), TokenIndex()),
        "durs": NeuralType(("B", "T_text"), TokenDurationType()),
        "pitch": NeuralType(("B", "T_audio"), RegressionValuesType()),
        "energy": NeuralType(("B", "T_audio"), RegressionValuesType(), optional=True),
        "speaker": NeuralType(("B",), Index(), optional=True),
        "pace": NeuralType(optional=True),
        "spec": NeuralType(("B", "D", "T_spec"), MelSpectrogramType(), optional=True),
        "attn_prior": NeuralType(("B", "T_spec", "T_text"), ProbsType(), optional=True),
        "mel_lens": NeuralType(("B",), LengthsType(), optional=True),
        "input_lens": NeuralType(("B",), LengthsType(), optional=True),
        "reference_spec": NeuralType(("B", "D", "T_spec"), MelSpectrogramType(), optional=True),
        "reference_spec_lens": NeuralType(("B",), LengthsType(), optional=True),
    }


class FastPitchModule(NeuralModule):
    """FastPitch's network; built by ``FastPitchModel`` from its config sections.

    Args:
        encoder_module: ``input_fft`` (FFTransformerEncoder).
        decoder_module: ``output_fft`` (FFTransformerDecoder).
        duration_predictor, pitch_predictor: TemporalPredictor.
        energy_predictor: TemporalPredictor or None.
        aligner: AlignmentEncoder (learned alignment) or None.
        speaker_encoder: SpeakerEncoder or None.
        n_speakers: > 1 with no ``speaker_encoder`` adds a speaker embedding table (``speaker_emb``).
        symbols_embedding_dim: encoder width.
        pitch_embedding_kernel_size, energy_embedding_kernel_size: kernels of the conv embeddings.
        n_mel_channels: output mel channels.
        min_token_duration, max_token_duration: duration bounds in frames.
        use_log_energy: embed ``log(1 + energy)`` targets.
    """

    def __init__(
        self,
        encoder_module: NeuralModule,
        decoder_module: NeuralModule,
        duration_predictor: NeuralModule,
        pitch_predictor: NeuralModule,
        energy_predictor: NeuralModule | None,
        aligner: torch.nn.Module | None,
        speaker_encoder: NeuralModule | None,
        n_speakers: int,
        symbols_embedding_dim: int,
        pitch_embedding_kernel_size: int,
        energy_embedding_kernel_size: int,
        n_mel_channels: int = 80,
        min_token_duration: int = 0,
        max_token_duration: int = 75,
        use_log_energy: bool = True,
    ):
        super().__init__()
        self.encoder = encoder_module
        self.decoder = decoder_module
        self.duration_predictor = duration_predictor
        self.pitch_predictor = pitch_predictor
        self.energy_predictor = energy_predictor
        self.aligner = aligner
        self.speaker_encoder = speaker_encoder
        self.learn_alignment = aligner is not None
        self.use_duration_predictor = True
        self.binarize = False
        self.use_log_energy = use_log_energy
        if n_speakers > 1 and speaker_encoder is None:
            self.speaker_emb = torch.nn.Embedding(n_speakers, symbols_embedding_dim)
        else:
            self.speaker_emb = None
        # The speaker used when none is given (ours; the model sets it from `default_speaker`): None -> an error.
        self.default_speaker: int | None = None
        self.min_token_duration = min_token_duration
        self.max_token_duration = max_token_duration
        self.pitch_emb = torch.nn.Conv1d(
            1,
            symbols_embedding_dim,
            kernel_size=pitch_embedding_kernel_size,
            padding=(pitch_embedding_kernel_size - 1) // 2,
        )
        if self.energy_predictor is not None:
            self.energy_emb = torch.nn.Conv1d(
                1,
                symbols_embedding_dim,
                kernel_size=energy_embedding_kernel_size,
                padding=(energy_embedding_kernel_size - 1) // 2,
            )
        # Pitch statistics of the training data, kept for convenience (NeMo's buffers).
        self.register_buffer("pitch_mean", torch.zeros(1))
        self.register_buffer("pitch_std", torch.zeros(1))
        self.proj = torch.nn.Linear(self.decoder.d_model, n_mel_channels, bias=True)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return forward_input_types()

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "spect": NeuralType(("B", "D", "T_spec"), MelSpectrogramType()),
            "num_frames": NeuralType(("B",), TokenDurationType()),
            "durs_predicted": NeuralType(("B", "T_text"), TokenDurationType()),
            "log_durs_predicted": NeuralType(("B", "T_text"), TokenLogDurationType()),
            "pitch_predicted": NeuralType(("B", "T_text"), RegressionValuesType()),
            "attn_soft": NeuralType(("B", "S", "T_spec", "T_text"), ProbsType()),
            "attn_logprob": NeuralType(("B", "S", "T_spec", "T_text"), LogprobsType()),
            "attn_hard": NeuralType(("B", "S", "T_spec", "T_text"), ProbsType()),
            "attn_hard_dur": NeuralType(("B", "T_text"), TokenDurationType()),
            "pitch": NeuralType(("B", "T_audio"), RegressionValuesType()),
            "energy_pred": NeuralType(("B", "T_text"), RegressionValuesType()),
            "energy_tgt": NeuralType(("B", "T_audio"), RegressionValuesType()),
        }

    def get_speaker_embedding(
        self,
        batch_size: int,
        speaker: torch.Tensor | None,
        reference_spec: torch.Tensor | None,
        reference_spec_lens: torch.Tensor | None,
    ) -> torch.Tensor | None:
        """(B, 1, D) speaker embedding, or None for a single-speaker model."""
        if self.speaker_encoder is not None:
            embedding = self.speaker_encoder(batch_size, speaker, reference_spec, reference_spec_lens)
            return embedding.unsqueeze(1)
        if self.speaker_emb is not None:
            if speaker is None and self.default_speaker is not None:
                speaker = torch.full(
                    (batch_size,),
                    self.default_speaker,
                    dtype=torch.long,
                    device=self.speaker_emb.weight.device,
                )
            if speaker is None:
                raise ValueError(
                    f"This FastPitch has {self.speaker_emb.num_embeddings} speakers (n_speakers) but got "
                    "speaker=None. Pass speaker ids, e.g. speaker=torch.tensor([0])."
                )
            return self.speaker_emb(speaker).unsqueeze(1)
        return None

    def _encode(
        self,
        text: torch.Tensor,
        speaker: torch.Tensor | None,
        reference_spec: torch.Tensor | None,
        reference_spec_lens: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Speaker embedding, encoder output and predicted durations, shared by :meth:`forward` and :meth:`infer`.

        Args:
            text: (B, T_text) token ids.
            speaker: (B,) speaker ids, or None.
            reference_spec, reference_spec_lens: reference audio for a speaker encoder, or None.

        Returns:
            spk_emb (B, 1, D) or None, enc_out (B, T_text, D), enc_mask (B, T_text, 1) in enc_out's dtype,
            log_durs_predicted (B, T_text) and durs_predicted (B, T_text).
        """
        spk_emb = self.get_speaker_embedding(text.shape[0], speaker, reference_spec, reference_spec_lens)
        enc_out, enc_mask = self.encoder(input=text, conditioning=spk_emb)
        enc_mask = enc_mask.to(enc_out.dtype)
        log_durs_predicted = self.duration_predictor(enc_out, enc_mask, conditioning=spk_emb)
        durs_predicted = log_to_duration(
            log_dur=log_durs_predicted,
            min_dur=self.min_token_duration,
            max_dur=self.max_token_duration,
            mask=enc_mask,
        )
        return spk_emb, enc_out, enc_mask, log_durs_predicted, durs_predicted

    @typecheck()
    def forward(
        self,
        *,
        text: torch.Tensor,
        durs: torch.Tensor | None = None,
        pitch: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
        speaker: torch.Tensor | None = None,
        pace: float = 1.0,
        spec: torch.Tensor | None = None,
        attn_prior: torch.Tensor | None = None,
        mel_lens: torch.Tensor | None = None,
        input_lens: torch.Tensor | None = None,
        reference_spec: torch.Tensor | None = None,
        reference_spec_lens: torch.Tensor | None = None,
    ) -> tuple:
        """Run FastPitch for training (targets given) or inference (predictions used).

        Args:
            text: (B, T_text) token ids.
            durs: (B, T_text) target durations (no learned alignment), or None.
            pitch: (B, T_spec) per-frame (or (B, T_text) per-token) normalised pitch target, or None.
            energy: (B, T_spec) per-frame energy target, or None.
            speaker: (B,) speaker ids.
            pace: speaking rate (durations are divided by it).
            spec: (B, n_mels, T_spec) target mels; with an aligner, durations come from the alignment.
            attn_prior: (B, T_spec, T_text) alignment prior.
            mel_lens, input_lens: (B,) lengths of ``spec`` and ``text``.
            reference_spec, reference_spec_lens: reference audio for a speaker encoder.

        Returns:
            spect (B, n_mels, T_out), num_frames (B,), durs_predicted, log_durs_predicted, pitch_predicted
            (B, T_text), attn_soft, attn_logprob, attn_hard (B, 1, T_spec, T_text) or None, attn_hard_dur
            (B, T_text) or None, pitch (the per-token target, or None), energy_pred (B, T_text) or None,
            energy_tgt or None.
        """
        if not self.learn_alignment and self.training and (durs is None or pitch is None):
            raise ValueError(
                "Training FastPitch without learned alignment needs durs= and pitch= targets; got "
                f"durs={'None' if durs is None else 'tensor'}, pitch={'None' if pitch is None else 'tensor'}. "
                "Add durations and pitch to the dataset, or set learn_alignment: true."
            )
        spk_emb, enc_out, enc_mask, log_durs_predicted, durs_predicted = self._encode(
            text, speaker, reference_spec, reference_spec_lens
        )

        attn_soft, attn_hard, attn_hard_dur, attn_logprob = None, None, None, None
        if self.learn_alignment and spec is not None:
            text_emb = self.encoder.word_emb(text)
            attn_soft, attn_logprob = self.aligner(
                spec, text_emb.transpose(1, 2), enc_mask == 0, attn_prior, conditioning=spk_emb
            )
            attn_hard = binarize_attention_parallel(attn_soft, input_lens, mel_lens)
            attn_hard_dur = attn_hard.sum(2)[:, 0, :]

        pitch_predicted = self.pitch_predictor(enc_out, enc_mask, conditioning=spk_emb)
        if pitch is not None:
            if self.learn_alignment and pitch.shape[-1] != pitch_predicted.shape[-1]:
                # Training pitch is per spectrogram frame; average it over each token's frames.
                pitch = average_features(pitch.unsqueeze(1), attn_hard_dur).squeeze(1)
            elif not self.learn_alignment:
                pitch = average_features(pitch.unsqueeze(1), durs_predicted).squeeze(1)
            pitch_emb = self.pitch_emb(pitch.unsqueeze(1))
        else:
            pitch_emb = self.pitch_emb(pitch_predicted.unsqueeze(1))
        enc_out = enc_out + pitch_emb.transpose(1, 2)

        energy_pred, energy_tgt = None, None
        if self.energy_predictor is not None:
            energy_pred = self.energy_predictor(enc_out, enc_mask, conditioning=spk_emb).squeeze(-1)
            if energy is not None:
                energy_durs = attn_hard_dur if self.learn_alignment else durs_predicted
                energy_tgt = average_features(energy.unsqueeze(1), energy_durs)
                if self.use_log_energy:
                    energy_tgt = torch.log(1.0 + energy_tgt)
                energy_emb = self.energy_emb(energy_tgt)
                energy_tgt = energy_tgt.squeeze(1)
            else:
                energy_emb = self.energy_emb(energy_pred.unsqueeze(1))
            enc_out = enc_out + energy_emb.transpose(1, 2)

        if self.learn_alignment and spec is not None:
            len_regulated, dec_lens = regulate_len(attn_hard_dur, enc_out, pace)
        elif spec is None and durs is not None:
            len_regulated, dec_lens = regulate_len(durs, enc_out, pace)
        elif spec is None:
            len_regulated, dec_lens = regulate_len(durs_predicted, enc_out, pace)
            if not torch.jit.is_tracing() and len_regulated.shape[1] == 0:
                raise ValueError(
                    f"FastPitch predicted no frames for this input: every token's duration rounds to 0 at "
                    f"pace={pace}. The duration predictor is untrained or the pace is too high; train longer "
                    "or lower pace."
                )
        else:
            raise ValueError(
                "FastPitch got spec= but has no aligner (learn_alignment is false). Pass durs= and pitch= "
                "targets without spec=, or train with learn_alignment: true."
            )

        dec_out, _ = self.decoder(input=len_regulated, seq_lens=dec_lens, conditioning=spk_emb)
        spect = self.proj(dec_out).transpose(1, 2)
        return (
            spect,
            dec_lens,
            durs_predicted,
            log_durs_predicted,
            pitch_predicted,
            attn_soft,
            attn_logprob,
            attn_hard,
            attn_hard_dur,
            pitch,
            energy_pred,
            energy_tgt,
        )

    def infer(
        self,
        *,
        text: torch.Tensor,
        pitch: torch.Tensor | None = None,
        speaker: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
        pace: float | torch.Tensor = 1.0,
        volume: torch.Tensor | None = None,
        reference_spec: torch.Tensor | None = None,
        reference_spec_lens: torch.Tensor | None = None,
    ) -> tuple:
        """Inference as exported: ``pitch`` (B, T_text) is added to the predicted pitch, ``pace`` may be per
        token (B, T_text), ``volume`` (B, T_text) is stretched to frames.

        Returns:
            spect (B, n_mels, T_out) float32, num_frames (B,), durs_predicted, log_durs_predicted,
            pitch_predicted (B, T_text), volume_extended (B, T_out) or None.
        """
        spk_emb, enc_out, enc_mask, log_durs_predicted, durs_predicted = self._encode(
            text, speaker, reference_spec, reference_spec_lens
        )
        pitch_predicted = self.pitch_predictor(enc_out, enc_mask, conditioning=spk_emb)
        if pitch is not None:
            pitch_predicted = pitch_predicted + pitch
        enc_out = enc_out + self.pitch_emb(pitch_predicted.unsqueeze(1)).transpose(1, 2)
        if self.energy_predictor is not None:
            if energy is not None:
                if energy.shape[-1] != text.shape[-1]:
                    raise ValueError(
                        f"infer(energy=...) needs one value per token: got {energy.shape[-1]} values for "
                        f"{text.shape[-1]} tokens. Pass energy of shape (B, 1, T_text)."
                    )
                energy_emb = self.energy_emb(energy)
            else:
                energy_pred = self.energy_predictor(enc_out, enc_mask, conditioning=spk_emb).squeeze(-1)
                energy_emb = self.energy_emb(energy_pred.unsqueeze(1))
            enc_out = enc_out + energy_emb.transpose(1, 2)
        len_regulated, dec_lens = regulate_len(durs_predicted, enc_out, pace)
        volume_extended = None
        if volume is not None:
            volume_extended, _ = regulate_len(durs_predicted, volume.unsqueeze(-1), pace)
            volume_extended = volume_extended.squeeze(-1).float()
        dec_out, _ = self.decoder(input=len_regulated, seq_lens=dec_lens, conditioning=spk_emb)
        spect = self.proj(dec_out).transpose(1, 2)
        return (
            spect.to(torch.float),
            dec_lens,
            durs_predicted,
            log_durs_predicted,
            pitch_predicted,
            volume_extended,
        )
