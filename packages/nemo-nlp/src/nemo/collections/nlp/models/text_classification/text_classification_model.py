"""``TextClassificationModel``: a Hugging Face encoder and a ``SequenceClassifier`` head (NeMo 1.23's model).

Config keys are NeMo's (``conf/text_classification_config.yaml``); the state-dict keys are ``bert_model.*``
(the encoder) and ``classifier.mlp.layer0`` ... (the head). Data: ``sentence<TAB>label`` files.

Example:
    >>> model = TextClassificationModel.restore_from("textclf.nemo")
    >>> model.classifytext(["a great film", "dull and slow"], batch_size=32)
    [1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from nemo.collections.common.losses.cross_entropy import CrossEntropyLoss
from nemo.collections.nlp.data.text_classification.text_classification_dataset import (
    TextClassificationDataset,
    calc_class_weights,
)
from nemo.collections.nlp.metrics.classification_report import ClassificationReport
from nemo.collections.nlp.models.nlp_model import NLPModel
from nemo.collections.nlp.modules.common.sequence_classifier import SequenceClassifier
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.typecheck import typecheck
from nemo.utils import logging
from nemo.utils.distributed import weighted_mean_over_processes
from omegaconf import DictConfig

__all__ = ["TextClassificationModel"]


class TextClassificationModel(NLPModel, Exportable):
    """Classifies sentences into ``dataset.num_classes`` classes from the encoder's ``[CLS]`` state.

    Args:
        cfg: NeMo's text classification config (``tokenizer``, ``language_model``, ``classifier_head``,
            ``class_labels``, ``dataset``, ``train_ds``/``validation_ds``/``test_ds``, ``optim``).
        trainer: the Lightning trainer.
    """

    def __init__(self, cfg: DictConfig, trainer: pl.Trainer | None = None) -> None:
        self.dataset_cfg = cfg.dataset
        self.class_weights = None
        super().__init__(cfg=cfg, trainer=trainer)
        self.classifier = SequenceClassifier(
            hidden_size=self.hidden_size,
            num_classes=cfg.dataset.num_classes,
            num_layers=cfg.classifier_head.num_output_layers,
            activation="relu",
            log_softmax=False,
            dropout=cfg.classifier_head.fc_dropout,
            use_transformer_init=True,
            idx_conditioned_on=0,
        )
        self.create_loss_module()
        self.classification_report = ClassificationReport(
            num_classes=cfg.dataset.num_classes, mode="micro", dist_sync_on_step=False
        )  # counts are summed over processes once, in compute() at epoch end: never per step
        class_labels = cfg.get("class_labels")
        if class_labels and class_labels.get("class_labels_file"):
            self.register_artifact("class_labels.class_labels_file", class_labels.class_labels_file)

    def create_loss_module(self) -> None:
        """Create ``self.loss``, weighted by ``self.class_weights`` when they are set (once)."""
        if not hasattr(self, "loss"):
            self.loss = (
                CrossEntropyLoss(weight=self.class_weights) if self.class_weights else CrossEntropyLoss()
            )

    @typecheck()
    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        """Classify a batch.

        Args:
            input_ids: ``(B, T)`` token ids.
            attention_mask: ``(B, T)``, 1 for tokens, 0 for padding.
            token_type_ids: ``(B, T)`` segment ids.

        Returns:
            ``(B, C)`` logits, float32.
        """
        hidden_states = self.bert_model(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        )
        if isinstance(hidden_states, tuple):
            hidden_states = hidden_states[0]
        return self.classifier(hidden_states=hidden_states).float()

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, Any]:
        """Cross entropy on one batch; logs ``train_loss`` and ``lr``."""
        input_ids, input_type_ids, input_mask, labels = batch
        logits = self.forward(input_ids=input_ids, token_type_ids=input_type_ids, attention_mask=input_mask)
        train_loss = self.loss(logits=logits, labels=labels)
        lr = self._optimizer.param_groups[0]["lr"]
        self.log("train_loss", train_loss)
        self.log("lr", lr, prog_bar=True)
        return {"loss": train_loss, "lr": lr}

    def validation_step(
        self, batch: Sequence[torch.Tensor], batch_idx: int, split: str = "val"
    ) -> dict[str, Any]:
        """Loss and classification counts of one batch (``split`` is ``'val'`` or ``'test'``)."""
        input_ids, input_type_ids, input_mask, labels = batch
        logits = self.forward(input_ids=input_ids, token_type_ids=input_type_ids, attention_mask=input_mask)
        output = {
            f"{split}_loss": self.loss(logits=logits, labels=labels),
            f"{split}_loss_weight": self.loss.mean_denominator(labels),
        }
        self.classification_report.update(logits.argmax(dim=-1), labels)
        (self.validation_step_outputs if split == "val" else self.test_step_outputs).append(output)
        return output

    def on_validation_epoch_end(self, split: str = "val") -> None:
        """Log ``<split>_loss``, ``<split>_precision``, ``<split>_f1``, ``<split>_recall`` and the report.

        All four are over the whole evaluation set: in a distributed run each process holds a disjoint share,
        the loss is the per-example mean of every process's batches (each batch mean weighted by what it
        averaged over) and the report sums every process's counts, so both equal the one-process result.
        Every process logs the same values.
        """
        outputs = self.validation_step_outputs if split == "val" else self.test_step_outputs
        if not outputs:
            return
        avg_loss = weighted_mean_over_processes(
            [output[f"{split}_loss"] for output in outputs],
            [output[f"{split}_loss_weight"] for output in outputs],
        )
        outputs.clear()
        precision, recall, f1, report = self.classification_report.compute()
        logging.info(f"{split}_report: {report}")
        self.log(f"{split}_loss", avg_loss, prog_bar=True)
        self.log(f"{split}_precision", precision)
        self.log(f"{split}_f1", f1)
        self.log(f"{split}_recall", recall)
        self.classification_report.reset()

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, Any]:
        """As ``validation_step``, logged as ``test_*``."""
        return self.validation_step(batch, batch_idx, "test")

    def on_test_epoch_end(self) -> None:
        """As ``on_validation_epoch_end``, logged as ``test_*``."""
        self.on_validation_epoch_end(split="test")

    def setup_training_data(self, train_data_config: DictConfig | None) -> None:
        """The training loader from ``train_ds``; ``class_balancing: weighted_loss`` weights the loss."""
        if not train_data_config or not train_data_config.get("file_path"):
            logging.info("train_ds has no file_path: no training data loader is created.")
            self._train_dl = None
            return
        self._train_dl = self._setup_dataloader_from_config(cfg=train_data_config)
        if self.cfg.dataset.get("class_balancing") == "weighted_loss":
            self.class_weights = calc_class_weights(train_data_config.file_path, self.cfg.dataset.num_classes)
            if hasattr(self, "loss"):
                del self.loss
        else:
            self.class_weights = None
        self.create_loss_module()

    def setup_validation_data(self, val_data_config: DictConfig | None) -> None:
        """The validation loader from ``validation_ds``."""
        if not val_data_config or not val_data_config.get("file_path"):
            logging.info("validation_ds has no file_path: no validation data loader is created.")
            self._validation_dl = None
            return
        self._validation_dl = self._setup_dataloader_from_config(cfg=val_data_config)

    def setup_test_data(self, test_data_config: DictConfig | None) -> None:
        """The test loader from ``test_ds``."""
        if not test_data_config or not test_data_config.get("file_path"):
            logging.info("test_ds has no file_path: no test data loader is created.")
            self._test_dl = None
            return
        self._test_dl = self._setup_dataloader_from_config(cfg=test_data_config)

    def _setup_dataloader_from_config(self, cfg: DictConfig) -> torch.utils.data.DataLoader:
        dataset = TextClassificationDataset(
            tokenizer=self.tokenizer,
            input_file=cfg.file_path,
            max_seq_length=self.dataset_cfg.max_seq_length,
            num_samples=cfg.get("num_samples", -1),
            shuffle=cfg.get("shuffle", False),
            use_cache=self.dataset_cfg.get("use_cache", False),
            num_classes=self.dataset_cfg.num_classes,
        )
        return torch.utils.data.DataLoader(
            dataset=dataset,
            batch_size=cfg.batch_size,
            shuffle=cfg.get("shuffle", False),
            num_workers=cfg.get("num_workers", 0),
            pin_memory=cfg.get("pin_memory", False),
            drop_last=cfg.get("drop_last", False),
            collate_fn=dataset.collate_fn,
            persistent_workers=cfg.get("num_workers", 0) > 0,
        )

    @torch.no_grad()
    def classifytext(self, queries: list[str], batch_size: int = 1, max_seq_length: int = -1) -> list[int]:
        """The predicted class of each query.

        Queries are tokenized in one batch call and run in batches of similar length; the results come back
        in the queries' order.

        Args:
            queries: sentences.
            batch_size: queries per forward pass.
            max_seq_length: longest sequence (``[CLS]`` and ``[SEP]`` included); ``-1`` keeps everything.

        Returns:
            One class id per query.
        """
        if not queries:
            return []
        dataset = TextClassificationDataset(
            tokenizer=self.tokenizer, queries=queries, max_seq_length=max_seq_length
        )
        order = sorted(range(len(dataset)), key=lambda index: len(dataset.features[index][0]))
        device = next(self.parameters()).device
        predictions = [0] * len(dataset)
        mode = self.training
        try:
            self.eval()
            with torch.inference_mode():
                for start in range(0, len(order), batch_size):
                    indices = order[start : start + batch_size]
                    input_ids, input_type_ids, input_mask, _ = dataset._collate_fn(
                        [dataset[i] for i in indices]
                    )
                    logits = self.forward(
                        input_ids=input_ids.to(device),
                        token_type_ids=input_type_ids.to(device),
                        attention_mask=input_mask.to(device),
                    )
                    for index, prediction in zip(indices, logits.argmax(dim=-1).tolist()):
                        predictions[index] = prediction
        finally:
            self.train(mode=mode)
        return predictions

    @classmethod
    def list_available_models(cls) -> list:
        """No pretrained text classification models are published for this package."""
        return []
