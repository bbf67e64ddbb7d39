import pytest
from nemo.collections.common.tokenizers import CharTokenizer, TokenizerSpec


def test_spec_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        TokenizerSpec()


def test_defaults_on_a_real_subclass(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("'a'\n", encoding="utf-8")
    tokenizer = CharTokenizer(str(path))
    assert tokenizer.name == "CharTokenizer"
    assert tokenizer.unique_identifiers == {
        "class": "nemo.collections.common.tokenizers.char_tokenizer.CharTokenizer"
    }
    with pytest.raises(NotImplementedError, match="CharTokenizer cannot add special tokens"):
        tokenizer.add_special_tokens(["<x>"])


def test_importing_the_package_loads_no_sentencepiece():
    import subprocess
    import sys

    code = "import sys, nemo.collections.common.tokenizers; print('sentencepiece' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
