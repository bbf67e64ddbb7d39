"""The per-utterance searches behind ``BeamRNNTInfer`` (NeMo 1.23's ``search_type`` values).

Every search here works on one utterance: ``frames`` are the encoder frames already projected for the joint,
(1, T, H), and a :class:`Scorer` turns a partial hypothesis (:class:`BeamPath`) into the log-probabilities of
its next output at one frame. Scores are summed natural-log probabilities; blank is the last output (id ``V``).

* :func:`greedy_search`: best output per step, blank ends a frame, at most 5 tokens per frame.
* :func:`default_beam_search`: Graves (2012) transducer beam search, in ESPnet's form.
* :func:`time_synchronous_search`: ``tsd``, time-synchronous decoding (Saon et al., ICASSP 2020): per frame,
  up to ``max_sym_exp_per_step`` rounds of token expansions; equal sequences that end the frame with blank
  are merged by log-sum-exp.
* :func:`alignment_length_synchronous_search`: ``alsd`` (same paper): step ``i`` extends every hypothesis whose
  alignment length ``t + u`` is ``i``; it runs ``T + u_max`` steps.
* :func:`modified_adaptive_expansion_search`: ``maes`` (Kim et al., ICASSP 2021): per frame, a prefix merge and
  up to ``num_steps`` rounds of prune-by-value expansions.

The details follow NeMo 1.23's implementation wherever they change results (tie orders, which merged score is
kept, the step index that ``alsd`` records as a token's timestep, NeMo's alignment bookkeeping).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "GREEDY_MAX_SYMBOLS_PER_STEP",
    "AlignmentEntry",
    "BeamPath",
    "Scorer",
    "alignment_length_synchronous_search",
    "default_beam_search",
    "greedy_search",
    "modified_adaptive_expansion_search",
    "time_synchronous_search",
]

GREEDY_MAX_SYMBOLS_PER_STEP = 5
"""Tokens one frame may emit in NeMo's sample-level greedy search."""

DecoderState = Any
"""The prediction network's recurrent state, as its ``predict`` returns it (``(h, c)`` for ``RNNTDecoder``)."""

AlignmentEntry = tuple[torch.Tensor, torch.Tensor]
"""One joint evaluation on a hypothesis' path: (log-probabilities (V+1,) on CPU, chosen label int32 scalar)."""


@dataclass(eq=False)
class BeamPath:
    """A partial hypothesis inside a search (mutable: some searches merge scores in place, as NeMo does).

    Attributes:
        score: summed log-probabilities of its tokens and blanks.
        tokens: token ids, starting with the blank start token.
        dec_state: decoder state before its last token was fed (the scorer's cache feeds that token).
        timestep: frame (``alsd``: step) of each token; -1 for the start token.
        alignment: closed frames of the alignment, each a list of :data:`AlignmentEntry`; None when alignments
            are not recorded.
        open_frame: entries of the frame being decoded.
    """

    score: float
    tokens: tuple[int, ...]
    dec_state: DecoderState
    timestep: tuple[int, ...]
    alignment: tuple[tuple[AlignmentEntry, ...], ...] | None = None
    open_frame: tuple[AlignmentEntry, ...] = field(default=())

    def extend(self, log_prob: float, token: int, state: DecoderState, step: int) -> BeamPath:
        """A new path: this one followed by ``token`` (fed with ``state``) emitted at ``step``."""
        return BeamPath(
            self.score + log_prob,
            (*self.tokens, token),
            state,
            (*self.timestep, step),
            self.alignment,
            self.open_frame,
        )

    def with_blank(self, log_prob: float) -> BeamPath:
        """A new path: this one followed by blank (same tokens and decoder state)."""
        return BeamPath(
            self.score + log_prob, self.tokens, self.dec_state, self.timestep, self.alignment, self.open_frame
        )

    def record(self, log_probs: torch.Tensor, label: int) -> None:
        """Add one joint evaluation to the open alignment frame (no-op when alignments are off)."""
        if self.alignment is not None:
            entry = (log_probs.detach().cpu().clone(), torch.tensor(label, dtype=torch.int32))
            self.open_frame = (*self.open_frame, entry)

    def close_frame(self) -> None:
        """Start a new alignment frame (no-op when alignments are off)."""
        if self.alignment is not None:
            self.alignment = (*self.alignment, self.open_frame)
            self.open_frame = ()

    def alignments(self) -> list[list[AlignmentEntry]] | None:
        """NeMo's ``Hypothesis.alignments``: per frame, the list of (log_probs, label) pairs; None when off."""
        if self.alignment is None:
            return None
        frames = [list(frame) for frame in self.alignment]
        if self.open_frame:
            frames.append(list(self.open_frame))
        return frames


class Scorer:
    """Joint log-probabilities of paths, with the prediction network's outputs cached by token sequence.

    Args:
        decoder: the prediction network (``predict``, ``blank_idx``).
        joint: the joint (``project_prednet``, ``joint_after_projection``).
        temperature: joint outputs are divided by it before the log-softmax.
        device: where token tensors are made.
    """

    def __init__(
        self, decoder: torch.nn.Module, joint: torch.nn.Module, temperature: float, device: torch.device
    ):
        self._decoder = decoder
        self._joint = joint
        self._temperature = temperature
        self._device = device
        self.blank = int(decoder.blank_idx)
        self._entries: dict[tuple[int, ...], tuple[torch.Tensor, DecoderState]] = {}

    def predict(self, path: BeamPath) -> tuple[torch.Tensor, DecoderState]:
        """``(g, state)``: ``path``'s last token fed through the prediction network from ``path.dec_state``.

        Returns:
            ``g`` projected for the joint, (1, 1, H), and the decoder state after the token.
        """
        entry = self._entries.get(path.tokens)
        if entry is None:
            last = path.tokens[-1]
            tokens = None
            if last != self.blank:
                tokens = torch.full((1, 1), last, dtype=torch.long, device=self._device)
            output, state = self._decoder.predict(tokens, path.dec_state, add_sos=False, batch_size=1)
            entry = (self._joint.project_prednet(output[:, -1:, :]), state)
            self._entries[path.tokens] = entry
        return entry

    def cached_output(self, tokens: tuple[int, ...]) -> torch.Tensor:
        """The projected output (1, 1, H) after ``tokens``, which must have been predicted already."""
        return self._entries[tokens][0]

    def log_probs_of(self, frame: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """(V+1,) log-probabilities of the joint of one projected frame (1, 1, H) and prediction (1, 1, H)."""
        logits = self._joint.joint_after_projection(frame, prediction)[0, 0, 0]
        return (logits / self._temperature).log_softmax(dim=-1)

    def log_probs(self, frame: torch.Tensor, path: BeamPath) -> tuple[torch.Tensor, DecoderState]:
        """``(log_probs (V+1,), state after path's last token)`` at ``frame`` (1, 1, H)."""
        prediction, state = self.predict(path)
        return self.log_probs_of(frame, prediction), state


def _logaddexp(a: float, b: float) -> float:
    return float(np.logaddexp(a, b))


def greedy_search(frames: torch.Tensor, scorer: Scorer, start: BeamPath) -> list[BeamPath]:
    """NeMo's sample-level greedy search over ``frames`` (1, T, H); one path.

    The path's score sums the emitted tokens' log-probabilities (blanks do not count). With alignments, every
    joint evaluation is recorded and a blank closes the frame (a frame that hits the 5-token limit stays open,
    so the next frame's entries join it, as in NeMo).
    """
    path = start
    for t in range(frames.shape[1]):
        frame = frames[:, t : t + 1]
        for _ in range(GREEDY_MAX_SYMBOLS_PER_STEP):
            log_probs, state = scorer.log_probs(frame, path)
            log_prob, token = log_probs.max(dim=-1)
            token = int(token)
            path.record(log_probs, token)
            if token == scorer.blank:
                path.close_frame()
                break
            path = path.extend(float(log_prob), token, state, t)
    return [path]


def default_beam_search(
    frames: torch.Tensor, scorer: Scorer, start: BeamPath, beam_size: int
) -> list[BeamPath]:
    """The kept paths after the last frame of ``frames`` (1, T, H), unsorted.

    ``beam = min(beam_size, V)`` paths go from frame to frame; each expansion adds its ``min(beam, V - 1)``
    best tokens. A frame ends once ``beam`` blank-ended paths score above every open path.
    """
    vocab = scorer.blank
    beam = min(beam_size, vocab)
    beam_k = min(beam, vocab - 1)
    kept = [start]
    for t in range(frames.shape[1]):
        frame = frames[:, t : t + 1]
        open_paths, kept = kept, []
        while True:
            best_index = max(range(len(open_paths)), key=lambda i: open_paths[i].score)
            path = open_paths.pop(best_index)
            log_probs, state = scorer.log_probs(frame, path)
            token_scores, tokens = log_probs[: scorer.blank].topk(beam_k)
            for score, token in zip(token_scores.tolist(), tokens.tolist()):
                child = path.extend(score, token, state, t)
                child.record(log_probs, token)
                open_paths.append(child)
            ended = path.with_blank(float(log_probs[scorer.blank]))
            ended.record(log_probs, scorer.blank)
            kept.append(ended)
            best_open = max(p.score for p in open_paths)
            ahead = sorted((p for p in kept if p.score > best_open), key=lambda p: p.score)
            if len(ahead) >= beam:
                for p in ahead:
                    p.close_frame()
                kept = ahead
                break
    return kept


def time_synchronous_search(
    frames: torch.Tensor, scorer: Scorer, start: BeamPath, beam_size: int, max_sym_exp_per_step: int
) -> list[BeamPath]:
    """``tsd``: the ``beam = min(beam_size, V)`` best paths after the last frame of ``frames`` (1, T, H).

    Per frame, ``max_sym_exp_per_step`` rounds run on the current candidates ``C`` (first the paths carried
    over): each candidate ending the frame with blank joins the frame's set ``A`` (an equal token sequence
    already there gets its score log-sum-exp merged), and each candidate's ``beam`` best tokens form the next
    round's candidates (best ``beam`` kept). The best ``beam`` of ``A`` go on.
    """
    beam = min(beam_size, scorer.blank)
    carried = [start]
    for t in range(frames.shape[1]):
        frame = frames[:, t : t + 1]
        ended: list[BeamPath] = []
        candidates = carried
        for _ in range(max_sym_exp_per_step):
            scored = [scorer.log_probs(frame, path) for path in candidates]
            known = {}
            for index, path in enumerate(ended):
                known.setdefault(path.tokens, index)
            for path, (log_probs, _) in zip(candidates, scored):
                blank_score = float(log_probs[scorer.blank])
                if path.tokens in known:
                    merged = ended[known[path.tokens]]
                    merged.score = _logaddexp(merged.score, path.score + blank_score)
                else:
                    ended.append(path.with_blank(blank_score))
            expanded = []
            for path, (log_probs, state) in zip(candidates, scored):
                token_scores, tokens = log_probs[: scorer.blank].topk(beam)
                for score, token in zip(token_scores.tolist(), tokens.tolist()):
                    expanded.append(path.extend(score, token, state, t))
            candidates = sorted(expanded, key=lambda p: p.score, reverse=True)[:beam]
        carried = sorted(ended, key=lambda p: p.score, reverse=True)[:beam]
    return carried


def _merge_equal_sequences(paths: list[BeamPath]) -> list[BeamPath]:
    """NeMo's ``alsd`` recombination: the first path of each token sequence takes the log-sum-exp of the
    scores of the later ones, which are nonetheless kept in the list (as NeMo returns them)."""
    first: dict[tuple[int, ...], BeamPath] = {}
    for path in paths:
        if path.tokens in first:
            head = first[path.tokens]
            head.score = _logaddexp(head.score, path.score)
        else:
            first[path.tokens] = path
    return paths


def alignment_length_synchronous_search(
    frames: torch.Tensor, scorer: Scorer, start: BeamPath, beam_size: int, max_target_len: int | float
) -> list[BeamPath]:
    """``alsd``: the paths that reached the last frame (sorted later), or, if none did, the last beam unsorted.

    ``u_max`` is ``int(max_target_len * T)`` for a float and ``int(max_target_len)`` otherwise. Step
    ``i = 0 .. T + u_max - 1`` extends each path with ``u`` tokens at frame ``t = i - u`` (paths past the last
    frame wait): by blank (a path at the last frame ends there) and by each of its ``beam`` best tokens (whose
    timestep is recorded as ``i``, as NeMo does). The best ``beam = min(beam_size, V)`` go on, equal sequences
    merged as :func:`_merge_equal_sequences`.
    """
    length = frames.shape[1]
    beam = min(beam_size, scorer.blank)
    u_max = int(max_target_len * length) if isinstance(max_target_len, float) else int(max_target_len)
    carried = [start]
    finished: list[BeamPath] = []
    for i in range(length + u_max):
        active = [(path, i - (len(path.tokens) - 1)) for path in carried]
        active = [(path, t) for path, t in active if t <= length - 1]
        if not active:
            break
        step_paths = []
        for path, t in active:
            log_probs, state = scorer.log_probs(frames[:, t : t + 1], path)
            ended = path.with_blank(float(log_probs[scorer.blank]))
            step_paths.append(ended)
            if t == length - 1:
                finished.append(ended)
            token_scores, tokens = log_probs[: scorer.blank].topk(beam)
            for score, token in zip(token_scores.tolist(), tokens.tolist()):
                step_paths.append(path.extend(score, token, state, i))
        carried = _merge_equal_sequences(sorted(step_paths, key=lambda p: p.score, reverse=True)[:beam])
    return finished if finished else carried


@dataclass(eq=False)
class _Candidate:
    """An expansion chosen by the prune-by-value rule: ``label`` (blank or a token) and the resulting score."""

    label: int
    score: float


def _prune_by_value(
    path: BeamPath, log_probs: torch.Tensor, labels: torch.Tensor, gamma: float
) -> list[_Candidate]:
    """The expansions of ``path`` scoring within ``gamma`` of its best one, ascending by score.

    Args:
        log_probs: (K,) the best K log-probabilities of the path's next output (blank included).
        labels: (K,) their labels.
    """
    candidates = [
        _Candidate(int(k), path.score + float(v)) for k, v in zip(labels.tolist(), log_probs.tolist())
    ]
    best = max(c.score for c in candidates)
    return sorted((c for c in candidates if c.score >= best - gamma), key=lambda c: c.score)


def _merge_prefixes(paths: list[BeamPath], frame: torch.Tensor, scorer: Scorer, prefix_alpha: int) -> None:
    """Add to each path the probability of reaching it from a shorter path that is its prefix, in place.

    ``paths`` is sorted longest first; for each pair (longer ``a``, later shorter ``b``) where ``b``'s tokens
    are a proper prefix of ``a``'s and ``a`` is at most ``prefix_alpha`` tokens longer, ``a.score`` becomes
    ``logaddexp(a.score, b.score + log P(a's remaining tokens | b) at this frame)``.
    """
    for j, longer in enumerate(paths[:-1]):
        for shorter in paths[j + 1 :]:
            n_long, n_short = len(longer.tokens), len(shorter.tokens)
            if n_short >= n_long or longer.tokens[:n_short] != shorter.tokens:
                continue
            if n_long - n_short > prefix_alpha:
                continue
            log_probs = scorer.log_probs_of(frame, scorer.cached_output(shorter.tokens))
            reach = shorter.score + float(log_probs[longer.tokens[n_short]])
            for k in range(n_short, n_long - 1):
                log_probs = scorer.log_probs_of(frame, scorer.cached_output(longer.tokens[: k + 1]))
                reach += float(log_probs[longer.tokens[k + 1]])
            longer.score = _logaddexp(longer.score, reach)


def modified_adaptive_expansion_search(
    frames: torch.Tensor,
    scorer: Scorer,
    start: BeamPath,
    beam_size: int,
    num_steps: int,
    prefix_alpha: int,
    expansion_gamma: float,
    expansion_beta: int,
) -> list[BeamPath]:
    """``maes``: the ``beam = min(beam_size, V)`` best paths after the last frame of ``frames`` (1, T, H).

    Per frame: the carried paths, longest first, get prefix merges (:func:`_merge_prefixes`); then up to
    ``num_steps`` rounds: for each path, its ``beam_size + expansion_beta`` best outputs (blank included) within
    ``expansion_gamma`` of its best go on (blank ones are set aside as ended; token ones that repeat a
    sequence held at the frame's start are dropped). If no token expansion is left the best ended paths go on;
    after the last round the token expansions get their blank log-probability added and compete with the
    ended ones.
    """
    beam = min(beam_size, scorer.blank)
    max_candidates = beam_size + expansion_beta
    scorer.predict(start)
    carried = [start]
    for t in range(frames.shape[1]):
        frame = frames[:, t : t + 1]
        current = sorted(carried, key=lambda p: len(p.tokens), reverse=True)
        _merge_prefixes(current, frame, scorer, prefix_alpha)
        held = {path.tokens for path in current}
        ended: list[BeamPath] = []
        for step in range(num_steps):
            expanded: list[BeamPath] = []
            for path in current:
                log_probs, state = scorer.log_probs(frame, path)
                top_scores, top_labels = log_probs.topk(max_candidates)
                for candidate in _prune_by_value(path, top_scores, top_labels, expansion_gamma):
                    if candidate.label == scorer.blank:
                        ended.append(path.with_blank(0.0))
                        ended[-1].score = candidate.score
                    elif (*path.tokens, candidate.label) not in held:
                        expanded.append(path.extend(0.0, candidate.label, state, t))
                        expanded[-1].score = candidate.score
            if not expanded:
                carried = sorted(ended, key=lambda p: p.score, reverse=True)[:beam]
                break
            if step < num_steps - 1:
                current = expanded
                continue
            for path in expanded:
                log_probs, _ = scorer.log_probs(frame, path)
                path.score += float(log_probs[scorer.blank])
            carried = sorted(ended + expanded, key=lambda p: p.score, reverse=True)[:beam]
    return carried
