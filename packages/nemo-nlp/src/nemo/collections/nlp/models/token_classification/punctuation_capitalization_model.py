"""``PunctuationCapitalizationModel``: restores punctuation and capitalization of lower-case text (NeMo 1.23's).

A Hugging Face encoder (``bert_model``) and two ``TokenClassifier`` heads (``punct_classifier``,
``capit_classifier``) read every token; a word's labels are those of its first token. Labels come in NeMo's pairs:
the punctuation mark after the word (``O , . ?``) and its capitalization (``O`` lower case, ``U`` capitalized).
Config keys are NeMo's (``conf/punctuation_capitalization_config.yaml``, dataclasses in
``punctuation_capitalization_config``); the label-id files (``class_labels.punct_labels_file`` and
``class_labels.capit_labels_file``) travel inside the ``.nemo``.

Long texts are cut into overlapping segments (``add_punctuation_capitalization``'s ``max_seq_length``, ``step``,
``margin``; see ``BertPunctuationCapitalizationInferDataset``). Each segment gives softmax probabilities for the
words it holds, margins excluded; the probabilities a word gets from the segments covering it are multiplied, and
the label with the largest product wins, as NeMo 1.23 combines them.

Example:
    >>> model = PunctuationCapitalizationModel.restore_from("punctuation.nemo")
    >>> model.add_punctuation_capitalization(["hello how are you", "my name is alice"])
    ['Hello, how are you?', 'My name is Alice.']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from nemo.collections.common.losses import AggregatorLoss, CrossEntropyLoss
from nemo.collections.common.metrics import GlobalAverageLossMetric
from nemo.collections.nlp.data.token_classification.label_id_files import (
    load_label_ids,
    raise_not_equal_labels_error,
    save_label_ids,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_data_config import (
    PunctuationCapitalizationEvalDataConfig,
    PunctuationCapitalizationTrainDataConfig,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_dataset import (
    LABEL_ID_DIR_FOR_NEMO_CHECKPOINT,
    BertPunctuationCapitalizationDataset,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_infer_dataset import (
    BertPunctuationCapitalizationInferDataset,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_tarred_dataset import (
    BertPunctuationCapitalizationTarredDataset,
)
from nemo.collections.nlp.metrics.classification_report import ClassificationReport
from nemo.collections.nlp.models.nlp_model import NLPModel
from nemo.collections.nlp.models.token_classification.punctuation_capitalization_config import (
    is_legacy_model_config,
    legacy_model_config_to_new_model_config,
)
from nemo.collections.nlp.modules.common.token_classifier import TokenClassifier
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LogitsType, NeuralType
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["PunctuationCapitalizationModel"]

_TASKS = ("punct", "capit")


@dataclass
class _WordLabels:
    """The labels of one query's words for one task, built segment by segment in the query's order.

    ``fixed`` holds the chosen label ids of the first words; ``pending`` the probability products ``(W, C)`` of
    the words after them that a later segment may still cover.
    """

    fixed: list[int] = field(default_factory=list)
    pending: np.ndarray | None = None

    def add_segment(self, first_word: int, probs: np.ndarray) -> None:
        """Fold in a segment's word probabilities ``(W_s, C)``, its first word being word ``first_word``.

        Words before ``first_word`` can get no more evidence, so their labels are fixed (argmax); the segment's
        probabilities multiply those of the words already pending and extend them with its new words.
        """
        if self.pending is None:
            self.pending = probs
            return
        self._fix(first_word - len(self.fixed))
        overlap = self.pending.shape[0]
        self.pending = np.concatenate([self.pending * probs[:overlap], probs[overlap:]], axis=0)

    def finish(self) -> list[int]:
        """Fix every pending word and return all label ids."""
        if self.pending is not None:
            self._fix(self.pending.shape[0])
        return self.fixed

    def _fix(self, count: int) -> None:
        if count > self.pending.shape[0]:
            raise RuntimeError(
                f"A segment starts {count} words after the last fixed word, but only {self.pending.shape[0]} words "
                "are pending: the segments do not cover the query contiguously. This is a bug in the segmentation; "
                "please report it with the query and max_seq_length, step and margin."
            )
        if count > 0:
            self.fixed.extend(np.argmax(self.pending[:count], axis=-1).tolist())
        self.pending = self.pending[count:]


def _segment_word_probs(
    probs: np.ndarray,
    subtokens_mask: np.ndarray,
    preceding_words: Sequence[int],
    margin: int,
    is_first: Sequence[bool],
    is_last: Sequence[bool],
) -> tuple[list[np.ndarray], list[int]]:
    """Per segment of a batch: the probabilities of the words it predicts, and the index of its first such word.

    Unless a segment is its query's first, ``[CLS]`` and the ``margin`` tokens after it are dropped (and the words
    starting there are added to its first-word index); unless it is the last, the ``margin`` tokens before the
    padded end ``T`` and the token there (``[SEP]``) are dropped. Of the rest, the first token of each word gives
    that word's probabilities.

    Args:
        probs: ``(B, T, C)`` softmax probabilities.
        subtokens_mask: ``(B, T)`` bool, true on the first token of each word.
        preceding_words: ``(B,)`` the query's words that start before each segment.
        margin: tokens dropped at each inner segment edge.
        is_first: ``(B,)`` whether each segment is its query's first.
        is_last: ``(B,)`` whether each segment is its query's last.

    Returns:
        ``(W_s, C)`` arrays, one per segment, and each segment's first word index.
    """
    length = subtokens_mask.shape[1]
    word_probs, first_words = [], []
    for index, (first, last) in enumerate(zip(is_first, is_last)):
        start = 0 if first else margin + 1
        end = length if last else length - margin - 1
        mask = subtokens_mask[index]
        word_probs.append(probs[index, start:end][mask[start:end]])
        first_words.append(
            int(preceding_words[index]) + (0 if first else int(np.count_nonzero(mask[:start])))
        )
    return word_probs, first_words


class PunctuationCapitalizationModel(NLPModel, Exportable):
    """Punctuation and capitalization restoration: an encoder and two token classification heads.

    Use ``add_punctuation_capitalization`` for inference; train with NeMo's data (``text_*.txt`` and
    ``labels_*.txt``, or tarred data) through ``train_ds`` / ``validation_ds`` / ``test_ds``.

    Args:
        cfg: NeMo's model config (``PunctuationCapitalizationModelConfig``); a pre-1.5 config (with ``dataset``
            instead of ``common_dataset_parameters``) is converted.
        trainer: the Lightning trainer.

    Raises:
        ValueError: the label ids cannot be found (no training data, ``label_vocab_dir`` or
            ``common_dataset_parameters.punct_label_ids`` / ``capit_label_ids``), or label sources disagree.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "punct_logits": NeuralType(("B", "T", "C"), LogitsType()),
            "capit_logits": NeuralType(("B", "T", "C"), LogitsType()),
        }

    def __init__(self, cfg: DictConfig, trainer: pl.Trainer | None = None) -> None:
        if isinstance(cfg, Mapping) and not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(dict(cfg))
        if is_legacy_model_config(cfg):
            cfg = legacy_model_config_to_new_model_config(cfg)
        self.metrics: torch.nn.ModuleDict | None = None
        self.label_ids_are_set = False
        self.punct_label_ids: dict[str, int] | None = None
        self.capit_label_ids: dict[str, int] | None = None
        super().__init__(cfg=cfg, trainer=trainer)
        if not self.label_ids_are_set:
            self._set_label_ids()
        self.punct_classifier = self._head(cfg.punct_head, len(self.punct_label_ids))
        self.capit_classifier = self._head(cfg.capit_head, len(self.capit_label_ids))
        self.loss = CrossEntropyLoss(logits_ndim=3)
        self.agg_loss = AggregatorLoss(num_inputs=2)

    def _head(self, head_cfg: DictConfig, num_classes: int) -> TokenClassifier:
        return TokenClassifier(
            hidden_size=self.hidden_size,
            num_classes=num_classes,
            activation=head_cfg.activation,
            log_softmax=False,
            dropout=head_cfg.fc_dropout,
            num_layers=head_cfg.num_fc_layers,
            use_transformer_init=head_cfg.use_transformer_init,
        )

    @typecheck()
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Punctuation and capitalization logits of every token.

        Args:
            input_ids: ``(B, T)`` token ids.
            attention_mask: ``(B, T)``, true (or 1) on tokens, false on padding.
            token_type_ids: ``(B, T)`` zeros, or ``None``.

        Returns:
            ``punct_logits`` ``(B, T, C_punct)`` and ``capit_logits`` ``(B, T, C_capit)``, float32.
        """
        hidden_states = self.bert_model(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        )
        if isinstance(hidden_states, tuple):
            hidden_states = hidden_states[0]
        punct_logits = self.punct_classifier(hidden_states=hidden_states)
        capit_logits = self.capit_classifier(hidden_states=hidden_states)
        return punct_logits.float(), capit_logits.float()

    # ------------------------------------------------------------------------------------------- steps
    def _make_step(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The summed punctuation and capitalization cross entropy (on ``loss_mask``) and both logits."""
        punct_logits, capit_logits = self(
            input_ids=batch["input_ids"],
            token_type_ids=batch["segment_ids"],
            attention_mask=batch["input_mask"],
        )
        punct_loss = self.loss(
            logits=punct_logits, labels=batch["punct_labels"], loss_mask=batch["loss_mask"]
        )
        capit_loss = self.loss(
            logits=capit_logits, labels=batch["capit_labels"], loss_mask=batch["loss_mask"]
        )
        return self.agg_loss(loss_1=punct_loss, loss_2=capit_loss), punct_logits, capit_logits

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> dict[str, Any]:
        """The loss of one batch (``input_ids``, ``segment_ids``, ``input_mask``, ``loss_mask``, ``punct_labels``,
        ``capit_labels``, each ``(B, T)``); logs ``lr`` and ``train_loss``."""
        loss, _, _ = self._make_step(batch)
        lr = self._optimizer.param_groups[0]["lr"]
        self.log("lr", lr, prog_bar=True)
        self.log("train_loss", loss)
        return {"loss": loss, "lr": lr}

    def eval_step(self, batch: Mapping[str, torch.Tensor], mode: str, dataloader_idx: int) -> dict[str, None]:
        """Update the ``mode`` (``'val'`` or ``'test'``) metrics of dataloader ``dataloader_idx`` with one batch.

        The loss is averaged over ``loss_mask`` tokens; the classification reports count the first token of each
        word (``subtokens_mask``).
        """
        loss, punct_logits, capit_logits = self._make_step(batch)
        words = batch["subtokens_mask"]
        if words.dtype != torch.bool:
            words = words > 0.5
        metrics = self.metrics[mode]
        metrics["loss"][dataloader_idx].update(
            loss=loss, num_measurements=batch["loss_mask"].sum().to(loss.device)
        )
        for task, logits in (("punct", punct_logits), ("capit", capit_logits)):
            metrics[f"{task}_class_report"][dataloader_idx].update(
                logits.argmax(dim=-1)[words], batch[f"{task}_labels"][words]
            )
        return {"loss": None, "punct_class_report": None, "capit_class_report": None}

    @staticmethod
    def _outputs_of(outputs: list, dataloader_idx: int) -> list:
        """The output list of one dataloader: ``outputs`` itself, or its ``dataloader_idx``-th list."""
        return outputs[dataloader_idx] if outputs and isinstance(outputs[0], list) else outputs

    def validation_step(
        self, batch: Mapping[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, None]:
        """See ``eval_step``."""
        output = self.eval_step(batch, "val", dataloader_idx)
        self._outputs_of(self.validation_step_outputs, dataloader_idx).append(output)
        return output

    def test_step(
        self, batch: Mapping[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, None]:
        """See ``eval_step``."""
        output = self.eval_step(batch, "test", dataloader_idx)
        self._outputs_of(self.test_step_outputs, dataloader_idx).append(output)
        return output

    def on_train_epoch_end(self) -> None:
        """Repack the training batches (a ``DataLoader`` shuffle only reorders whole batches)."""
        shuffle = self._cfg.train_ds.get("shuffle") if self._cfg.get("train_ds") is not None else False
        if shuffle is None:
            shuffle = not self._cfg.train_ds.get("use_tarred_dataset", False)
        dataloader = self.train_dataloader()
        if (
            shuffle
            and dataloader is not None
            and isinstance(dataloader.dataset, BertPunctuationCapitalizationDataset)
        ):
            dataloader.dataset.repack_batches_with_shuffle()

    def _multi_eval_epoch_end(self, mode: str, dataloader_idx: int) -> dict[str, dict[str, torch.Tensor]]:
        """Compute, log and reset the metrics of one dataloader: ``<mode>_loss``, ``<mode>_punct_precision``,
        ``<mode>_punct_f1``, ``<mode>_punct_recall`` and the same for ``capit`` (percent, macro over labels)."""
        metrics = self.metrics[mode]
        log = {f"{mode}_loss": metrics["loss"][dataloader_idx].compute()}
        metrics["loss"][dataloader_idx].reset()
        for task, title in (("punct", "Punctuation"), ("capit", "Capitalization")):
            report_metric = metrics[f"{task}_class_report"][dataloader_idx]
            precision, recall, f1, report = report_metric.compute()
            report_metric.reset()
            log[f"{mode}_{task}_precision"] = precision
            log[f"{mode}_{task}_f1"] = f1
            log[f"{mode}_{task}_recall"] = recall
            logging.info(f"{title} report: {report}")
        return {"log": log}

    def multi_validation_epoch_end(
        self, outputs: Any, dataloader_idx: int = 0
    ) -> dict[str, dict[str, torch.Tensor]]:
        """Log the validation metrics of dataloader ``dataloader_idx`` (``val_*``)."""
        return self._multi_eval_epoch_end("val", dataloader_idx)

    def multi_test_epoch_end(
        self, outputs: Any, dataloader_idx: int = 0
    ) -> dict[str, dict[str, torch.Tensor]]:
        """Log the test metrics of dataloader ``dataloader_idx`` (``test_*``)."""
        return self._multi_eval_epoch_end("test", dataloader_idx)

    # -------------------------------------------------------------------------------------- config
    def update_config_after_restoring_from_checkpoint(self, **kwargs: Any) -> None:
        """Change config sections of a restored model before fine-tuning or testing it.

        ``class_labels``, ``common_dataset_parameters``, ``train_ds``, ``validation_ds`` and ``test_ds`` are merged
        into the current sections (a data section missing from the config starts from NeMo's data config
        defaults; ``None`` removes a data section); ``optim`` replaces the whole section. Label ids given here must
        equal the model's.

        Keyword Args:
            class_labels: label-id file names.
            common_dataset_parameters: labels and loss mask settings.
            train_ds: training data.
            validation_ds: validation data.
            test_ds: test data.
            optim: optimizer and scheduler.

        Raises:
            ValueError: an unknown keyword, ``class_labels`` or ``common_dataset_parameters`` set to ``None``, or
                label ids different from the model's.
        """
        allowed = {
            "class_labels",
            "common_dataset_parameters",
            "train_ds",
            "validation_ds",
            "test_ds",
            "optim",
        }
        unexpected = set(kwargs) - allowed
        if unexpected:
            raise ValueError(
                f"update_config_after_restoring_from_checkpoint got unexpected keyword(s) {sorted(unexpected)}; "
                f"expected some of {sorted(allowed)}."
            )
        for key in ("class_labels", "common_dataset_parameters"):
            if key in kwargs and kwargs[key] is None:
                raise ValueError(
                    f"`{key}` is None, but the model config cannot lose its `{key}` section. Pass the keys to change, "
                    f"or leave `{key}` out."
                )
        with open_dict(self._cfg):
            if "class_labels" in kwargs:
                self._cfg.class_labels = OmegaConf.merge(
                    self._cfg.class_labels, OmegaConf.create(kwargs["class_labels"])
                )
            if "common_dataset_parameters" in kwargs:
                self._cfg.common_dataset_parameters = OmegaConf.merge(
                    self._cfg.common_dataset_parameters, OmegaConf.create(kwargs["common_dataset_parameters"])
                )
                self._check_label_config_parameters()
            for key, defaults in (
                ("train_ds", PunctuationCapitalizationTrainDataConfig),
                ("validation_ds", PunctuationCapitalizationEvalDataConfig),
                ("test_ds", PunctuationCapitalizationEvalDataConfig),
            ):
                if key not in kwargs:
                    continue
                if kwargs[key] is None:
                    self._cfg[key] = None
                    continue
                base = self._cfg.get(key)
                if base is None:
                    base = OmegaConf.structured(defaults)
                self._cfg[key] = OmegaConf.merge(base, OmegaConf.create(kwargs[key]))
            if "optim" in kwargs:
                self._cfg.optim = kwargs["optim"]
        self.cfg = self._cfg

    # ------------------------------------------------------------------------------------------ labels
    def _extract_label_vocab_files_from_config(self) -> tuple[Path | str | None, Path | str | None]:
        """The label-id files the config names: the archive's while restoring, else ``label_vocab_dir``'s."""
        if self._is_model_being_restored():
            return self._labels_file("punct"), self._labels_file("capit")
        label_vocab_dir = self._cfg.common_dataset_parameters.label_vocab_dir
        if label_vocab_dir is None:
            return None, None
        folder = Path(label_vocab_dir).expanduser()
        return folder / self._labels_file("punct"), folder / self._labels_file("capit")

    def _check_label_config_parameters(self) -> None:
        """Check that the config's label ids agree with each other and with the model's, and that the pad label
        has id 0.

        Raises:
            ValueError: ``common_dataset_parameters.punct_label_ids`` differs from the file in ``label_vocab_dir``
                (or the same for ``capit``), either differs from the ids the model already has, or the pad label's
                id is not 0.
            FileNotFoundError: ``label_vocab_dir`` lacks a ``class_labels`` file.
        """
        common = self._cfg.common_dataset_parameters
        restoring = self._is_model_being_restored()
        # While restoring, the archive's label files are read by _set_label_ids; nothing else is set yet.
        files = (None, None) if restoring else self._extract_label_vocab_files_from_config()
        for task, vocab_file in zip(_TASKS, files):
            ids_key = f"{task}_label_ids"
            config_ids = common.get(ids_key)
            config_ids = None if config_ids is None else OmegaConf.to_container(config_ids)
            source = f"config key `model.common_dataset_parameters.{ids_key}`"
            if vocab_file is not None:
                file_ids = load_label_ids(vocab_file)
                file_source = f"labels in {vocab_file} (`model.common_dataset_parameters.label_vocab_dir`)"
                if config_ids is not None and config_ids != file_ids:
                    raise_not_equal_labels_error(config_ids, file_ids, source, file_source)
                config_ids, source = file_ids, file_source
            current = getattr(self, ids_key)
            if config_ids is not None and current is not None and config_ids != current:
                raise_not_equal_labels_error(
                    config_ids, current, source, f"the model's label ids (`{ids_key}`)"
                )
            if config_ids is not None and config_ids.get(common.pad_label) != 0:
                raise ValueError(
                    f"Pad label {common.pad_label!r} has id {config_ids.get(common.pad_label, 'missing')} in the "
                    f"{source}; expected id 0. Put `model.common_dataset_parameters.pad_label` first, with id 0."
                )

    def _labels_file(self, task: str) -> str:
        """``class_labels.<task>_labels_file``: a file name (NeMo's ``<task>_label_ids.csv`` when unset), or a path
        once the file is an artifact (an absolute path then wins over ``label_vocab_dir``)."""
        class_labels = self._cfg.get("class_labels")
        key = f"{task}_labels_file"
        if class_labels is None or OmegaConf.is_missing(class_labels, key) or not class_labels.get(key):
            return f"{task}_label_ids.csv"
        return str(class_labels.get(key))

    def _set_label_ids(self) -> None:
        """Set ``punct_label_ids`` and ``capit_label_ids`` from the config (or the archive being restored) and
        register the label-id files as artifacts.

        Raises:
            ValueError: neither a label-id file nor ``common_dataset_parameters.<task>_label_ids`` gives them.
        """
        common = self._cfg.common_dataset_parameters
        for task, vocab_file in zip(_TASKS, self._extract_label_vocab_files_from_config()):
            key = f"class_labels.{task}_labels_file"
            path = None if vocab_file is None else self.register_artifact(key, str(vocab_file))
            if path is not None:
                label_ids = load_label_ids(path)
            elif common.get(f"{task}_label_ids") is not None:
                if vocab_file is not None:
                    logging.warning(
                        f"The label-id file `{key}` ({vocab_file}) was not found; using "
                        f"`model.common_dataset_parameters.{task}_label_ids`."
                    )
                label_ids = OmegaConf.to_container(common.get(f"{task}_label_ids"))
                path = self._write_label_file(label_ids, task)
                self.register_artifact(key, str(path))
            else:
                raise ValueError(
                    f"The {task} label ids are unknown: set `model.common_dataset_parameters.{task}_label_ids`, or "
                    f"`model.common_dataset_parameters.label_vocab_dir` (a folder holding `model.class_labels` files), "
                    "or give `model.train_ds` so that they are read from the training labels."
                )
            setattr(self, f"{task}_label_ids", label_ids)
        self.label_ids_are_set = True

    def _write_label_file(self, label_ids: Mapping[str, int], task: str) -> Path:
        """Write a label-id file into the model's own folder (never next to the data) and return its path."""
        name = Path(self._labels_file(task)).name
        path = Path(self._generated_folder()) / LABEL_ID_DIR_FOR_NEMO_CHECKPOINT / name
        save_label_ids(label_ids, path)
        return path

    # -------------------------------------------------------------------------------------------- data
    def setup_training_data(self, train_data_config: DictConfig | dict | None = None) -> None:
        """The training loader from ``train_data_config`` (missing keys take NeMo's defaults) or ``train_ds``.

        The training data fixes the label ids (unless already set) and its label-id files become the
        ``class_labels`` artifacts: written to ``label_info_save_dir`` when set, else to the model's own folder.
        """
        if train_data_config is not None:
            train_data_config = OmegaConf.merge(
                OmegaConf.structured(PunctuationCapitalizationTrainDataConfig),
                OmegaConf.create(train_data_config),
            )
        else:
            train_data_config = self._cfg.get("train_ds")
        if train_data_config is None:
            raise ValueError(
                "No training data: `model.train_ds` is not set and no config was passed to setup_training_data. "
                "Give a data config with ds_item, text_file and labels_file (or tar_metadata_file)."
            )
        self._train_dl = self._setup_dataloader_from_config(
            cfg=train_data_config, train=True, section="train_ds"
        )
        if train_data_config.get("use_tarred_dataset"):
            self._fix_limit_batches_for_tarred_data("limit_train_batches", self._train_dl)
        dataset = self._train_dl.dataset
        self.punct_label_ids = dict(dataset.punct_label_ids)
        self.capit_label_ids = dict(dataset.capit_label_ids)
        self.label_ids_are_set = True
        if (
            torch.distributed.is_available()
            and torch.distributed.is_initialized()
            and torch.distributed.get_rank()
        ):
            return
        names = [Path(self._labels_file(task)).name for task in _TASKS]
        label_vocab_dir = self._cfg.common_dataset_parameters.label_vocab_dir
        if label_vocab_dir is not None:
            files = [Path(label_vocab_dir).expanduser() / name for name in names]
        elif train_data_config.get("label_info_save_dir") is not None:
            files = dataset.save_labels_and_get_file_paths(*names)
        else:
            files = [self._write_label_file(getattr(self, f"{task}_label_ids"), task) for task in _TASKS]
        for task, path in zip(_TASKS, files):
            self.register_artifact(f"class_labels.{task}_labels_file", str(path))

    def _fix_limit_batches_for_tarred_data(
        self, attribute: str, dataloader: torch.utils.data.DataLoader
    ) -> None:
        """Turn a fractional ``trainer.limit_*_batches`` into batches of this process (tarred data has no length
        Lightning can use); an int the user set is kept."""
        if self._trainer is None:
            logging.warning(
                f"No trainer is attached while the tarred dataset is set up, so `{attribute}` cannot be set to the "
                "number of batches. Call set_trainer(trainer) first, then set up the data again."
            )
            return
        limit = getattr(self._trainer, attribute)
        if isinstance(limit, float):
            setattr(
                self._trainer, attribute, int(limit * math.ceil(len(dataloader.dataset) / self.world_size))
            )

    def _setup_metrics_dictionary(self) -> None:
        def empty() -> torch.nn.ModuleDict:
            names = ("loss", "punct_class_report", "capit_class_report")
            return torch.nn.ModuleDict({name: torch.nn.ModuleList() for name in names})

        self.metrics = torch.nn.ModuleDict({"val": empty(), "test": empty()})

    def _add_eval_metrics(self, mode: str) -> None:
        """Append a loss metric and macro classification reports (NeMo's) for one more ``mode`` dataloader."""
        metrics = self.metrics[mode]
        metrics["loss"].append(GlobalAverageLossMetric(dist_sync_on_step=False, take_avg_loss=True))
        for task in _TASKS:
            label_ids = getattr(self, f"{task}_label_ids")
            metrics[f"{task}_class_report"].append(
                ClassificationReport(
                    num_classes=len(label_ids), label_ids=label_ids, mode="macro", dist_sync_on_step=False
                )
            )

    def setup_validation_data(self, val_data_config: DictConfig | dict | None = None) -> None:
        """A validation loader from ``val_data_config`` (missing keys take NeMo's defaults) or ``validation_ds``,
        and its metrics."""
        self._setup_eval_data("val", "validation_ds", val_data_config)

    def setup_test_data(self, test_data_config: DictConfig | dict | None = None) -> None:
        """A test loader from ``test_data_config`` (missing keys take NeMo's defaults) or ``test_ds``, and its
        metrics."""
        self._setup_eval_data("test", "test_ds", test_data_config)

    def _setup_eval_data(self, mode: str, section: str, data_config: DictConfig | dict | None) -> None:
        if data_config is not None:
            data_config = OmegaConf.merge(
                OmegaConf.structured(PunctuationCapitalizationEvalDataConfig), OmegaConf.create(data_config)
            )
        else:
            data_config = self._cfg.get(section)
        if data_config is None:
            raise ValueError(
                f"No {section} data: `model.{section}` is not set and no config was passed. Give a data config with "
                "ds_item, text_file and labels_file (or tar_metadata_file)."
            )
        if self.metrics is None:
            self._setup_metrics_dictionary()
        dataloader = self._setup_dataloader_from_config(cfg=data_config, train=False, section=section)
        setattr(self, "_validation_dl" if mode == "val" else "_test_dl", dataloader)
        if data_config.get("use_tarred_dataset"):
            self._fix_limit_batches_for_tarred_data(
                "limit_val_batches" if mode == "val" else "limit_test_batches", dataloader
            )
        self._add_eval_metrics(mode)

    def _setup_dataloader_from_config(
        self, cfg: DictConfig, train: bool, section: str = "train_ds"
    ) -> torch.utils.data.DataLoader:
        """The dataset (``BertPunctuationCapitalizationDataset`` or the tarred one) and its loader.

        Args:
            cfg: a data section with every key of ``PunctuationCapitalizationEvalDataConfig``.
            train: training data (labels may come from it; batches reshuffled with the epoch as seed).
            section: the config key of ``cfg``, for messages.

        Raises:
            ValueError: ``ds_item``, the data files or ``tokens_in_batch`` are not set.
        """
        self._check_label_config_parameters()
        if not self.label_ids_are_set and not train:
            self._set_label_ids()
        ds_item = cfg.get("ds_item") if not OmegaConf.is_missing(cfg, "ds_item") else None
        if ds_item is None:
            raise ValueError(
                f"`model.{section}.ds_item` is not set: expected the directory holding the data files. Set it, "
                f"e.g. model.{section}.ds_item=/path/to/data."
            )
        common = self._cfg.common_dataset_parameters
        if cfg.use_tarred_dataset:
            if cfg.tar_metadata_file is None:
                raise ValueError(
                    f"`model.{section}.use_tarred_dataset` is true, so `model.{section}.tar_metadata_file` must name "
                    "the tarred dataset's metadata file (relative to ds_item); it is null. Set it, or set "
                    "use_tarred_dataset=false with text_file and labels_file."
                )
            dataset = BertPunctuationCapitalizationTarredDataset(
                metadata_file=Path(ds_item).expanduser() / cfg.tar_metadata_file,
                tokenizer=self.tokenizer,
                pad_label=common.pad_label,
                label_info_save_dir=cfg.label_info_save_dir,
                ignore_extra_tokens=common.ignore_extra_tokens,
                ignore_start_end=common.ignore_start_end,
                world_size=self.world_size,
                global_rank=self.global_rank,
                shuffle_n=cfg.tar_shuffle_n,
                shard_strategy=cfg.shard_strategy,
                use_audio=cfg.use_audio,
            )
            dataset.check_for_label_consistency_with_model_config(
                self.punct_label_ids, self.capit_label_ids, self._cfg.class_labels, common
            )
        else:
            dataset = self._text_dataset(cfg, ds_item, train, section)
        shuffle = cfg.shuffle
        if shuffle and cfg.use_tarred_dataset:
            logging.warning(
                f"`model.{section}.shuffle` is ignored for tarred data; tar_shuffle_n shuffles it."
            )
            shuffle = False
        return torch.utils.data.DataLoader(
            dataset=dataset,
            collate_fn=dataset.collate_fn,
            batch_size=1 if cfg.use_bucketing else cfg.batch_size,
            shuffle=shuffle,
            num_workers=cfg.num_workers,
            pin_memory=cfg.pin_memory,
            drop_last=cfg.drop_last,
            persistent_workers=cfg.persistent_workers if cfg.num_workers > 0 else False,
        )

    def _text_dataset(
        self, cfg: DictConfig, ds_item: str, train: bool, section: str
    ) -> BertPunctuationCapitalizationDataset:
        """``BertPunctuationCapitalizationDataset`` of ``ds_item/text_file`` and ``ds_item/labels_file``."""
        if cfg.text_file is None or cfg.labels_file is None:
            raise ValueError(
                f"`model.{section}.use_tarred_dataset` is false, so `text_file` and `labels_file` must name the data "
                f"files; got text_file={cfg.text_file!r}, labels_file={cfg.labels_file!r}. Set both."
            )
        if cfg.tokens_in_batch is None and cfg.use_bucketing:
            raise ValueError(
                f"`model.{section}.tokens_in_batch` is null; expected the number of tokens per batch (e.g. 5000), "
                "or use_bucketing=false with batch_size."
            )
        common = self._cfg.common_dataset_parameters
        if self.label_ids_are_set:
            label_kwargs: dict[str, Any] = {
                "punct_label_ids": self.punct_label_ids,
                "capit_label_ids": self.capit_label_ids,
            }
        else:
            punct_file, capit_file = self._extract_label_vocab_files_from_config()
            label_kwargs = {
                "punct_label_ids": common.punct_label_ids,
                "capit_label_ids": common.capit_label_ids,
                "punct_label_vocab_file": punct_file,
                "capit_label_vocab_file": capit_file,
            }
        if train:
            number_of_batches_is_multiple_of = 1
            seed = 0 if self._trainer is None else self._trainer.current_epoch
        else:
            seed = 0
            number_of_batches_is_multiple_of = (
                1 if self._trainer is None else self._trainer.num_nodes * self._trainer.num_devices
            )
        if self._trainer is None:
            logging.warning(
                f"No trainer is attached while `model.{section}` is set up: "
                + (
                    "batches are shuffled with seed 0 instead of the epoch number."
                    if train
                    else "with several processes, some batches may be evaluated twice."
                )
                + " Call set_trainer(trainer) before setting up the data."
            )
        folder = Path(ds_item).expanduser()
        return BertPunctuationCapitalizationDataset(
            text_file=folder / cfg.text_file,
            labels_file=folder / cfg.labels_file,
            max_seq_length=cfg.max_seq_length,
            tokenizer=self.tokenizer,
            num_samples=cfg.num_samples,
            tokens_in_batch=cfg.tokens_in_batch,
            pad_label=common.pad_label,
            ignore_extra_tokens=common.ignore_extra_tokens,
            ignore_start_end=common.ignore_start_end,
            use_cache=cfg.use_cache,
            cache_dir=cfg.cache_dir,
            get_label_frequencies=cfg.get_label_frequences,
            label_info_save_dir=cfg.label_info_save_dir,
            verbose=cfg.verbose,
            n_jobs=cfg.n_jobs,
            number_of_batches_is_multiple_of=number_of_batches_is_multiple_of,
            batch_shuffling_random_seed=seed,
            use_audio=cfg.use_audio,
            audio_file=cfg.audio_file,
            sample_rate=cfg.sample_rate,
            use_bucketing=cfg.use_bucketing,
            preload_audios=cfg.preload_audios,
            **label_kwargs,
        )

    # --------------------------------------------------------------------------------------- inference
    def _setup_infer_dataloader(
        self,
        queries: list[str],
        batch_size: int,
        max_seq_length: int,
        step: int,
        margin: int,
        dataloader_kwargs: dict[str, Any] | None,
    ) -> torch.utils.data.DataLoader:
        """A loader of the queries' overlapping segments (see ``BertPunctuationCapitalizationInferDataset``) in
        batches of segments of similar length, so that little is padded; ``loader.batch_sampler`` lists each
        batch's segment indices."""
        dataset = BertPunctuationCapitalizationInferDataset(
            queries=queries, tokenizer=self.tokenizer, max_seq_length=max_seq_length, step=step, margin=margin
        )
        by_length = sorted(range(len(dataset)), key=lambda index: len(dataset.all_input_ids[index]))
        batches = [by_length[start : start + batch_size] for start in range(0, len(by_length), batch_size)]
        return torch.utils.data.DataLoader(
            dataset=dataset, collate_fn=dataset.collate_fn, batch_sampler=batches, **(dataloader_kwargs or {})
        )

    def add_punctuation_capitalization(
        self,
        queries: list[str],
        batch_size: int | None = None,
        max_seq_length: int = 64,
        step: int = 8,
        margin: int = 16,
        return_labels: bool = False,
        dataloader_kwargs: dict[str, Any] | None = None,
    ) -> list[str]:
        """Restore punctuation and capitalization of lower-case, unpunctuated queries.

        Queries longer than a segment are cut into overlapping segments of ``max_seq_length`` tokens (``[CLS]``
        and ``[SEP]`` included), ``step`` tokens apart; the ``margin`` tokens at a segment's inner edges do not
        vote. The probabilities a word gets from the segments covering it are multiplied and the largest product
        gives its labels. A capitalized word gets ``str.capitalize()`` (first letter upper case, the rest lower
        case, as in NeMo); a punctuation label other than the pad label is appended to the word.

        Args:
            queries: lower-case text without punctuation, words separated by whitespace.
            batch_size: segments per forward pass; ``None`` uses ``len(queries)``.
            max_seq_length: segment length in tokens, ``[CLS]`` and ``[SEP]`` included.
            step: offset in tokens between consecutive segments of a query.
            margin: tokens at each inner segment edge whose predictions are discarded.
            return_labels: return NeMo's label strings (``"OU ,O .O"``, one pair per word) instead of text.
            dataloader_kwargs: extra ``torch.utils.data.DataLoader`` arguments (``num_workers``, ...).

        Returns:
            One string per query.

        Raises:
            ValueError: bad ``max_seq_length``, ``step`` or ``margin``.
        """
        if not queries:
            return []
        if batch_size is None:
            batch_size = len(queries)
        dataloader = self._setup_infer_dataloader(
            queries, batch_size, max_seq_length, step, margin, dataloader_kwargs
        )
        # Batches hold segments of similar length; each segment's word probabilities are kept by its index and
        # folded into its query's labels in the segments' order afterwards.
        segments: dict[int, tuple[int, dict[str, tuple[int, np.ndarray]]]] = {}
        mode = self.training
        device = self.device
        try:
            self.eval()
            with torch.inference_mode():
                for indices, batch in zip(dataloader.batch_sampler, dataloader):
                    input_ids, segment_ids, input_mask, subtokens_mask, preceding, query_ids, first, last = (
                        batch
                    )
                    logits = self.forward(
                        input_ids=input_ids.to(device),
                        token_type_ids=segment_ids.to(device),
                        attention_mask=input_mask.to(device),
                    )
                    words = subtokens_mask.numpy()
                    per_task = {}
                    for task, task_logits in zip(_TASKS, logits):
                        probs = torch.softmax(task_logits, dim=-1).cpu().numpy()
                        per_task[task] = _segment_word_probs(probs, words, preceding, margin, first, last)
                    for row, (index, query) in enumerate(zip(indices, query_ids)):
                        segments[index] = (
                            query,
                            {
                                task: (first_words[row], word_probs[row])
                                for task, (word_probs, first_words) in per_task.items()
                            },
                        )
        finally:
            self.train(mode=mode)
        labels = {task: [_WordLabels() for _ in queries] for task in _TASKS}
        for index in sorted(segments):
            query, per_task = segments[index]
            for task, (first_word, segment_probs) in per_task.items():
                labels[task][query].add_segment(first_word, segment_probs)
        punct = [query_labels.finish() for query_labels in labels["punct"]]
        capit = [query_labels.finish() for query_labels in labels["capit"]]
        if return_labels:
            return [self._get_labels(p, c) for p, c in zip(punct, capit)]
        return [self._apply_punct_capit_predictions(q, p, c) for q, p, c in zip(queries, punct, capit)]

    def _apply_punct_capit_predictions(
        self, query: str, punct_preds: list[int], capit_preds: list[int]
    ) -> str:
        """``query`` with its words capitalized and followed by their punctuation as the label ids say."""
        words = query.split()
        self._check_word_count(words, punct_preds, capit_preds)
        pad_label = self._cfg.common_dataset_parameters.pad_label
        punct_labels = {index: label for label, index in self.punct_label_ids.items()}
        capit_labels = {index: label for label, index in self.capit_label_ids.items()}
        restored = []
        for word, punct_id, capit_id in zip(words, punct_preds, capit_preds):
            if capit_labels[capit_id] != pad_label:
                word = word.capitalize()
            punct_label = punct_labels[punct_id]
            restored.append(word if punct_label == pad_label else word + punct_label)
        return " ".join(restored)

    def _get_labels(self, punct_preds: list[int], capit_preds: list[int]) -> str:
        """NeMo's label string: ``<punctuation><capitalization>`` per word, separated by spaces."""
        self._check_word_count(None, punct_preds, capit_preds)
        punct_labels = {index: label for label, index in self.punct_label_ids.items()}
        capit_labels = {index: label for label, index in self.capit_label_ids.items()}
        return " ".join(punct_labels[p] + capit_labels[c] for p, c in zip(punct_preds, capit_preds))

    @staticmethod
    def _check_word_count(words: list[str] | None, punct_preds: list[int], capit_preds: list[int]) -> None:
        counts = {"punctuation labels": len(punct_preds), "capitalization labels": len(capit_preds)}
        if words is not None:
            counts["words"] = len(words)
        if len(set(counts.values())) > 1:
            raise RuntimeError(
                f"Predictions do not match the words: {counts}. Expected one label of each kind per word; this is a "
                f"bug in the segmentation, please report it with the query (first words: {(words or [])[:30]})."
            )

    @property
    def output_module(self) -> torch.nn.Module:
        return self

    @classmethod
    def list_available_models(cls) -> list:
        """No pretrained punctuation models are published for this package (NeMo's are on NGC)."""
        return []
