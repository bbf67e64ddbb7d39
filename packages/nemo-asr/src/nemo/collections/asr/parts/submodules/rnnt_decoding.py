"""RNNTDecoding / RNNTBPEDecoding: encoder outputs -> text for the transducer models (NeMo 1.23 names).

Decoding config keys as NeMo's: ``strategy`` (``greedy`` or ``greedy_batch``; both run the batched greedy
search here) and ``greedy.max_symbols``.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.submodules.rnnt_greedy_decoding import GreedyBatchedRNNTInfer
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from omegaconf import DictConfig, OmegaConf

SUPPORTED_STRATEGIES = ("greedy", "greedy_batch")


class RNNTDecoding:
    """Greedy transducer decoding over a character vocabulary.

    Args:
        decoding_cfg: NeMo's RNNT decoding config (``strategy``, ``greedy: {max_symbols}``).
        decoder: the ``RNNTDecoder`` prediction network.
        joint: the ``RNNTJoint``.
        vocabulary: output units, blank excluded (blank id = ``len(vocabulary)``).
    """

    def __init__(self, decoding_cfg: DictConfig | dict | None, decoder, joint, vocabulary: list[str]) -> None:
        cfg = OmegaConf.create(decoding_cfg if decoding_cfg is not None else {})
        self.cfg = cfg
        strategy = cfg.get("strategy", "greedy_batch")
        if strategy not in SUPPORTED_STRATEGIES:
            raise ValueError(
                f"decoding.strategy is {strategy!r}; RNN-T models here support {SUPPORTED_STRATEGIES}. "
                "Set decoding.strategy=greedy_batch."
            )
        self.vocabulary = list(vocabulary)
        self.blank_id = len(self.vocabulary)
        greedy = cfg.get("greedy") or {}
        self.decoding = GreedyBatchedRNNTInfer(
            decoder, joint, blank_index=self.blank_id, max_symbols_per_step=greedy.get("max_symbols", 10)
        )

    def rnnt_decoder_predictions_tensor(
        self,
        encoder_output: torch.Tensor,
        encoded_lengths: torch.Tensor,
        return_hypotheses: bool = False,
        partial_hypotheses: list[Hypothesis] | None = None,
    ) -> tuple[list, None]:
        """Decode a batch of encoder outputs.

        Args:
            encoder_output: (B, D, T) encoder features.
            encoded_lengths: (B,) valid frames.
            return_hypotheses: return Hypothesis objects (with ``text``) instead of strings.
            partial_hypotheses: streaming continuation; not supported here (must be None).

        Returns:
            (best hypotheses, None): greedy search has no n-best list.
        """
        if partial_hypotheses is not None:
            raise ValueError("partial_hypotheses (streaming) is not supported by greedy batch decoding here.")
        hypotheses = self.decoding(encoder_output, encoded_lengths)
        for hypothesis in hypotheses:
            hypothesis.text = self.decode_tokens_to_str(hypothesis.y_sequence)
            hypothesis.length = len(hypothesis.y_sequence)
        if return_hypotheses:
            return hypotheses, None
        return [hypothesis.text for hypothesis in hypotheses], None

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return "".join(self.vocabulary[token] for token in tokens if token != self.blank_id)

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return [self.vocabulary[token] for token in tokens if token != self.blank_id]


class RNNTBPEDecoding(RNNTDecoding):
    """Greedy transducer decoding over the pieces of a sentencepiece tokenizer."""

    def __init__(self, decoding_cfg: DictConfig | dict | None, decoder, joint, tokenizer) -> None:
        self.tokenizer = tokenizer
        super().__init__(
            decoding_cfg, decoder, joint, tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size)))
        )

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text([token for token in tokens if token != self.blank_id])
