"""FastPitchModel (https://arxiv.org/abs/2006.06873): text -> mel spectrogram, NeMo 1.23's model.

Same config keys as NeMo's ``examples/tts/conf/fastpitch_align_v1.05.yaml`` (``text_tokenizer`` with an
optional ``g2p``, ``text_normalizer``, ``preprocessor``, ``input_fft``, ``output_fft``, ``alignment_module``,
``duration_predictor``, ``pitch_predictor``, ``energy_predictor``, ``speaker_encoder``, ``n_speakers``,
``train_ds``/``validation_ds``, ``optim``), the same methods (``parse``, ``generate_spectrogram``,
``forward``, ``training_step``, ``validation_step``, ``export``) and the same state-dict keys, so NeMo's
``.nemo`` files restore here and ours restore in NeMo.

Example:
    >>> model = FastPitchModel.restore_from("fastpitch.nemo").eval()
    >>> spect = model.generate_spectrogram(tokens=model.parse("Hello world."))  # (1, n_mels, T)
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from nemo.collections.tts.losses.aligner_loss import BinLoss, ForwardSumLoss
from nemo.collections.tts.losses.fastpitchloss import DurationLoss, EnergyLoss, MelLoss, PitchLoss
from nemo.collections.tts.models.base import SpectrogramGenerator
from nemo.collections.tts.modules.fastpitch import FastPitchModule, forward_input_types
from nemo.collections.tts.parts.utils.helpers import (
    g2p_backward_compatible_support,
    plot_alignment_to_numpy,
    plot_pitch_to_numpy,
    plot_spectrogram_to_numpy,
    process_batch,
    sample_tts_input,
)
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    Index,
    MelSpectrogramType,
    NeuralType,
    RegressionValuesType,
    TokenDurationType,
    TokenIndex,
    TokenLogDurationType,
)
from nemo.utils import logging, model_utils
from nemo.utils.distributed import weighted_mean_over_processes
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["FastPitchModel"]

_TTS_DATASET = "nemo.collections.tts.data.dataset.TTSDataset"
_KNOWN_DATASETS = (
    _TTS_DATASET,
    "nemo.collections.tts.data.text_to_speech_dataset.TextToSpeechDataset",
    "nemo.collections.tts.torch.data.TTSDataset",
)


def _instantiate(config: DictConfig, key: str, **kwargs: Any) -> Any:
    """Build the object ``config`` describes (``_target_``, checked against the allow-list, nested targets
    too), with ``kwargs`` overriding or adding constructor arguments (they may be objects)."""
    import hydra.utils
    from nemo.utils.model_utils import import_class_by_path

    def resolve(node: Any, path: str) -> Any:
        if isinstance(node, list):
            return [resolve(item, f"{path}[{index}]") for index, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        return {
            name: import_class_by_path(value, source=f"config key {path}.{name}")
            if name == "_target_"
            else resolve(value, f"{path}.{name}")
            for name, value in node.items()
            if name not in kwargs or path != key
        }

    plain = OmegaConf.to_container(config, resolve=True)
    if not isinstance(plain, dict) or "_target_" not in plain:
        raise ValueError(
            f"Config key {key!r} must name a class under `_target_`; got {plain!r}. Add `_target_: <class path>`."
        )
    return hydra.utils.instantiate(resolve(plain, key), **kwargs)


class FastPitchModel(SpectrogramGenerator, Exportable):
    """FastPitch: a non-autoregressive spectrogram generator with explicit duration, pitch (and energy)
    prediction, trained with a learned text-to-mel alignment (``learn_alignment: true``) or given durations.

    Args:
        cfg: the model config (keys of NeMo's ``fastpitch_align_v1.05.yaml``).
        trainer: Lightning trainer used for training.
    """

    def __init__(self, cfg: DictConfig, trainer: Any = None):
        cfg = model_utils.convert_model_config_to_dict_config(cfg)

        self.normalizer = None
        self.text_normalizer_call = None
        self.text_normalizer_call_kwargs: dict[str, Any] = {}
        self._setup_normalizer(cfg)

        self.learn_alignment = cfg.get("learn_alignment", False)
        input_fft_kwargs: dict[str, Any] = {}
        self.vocab = None
        self.ds_class = OmegaConf.select(cfg, "train_ds.dataset._target_", default=_TTS_DATASET)
        if self.learn_alignment:
            if self.ds_class not in _KNOWN_DATASETS:
                raise ValueError(
                    f"Unknown dataset class in train_ds.dataset._target_: {self.ds_class!r}; expected one of "
                    f"{list(_KNOWN_DATASETS)}. Fix the config key train_ds.dataset._target_."
                )
            self._setup_tokenizer(cfg)
            input_fft_kwargs["n_embed"] = len(self.vocab.tokens)
            input_fft_kwargs["padding_idx"] = self.vocab.pad

        self._parser = None
        self._tb_logger = None
        super().__init__(cfg=cfg, trainer=trainer)

        self.bin_loss_warmup_epochs = cfg.get("bin_loss_warmup_epochs", 100)
        self.log_images = cfg.get("log_images", False)
        self.log_train_images = False

        default_prosody_loss_scale = 0.1 if self.learn_alignment else 1.0
        self.mel_loss_fn = MelLoss()
        self.pitch_loss_fn = PitchLoss(loss_scale=cfg.get("pitch_loss_scale", default_prosody_loss_scale))
        self.duration_loss_fn = DurationLoss(loss_scale=cfg.get("dur_loss_scale", default_prosody_loss_scale))
        self.energy_loss_fn = EnergyLoss(loss_scale=cfg.get("energy_loss_scale", default_prosody_loss_scale))

        self.aligner = None
        if self.learn_alignment:
            aligner_loss_scale = cfg.get("aligner_loss_scale", 1.0)
            self.aligner = _instantiate(self._cfg.alignment_module, "alignment_module")
            self.forward_sum_loss_fn = ForwardSumLoss(loss_scale=aligner_loss_scale)
            self.bin_loss_fn = BinLoss(loss_scale=aligner_loss_scale)

        self.preprocessor = _instantiate(self._cfg.preprocessor, "preprocessor")
        input_fft = _instantiate(self._cfg.input_fft, "input_fft", **input_fft_kwargs)
        output_fft = _instantiate(self._cfg.output_fft, "output_fft")
        duration_predictor = _instantiate(self._cfg.duration_predictor, "duration_predictor")
        pitch_predictor = _instantiate(self._cfg.pitch_predictor, "pitch_predictor")
        speaker_encoder = self._optional_module("speaker_encoder")
        energy_predictor = self._optional_module("energy_predictor")

        n_speakers = cfg.get("n_speakers", 0)
        if n_speakers > 1 and "add" not in input_fft.cond_input.condition_types:
            input_fft.cond_input.condition_types.append("add")
        if cfg.get("speaker_emb_condition_prosody", False):
            duration_predictor.cond_input.condition_types.append("add")
            pitch_predictor.cond_input.condition_types.append("add")
        if cfg.get("speaker_emb_condition_decoder", False):
            output_fft.cond_input.condition_types.append("add")
        if cfg.get("speaker_emb_condition_aligner", False) and self.aligner is not None:
            self.aligner.cond_input.condition_types.append("add")

        self.fastpitch = FastPitchModule(
            input_fft,
            output_fft,
            duration_predictor,
            pitch_predictor,
            energy_predictor,
            self.aligner,
            speaker_encoder,
            n_speakers,
            cfg.symbols_embedding_dim,
            cfg.pitch_embedding_kernel_size,
            cfg.get("energy_embedding_kernel_size", 0),
            cfg.n_mel_channels,
            cfg.get("min_token_duration", 0),
            cfg.max_token_duration,
            cfg.get("use_log_energy", True),
        )
        self._input_types = self._output_types = None
        self.export_config = {
            "emb_range": (0, self.fastpitch.encoder.word_emb.num_embeddings),
            "enable_volume": False,
            "enable_ragged_batches": False,
        }
        if self.fastpitch.speaker_emb is not None:
            self.export_config["num_speakers"] = cfg.n_speakers
            default_speaker = cfg.get("default_speaker")  # ours: the speaker when a call names none
            if default_speaker is not None:
                if not 0 <= int(default_speaker) < cfg.n_speakers:
                    raise ValueError(
                        f"default_speaker={default_speaker} is not one of the model's {cfg.n_speakers} speakers "
                        f"(n_speakers); set it to 0..{cfg.n_speakers - 1} or null."
                    )
                self.fastpitch.default_speaker = int(default_speaker)
        self.log_config = cfg.get("log_config", None)

    # ------------------------------------------------------------------------------------- text front end
    def _optional_module(self, key: str) -> Any:
        config = self._cfg.get(key)
        return None if config is None else _instantiate(config, key)

    def _setup_normalizer(self, cfg: DictConfig) -> None:
        """Build ``text_normalizer`` (ours, or nemo_text_processing's when installed); ``parse`` uses it."""
        if cfg.get("text_normalizer") is None:
            return
        from nemo.collections.tts.parts.preprocessing.text_normalizer import build_text_normalizer

        overrides = {}
        if "whitelist" in cfg.text_normalizer:
            overrides["whitelist"] = self.register_artifact(
                "text_normalizer.whitelist", cfg.text_normalizer.whitelist
            )
        self.normalizer = build_text_normalizer(cfg, key="text_normalizer", **overrides)
        if self.normalizer is not None:
            self.text_normalizer_call = self.normalizer.normalize
            if "text_normalizer_call_kwargs" in cfg:
                self.text_normalizer_call_kwargs = OmegaConf.to_container(cfg.text_normalizer_call_kwargs)

    def _setup_tokenizer(self, cfg: DictConfig) -> None:
        """Build ``text_tokenizer`` (and its ``g2p``, whose dictionaries become archive artifacts)."""
        tokenizer_kwargs: dict[str, Any] = {}
        if "g2p" in cfg.text_tokenizer:
            g2p_cfg = cfg.text_tokenizer.g2p
            target = g2p_cfg.get("_target_", None)
            if target is not None and target.startswith("nemo_text_processing.g2p"):
                with open_dict(cfg):
                    g2p_cfg["_target_"] = g2p_backward_compatible_support(target)
            g2p_kwargs = {}
            for name in ("phoneme_dict", "heteronyms"):
                if name in g2p_cfg:
                    g2p_kwargs[name] = self.register_artifact(f"text_tokenizer.g2p.{name}", g2p_cfg[name])
            tokenizer_kwargs["g2p"] = _instantiate(g2p_cfg, "text_tokenizer.g2p", **g2p_kwargs)
        self.vocab = _instantiate(cfg.text_tokenizer, "text_tokenizer", **tokenizer_kwargs)

    @property
    def tb_logger(self) -> Any:
        """The TensorBoard ``SummaryWriter`` of the trainer's loggers, or None."""
        if self._tb_logger is None:
            from pytorch_lightning.loggers import TensorBoardLogger

            if self._trainer is None:
                return None
            for logger in self.trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    self._tb_logger = logger.experiment
                    break
        return self._tb_logger

    @property
    def parser(self) -> Any:
        """Text -> token ids: the tokenizer's ``encode`` (learned alignment) or NeMo's character parser."""
        if self._parser is None:
            if self.learn_alignment:
                self._parser = self.vocab.encode
            else:
                from nemo.collections.asr.parts.preprocessing.parsers import make_parser

                self._parser = make_parser(
                    labels=self._cfg.labels,
                    name="en",
                    unk_id=-1,
                    blank_id=-1,
                    do_normalize=True,
                    abbreviation_version="fastpitch",
                    make_table=False,
                )
        return self._parser

    def parse(self, str_input: str, normalize: bool = True) -> torch.Tensor:
        """Token ids of a text, (1, T) int64 on the model's device.

        Args:
            str_input: the text.
            normalize: run ``text_normalizer`` first (when the config has one).
        """
        if self.training:
            logging.warning("parse() is meant to be called in eval mode.")
        if normalize and self.text_normalizer_call is not None:
            str_input = self.text_normalizer_call(str_input, **self.text_normalizer_call_kwargs)
        phone_mode = contextlib.nullcontext()
        if self.learn_alignment and hasattr(self.vocab, "set_phone_prob"):
            phone_mode = self.vocab.set_phone_prob(prob=1.0)
        with phone_mode:
            tokens = self.parser(str_input)
        return torch.tensor(tokens, dtype=torch.long, device=self.device).unsqueeze(0)

    # ------------------------------------------------------------------------------------------ inference
    @typecheck(input_types=forward_input_types())
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
        """:meth:`FastPitchModule.forward` (see there for shapes); ``durs=`` and ``pitch=`` must be passed,
        None included, as in NeMo."""
        return self.fastpitch(
            text=text,
            durs=durs,
            pitch=pitch,
            energy=energy,
            speaker=speaker,
            pace=pace,
            spec=spec,
            attn_prior=attn_prior,
            mel_lens=mel_lens,
            input_lens=input_lens,
            reference_spec=reference_spec,
            reference_spec_lens=reference_spec_lens,
        )

    @typecheck(output_types={"spect": NeuralType(("B", "D", "T_spec"), MelSpectrogramType())})
    def generate_spectrogram(
        self,
        tokens: torch.Tensor,
        speaker: int | torch.Tensor | None = None,
        pace: float = 1.0,
        reference_spec: torch.Tensor | None = None,
        reference_spec_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mel spectrograms from token ids.

        Args:
            tokens: (B, T_text) token ids (``parse`` output, or a padded batch).
            speaker: speaker id (int) or (B,) ids, for multi-speaker models.
            pace: speaking rate; 1.5 is 1.5x faster.
            reference_spec, reference_spec_lens: reference audio for a speaker encoder.

        Returns:
            (B, n_mels, T_frames); frames past a row's length hold ``fastpitch.proj.bias``.
        """
        if self.training:
            logging.warning("generate_spectrogram() is meant to be called in eval mode.")
        if isinstance(speaker, int):
            speaker = torch.tensor([speaker], device=self.device)
        spect, *_ = self(
            text=tokens,
            durs=None,
            pitch=None,
            speaker=speaker,
            pace=pace,
            reference_spec=reference_spec,
            reference_spec_lens=reference_spec_lens,
        )
        return spect

    # ------------------------------------------------------------------------------------------- training
    def _unpack_batch(self, batch: Any) -> dict[str, Any]:
        if not self.learn_alignment:
            audio, audio_lens, text, text_lens, durs, pitch, speaker = batch
            return {
                "audio": audio,
                "audio_lens": audio_lens,
                "text": text,
                "text_lens": text_lens,
                "durs": durs,
                "pitch": pitch,
                "speaker_id": speaker,
            }
        if isinstance(batch, dict):
            return batch
        return process_batch(batch, self._batch_dataset().sup_data_types_set)

    def _batch_dataset(self) -> Any:
        """The dataset the current batch comes from: the validation set's while evaluating (so a restored
        model validates with no training data set up), else the training set's."""
        loader = self._train_dl if self.training else self._validation_dl
        if loader is None:
            loader = self._train_dl if self._train_dl is not None else self._validation_dl
        if loader is None:
            raise RuntimeError(
                "FastPitchModel got a TTSDataset batch but has no train or validation loader to name its items: "
                "call setup_training_data(cfg.train_ds) or setup_validation_data(cfg.validation_ds) first."
            )
        return loader.dataset

    def _shared_step(self, batch: Any) -> tuple[dict[str, Any], tuple, torch.Tensor, torch.Tensor]:
        """Mels of the batch audio and the model's outputs on the batch (targets given)."""
        data = self._unpack_batch(batch)
        mels, spec_len = self.preprocessor(input_signal=data["audio"], length=data["audio_lens"])
        reference_spec, reference_spec_len = None, None
        if data.get("reference_audio") is not None:
            reference_spec, reference_spec_len = self.preprocessor(
                input_signal=data["reference_audio"], length=data["reference_audio_lens"]
            )
        outputs = self(
            text=data["text"],
            durs=data.get("durs"),
            pitch=data.get("pitch"),
            energy=data.get("energy"),
            speaker=data.get("speaker_id"),
            pace=1.0,
            spec=mels if self.learn_alignment else None,
            reference_spec=reference_spec,
            reference_spec_lens=reference_spec_len,
            attn_prior=data.get("align_prior_matrix"),
            mel_lens=spec_len,
            input_lens=data["text_lens"],
        )
        return data, outputs, mels, spec_len

    def _prosody_losses(
        self, data: dict[str, Any], outputs: tuple, mels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | float]:
        """Mel, duration, pitch and energy losses of one step (durations from the aligner when the batch has
        none).

        Args:
            data: the unpacked batch (``text_lens``, optional ``durs``).
            outputs: :meth:`forward`'s 12 outputs.
            mels: (B, n_mels, T_spec) target mels.

        Returns:
            mel_loss, dur_loss, pitch_loss, energy_loss (0.0 without an energy target).
        """
        mels_pred, log_durs_pred, pitch_pred, attn_hard_dur = outputs[0], outputs[3], outputs[4], outputs[8]
        pitch, energy_pred, energy_tgt = outputs[9:]
        text_lens = data["text_lens"]
        durs = data.get("durs")
        if durs is None:
            durs = attn_hard_dur
        mel_loss = self.mel_loss_fn(spect_predicted=mels_pred, spect_tgt=mels)
        dur_loss = self.duration_loss_fn(log_durs_predicted=log_durs_pred, durs_tgt=durs, len=text_lens)
        pitch_loss = self.pitch_loss_fn(pitch_predicted=pitch_pred, pitch_tgt=pitch, len=text_lens)
        energy_loss = self.energy_loss_fn(
            energy_predicted=energy_pred, energy_tgt=energy_tgt, length=text_lens
        )
        return mel_loss, dur_loss, pitch_loss, energy_loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Loss = mel + duration + pitch + energy (+ forward-sum + warmed-up binarization with an aligner)."""
        data, outputs, mels, spec_len = self._shared_step(batch)
        mels_pred, attn_soft, attn_logprob, attn_hard = outputs[0], outputs[5], outputs[6], outputs[7]
        energy_tgt = outputs[11]
        text_lens = data["text_lens"]
        mel_loss, dur_loss, pitch_loss, energy_loss = self._prosody_losses(data, outputs, mels)
        loss = mel_loss + dur_loss
        if self.learn_alignment:
            ctc_loss = self.forward_sum_loss_fn(
                attn_logprob=attn_logprob, in_lens=text_lens, out_lens=spec_len
            )
            bin_loss_weight = min(self.current_epoch / self.bin_loss_warmup_epochs, 1.0) * 1.0
            bin_loss = self.bin_loss_fn(hard_attention=attn_hard, soft_attention=attn_soft) * bin_loss_weight
            loss = loss + ctc_loss + bin_loss
        loss = loss + pitch_loss + energy_loss

        self.log("t_loss", loss)
        self.log("t_mel_loss", mel_loss)
        self.log("t_dur_loss", dur_loss)
        self.log("t_pitch_loss", pitch_loss)
        if energy_tgt is not None:
            self.log("t_energy_loss", energy_loss)
        if self.learn_alignment:
            self.log("t_ctc_loss", ctc_loss)
            self.log("t_bin_loss", bin_loss)

        if self.log_images and self.log_train_images and self.tb_logger is not None:
            self.log_train_images = False
            self._log_image("train_mel_target", plot_spectrogram_to_numpy(_first(mels)))
            self._log_image("train_mel_predicted", plot_spectrogram_to_numpy(_first(mels_pred)))
            if self.learn_alignment:
                self._log_image("train_attn", plot_alignment_to_numpy(_first(attn_hard).squeeze(0).T))
                self._log_image("train_soft_attn", plot_alignment_to_numpy(_first(attn_soft).squeeze(0).T))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
        """Losses on the batch with target durations (no aligner losses), each with what it is a mean over:
        ``mel_frames`` (the target's non-zero mel cells, as :class:`MelLoss` masks them) for ``mel_loss`` and
        ``tokens`` (the valid tokens) for ``dur_loss``, ``pitch_loss`` and ``energy_loss``. The first batch
        also keeps tensors for the TensorBoard images.

        Nothing here communicates between processes: in a distributed run they may validate different numbers
        of batches (see :meth:`on_validation_epoch_end`)."""
        data, outputs, mels, _ = self._shared_step(batch)
        mels_pred, pitch_pred, attn_soft, attn_hard = outputs[0], outputs[4], outputs[5], outputs[7]
        pitch, energy_tgt = outputs[9], outputs[11]
        text_lens = data["text_lens"]
        mel_loss, dur_loss, pitch_loss, energy_loss = self._prosody_losses(data, outputs, mels)
        first = batch_idx == 0
        val_outputs = {
            "val_loss": mel_loss + dur_loss + pitch_loss + energy_loss,
            "mel_loss": mel_loss,
            "dur_loss": dur_loss,
            "pitch_loss": pitch_loss,
            "energy_loss": energy_loss if energy_tgt is not None else None,
            "mel_frames": mels.ne(0).sum(),
            "tokens": text_lens.sum(),
            "mel_target": mels if first else None,
            "mel_pred": mels_pred if first else None,
            "attn_hard": attn_hard if first else None,
            "attn_soft": attn_soft if first else None,
            "pitch_target": pitch if first else None,
            "pitch_pred": pitch_pred if first else None,
            "text_len": text_lens if first else None,
        }
        self.validation_step_outputs.append(val_outputs)
        return val_outputs

    def on_validation_epoch_end(self) -> None:
        """Log the validation losses over the whole validation set and, with ``log_images`` and a TensorBoard
        logger, images of the first validation batch.

        ``val_mel_loss`` is the mean over every non-zero target mel cell of the set, ``val_dur_loss``,
        ``val_pitch_loss`` (and ``val_energy_loss``, when batches have energy targets) the means over every
        valid token: each batch's loss is weighted by what it averaged over, and in a distributed run the
        weighted sums of every process are added (:func:`weighted_mean_over_processes`), so each metric is the
        one-process value whatever the batching or the number of processes. ``val_loss`` is the sum of those
        component means. Every process calls the reductions, in the same order, even with no batches.
        """
        outputs = self.validation_step_outputs
        metrics = self._validation_metrics(outputs)
        for name, value in metrics.items():
            self.log(name, value)
        if not outputs:
            return

        first = outputs[0]
        if self.log_images and self.tb_logger is not None:
            self._log_image("val_mel_target", plot_spectrogram_to_numpy(_first(first["mel_target"])))
            self._log_image("val_mel_predicted", plot_spectrogram_to_numpy(_first(first["mel_pred"])))
            if first["attn_hard"] is not None:
                self._log_image("val_attn", plot_alignment_to_numpy(_first(first["attn_hard"]).squeeze(0).T))
                self._log_image(
                    "val_soft_attn", plot_alignment_to_numpy(_first(first["attn_soft"]).squeeze(0).T)
                )
            if first["pitch_target"] is not None:
                length = int(first["text_len"][0])
                target = _first(first["pitch_target"])[:length]
                predicted = _first(first["pitch_pred"])[:length]
                low = float(min(target.min(), predicted.min()))
                high = float(max(target.max(), predicted.max()))
                self._log_image("val_pitch_target", plot_pitch_to_numpy(target, ylim_range=(low, high)))
                self._log_image("val_pitch_predicted", plot_pitch_to_numpy(predicted, ylim_range=(low, high)))
            self.log_train_images = True
        outputs.clear()

    def _validation_metrics(self, outputs: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """``val_loss`` and its components over the whole validation set (all processes), from the step
        outputs of this process (see :meth:`on_validation_epoch_end`)."""

        def reduce(key: str, weight_key: str) -> torch.Tensor:
            steps = [x for x in outputs if x[key] is not None]
            return weighted_mean_over_processes([x[key] for x in steps], [x[weight_key] for x in steps])

        mel_loss = reduce("mel_loss", "mel_frames")
        if torch.isnan(mel_loss):  # no validation frames on any process: nothing to log, on every process
            return {}
        metrics = {
            "val_mel_loss": mel_loss,
            "val_dur_loss": reduce("dur_loss", "tokens"),
            "val_pitch_loss": reduce("pitch_loss", "tokens"),
        }
        if self.fastpitch.energy_predictor is not None:
            # NaN when no batch of any process had an energy target: then it is not logged (on every process).
            energy = reduce("energy_loss", "tokens")
            if not torch.isnan(energy):
                metrics["val_energy_loss"] = energy
        return {"val_loss": sum(metrics.values()), **metrics}

    def _log_image(self, tag: str, image: Any) -> None:
        self.tb_logger.add_image(tag, image, self.global_step, dataformats="HWC")

    # ---------------------------------------------------------------------------------------------- data
    def _setup_dataloader(
        self, cfg: DictConfig, shuffle_should_be: bool, name: str
    ) -> torch.utils.data.DataLoader:
        section = "train_ds" if name == "train" else "validation_ds"
        if "dataset" not in cfg or not isinstance(cfg.dataset, DictConfig):
            raise ValueError(
                f"No dataset for {name}: {section}.dataset is missing. Add {section}.dataset with a `_target_`."
            )
        if "dataloader_params" not in cfg or not isinstance(cfg.dataloader_params, DictConfig):
            raise ValueError(
                f"No dataloader_params for {name}: add {section}.dataloader_params (batch_size, shuffle, ...)."
            )
        if shuffle_should_be:
            if "shuffle" not in cfg.dataloader_params:
                logging.warning(f"{section}.dataloader_params.shuffle is not set; setting it to True.")
                with open_dict(cfg.dataloader_params):
                    cfg.dataloader_params.shuffle = True
            elif not cfg.dataloader_params.shuffle:
                logging.error(f"The {name} dataloader of {type(self).__name__} has shuffle set to False.")
        elif cfg.dataloader_params.get("shuffle", False):
            logging.error(f"The {name} dataloader of {type(self).__name__} has shuffle set to True.")

        if self.ds_class == _TTS_DATASET:
            phone_mode = contextlib.nullcontext()
            if hasattr(self.vocab, "set_phone_prob"):
                prob = None if name == "val" else self.vocab.phoneme_probability
                phone_mode = self.vocab.set_phone_prob(prob=prob)
            with phone_mode:
                dataset = _instantiate(
                    cfg.dataset,
                    f"{section}.dataset",
                    text_normalizer=self.normalizer,
                    text_normalizer_call_kwargs=self.text_normalizer_call_kwargs,
                    text_tokenizer=self.vocab,
                )
        else:
            dataset = _instantiate(cfg.dataset, f"{section}.dataset")
        params = OmegaConf.to_container(cfg.dataloader_params, resolve=True)
        return torch.utils.data.DataLoader(dataset, collate_fn=dataset.collate_fn, **params)

    def setup_training_data(self, cfg: DictConfig) -> None:
        """Build the training DataLoader from ``train_ds`` (NeMo's TTSDataset, given this model's tokenizer)."""
        self._train_dl = self._setup_dataloader(cfg, shuffle_should_be=True, name="train")

    def setup_validation_data(self, cfg: DictConfig) -> None:
        """Build the validation DataLoader from ``validation_ds``."""
        self._validation_dl = self._setup_dataloader(cfg, shuffle_should_be=False, name="val")

    def setup_test_data(self, cfg: DictConfig) -> None:
        """FastPitch has no test loop (as in NeMo)."""

    # ------------------------------------------------------------------------------------------- export
    def _prepare_for_export(self, **kwargs: Any) -> None:
        if self.export_config.get("enable_ragged_batches"):
            raise NotImplementedError(
                "FastPitchModel.export with export_config['enable_ragged_batches']=True (NeMo's flat batches for "
                "Triton) is not supported; export padded (B, T) batches: set it to False."
            )
        super()._prepare_for_export(**kwargs)
        self._input_types = {
            "text": NeuralType(("B", "T"), TokenIndex()),
            "pitch": NeuralType(("B", "T"), RegressionValuesType()),
            "pace": NeuralType(("B", "T")),
            "volume": NeuralType(("B", "T"), optional=True),
            "batch_lengths": NeuralType(("B",), optional=True),
            "speaker": NeuralType(("B",), Index(), optional=True),
        }
        self._output_types = {
            "spect": NeuralType(("B", "D", "T"), MelSpectrogramType()),
            "num_frames": NeuralType(("B",), TokenDurationType()),
            "durs_predicted": NeuralType(("B", "T"), TokenDurationType()),
            "log_durs_predicted": NeuralType(("B", "T"), TokenLogDurationType()),
            "pitch_predicted": NeuralType(("B", "T"), RegressionValuesType()),
        }
        if self.export_config["enable_volume"]:
            self._output_types["volume_aligned"] = NeuralType(("B", "T"), RegressionValuesType())

    def _export_teardown(self) -> None:
        self._input_types = self._output_types = None

    @property
    def disabled_deployment_input_names(self) -> set[str]:
        """Inputs left out of the exported graph: ``speaker`` (single speaker), ``batch_lengths``, ``volume``."""
        disabled = {"batch_lengths"}
        if self.fastpitch.speaker_emb is None:
            disabled.add("speaker")
        if not self.export_config["enable_volume"]:
            disabled.add("volume")
        return disabled

    @property
    def disabled_deployment_output_names(self) -> set[str]:
        """``volume_aligned`` unless ``export_config["enable_volume"]``."""
        return set() if self.export_config["enable_volume"] else {"volume_aligned"}

    @property
    def input_types(self) -> dict[str, NeuralType] | None:
        return self._input_types

    @property
    def output_types(self) -> dict[str, NeuralType] | None:
        return self._output_types

    def input_example(self, max_batch: int = 1, max_dim: int = 44) -> tuple[dict[str, torch.Tensor]]:
        """Export inputs: ``text``, ``pitch``, ``pace`` (B, T) (and ``volume``, ``speaker`` as configured)."""
        device = next(self.fastpitch.parameters()).device
        inputs = sample_tts_input(self.export_config, device, max_batch=max_batch, max_dim=max_dim)
        inputs.pop("batch_lengths", None)
        return (inputs,)

    def forward_for_export(
        self,
        text: torch.Tensor,
        pitch: torch.Tensor,
        pace: torch.Tensor,
        volume: torch.Tensor | None = None,
        batch_lengths: torch.Tensor | None = None,
        speaker: torch.Tensor | None = None,
    ) -> tuple:
        """The exported graph: :meth:`FastPitchModule.infer` (spect, num_frames, durs_predicted,
        log_durs_predicted, pitch_predicted, and volume_aligned when enabled)."""
        outputs = self.fastpitch.infer(text=text, pitch=pitch, pace=pace, volume=volume, speaker=speaker)
        return outputs if self.export_config["enable_volume"] else outputs[:5]

    def interpolate_speaker(
        self,
        original_speaker_1: int,
        original_speaker_2: int,
        weight_speaker_1: float,
        weight_speaker_2: float,
        new_speaker_id: int,
    ) -> None:
        """Set speaker ``new_speaker_id``'s embedding to a weighted sum of two trained speakers' embeddings."""
        if self.fastpitch.speaker_emb is None:
            raise ValueError(
                "interpolate_speaker needs a multi-speaker FastPitch (n_speakers > 1); this one has one speaker."
            )
        n_speakers = self.fastpitch.speaker_emb.num_embeddings
        ids = (original_speaker_1, original_speaker_2, new_speaker_id)
        if any(not 0 <= i < n_speakers for i in ids):
            raise ValueError(
                f"Speaker ids {ids} must lie in [0, {n_speakers}) (n_speakers). Pass ids of trained speakers."
            )
        with torch.no_grad():
            table = self.fastpitch.speaker_emb.weight
            table[new_speaker_id] = (
                weight_speaker_1 * table[original_speaker_1] + weight_speaker_2 * table[original_speaker_2]
            )


def _first(tensor: torch.Tensor) -> Any:
    """The first batch item of ``tensor`` as a float numpy array."""
    return tensor[0].detach().cpu().float().numpy()
