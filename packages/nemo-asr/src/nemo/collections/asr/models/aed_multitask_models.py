"""EncDecMultiTaskModel: an attention encoder-decoder (AED) speech model prompted for its task (Canary's design).

    audio -> mel features -> (SpecAugment) -> Conformer ``encoder`` -> ``encoder_decoder_proj``
          -> optional ``transf_encoder`` -> transformer ``transf_decoder`` (cross-attends to the audio)
          -> ``log_softmax`` head -> next-token log-probabilities

The decoder reads a prompt first (``prompt_format: canary``: ``<|startoftranscript|><|src_lang|><|task|>
<|tgt_lang|><|pnc|>``), so one model transcribes or translates, with or without punctuation. Training is
teacher-forced cross entropy on the prompted sequences; inference decodes from the prompt (``decoding``:
greedy or beam search, :mod:`~nemo.collections.asr.parts.submodules.multitask_decoding`).

Config keys, ``forward``/``transcribe`` signatures and state-dict keys are NeMo 1.23's (``encoder.*``,
``encoder_decoder_proj.*``, ``transf_encoder.*``, ``transf_decoder._embedding.*``/``_decoder.*``,
``log_softmax.mlp.*``), so NeMo ``.nemo`` files of this model restore here. Data come from plain manifests
(:mod:`~nemo.collections.asr.data.audio_to_text_prompted`) instead of lhotse; the batches are the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import torch
from nemo.collections.asr.data.audio_to_text_prompted import (
    PromptedAudioToTextDataset,
    get_prompt_format_fn,
    get_prompted_audio_to_text_dataloader,
    utterance_from_entry,
)
from nemo.collections.asr.metrics.wer import word_error_rate
from nemo.collections.asr.models.asr_model import ASRModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.mixins.transcription import transcription_mode
from nemo.collections.asr.parts.submodules.multitask_decoding import (
    MultiTaskDecoding,
    MultiTaskDecodingConfig,
)
from nemo.collections.asr.parts.submodules.token_classifier import TokenClassifier
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.collections.common.parts.transformer_utils import transformer_weights_init
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import ChannelType, LabelsType, LengthsType, LogprobsType, MaskType, NeuralType
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["EncDecMultiTaskModel", "lens_to_mask"]

_MODEL_DEFAULTS = ("asr_enc_hidden", "lm_enc_hidden", "lm_dec_hidden")


def lens_to_mask(lens: torch.Tensor, max_length: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_length) bool mask, True at valid positions."""
    return torch.arange(max_length, device=lens.device)[None, :] < lens[:, None]


class EncDecMultiTaskModel(ASRModel, ASRBPEMixin):
    """Prompted multitask AED model (see the module docstring).

    Config: ``tokenizer`` (``type: agg`` with ``langs`` and a ``CanaryTokenizer`` for the canary prompt),
    ``prompt_format``, ``model_defaults`` (``asr_enc_hidden``, ``lm_enc_hidden``, ``lm_dec_hidden``),
    ``preprocessor``, ``spec_augment``, ``encoder``, ``transf_encoder`` (used when ``num_layers > 0``),
    ``transf_decoder`` (``get_nemo_transformer`` with ``config_dict``), ``head``, ``decoding``, ``loss``,
    ``context_len_for_AR_decoding`` (prompt tokens given to the decoder at inference, default 5),
    ``log_prediction`` (log one reference and its decoding after each validation epoch),
    ``train_ds``/``validation_ds``/``test_ds`` and ``optim``.
    """

    def __init__(self, cfg: DictConfig | Mapping, trainer=None) -> None:
        cfg = self._setup_tokenizer_from_model_config(cfg)
        if "prompt_format" not in cfg or OmegaConf.is_missing(cfg, "prompt_format"):
            raise ValueError(
                "EncDecMultiTaskModel needs `prompt_format` in its config (e.g. prompt_format: canary)."
            )
        self.prompt_format = cfg.prompt_format
        self.prompt_format_fn = get_prompt_format_fn(self.prompt_format)
        super().__init__(cfg=cfg, trainer=trainer)

        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        defaults = self._cfg.get("model_defaults") or {}
        missing = [key for key in _MODEL_DEFAULTS if key not in defaults]
        if missing:
            raise ValueError(
                f"EncDecMultiTaskModel: cfg.model_defaults lacks {missing} (all of {_MODEL_DEFAULTS})."
            )

        # Encoder -> decoder width, through a projection when they differ.
        encoder_width, decoder_width = defaults.asr_enc_hidden, defaults.lm_dec_hidden
        self.encoder_decoder_proj = (
            torch.nn.Linear(encoder_width, decoder_width)
            if encoder_width != decoder_width
            else torch.nn.Identity()
        )

        # Optional transformer encoder between the speech encoder and the decoder.
        transf_encoder_cfg = self._cfg.get("transf_encoder")
        self.use_transf_encoder = bool(
            transf_encoder_cfg is not None and transf_encoder_cfg.get("num_layers", 0) > 0
        )
        if self.use_transf_encoder:
            self.transf_encoder = self.from_config_dict(transf_encoder_cfg)
            std = 1 / defaults.lm_enc_hidden**0.5
            self.transf_encoder.apply(lambda module: transformer_weights_init(module, std))

        self._build_decoder_and_head()
        self._setup_decoding(self._cfg.get("decoding"))
        self.context_len_for_AR_decoding = self._cfg.get("context_len_for_AR_decoding", 5)

        with open_dict(self._cfg):
            self._cfg.loss.pad_id = self.tokenizer.pad_id
        self.loss = self.from_config_dict(self._cfg.loss)
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment else None

    def _build_decoder_and_head(self, keep: dict[str, torch.Tensor] | None = None) -> None:
        """Decoder and output head over the tokenizer's vocabulary rounded up to a multiple of 8, the head's
        weights tied to the decoder's token embedding; transformer initialisation, then ``keep`` (an earlier
        decoder's state dict) loaded where the shapes still match."""
        vocab_size = 8 * math.ceil(self.tokenizer.vocab_size / 8)
        with open_dict(self._cfg):
            if "config_dict" in self._cfg.transf_decoder:
                self._cfg.transf_decoder.config_dict.vocab_size = vocab_size
            self._cfg.head.num_classes = vocab_size
        self.transf_decoder = self.from_config_dict(self._cfg.transf_decoder)
        self.log_softmax = self.from_config_dict(self._cfg.head)
        if isinstance(self.log_softmax, TokenClassifier):
            self.log_softmax.mlp.layer0.weight = self.transf_decoder.embedding.token_embedding.weight
        std = 1 / self._cfg.model_defaults.lm_dec_hidden**0.5
        self.transf_decoder.apply(lambda module: transformer_weights_init(module, std))
        self.log_softmax.apply(lambda module: transformer_weights_init(module, std))
        if keep:
            state = self.transf_decoder.state_dict()
            for key, value in keep.items():
                if key in state and state[key].shape == value.shape:
                    state[key] = value
                else:
                    logging.warning(
                        f"transf_decoder.{key} is re-initialised: its shape changed with the vocabulary."
                    )
            self.transf_decoder.load_state_dict(state)

    def change_vocabulary(
        self,
        new_tokenizer_dir: str | DictConfig | Mapping,
        new_tokenizer_type: str,
        decoding_cfg: DictConfig | Mapping | None = None,
        prompt_format: str | None = None,
    ) -> None:
        """Swap in another tokenizer (fine-tuning to new languages or units); the encoder is kept.

        The decoder is rebuilt for the new vocabulary, keeping the weights whose shapes did not change; the
        output head is new (tied to the new embedding).

        Args:
            new_tokenizer_dir: a sentencepiece folder (``new_tokenizer_type="bpe"``), or the whole tokenizer
                config (``{"type": "agg", "langs": ..., "custom_tokenizer": ...}``) with ``"agg"``.
            new_tokenizer_type: ``"bpe"`` or ``"agg"``.
            decoding_cfg: decoding config from now on (default: the current one).
            prompt_format: a new prompt format name (default: keep).
        """
        if new_tokenizer_type == "agg":
            if not isinstance(new_tokenizer_dir, (Mapping, DictConfig)):
                raise ValueError(
                    "change_vocabulary(new_tokenizer_type='agg') needs the tokenizer config as a dict."
                )
            tokenizer_cfg = OmegaConf.create(
                OmegaConf.to_container(new_tokenizer_dir)
                if isinstance(new_tokenizer_dir, DictConfig)
                else dict(new_tokenizer_dir)
            )
            with open_dict(tokenizer_cfg):
                tokenizer_cfg.type = "agg"
        elif new_tokenizer_type == "bpe":
            if not os.path.isdir(str(new_tokenizer_dir)):
                raise NotADirectoryError(
                    f"change_vocabulary: {new_tokenizer_dir!r} is not a tokenizer folder."
                )
            tokenizer_cfg = OmegaConf.create({"dir": str(new_tokenizer_dir), "type": "bpe"})
        else:
            raise ValueError(
                f"change_vocabulary: new_tokenizer_type must be 'bpe' or 'agg'; got {new_tokenizer_type!r}."
            )
        if prompt_format is not None:
            self.prompt_format_fn = get_prompt_format_fn(prompt_format)
            self.prompt_format = prompt_format
        if getattr(self, "artifacts", None):
            for key in [key for key in self.artifacts if key.startswith("tokenizer.")]:
                self.artifacts.pop(key)
        self._setup_tokenizer(tokenizer_cfg)
        keep = self.transf_decoder.state_dict()
        with open_dict(self._cfg):
            self._cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)
            self._cfg.prompt_format = self.prompt_format
            self._cfg.loss.pad_id = self.tokenizer.pad_id
        self._build_decoder_and_head(keep)
        self._setup_decoding(decoding_cfg if decoding_cfg is not None else self._cfg.decoding)
        self.loss = self.from_config_dict(self._cfg.loss)
        logging.info(f"Changed the tokenizer: {self.tokenizer.vocab_size} tokens.")

    # ---------------------------------------------------------------------------------------- decoding
    def _setup_decoding(self, decoding_cfg: DictConfig | Mapping | None) -> None:
        """Build ``self.decoding`` from ``decoding_cfg`` over NeMo's defaults and store the merged config."""
        defaults = OmegaConf.create(OmegaConf.to_container(OmegaConf.structured(MultiTaskDecodingConfig)))
        merged = OmegaConf.merge(defaults, decoding_cfg or {})
        self.decoding = MultiTaskDecoding(
            decoding_cfg=merged,
            transformer_decoder=self.transf_decoder,
            log_softmax_module=self.log_softmax,
            tokenizer=self.tokenizer,
        )
        with open_dict(self._cfg):
            self._cfg.decoding = merged

    def change_decoding_strategy(self, decoding_cfg: DictConfig | Mapping | None) -> None:
        """Switch decoding (e.g. ``{"strategy": "beam", "beam": {"beam_size": 4}}``); None keeps the current one."""
        self._setup_decoding(decoding_cfg if decoding_cfg is not None else self._cfg.decoding)
        logging.info(f"Changed decoding strategy to \n{OmegaConf.to_yaml(self._cfg.decoding)}")

    # ------------------------------------------------------------------------------------------- data
    def _setup_dataloader_from_config(self, config: DictConfig | None):
        if config is None or config.get("manifest_filepath") is None:
            return None
        with open_dict(config):
            config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        return get_prompted_audio_to_text_dataloader(config, self.tokenizer, self.prompt_format_fn)

    # ------------------------------------------------------------------------------------------ model
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            **super().input_types,
            "transcript": NeuralType(("B", "T"), LabelsType(), optional=True),
            "transcript_length": NeuralType(("B",), LengthsType(), optional=True),
            "sample_id": NeuralType(("B",), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "transf_log_probs": NeuralType(("B", "T", "D"), LogprobsType()),
            "encoded_lengths": NeuralType(("B",), LengthsType()),
            "encoder_states": NeuralType(("B", "T", "D"), ChannelType()),
            "encoder_mask": NeuralType(("B", "T"), MaskType()),
        }

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
        transcript: torch.Tensor | None = None,
        transcript_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode audio and, given decoder inputs, score every next token.

        Args:
            input_signal: (B, T) waveforms, or ``processed_signal`` (B, D, T') features; each with (B,) lengths.
            transcript: (B, U) decoder input ids (a prompted sequence without its last token), optional.
            transcript_length: (B,) valid decoder inputs.

        Returns:
            transf_log_probs: (B, U, V) next-token log-probabilities, or None without ``transcript``.
            encoded_lengths: (B,) valid encoder frames.
            encoder_states: (B, T'', H) what the decoder attends to.
            encoder_mask: (B, T'') 1.0 at valid frames.
        """
        encoded, encoded_len = self._encode(
            input_signal, input_signal_length, processed_signal, processed_signal_length
        )
        encoder_states = self.encoder_decoder_proj(encoded.transpose(1, 2))
        encoder_mask = lens_to_mask(encoded_len, encoder_states.shape[1]).to(encoder_states.dtype)
        if self.use_transf_encoder:
            encoder_states = self.transf_encoder(encoder_states=encoder_states, encoder_mask=encoder_mask)
        transf_log_probs = None
        if transcript is not None:
            decoder_mask = lens_to_mask(transcript_length, transcript.shape[1]).to(transcript.dtype)
            decoder_states = self.transf_decoder(
                input_ids=transcript,
                decoder_mask=decoder_mask,
                encoder_embeddings=encoder_states,
                encoder_mask=encoder_mask,
            )
            transf_log_probs = self.log_softmax(hidden_states=decoder_states)
        return transf_log_probs, encoded_len, encoder_states, encoder_mask

    # --------------------------------------------------------------------------------------- training
    def _teacher_forced(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, log_probs (B, U-1, V), encoder_states, encoder_mask)`` of ``(audio, audio_len, tokens,
        tokens_len)``: the decoder reads ``tokens[:, :-1]`` and predicts ``tokens[:, 1:]``."""
        signal, signal_len, tokens, tokens_len = batch
        log_probs, _, encoder_states, encoder_mask = self.forward(
            input_signal=signal,
            input_signal_length=signal_len,
            transcript=tokens[:, :-1],
            transcript_length=tokens_len,
        )
        return self.loss(log_probs=log_probs, labels=tokens[:, 1:]), log_probs, encoder_states, encoder_mask

    def compute_loss(self, batch) -> torch.Tensor:
        """Cross entropy of a batch (a zero tensor for ``None``, as NeMo)."""
        if batch is None:
            return torch.tensor([0.0])
        return self._teacher_forced(batch)[0]

    def training_step(self, batch, batch_nb):
        loss = self.compute_loss(batch)
        self.log_dict(
            {
                "train_loss": loss,
                "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
                "global_step": float(self.trainer.global_step),
            },
            on_step=True,
        )
        return {"loss": loss}

    # ------------------------------------------------------------------------------------- evaluation
    def _eval_step(self, batch, prefix: str) -> dict:
        """Loss, decoded texts from the batch's prompts, and reference texts, special tokens stripped."""
        loss, log_probs, encoder_states, encoder_mask = self._teacher_forced(batch)
        tokens = batch[2]
        texts, _ = self.decoding.decode_predictions_tensor(
            encoder_hidden_states=encoder_states,
            encoder_input_mask=encoder_mask,
            decoder_input_ids=self._prompt_of(tokens),
        )
        references = [self.tokenizer.ids_to_text(row) for row in tokens.tolist()]
        return {
            f"{prefix}_loss": loss,
            f"{prefix}_loss_weight": log_probs.shape[0] * log_probs.shape[1],
            "translations": [self.decoding.strip_special_tokens(text) for text in texts],
            "ground_truths": [self.decoding.strip_special_tokens(text) for text in references],
        }

    def _prompt_of(self, tokens: torch.Tensor) -> torch.Tensor | None:
        """The first ``context_len_for_AR_decoding`` tokens (None when that is 0: decoding starts from bos)."""
        return tokens[:, : self.context_len_for_AR_decoding] if self.context_len_for_AR_decoding > 0 else None

    @staticmethod
    def _epoch_text_metrics(outputs: list[dict], prefix: str) -> dict:
        """``{prefix}_loss`` (mean weighted by B x U), ``{prefix}_sacreBLEU`` and ``{prefix}_WER`` over the
        epoch; pairs with an empty reference are left out of both text scores, as NeMo does."""
        from torchmetrics.text import SacreBLEUScore

        weights = torch.tensor([float(output[f"{prefix}_loss_weight"]) for output in outputs])
        losses = torch.stack([output[f"{prefix}_loss"].detach().float().cpu() for output in outputs])
        pairs = [
            (hypothesis, reference)
            for output in outputs
            for hypothesis, reference in zip(output["translations"], output["ground_truths"])
            if reference.strip()
        ]
        hypotheses = [hypothesis for hypothesis, _ in pairs]
        references = [reference for _, reference in pairs]
        bleu = (
            SacreBLEUScore()(hypotheses, [[reference] for reference in references])
            if pairs
            else torch.tensor(0.0)
        )
        wer = word_error_rate(hypotheses, references) if pairs else 0.0
        return {
            "log": {
                f"{prefix}_loss": (losses * weights).sum() / weights.sum(),
                f"{prefix}_sacreBLEU": bleu,
                f"{prefix}_WER": torch.tensor(float(wer)),
            }
        }

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict | None:
        if outputs and self._cfg.get("log_prediction", False):
            logging.info(f"reference : {outputs[0]['ground_truths'][0]}")
            logging.info(f"predicted : {outputs[0]['translations'][0]}")
        return self._epoch_text_metrics(outputs, "val") if outputs else None

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict | None:
        return self._epoch_text_metrics(outputs, "test") if outputs else None

    # ------------------------------------------------------------------------------------------ inference
    @torch.no_grad()
    def transcribe(
        self,
        paths2audio_files: str | Sequence[str | Mapping],
        batch_size: int = 4,
        logprobs: bool | None = None,
        return_hypotheses: bool = False,
        num_workers: int = 0,
        channel_selector=None,
        augmentor=None,
        verbose: bool = True,
        *,
        source_lang: str = "en",
        target_lang: str = "en",
        task: str = "asr",
        pnc: bool | str = True,
    ) -> list:
        """Transcribe (or translate) audio files, with special tokens removed from the results.

        Args:
            paths2audio_files: audio file paths; a manifest path (``.json``/``.jsonl``) whose lines may carry
                ``source_lang``, ``target_lang``, ``taskname``, ``pnc``; or a list of such dicts.
            batch_size: inputs per forward pass.
            logprobs: deprecated name of ``return_hypotheses`` (NeMo 1.23's).
            return_hypotheses: Hypothesis objects (text stripped, token ids with the prompt) instead of strings.
            num_workers: DataLoader workers.
            channel_selector: channel(s) of multi-channel audio (int, list, or ``"average"``).
            augmentor: not supported; pass None.
            verbose: show a progress bar.
            source_lang, target_lang, task, pnc: the prompt of inputs that do not give their own
                (``task``: ``asr`` or ``s2t_translation``).

        Returns:
            One result per input, in input order.
        """
        if augmentor is not None:
            raise ValueError("transcribe(augmentor=...) is not supported; augment the audio before calling.")
        if logprobs is not None:
            logging.warning("transcribe(logprobs=...) is deprecated; use return_hypotheses.")
            return_hypotheses = logprobs
        entries, manifest_dir = self._transcription_entries(paths2audio_files)
        if not entries:
            return []
        defaults = {
            "source_lang": source_lang,
            "target_lang": target_lang,
            "taskname": task,
            "pnc": "yes" if str(pnc).lower() in ("true", "yes") else "no",
            "answer": "nothing",  # any text: only the prompt part of the sequence is used
        }
        utterances = [
            utterance_from_entry(
                {**defaults, **entry},
                f"input {index}",
                manifest_dir,
                text_field="answer",
                lang_field="target_lang",
            )
            for index, entry in enumerate(entries)
        ]
        dataset = PromptedAudioToTextDataset(
            utterances,
            self.tokenizer,
            self.prompt_format_fn,
            sample_rate=self._cfg.get("sample_rate", 16000),
            channel_selector=channel_selector,
        )
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=dataset.collate_fn
        )
        if verbose:
            from tqdm import tqdm

            loader = tqdm(loader, desc="Transcribing", unit="batch")
        results = []
        with transcription_mode(self):
            for signal, signal_len, tokens, _ in loader:
                _, _, encoder_states, encoder_mask = self.forward(
                    input_signal=signal.to(self.device), input_signal_length=signal_len.to(self.device)
                )
                hypotheses, _ = self.decoding.decode_predictions_tensor(
                    encoder_hidden_states=encoder_states,
                    encoder_input_mask=encoder_mask,
                    decoder_input_ids=self._prompt_of(tokens.to(self.device)),
                    return_hypotheses=True,
                )
                for hypothesis in hypotheses:
                    hypothesis.text = self.decoding.strip_special_tokens(hypothesis.text)
                    results.append(hypothesis if return_hypotheses else hypothesis.text)
        return results

    @staticmethod
    def _transcription_entries(inputs) -> tuple[list[dict], str | None]:
        """Manifest-like dicts of ``transcribe``'s inputs and the folder relative audio paths are under."""
        if isinstance(inputs, (str, os.PathLike)):
            path = os.fspath(inputs)
            if path.endswith((".json", ".jsonl")):
                return read_manifest(path), os.path.dirname(os.path.abspath(path))
            inputs = [path]
        entries = []
        for item in inputs:
            if isinstance(item, (str, os.PathLike)):
                if not os.path.isfile(item):
                    raise FileNotFoundError(f"transcribe(): audio file {os.fspath(item)!r} does not exist.")
                entries.append({"audio_filepath": os.fspath(item)})
            elif isinstance(item, Mapping):
                entries.append(dict(item))
            else:
                raise TypeError(
                    f"transcribe() takes audio paths, a manifest path or manifest dicts; got a {type(item).__name__}."
                )
        return entries, None
