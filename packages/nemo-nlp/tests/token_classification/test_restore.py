"""A ``.nemo`` that ``TokenClassificationModel`` saves restores offline, with an empty Hugging Face cache, in a fresh
process, and predicts what the independent reference computes from the archive's own members; restored models
save and restore again, as often as you like, label-id file included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.models import TokenClassificationModel
from omegaconf import OmegaConf

RESTORE_AND_PREDICT = """
import json, sys
import torch
from nemo.collections.nlp.models import TokenClassificationModel

model = TokenClassificationModel.restore_from(sys.argv[1], map_location="cpu")
queries = json.loads(sys.argv[2])
ids = torch.tensor([json.loads(sys.argv[3])])
model.eval()
with torch.inference_mode():
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
print(json.dumps({
    "tagged": model.add_predictions(queries, batch_size=2),
    "logits": logits[0].tolist(),
    "label_ids": dict(model.cfg.label_ids),
}))
"""


def logits_and_tags(model: TokenClassificationModel, queries: list[str]) -> tuple[torch.Tensor, list[str]]:
    ids = torch.tensor([model.tokenizer.tokenizer(queries[0])["input_ids"]])
    model.eval()
    with torch.inference_mode():
        logits = model(
            input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
        )
    return logits, model.add_predictions(queries, batch_size=3)


def read_tags(tagged: str) -> list[str]:
    return [word[word.index("[") + 1 : word.index("]")] if "[" in word else "O" for word in tagged.split()]


def test_our_archive_restores_offline_with_an_empty_hf_cache_and_matches_the_reference(
    ner, saved_archive, minilm_dir, tmp_path
):
    reference = ner.ReferenceTagger.from_archive(saved_archive, minilm_dir)
    expected = [reference.word_labels(query, ner.LABEL_IDS) for query in ner.QUERIES]
    assert len({label for labels in expected for label in labels}) >= 4
    ids, _ = reference.word_tokens(ner.QUERIES[0])
    expected_logits, _ = reference.token_logits(ner.QUERIES[0])
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    env.pop("TRANSFORMERS_CACHE", None)

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RESTORE_AND_PREDICT,
            str(saved_archive),
            json.dumps(ner.QUERIES),
            json.dumps(ids),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert [read_tags(line) for line in outcome["tagged"]] == expected
    torch.testing.assert_close(torch.tensor(outcome["logits"]), expected_logits, rtol=0, atol=1e-5)
    assert outcome["label_ids"] == ner.LABEL_IDS
    assert not any(path.is_file() for path in hf_home.rglob("*")), "something was written to the HF cache"


def test_save_restore_save_restore_in_one_process_keeps_outputs_and_the_label_file(
    ner, saved_archive, tmp_path
):
    model = TokenClassificationModel.restore_from(str(saved_archive), map_location="cpu")
    expected_logits, expected_tags = logits_and_tags(model, ner.QUERIES)

    for round_number in range(3):
        path = tmp_path / f"round{round_number}.nemo"
        model.save_to(str(path))
        model = TokenClassificationModel.restore_from(str(path), map_location="cpu")
        logits, tags = logits_and_tags(model, ner.QUERIES)
        torch.testing.assert_close(logits, expected_logits, rtol=0, atol=0)
        assert tags == expected_tags
        assert dict(model.cfg.label_ids) == ner.LABEL_IDS

    with tarfile.open(path) as archive:
        members = {name.split("_", 1)[1]: name for name in archive.getnames() if len(name) > 40}
        label_file = archive.extractfile(members["label_ids.csv"]).read().decode("utf-8")
    vocabulary = Path(model.cfg.tokenizer.vocab_file).name.split("_", 1)[1]
    assert sorted(members) == sorted(
        ["_encoder_config.json", "label_ids.csv", "tokenizer.json", "tokenizer_config.json", vocabulary]
    )
    assert label_file == "O\nB-LOC\nB-ORG\nB-PER\nI-LOC\nI-ORG"
    assert model.cfg.class_labels.class_labels_file.endswith("_label_ids.csv")


def test_a_restore_whose_label_ids_disagree_with_the_archives_label_file_is_refused(saved_archive):
    config = TokenClassificationModel.restore_from(str(saved_archive), return_config=True)
    label_ids = dict(config.label_ids)
    label_ids["B-LOC"], label_ids["B-ORG"] = label_ids["B-ORG"], label_ids["B-LOC"]
    config.label_ids = OmegaConf.create(label_ids)

    with pytest.raises(ValueError, match=r"label-id file .*label_ids.csv of the archive \(FIRST LABELS\)"):
        TokenClassificationModel.restore_from(str(saved_archive), override_config_path=config)


def test_an_archive_without_a_label_file_gets_one_from_its_label_ids(ner, saved_archive, tmp_path):
    """Archives whose config names no label-id file (older NeMo configs) save one from ``label_ids``."""
    config = TokenClassificationModel.restore_from(str(saved_archive), return_config=True)
    config.class_labels = None

    model = TokenClassificationModel.restore_from(str(saved_archive), override_config_path=config)

    path = Path(model.artifacts["class_labels.class_labels_file"].path)
    assert path.read_text(encoding="utf-8") == "O\nB-LOC\nB-ORG\nB-PER\nI-LOC\nI-ORG"
    assert dict(model.cfg.label_ids) == ner.LABEL_IDS
