"""CTC beam search: prefix beam search over log-probabilities, optionally fused with a word n-gram LM.

Config (``decoding.beam``, NeMo 1.23's keys; defaults from :class:`BeamCTCInferConfig`)::

    beam_size: 4
    search_type: default        # default | pyctcdecode: both run the search of this module
    return_best_hypothesis: true
    kenlm_path: null            # an ARPA word n-gram file (.arpa or .arpa.gz): enables shallow fusion
    beam_alpha: 1.0             # LM weight
    beam_beta: 0.0              # bonus per word
    pyctcdecode_cfg: {beam_prune_logp: -10.0, token_min_logp: -5.0, unk_score_offset: -10.0}

Without ``kenlm_path`` the search uses the acoustic scores alone (:func:`ctc_prefix_beam_search`). With it,
:func:`ctc_prefix_beam_search_with_lm` ranks prefixes by
``acoustic log-prob + beam_alpha * ln P_LM(words) + beam_beta * words``, the way pyctcdecode does: a word
is scored when it is completed (a word separator follows it, or the utterance ends, where ``</s>`` is
scored too), and a partial word that begins no LM word costs ``unk_score_offset`` once.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from nemo.collections.asr.parts.submodules.ngram_lm import BOS, EOS, NGramLanguageModel
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses

__all__ = [
    "BeamCTCInfer",
    "BeamCTCInferConfig",
    "PyCTCDecodeConfig",
    "WordLMFusion",
    "ctc_prefix_beam_search",
    "ctc_prefix_beam_search_with_lm",
    "token_word_parts",
]

SEARCH_TYPES = ("default", "pyctcdecode")
DECODING_TYPES = ("char", "subword")
SUBWORD_WORD_START = "\u2581"  # sentencepiece's "▁": a piece that begins a word
_LN_10 = math.log(10.0)
_NEG_INF = float("-inf")
# NeMo 1.23's other pyctcdecode_cfg keys (prune_history, hotwords), accepted only at these values.
_NEMO_PYCTCDECODE_DEFAULTS = {"prune_history": False, "hotwords": None, "hotword_weight": 10.0}


@dataclass
class PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg``: pruning of the LM-fused search (natural-log units).

    Attributes:
        beam_prune_logp: drop prefixes scoring this far below the best one at a frame.
        token_min_logp: per frame, extend only with tokens at least this likely (the best one always).
        unk_score_offset: one-time score of a partial word that begins no LM word (pyctcdecode's decoder
            argument; not a NeMo 1.23 key).
    """

    beam_prune_logp: float = -10.0
    token_min_logp: float = -5.0
    unk_score_offset: float = -10.0


@dataclass
class BeamCTCInferConfig:
    """``decoding.beam``: options of the prefix beam search."""

    beam_size: int = 4
    search_type: str = "default"
    preserve_alignments: bool = False
    compute_timestamps: bool = False
    return_best_hypothesis: bool = True
    beam_alpha: float = 1.0
    beam_beta: float = 0.0
    kenlm_path: str | None = None
    pyctcdecode_cfg: PyCTCDecodeConfig = field(default_factory=PyCTCDecodeConfig)


def ctc_prefix_beam_search(
    log_probs: torch.Tensor, blank_id: int, beam_size: int
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, without a language model.

    Every step scores all ``beam x V`` one-token extensions at once; a prefix is the collapsed label
    sequence, kept with two log-probabilities (paths ending in blank and in its last token), so the
    score of a prefix sums over all its alignments. With a beam as large as the number of prefixes
    the scores are exact.

    Args:
        log_probs: (T, V) log-probabilities of one utterance.
        blank_id: index of the blank class.
        beam_size: number of prefixes kept per step.

    Returns:
        Up to ``beam_size`` ``(token ids, log-probability)`` pairs, best first.
    """
    log_probs = log_probs.detach().float().cpu()
    vocab = log_probs.shape[-1]
    neg_inf = torch.tensor(float("-inf"))
    prefixes: list[tuple[int, ...]] = [()]
    ends_blank = torch.zeros(1)
    ends_token = torch.full((1,), float("-inf"))
    last = torch.full((1,), -1, dtype=torch.long)
    token_ids = torch.arange(vocab)
    for frame in log_probs:
        total = torch.logaddexp(ends_blank, ends_token)
        stay_blank = total + frame[blank_id]
        stay_token = torch.where(last >= 0, ends_token + frame[last.clamp(min=0)], neg_inf)
        extend = torch.where(token_ids == last[:, None], ends_blank[:, None], total[:, None]) + frame
        extend[:, blank_id] = float("-inf")
        position = {prefix: k for k, prefix in enumerate(prefixes)}
        merges = [(j, position[p[:-1]], p[-1]) for j, p in enumerate(prefixes) if p and p[:-1] in position]
        if merges:
            into, parent, token = (torch.tensor(column) for column in zip(*merges))
            stay_token[into] = torch.logaddexp(stay_token[into], extend[parent, token])
            extend[parent, token] = float("-inf")
        candidate_blank = torch.cat([stay_blank, torch.full((extend.numel(),), float("-inf"))])
        candidate_token = torch.cat([stay_token, extend.flatten()])
        scores = torch.logaddexp(candidate_blank, candidate_token)
        top = scores.topk(min(beam_size, scores.numel())).indices
        top = top[scores[top] > float("-inf")]
        kept = len(prefixes)
        new_prefixes = []
        new_last = []
        for index in top.tolist():
            if index < kept:
                new_prefixes.append(prefixes[index])
                new_last.append(int(last[index]))
            else:
                parent, token = divmod(index - kept, vocab)
                new_prefixes.append((*prefixes[parent], token))
                new_last.append(token)
        prefixes = new_prefixes
        ends_blank, ends_token = candidate_blank[top], candidate_token[top]
        last = torch.tensor(new_last, dtype=torch.long)
    final = torch.logaddexp(ends_blank, ends_token)
    order = final.argsort(descending=True).tolist()
    return [(list(prefixes[k]), float(final[k])) for k in order]


def token_word_parts(vocabulary: list[str], decoding_type: str) -> list[tuple[bool, str]]:
    """How each token builds words: ``(begins a new word, text it adds)`` per token id.

    Args:
        vocabulary: token strings by id, blank excluded.
        decoding_type: ``"char"`` (``" "`` separates words and adds no text) or ``"subword"``
            (a sentencepiece piece starting with ``"▁"`` begins a word).
    """
    if decoding_type == "char":
        return [(True, "") if token == " " else (False, token) for token in vocabulary]
    if decoding_type == "subword":
        return [
            (True, token[1:]) if token.startswith(SUBWORD_WORD_START) else (False, token)
            for token in vocabulary
        ]
    raise ValueError(f"decoding type {decoding_type!r} is not one of {DECODING_TYPES}.")


class WordState(NamedTuple):
    """The LM side of one prefix.

    Attributes:
        context: the last ``order - 1`` completed words (``<s>`` first at the start).
        partial: the word being spelled.
        words_score: ``alpha * ln P`` of the completed words plus ``beta`` per word.
        score: ``words_score`` plus the partial word's penalty, if it begins no LM word.
    """

    context: tuple[str, ...]
    partial: str
    words_score: float
    score: float


class WordLMFusion:
    """Shallow fusion of a word n-gram LM into a CTC prefix search (pyctcdecode's scoring).

    Scores are natural logs. Word scores are cached per ``(context, word)`` for the life of the object,
    so one instance serves every utterance.

    Args:
        language_model: the word n-gram model.
        word_parts: per token id, ``(begins a new word, text it adds)``; see :func:`token_word_parts`.
        alpha: LM weight; 0 turns the LM off (the partial-word penalty included).
        beta: score added per completed word.
        unk_score_offset: one-time score of a partial word that begins no LM word.
    """

    def __init__(
        self,
        language_model: NGramLanguageModel,
        word_parts: list[tuple[bool, str]],
        alpha: float,
        beta: float,
        unk_score_offset: float = -10.0,
    ) -> None:
        self.language_model = language_model
        self.word_parts = word_parts
        self.alpha = alpha
        self.beta = beta
        self.unk_score_offset = unk_score_offset
        self._context_size = language_model.order - 1
        self._word_scores: dict[tuple[tuple[str, ...], str], float] = {}

    def initial_state(self) -> WordState:
        """The state of the empty prefix: context ``<s>``."""
        return WordState(self._trim((BOS,)), "", 0.0, 0.0)

    def extend(self, state: WordState, token: int) -> WordState:
        """The state after appending ``token`` (a non-blank id) to a prefix in ``state``."""
        begins_word, text = self.word_parts[token]
        context, partial, words_score, _ = state
        if begins_word:
            if partial:
                words_score += self._word_score(context, partial) + self.beta
                context = self._trim((*context, partial))
            partial = text
        else:
            partial += text
        return WordState(context, partial, words_score, words_score + self._partial_penalty(partial))

    def final_score(self, state: WordState) -> float:
        """The LM score of a finished utterance: its last word completed and ``</s>`` scored."""
        context, partial, words_score, _ = state
        if partial:
            words_score += self._word_score(context, partial) + self.beta
            context = self._trim((*context, partial))
        return words_score + self._word_score(context, EOS)

    def _trim(self, context: tuple[str, ...]) -> tuple[str, ...]:
        return context[max(0, len(context) - self._context_size) :]

    def _word_score(self, context: tuple[str, ...], word: str) -> float:
        if not self.alpha:
            return 0.0
        key = (context, word)
        score = self._word_scores.get(key)
        if score is None:
            score = self.alpha * _LN_10 * self.language_model.score(context, word)
            self._word_scores[key] = score
        return score

    def _partial_penalty(self, partial: str) -> float:
        if partial and self.alpha and not self.language_model.is_prefix(partial):
            return self.unk_score_offset
        return 0.0


def _logaddexp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == _NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def ctc_prefix_beam_search_with_lm(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    fusion: WordLMFusion,
    token_min_logp: float = -5.0,
    beam_prune_logp: float = -10.0,
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, ranked by acoustic plus word-LM score.

    Each prefix (a collapsed token sequence, stored as a node of a prefix tree) keeps the
    log-probabilities of its paths ending in blank and in its last token, and its :class:`WordState`.
    At every frame, prefixes are extended with the tokens scoring at least ``token_min_logp`` (and the
    frame's best token), ranked by ``acoustic + state.score``; the ``beam_size`` best are kept, minus
    those more than ``-beam_prune_logp`` below the best. With ``alpha = beta = 0`` and no pruning this is
    :func:`ctc_prefix_beam_search`.

    Args:
        log_probs: (T, V) log-probabilities of one utterance (natural log).
        blank_id: index of the blank class.
        beam_size: prefixes kept per frame.
        fusion: the LM scoring.
        token_min_logp: per-frame token pruning threshold.
        beam_prune_logp: per-frame prefix pruning margin (negative).

    Returns:
        Up to ``beam_size`` ``(token ids, fused score)`` pairs, best first, the score including the last
        word and ``</s>``.
    """
    frames = log_probs.detach().float().cpu().tolist()
    parents = [-1]
    last_tokens = [-1]
    states = [fusion.initial_state()]
    children: dict[tuple[int, int], int] = {}
    beams = {0: (0.0, _NEG_INF)}  # node -> (log-prob of paths ending in blank, ... in its last token)
    for frame in frames:
        best_token = max(range(len(frame)), key=frame.__getitem__)
        extensions = [
            (token, log_prob)
            for token, log_prob in enumerate(frame)
            if token != blank_id and (log_prob >= token_min_logp or token == best_token)
        ]
        blank_log_prob = (
            frame[blank_id] if frame[blank_id] >= token_min_logp or best_token == blank_id else None
        )
        ends_blank: dict[int, float] = {}
        ends_token: dict[int, float] = {}
        for node, (p_blank, p_token) in beams.items():
            total = _logaddexp(p_blank, p_token)
            if blank_log_prob is not None:
                ends_blank[node] = total + blank_log_prob
            last = last_tokens[node]
            for token, log_prob in extensions:
                if token == last:
                    ends_token[node] = _logaddexp(ends_token.get(node, _NEG_INF), p_token + log_prob)
                    score = p_blank + log_prob
                else:
                    score = total + log_prob
                if score == _NEG_INF:
                    continue
                child = children.get((node, token))
                if child is None:
                    child = len(parents)
                    children[(node, token)] = child
                    parents.append(node)
                    last_tokens.append(token)
                    states.append(fusion.extend(states[node], token))
                ends_token[child] = _logaddexp(ends_token.get(child, _NEG_INF), score)
        ranked = heapq.nlargest(
            beam_size,
            (
                (
                    _logaddexp(ends_blank.get(node, _NEG_INF), ends_token.get(node, _NEG_INF))
                    + states[node].score,
                    node,
                )
                for node in ends_blank.keys() | ends_token.keys()
            ),
        )
        threshold = ranked[0][0] + beam_prune_logp
        beams = {
            node: (ends_blank.get(node, _NEG_INF), ends_token.get(node, _NEG_INF))
            for score, node in ranked
            if score >= threshold and score > _NEG_INF
        }
    finished = sorted(
        (
            (_logaddexp(p_blank, p_token) + fusion.final_score(states[node]), node)
            for node, (p_blank, p_token) in beams.items()
        ),
        reverse=True,
    )
    return [(_token_path(node, parents, last_tokens), score) for score, node in finished]


def _token_path(node: int, parents: list[int], last_tokens: list[int]) -> list[int]:
    """Token ids from the root of the prefix tree to ``node``."""
    path = []
    while node > 0:
        path.append(last_tokens[node])
        node = parents[node]
    return path[::-1]


class BeamCTCInfer:
    """Prefix beam search over each utterance of a batch, with optional word n-gram LM fusion.

    The ARPA file at ``kenlm_path`` is read once, here; the decoding classes then call
    :meth:`set_vocabulary` and :meth:`set_decoding_type` so that tokens can be spelled into words.

    Args:
        blank_id: index of the blank class.
        beam_size: prefixes kept per step.
        search_type: ``"default"`` or ``"pyctcdecode"`` (the same search here).
        return_best_hypothesis: one Hypothesis per utterance; ``False`` gives an NBestHypotheses each.
        preserve_alignments: not supported by the beam search (must be False).
        compute_timestamps: not supported by the beam search (must be False).
        beam_alpha: LM weight (used with ``kenlm_path``).
        beam_beta: score per word (used with ``kenlm_path``).
        kenlm_path: an ARPA word n-gram file (.arpa or .arpa.gz); ``None`` searches without a LM.
        pyctcdecode_cfg: pruning options, see :class:`PyCTCDecodeConfig` (dict, DictConfig or dataclass).
    """

    override_fold_consecutive_value = False  # hypotheses already hold collapsed token ids

    def __init__(
        self,
        blank_id: int,
        beam_size: int,
        search_type: str = "default",
        return_best_hypothesis: bool = True,
        preserve_alignments: bool = False,
        compute_timestamps: bool = False,
        beam_alpha: float = 1.0,
        beam_beta: float = 0.0,
        kenlm_path: str | None = None,
        pyctcdecode_cfg: Any = None,
    ) -> None:
        if beam_size < 1:
            raise ValueError(f"decoding.beam.beam_size must be >= 1, got {beam_size}.")
        if search_type not in SEARCH_TYPES:
            raise ValueError(
                f"decoding.beam.search_type is {search_type!r}; expected one of {SEARCH_TYPES} (both run this "
                "package's prefix beam search). flashlight and nemo need decoders that are not shipped here."
            )
        if preserve_alignments or compute_timestamps:
            raise ValueError(
                "decoding.beam.preserve_alignments and decoding.beam.compute_timestamps are not supported by the "
                "beam search. Set them to false, or use decoding.strategy=greedy."
            )
        self.blank_id = blank_id
        self.beam_size = beam_size
        self.search_type = search_type
        self.return_best_hypothesis = return_best_hypothesis
        self.beam_alpha = float(beam_alpha)
        self.beam_beta = float(beam_beta)
        self.kenlm_path = kenlm_path
        self.pyctcdecode_cfg = _pyctcdecode_options(pyctcdecode_cfg)
        self.language_model = _load_language_model(kenlm_path) if kenlm_path else None
        self.vocab: list[str] | None = None
        self.decoding_type: str | None = None
        self._fusion: WordLMFusion | None = None

    def set_vocabulary(self, vocab: list[str]) -> None:
        """Token strings by id (blank excluded): characters, or sentencepiece pieces."""
        self.vocab = list(vocab)
        self._fusion = None

    def set_decoding_type(self, decoding_type: str) -> None:
        """``"char"`` or ``"subword"``: how tokens form words for the LM."""
        if decoding_type not in DECODING_TYPES:
            raise ValueError(f"decoding type {decoding_type!r} is not one of {DECODING_TYPES}.")
        self.decoding_type = decoding_type
        self._fusion = None

    def __call__(
        self, decoder_output: torch.Tensor, decoder_lengths: torch.Tensor | None = None
    ) -> tuple[list[Hypothesis] | list[NBestHypotheses]]:
        """Search every utterance.

        Args:
            decoder_output: (B, T, V) log-probabilities.
            decoder_lengths: (B,) valid frames; ``None`` means all T.

        Returns:
            A one-tuple: a list of Hypothesis (best only) or of NBestHypotheses, ``y_sequence`` holding
            the token ids and ``score`` their log-probability (with a LM: the fused score).
        """
        if not decoder_output.is_floating_point():
            raise ValueError(
                f"Beam search needs (B, T, V) log-probabilities, got a {decoder_output.dtype} tensor of shape "
                f"{tuple(decoder_output.shape)}. Pass the model's log_probs, or use decoding.strategy=greedy."
            )
        fusion = self._word_fusion()
        decoder_output = decoder_output.detach().float().cpu()
        frames = decoder_output.shape[1]
        lengths = [frames] * decoder_output.shape[0] if decoder_lengths is None else decoder_lengths.tolist()
        results = []
        for utterance, length in zip(decoder_output, lengths):
            if fusion is None:
                beams = ctc_prefix_beam_search(utterance[: int(length)], self.blank_id, self.beam_size)
            else:
                beams = ctc_prefix_beam_search_with_lm(
                    utterance[: int(length)],
                    self.blank_id,
                    self.beam_size,
                    fusion,
                    token_min_logp=self.pyctcdecode_cfg.token_min_logp,
                    beam_prune_logp=self.pyctcdecode_cfg.beam_prune_logp,
                )
            n_best = [
                Hypothesis(score=score, y_sequence=torch.tensor(tokens, dtype=torch.long))
                for tokens, score in beams
            ]
            results.append(n_best[0] if self.return_best_hypothesis else NBestHypotheses(n_best))
        return (results,)

    def _word_fusion(self) -> WordLMFusion | None:
        """The LM fusion for the current vocabulary, built on first use; ``None`` without a LM."""
        if self.language_model is None:
            return None
        if self._fusion is None:
            if self.vocab is None or self.decoding_type is None:
                raise RuntimeError(
                    "BeamCTCInfer with kenlm_path needs the token strings: call set_vocabulary(...) and "
                    "set_decoding_type('char' | 'subword') first (CTCDecoding and CTCBPEDecoding do)."
                )
            self._fusion = WordLMFusion(
                self.language_model,
                token_word_parts(self.vocab, self.decoding_type),
                alpha=self.beam_alpha,
                beta=self.beam_beta,
                unk_score_offset=self.pyctcdecode_cfg.unk_score_offset,
            )
        return self._fusion


def _pyctcdecode_options(pyctcdecode_cfg: Any) -> PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg`` as a :class:`PyCTCDecodeConfig`.

    NeMo 1.23's keys this search does not implement are accepted at their NeMo defaults only.
    """
    if is_dataclass(pyctcdecode_cfg):
        pyctcdecode_cfg = asdict(pyctcdecode_cfg)
    options = dict(pyctcdecode_cfg or {})
    known = {option.name for option in fields(PyCTCDecodeConfig)}
    unsupported = {
        key: value
        for key, value in options.items()
        if key not in known and _NEMO_PYCTCDECODE_DEFAULTS.get(key, object()) != value
    }
    if unsupported:
        raise ValueError(
            f"decoding.beam.pyctcdecode_cfg has unsupported options {unsupported}; this search reads "
            f"{sorted(known)} (and accepts {sorted(_NEMO_PYCTCDECODE_DEFAULTS)} at NeMo's defaults "
            f"{_NEMO_PYCTCDECODE_DEFAULTS}). Remove those keys."
        )
    return PyCTCDecodeConfig(**{key: value for key, value in options.items() if key in known})


def _load_language_model(kenlm_path: str) -> NGramLanguageModel:
    """Read the ARPA file named by ``decoding.beam.kenlm_path``."""
    if not Path(kenlm_path).is_file():
        raise FileNotFoundError(
            f"decoding.beam.kenlm_path={kenlm_path!r} does not exist. Pass the path of an ARPA word n-gram file "
            "(.arpa or .arpa.gz), e.g. one written by `nemo asr build-lm MANIFEST --out lm.arpa`."
        )
    return NGramLanguageModel.from_arpa(kenlm_path)
