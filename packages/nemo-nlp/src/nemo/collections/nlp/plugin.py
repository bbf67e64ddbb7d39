"""nemo-nlp's plugin: the NLP model classes and configs, named without importing them.

Loaded through the entry point ``nlp = "nemo.collections.nlp.plugin"`` in the group ``nemo.plugins``.
"""

from __future__ import annotations

from nemo.core.plugins import ConfigPathSpec, ModelSpec, hookimpl

NEMO_PLUGIN_API = "1.0"

_MODELS = "nemo.collections.nlp.models"


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://nemo.collections.nlp.conf")]


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="nlp.TextClassificationModel",
            target=f"{_MODELS}:TextClassificationModel",
            domain="nlp",
            description="sentence classification on a Hugging Face encoder (sentence<TAB>label data)",
            config="text_classification_config",
        ),
        ModelSpec(
            name="nlp.PunctuationCapitalizationModel",
            target=f"{_MODELS}:PunctuationCapitalizationModel",
            domain="nlp",
            description="punctuation and capitalization of lower-case text (text_*.txt + labels_*.txt data)",
            config="punctuation_capitalization_config",
        ),
        ModelSpec(
            name="nlp.TokenClassificationModel",
            target=f"{_MODELS}:TokenClassificationModel",
            domain="nlp",
            description="one label per word, e.g. named entities, on a Hugging Face encoder (text.txt + labels.txt)",
            config="token_classification_config",
        ),
    ]
