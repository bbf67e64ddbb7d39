"""RNN-T beam search: NeMo 1.23's ``BeamRNNTInfer`` with ``search_type='default'``.

The ``default`` search is the transducer beam search of Graves (2012), in ESPnet's form, run one utterance at a
time, with ``beam = min(beam_size, V)`` and ``beam_k = min(beam, V - 1)``, ``V`` being the vocabulary without
blank (NeMo 1.23's limits, measured against it: a ``beam_size`` of ``V`` or more keeps ``V`` hypotheses and extends
each with ``V - 1`` tokens). At each encoder frame ``t`` the hypotheses carried over from frame ``t - 1`` are
expanded best first:

1. take the highest-scoring hypothesis out of the open set;
2. run the prediction network on its last token (outputs are cached by token sequence) and the joint on
   ``(f_t, g)``, giving log-probabilities ``logp`` (V+1,);
3. the hypothesis followed by blank (score ``+ logp[blank]``) ends the frame: it joins the kept set;
4. each of the ``beam_k`` best non-blank tokens ``k`` extends it (score ``+ logp[k]``) into the open set;
5. once at least ``beam`` kept hypotheses score higher than the best open one, those kept hypotheses
   (ascending by score) go on to frame ``t + 1``.

After the last valid frame the kept hypotheses are sorted best first, by ``score / len(y_sequence)`` when
``score_norm`` (the leading blank start token counts in the length, as in NeMo) or by ``score``. With
``beam_size == 1`` NeMo's sample-level greedy search runs instead: at most 5 tokens per frame, the score
summing the emitted tokens' log-probabilities.

Hypotheses come back as NeMo packs them, except that ``y_sequence`` (a ``torch.long`` tensor) leaves out the
leading blank start token, so it holds only emitted token ids (NeMo drops that blank only when it turns ids
into text). ``timestep`` gives the frame of each token and ``length`` the utterance's valid frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.utils import logging

__all__ = ["BeamRNNTInfer", "BeamRNNTInferConfig", "SEARCH_TYPES"]

SEARCH_TYPES = ("default",)
GREEDY_MAX_SYMBOLS_PER_STEP = 5
"""Tokens one frame may emit in NeMo's sample-level greedy search (``beam_size == 1``)."""


@dataclass
class BeamRNNTInferConfig:
    """``decoding.beam`` of an RNN-T model (NeMo 1.23's keys; only ``search_type: default`` runs here)."""

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


DecoderState = Any
"""The prediction network's recurrent state, as its ``predict`` returns it (``(h, c)`` for ``RNNTDecoder``)."""


@dataclass(frozen=True, eq=False)
class _Path:
    """A partial hypothesis inside the search.

    Attributes:
        score: summed log-probabilities of its tokens and blanks.
        tokens: token ids, starting with the blank start token.
        dec_state: decoder state before its last token was fed (the prediction cache feeds that token).
        timestep: frame of each token; -1 for the start token.
    """

    score: float
    tokens: tuple[int, ...]
    dec_state: DecoderState
    timestep: tuple[int, ...]


class _PredictionCache:
    """Projected prediction-network outputs of one utterance's hypotheses, keyed by token sequence.

    Hypotheses that share a token sequence share the decoder's output, so each sequence runs the
    prediction network once.
    """

    def __init__(self, decoder: torch.nn.Module, joint: torch.nn.Module, device: torch.device) -> None:
        self._decoder = decoder
        self._joint = joint
        self._device = device
        self._entries: dict[tuple[int, ...], tuple[torch.Tensor, DecoderState]] = {}

    def __call__(self, path: _Path) -> tuple[torch.Tensor, DecoderState]:
        """``(g, state)``: ``path``'s last token fed through the prediction network.

        Returns:
            ``g`` projected for the joint, (1, 1, joint_hidden), and the decoder state after the token.
        """
        entry = self._entries.get(path.tokens)
        if entry is None:
            last = path.tokens[-1]
            tokens = None
            if last != self._decoder.blank_idx:
                tokens = torch.full((1, 1), last, dtype=torch.long, device=self._device)
            output, state = self._decoder.predict(tokens, path.dec_state, add_sos=False, batch_size=1)
            entry = (self._joint.project_prednet(output[:, -1:, :]), state)
            self._entries[path.tokens] = entry
        return entry


class BeamRNNTInfer:
    """Beam search over each utterance of a batch (NeMo 1.23's class, ``search_type='default'`` only).

    Args:
        decoder_model: the prediction network (``RNNTDecoder``): ``predict``, ``initialize_state``,
            ``blank_idx`` and ``vocab_size`` (blank excluded).
        joint_model: the joint network (``RNNTJoint``): ``project_encoder``, ``project_prednet``,
            ``joint_after_projection``.
        beam_size: hypotheses kept per frame; 1 runs NeMo's sample-level greedy search.
        search_type: only ``"default"`` is supported here (NeMo's ``tsd``, ``alsd``, ``maes`` are not).
        score_norm: rank the final hypotheses by score per token (start token included) instead of score.
        return_best_hypothesis: one Hypothesis per utterance; ``False`` gives an NBestHypotheses each.
        tsd_max_sym_exp_per_step: used by the ``tsd`` search only; accepted for config compatibility.
        alsd_max_target_len: used by the ``alsd`` search only; accepted for config compatibility.
        nsc_max_timesteps_expansion: used by the ``nsc`` search only; accepted for config compatibility.
        nsc_prefix_alpha: used by the ``nsc`` search only; accepted for config compatibility.
        maes_num_steps: used by the ``maes`` search only; accepted for config compatibility.
        maes_prefix_alpha: used by the ``maes`` search only; accepted for config compatibility.
        maes_expansion_gamma: used by the ``maes`` search only; accepted for config compatibility.
        maes_expansion_beta: used by the ``maes`` search only; accepted for config compatibility.
        language_model: a neural LM for the ``tsd``/``alsd``/``maes`` searches; must be None here.
        softmax_temperature: joint outputs are divided by it before the log-softmax.
        preserve_alignments: per-frame alignments are not recorded here; must be False.
        ngram_lm_model: an n-gram LM for the ``maes`` search; must be None here.
        ngram_lm_alpha: its weight; accepted for config compatibility.
        hat_subtract_ilm: HAT internal-LM subtraction (``maes`` only); accepted for config compatibility.
        hat_ilm_weight: its weight; accepted for config compatibility.

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
            raise ValueError(
                f"decoding.beam.search_type is {search_type!r}; only {SEARCH_TYPES} is supported here (NeMo's "
                "tsd, alsd and maes searches are not). Set decoding.beam.search_type=default."
            )
        if beam_size < 1:
            raise ValueError(f"decoding.beam.beam_size must be >= 1, got {beam_size}. Set it to 1 or more.")
        if beam_size > 1 and decoder_model.vocab_size < 2:
            raise ValueError(
                f"decoding.beam.beam_size is {beam_size}, but the model has {decoder_model.vocab_size} token(s) "
                "besides blank; the beam search extends each hypothesis with vocab_size - 1 tokens, so it needs "
                "2 or more. Set decoding.beam.beam_size=1 (greedy search)."
            )
        if softmax_temperature <= 0:
            raise ValueError(
                f"decoding.beam.softmax_temperature must be > 0, got {softmax_temperature}. Set it to 1.0 "
                "for the model's own distribution."
            )
        if preserve_alignments:
            raise ValueError(
                "decoding.beam.preserve_alignments (or decoding.preserve_alignments) is true, but the RNN-T "
                "beam search here does not record alignments. Set it to false."
            )
        if language_model is not None or ngram_lm_model is not None:
            raise ValueError(
                "decoding.beam.language_model / decoding.beam.ngram_lm_model is set, but NeMo fuses language "
                "models only in the maes search, which is not supported here. Set them to null."
            )
        self.decoder = decoder_model
        self.joint = joint_model
        self.blank = decoder_model.blank_idx
        self.vocab_size = decoder_model.vocab_size
        self.beam_size = beam_size
        self.search_type = search_type
        self.score_norm = score_norm
        self.return_best_hypothesis = return_best_hypothesis
        self.softmax_temperature = float(softmax_temperature)
        self.preserve_alignments = preserve_alignments
        if beam_size == 1:
            logging.info("decoding.beam.beam_size is 1: running the sample-level greedy search.")

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
        """Final hypotheses of one utterance's valid frames (1, T, D), best first."""
        projected = self.joint.project_encoder(frames)  # (1, T, joint_hidden)
        cache = _PredictionCache(self.decoder, self.joint, frames.device)
        start = _Path(
            score=0.0,
            tokens=(self.blank,),
            dec_state=self.decoder.initialize_state(frames),
            timestep=(-1,),
        )
        if self.beam_size == 1:
            return [self._pack(self._greedy_search(projected, cache, start), frames.shape[1])]
        paths = self._default_beam_search(projected, cache, start)
        if self.score_norm:
            paths = sorted(paths, key=lambda path: path.score / len(path.tokens), reverse=True)
        else:
            paths = sorted(paths, key=lambda path: path.score, reverse=True)
        return [self._pack(path, frames.shape[1]) for path in paths]

    def _log_probs(self, frame: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """(V+1,) log-probabilities of the joint of one projected frame (1, 1, H) and prediction (1, 1, H)."""
        logits = self.joint.joint_after_projection(frame, prediction)[0, 0, 0]
        return (logits / self.softmax_temperature).log_softmax(dim=-1)

    def _default_beam_search(
        self, projected: torch.Tensor, cache: _PredictionCache, start: _Path
    ) -> list[_Path]:
        """The kept hypotheses after the last frame of ``projected`` (1, T, H), unsorted."""
        beam = min(self.beam_size, self.vocab_size)
        beam_k = min(beam, self.vocab_size - 1)
        kept = [start]
        for t in range(projected.shape[1]):
            frame = projected[:, t : t + 1]
            open_paths, kept = kept, []
            while True:
                best_index = max(range(len(open_paths)), key=lambda i: open_paths[i].score)
                path = open_paths.pop(best_index)
                prediction, state = cache(path)
                log_probs = self._log_probs(frame, prediction)
                kept.append(
                    _Path(
                        path.score + float(log_probs[self.blank]),
                        path.tokens,
                        path.dec_state,
                        path.timestep,
                    )
                )
                token_scores, tokens = log_probs[: self.blank].topk(beam_k)
                for score, token in zip(token_scores.tolist(), tokens.tolist()):
                    open_paths.append(
                        _Path(path.score + score, (*path.tokens, token), state, (*path.timestep, t))
                    )
                best_open = max(p.score for p in open_paths)
                ahead = sorted((p for p in kept if p.score > best_open), key=lambda p: p.score)
                if len(ahead) >= beam:
                    kept = ahead
                    break
        return kept

    def _greedy_search(self, projected: torch.Tensor, cache: _PredictionCache, start: _Path) -> _Path:
        """NeMo's sample-level greedy search over ``projected`` (1, T, H): blank ends a frame, 5 tokens at most."""
        path = start
        for t in range(projected.shape[1]):
            frame = projected[:, t : t + 1]
            for _ in range(GREEDY_MAX_SYMBOLS_PER_STEP):
                prediction, state = cache(path)
                log_prob, token = self._log_probs(frame, prediction).max(dim=-1)
                token = int(token)
                if token == self.blank:
                    break
                path = _Path(path.score + float(log_prob), (*path.tokens, token), state, (*path.timestep, t))
        return path

    @staticmethod
    def _pack(path: _Path, length: int) -> Hypothesis:
        """A Hypothesis without the start token: ``y_sequence`` (U,) long, ``timestep`` U frames."""
        return Hypothesis(
            score=path.score,
            y_sequence=torch.tensor(path.tokens[1:], dtype=torch.long),
            dec_state=path.dec_state,
            timestep=list(path.timestep[1:]),
            length=length,
        )
