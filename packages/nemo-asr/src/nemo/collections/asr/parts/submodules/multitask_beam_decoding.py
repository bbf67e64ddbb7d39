"""Beam search for attention encoder-decoder (AED) models: ``TransformerAEDBeamInfer`` and its config.

Wraps :class:`~nemo.collections.asr.modules.transformer.BeamSearchSequenceGenerator` over the model's
``transf_decoder`` and ``log_softmax`` head; returns one :class:`Hypothesis` per input (token ids: the prompt,
the generated tokens, ``eos`` and ``pad`` filling), or every beam hypothesis as :class:`NBestHypotheses`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from nemo.collections.asr.modules.transformer.transformer_generators import (
    BeamSearchSequenceGenerator,
    GreedySequenceGenerator,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses

__all__ = ["AEDBeamInfer", "AEDBeamInferConfig", "TransformerAEDBeamInfer"]


class AEDBeamInfer:
    """What the AED search strategies share: the modules, the tokenizer's special ids, and the call.

    Args:
        transformer_decoder: the model's ``TransformerDecoderNM`` (``embedding``, ``decoder``,
            ``max_sequence_length``).
        log_softmax_module: the model's output head.
        tokenizer: gives ``bos_id``, ``eos_id``, ``pad_id``.
        search_type: only ``"default"``.
        return_best_hypothesis: one Hypothesis per input (True) or NBestHypotheses (False; beam search only).
        preserve_alignments: must be False (alignments are not recorded).
    """

    def __init__(
        self,
        transformer_decoder: torch.nn.Module,
        log_softmax_module: torch.nn.Module,
        tokenizer,
        search_type: str = "default",
        return_best_hypothesis: bool = True,
        preserve_alignments: bool = False,
    ) -> None:
        if search_type != "default":
            raise ValueError(f"AED decoding: search_type {search_type!r} is not supported; use 'default'.")
        if preserve_alignments:
            raise ValueError(
                "AED decoding does not record alignments; set decoding.preserve_alignments (and "
                "greedy/beam.preserve_alignments) to false."
            )
        self.transformer_decoder = transformer_decoder
        self.log_softmax_module = log_softmax_module
        self.tokenizer = tokenizer
        self.search_type = search_type
        self.return_best_hypothesis = return_best_hypothesis
        self.preserve_alignments = preserve_alignments
        self.decoding_type = None

    def set_decoding_type(self, decoding_type: str) -> None:
        self.decoding_type = decoding_type

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(
        self,
        encoder_hidden_states: torch.Tensor,
        encoder_input_mask: torch.Tensor,
        decoder_input_ids: torch.Tensor | None = None,
        return_scores: bool = False,
        partial_hypotheses: list[Hypothesis] | None = None,
    ) -> tuple[list[Hypothesis] | list[NBestHypotheses]]:
        """Decode a batch.

        Args:
            encoder_hidden_states: (B, T, H) encoder output (after the model's projection).
            encoder_input_mask: (B, T) 1 for valid frames.
            decoder_input_ids: (B, L) prompt tokens (None: start from ``bos``).
            return_scores: fill each Hypothesis's ``score`` with its total log-probability.
            partial_hypotheses: must be None (continuing hypotheses is not supported).

        Returns:
            A 1-tuple holding the list of hypotheses.
        """
        if partial_hypotheses is not None:
            raise ValueError("AED decoding cannot continue partial_hypotheses; pass None.")
        with torch.inference_mode():
            return (
                self._search(encoder_hidden_states, encoder_input_mask, decoder_input_ids, return_scores),
            )

    def _search(self, encoder_hidden_states, encoder_input_mask, decoder_input_ids, return_scores) -> list:
        raise NotImplementedError(f"{type(self).__name__} must implement _search.")

    def _generator_arguments(self, max_generation_delta: int) -> dict:
        return {
            "embedding": self.transformer_decoder.embedding,
            "decoder": self.transformer_decoder.decoder,
            "log_softmax": self.log_softmax_module,
            "max_sequence_length": self.transformer_decoder.max_sequence_length,
            "bos": self.tokenizer.bos_id,
            "pad": self.tokenizer.pad_id,
            "eos": self.tokenizer.eos_id,
            "max_delta_length": max_generation_delta,
        }


def sequence_log_probs(
    generator: GreedySequenceGenerator, hypotheses, prompt_length, encoder_states, encoder_mask
):
    """(N,) summed log-probabilities of the generated part of (N, L) hypotheses (``pad`` after ``eos`` free).

    Recomputed with one teacher-forced pass of the decoder, so greedy results can carry scores too.
    """
    memories = generator.decoder(
        generator.embedding(hypotheses[:, :-1], start_pos=0),
        (hypotheses[:, :-1] != generator.pad).float(),
        encoder_states,
        encoder_mask,
        return_mems=True,
    )
    log_probs = generator.log_softmax(hidden_states=memories[-1])[:, prompt_length - 1 :]
    targets = hypotheses[:, prompt_length:]
    picked = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    ended = torch.cumsum((targets == generator.eos).long(), dim=1) - (targets == generator.eos).long()
    return picked.masked_fill(ended > 0, 0.0).sum(dim=1)


class TransformerAEDBeamInfer(AEDBeamInfer):
    """Beam search (see :class:`AEDBeamInfer` for the shared arguments).

    Args:
        beam_size: hypotheses kept per input.
        length_penalty: GNMT length penalty exponent (``decoding.beam.len_pen``).
        max_generation_delta: hypotheses grow at most ``encoder frames + max_generation_delta`` long
            (< 0: only ``max_sequence_length`` limits them).
    """

    def __init__(
        self,
        transformer_decoder: torch.nn.Module,
        log_softmax_module: torch.nn.Module,
        tokenizer,
        search_type: str = "default",
        beam_size: int = 1,
        length_penalty: float = 0.0,
        max_generation_delta: int = 50,
        return_best_hypothesis: bool = True,
        preserve_alignments: bool = False,
    ) -> None:
        super().__init__(
            transformer_decoder,
            log_softmax_module,
            tokenizer,
            search_type=search_type,
            return_best_hypothesis=return_best_hypothesis,
            preserve_alignments=preserve_alignments,
        )
        self.beam_search = BeamSearchSequenceGenerator(
            beam_size=beam_size, len_pen=length_penalty, **self._generator_arguments(max_generation_delta)
        )

    def _search(self, encoder_hidden_states, encoder_input_mask, decoder_input_ids, return_scores) -> list:
        all_hypotheses, scores, best = self.beam_search(
            decoder_input_ids=decoder_input_ids,
            encoder_hidden_states=encoder_hidden_states,
            encoder_input_mask=encoder_input_mask,
            return_beam_scores=True,
        )
        beam = self.beam_search.beam_size
        if self.return_best_hypothesis:
            ranked = (scores / self.beam_search._penalty(all_hypotheses)).view(-1, beam)
            best_scores = scores.view(-1, beam).gather(1, ranked.argmax(dim=1, keepdim=True)).squeeze(1)
            return [
                Hypothesis(score=float(score) if return_scores else 0.0, y_sequence=tokens.cpu(), timestep=[])
                for tokens, score in zip(best, best_scores)
            ]
        penalised = (scores / self.beam_search._penalty(all_hypotheses)).view(-1, beam).cpu()
        all_hypotheses, scores = (
            all_hypotheses.view(penalised.shape[0], beam, -1).cpu(),
            scores.view(-1, beam).cpu(),
        )
        result = []
        for row in range(penalised.shape[0]):
            order = penalised[row].argsort(descending=True).tolist()
            result.append(
                NBestHypotheses(
                    [
                        Hypothesis(
                            score=float(scores[row, index]) if return_scores else 0.0,
                            y_sequence=all_hypotheses[row, index],
                            timestep=[],
                        )
                        for index in order
                    ]
                )
            )
        return result


@dataclass
class AEDBeamInferConfig:
    """``decoding.beam`` of the AED models (NeMo 1.23's keys and defaults)."""

    beam_size: int = 5
    search_type: str = "default"
    len_pen: float = 1.0
    max_generation_delta: int = 20
    return_best_hypothesis: bool = True
    preserve_alignments: bool = False
