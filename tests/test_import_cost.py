"""Importing a package must not import the heavy stack: public names resolve on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "pytorch_lightning", "lightning", "hydra", "torchaudio", "transformers", "sentencepiece"]


@pytest.mark.parametrize(
    "statement",
    [
        "import nemo.core",
        "import nemo.utils",
        "from nemo.utils import logging",
        "import nemo.collections.asr as nemo_asr",
        "import nemo.collections.nlp",
        "import nemo.collections.tts",
        "from nemo.core.plugins import hookimpl, ModelSpec",
    ],
)
def test_import_loads_no_heavy_module(statement: str) -> None:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(set(sys.modules) & set({HEAVY!r}))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_public_names_resolve_on_first_use() -> None:
    code = (
        "import nemo.core as nc, nemo.collections.asr as nemo_asr\n"
        "print(nc.NeuralModule.__name__, nc.ModelPT.__name__, nemo_asr.models.EncDecCTCModel.__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["NeuralModule", "ModelPT", "EncDecCTCModel"]
