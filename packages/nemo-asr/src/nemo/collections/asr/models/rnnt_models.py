"""EncDecRNNTModel: audio -> encoder -> transducer (prediction network + joint) over characters.

NeMo 1.23's model of the same name: config keys ``preprocessor``, ``spec_augment``, ``encoder``, ``decoder``
(``RNNTDecoder``), ``joint`` (``RNNTJoint`` with ``jointnet``), ``model_defaults``, ``loss``, ``decoding``,
``labels``; the same state-dict keys; greedy batch decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from nemo.collections.asr.losses.rnnt import RNNTLoss
from nemo.collections.asr.models.asr_model import ASRModel, ExportableEncDecModel
from nemo.collections.asr.parts.mixins.mixins import ASRModuleMixin
from nemo.collections.asr.parts.mixins.transcription import AudioInput, run_transcription
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AcousticEncodedRepresentation, LengthsType, NeuralType
from nemo.utils import logging
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["EncDecRNNTModel"]


class EncDecRNNTModel(ASRModel, ASRModuleMixin, ExportableEncDecModel):
    """Encoder + RNN-T decoder/joint model over characters (``cfg.labels``)."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        self._build_transducer(self._output_vocabulary())
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment else None
        self._setup_decoding(self._cfg.get("decoding"))

    def _output_vocabulary(self) -> list[str]:
        return list(self._cfg.labels)

    def _build_transducer(self, vocabulary: list[str]) -> None:
        """Prediction network, joint and loss for ``vocabulary`` (blank excluded); fresh weights."""
        with open_dict(self._cfg):
            self._cfg.decoder.vocab_size = len(vocabulary)
            self._cfg.joint.num_classes = len(vocabulary)
            self._cfg.joint.vocabulary = ListConfig(list(vocabulary))
            defaults = self._cfg.get("model_defaults") or {}
            jointnet = self._cfg.joint.jointnet
            jointnet.encoder_hidden = defaults.get("enc_hidden", getattr(self.encoder, "_feat_out", None))
            jointnet.pred_hidden = defaults.get("pred_hidden", self._cfg.decoder.prednet.pred_hidden)
        self.decoder = self.from_config_dict(self._cfg.decoder)
        self.joint = self.from_config_dict(self._cfg.joint)
        self.loss = self._build_loss()

    def change_vocabulary(self, new_vocabulary: list[str], decoding_cfg: DictConfig | None = None) -> None:
        """Replace the output vocabulary: new prediction network and joint (fresh weights) for fine-tuning.

        Args:
            new_vocabulary: characters of the new vocabulary, blank excluded.
            decoding_cfg: decoding config to use from now on (default: keep the current one).
        """
        if list(self._cfg.joint.vocabulary) == list(new_vocabulary):
            logging.warning(
                f"Old {list(self._cfg.joint.vocabulary)} and new vocabularies match; nothing changed."
            )
            return
        with open_dict(self._cfg):
            if "labels" in self._cfg:
                self._cfg.labels = ListConfig(list(new_vocabulary))
        self._set_dataset_labels(new_vocabulary)
        device = next(self.parameters()).device
        self._build_transducer(list(new_vocabulary))
        self.decoder.to(device)
        self.joint.to(device)
        self._setup_decoding(decoding_cfg if decoding_cfg is not None else self._cfg.decoding)
        logging.info(f"Changed the transducer to output {len(new_vocabulary)} units.")

    def _build_loss(self) -> RNNTLoss:
        loss_cfg = self._cfg.get("loss") or {}
        loss_name = loss_cfg.get("loss_name", "default")
        kwargs_key = "warprnnt_numba_kwargs" if loss_name == "default" else f"{loss_name}_kwargs"
        loss_kwargs = loss_cfg.get(kwargs_key)
        return RNNTLoss(
            num_classes=self.joint.num_classes_with_blank - 1,
            loss_name=loss_name,
            loss_kwargs=OmegaConf.to_container(loss_kwargs) if loss_kwargs is not None else None,
            reduction=self._cfg.get("rnnt_reduction", "mean_batch"),
        )

    # ----------------------------------------------------------------------------------------- decoding
    def _make_decoding(self, decoding_cfg: DictConfig) -> RNNTDecoding:
        return RNNTDecoding(
            decoding_cfg, decoder=self.decoder, joint=self.joint, vocabulary=self._output_vocabulary()
        )

    def _setup_decoding(self, decoding_cfg: DictConfig | None) -> None:
        if decoding_cfg is None:
            decoding_cfg = OmegaConf.create({"strategy": "greedy_batch", "greedy": {"max_symbols": 10}})
        # Build first: a rejected config leaves both the config and the working decoder as they were.
        view = OmegaConf.create(decoding_cfg)
        decoding = self._make_decoding(view)
        # As NeMo: the decoding config's temperature divides the joint's logits; fused_batch_size (when set, and
        # -1 means "keep") replaces the fused loss/WER sub-batch size.
        fused_batch_size = view.get("fused_batch_size", None)
        if fused_batch_size is not None and fused_batch_size != -1:
            self.joint.set_fused_batch_size(fused_batch_size)
        self.joint.temperature = float(view.get("temperature", 1.0))
        with open_dict(self._cfg):
            self._cfg.decoding = decoding_cfg
        self.decoding = decoding
        self.wer = self._make_wer()
        if self.joint.fuse_loss_wer:
            self.joint.set_loss(self.loss)
            self.joint.set_wer(self.wer)

    def change_decoding_strategy(self, decoding_cfg: DictConfig) -> None:
        """Switch decoding settings (e.g. ``greedy.max_symbols``) without retraining."""
        self._setup_decoding(decoding_cfg)

    # -------------------------------------------------------------------------------------------- model
    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_lengths": NeuralType(("B",), LengthsType()),
        }

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (or features) to encoder outputs; the transducer runs in the training step or decoding.

        Returns:
            encoded: (B, D, T') encoder features.
            encoded_len: (B,) valid frames.
        """
        return self._encode(input_signal, input_signal_length, processed_signal, processed_signal_length)

    def _loss_and_wer(
        self, batch, compute_wer: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Transducer loss of a batch and, when ``compute_wer``, its WER.

        With ``joint.fuse_loss_wer`` the joint computes both over sub-batches of ``joint.fused_batch_size``
        (NeMo's memory-saving path); otherwise over the whole batch.

        Returns:
            (loss, wer, wer_num, wer_denom); the last three are None when ``compute_wer`` is False.
        """
        signal, signal_len, transcript, transcript_len = batch[:4]
        encoded, encoded_len = self.forward(input_signal=signal, input_signal_length=signal_len)
        return self._transducer_loss_and_wer(encoded, encoded_len, transcript, transcript_len, compute_wer)

    def _transducer_loss_and_wer(
        self,
        encoded: torch.Tensor,
        encoded_len: torch.Tensor,
        transcript: torch.Tensor,
        transcript_len: torch.Tensor,
        compute_wer: bool,
        compute_loss: bool = True,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Transducer loss and WER of encoder outputs ``encoded`` (B, D, T) against ``transcript`` (B, U).

        Returns:
            (loss, wer, wer_num, wer_denom); loss is None without ``compute_loss``, the WER terms None without
            ``compute_wer``.
        """
        decoder_outputs = None
        if compute_loss:
            decoder_outputs, _, _ = self.decoder(targets=transcript, target_length=transcript_len)
        if self.joint.fuse_loss_wer:
            return self.joint(
                encoder_outputs=encoded,
                decoder_outputs=decoder_outputs,
                encoder_lengths=encoded_len,
                transcripts=transcript,
                transcript_lengths=transcript_len,
                compute_wer=compute_wer,
            )
        loss = None
        if compute_loss:
            joint = self.joint(encoder_outputs=encoded, decoder_outputs=decoder_outputs)
            loss = self.loss(
                log_probs=joint, targets=transcript, input_lengths=encoded_len, target_lengths=transcript_len
            )
        if not compute_wer:
            return loss, None, None, None
        return (loss, *self._batch_wer(encoded, encoded_len, transcript, transcript_len))

    # ------------------------------------------------------------------------------------------ inference
    def transcribe(
        self,
        paths2audio_files: Sequence[AudioInput] | AudioInput,
        batch_size: int = 4,
        return_hypotheses: bool = False,
        partial_hypothesis: list | None = None,
        num_workers: int = 0,
        channel_selector=None,
        augmentor=None,
        verbose: bool = True,
    ) -> tuple[list, list | None]:
        """Transcribe audio files or in-memory waveforms with greedy batch decoding.

        Returns:
            (best hypotheses, all hypotheses) as NeMo 1.23's RNN-T models do; greedy decoding has one
            hypothesis per input, so the second list repeats the first.
        """
        if augmentor is not None or partial_hypothesis is not None:
            raise ValueError("transcribe() here takes neither augmentor nor partial_hypothesis; pass None.")

        def decode_batch(batch) -> list:
            encoded, encoded_len = self.forward(
                input_signal=batch.audio, input_signal_length=batch.audio_lengths
            )
            hypotheses, _ = self.decoding.rnnt_decoder_predictions_tensor(
                encoded, encoded_len, return_hypotheses=return_hypotheses
            )
            return hypotheses

        best = run_transcription(
            self,
            paths2audio_files,
            decode_batch,
            sample_rate=self._cfg.get("sample_rate", 16000),
            batch_size=batch_size,
            num_workers=num_workers,
            channel_selector=channel_selector,
            verbose=verbose,
        )
        return best, list(best)
