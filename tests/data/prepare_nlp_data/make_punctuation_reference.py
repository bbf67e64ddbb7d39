"""Write ``punctuation_reference.json``: what NeMo 1.23's ``create_text_and_labels`` makes of raw lines.

This script runs NeMo 1.23: the function from ``nemo/collections/nlp/data/token_classification/
token_classification_utils.py``, loaded as a single file with the label-statistics helpers it imports (and does
not use in this function) stubbed, because ``nemo.collections.nlp`` itself does not import in the reference
venv. The tests never need NeMo: they read the JSON.

    cd /tmp/scratch && /tmp/nemo-ref/bin/python /work/main/tests/data/prepare_nlp_data/make_punctuation_reference.py
"""

import importlib.util
import json
import sys
import tempfile
import types
from pathlib import Path

import nemo

SOURCE = (
    Path(nemo.__file__).parent / "collections/nlp/data/token_classification/token_classification_utils.py"
)
OUT = Path(__file__).with_name("punctuation_reference.json")
LINES = [
    "When is the next flight to New York?",
    "Hello, World. It's a well-known firm!",
    'Time Warner said: "Profits rose 76% to $1.13bn (£600m)," on Friday.',
    "The U.S. team - again - won; fans cheered... What next?",
    "Mr O'Neill's 'plan', he said, was fine.",
    "- , .. ?",
    "A , B ,C.",
]


def load_create_text_and_labels():
    stub = types.ModuleType("nemo.collections.nlp.data.data_utils.data_preprocessing")
    for name in ("fill_class_weights", "get_freq_weights", "get_label_stats"):
        setattr(stub, name, None)
    sys.modules[stub.__name__] = stub
    spec = importlib.util.spec_from_file_location("nemo_token_classification_utils", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_text_and_labels


def main() -> None:
    create_text_and_labels = load_create_text_and_labels()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "raw.txt"
        source.write_text("".join(line + "\n" for line in LINES), encoding="utf-8")
        create_text_and_labels(tmp, str(source))
        texts = (Path(tmp) / "text_raw.txt").read_text(encoding="utf-8").splitlines()
        labels = (Path(tmp) / "labels_raw.txt").read_text(encoding="utf-8").splitlines()
    cases = [{"line": line, "text": text, "labels": label} for line, text, label in zip(LINES, texts, labels)]
    OUT.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
