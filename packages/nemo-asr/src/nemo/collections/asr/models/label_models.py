"""EncDecSpeakerLabelModel: audio -> features -> encoder -> speaker logits and embeddings (TitaNet, ECAPA-TDNN,
SpeakerNet).

NeMo 1.23's model of the same name: the same config keys (``preprocessor``, ``spec_augment``, ``encoder``,
``decoder``, ``loss``, ``train_ds``/``validation_ds``/``test_ds``, ``optim``), the same logged names
(``loss``, ``learning_rate``, ``training_batch_accuracy_top_0``; ``val_loss``, ``val_acc_micro_top_1``,
``val_acc_macro``), the same inference methods (``get_embedding``, ``verify_speakers``, ``get_label``,
``batch_inference``) and state-dict keys, so NeMo's ``.nemo`` files restore here and ours in NeMo.

Example:
    >>> model = EncDecSpeakerLabelModel.restore_from("titanet.nemo")
    >>> model.get_embedding("a.wav").shape
    torch.Size([1, 192])
    >>> model.verify_speakers("a.wav", "b.wav", threshold=0.7)
    True
"""

from __future__ import annotations

import copy
import math
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.data.audio_to_label import AudioToSpeechLabelDataset
from nemo.collections.asr.data.audio_to_label_dataset import get_tarred_speech_label_dataset
from nemo.collections.asr.data.manifest import read_manifest_entries, split_manifest_paths
from nemo.collections.asr.models.classification_models import topk_log
from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer
from nemo.collections.common.metrics import TopKClassificationAccuracy
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    AudioSignal,
    LengthsType,
    LogitsType,
    NeuralType,
)
from nemo.utils import logging
from nemo.utils.distributed import sum_steps_over_processes, weighted_mean_over_processes
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["EncDecSpeakerLabelModel"]

_CROSS_ENTROPY_TARGET = "nemo.collections.common.losses.CrossEntropyLoss"
# Manifest keys holding an utterance's speaker, in the order NeMo looks for them.
_LABEL_KEYS = ("command", "target", "label")


class EncDecSpeakerLabelModel(ModelPT):
    """Speaker recognition and verification: an encoder, a :class:`SpeakerDecoder`, a softmax-type loss.

    Args:
        cfg: the ``model`` section of a NeMo speaker config (``titanet-*.yaml``, ``ecapa_tdnn.yaml``,
            ``SpeakerNet_*.yaml``).
        trainer: Lightning trainer (sets the world size and the scheduler's steps).

    ``loss._target_`` chooses the loss (cross entropy without a ``loss`` section). A target naming an
    ``angular`` loss makes the decoder angular (``decoder.angular``, not written to the config, as in NeMo).
    ``loss.weight: auto`` weights the training loss by inverse class frequency of ``train_ds``; the
    evaluation loss is never weighted.
    """

    def __init__(self, cfg: DictConfig, trainer: Any = None) -> None:
        self.cal_labels_occurrence_train = False
        self.labels_occurrence: list[int] | None = None
        self.labels: list[Any] | None = None
        loss_cfg = cfg.get("loss") if isinstance(cfg, (DictConfig, dict)) else None
        if loss_cfg is not None and loss_cfg.get("weight") == "auto":
            self.cal_labels_occurrence_train = True
        super().__init__(cfg=cfg, trainer=trainer)

        self.loss, self.eval_loss, angular = self._build_losses(self._cfg.get("loss"))
        self._accuracy = TopKClassificationAccuracy(top_k=[1])
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        decoder_cfg = copy.deepcopy(self._cfg.decoder)
        if angular:
            with open_dict(decoder_cfg):
                decoder_cfg.angular = True
        self.decoder = self.from_config_dict(decoder_cfg)
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment else None

    def _build_losses(self, loss_cfg: DictConfig | None) -> tuple[torch.nn.Module, torch.nn.Module, bool]:
        """``(training loss, evaluation loss, angular)`` from the ``loss`` section."""
        if loss_cfg is None:
            plain = OmegaConf.create({"_target_": _CROSS_ENTROPY_TARGET})
            return self.from_config_dict(plain), self.from_config_dict(plain), False
        train_cfg, eval_cfg = copy.deepcopy(loss_cfg), copy.deepcopy(loss_cfg)
        if "weight" in loss_cfg:
            with open_dict(train_cfg), open_dict(eval_cfg):
                train_cfg.weight = self._class_weights() if loss_cfg.weight == "auto" else loss_cfg.weight
                eval_cfg.weight = None
        angular = "angular" in str(loss_cfg.get("_target_", ""))
        return self.from_config_dict(train_cfg), self.from_config_dict(eval_cfg), angular

    def _class_weights(self) -> list[float] | None:
        """Inverse-frequency class weights of the training labels (``loss.weight: auto``)."""
        if not self.labels_occurrence:
            return None
        if 0 in self.labels_occurrence:
            missing = [label for label, count in zip(self.labels or [], self.labels_occurrence) if count == 0]
            raise ValueError(
                f"loss.weight is 'auto' but labels {missing} never occur in train_ds; every class needs examples "
                "to be weighted. Remove those labels or give loss.weight explicitly."
            )
        total, classes = sum(self.labels_occurrence), len(self.labels_occurrence)
        return [total / (classes * count) for count in self.labels_occurrence]

    # --------------------------------------------------------------------------------------------- data
    @staticmethod
    def extract_labels(data_layer_config: DictConfig | dict) -> list[Any] | None:
        """The sorted set of labels in a dataset config's manifests (within its duration limits).

        Returns:
            The labels, or None (with a warning) when the config has no ``manifest_filepath``.
        """
        manifest_filepath = data_layer_config.get("manifest_filepath")
        if manifest_filepath is None:
            logging.warning("No manifest_filepath was provided, no labels got extracted!")
            return None
        if isinstance(manifest_filepath, ListConfig):
            manifest_filepath = OmegaConf.to_container(manifest_filepath)
        min_duration = data_layer_config.get("min_duration")
        max_duration = data_layer_config.get("max_duration")
        labels = set()
        for path in _flat_manifest_paths(manifest_filepath):
            for entry in read_manifest_entries(path, resolve_audio_paths=False):
                if (min_duration is not None and entry.duration < min_duration) or (
                    max_duration is not None and entry.duration > max_duration
                ):
                    continue
                label = next((entry.extra[key] for key in _LABEL_KEYS if key in entry.extra), None)
                if label is None:
                    raise ValueError(
                        f"{entry.where}: no speaker label. Every line of a speaker manifest needs the key 'label'."
                    )
                labels.add(label)
        labels = sorted(labels)
        logging.warning(f"Total number of {len(labels)} found in all the manifest files.")
        return labels

    def _setup_dataloader_from_config(self, config: DictConfig) -> torch.utils.data.DataLoader | None:
        """A DataLoader of ``(audio (B, T), audio_len (B,), label (B,), label_len (B,))`` batches, every clip
        repeated to the batch's longest (``fixed_seq_collate_fn``), or None when the manifest is null."""
        augmentor = None
        if config.get("augmentor") is not None:
            augmentor = process_augmentations(config.augmentor, self.global_rank, self.world_size)
        featurizer = WaveformFeaturizer(
            sample_rate=config.sample_rate, int_values=config.get("int_values", False), augmentor=augmentor
        )
        shuffle = config.get("shuffle", False)
        if config.get("is_tarred", False):
            if config.get("tarred_audio_filepaths") is None or config.get("manifest_filepath") is None:
                logging.warning(
                    "Could not load dataset as `manifest_filepath` was None or `tarred_audio_filepaths` is None. "
                    f"Provided config : {config}"
                )
                return None
            if config.get("is_concat", False):
                raise ValueError(
                    "is_concat: true (concatenated tarred speaker datasets) is not supported. Set is_concat: false "
                    "and list every shard in tarred_audio_filepaths and every manifest in manifest_filepath."
                )
            dataset = get_tarred_speech_label_dataset(
                featurizer=featurizer,
                config=config,
                shuffle_n=config.get("shuffle_n", 4 * config.batch_size) if shuffle else 0,
                global_rank=self.global_rank,
                world_size=self.world_size,
            )
            shuffle = False
        else:
            if config.get("manifest_filepath") is None:
                logging.warning(
                    f"Could not load dataset as `manifest_filepath` was None. Provided config : {config}"
                )
                return None
            dataset = AudioToSpeechLabelDataset(
                manifest_filepath=_plain(config.manifest_filepath),
                labels=_plain(config.get("labels")),
                featurizer=featurizer,
                min_duration=config.get("min_duration"),
                max_duration=config.get("max_duration"),
                trim=config.get("trim_silence", False),
                normalize_audio=config.get("normalize_audio", False),
                cal_labels_occurrence=config.get("cal_labels_occurrence", False),
            )
            if dataset.labels_occurrence:
                self.labels_occurrence = dataset.labels_occurrence
        # A chain of tarred buckets batches as its first dataset does (NeMo's rule).
        collate_fn = (
            getattr(dataset, "fixed_seq_collate_fn", None) or dataset.datasets[0].fixed_seq_collate_fn
        )
        return torch.utils.data.DataLoader(
            dataset=dataset,
            batch_size=config.batch_size,
            collate_fn=collate_fn,
            drop_last=config.get("drop_last", False),
            shuffle=shuffle,
            num_workers=config.get("num_workers", 0),
            pin_memory=config.get("pin_memory", False),
        )

    def setup_training_data(self, train_data_layer_config: DictConfig | dict | None) -> None:
        """Training data: the labels are the sorted labels of its manifests, written to ``train_ds.labels``."""
        if train_data_layer_config is None:
            return
        config = _as_config(train_data_layer_config)
        self.labels = self.extract_labels(config)
        num_classes = OmegaConf.select(self._cfg, "decoder.num_classes")
        if self.labels is not None and num_classes is not None and len(self.labels) > num_classes:
            raise ValueError(
                f"train_ds has {len(self.labels)} speakers but decoder.num_classes={num_classes}. Set "
                f"model.decoder.num_classes to {len(self.labels)} (or more)."
            )
        with open_dict(config):
            config.labels = self.labels
            config.setdefault("shuffle", True)
            if self.cal_labels_occurrence_train:
                config.cal_labels_occurrence = True
        self._update_dataset_config("train", config)
        self._train_dl = self._setup_dataloader_from_config(config)
        dataset = getattr(self._train_dl, "dataset", None)
        if isinstance(dataset, torch.utils.data.IterableDataset):
            self._limit_iterable_train_batches(len(dataset), config.batch_size)

    def _limit_iterable_train_batches(self, num_samples: int, batch_size: int) -> None:
        """A streamed dataset's length is samples, not batches: set the trainer's batch limit to match."""
        if self._trainer is None:
            logging.warning(
                "Model Trainer was not set before constructing the dataset, incorrect number of training batches "
                "will be used. Please set the trainer and rebuild the dataset."
            )
        elif isinstance(self._trainer.limit_train_batches, float):
            batches = math.ceil((num_samples / self.world_size) / batch_size)
            self._trainer.limit_train_batches = int(self._trainer.limit_train_batches * batches)

    def setup_validation_data(self, val_data_layer_config: DictConfig | dict | None) -> None:
        """Validation data, labelled with the training labels (``train_ds.labels`` of a restored model)."""
        if val_data_layer_config is None:
            return
        config = _as_config(val_data_layer_config)
        labels = self.labels
        if labels is None and self._cfg.get("train_ds") is not None:
            labels = _plain(self._cfg.train_ds.get("labels"))
        with open_dict(config):
            config.labels = labels
        self._update_dataset_config("validation", config)
        self._validation_dl = self._setup_dataloader_from_config(config)

    def setup_test_data(self, test_data_layer_params: DictConfig | dict | None) -> None:
        """Test data with its own ``labels`` (None: those of its manifest); ``embedding_dir`` is kept."""
        if test_data_layer_params is None:
            return
        config = _as_config(test_data_layer_params)
        self._update_dataset_config("test", config)
        self.embedding_dir = config.get("embedding_dir", "./")
        self._test_dl = self._setup_dataloader_from_config(config)
        self.test_manifest = config.get("manifest_filepath")

    # -------------------------------------------------------------------------------------------- model
    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input_signal`` (B, T) at the preprocessor's rate and ``input_signal_length`` (B,)."""
        return {
            "input_signal": NeuralType(
                ("B", "T"), AudioSignal(freq=getattr(self.preprocessor, "_sample_rate", None))
            ),
            "input_signal_length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``logits`` (B, K) and ``embs`` (B, E)."""
        return {
            "logits": NeuralType(("B", "D"), LogitsType()),
            "embs": NeuralType(("B", "D"), AcousticEncodedRepresentation()),
        }

    @typecheck()
    def forward(
        self, input_signal: torch.Tensor, input_signal_length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Speaker logits and embeddings of a batch of waveforms.

        Args:
            input_signal: (B, T) waveforms at the preprocessor's sample rate.
            input_signal_length: (B,) valid samples per waveform.

        Returns:
            ``(logits, embs)``: (B, K) and (B, E).
        """
        processed_signal, processed_signal_len = self.preprocessor(
            input_signal=input_signal, length=input_signal_length
        )
        if self.spec_augmentation is not None and self.training:
            processed_signal = self.spec_augmentation(
                input_spec=processed_signal, length=processed_signal_len
            )
        encoded, length = self.encoder(audio_signal=processed_signal, length=processed_signal_len)
        return self.decoder(encoder_output=encoded, length=length)

    def forward_for_export(
        self, processed_signal: torch.Tensor, processed_signal_len: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, D, T) and lengths (B,) -> ``(logits, embs)``, without the preprocessor."""
        encoded, length = self.encoder(audio_signal=processed_signal, length=processed_signal_len)
        return self.decoder(encoder_output=encoded, length=length)

    # ----------------------------------------------------------------------------------------- training
    def training_step(self, batch, batch_idx):
        audio_signal, audio_signal_len, labels, _ = batch
        logits, _ = self.forward(input_signal=audio_signal, input_signal_length=audio_signal_len)
        loss = self.loss(logits=logits, labels=labels)
        # The forward's value is this batch's accuracy; compute() would gather the other processes' counts.
        top_k = self._accuracy(logits=logits, labels=labels)
        self._accuracy.reset()
        logged = {
            "loss": loss,
            "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
            "global_step": float(self.trainer.global_step),
        }
        # NeMo 1.23 names the top-1 accuracy by its position in top_k: training_batch_accuracy_top_0.
        logged.update({f"training_batch_accuracy_top_{index}": score for index, score in enumerate(top_k)})
        self.log_dict(logged, on_step=True)
        return {"loss": loss}

    def evaluation_step(self, batch, batch_idx: int, dataloader_idx: int = 0, tag: str = "val") -> dict:
        """Loss, top-k counts and per-class statistics of one ``tag`` (``val``/``test``) batch."""
        audio_signal, audio_signal_len, labels, _ = batch
        logits, _ = self.forward(input_signal=audio_signal, input_signal_length=audio_signal_len)
        loss_value = self.eval_loss(logits=logits, labels=labels)
        acc_top_k = self._accuracy(logits=logits, labels=labels)
        output = {
            f"{tag}_loss": loss_value,
            f"{tag}_correct_counts": self._accuracy.correct_counts_k,
            f"{tag}_total_counts": self._accuracy.total_counts_k,
            f"{tag}_acc_micro_top_k": acc_top_k,
            f"{tag}_acc_macro_stats": class_stat_scores(logits, labels, self.decoder.num_classes),
        }
        store = self.validation_step_outputs if tag == "val" else self.test_step_outputs
        (store[dataloader_idx] if store and isinstance(store[0], list) else store).append(output)
        return output

    def multi_evaluation_epoch_end(
        self, outputs: list[dict], dataloader_idx: int = 0, tag: str = "val"
    ) -> dict:
        """Per-utterance mean loss, micro top-k accuracy and macro accuracy over the whole ``tag`` set.

        Each step's loss (a batch mean) is weighted by its utterances (``total_counts[0]``), and the top-k
        counts and per-class statistics of every process are summed first, so in a distributed run all three
        equal the one-process result on the same data. Every process must call it (see ``sum_over_processes``).
        """
        loss_mean = weighted_mean_over_processes(
            [output[f"{tag}_loss"] for output in outputs],
            [output[f"{tag}_total_counts"][0] for output in outputs],
        )
        top_k = self._accuracy.top_k
        micro = topk_log(outputs, tag, top_k, f"{tag}_acc_micro_top_{{}}", self.device)
        topk_scores = list(micro.values())
        shape = (4, self.decoder.num_classes)
        stats = sum_steps_over_processes([x[f"{tag}_acc_macro_stats"] for x in outputs], shape, self.device)
        macro_accuracy = macro_accuracy_from_stats(stats)
        log = {f"{tag}_loss": loss_mean, f"{tag}_acc_macro": macro_accuracy, **micro}
        return {
            f"{tag}_loss": loss_mean,
            f"{tag}_acc_micro_top_k": topk_scores,
            f"{tag}_acc_macro": macro_accuracy,
            "log": log,
        }

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        return self.evaluation_step(batch, batch_idx, dataloader_idx, "val")

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self.multi_evaluation_epoch_end(outputs, dataloader_idx, "val")

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0):
        return self.evaluation_step(batch, batch_idx, dataloader_idx, "test")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self.multi_evaluation_epoch_end(outputs, dataloader_idx, "test")

    # ---------------------------------------------------------------------------------------- inference
    def _inference_sample_rate(self) -> int:
        """The rate files are read at: ``train_ds.sample_rate`` (NeMo's rule), else the preprocessor's."""
        train_ds = self._cfg.get("train_ds")
        if train_ds is not None and train_ds.get("sample_rate") is not None:
            return int(train_ds.sample_rate)
        return int(getattr(self.preprocessor, "_sample_rate", 16000))

    def _read_audio(self, path2audio_file: str | os.PathLike) -> np.ndarray:
        """(T,) float32 samples of a file at :meth:`_inference_sample_rate` (channels averaged)."""
        segment = AudioSegment.from_file(
            path2audio_file, target_sr=self._inference_sample_rate(), channel_selector="average"
        )
        return segment.samples

    @torch.no_grad()
    def infer_segment(self, segment: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedding and logits of one waveform at the model's rate.

        Args:
            segment: (T,) samples.

        Returns:
            ``(emb, logits)``: (1, E) and (1, K), on the model's device.
        """
        audio = torch.as_tensor(np.asarray(segment), dtype=torch.float32, device=self.device).reshape(1, -1)
        length = torch.tensor([audio.shape[1]], device=self.device)
        was_training = self.training
        self.eval()
        try:
            logits, emb = self.forward(input_signal=audio, input_signal_length=length)
        finally:
            self.train(was_training)
        return emb, logits

    @torch.no_grad()
    def infer_file(self, path2audio_file: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedding and logits of an audio file, read (and resampled) at ``train_ds.sample_rate``.

        Returns:
            ``(emb, logits)``: (1, E) and (1, K).
        """
        return self.infer_segment(self._read_audio(path2audio_file))

    def get_embedding(self, path2audio_file: str | os.PathLike) -> torch.Tensor:
        """The speaker embedding (1, E) of an audio file."""
        emb, _ = self.infer_file(path2audio_file=path2audio_file)
        return emb

    def get_label(
        self,
        path2audio_file: str | os.PathLike,
        segment_duration: float = np.inf,
        num_segments: int = 1,
        random_seed: int | None = None,
    ) -> Any:
        """The training label the model gives a file: the majority vote over random segments.

        Args:
            path2audio_file: the audio file.
            segment_duration: seconds per segment (the whole file when longer than it).
            num_segments: segments to vote over.
            random_seed: seed of numpy's generator that draws the segment starts.

        Returns:
            The label (from ``train_ds.labels``), or its id when the config holds no labels.
        """
        audio = self._read_audio(path2audio_file)
        sample_rate = self._inference_sample_rate()
        duration = len(audio) if math.isinf(segment_duration) else int(sample_rate * segment_duration)
        duration = min(duration, len(audio))
        starts = np.random.RandomState(random_seed).randint(0, len(audio) - duration + 1, size=num_segments)
        votes = []
        for start in starts:
            _, logits = self.infer_segment(audio[start : start + duration])
            votes.append(int(logits.argmax(dim=1)[0]))
        label_id = Counter(votes).most_common(1)[0][0]
        trained_labels = self._cfg.train_ds.get("labels") if self._cfg.get("train_ds") is not None else None
        if trained_labels is None:
            logging.info("labels are not saved to model, hence only outputting the label id index")
            return label_id
        return list(trained_labels)[label_id]

    @torch.no_grad()
    def verify_speakers(
        self, path2audio_file1: str | os.PathLike, path2audio_file2: str | os.PathLike, threshold: float = 0.7
    ) -> bool:
        """Whether two files hold the same speaker.

        The score is the cosine similarity of the two L2-normalised embeddings, mapped to [0, 1] as
        ``(cos + 1) / 2``; the files match when the score is at least ``threshold``.

        Returns:
            True for the same speaker, False otherwise.
        """
        score = speaker_similarity(self.get_embedding(path2audio_file1), self.get_embedding(path2audio_file2))
        if score >= threshold:
            logging.info(" two audio files are from same speaker")
            return True
        logging.info(" two audio files are from different speakers")
        return False

    @torch.no_grad()
    def batch_inference(
        self, manifest_filepath: str, batch_size: int = 32, sample_rate: int = 16000, device: str = "cuda"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any] | None]:
        """Embeddings and logits of every file of a manifest (its ``label`` keys are the speakers).

        Args:
            manifest_filepath: manifest with ``audio_filepath``, ``duration``, ``label``.
            batch_size: files per forward pass (each batch repeats its clips to the longest one).
            sample_rate: rate the files are read at.
            device: where to run (``cuda`` or ``cpu``); the model stays there.

        Returns:
            ``(embs (N, E), logits (N, K), gt_labels (N,), trained_labels)``, in manifest order;
            ``trained_labels`` is ``train_ds.labels`` in id order.
        """
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"batch_inference(device={device!r}) but CUDA is not available here. Pass device='cpu'."
            )
        was_training = self.training
        self.eval()
        self.to(device)
        trained_labels = self._cfg.train_ds.get("labels") if self._cfg.get("train_ds") is not None else None
        trained_labels = list(trained_labels) if trained_labels is not None else None
        dataset = AudioToSpeechLabelDataset(
            manifest_filepath=manifest_filepath,
            labels=None,
            featurizer=WaveformFeaturizer(sample_rate=sample_rate),
        )
        dataloader = torch.utils.data.DataLoader(
            dataset=dataset, batch_size=batch_size, collate_fn=dataset.fixed_seq_collate_fn
        )
        logits, embs, gt_labels = [], [], []
        try:
            for audio_signal, audio_signal_len, labels, _ in dataloader:
                logit, emb = self.forward(
                    input_signal=audio_signal.to(device), input_signal_length=audio_signal_len.to(device)
                )
                logits.append(logit.cpu().numpy())
                embs.append(emb.cpu().numpy())
                gt_labels.extend(dataset.id2label[int(label)] for label in labels)
        finally:
            self.train(was_training)
        return np.concatenate(embs), np.concatenate(logits), np.asarray(gt_labels), trained_labels

    # ---------------------------------------------------------------------------------------- pretrained
    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained speaker models known locally (plugin-registered); nothing is downloaded."""
        from nemo.core.registry import list_pretrained

        return [info for info in list_pretrained("asr") if info.class_ is cls]


def speaker_similarity(emb1: torch.Tensor, emb2: torch.Tensor) -> float:
    """NeMo's verification score of two embeddings: ``(cos + 1) / 2`` of their L2-normalised forms, in [0, 1].

    Args:
        emb1: (1, E) or (E,) embedding.
        emb2: (1, E) or (E,) embedding.
    """
    x = emb1.squeeze() / torch.linalg.norm(emb1.squeeze())
    y = emb2.squeeze() / torch.linalg.norm(emb2.squeeze())
    cosine = torch.dot(x, y) / torch.sqrt(torch.dot(x, x) * torch.dot(y, y))
    return float((cosine + 1) / 2)


def class_stat_scores(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class true positives, false positives, true negatives and false negatives of argmax predictions.

    Args:
        logits: (B, K) scores.
        labels: (B,) true classes.
        num_classes: ``K``.

    Returns:
        (4, K) int64 counts: rows ``tp``, ``fp``, ``tn``, ``fn``.
    """
    predictions = torch.nn.functional.one_hot(logits.argmax(dim=1), num_classes).bool()
    truth = torch.nn.functional.one_hot(labels.long(), num_classes).bool()
    tp = (predictions & truth).sum(dim=0)
    fp = (predictions & ~truth).sum(dim=0)
    fn = (~predictions & truth).sum(dim=0)
    tn = labels.shape[0] - tp - fp - fn
    return torch.stack([tp, fp, tn, fn])


def macro_accuracy_from_stats(stats: torch.Tensor) -> torch.Tensor:
    """Macro-averaged accuracy (mean per-class recall) from (4, K) ``tp, fp, tn, fn`` counts.

    As torchmetrics' multiclass macro accuracy: a class that is neither predicted nor present is left out;
    a class that is predicted but never present scores 0.
    """
    tp, fp, _, fn = stats.double()
    seen = (tp + fp + fn) > 0
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    return (recall[seen].sum() / seen.sum().clamp(min=1)).float()


def _flat_manifest_paths(manifest_filepath: str | Sequence[Any]) -> list[str]:
    """Manifest paths of a config value: a comma-separated string, a list, or NeMo's list of lists."""
    if isinstance(manifest_filepath, (str, os.PathLike)):
        return split_manifest_paths(manifest_filepath)
    paths: list[str] = []
    for item in manifest_filepath:
        paths.extend(_flat_manifest_paths(item))
    return paths


def _plain(value: Any) -> Any:
    """A config value as plain Python (lists instead of ListConfig)."""
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def _as_config(config: DictConfig | dict) -> DictConfig:
    """A dataset config as a DictConfig; a DictConfig is kept as is, so its interpolations still resolve."""
    return config if isinstance(config, DictConfig) else OmegaConf.create(config)
