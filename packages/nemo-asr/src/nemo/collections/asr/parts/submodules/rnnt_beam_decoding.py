"""RNN-T beam search: NeMo 1.23's ``BeamRNNTInfer`` (``search_type`` greedy, default, tsd, alsd, maes).

The searches themselves live in :mod:`~nemo.collections.asr.parts.submodules.rnnt_beam_search_algorithms`; this
module holds the config, checks the options, runs one search per utterance and packs NeMo's Hypothesis objects.

* ``default``: transducer beam search of Graves (2012), ESPnet's form, with ``beam = min(beam_size, V)`` and
  ``beam_k = min(beam, V - 1)`` tokens per expansion, ``V`` being the vocabulary without blank.
* ``tsd``: time-synchronous decoding, ``tsd_max_sym_exp_per_step`` expansion rounds per frame.
* ``alsd``: alignment-length synchronous decoding, ``alsd_max_target_len`` tokens at most (a float is a
  multiple of the utterance's frames, an int a fixed count).
* ``maes``: modified adaptive expansion search (``maes_num_steps``, ``maes_prefix_alpha``,
  ``maes_expansion_gamma``, ``maes_expansion_beta``).
* ``greedy``, and any search type with ``beam_size == 1``: NeMo's sample-level greedy search (at most 5 tokens
  per frame, the score summing the emitted tokens' log-probabilities).

Final hypotheses are sorted best first by ``score / len(y_sequence)`` when ``score_norm`` (the leading blank
start token counts in the length, as in NeMo) or by ``score``; ``alsd`` returns its last beam unsorted when no
hypothesis reached the last frame, as NeMo does.

Hypotheses come back as NeMo packs them, except that ``y_sequence`` (a ``torch.long`` tensor) leaves out the
leading blank start token, so it holds only emitted token ids (NeMo drops that blank only when it turns ids
into text). ``timestep`` gives the frame of each token (``alsd``: the search step, as in NeMo) and ``length``
the utterance's valid frames. With ``preserve_alignments`` (``greedy`` and ``default`` only),
``Hypothesis.alignments`` holds per frame the list of ``(log_probs (V+1,), label int32)`` pairs of the joint
evaluations on the hypothesis' path, as NeMo records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.rnnt_beam_search_algorithms import (
    GREEDY_MAX_SYMBOLS_PER_STEP,
    BeamPath,
    Scorer,
    alignment_length_synchronous_search,
    default_beam_search,
    greedy_search,
    modified_adaptive_expansion_search,
    time_synchronous_search,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.utils import logging

__all__ = ["GREEDY_MAX_SYMBOLS_PER_STEP", "SEARCH_TYPES", "BeamRNNTInfer", "BeamRNNTInferConfig"]

SEARCH_TYPES = ("greedy", "default", "tsd", "alsd", "maes")
ALIGNMENT_SEARCH_TYPES = ("greedy", "default")
"""Search types that record ``preserve_alignments`` here (NeMo's tsd/alsd/maes bookkeeping is not reproduced)."""


@dataclass
class BeamRNNTInferConfig:
    """``decoding.beam`` of an RNN-T model (NeMo 1.23's keys; ``nsc`` and language models are refused)."""

    beam_size: int
    search_type: str = "default"
    score_norm: bool = True
    return_best_hypothesis: bool = True
    tsd_max_sym_exp_per_step: int | None = 50
    alsd_max_target_len: float = 1.0
    nsc_max_timesteps_expansion: int = 1
    nsc_prefix_alpha: int = 1
    maes_num_steps: int = 2
    maes_prefix_alpha: int = 1
    maes_expansion_gamma: float = 2.3
    maes_expansion_beta: int = 2
    language_model: dict[str, Any] | None = None
    softmax_temperature: float = 1.0
    preserve_alignments: bool = False
    ngram_lm_model: str | None = None
    ngram_lm_alpha: float = 0.0
    hat_subtract_ilm: bool = False
    hat_ilm_weight: float = 0.0


class BeamRNNTInfer:
    """Beam search over each utterance of a batch (NeMo 1.23's class and arguments).

    Args:
        decoder_model: the prediction network (``RNNTDecoder``): ``predict``, ``initialize_state``,
            ``blank_idx``, ``vocab_size`` (blank excluded) and, for ``tsd``/``alsd``, ``blank_as_pad``.
        joint_model: the joint network (``RNNTJoint``): ``project_encoder``, ``project_prednet``,
            ``joint_after_projection``.
        beam_size: hypotheses kept per frame; 1 runs NeMo's sample-level greedy search whatever the search type.
        search_type: ``"default"``, ``"greedy"`` (needs ``beam_size=1``), ``"tsd"``, ``"alsd"`` or ``"maes"``.
        score_norm: rank the final hypotheses by score per token (start token included) instead of score.
        return_best_hypothesis: one Hypothesis per utterance; ``False`` gives an NBestHypotheses each.
        tsd_max_sym_exp_per_step: ``tsd``: token expansion rounds per frame (>= 1).
        alsd_max_target_len: ``alsd``: most tokens, a float as a multiple of the frames, an int as a count.
        nsc_max_timesteps_expansion: for NeMo's ``nsc`` search, which NeMo does not implement either; unused.
        nsc_prefix_alpha: likewise, for ``nsc``; unused.
        maes_num_steps: ``maes``: expansion rounds per frame (>= 2).
        maes_prefix_alpha: ``maes``: longest token difference of the prefix merge (>= 0).
        maes_expansion_gamma: ``maes``: prune-by-value margin in log-probability.
        maes_expansion_beta: ``maes``: extra candidates over ``beam_size`` (``beam_size + beta <= V``).
        language_model: a neural LM; NeMo does not implement it either, so it must be None.
        softmax_temperature: joint outputs are divided by it before the log-softmax.
        preserve_alignments: record ``Hypothesis.alignments`` (``greedy`` and ``default`` searches only).
        ngram_lm_model: an n-gram (KenLM) LM for ``maes``; not supported here, must be None.
        ngram_lm_alpha: its weight; only meaningful with ``ngram_lm_model``.
        hat_subtract_ilm: HAT internal-LM subtraction, used with the n-gram LM only; must be False.
        hat_ilm_weight: its weight; only meaningful with ``hat_subtract_ilm``.

    Example:
        >>> search = BeamRNNTInfer(model.decoder, model.joint, beam_size=4, return_best_hypothesis=False)
        >>> (n_best_per_utterance,) = search(encoder_output=encoded, encoded_lengths=encoded_len)
    """

    def __init__(
        self,
        decoder_model: torch.nn.Module,
        joint_model: torch.nn.Module,
        beam_size: int,
        search_type: str = "default",
        score_norm: bool = True,
        return_best_hypothesis: bool = True,
        tsd_max_sym_exp_per_step: int | None = 50,
        alsd_max_target_len: int | float = 1.0,
        nsc_max_timesteps_expansion: int = 1,
        nsc_prefix_alpha: int = 1,
        maes_num_steps: int = 2,
        maes_prefix_alpha: int = 1,
        maes_expansion_gamma: float = 2.3,
        maes_expansion_beta: int = 2,
        language_model: dict[str, Any] | None = None,
        softmax_temperature: float = 1.0,
        preserve_alignments: bool = False,
        ngram_lm_model: str | None = None,
        ngram_lm_alpha: float = 0.0,
        hat_subtract_ilm: bool = False,
        hat_ilm_weight: float = 0.0,
    ) -> None:
        if search_type not in SEARCH_TYPES:
            hint = " (NeMo does not implement nsc either)" if search_type == "nsc" else ""
            raise ValueError(
                f"decoding.beam.search_type is {search_type!r}{hint}; expected one of {SEARCH_TYPES}."
            )
        if beam_size < 1:
            raise ValueError(f"decoding.beam.beam_size must be >= 1, got {beam_size}. Set it to 1 or more.")
        if search_type == "greedy" and beam_size != 1:
            raise ValueError(
                f"decoding.beam.search_type='greedy' needs decoding.beam.beam_size=1, got {beam_size}; set "
                "beam_size=1 or choose another search_type."
            )
        if beam_size > 1 and decoder_model.vocab_size < 2:
            raise ValueError(
                f"decoding.beam.beam_size is {beam_size}, but the model has {decoder_model.vocab_size} token(s) "
                "besides blank; the beam search extends each hypothesis with vocab_size - 1 tokens, so it needs "
                "2 or more. Set decoding.beam.beam_size=1 (greedy search)."
            )
        if search_type in ("tsd", "alsd") and not getattr(decoder_model, "blank_as_pad", False):
            raise ValueError(
                f"decoding.beam.search_type={search_type!r} batches hypotheses with blank as the padding token, "
                "but this decoder was built with blank_as_pad=False. Use search_type default or maes."
            )
        if search_type == "tsd" and (tsd_max_sym_exp_per_step is None or tsd_max_sym_exp_per_step < 1):
            raise ValueError(
                f"decoding.beam.tsd_max_sym_exp_per_step is {tsd_max_sym_exp_per_step}; the tsd search needs "
                "1 or more expansion rounds per frame (NeMo's default is 50)."
            )
        if search_type == "maes":
            self._check_maes(
                decoder_model.vocab_size, beam_size, maes_num_steps, maes_prefix_alpha, maes_expansion_beta
            )
        if softmax_temperature <= 0:
            raise ValueError(
                f"decoding.beam.softmax_temperature must be > 0, got {softmax_temperature}. Set it to 1.0 "
                "for the model's own distribution."
            )
        if preserve_alignments and beam_size > 1 and search_type not in ALIGNMENT_SEARCH_TYPES:
            raise ValueError(
                f"decoding.beam.preserve_alignments (or decoding.preserve_alignments) is true, but alignments are "
                f"recorded here only by the {ALIGNMENT_SEARCH_TYPES} searches, not {search_type!r}. Set it to "
                "false or use search_type=default."
            )
        if language_model is not None or ngram_lm_model is not None:
            raise ValueError(
                "decoding.beam.language_model / decoding.beam.ngram_lm_model is set, but language-model fusion "
                "is not supported here. Set them to null."
            )
        if hat_subtract_ilm:
            raise ValueError(
                "decoding.beam.hat_subtract_ilm is true, but it only applies with an n-gram LM "
                "(decoding.beam.ngram_lm_model), which is not supported here. Set it to false."
            )
        self.decoder = decoder_model
        self.joint = joint_model
        self.blank = decoder_model.blank_idx
        self.vocab_size = decoder_model.vocab_size
        self.beam_size = beam_size
        self.search_type = search_type
        self.score_norm = score_norm
        self.return_best_hypothesis = return_best_hypothesis
        self.tsd_max_symmetric_expansion_per_step = tsd_max_sym_exp_per_step
        self.alsd_max_target_length = alsd_max_target_len
        self.maes_num_steps = int(maes_num_steps)
        self.maes_prefix_alpha = int(maes_prefix_alpha)
        self.maes_expansion_gamma = float(maes_expansion_gamma)
        self.maes_expansion_beta = int(maes_expansion_beta)
        self.softmax_temperature = float(softmax_temperature)
        self.preserve_alignments = preserve_alignments
        if beam_size == 1:
            logging.info("decoding.beam.beam_size is 1: running the sample-level greedy search.")

    @staticmethod
    def _check_maes(vocab_size: int, beam_size: int, num_steps: int, prefix_alpha: int, beta: int) -> None:
        """Raise for ``maes`` settings NeMo rejects."""
        if prefix_alpha < 0:
            raise ValueError(f"decoding.beam.maes_prefix_alpha must be >= 0, got {prefix_alpha}.")
        if vocab_size < beam_size + beta:
            raise ValueError(
                f"decoding.beam.beam_size ({beam_size}) + maes_expansion_beta ({beta}) must be <= the vocabulary "
                f"size without blank ({vocab_size}); lower one of them."
            )
        if num_steps < 2:
            raise ValueError(f"decoding.beam.maes_num_steps must be >= 2, got {num_steps}.")

    def set_decoding_type(self, decoding_type: str) -> None:
        """``"char"`` or ``"subword"`` (NeMo uses it for n-gram LM fusion, which this search does not do)."""
        if decoding_type not in ("char", "subword"):
            raise ValueError(f"decoding type {decoding_type!r} is not 'char' or 'subword'.")
        self.decoding_type = decoding_type

    def __call__(
        self,
        encoder_output: torch.Tensor,
        encoded_lengths: torch.Tensor,
        partial_hypotheses: list[Hypothesis] | None = None,
    ) -> tuple[list[Hypothesis] | list[NBestHypotheses]]:
        """Search every utterance of a batch, one at a time, in eval mode and without gradients.

        Args:
            encoder_output: (B, D, T) encoder features.
            encoded_lengths: (B,) valid frames.
            partial_hypotheses: streaming continuation; not supported by the beam search (must be None).

        Returns:
            A one-tuple: a list of Hypothesis (the best per utterance) or, with ``return_best_hypothesis=False``,
            of NBestHypotheses (every final hypothesis of the utterance, best first).
        """
        if partial_hypotheses is not None:
            raise ValueError(
                "BeamRNNTInfer got partial_hypotheses, but the RNN-T beam search does not continue streamed "
                "hypotheses. Pass partial_hypotheses=None, or use decoding.strategy=greedy_batch."
            )
        was_training = (self.decoder.training, self.joint.training)
        self.decoder.eval()
        self.joint.eval()
        try:
            with torch.no_grad():
                frames = encoder_output.transpose(1, 2)  # (B, T, D)
                results = []
                for utterance, length in zip(frames, encoded_lengths.tolist()):
                    n_best = self._search(utterance[None, : int(length)])
                    results.append(n_best[0] if self.return_best_hypothesis else NBestHypotheses(n_best))
        finally:
            self.decoder.train(was_training[0])
            self.joint.train(was_training[1])
        return (results,)

    def _search(self, frames: torch.Tensor) -> list[Hypothesis]:
        """Final hypotheses of one utterance's valid frames (1, T, D), best first (see the module docstring)."""
        projected = self.joint.project_encoder(frames)  # (1, T, joint_hidden)
        scorer = Scorer(self.decoder, self.joint, self.softmax_temperature, frames.device)
        start = BeamPath(
            score=0.0,
            tokens=(self.blank,),
            dec_state=self.decoder.initialize_state(frames),
            timestep=(-1,),
            alignment=() if self.preserve_alignments else None,
        )
        if self.beam_size == 1:
            paths = greedy_search(projected, scorer, start)
        elif self.search_type == "default":
            paths = self._sorted(default_beam_search(projected, scorer, start, self.beam_size))
        elif self.search_type == "tsd":
            paths = time_synchronous_search(
                projected, scorer, start, self.beam_size, self.tsd_max_symmetric_expansion_per_step
            )
            paths = self._sorted(paths)
        elif self.search_type == "alsd":
            paths = alignment_length_synchronous_search(
                projected, scorer, start, self.beam_size, self.alsd_max_target_length
            )
        else:
            paths = modified_adaptive_expansion_search(
                projected,
                scorer,
                start,
                self.beam_size,
                num_steps=self.maes_num_steps,
                prefix_alpha=self.maes_prefix_alpha,
                expansion_gamma=self.maes_expansion_gamma,
                expansion_beta=self.maes_expansion_beta,
            )
            paths = self._sorted(paths)
        return [self._pack(path, frames.shape[1]) for path in paths]

    def _sorted(self, paths: list[BeamPath]) -> list[BeamPath]:
        """``paths`` best first: by score per token (start token included) when ``score_norm``, else score."""
        if self.score_norm:
            return sorted(paths, key=lambda path: path.score / len(path.tokens), reverse=True)
        return sorted(paths, key=lambda path: path.score, reverse=True)

    @staticmethod
    def _pack(path: BeamPath, length: int) -> Hypothesis:
        """A Hypothesis without the start token: ``y_sequence`` (U,) long, ``timestep`` U entries."""
        return Hypothesis(
            score=float(path.score),
            y_sequence=torch.tensor(path.tokens[1:], dtype=torch.long),
            dec_state=path.dec_state,
            timestep=list(path.timestep[1:]),
            length=length,
            alignments=path.alignments(),
        )
