"""RNNTDecoding / RNNTBPEDecoding: encoder outputs -> text for the transducer models (NeMo 1.23 names).

Decoding config keys as NeMo's (``decoding`` in a model's YAML)::

    strategy: greedy_batch    # greedy | greedy_batch (the same batched greedy search here) | beam
    greedy: {max_symbols: 10}
    beam:
      beam_size: 4            # 1 runs NeMo's sample-level greedy search (at most 5 tokens per frame)
      search_type: default    # the only search here; NeMo's tsd, alsd and maes are not supported
      score_norm: true        # rank final hypotheses by score per token
      return_best_hypothesis: true
      softmax_temperature: 1.0

``beam`` runs :class:`~nemo.collections.asr.parts.submodules.rnnt_beam_decoding.BeamRNNTInfer`. With
``beam.return_best_hypothesis: false``, :meth:`RNNTDecoding.rnnt_decoder_predictions_tensor` returns NeMo's
n-best lists as ``(best, all)``: ``best`` the first hypothesis (or text) of each utterance; ``all`` one list of
Hypothesis per utterance, best first, or with texts, every n-best text of the batch in one flat list.
Unlike NeMo, a ``beam.search_type`` other than ``default`` is an error instead of being ignored.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.submodules.rnnt_beam_decoding import BeamRNNTInfer
from nemo.collections.asr.parts.submodules.rnnt_greedy_decoding import GreedyBatchedRNNTInfer
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, decoded_results
from omegaconf import DictConfig, OmegaConf

SUPPORTED_STRATEGIES = ("greedy", "greedy_batch", "beam")


class RNNTDecoding:
    """Greedy or beam transducer decoding over a character vocabulary.

    Args:
        decoding_cfg: NeMo's RNNT decoding config (``strategy``, ``greedy: {max_symbols}``, ``beam: {...}``,
            ``preserve_alignments``); see the module docstring.
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
                f"decoding.strategy is {strategy!r}; RNN-T models here support {SUPPORTED_STRATEGIES} (NeMo's "
                "tsd, alsd and maes searches are not). Set decoding.strategy=greedy_batch or beam."
            )
        self.vocabulary = list(vocabulary)
        self.blank_id = len(self.vocabulary)
        if strategy == "beam":
            beam = cfg.get("beam") or {}
            preserve_alignments = cfg.get("preserve_alignments")
            if preserve_alignments is None:
                preserve_alignments = beam.get("preserve_alignments", False)
            self.decoding = BeamRNNTInfer(
                decoder_model=decoder,
                joint_model=joint,
                beam_size=beam.get("beam_size", 4),
                search_type=beam.get("search_type", "default"),
                score_norm=beam.get("score_norm", True),
                return_best_hypothesis=beam.get("return_best_hypothesis", True),
                softmax_temperature=beam.get("softmax_temperature", 1.0),
                preserve_alignments=preserve_alignments,
            )
        else:
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
    ) -> tuple[list, list | None]:
        """Decode a batch of encoder outputs.

        Args:
            encoder_output: (B, D, T) encoder features.
            encoded_lengths: (B,) valid frames.
            return_hypotheses: return Hypothesis objects (with ``text``) instead of strings.
            partial_hypotheses: streaming continuation; not supported here (must be None).

        Returns:
            ``(best, all)``: ``best`` one text (or Hypothesis) per utterance. ``all`` is None, except for beam
            search with ``return_best_hypothesis=False``: then one list of Hypothesis per utterance (best
            first), or without ``return_hypotheses`` the texts of every n-best hypothesis of the batch,
            flattened.
        """
        if partial_hypotheses is not None:
            raise ValueError(
                "partial_hypotheses (streaming) is not supported by the RNN-T decoding here; pass None."
            )
        (hypotheses,) = self.decoding(encoder_output, encoded_lengths)
        return decoded_results(hypotheses, self.decode_hypothesis, return_hypotheses)

    def decode_hypothesis(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Set ``text`` on each hypothesis from its token ids (blank dropped), in place; returns the list."""
        for hypothesis in hypotheses_list:
            tokens = hypothesis.y_sequence
            hypothesis.text = self.decode_tokens_to_str(
                tokens.tolist() if torch.is_tensor(tokens) else tokens
            )
        return hypotheses_list

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return "".join(self.vocabulary[token] for token in tokens if token != self.blank_id)

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return [self.vocabulary[token] for token in tokens if token != self.blank_id]


class RNNTBPEDecoding(RNNTDecoding):
    """Greedy or beam transducer decoding over the pieces of a sentencepiece tokenizer."""

    def __init__(self, decoding_cfg: DictConfig | dict | None, decoder, joint, tokenizer) -> None:
        self.tokenizer = tokenizer
        super().__init__(
            decoding_cfg, decoder, joint, tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size)))
        )

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text([token for token in tokens if token != self.blank_id])
