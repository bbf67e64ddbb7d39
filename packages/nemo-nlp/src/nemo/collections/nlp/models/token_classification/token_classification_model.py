"""``TokenClassificationModel``: one label per word (named entities and the like), NeMo 1.23's model.

A Hugging Face encoder (``bert_model``) and a ``TokenClassifier`` head (``classifier``, NeMo's
``classifier.mlp.layer0`` ... keys) read every token; a word's label is its first token's. Data are NeMo's
``text.txt`` (words separated by spaces, a sentence a line) and ``labels.txt`` (one label per word), found in
``dataset.data_dir`` under the ``text_file`` / ``labels_file`` names of ``train_ds``, ``validation_ds`` and
``test_ds``. Config keys are NeMo's (``conf/token_classification_config.yaml``).

The label ids (``label_ids``: label -> id, the pad label ``O`` first) come from the training labels or from a
label-id file; the label-id file (``class_labels.class_labels_file``) travels inside the ``.nemo``. Unlike NeMo,
nothing is written next to the data: the label-id file and the label statistics go to the model's own temporary
folder.

Batches are cut to their longest sequence, and inference runs queries in batches of similar length, so padding
costs little; the results are those of NeMo's padded batches.

Example:
    >>> model = TokenClassificationModel.restore_from("ner.nemo")
    >>> model.add_predictions(["Alice flew to Paris ."])
    ['Alice[B-PER] flew to Paris[B-LOC] .']
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from nemo.collections.common.losses.cross_entropy import CrossEntropyLoss
from nemo.collections.nlp.data.data_utils.data_preprocessing import get_labels_to_labels_id_mapping
from nemo.collections.nlp.data.token_classification.label_id_files import (
    load_label_ids,
    raise_not_equal_labels_error,
    save_label_ids,
)
from nemo.collections.nlp.data.token_classification.token_classification_dataset import (
    BertTokenClassificationDataset,
    BertTokenClassificationInferDataset,
)
from nemo.collections.nlp.data.token_classification.token_classification_utils import get_label_ids
from nemo.collections.nlp.metrics.classification_report import ClassificationReport
from nemo.collections.nlp.models.nlp_model import NLPModel
from nemo.collections.nlp.modules.common.token_classifier import TokenClassifier
from nemo.core.classes.typecheck import typecheck
from nemo.utils import logging
from nemo.utils.distributed import weighted_mean_over_processes
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["TokenClassificationModel"]

_LABELS_FILE_KEY = "class_labels.class_labels_file"
_CLASS_BALANCING = (None, "weighted_loss")


def _trim_padding(collate: Callable[[list], Sequence[torch.Tensor]], items: list) -> tuple[torch.Tensor, ...]:
    """Collate ``items`` and drop the padding columns that no sequence of the batch uses.

    Sequences are padded on the right, and ``input_mask`` (the third tensor) marks their tokens, so the columns
    after the longest sequence of the batch hold only padding: masked out of attention, loss and metrics.

    Returns:
        The collated tensors, each ``(B, T_batch)``.
    """
    tensors = collate(items)
    length = int(tensors[2].sum(dim=1).max())
    return tuple(tensor[:, :length] for tensor in tensors)


class TokenClassificationModel(NLPModel):
    """Token classification (named entity recognition and the like) on a Hugging Face encoder.

    Args:
        cfg: NeMo's token classification config: ``label_ids`` (a dict, a label-id file, or ``null`` to take
            them from the training labels), ``class_labels``, ``dataset``, ``train_ds`` / ``validation_ds`` /
            ``test_ds``, ``tokenizer``, ``language_model``, ``head``, ``optim``.
        trainer: the Lightning trainer.

    Raises:
        FileNotFoundError: ``label_ids`` names a file that does not exist, or a data file is missing.
        ValueError: no label ids (neither ``label_ids`` nor training data), ids other than ``0 .. n-1``, an unknown
            ``dataset.class_balancing``, or bad data (messages name the file and line).
    """

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        if isinstance(cfg, Mapping) and not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(dict(cfg))
        label_ids = cfg.get("label_ids")
        if isinstance(label_ids, str):
            if not os.path.isfile(label_ids):
                raise FileNotFoundError(
                    f"model.label_ids is {label_ids!r}, which is not a file. Expected a label-id file (one label "
                    "a line, the pad label first) or a dict label -> id; fix model.label_ids, or set it to null "
                    "to take the labels from the training data."
                )
            logging.info(f"Reusing label_ids file found at {label_ids}.")
            with open_dict(cfg):
                cfg.label_ids = OmegaConf.create(get_labels_to_labels_id_mapping(label_ids))
        self.class_weights: list[float] | None = None
        super().__init__(cfg=cfg, trainer=trainer)

        label_ids = self._label_ids()
        self.classifier = TokenClassifier(
            hidden_size=self.hidden_size,
            num_classes=len(label_ids),
            num_layers=self._cfg.head.num_fc_layers,
            activation=self._cfg.head.activation,
            log_softmax=False,
            dropout=self._cfg.head.fc_dropout,
            use_transformer_init=self._cfg.head.use_transformer_init,
        )
        self.loss = self.setup_loss(class_balancing=self._cfg.dataset.get("class_balancing"))
        self.classification_report = ClassificationReport(
            len(label_ids), label_ids=label_ids, mode="macro", dist_sync_on_step=False
        )  # counts are summed over processes once, in compute() at epoch end: never per step
        self._register_label_ids_file(label_ids)

    # ------------------------------------------------------------------------------------------ labels
    def _label_ids(self) -> dict[str, int]:
        """``cfg.label_ids`` as a dict, checked: ids ``0 .. n-1``."""
        label_ids = self._cfg.get("label_ids")
        if not label_ids:
            raise ValueError(
                "model.label_ids is empty and no training data gave the labels. Set model.label_ids to a label-id "
                "file (one label a line, the pad label first) or a dict label -> id, or give model.train_ds "
                "(text_file and labels_file under model.dataset.data_dir) to take them from the training labels."
            )
        label_ids = {str(label): int(index) for label, index in label_ids.items()}
        if sorted(label_ids.values()) != list(range(len(label_ids))):
            raise ValueError(
                f"model.label_ids has ids {sorted(label_ids.values())}; expected 0..{len(label_ids) - 1}, each once. "
                "Renumber the labels from 0 without gaps."
            )
        return label_ids

    def _register_label_ids_file(self, label_ids: dict[str, int]) -> None:
        """Make ``class_labels.class_labels_file`` an artifact holding ``label_ids``.

        While restoring, the archive's file is registered and checked against ``label_ids``; otherwise (no file
        registered by ``setup_training_data``) the file is written to the model's temporary folder under the name
        ``class_labels.class_labels_file`` gives (default ``label_ids.csv``).

        Raises:
            ValueError: the archive's label-id file disagrees with ``label_ids``.
        """
        if _LABELS_FILE_KEY in (getattr(self, "artifacts", None) or {}):
            return
        configured = self._class_labels_file()
        if self._is_model_being_restored():
            path = self.register_artifact(_LABELS_FILE_KEY, configured)
            if path is not None:
                saved = load_label_ids(path)
                if saved != label_ids:
                    raise_not_equal_labels_error(
                        saved, label_ids, f"label-id file {configured} of the archive", "model.label_ids"
                    )
                return
        path = Path(self._generated_folder()) / os.path.basename(configured)
        save_label_ids(label_ids, path)
        self.register_artifact(_LABELS_FILE_KEY, str(path))

    def _class_labels_file(self) -> str:
        """``class_labels.class_labels_file``, set to NeMo's ``label_ids.csv`` when the config has none."""
        if not OmegaConf.select(self._cfg, _LABELS_FILE_KEY):
            with open_dict(self._cfg):
                OmegaConf.update(self._cfg, _LABELS_FILE_KEY, "label_ids.csv", force_add=True)
        return self._cfg.class_labels.class_labels_file

    def update_data_dir(self, data_dir: str) -> None:
        """Set ``dataset.data_dir``, the folder the data configs' ``text_file`` and ``labels_file`` are in.

        Args:
            data_dir: the data folder.
        """
        with open_dict(self._cfg):
            self._cfg.dataset.data_dir = data_dir
        logging.info(f"Setting model.dataset.data_dir to {data_dir}.")

    # -------------------------------------------------------------------------------------------- loss
    def setup_loss(self, class_balancing: str | None = None) -> CrossEntropyLoss:
        """The loss: cross entropy over ``(B, T, C)`` logits, weighted by ``class_weights`` with ``weighted_loss``.

        Args:
            class_balancing: ``None`` or ``"weighted_loss"`` (``dataset.class_balancing``).

        Raises:
            ValueError: another value.
        """
        if class_balancing not in _CLASS_BALANCING:
            raise ValueError(
                f"model.dataset.class_balancing is {class_balancing!r}; expected null or 'weighted_loss'. Fix "
                "the config key."
            )
        if class_balancing == "weighted_loss" and self.class_weights:
            logging.debug("Using weighted_loss class balancing.")
            return CrossEntropyLoss(logits_ndim=3, weight=self.class_weights)
        return CrossEntropyLoss(logits_ndim=3)

    # ----------------------------------------------------------------------------------------- forward
    @typecheck()
    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        """Label logits of every token.

        Args:
            input_ids: ``(B, T)`` token ids.
            attention_mask: ``(B, T)``, 1 for tokens, 0 for padding.
            token_type_ids: ``(B, T)`` segment ids.

        Returns:
            ``(B, T, C)`` logits, ``C = len(label_ids)``.
        """
        hidden_states = self.bert_model(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        )
        if isinstance(hidden_states, tuple):
            hidden_states = hidden_states[0]
        return self.classifier(hidden_states=hidden_states)

    # ------------------------------------------------------------------------------------------- steps
    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, Any]:
        """Masked cross entropy of one batch; logs ``train_loss`` and ``lr``."""
        input_ids, input_type_ids, input_mask, _, loss_mask, labels = batch
        logits = self(input_ids=input_ids, token_type_ids=input_type_ids, attention_mask=input_mask)
        loss = self.loss(logits=logits, labels=labels, loss_mask=loss_mask)
        lr = self._optimizer.param_groups[0]["lr"]
        self.log("train_loss", loss)
        self.log("lr", lr, prog_bar=True)
        return {"loss": loss, "lr": lr}

    def _evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> dict[str, torch.Tensor]:
        """Loss of one batch, and the counts of the first token of each word added to the report."""
        input_ids, input_type_ids, input_mask, subtokens_mask, loss_mask, labels = batch
        logits = self(input_ids=input_ids, token_type_ids=input_type_ids, attention_mask=input_mask)
        loss = self.loss(logits=logits, labels=labels, loss_mask=loss_mask)
        first_tokens = subtokens_mask > 0.5
        self.classification_report.update(logits.argmax(dim=-1)[first_tokens], labels[first_tokens])
        output = {
            f"{split}_loss": loss,
            f"{split}_loss_weight": self.loss.mean_denominator(labels, loss_mask),
        }
        (self.validation_step_outputs if split == "val" else self.test_step_outputs).append(output)
        return output

    def _log_evaluation(self, split: str) -> None:
        """Log ``<split>_loss``, ``precision``, ``f1`` and ``recall`` (NeMo's names) and the report.

        Over the whole evaluation set, the same on every process of a distributed run: the loss is the
        per-token mean of every process's batches, the report sums every process's counts.
        """
        outputs = self.validation_step_outputs if split == "val" else self.test_step_outputs
        if not outputs:
            return
        average_loss = weighted_mean_over_processes(
            [output[f"{split}_loss"] for output in outputs],
            [output[f"{split}_loss_weight"] for output in outputs],
        )
        outputs.clear()
        precision, recall, f1, report = self.classification_report.compute()
        logging.info(report)
        self.log(f"{split}_loss", average_loss, prog_bar=True)
        self.log("precision", precision)
        self.log("f1", f1)
        self.log("recall", recall)
        self.classification_report.reset()

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        """Loss and word-level counts of one validation batch."""
        return self._evaluation_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        """Log ``val_loss``, ``precision``, ``f1``, ``recall`` (macro averages, percent) and the report."""
        self._log_evaluation("val")

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        """Loss and word-level counts of one test batch."""
        return self._evaluation_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        """Log ``test_loss``, ``precision``, ``f1``, ``recall`` and the report."""
        self._log_evaluation("test")

    # -------------------------------------------------------------------------------------------- data
    def _data_files(self, data_config: DictConfig, key: str) -> tuple[str, str]:
        """The ``text_file`` and ``labels_file`` of ``data_config`` joined to ``dataset.data_dir``."""
        data_dir = self._cfg.dataset.get("data_dir")
        if not data_dir or not os.path.isdir(data_dir):
            raise FileNotFoundError(
                f"model.dataset.data_dir is {data_dir!r}, which is not a folder. Expected the folder holding "
                f"model.{key}.text_file and labels_file; set model.dataset.data_dir."
            )
        return os.path.join(data_dir, data_config.text_file), os.path.join(data_dir, data_config.labels_file)

    def setup_training_data(self, train_data_config: DictConfig | None = None) -> None:
        """The training loader from ``train_ds``; sets ``label_ids`` (created or checked) and class weights."""
        if train_data_config is None:
            train_data_config = self._cfg.train_ds
        _, labels_file = self._data_files(train_data_config, "train_ds")
        class_labels_file = self._class_labels_file()
        label_ids, label_ids_filename, class_weights = get_label_ids(
            label_file=labels_file,
            is_training=True,
            pad_label=self._cfg.dataset.pad_label,
            label_ids_dict=self._cfg.get("label_ids") or None,
            get_weights=True,
            class_labels_file_artifact=os.path.basename(class_labels_file),
            label_info_save_dir=self._generated_folder(),
        )
        self.class_weights = class_weights + [1.0] * (len(label_ids) - len(class_weights))
        with open_dict(self._cfg):
            self._cfg.label_ids = OmegaConf.create(label_ids)
        self.register_artifact(_LABELS_FILE_KEY, label_ids_filename)
        self._train_dl = self._setup_dataloader_from_config(train_data_config, "train_ds")
        if hasattr(self, "loss"):
            self.loss = self.setup_loss(class_balancing=self._cfg.dataset.get("class_balancing"))

    def setup_validation_data(self, val_data_config: DictConfig | None = None) -> None:
        """The validation loader from ``validation_ds``; its labels must be among ``label_ids``."""
        if val_data_config is None:
            val_data_config = self._cfg.validation_ds
        self._validation_dl = self._setup_dataloader_from_config(val_data_config, "validation_ds")

    def setup_test_data(self, test_data_config: DictConfig | None = None) -> None:
        """The test loader from ``test_ds``; its labels must be among ``label_ids``."""
        if test_data_config is None:
            test_data_config = self._cfg.test_ds
        self._test_dl = self._setup_dataloader_from_config(test_data_config, "test_ds")

    def _setup_dataloader_from_config(self, cfg: DictConfig, key: str) -> torch.utils.data.DataLoader:
        """A loader of ``BertTokenClassificationDataset`` batches, each cut to its longest sequence."""
        text_file, labels_file = self._data_files(cfg, key)
        label_ids = self._cfg.get("label_ids")
        if not label_ids:
            raise ValueError(
                f"model.{key} cannot be set up before the label ids are known: model.label_ids is empty. Give "
                "model.train_ds, or set model.label_ids to a label-id file or a dict label -> id."
            )
        dataset_cfg = self._cfg.dataset
        dataset = BertTokenClassificationDataset(
            text_file=text_file,
            label_file=labels_file,
            max_seq_length=dataset_cfg.max_seq_length,
            tokenizer=self.tokenizer,
            num_samples=cfg.get("num_samples", -1),
            pad_label=dataset_cfg.pad_label,
            label_ids=dict(label_ids),
            ignore_extra_tokens=dataset_cfg.get("ignore_extra_tokens", False),
            ignore_start_end=dataset_cfg.get("ignore_start_end", False),
            use_cache=dataset_cfg.get("use_cache", False),
        )
        num_workers = dataset_cfg.get("num_workers", 0) or 0
        return torch.utils.data.DataLoader(
            dataset=dataset,
            collate_fn=functools.partial(_trim_padding, dataset.collate_fn),
            batch_size=cfg.batch_size,
            shuffle=cfg.get("shuffle", False),
            num_workers=num_workers,
            pin_memory=dataset_cfg.get("pin_memory", False),
            drop_last=dataset_cfg.get("drop_last", False),
            persistent_workers=num_workers > 0,
        )

    # --------------------------------------------------------------------------------------- inference
    @torch.inference_mode()
    def _infer(self, queries: Sequence[str], batch_size: int = 32) -> list[int]:
        """The predicted label id of every word of ``queries``, query after query.

        Queries are tokenized in one call and run in batches of similar length on the model's device; the result
        does not depend on ``batch_size``.

        Args:
            queries: text sequences, words separated by whitespace.
            batch_size: queries per forward pass.

        Returns:
            One label id per word, in word order (``sum(len(q.split()) for q in queries)`` ids).

        Raises:
            ValueError: ``batch_size`` is below 1, or a query has more tokens than the encoder has positions.
        """
        if batch_size is None or batch_size < 1:
            raise ValueError(
                f"batch_size is {batch_size!r}; expected a positive int (queries per forward pass)."
            )
        dataset = BertTokenClassificationInferDataset(
            queries=queries, max_seq_length=-1, tokenizer=self.tokenizer
        )
        lengths = dataset.all_input_mask.sum(axis=1)
        self._check_fits_encoder(lengths)
        order = np.argsort(lengths, kind="stable")
        device = next(self.parameters()).device
        per_query: list[list[int]] = [[] for _ in queries]
        mode = self.training
        try:
            self.eval()
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                length = int(lengths[rows].max())
                input_ids = torch.from_numpy(dataset.all_input_ids[rows, :length]).to(device)
                segment_ids = torch.from_numpy(dataset.all_segment_ids[rows, :length]).to(device)
                input_mask = torch.from_numpy(dataset.all_input_mask[rows, :length]).to(device)
                logits = self.forward(
                    input_ids=input_ids, token_type_ids=segment_ids, attention_mask=input_mask
                )
                predictions = logits.argmax(dim=-1).cpu().numpy()
                first_tokens = dataset.all_subtokens_mask[rows, :length] > 0.5
                for row, query_predictions, mask in zip(rows, predictions, first_tokens):
                    per_query[row] = query_predictions[mask].tolist()
        finally:
            self.train(mode=mode)
        return [label_id for predictions in per_query for label_id in predictions]

    def _check_fits_encoder(self, lengths: np.ndarray) -> None:
        """Raise if a sequence (``[CLS]`` and ``[SEP]`` included) is longer than the encoder's positions."""
        positions = getattr(getattr(self.bert_model, "config", None), "max_position_embeddings", None)
        if positions is None or not lengths.size or int(lengths.max()) <= positions:
            return
        index = int(np.argmax(lengths))
        raise ValueError(
            f"Query {index} has {int(lengths[index])} tokens with [CLS] and [SEP], but the encoder takes at most "
            f"{positions} (max_position_embeddings). Split the query into shorter ones."
        )

    def add_predictions(
        self, queries: list[str] | str, batch_size: int = 32, output_file: str | None = None
    ) -> list[str]:
        """Each query with its words' predicted labels in brackets, as NeMo writes them.

        A word labelled with the pad label (``dataset.pad_label``, ``O``) is left as it is; another gets
        ``[LABEL]``. When a word's last character is not a letter (``Paris,`` or ``2004``), the tag goes before
        that character (``Paris[B-LOC],``), NeMo's rule.

        Args:
            queries: text sequences (words separated by whitespace), or the path of a text file, a query a line.
            batch_size: queries per forward pass.
            output_file: also write the results there, one a line.

        Returns:
            The tagged queries, in order (``[]`` for no queries).
        """
        if queries is None or len(queries) == 0:
            return []
        if isinstance(queries, str):
            logging.info(f"Reading from {queries} file")
            with open(queries, encoding="utf-8") as f:
                queries = f.readlines()
        predictions = self._infer(queries, batch_size)
        ids_to_labels = {index: label for label, index in self._cfg.label_ids.items()}
        pad_label = self._cfg.dataset.pad_label
        result = []
        position = 0
        for query in queries:
            tagged = []
            for word in query.split():
                label = ids_to_labels[predictions[position]]
                position += 1
                punctuation = "" if word[-1].isalpha() else word[-1]
                stem = word[:-1] if punctuation else word
                tag = "" if label == pad_label else f"[{label}]"
                tagged.append(f"{stem}{tag}{punctuation}")
            result.append(" ".join(tagged))
        if output_file is not None:
            with open(output_file, "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in result)
            logging.info(f"Predictions saved to {output_file}")
        return result

    def evaluate_from_file(
        self,
        output_dir: str,
        text_file: str,
        labels_file: str | None = None,
        add_confusion_matrix: bool | None = False,
        normalize_confusion_matrix: bool | None = True,
        batch_size: int = 1,
    ) -> None:
        """Predict the labels of a text file and write them (and the reference labels) to ``output_dir``.

        Writes ``output_dir/infer_<text file name>``: a line ``labels<TAB>...`` with every reference label (when
        ``labels_file`` is given) and a line ``preds<TAB>...`` with every predicted label, space-separated, in word
        order (NeMo's format). With ``labels_file`` and ``add_confusion_matrix``, also writes the confusion matrix
        as a CSV table (``Confusion_matrix.csv``, or ``Normalized_Confusion_matrix.csv`` whose rows are divided by
        each true label's count; NeMo draws a plot with matplotlib instead) and logs the classification report.
        The matrix has one row (true label) and one column (predicted label) for each label that occurs in either.

        Args:
            output_dir: folder for the outputs (created if missing).
            text_file: words separated by spaces, a sequence a line.
            labels_file: one label per word of ``text_file``, a line per line.
            add_confusion_matrix: also write the confusion matrix and log the report.
            normalize_confusion_matrix: divide each row of the matrix by its sum.
            batch_size: queries per forward pass.

        Raises:
            ValueError: ``labels_file`` has another number of lines than ``text_file``, a line has another number
                of labels than words, or (with ``add_confusion_matrix``) a label is not in ``label_ids``.
        """
        output_dir = os.path.abspath(output_dir)
        with open(text_file, encoding="utf-8") as f:
            queries = f.readlines()
        label_lines = (
            None if labels_file is None else self._read_reference_labels(labels_file, text_file, queries)
        )
        predictions = self._infer(queries, batch_size)
        ids_to_labels = {index: label for label, index in self._cfg.label_ids.items()}
        os.makedirs(output_dir, exist_ok=True)
        filename = os.path.join(output_dir, "infer_" + os.path.basename(text_file))
        with open(filename, "w", encoding="utf-8") as f:
            if label_lines is not None:
                f.write("labels\t" + " ".join(" ".join(labels) for labels in label_lines) + "\n")
                logging.info(f"Labels saved to {filename}")
            f.write("preds\t" + " ".join(ids_to_labels[prediction] for prediction in predictions) + "\n")
        logging.info(f"Predictions saved to {filename}")
        if label_lines is not None and add_confusion_matrix:
            label_ids = dict(self._cfg.label_ids)
            references = [label_ids[label] for labels in label_lines for label in labels]
            write_confusion_matrix(references, predictions, label_ids, output_dir, normalize_confusion_matrix)
            report = ClassificationReport(len(label_ids), label_ids=label_ids, mode="macro")
            report.update(torch.tensor(predictions), torch.tensor(references))
            logging.info(report.compute()[-1])

    def _read_reference_labels(self, labels_file: str, text_file: str, queries: list[str]) -> list[list[str]]:
        """The labels of each line of ``labels_file``, checked against the words of ``queries``."""
        with open(labels_file, encoding="utf-8") as f:
            label_lines = [line.split() for line in f]
        if len(label_lines) != len(queries):
            raise ValueError(
                f"{labels_file} has {len(label_lines)} lines but {text_file} has {len(queries)}. Expected one "
                "label line per text line; fix the files."
            )
        known = self._cfg.label_ids
        for number, (labels, query) in enumerate(zip(label_lines, queries), start=1):
            if len(labels) != len(query.split()):
                raise ValueError(
                    f"{labels_file}:{number}: {len(labels)} labels for {len(query.split())} words in "
                    f"{text_file}:{number}. Expected one label per word; fix that line."
                )
            unknown = [label for label in labels if label not in known]
            if unknown:
                raise ValueError(
                    f"{labels_file}:{number}: label {unknown[0]!r} was not seen in training; expected one of "
                    f"{sorted(known)}. Fix the line, or train with this label."
                )
        return label_lines

    @classmethod
    def list_available_models(cls) -> list:
        """No pretrained token classification models are published for this package (NeMo's are on NGC)."""
        return []


def write_confusion_matrix(
    references: Sequence[int],
    predictions: Sequence[int],
    label_ids: Mapping[str, int],
    output_dir: str,
    normalize: bool = True,
) -> str:
    """Write the confusion matrix of ``predictions`` against ``references`` as a CSV table.

    Rows are true labels, columns predicted labels, both the labels that occur in either list, in id order. The
    first row and column hold the label names.

    Args:
        references: the true label id of each word.
        predictions: the predicted label id of each word.
        label_ids: label -> id.
        output_dir: the folder to write into.
        normalize: divide each row by its sum (rows without words stay 0); the file is then
            ``Normalized_Confusion_matrix.csv``, else ``Confusion_matrix.csv`` (counts).

    Returns:
        The path of the file written.
    """
    used = sorted(set(references) | set(predictions))
    position = {label_id: index for index, label_id in enumerate(used)}
    ids_to_labels = {index: label for label, index in label_ids.items()}
    true_index = np.array([position[label_id] for label_id in references], dtype=np.int64)
    predicted_index = np.array([position[label_id] for label_id in predictions], dtype=np.int64)
    matrix = np.bincount(true_index * len(used) + predicted_index, minlength=len(used) ** 2)
    matrix = matrix.reshape(len(used), len(used)).astype(np.float64)
    title = "Confusion_matrix"
    if normalize:
        sums = matrix.sum(axis=1, keepdims=True)
        matrix = matrix / np.where(sums == 0, 1, sums)
        title = "Normalized_" + title
    path = os.path.join(output_dir, title + ".csv")
    names = [ids_to_labels[label_id] for label_id in used]
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true \\ predicted", *names])
        for name, row in zip(names, matrix):
            writer.writerow([name, *(f"{value:.6g}" if normalize else int(value) for value in row)])
    logging.info(f"Confusion matrix saved to {path}")
    return path
