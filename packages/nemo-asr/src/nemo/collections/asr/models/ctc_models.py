"""EncDecCTCModel: audio -> mel features -> encoder -> per-frame character log-probs, trained with CTC.

The NeMo 1.23 model of the same name: same config keys (``preprocessor``, ``spec_augment``, ``encoder``,
``decoder``, ``decoding``, ``labels``, ``train_ds``/``validation_ds``/``test_ds``, ``optim``), same
``forward``/``transcribe``/``change_vocabulary`` signatures, and the same state-dict keys, so NeMo's
``.nemo`` files restore here and ours restore in NeMo.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from nemo.collections.asr.losses.ctc import CTCLoss
from nemo.collections.asr.models.asr_model import ASRModel, ExportableEncDecModel
from nemo.collections.asr.parts.mixins.interctc_mixin import InterCTCMixin
from nemo.collections.asr.parts.mixins.mixins import ASRModuleMixin
from nemo.collections.asr.parts.mixins.transcription import AudioInput, run_transcription
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecoding
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LabelsType, LengthsType, LogprobsType, NeuralType
from nemo.utils import logging
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

# Files the decoding reads, packed with the model (see EncDecCTCModel._register_decoding_files).
DECODING_FILE_KEYS = ("decoding.beam.kenlm_path", "decoding.beam.flashlight_cfg.lexicon_path")

__all__ = ["EncDecCTCModel"]


class EncDecCTCModel(ASRModel, ExportableEncDecModel, ASRModuleMixin, InterCTCMixin):
    """Encoder-decoder CTC model over characters (``cfg.labels``).

    With an ``interctc`` config section (``loss_weights``, ``apply_at_layers``) the loss also includes CTC
    losses of intermediate encoder layers through the same decoder (see :class:`InterCTCMixin`).
    """

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        with open_dict(self._cfg):
            vocabulary = self._cfg.decoder.get("vocabulary") or self._cfg.get("labels")
            if "feat_in" not in self._cfg.decoder or (
                not self._cfg.decoder.feat_in and hasattr(self.encoder, "_feat_out")
            ):
                self._cfg.decoder.feat_in = self.encoder._feat_out
            if self._cfg.decoder.get("num_classes", -1) < 1 and vocabulary is not None:
                logging.info(
                    f"num_classes of ConvASRDecoder is set to the vocabulary size: {len(vocabulary)}"
                )
                self._cfg.decoder.num_classes = len(vocabulary)
        self.decoder = self.from_config_dict(self._cfg.decoder)
        self.loss = CTCLoss(
            num_classes=self.decoder.num_classes_with_blank - 1,
            zero_infinity=True,
            reduction=self._cfg.get("ctc_reduction", "mean_batch"),
        )
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment else None
        self._setup_decoding(self._cfg.get("decoding"))
        self.setup_interctc(decoder_name="decoder", loss_name="loss", wer_name="wer")

    # ----------------------------------------------------------------------------------------- decoding
    def _setup_decoding(self, decoding_cfg: DictConfig | None) -> None:
        if decoding_cfg is None:
            decoding_cfg = OmegaConf.create({"strategy": "greedy"})
        # A rejected config (bad key, missing LM file) leaves the config, the packed files and the working
        # decoder as they were.
        previous_cfg = self._cfg.get("decoding")
        previous_artifacts = dict(getattr(self, "artifacts", None) or {})
        try:
            with open_dict(self._cfg):
                self._cfg.decoding = decoding_cfg
                self._register_decoding_files()
            decoding = self._make_decoding(self._cfg.decoding)
        except Exception:
            with open_dict(self._cfg):
                self._cfg.decoding = previous_cfg
            self.artifacts = previous_artifacts
            raise
        self.decoding = decoding
        self.wer = self._make_wer()
        # As NeMo: the decoding config's temperature divides the decoder's logits before the log-softmax.
        self.decoder.temperature = float(self._cfg.decoding.get("temperature", 1.0))

    def _make_decoding(self, decoding_cfg: DictConfig) -> CTCDecoding:
        """The decoding object for ``decoding_cfg`` over this model's labels (BPE models: their tokenizer)."""
        return CTCDecoding(decoding_cfg, vocabulary=list(self.decoder.vocabulary))

    def _register_decoding_files(self) -> None:
        """Pack the beam search's LM and lexicon into saved ``.nemo`` archives, so a restored model decodes alike.

        ``decoding.beam.kenlm_path`` and ``decoding.beam.flashlight_cfg.lexicon_path`` become artifacts (the
        config then holds their absolute paths; ``save_to`` stores them as ``nemo:`` members). NeMo 1.23
        leaves these files outside the archive; its configs, which name them, restore here unchanged.
        """
        for key in DECODING_FILE_KEYS:
            if getattr(self, "artifacts", None):
                self.artifacts.pop(key, None)
            path = OmegaConf.select(self._cfg, key)
            if path:
                OmegaConf.update(self._cfg, key, self.register_artifact(key, str(path)))

    def change_decoding_strategy(self, decoding_cfg: DictConfig) -> None:
        """Switch decoding (e.g. ``{"strategy": "beam", "beam": {"beam_size": 8}}``) without retraining."""
        self._setup_decoding(decoding_cfg)
        logging.info(f"Changed decoding strategy to \n{OmegaConf.to_yaml(self._cfg.decoding)}")

    def change_vocabulary(self, new_vocabulary: list[str], decoding_cfg: DictConfig | None = None) -> None:
        """Replace the output vocabulary: a new decoder head (fresh weights) for fine-tuning on new labels.

        Args:
            new_vocabulary: characters of the new vocabulary, blank excluded.
            decoding_cfg: decoding config to use from now on (default: keep the current one).
        """
        if list(self.decoder.vocabulary) == list(new_vocabulary):
            logging.warning(f"Old {self.decoder.vocabulary} and new {new_vocabulary} vocabularies match.")
            return
        decoder_config = copy.deepcopy(self._cfg.decoder)
        with open_dict(decoder_config):
            decoder_config.vocabulary = ListConfig(list(new_vocabulary))
            decoder_config.num_classes = len(new_vocabulary)
        self.decoder = self.from_config_dict(decoder_config).to(self.device)
        self.loss = CTCLoss(
            num_classes=self.decoder.num_classes_with_blank - 1,
            zero_infinity=True,
            reduction=self._cfg.get("ctc_reduction", "mean_batch"),
        )
        with open_dict(self._cfg):
            self._cfg.decoder = decoder_config
            self._cfg.labels = ListConfig(list(new_vocabulary))
        self._set_dataset_labels(new_vocabulary)
        self._setup_decoding(decoding_cfg if decoding_cfg is not None else self._cfg.decoding)
        logging.info(f"Changed decoder to output {self.decoder.vocabulary} vocabulary.")

    # -------------------------------------------------------------------------------------------- model
    @property
    def input_types(self) -> dict[str, NeuralType]:
        """The audio ports of :class:`ASRModel` and an optional (B,) ``sample_id``, as in NeMo 1.23."""
        return {**super().input_types, "sample_id": NeuralType(("B",), LengthsType(), optional=True)}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "outputs": NeuralType(("B", "T", "D"), LogprobsType()),
            "encoded_lengths": NeuralType(("B",), LengthsType()),
            "greedy_predictions": NeuralType(("B", "T"), LabelsType()),
        }

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Audio (or precomputed features) to per-frame log-probabilities.

        Args:
            input_signal: (B, T) waveforms at ``cfg.sample_rate``.
            input_signal_length: (B,) valid samples per waveform.
            processed_signal: (B, D, T') features, instead of ``input_signal``.
            processed_signal_length: (B,) valid frames per feature sequence.

        Returns:
            log_probs: (B, T'', V+1) log-probabilities over the vocabulary and the blank (last index).
            encoded_len: (B,) valid encoder frames.
            greedy_predictions: (B, T'') argmax token per frame.
        """
        encoded, encoded_len = self._encode(
            input_signal, input_signal_length, processed_signal, processed_signal_length
        )
        log_probs = self.decoder(encoder_output=encoded)
        greedy_predictions = log_probs.argmax(dim=-1, keepdim=False)
        return log_probs, encoded_len, greedy_predictions

    # ----------------------------------------------------------------------------------------- training
    def _ctc_pass(
        self, batch, compute_wer: bool, log_prefix: str, evaluating: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor, ...] | None]:
        """Loss (with InterCTC terms when configured), InterCTC metrics and ``(wer, errors, words)`` of a batch.

        Args:
            batch: ``(audio (B, T), audio_len (B,), transcripts (B, U), transcripts_len (B,), ...)``.
            compute_wer: also decode and score the final layer (and the InterCTC layers).
            log_prefix: prefix of the InterCTC metric names (``""``, ``"val_"``, ``"test_"``).
            evaluating: add the InterCTC WER numerators/denominators for epoch-level aggregation.
        """
        signal, signal_len, transcript, transcript_len = batch[:4]
        with self.interctc_capture():
            log_probs, encoded_len, _ = self.forward(input_signal=signal, input_signal_length=signal_len)
            loss = self.loss(
                log_probs=log_probs,
                targets=transcript,
                input_lengths=encoded_len,
                target_lengths=transcript_len,
            )
            loss, metrics = self.add_interctc_losses(
                loss,
                transcript,
                transcript_len,
                compute_wer=compute_wer,
                log_wer_num_denom=evaluating,
                log_prefix=log_prefix,
            )
        wer_parts = (
            self._batch_wer(log_probs, encoded_len, transcript, transcript_len) if compute_wer else None
        )
        return loss, metrics, wer_parts

    def _loss_and_wer(
        self, batch, compute_wer: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        loss, _, wer_parts = self._ctc_pass(batch, compute_wer, log_prefix="", evaluating=False)
        return (loss, *(wer_parts or (None, None, None)))

    def training_step(self, batch, batch_nb):
        """``train_loss``, ``learning_rate``, ``global_step``, ``training_batch_wer`` (every
        ``log_every_n_steps``) and, with InterCTC, ``final_loss``, ``inter_ctc_loss_l{i}``, ``inter_wer_l{i}``."""
        log_every_n_steps = max(self._trainer.log_every_n_steps if self._trainer else 1, 1)
        compute_wer = (batch_nb + 1) % log_every_n_steps == 0
        loss, metrics, wer_parts = self._ctc_pass(batch, compute_wer, log_prefix="", evaluating=False)
        self.log_dict(
            {
                **metrics,
                "train_loss": loss,
                "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
                "global_step": float(self.trainer.global_step),
            },
            on_step=True,
        )
        if wer_parts is not None:
            self.log("training_batch_wer", wer_parts[0], prog_bar=True, on_step=True)
        return {"loss": loss}

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, ``{prefix}_wer_num``, ``{prefix}_wer_denom``, ``{prefix}_wer`` and the InterCTC
        step metrics of one batch."""
        loss, metrics, (wer, wer_num, wer_denom) = self._ctc_pass(
            batch, compute_wer=True, log_prefix=f"{prefix}_", evaluating=True
        )
        return {
            **metrics,
            f"{prefix}_loss": loss,
            f"{prefix}_wer_num": wer_num,
            f"{prefix}_wer_denom": wer_denom,
            f"{prefix}_wer": wer,
        }

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        metrics = super().multi_validation_epoch_end(outputs, dataloader_idx)
        self.finalize_interctc_metrics(metrics, outputs, prefix="val_")
        return metrics

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        metrics = super().multi_test_epoch_end(outputs, dataloader_idx)
        self.finalize_interctc_metrics(metrics, outputs, prefix="test_")
        return metrics

    # ------------------------------------------------------------------------------------------ inference
    def transcribe(
        self,
        paths2audio_files: Sequence[AudioInput] | AudioInput,
        batch_size: int = 4,
        logprobs: bool = False,
        return_hypotheses: bool = False,
        num_workers: int = 0,
        channel_selector=None,
        augmentor=None,
        verbose: bool = True,
    ) -> list:
        """Transcribe audio files or in-memory waveforms.

        Args:
            paths2audio_files: file paths, or 1-D float waveforms at ``cfg.sample_rate`` (numpy or torch).
            batch_size: inputs per forward pass.
            logprobs: return each input's (T, V+1) log-probabilities instead of text.
            return_hypotheses: return ``Hypothesis`` objects (text, token ids, score) instead of strings.
            num_workers: DataLoader workers reading audio.
            channel_selector: which channel(s) of multi-channel files to use (int, list, or "average").
            augmentor: not supported here; pass None.
            verbose: show a progress bar.

        Returns:
            One result per input, in input order.
        """
        if augmentor is not None:
            raise ValueError("transcribe(augmentor=...) is not supported; augment the audio before calling.")

        def decode_batch(batch) -> list:
            log_probs, encoded_len, _ = self.forward(
                input_signal=batch.audio, input_signal_length=batch.audio_lengths
            )
            if logprobs:
                return [log_probs[row, : encoded_len[row]].cpu() for row in range(log_probs.shape[0])]
            hypotheses, _ = self.decoding.ctc_decoder_predictions_tensor(
                log_probs, decoder_lengths=encoded_len, return_hypotheses=return_hypotheses
            )
            return hypotheses

        return run_transcription(
            self,
            paths2audio_files,
            decode_batch,
            sample_rate=self._cfg.get("sample_rate", 16000),
            batch_size=batch_size,
            num_workers=num_workers,
            channel_selector=channel_selector,
            verbose=verbose,
        )
