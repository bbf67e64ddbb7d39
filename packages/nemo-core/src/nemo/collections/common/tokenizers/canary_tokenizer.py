"""``CanaryTokenizer``: the aggregate tokenizer of Canary-style multitask models (NeMo 1.23's names).

Its ``spl_tokens`` tokenizer holds the prompt's control tokens (:data:`SPECIAL_TOKENS`); the other tokenizers
hold each language's text pieces. A prompted target reads::

    <|startoftranscript|> <|src_lang|> <|transcribe|>|<|translate|> <|tgt_lang|> <|pnc|>|<|nopnc|> TEXT <|endoftext|>

Build the special-token tokenizer with :meth:`CanaryTokenizer.build_special_tokenizer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from nemo.collections.common.tokenizers.aggregate_tokenizer import AggregateTokenizer
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec

__all__ = ["CanaryTokenizer", "LANGUAGES", "SPECIAL_TOKENS", "UNUSED_SPECIAL_TOKENS"]

SPECIAL_LANG = "spl_tokens"
LANGUAGES = {"en": "english", "de": "german", "es": "spanish", "fr": "french"}
SPECIAL_TOKENS = [
    "<pad>",
    "<|endoftext|>",
    "<|startoftranscript|>",
    *(f"<|{code}|>" for code in LANGUAGES),
    "<|transcribe|>",
    "<|translate|>",
    "<|nopnc|>",
    "<|pnc|>",
    "<|nospeech|>",
]
UNUSED_SPECIAL_TOKENS = [f"<|spltoken{number}|>" for number in range(18)]


class CanaryTokenizer(AggregateTokenizer):
    """An :class:`AggregateTokenizer` whose ``spl_tokens`` tokenizer knows every entry of :data:`SPECIAL_TOKENS`.

    Args:
        tokenizers: language id -> tokenizer; must include ``"spl_tokens"`` (usually first).
    """

    def __init__(self, tokenizers: Mapping[str, TokenizerSpec]) -> None:
        super().__init__(tokenizers)
        if SPECIAL_LANG not in self.tokenizers_dict:
            raise ValueError(
                f"CanaryTokenizer needs a {SPECIAL_LANG!r} tokenizer holding the prompt tokens; got languages "
                f"{self.langs}. Build one with CanaryTokenizer.build_special_tokenizer(dir) and list it under "
                f"tokenizer.langs.{SPECIAL_LANG}."
            )
        special = self.tokenizers_dict[SPECIAL_LANG]
        self.special_tokens: dict[str, int] = {}
        for token in SPECIAL_TOKENS:
            local_id = special.token_to_id(token)
            if special.ids_to_tokens([local_id])[0] != token:
                raise ValueError(
                    f"CanaryTokenizer: the {SPECIAL_LANG!r} tokenizer has no piece {token!r}. Build it with "
                    "CanaryTokenizer.build_special_tokenizer(dir)."
                )
            self.special_tokens[token] = local_id + self.token_id_offset[SPECIAL_LANG]

    @cached_property
    def eos_id(self) -> int:
        return self.special_tokens["<|endoftext|>"]

    @cached_property
    def bos_id(self) -> int:
        return self.special_tokens["<|startoftranscript|>"]

    @cached_property
    def transcribe_id(self) -> int:
        return self.special_tokens["<|transcribe|>"]

    @cached_property
    def translate_id(self) -> int:
        return self.special_tokens["<|translate|>"]

    @cached_property
    def nopnc_id(self) -> int:
        return self.special_tokens["<|nopnc|>"]

    @cached_property
    def pnc_id(self) -> int:
        return self.special_tokens["<|pnc|>"]

    @cached_property
    def nospeech_id(self) -> int:
        return self.special_tokens["<|nospeech|>"]

    @cached_property
    def pad_id(self) -> int:
        return self.special_tokens["<pad>"]

    def to_language_id(self, language: str) -> int:
        """Id of the ``<|language|>`` token (``"en"`` -> id of ``<|en|>``)."""
        token = f"<|{language}|>"
        if token not in self.special_tokens:
            known = [code for code in LANGUAGES if f"<|{code}|>" in self.special_tokens]
            raise KeyError(f"Language {language!r} not found in the tokenizer; it knows {known}.")
        return self.special_tokens[token]

    @staticmethod
    def build_special_tokenizer(output_dir: str | Path) -> TokenizerSpec:
        """Train the ``spl_tokens`` sentencepiece model (every special token one piece) into ``output_dir``.

        Returns:
            The :class:`SentencePieceTokenizer` over ``output_dir/tokenizer.model``.
        """
        from nemo.collections.common.tokenizers.sentencepiece_tokenizer import (
            SentencePieceTokenizer,
            create_spt_model,
        )

        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        tokens = SPECIAL_TOKENS + UNUSED_SPECIAL_TOKENS
        text_path = output / "train_text.txt"
        text_path.write_text("\n".join(tokens), encoding="utf-8")
        model_path, _ = create_spt_model(
            str(text_path),
            vocab_size=32,
            sample_size=-1,
            do_lower_case=False,
            output_dir=str(output),
            user_defined_symbols=tokens,
        )
        return SentencePieceTokenizer(model_path)
