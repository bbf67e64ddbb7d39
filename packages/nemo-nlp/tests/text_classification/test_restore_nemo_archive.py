"""NeMo 1.23's own archive (``data/textclf_minilm_tiny.nemo``, from the shared fixtures; its README says how it
was made) restores offline with an empty Hugging Face cache and reproduces NeMo's logits and predictions; a
restored model saved again restores again, as often as you like."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import torch
import transformers
from nemo.collections.nlp.models import TextClassificationModel

DATA = Path(__file__).parent / "data"
ARCHIVE = DATA / "textclf_minilm_tiny.nemo"
IO = torch.load(DATA / "textclf_minilm_tiny.io.pt")
EXPECTED = json.loads((DATA / "textclf_minilm_tiny.json").read_text(encoding="utf-8"))

RESTORE_AND_RUN = """
import json, sys, time
import torch
import transformers
from nemo.collections.nlp.models import TextClassificationModel

start = time.perf_counter()
model = TextClassificationModel.restore_from(sys.argv[1], map_location="cpu")
seconds = time.perf_counter() - start
io = torch.load(sys.argv[2])
model.eval()
with torch.inference_mode():
    logits = model(input_ids=io["input_ids"], attention_mask=io["attention_mask"], token_type_ids=io["token_type_ids"])
queries = json.loads(sys.argv[3])
print(json.dumps({
    "max_error": (logits - io["logits"]).abs().max().item(),
    "classifytext": model.classifytext(queries, batch_size=2),
    "seconds": seconds,
}))
"""


def logits_of(model: TextClassificationModel) -> torch.Tensor:
    model.eval()
    with torch.inference_mode():
        return model(
            input_ids=IO["input_ids"],
            attention_mask=IO["attention_mask"],
            token_type_ids=IO["token_type_ids"],
        )


def restore_offline_in_a_fresh_process(archive: Path, tmp_path: Path) -> dict:
    """Restore ``archive`` with HF_HUB_OFFLINE=1 and an empty HF_HOME; NeMo's inputs, logits and predictions."""
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    env.pop("TRANSFORMERS_CACHE", None)
    arguments = [str(archive), str(DATA / "textclf_minilm_tiny.io.pt"), json.dumps(EXPECTED["queries"])]

    result = subprocess.run(
        [sys.executable, "-c", RESTORE_AND_RUN, *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert not any(path.is_file() for path in hf_home.rglob("*")), "something was written to the HF cache"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nemos_archive_restores_offline_with_an_empty_hf_cache_and_matches_nemo(tmp_path):
    outcome = restore_offline_in_a_fresh_process(ARCHIVE, tmp_path)

    assert outcome["max_error"] < 1e-4
    assert outcome["classifytext"] == EXPECTED["classifytext"]


def test_an_archive_we_save_restores_offline_with_an_empty_hf_cache(tmp_path):
    ours = tmp_path / "ours.nemo"
    TextClassificationModel.restore_from(str(ARCHIVE), map_location="cpu").save_to(str(ours))

    outcome = restore_offline_in_a_fresh_process(ours, tmp_path)

    assert outcome["max_error"] < 1e-4
    assert outcome["classifytext"] == EXPECTED["classifytext"]


def test_restoring_draws_no_initial_encoder_weights(monkeypatch, minilm_dir):
    calls = []
    original = transformers.BertPreTrainedModel._init_weights

    def counting(self, module):
        calls.append(type(module).__name__)
        return original(self, module)

    monkeypatch.setattr(transformers.BertPreTrainedModel, "_init_weights", counting)
    config = TextClassificationModel.restore_from(str(ARCHIVE), return_config=True)
    TextClassificationModel.restore_from(str(ARCHIVE), map_location="cpu")
    assert calls == []  # the archive's weights replace them anyway

    config.language_model.config_file = None
    config.language_model.config.model_type = "bert"
    config.tokenizer.vocab_file = None
    config.tokenizer.tokenizer_name = str(minilm_dir)
    config.train_ds = None
    TextClassificationModel(cfg=config)
    assert calls  # a new model does draw them


def test_save_restore_save_restore_in_one_process_keeps_the_logits(tmp_path):
    model = TextClassificationModel.restore_from(str(ARCHIVE), map_location="cpu")
    expected = logits_of(model)
    for round_number in range(3):
        path = tmp_path / f"round{round_number}.nemo"
        model.save_to(str(path))
        model = TextClassificationModel.restore_from(str(path), map_location="cpu")
        torch.testing.assert_close(logits_of(model), expected, rtol=0, atol=0)
        assert model.classifytext(EXPECTED["queries"], batch_size=2) == EXPECTED["classifytext"]

    with tarfile.open(path) as archive:
        names = sorted(name.split("_", 1)[1] for name in archive.getnames() if "_" in name and len(name) > 40)
    assert names == ["_encoder_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    config = model.cfg
    assert config.language_model.config_file.endswith("_encoder_config.json")
    assert config.tokenizer.tokenizer_file.endswith("_tokenizer.json")
    assert config.language_model.pretrained_model_name == "sentence-transformers/all-MiniLM-L6-v2"


def test_restoring_needs_no_pretrained_model(tmp_path):
    """NeMo's archive names a hub id; the architecture comes from its encoder config file instead."""
    config = TextClassificationModel.restore_from(str(ARCHIVE), return_config=True)

    assert config.language_model.config_file.startswith("nemo:")
    assert config.tokenizer.vocab_file.startswith("nemo:")
    model = TextClassificationModel.restore_from(str(ARCHIVE), map_location="cpu")
    assert model.bert_model.config.hidden_size == 32 and model.bert_model.config.num_hidden_layers == 2
    assert list(model.state_dict())[-2:] == ["classifier.mlp.layer0.weight", "classifier.mlp.layer0.bias"]
