"""EncDecHybridRNNTCTCModel: one encoder, two heads (a transducer and a CTC decoder), trained together.

NeMo 1.23's model of the same name. Config: EncDecRNNTModel's keys plus ``aux_ctc``::

    aux_ctc:
      ctc_loss_weight: 0.3      # loss = (1 - w) * rnnt_loss + w * ctc_loss
      use_cer: false            # CTC WER as character error rate
      ctc_reduction: mean_batch
      decoder: {_target_: nemo.collections.asr.modules.ConvASRDecoder, feat_in: null, num_classes: -1,
                vocabulary: [...]}
      decoding: {strategy: greedy, ...}   # CTCDecodingConfig

State-dict keys: the RNN-T model's (``encoder.*``, ``decoder.*``, ``joint.*``) and ``ctc_decoder.*``.
Inference uses the transducer unless ``change_decoding_strategy(cfg, decoder_type="ctc")`` selected the CTC
head (``cur_decoder``). Validation logs both heads' WER (``val_wer`` and ``val_wer_ctc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import is_dataclass

import torch
from nemo.collections.asr.losses.ctc import CTCLoss
from nemo.collections.asr.metrics.wer import WER
from nemo.collections.asr.models.rnnt_models import EncDecRNNTModel
from nemo.collections.asr.parts.mixins.interctc_mixin import InterCTCMixin
from nemo.collections.asr.parts.mixins.transcription import AudioInput, run_transcription
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecoding, CTCDecodingConfig
from nemo.core.classes.model import PretrainedModelInfo
from nemo.utils import logging
from nemo.utils.distributed import ratio_over_processes, weighted_mean_over_processes
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["EncDecHybridRNNTCTCModel"]

DECODER_TYPES = ("rnnt", "ctc")


def _full_ctc_decoding_cfg(decoding_cfg) -> DictConfig:
    """``decoding_cfg`` (dict, DictConfig or CTCDecodingConfig) over CTCDecodingConfig's defaults, as a DictConfig."""
    if is_dataclass(decoding_cfg):
        decoding_cfg = OmegaConf.structured(decoding_cfg)
    defaults = OmegaConf.create(OmegaConf.to_container(OmegaConf.structured(CTCDecodingConfig)))
    return OmegaConf.merge(defaults, decoding_cfg if decoding_cfg is not None else {})


class EncDecHybridRNNTCTCModel(EncDecRNNTModel, InterCTCMixin):
    """RNN-T model with an auxiliary CTC decoder on the same encoder (``cfg.aux_ctc``), over characters."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        if cfg is None or "aux_ctc" not in cfg:
            raise ValueError(
                f"{type(self).__name__} needs an `aux_ctc` section in its config (the CTC head: decoder, decoding, "
                "ctc_loss_weight); see conf/conformer_hybrid_transducer_ctc_char.yaml."
            )
        super().__init__(cfg=cfg, trainer=trainer)
        self.compute_eval_loss = self._cfg.get("compute_eval_loss", True)
        self.ctc_loss_weight = float(self._cfg.aux_ctc.get("ctc_loss_weight", 0.5))
        self._build_ctc_head(self._output_vocabulary())
        self._setup_ctc_decoding(self._cfg.aux_ctc.get("decoding"))
        self.cur_decoder = "rnnt"
        self._setup_interctc()

    # ------------------------------------------------------------------------------------------ CTC head
    def _build_ctc_head(self, vocabulary: list[str]) -> None:
        """``ctc_decoder`` (fresh weights) and ``ctc_loss`` from ``aux_ctc.decoder`` over ``vocabulary``."""
        aux_ctc = self._cfg.aux_ctc
        if "decoder" not in aux_ctc:
            raise ValueError(
                "`aux_ctc.decoder` is missing; give the CTC head's decoder config (a ConvASRDecoder)."
            )
        with open_dict(aux_ctc):
            decoder_cfg = aux_ctc.decoder
            given = decoder_cfg.get("vocabulary")
            if given and list(given) != list(vocabulary):
                raise ValueError(
                    f"aux_ctc.decoder.vocabulary ({len(given)} units) differs from the transducer's vocabulary "
                    f"({len(vocabulary)} units); both heads learn the same transcripts, so set it to the model's "
                    "labels (or leave it out)."
                )
            decoder_cfg.vocabulary = ListConfig(list(vocabulary))
            if not decoder_cfg.get("feat_in"):
                decoder_cfg.feat_in = self.encoder._feat_out
            if decoder_cfg.get("num_classes", -1) < 1:
                decoder_cfg.num_classes = len(vocabulary)
        self.ctc_decoder = self.from_config_dict(aux_ctc.decoder)
        self.ctc_loss = CTCLoss(
            num_classes=self.ctc_decoder.num_classes_with_blank - 1,
            zero_infinity=True,
            reduction=aux_ctc.get("ctc_reduction", "mean_batch"),
        )

    def _make_ctc_decoding(self, decoding_cfg: DictConfig) -> CTCDecoding:
        """CTC decoding over the CTC head's labels (the BPE model decodes with its tokenizer)."""
        return CTCDecoding(decoding_cfg, vocabulary=list(self.ctc_decoder.vocabulary))

    def _setup_ctc_decoding(self, decoding_cfg) -> None:
        """Build ``ctc_decoding`` and ``ctc_wer`` for ``decoding_cfg`` (None: CTCDecodingConfig's defaults)."""
        full_cfg = _full_ctc_decoding_cfg(decoding_cfg)
        decoding = self._make_ctc_decoding(full_cfg)  # a rejected config leaves the model as it was
        self.ctc_decoding = decoding
        self.ctc_wer = WER(
            decoding=self.ctc_decoding,
            use_cer=self._cfg.aux_ctc.get("use_cer", False),
            log_prediction=self._cfg.get("log_prediction", False),
            # One batch's own counts: the epoch metrics sum them over processes once, at the end (a sync
            # per step would count every step twice then, and hang when processes run unequal step counts).
            sync_on_compute=False,
        )
        self.ctc_decoder.temperature = float(full_cfg.get("temperature", 1.0))
        with open_dict(self._cfg.aux_ctc):
            self._cfg.aux_ctc.decoding = full_cfg

    def change_decoding_strategy(self, decoding_cfg=None, decoder_type: str | None = None) -> None:
        """Switch the decoding of one head and make that head the one inference uses (``cur_decoder``).

        Args:
            decoding_cfg: the head's decoding config (RNN-T: RNNTDecoding keys; CTC: CTCDecodingConfig keys,
                as a dict, DictConfig or the dataclass); None keeps that head's current config.
            decoder_type: ``"rnnt"`` (default) or ``"ctc"``.
        """
        if decoder_type is None:
            decoder_type = "rnnt"
        if decoder_type not in DECODER_TYPES:
            raise ValueError(f"decoder_type={decoder_type!r}; expected one of {DECODER_TYPES}.")
        if decoder_type == "rnnt":
            super().change_decoding_strategy(decoding_cfg if decoding_cfg is not None else self._cfg.decoding)
        else:
            self._setup_ctc_decoding(decoding_cfg if decoding_cfg is not None else self._cfg.aux_ctc.decoding)
            logging.info(
                f"Changed CTC decoding strategy to \n{OmegaConf.to_yaml(self._cfg.aux_ctc.decoding)}"
            )
        self.cur_decoder = decoder_type

    def change_vocabulary(
        self,
        new_vocabulary: list[str],
        decoding_cfg: DictConfig | None = None,
        ctc_decoding_cfg: DictConfig | None = None,
    ) -> None:
        """Replace the output vocabulary of both heads (fresh prediction network, joint and CTC decoder).

        Args:
            new_vocabulary: the new characters, blank excluded.
            decoding_cfg: transducer decoding config from now on (default: keep).
            ctc_decoding_cfg: CTC decoding config from now on (default: keep).
        """
        if not new_vocabulary:
            raise ValueError("change_vocabulary() got an empty vocabulary; pass the new list of characters.")
        super().change_vocabulary(new_vocabulary, decoding_cfg=decoding_cfg)
        self._replace_ctc_head(list(new_vocabulary), ctc_decoding_cfg)

    def _replace_ctc_head(self, vocabulary: list[str], ctc_decoding_cfg) -> None:
        if list(self.ctc_decoder.vocabulary) == vocabulary:
            logging.warning("The CTC decoder already has this vocabulary; it is left as it is.")
            return
        device = next(self.parameters()).device
        with open_dict(self._cfg.aux_ctc):
            self._cfg.aux_ctc.decoder.vocabulary = ListConfig(vocabulary)
            self._cfg.aux_ctc.decoder.num_classes = len(vocabulary)
        self._build_ctc_head(vocabulary)
        self.ctc_decoder.to(device)
        self._setup_ctc_decoding(
            ctc_decoding_cfg if ctc_decoding_cfg is not None else self._cfg.aux_ctc.decoding
        )
        logging.info(f"Changed the CTC decoder to output {len(vocabulary)} units.")

    # -------------------------------------------------------------------------------------------- InterCTC
    def _setup_interctc(self) -> None:
        """InterCTC (``cfg.interctc``) through the CTC head: ``ctc_decoder``, ``ctc_loss``, ``ctc_wer``."""
        self.setup_interctc(decoder_name="ctc_decoder", loss_name="ctc_loss", wer_name="ctc_wer")

    def _add_interctc_losses(
        self,
        loss: torch.Tensor | None,
        transcript: torch.Tensor,
        transcript_len: torch.Tensor,
        compute_wer: bool,
        compute_loss: bool = True,
        log_prefix: str = "",
    ) -> tuple[torch.Tensor | None, dict]:
        """Add intermediate-layer CTC losses to ``loss`` (the weighted RNN-T + CTC loss); see InterCTCMixin.

        Returns:
            ``(loss, logs)``; evaluation logs (``log_prefix`` set) include the WER numerators/denominators.
        """
        return self.add_interctc_losses(
            loss,
            transcript,
            transcript_len,
            compute_wer=compute_wer,
            compute_loss=compute_loss,
            log_wer_num_denom=bool(log_prefix),
            log_prefix=log_prefix,
        )

    # --------------------------------------------------------------------------------------------- steps
    def _hybrid_pass(self, batch, compute_wer: bool, compute_loss: bool, log_prefix: str) -> tuple:
        """Both heads on one batch; ``log_prefix`` is ``""`` in training, ``"val_"`` or ``"test_"`` in evaluation.

        Returns:
            ``(loss, rnnt, ctc, logs)``: ``loss`` the weighted total (None without ``compute_loss``); ``rnnt``
            the transducer's ``(loss, wer, wer_num, wer_denom)``; ``ctc`` the CTC head's
            ``(loss, wer, wer_num, wer_denom)`` (all None when training skips a zero-weight CTC head);
            ``logs`` from the InterCTC hook.
        """
        training = not log_prefix
        signal, signal_len, transcript, transcript_len = batch[:4]
        encoded, encoded_len = self.forward(input_signal=signal, input_signal_length=signal_len)
        rnnt = self._transducer_loss_and_wer(
            encoded, encoded_len, transcript, transcript_len, compute_wer, compute_loss=compute_loss
        )
        loss = rnnt[0]
        ctc = (None, None, None, None)
        if not training or self.ctc_loss_weight > 0:
            log_probs = self.ctc_decoder(encoder_output=encoded)
            ctc_loss = None
            if compute_loss:
                ctc_loss = self.ctc_loss(
                    log_probs=log_probs,
                    targets=transcript,
                    input_lengths=encoded_len,
                    target_lengths=transcript_len,
                )
                loss = (1 - self.ctc_loss_weight) * loss + self.ctc_loss_weight * ctc_loss
            ctc_wer = (None, None, None)
            if compute_wer:
                self.ctc_wer.update(
                    predictions=log_probs,
                    predictions_lengths=encoded_len,
                    targets=transcript,
                    targets_lengths=transcript_len,
                )
                ctc_wer = self.ctc_wer.compute()
                self.ctc_wer.reset()
            ctc = (ctc_loss, *ctc_wer)
        loss, logs = self._add_interctc_losses(
            loss,
            transcript,
            transcript_len,
            compute_wer=compute_wer,
            compute_loss=compute_loss,
            log_prefix=log_prefix,
        )
        return loss, rnnt, ctc, logs

    def training_step(self, batch, batch_nb):
        log_every_n_steps = max(self._trainer.log_every_n_steps if self._trainer else 1, 1)
        compute_wer = (batch_nb + 1) % log_every_n_steps == 0
        with self.interctc_capture():
            loss, rnnt, ctc, logs = self._hybrid_pass(batch, compute_wer, compute_loss=True, log_prefix="")
        metrics = {
            "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
            "global_step": float(self.trainer.global_step),
        }
        if rnnt[1] is not None:
            metrics["training_batch_wer"] = rnnt[1]
        if ctc[0] is not None:
            metrics["train_rnnt_loss"] = rnnt[0]
            metrics["train_ctc_loss"] = ctc[0]
        if ctc[1] is not None:
            metrics["training_batch_wer_ctc"] = ctc[1]
        metrics.update(logs)
        metrics["train_loss"] = loss
        self.log_dict(metrics, on_step=True)
        return {"loss": loss}

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """Both heads' loss and WER terms of one batch, NeMo's ``{prefix}_*`` keys (``*_ctc`` for the CTC head)."""
        with self.interctc_capture():
            loss, rnnt, ctc, logs = self._hybrid_pass(
                batch, compute_wer=True, compute_loss=self.compute_eval_loss, log_prefix=f"{prefix}_"
            )
        metrics = {f"{prefix}_wer_num": rnnt[2], f"{prefix}_wer_denom": rnnt[3], f"{prefix}_wer": rnnt[1]}
        metrics[f"{prefix}_batch_size"] = batch[0].shape[0]
        metrics.update(
            {f"{prefix}_wer_num_ctc": ctc[2], f"{prefix}_wer_denom_ctc": ctc[3], f"{prefix}_wer_ctc": ctc[1]}
        )
        if self.compute_eval_loss:
            metrics.update(
                {f"{prefix}_rnnt_loss": rnnt[0], f"{prefix}_ctc_loss": ctc[0], f"{prefix}_loss": loss}
            )
        metrics.update(logs)
        return metrics

    def _hybrid_epoch_metrics(self, outputs: list[dict], prefix: str) -> dict:
        """Per-utterance mean loss (with ``compute_eval_loss``) and corpus WER of each head over the epoch's
        whole evaluation set (summed over the processes of a distributed run first)."""
        logs: dict[str, torch.Tensor] = {}
        if self.compute_eval_loss:
            logs[f"{prefix}_loss"] = weighted_mean_over_processes(
                [output[f"{prefix}_loss"] for output in outputs],
                [output.get(f"{prefix}_batch_size", 1) for output in outputs],
            )
        for suffix in ("", "_ctc"):
            if suffix and self.ctc_loss_weight <= 0:
                continue
            logs[f"{prefix}_wer{suffix}"] = ratio_over_processes(
                [output[f"{prefix}_wer_num{suffix}"] for output in outputs],
                [output[f"{prefix}_wer_denom{suffix}"] for output in outputs],
            )
        metrics = {"log": logs}
        if self.compute_eval_loss:
            metrics[f"{prefix}_loss"] = logs[f"{prefix}_loss"]
        return self._finalize_interctc_metrics(metrics, outputs, prefix)

    def _finalize_interctc_metrics(self, metrics: dict, outputs: list[dict], prefix: str) -> dict:
        """Add the InterCTC epoch metrics (``{prefix}_inter_ctc_loss_l{i}``, ...) to ``metrics["log"]``."""
        self.finalize_interctc_metrics(metrics, outputs, prefix=f"{prefix}_")
        return metrics

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._hybrid_epoch_metrics(outputs, "val")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._hybrid_epoch_metrics(outputs, "test")

    # ------------------------------------------------------------------------------------------ inference
    @property
    def output_module(self):
        """The head inference uses: the transducer's prediction network or the CTC decoder."""
        return self.decoder if self.cur_decoder == "rnnt" else self.ctc_decoder

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
        logprobs: bool = False,
    ):
        """Transcribe audio with the current head (``cur_decoder``).

        Args:
            logprobs: CTC head only: return each input's (T, V+1) CTC log-probabilities instead of text.
            others: as :meth:`EncDecRNNTModel.transcribe`.

        Returns:
            ``(best, all)`` as NeMo 1.23: one text (or Hypothesis) per input, and the same list again; with
            ``logprobs`` a list of log-probability tensors.
        """
        if self.cur_decoder not in DECODER_TYPES:
            raise ValueError(f"cur_decoder={self.cur_decoder!r}; expected one of {DECODER_TYPES}.")
        if self.cur_decoder == "rnnt":
            if logprobs:
                raise ValueError(
                    "transcribe(logprobs=True) returns CTC log-probabilities; switch to the CTC head first with "
                    "change_decoding_strategy(decoder_type='ctc')."
                )
            return super().transcribe(
                paths2audio_files,
                batch_size=batch_size,
                return_hypotheses=return_hypotheses,
                partial_hypothesis=partial_hypothesis,
                num_workers=num_workers,
                channel_selector=channel_selector,
                augmentor=augmentor,
                verbose=verbose,
            )
        if augmentor is not None or partial_hypothesis is not None:
            raise ValueError("transcribe() here takes neither augmentor nor partial_hypothesis; pass None.")

        def decode_batch(batch) -> list:
            encoded, encoded_len = self.forward(
                input_signal=batch.audio, input_signal_length=batch.audio_lengths
            )
            log_probs = self.ctc_decoder(encoder_output=encoded)
            if logprobs:
                return [log_probs[row, : encoded_len[row]].cpu() for row in range(log_probs.shape[0])]
            best, _ = self.ctc_decoding.ctc_decoder_predictions_tensor(
                log_probs, decoder_lengths=encoded_len, return_hypotheses=return_hypotheses
            )
            return best

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
        if logprobs:
            return best
        return best, list(best)

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained hybrid models known locally (plugin-registered); NeMo 1.23 lists none for this class."""
        return super().list_available_models()
