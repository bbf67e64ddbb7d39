"""``import nemo.collections.nlp`` (and its models, modules, data, metrics packages) loads neither torch nor
transformers: names resolve on first use."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "package",
    [
        "nemo.collections.nlp",
        "nemo.collections.nlp.models",
        "nemo.collections.nlp.modules",
        "nemo.collections.nlp.modules.common",
        "nemo.collections.nlp.modules.common.huggingface",
        "nemo.collections.nlp.data",
        "nemo.collections.nlp.data.text_classification",
        "nemo.collections.nlp.models.text_classification",
        "nemo.collections.common.parts",
        "nemo.collections.common.losses",
    ],
)
def test_importing_the_package_loads_neither_torch_nor_transformers(package):
    code = (
        f"import sys, {package} as package\n"
        "dir(package)\n"
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_the_nemo_import_paths_resolve():
    import nemo.collections.nlp as nemo_nlp

    assert nemo_nlp.models.TextClassificationModel.__name__ == "TextClassificationModel"
    assert nemo_nlp.modules.get_lm_model.__module__ == "nemo.collections.nlp.modules.common.lm_utils"
    assert nemo_nlp.modules.SequenceClassifier.__name__ == "SequenceClassifier"
    assert nemo_nlp.data.TextClassificationDataset.__name__ == "TextClassificationDataset"
    from nemo.collections.nlp.modules.common.huggingface import BertEncoder

    assert BertEncoder.__mro__[1].__name__ == "BertModel"
