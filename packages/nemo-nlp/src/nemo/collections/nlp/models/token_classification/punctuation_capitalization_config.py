"""NeMo 1.23's punctuation and capitalization config dataclasses, and the conversion of pre-1.5 model configs.

The keys and defaults are NeMo's, so NeMo's YAML files and ``.nemo`` configs load unchanged. Two differences:
``language_model.pretrained_model_name`` may be ``null`` (an architecture in ``config`` or ``config_file`` then
gives a randomly initialised encoder, offline), and the lexical-audio configs
(``PunctuationCapitalizationLexicalAudioModelConfig`` and its audio-encoder sections) are not provided because
nemo-nlp has no lexical-audio model.

Example:
    >>> from omegaconf import OmegaConf
    >>> cfg = OmegaConf.merge(OmegaConf.structured(PunctuationCapitalizationConfig()), OmegaConf.load("cfg.yaml"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nemo.collections.nlp.data.token_classification.punctuation_capitalization_data_config import (
    PunctuationCapitalizationEvalDataConfig,
    PunctuationCapitalizationTrainDataConfig,
    legacy_data_config_to_new_data_config,
)
from nemo.core.config.modelPT import NemoConfig
from nemo.core.config.pytorch_lightning import TrainerConfig
from nemo.utils.exp_manager import ExpManagerConfig
from omegaconf import MISSING, DictConfig, OmegaConf, open_dict

__all__ = [
    "ClassLabelsConfig",
    "CommonDatasetParametersConfig",
    "HeadConfig",
    "LanguageModelConfig",
    "PunctuationCapitalizationConfig",
    "PunctuationCapitalizationModelConfig",
    "TokenizerConfig",
    "is_legacy_model_config",
    "legacy_model_config_to_new_model_config",
]


@dataclass
class TokenizerConfig:
    """The ``model.tokenizer`` section.

    Attributes:
        vocab_file: a vocabulary file (WordPiece ``vocab.txt`` and the like); saved in the ``.nemo``.
        tokenizer_name: a local tokenizer directory or a hub id in the local Hugging Face cache (nothing is
            downloaded); ``sentencepiece``, ``word`` and ``char`` as in NeMo's ``get_tokenizer``. The tokenizer
            needs ``cls_id``, ``pad_id``, ``sep_id`` and ``unk_id``.
        special_tokens: special tokens passed to the tokenizer.
        tokenizer_model: the model file of a ``sentencepiece`` tokenizer.
    """

    vocab_file: str | None = None
    tokenizer_name: str = MISSING
    special_tokens: dict[str, str] | None = None
    tokenizer_model: str | None = None


@dataclass
class LanguageModelConfig:
    """The ``model.language_model`` section: a BERT-like Hugging Face encoder.

    Attributes:
        pretrained_model_name: a local model directory or a hub id in the local Hugging Face cache; ``None``
            with ``config`` or ``config_file`` for random weights.
        config_file: the encoder's ``config.json``; random weights of that architecture (wins over ``config``).
        config: the encoder's ``config.json`` as a dict, with ``model_type``.
        lm_checkpoint: a ``torch`` checkpoint whose weights replace the encoder's.
    """

    pretrained_model_name: str | None = MISSING
    config_file: str | None = None
    config: dict | None = None
    lm_checkpoint: str | None = None


@dataclass
class HeadConfig:
    """``model.punct_head`` / ``model.capit_head``: an MLP over every token's hidden state.

    Attributes:
        num_fc_layers: linear layers (``mlp.layer0``, ``mlp.layer2``, ...); hidden layers have the encoder's width.
        fc_dropout: dropout on the encoder's output.
        activation: the torch function between linear layers.
        use_transformer_init: BERT-style initial weights.
    """

    num_fc_layers: int = 1
    fc_dropout: float = 0.1
    activation: str = "relu"
    use_transformer_init: bool = True


@dataclass
class ClassLabelsConfig:
    """``model.class_labels``: the names of the label-id files saved in the ``.nemo``.

    A label-id file holds one label a line; line ``i`` (from 0) is the label with id ``i``, and line 0 holds
    ``common_dataset_parameters.pad_label``. With ``common_dataset_parameters.label_vocab_dir`` set, the files of
    these names in that directory give the label ids.

    Attributes:
        punct_labels_file: punctuation label-id file name (NeMo's configs: ``punct_label_ids.csv``).
        capit_labels_file: capitalization label-id file name (``capit_label_ids.csv``).
    """

    punct_labels_file: str = MISSING
    capit_labels_file: str = MISSING


@dataclass
class CommonDatasetParametersConfig:
    """``model.common_dataset_parameters``: labels and loss mask, shared by all data sections.

    Label ids come, in this order of precedence, from a ``.nemo`` being restored, ``label_vocab_dir``,
    ``punct_label_ids`` / ``capit_label_ids``, or the training data (``pad_label`` first, then sorted).

    Attributes:
        pad_label: the padding label, also the neutral label of both tasks (no punctuation, lower case); id 0.
        ignore_extra_tokens: compute the loss on the first token of each word only.
        ignore_start_end: NeMo's flag; NeMo 1.23's data never drops ``[CLS]``/``[SEP]`` from the loss mask.
        punct_label_ids: punctuation label -> id.
        capit_label_ids: capitalization label -> id.
        label_vocab_dir: a directory holding the ``class_labels`` files.
    """

    pad_label: str = MISSING
    ignore_extra_tokens: bool = False
    ignore_start_end: bool = True
    punct_label_ids: dict[str, int] | None = None
    capit_label_ids: dict[str, int] | None = None
    label_vocab_dir: str | None = None


@dataclass
class PunctuationCapitalizationModelConfig:
    """The ``model`` section of ``PunctuationCapitalizationModel``.

    Attributes:
        class_labels: label-id file names (saved in the ``.nemo``).
        common_dataset_parameters: labels and loss mask.
        train_ds: training data (``PunctuationCapitalizationTrainDataConfig``).
        validation_ds: validation data; ``ds_item`` may list several directories.
        test_ds: test data; ``ds_item`` may list several directories.
        punct_head: the punctuation MLP.
        capit_head: the capitalization MLP.
        tokenizer: the tokenizer.
        language_model: the encoder.
        optim: optimizer and scheduler (NeMo's ``optim`` section).
    """

    class_labels: ClassLabelsConfig = field(default_factory=ClassLabelsConfig)
    common_dataset_parameters: CommonDatasetParametersConfig | None = field(
        default_factory=CommonDatasetParametersConfig
    )
    train_ds: PunctuationCapitalizationTrainDataConfig | None = None
    validation_ds: PunctuationCapitalizationEvalDataConfig | None = None
    test_ds: PunctuationCapitalizationEvalDataConfig | None = None
    punct_head: HeadConfig = field(default_factory=HeadConfig)
    capit_head: HeadConfig = field(default_factory=HeadConfig)
    tokenizer: Any = field(default_factory=TokenizerConfig)
    language_model: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    optim: Any | None = None


@dataclass
class PunctuationCapitalizationConfig(NemoConfig):
    """A whole training config: ``model``, ``trainer``, ``exp_manager`` and the training script's switches.

    Attributes:
        pretrained_model: a ``.nemo`` file to start from instead of building ``model``.
        name: the run name (also ``exp_manager.name``).
        do_training: train.
        do_testing: test on ``model.test_ds`` afterwards.
        model: the model section.
        trainer: Lightning ``Trainer`` arguments.
        exp_manager: NeMo's experiment manager settings.
    """

    pretrained_model: str | None = None
    name: str | None = "Punctuation_and_Capitalization"
    do_training: bool = True
    do_testing: bool = False
    model: PunctuationCapitalizationModelConfig = field(default_factory=PunctuationCapitalizationModelConfig)
    trainer: TrainerConfig | None = field(default_factory=TrainerConfig)
    exp_manager: ExpManagerConfig | None = field(
        default_factory=lambda: ExpManagerConfig(name=None, files_to_copy=[])
    )

    def __post_init__(self) -> None:
        if self.exp_manager is not None:
            self.exp_manager.name = self.name


def is_legacy_model_config(model_cfg: DictConfig) -> bool:
    """Whether a model config predates NeMo 1.5's format (it has no ``common_dataset_parameters``)."""
    return "common_dataset_parameters" not in model_cfg


def legacy_model_config_to_new_model_config(model_cfg: DictConfig) -> DictConfig:
    """Convert a pre-1.5 model config (``dataset``, top-level ``punct_label_ids``) to the current format.

    The old ``dataset`` section gives ``common_dataset_parameters`` and the data sections' directory and
    ``max_seq_length``; the old heads' ``punct_num_fc_layers`` / ``capit_num_fc_layers`` give ``num_fc_layers``.
    Keys listed under ``retain_during_legacy_conversion`` are copied as they are.

    Args:
        model_cfg: the old ``model`` section.

    Returns:
        A ``PunctuationCapitalizationModelConfig`` structured config.

    Raises:
        ValueError: the old config has no ``dataset`` section.
    """
    dataset = model_cfg.get("dataset")
    if dataset is None:
        raise ValueError(
            "A punctuation model config without `common_dataset_parameters` is read as a pre-1.5 NeMo config, "
            "which needs a `dataset` section (pad_label, data_dir, max_seq_length); it has neither. Add "
            "`common_dataset_parameters` (current format) or `dataset` (old format)."
        )

    def head(section: str, layers_key: str) -> HeadConfig:
        old = model_cfg.get(section) or {}
        return HeadConfig(
            num_fc_layers=old.get(layers_key, HeadConfig.num_fc_layers),
            fc_dropout=old.get("fc_dropout", HeadConfig.fc_dropout),
            activation=old.get("activation", HeadConfig.activation),
            use_transformer_init=old.get("use_transformer_init", HeadConfig.use_transformer_init),
        )

    def data(key: str, train: bool) -> Any:
        section = model_cfg.get(key)
        return (
            None if section is None else legacy_data_config_to_new_data_config(section, dataset, train=train)
        )

    converted = OmegaConf.structured(
        PunctuationCapitalizationModelConfig(
            class_labels=model_cfg.class_labels,
            common_dataset_parameters=CommonDatasetParametersConfig(
                pad_label=dataset.pad_label,
                ignore_extra_tokens=dataset.get(
                    "ignore_extra_tokens", CommonDatasetParametersConfig.ignore_extra_tokens
                ),
                ignore_start_end=dataset.get(
                    "ignore_start_end", CommonDatasetParametersConfig.ignore_start_end
                ),
                punct_label_ids=model_cfg.get("punct_label_ids"),
                capit_label_ids=model_cfg.get("capit_label_ids"),
            ),
            train_ds=data("train_ds", train=True),
            validation_ds=data("validation_ds", train=False),
            test_ds=data("test_ds", train=False),
            punct_head=head("punct_head", "punct_num_fc_layers"),
            capit_head=head("capit_head", "capit_num_fc_layers"),
            tokenizer=model_cfg.tokenizer,
            language_model=model_cfg.language_model,
            optim=model_cfg.get("optim"),
        )
    )
    with open_dict(converted):
        for key, value in (model_cfg.get("retain_during_legacy_conversion") or {}).items():
            converted[key] = value
    return converted
