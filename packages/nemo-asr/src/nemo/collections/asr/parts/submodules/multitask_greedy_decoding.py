"""Greedy search for attention encoder-decoder (AED) models: ``TransformerAEDGreedyInfer`` and its config.

The most probable token at each step, from the prompt until ``eos`` (see
:class:`~nemo.collections.asr.modules.transformer.GreedySequenceGenerator`); equal to beam search with
``beam_size=1`` and the same ``max_generation_delta``. NeMo 1.23's multitask decoding has no greedy strategy
(it raises); the config follows later NeMo versions' ``decoding.greedy`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from nemo.collections.asr.modules.transformer.transformer_generators import GreedySequenceGenerator
from nemo.collections.asr.parts.submodules.multitask_beam_decoding import AEDBeamInfer, sequence_log_probs
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis

__all__ = ["AEDGreedyInferConfig", "TransformerAEDGreedyInfer"]


class TransformerAEDGreedyInfer(AEDBeamInfer):
    """Greedy search (shared arguments: see :class:`AEDBeamInfer`).

    Args:
        max_generation_delta: hypotheses grow at most ``encoder frames + max_generation_delta`` long
            (< 0: only the decoder's ``max_sequence_length`` limits them).
    """

    def __init__(
        self,
        transformer_decoder: torch.nn.Module,
        log_softmax_module: torch.nn.Module,
        tokenizer,
        max_generation_delta: int = -1,
        preserve_alignments: bool = False,
    ) -> None:
        super().__init__(
            transformer_decoder, log_softmax_module, tokenizer, preserve_alignments=preserve_alignments
        )
        self.greedy_search = GreedySequenceGenerator(**self._generator_arguments(max_generation_delta))

    def _search(self, encoder_hidden_states, encoder_input_mask, decoder_input_ids, return_scores) -> list:
        tokens = self.greedy_search(
            decoder_input_ids=decoder_input_ids,
            encoder_hidden_states=encoder_hidden_states,
            encoder_input_mask=encoder_input_mask,
        )
        scores = [0.0] * tokens.shape[0]
        if return_scores:
            prompt_length = 1 if decoder_input_ids is None else decoder_input_ids.shape[1]
            with self.greedy_search.as_frozen():
                scores = sequence_log_probs(
                    self.greedy_search, tokens, prompt_length, encoder_hidden_states, encoder_input_mask
                ).tolist()
        return [
            Hypothesis(score=float(score), y_sequence=row.cpu(), timestep=[])
            for row, score in zip(tokens, scores)
        ]


@dataclass
class AEDGreedyInferConfig:
    """``decoding.greedy`` of the AED models."""

    max_generation_delta: int = -1
    preserve_alignments: bool = False
