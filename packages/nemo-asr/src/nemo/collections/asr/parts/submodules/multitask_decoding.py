"""``MultiTaskDecoding``: turns AED encoder states into text, by greedy or beam search (NeMo 1.23's names).

Config (``decoding`` of ``EncDecMultiTaskModel``, see :class:`MultiTaskDecodingConfig`)::

    strategy: beam            # beam | greedy | greedy_batch (greedy and greedy_batch are the same search)
    compute_hypothesis_token_set: false   # also give each Hypothesis its token strings
    compute_langs: false      # aggregate tokenizers: the language of each hypothesis and of each token
    return_scores: false      # fill Hypothesis.score with the hypothesis's log-probability
    beam: {beam_size: 1, len_pen: 0.0, max_generation_delta: 50, return_best_hypothesis: true}
    greedy: {max_generation_delta: -1}

Decoded texts keep the prompt's and the end's special tokens (``<|en|>``, ``<|endoftext|>``...), as NeMo's do;
:meth:`AbstractMultiTaskDecoding.strip_special_tokens` removes them.

Differences from NeMo 1.23, on purpose: ``beam.len_pen`` (the config key) sets the length penalty (NeMo 1.23
reads ``beam.length_penalty`` and otherwise uses 0); ``strategy: greedy`` works (NeMo 1.23 raises);
``return_best_hypothesis: false`` returns every beam hypothesis (NeMo 1.23 ignores it);
``preserve_alignments: true`` and ``temperature`` other than 1 are refused instead of ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, is_dataclass

import torch
from nemo.collections.asr.parts.submodules.multitask_beam_decoding import (
    AEDBeamInferConfig,
    TransformerAEDBeamInfer,
)
from nemo.collections.asr.parts.submodules.multitask_greedy_decoding import (
    AEDGreedyInferConfig,
    TransformerAEDGreedyInfer,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf

__all__ = ["AbstractMultiTaskDecoding", "MultiTaskDecoding", "MultiTaskDecodingConfig"]

_STRATEGIES = ("greedy", "greedy_batch", "beam")
_SPECIAL_TOKEN = re.compile(r"<[^>]+>")


def _beam_length_penalty(beam_cfg) -> float:
    """``beam.len_pen`` (NeMo's config key); ``beam.length_penalty`` is accepted as another name for it."""
    values = {
        key: beam_cfg.get(key) for key in ("len_pen", "length_penalty") if beam_cfg.get(key) is not None
    }
    if len(set(values.values())) > 1:
        raise ValueError(
            f"decoding.beam gives two length penalties {values}; set only decoding.beam.len_pen."
        )
    return float(next(iter(values.values()), 0.0))


class AbstractMultiTaskDecoding:
    """Builds the search for ``decoding_cfg.strategy`` and turns its token ids into text.

    Args:
        decoding_cfg: the ``decoding`` config (a :class:`MultiTaskDecodingConfig` or a DictConfig).
        transformer_decoder: the model's ``TransformerDecoderNM``.
        log_softmax_module: the model's output head.
        tokenizer: the model's tokenizer (``ids_to_text``, ``ids_to_tokens``, ``bos_id``/``eos_id``/``pad_id``).
    """

    def __init__(
        self, decoding_cfg, transformer_decoder: torch.nn.Module, log_softmax_module, tokenizer
    ) -> None:
        if is_dataclass(decoding_cfg):
            decoding_cfg = OmegaConf.structured(decoding_cfg)
        if not isinstance(decoding_cfg, DictConfig):
            decoding_cfg = OmegaConf.create(decoding_cfg)
        self.cfg = decoding_cfg
        self.compute_langs = self.cfg.get("compute_langs", False)
        self.return_scores = self.cfg.get("return_scores", False)
        self.compute_hypothesis_token_set = self.cfg.get("compute_hypothesis_token_set", False)
        strategy = self.cfg.get("strategy", "beam")
        if strategy not in _STRATEGIES:
            raise ValueError(f"decoding.strategy must be one of {list(_STRATEGIES)}; got {strategy!r}.")
        temperature = self.cfg.get("temperature", 1.0)
        if temperature is not None and float(temperature) != 1.0:
            raise ValueError(
                f"decoding.temperature={temperature} is not supported (greedy and beam search use the model's "
                "probabilities as they are); set it to 1.0."
            )
        sub_cfg = self.cfg.get("beam" if strategy == "beam" else "greedy") or {}
        self.preserve_alignments = self.cfg.get("preserve_alignments")
        if self.preserve_alignments is None:
            self.preserve_alignments = sub_cfg.get("preserve_alignments", False)
        if strategy == "beam":
            self.decoding = TransformerAEDBeamInfer(
                transformer_decoder=transformer_decoder,
                log_softmax_module=log_softmax_module,
                tokenizer=tokenizer,
                search_type=sub_cfg.get("search_type", "default"),
                beam_size=sub_cfg.get("beam_size", 1),
                length_penalty=_beam_length_penalty(sub_cfg),
                max_generation_delta=sub_cfg.get("max_generation_delta", 50),
                return_best_hypothesis=sub_cfg.get("return_best_hypothesis", True),
                preserve_alignments=self.preserve_alignments,
            )
        else:
            self.decoding = TransformerAEDGreedyInfer(
                transformer_decoder=transformer_decoder,
                log_softmax_module=log_softmax_module,
                tokenizer=tokenizer,
                max_generation_delta=sub_cfg.get("max_generation_delta", -1),
                preserve_alignments=self.preserve_alignments,
            )

    def decode_predictions_tensor(
        self,
        encoder_hidden_states: torch.Tensor,
        encoder_input_mask: torch.Tensor,
        decoder_input_ids: torch.Tensor | None = None,
        return_hypotheses: bool = False,
        partial_hypotheses: list[Hypothesis] | None = None,
    ) -> tuple[list, list | None]:
        """Decode a batch of encoder states.

        Args:
            encoder_hidden_states: (B, T, H) encoder output (after the model's projection).
            encoder_input_mask: (B, T) 1 for valid frames.
            decoder_input_ids: (B, L) prompts (None: start from ``bos``).
            return_hypotheses: Hypothesis objects instead of strings.
            partial_hypotheses: must be None.

        Returns:
            ``(best, None)``: one text (or Hypothesis) per input. With ``beam.return_best_hypothesis: false``
            ``(best, all)``: ``all`` holds every beam hypothesis (texts flattened, or one list per input).
        """
        (results,) = self.decoding(
            encoder_hidden_states=encoder_hidden_states,
            encoder_input_mask=encoder_input_mask,
            decoder_input_ids=decoder_input_ids,
            return_scores=self.return_scores,
            partial_hypotheses=partial_hypotheses,
        )
        if results and isinstance(results[0], NBestHypotheses):
            all_hypotheses = [self.decode_hypothesis(nbest.n_best_hypotheses) for nbest in results]
            best = [hypotheses[0] for hypotheses in all_hypotheses]
            if return_hypotheses:
                return best, all_hypotheses
            return [hypothesis.text for hypothesis in best], [
                h.text for group in all_hypotheses for h in group
            ]
        hypotheses = self.decode_hypothesis(results)
        if return_hypotheses:
            return hypotheses, None
        return [hypothesis.text for hypothesis in hypotheses], None

    def decode_hypothesis(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Fill ``text`` (and ``tokens`` with ``compute_hypothesis_token_set``) of each hypothesis in place."""
        for hypothesis in hypotheses_list:
            ids = hypothesis.y_sequence
            ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
            hypothesis.text = self.decode_tokens_to_str(ids)
            if self.compute_hypothesis_token_set:
                hypothesis.tokens = self.decode_ids_to_tokens(ids)
        return hypotheses_list

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement decode_tokens_to_str.")

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must implement decode_ids_to_tokens.")

    def decode_tokens_to_lang(self, tokens: list[int]) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement decode_tokens_to_lang.")

    def decode_ids_to_langs(self, tokens: list[int]) -> list[dict]:
        raise NotImplementedError(f"{type(self).__name__} must implement decode_ids_to_langs.")

    @staticmethod
    def strip_special_tokens(text: str) -> str:
        """``text`` without ``<...>`` tokens and surrounding spaces (a label that looks like ``<x>`` goes too)."""
        if not isinstance(text, str):
            raise TypeError(f"strip_special_tokens expects a str; got {type(text).__name__}.")
        return _SPECIAL_TOKEN.sub("", text).strip()


class MultiTaskDecoding(AbstractMultiTaskDecoding):
    """:class:`AbstractMultiTaskDecoding` over a sub-word (aggregate or sentencepiece) tokenizer."""

    def __init__(
        self, decoding_cfg, transformer_decoder: torch.nn.Module, log_softmax_module, tokenizer
    ) -> None:
        self.tokenizer = tokenizer
        super().__init__(decoding_cfg, transformer_decoder, log_softmax_module, tokenizer)
        self.decoding.set_decoding_type("subword")

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text(tokens)

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return self.tokenizer.ids_to_tokens(tokens)

    def decode_tokens_to_lang(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_lang(tokens)

    def decode_ids_to_langs(self, tokens: list[int]) -> list[dict]:
        return self.tokenizer.ids_to_text_and_langs(tokens)

    def decode_hypothesis(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """As the base class, plus ``langs`` / ``langs_chars`` with ``compute_langs`` (aggregate tokenizers)."""
        hypotheses = super().decode_hypothesis(hypotheses_list)
        if not self.compute_langs:
            return hypotheses
        if not hasattr(self.tokenizer, "ids_to_lang"):
            logging.warning(
                "decoding.compute_langs needs an aggregate tokenizer; this model's has no languages."
            )
            return hypotheses
        for hypothesis in hypotheses:
            ids = hypothesis.y_sequence
            ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
            hypothesis.langs = self.decode_tokens_to_lang(ids)
            hypothesis.langs_chars = self.decode_ids_to_langs(ids)
        return hypotheses


# Hashable (by field values) so NeMo scripts may use an instance as a dataclass default (Python 3.11+ rule).
@dataclass(unsafe_hash=True)
class MultiTaskDecodingConfig:
    """The ``decoding`` config of ``EncDecMultiTaskModel`` (NeMo 1.23's keys and defaults, plus ``greedy``)."""

    strategy: str = "beam"
    compute_hypothesis_token_set: bool = False
    preserve_alignments: bool | None = None
    compute_langs: bool = False
    greedy: AEDGreedyInferConfig = field(default_factory=AEDGreedyInferConfig)
    beam: AEDBeamInferConfig = field(default_factory=lambda: AEDBeamInferConfig(beam_size=1))
    temperature: float = 1.0
