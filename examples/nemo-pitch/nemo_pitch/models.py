"""PitchEstimatorModel: frame-level pitch (F0) and voicing of speech, a CREPE-like classifier over cents bins.

Read top to bottom: the config builds the features (a log-power spectrogram on a 10 ms grid), the network (a
small convolution stack) and the pitch bins (``pitch.bin_cents`` apart from ``pitch.fmin_hz`` to
``pitch.fmax_hz``); ``forward`` returns per-frame bin logits and a voicing logit; the loss is a cross-entropy
against Gaussian-blurred bin targets on reference-voiced frames plus a binary cross-entropy for voicing;
``decode`` turns logits into Hz by a local weighted average around the best bin. Validation logs raw pitch
accuracy (``val_rpa``), raw chroma accuracy (``val_rca``), voicing decision accuracy (``val_vda``) and overall
accuracy (``val_oa``) over the whole validation set (``nemo_pitch.metrics``).
"""

from __future__ import annotations

import torch
from nemo.core.classes import ModelPT, PretrainedModelInfo, typecheck
from nemo.core.neural_types import AudioSignal, LengthsType, LogitsType, NeuralType
from omegaconf import DictConfig
from pytorch_lightning import Trainer

from nemo_pitch.cents import (
    bin_centres,
    cents_to_hz,
    decode_cents,
    gaussian_targets,
    hz_to_cents,
    number_of_bins,
)
from nemo_pitch.data import pitch_dataloader
from nemo_pitch.features import LogSpectrogram
from nemo_pitch.metrics import PitchCounts, count_pitch_frames
from nemo_pitch.network import ConvPitchNetwork

__all__ = ["PitchEstimatorModel"]


class PitchEstimatorModel(ModelPT):
    """Pitch and voicing of every 10 ms frame of mono speech.

    Config keys (``cfg``): ``sample_rate``, ``hop_length``; ``features`` (``n_fft``, ``max_freq_hz``); ``pitch``
    (``fmin_hz``, ``fmax_hz``, ``bin_cents``, ``target_sigma_cents``, ``decode_window``, ``voicing_threshold``);
    ``network`` (``hidden``, ``num_layers``, ``kernel_size``, ``dropout``); ``voicing_loss_weight``; ``train_ds``,
    ``validation_ds``, ``test_ds`` (see ``nemo_pitch.data.pitch_dataloader``); ``optim``.
    """

    def __init__(self, cfg: DictConfig, trainer: Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        pitch = self.cfg.pitch
        self.features = LogSpectrogram(
            sample_rate=int(self.cfg.sample_rate),
            n_fft=int(self.cfg.features.n_fft),
            hop_length=int(self.cfg.hop_length),
            max_freq_hz=float(self.cfg.features.max_freq_hz),
        )
        n_bins = number_of_bins(float(pitch.fmin_hz), float(pitch.fmax_hz), float(pitch.bin_cents))
        self.register_buffer(
            "centres", bin_centres(float(pitch.fmin_hz), n_bins, float(pitch.bin_cents)), persistent=False
        )
        self.network = ConvPitchNetwork(
            in_features=self.features.n_bins,
            hidden=int(self.cfg.network.hidden),
            num_layers=int(self.cfg.network.num_layers),
            kernel_size=int(self.cfg.network.kernel_size),
            dropout=float(self.cfg.network.dropout),
            n_bins=n_bins,
        )

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """The plugin's pretrained entry (a ``.nemo`` looked up in ``$NEMO_CACHE_DIR``; nothing is downloaded)."""
        from nemo_pitch.plugin import nemo_register_pretrained_models

        return nemo_register_pretrained_models()

    # ------------------------------------------------------------------------------------------ forward
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=int(self.cfg.sample_rate))),
            "input_signal_length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "pitch_logits": NeuralType(("B", "T", "D"), LogitsType()),
            "voicing_logits": NeuralType(("B", "T"), LogitsType()),
            "frame_lengths": NeuralType(tuple("B"), LengthsType()),
        }

    @typecheck()
    def forward(
        self, input_signal: torch.Tensor, input_signal_length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score every frame.

        Args:
            input_signal: (B, T) waveforms at ``cfg.sample_rate``.
            input_signal_length: (B,) lengths in samples.

        Returns:
            (B, F, N) pitch-bin logits, (B, F) voicing logits and (B,) frame counts ``1 + length // hop_length``.
        """
        features, lengths = self.features(input_signal=input_signal, length=input_signal_length)
        pitch_logits, voicing_logits = self.network(features=features)
        return pitch_logits, voicing_logits, lengths

    def input_example(
        self, max_batch: int | None = None, max_dim: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """A (B, T) noise batch and its (B,) lengths (B = min(2, max_batch), T = min(8000, max_dim))."""
        batch, samples = min(2, max_batch or 2), min(8000, max_dim or 8000)
        generator = torch.Generator().manual_seed(0)
        signal = 0.1 * torch.randn(batch, samples, generator=generator)
        return signal.to(self.device), torch.full((batch,), samples, dtype=torch.long, device=self.device)

    # ----------------------------------------------------------------------------------------- decoding
    def decode(
        self, pitch_logits: torch.Tensor, voicing_logits: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pitch in Hz of every frame and the voicing decision.

        Args:
            pitch_logits: (B, F, N) bin logits.
            voicing_logits: (B, F) voicing logits.

        Returns:
            (B, F) pitch in Hz (given for every frame, voiced or not) and (B, F) bool, voiced where
            ``sigmoid(voicing_logits) > pitch.voicing_threshold``.
        """
        cents = decode_cents(pitch_logits, self.centres, int(self.cfg.pitch.decode_window))
        voiced = torch.sigmoid(voicing_logits.float()) > float(self.cfg.pitch.voicing_threshold)
        return cents_to_hz(cents), voiced

    @torch.no_grad()
    def estimate_f0(
        self, input_signal: torch.Tensor, input_signal_length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """F0 track of each waveform, the way a user calls the model.

        Args:
            input_signal: (B, T) waveforms at ``cfg.sample_rate``.
            input_signal_length: (B,) lengths in samples.

        Returns:
            (B, F) F0 in Hz, 0 where unvoiced or past a clip's end, and (B,) frame counts.
        """
        pitch_logits, voicing_logits, lengths = self(
            input_signal=input_signal, input_signal_length=input_signal_length
        )
        hz, voiced = self.decode(pitch_logits, voicing_logits)
        inside = torch.arange(hz.shape[1], device=hz.device) < lengths.unsqueeze(1)
        return torch.where(voiced & inside, hz, torch.zeros_like(hz)), lengths

    # --------------------------------------------------------------------------------------------- loss
    def compute_loss(
        self,
        pitch_logits: torch.Tensor,
        voicing_logits: torch.Tensor,
        lengths: torch.Tensor,
        reference_hz: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Blurred-target cross-entropy on reference-voiced frames plus weighted voicing cross-entropy.

        Args:
            pitch_logits: (B, F, N); voicing_logits: (B, F); lengths: (B,) frames per clip.
            reference_hz: (B, F) reference pitch, 0 where unvoiced or padded.

        Returns:
            The total loss, the pitch loss and the voicing loss (scalars).
        """
        if reference_hz.shape != voicing_logits.shape:
            raise ValueError(
                f"reference pitch has shape {tuple(reference_hz.shape)} but the model scored "
                f"{tuple(voicing_logits.shape)} frames; the tracks' hop must equal model.hop_length."
            )
        inside = torch.arange(reference_hz.shape[1], device=reference_hz.device) < lengths.unsqueeze(1)
        voiced = (reference_hz > 0) & inside
        if voiced.any():
            targets = gaussian_targets(
                hz_to_cents(reference_hz[voiced]), self.centres, float(self.cfg.pitch.target_sigma_cents)
            )
            log_probs = torch.log_softmax(pitch_logits[voiced].float(), dim=-1)
            pitch_loss = -(targets * log_probs).sum(dim=-1).mean()
        else:
            pitch_loss = pitch_logits.sum() * 0.0
        voicing_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            voicing_logits[inside].float(), voiced[inside].float()
        )
        return pitch_loss + float(self.cfg.voicing_loss_weight) * voicing_loss, pitch_loss, voicing_loss

    def count_frames(
        self,
        pitch_logits: torch.Tensor,
        voicing_logits: torch.Tensor,
        lengths: torch.Tensor,
        reference_hz: torch.Tensor,
    ) -> PitchCounts:
        """Decode and count the frames behind RPA, RCA, VDA and OA (``nemo_pitch.metrics``)."""
        hz, voiced = self.decode(pitch_logits.detach(), voicing_logits.detach())
        inside = torch.arange(hz.shape[1], device=hz.device) < lengths.unsqueeze(1)
        return count_pitch_frames(hz, voiced, reference_hz, inside)

    # ----------------------------------------------------------------------------------------- training
    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        audio, audio_lengths, reference_hz, _ = batch
        pitch_logits, voicing_logits, lengths = self(input_signal=audio, input_signal_length=audio_lengths)
        loss, pitch_loss, voicing_loss = self.compute_loss(
            pitch_logits, voicing_logits, lengths, reference_hz
        )
        counts = self.count_frames(pitch_logits, voicing_logits, lengths, reference_hz)
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_pitch_loss", pitch_loss)
        self.log("train_voicing_loss", voicing_loss)
        self.log("train_rpa", counts.raw_pitch_accuracy, prog_bar=True, batch_size=audio.shape[0])
        return loss

    def evaluation_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, object]:
        """Loss and frame counts of one validation or test batch."""
        audio, audio_lengths, reference_hz, _ = batch
        pitch_logits, voicing_logits, lengths = self(input_signal=audio, input_signal_length=audio_lengths)
        loss, _, _ = self.compute_loss(pitch_logits, voicing_logits, lengths, reference_hz)
        return {
            "loss": loss.detach(),
            "counts": self.count_frames(pitch_logits, voicing_logits, lengths, reference_hz),
        }

    def validation_step(
        self, batch: tuple[torch.Tensor, ...], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        outputs = self.validation_step_outputs  # one list per loader when there are several
        if outputs and isinstance(outputs[0], list):
            outputs = outputs[dataloader_idx]
        outputs.append(self.evaluation_step(batch))

    def test_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int, dataloader_idx: int = 0) -> None:
        outputs = self.test_step_outputs
        if outputs and isinstance(outputs[0], list):
            outputs = outputs[dataloader_idx]
        outputs.append(self.evaluation_step(batch))

    @staticmethod
    def reduce(outputs: list[dict[str, object]], prefix: str) -> dict[str, object]:
        """``{prefix + "loss": mean loss, "log": {loss, rpa, rca, vda, oa}}`` over all batches of one loader."""
        counts = sum((output["counts"] for output in outputs), PitchCounts())
        loss = torch.stack([output["loss"] for output in outputs]).mean()
        return {f"{prefix}loss": loss, "log": {f"{prefix}loss": loss, **counts.as_dict(prefix)}}

    def multi_validation_epoch_end(self, outputs: list, dataloader_idx: int = 0) -> dict[str, object]:
        return self.reduce(outputs, "val_")

    def multi_test_epoch_end(self, outputs: list, dataloader_idx: int = 0) -> dict[str, object]:
        return self.reduce(outputs, "test_")

    # --------------------------------------------------------------------------------------------- data
    def loader(self, cfg: DictConfig | None, section: str) -> torch.utils.data.DataLoader | None:
        """``pitch_dataloader`` for one data config, or None when it has no ``manifest_filepath`` (left unset)."""
        if cfg is None or cfg.get("manifest_filepath") is None:
            return None
        return pitch_dataloader(cfg, section, int(self.cfg.sample_rate), int(self.cfg.hop_length))

    def setup_training_data(self, train_data_config: DictConfig) -> None:
        self._train_dl = self.loader(train_data_config, "train_ds")

    def setup_validation_data(self, val_data_config: DictConfig) -> None:
        self._validation_dl = self.loader(val_data_config, "validation_ds")

    def setup_test_data(self, test_data_config: DictConfig) -> None:
        self._test_dl = self.loader(test_data_config, "test_ds")
