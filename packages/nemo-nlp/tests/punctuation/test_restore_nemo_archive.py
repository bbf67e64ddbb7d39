"""NeMo 1.23's own punctuation archive (``data/punctcap_minilm_tiny.nemo``, copied from the shared fixtures; their
README says how it was made) restores offline with an empty Hugging Face cache, reproduces NeMo's logits and
``add_punctuation_capitalization`` results exactly, and survives save/restore rounds in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.models import PunctuationCapitalizationModel

DATA = Path(__file__).resolve().parent / "data"
ARCHIVE = DATA / "punctcap_minilm_tiny.nemo"
IO = torch.load(DATA / "punctcap_minilm_tiny.io.pt")
EXPECTED = json.loads((DATA / "punctcap_minilm_tiny.json").read_text(encoding="utf-8"))
CALLS = ("add_punctuation_capitalization", "return_labels", "segmented")

RESTORE_AND_RUN = """
import json, sys, time
import torch
from nemo.collections.nlp.models import PunctuationCapitalizationModel

start = time.perf_counter()
model = PunctuationCapitalizationModel.restore_from(sys.argv[1], map_location="cpu")
seconds = time.perf_counter() - start
io = torch.load(sys.argv[2])
expected = json.loads(open(sys.argv[3], encoding="utf-8").read())
model.eval()
with torch.inference_mode():
    punct, capit = model(
        input_ids=io["input_ids"], attention_mask=io["attention_mask"], token_type_ids=io["token_type_ids"]
    )
print(json.dumps({
    "punct_error": (punct - io["punct_logits"]).abs().max().item(),
    "capit_error": (capit - io["capit_logits"]).abs().max().item(),
    "results": {
        name: model.add_punctuation_capitalization(expected["queries"], **expected[name]["kwargs"])
        for name in ("add_punctuation_capitalization", "return_labels", "segmented")
    },
    "label_ids": [model.punct_label_ids, model.capit_label_ids],
    "seconds": seconds,
}))
"""


def restore_offline_in_a_fresh_process(archive: Path, tmp_path: Path) -> dict:
    """Restore ``archive`` in a new interpreter with HF_HUB_OFFLINE=1 and an empty HF_HOME; what it computed."""
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    env = {
        **os.environ,
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("HF_HUB_CACHE", None)
    env.pop("TRANSFORMERS_CACHE", None)
    arguments = [
        str(archive),
        str(DATA / "punctcap_minilm_tiny.io.pt"),
        str(DATA / "punctcap_minilm_tiny.json"),
    ]

    result = subprocess.run(
        [sys.executable, "-c", RESTORE_AND_RUN, *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert not any(path.is_file() for path in hf_home.rglob("*")), "something was written to the HF cache"
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_against_nemo(outcome: dict) -> None:
    assert outcome["punct_error"] < 1e-4 and outcome["capit_error"] < 1e-4
    for name in CALLS:
        assert outcome["results"][name] == EXPECTED[name]["result"], name
    assert outcome["label_ids"] == [EXPECTED["punct_label_ids"], EXPECTED["capit_label_ids"]]


def test_nemos_archive_restores_offline_with_an_empty_hf_cache_and_matches_nemo(tmp_path):
    check_against_nemo(restore_offline_in_a_fresh_process(ARCHIVE, tmp_path))


def test_an_archive_we_save_restores_offline_with_an_empty_hf_cache(tmp_path):
    ours = tmp_path / "ours.nemo"
    PunctuationCapitalizationModel.restore_from(str(ARCHIVE), map_location="cpu").save_to(str(ours))

    check_against_nemo(restore_offline_in_a_fresh_process(ours, tmp_path))


@pytest.fixture(scope="module")
def restored() -> PunctuationCapitalizationModel:
    return PunctuationCapitalizationModel.restore_from(str(ARCHIVE), map_location="cpu")


def logits_of(model: PunctuationCapitalizationModel) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.inference_mode():
        return model(
            input_ids=IO["input_ids"],
            attention_mask=IO["attention_mask"],
            token_type_ids=IO["token_type_ids"],
        )


@pytest.mark.parametrize("name", CALLS)
def test_add_punctuation_capitalization_equals_nemos_results(restored, name):
    result = restored.add_punctuation_capitalization(EXPECTED["queries"], **EXPECTED[name]["kwargs"])

    assert result == EXPECTED[name]["result"]


def test_logits_match_nemos(restored):
    punct, capit = logits_of(restored)

    torch.testing.assert_close(punct, IO["punct_logits"], rtol=0, atol=1e-4)
    torch.testing.assert_close(capit, IO["capit_logits"], rtol=0, atol=1e-4)


def test_state_dict_keys_and_label_ids_are_nemos(restored):
    keys = list(restored.state_dict())

    assert keys[0].startswith("bert_model.")
    assert keys[-4:] == [
        "punct_classifier.mlp.layer0.weight",
        "punct_classifier.mlp.layer0.bias",
        "capit_classifier.mlp.layer0.weight",
        "capit_classifier.mlp.layer0.bias",
    ]
    assert restored.punct_label_ids == EXPECTED["punct_label_ids"]
    assert restored.capit_label_ids == EXPECTED["capit_label_ids"]


def test_save_restore_save_restore_in_one_process_keeps_outputs_and_label_files(restored, tmp_path):
    expected = logits_of(restored)
    model = restored
    for round_number in range(3):
        path = tmp_path / f"round{round_number}.nemo"
        model.save_to(str(path))
        model = PunctuationCapitalizationModel.restore_from(str(path), map_location="cpu")
        for got, want in zip(logits_of(model), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
        segmented = EXPECTED["segmented"]
        assert (
            model.add_punctuation_capitalization(EXPECTED["queries"], **segmented["kwargs"])
            == segmented["result"]
        )

    with tarfile.open(path) as archive:
        members = {name.split("_", 1)[1]: name for name in archive.getnames() if len(name) > 40}
        punct_file = archive.extractfile(members["punct_label_ids.csv"]).read().decode()
        capit_file = archive.extractfile(members["capit_label_ids.csv"]).read().decode()
    assert sorted(members) == [
        "_encoder_config.json",
        "capit_label_ids.csv",
        "punct_label_ids.csv",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    assert punct_file.split("\n") == ["O", ",", ".", "?"] and capit_file.split("\n") == ["O", "U"]
    assert model.cfg.class_labels.punct_labels_file.endswith("_punct_label_ids.csv")


def test_restore_config_names_label_files_inside_the_archive():
    config = PunctuationCapitalizationModel.restore_from(str(ARCHIVE), return_config=True)

    assert config.class_labels.punct_labels_file.startswith("nemo:")
    assert config.class_labels.capit_labels_file.startswith("nemo:")
    assert config.language_model.config_file.startswith("nemo:")
