"""CTC decoding: log-probabilities (B, T, V) -> text, with NeMo 1.23's classes and config keys.

``CTCDecoding(decoding_cfg, vocabulary)`` decodes character models, ``CTCBPEDecoding(decoding_cfg,
tokenizer)`` sentencepiece models. The blank is the last class (``len(vocabulary)`` / ``tokenizer.vocab_size``).

Config (``decoding`` in a model's YAML, defaults from :class:`CTCDecodingConfig`)::

    strategy: greedy          # greedy | greedy_batch (the same vectorized search here) | beam | pyctcdecode
                              # | flashlight
    batch_dim_index: 0
    preserve_alignments: null # keep (log_probs, labels) per utterance in Hypothesis.alignments (greedy)
    compute_timestamps: null  # Hypothesis.timestep = {"timestep", "char", "word"} offsets (greedy)
    ctc_timestamp_type: all   # char | word | all: which offsets to add
    word_seperator: " "       # (NeMo's spelling) the character that separates words of a character model
    confidence_cfg: {preserve_frame_confidence: false, preserve_token_confidence: false,
                     preserve_word_confidence: false, exclude_blank: true, aggregation: min,
                     method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}}
    greedy: {preserve_alignments: false, compute_timestamps: false, preserve_frame_confidence: false}
    beam: {beam_size: 4, return_best_hypothesis: true, kenlm_path: null, beam_alpha: 1.0, beam_beta: 0.0,
           flashlight_cfg: {lexicon_path: null, ...}}

``beam``, ``pyctcdecode`` and ``flashlight`` run the prefix beam search of
:mod:`nemo.collections.asr.parts.submodules.ctc_beam_decoding` (``pyctcdecode`` and ``flashlight`` set its
``search_type``; ``pyctcdecode`` runs the built-in search and logs how its keys map onto it);
``beam.kenlm_path`` names an ARPA word n-gram file fused into it, and ``flashlight`` constrains it to the words
of ``beam.flashlight_cfg.lexicon_path`` (see that module). With the lexicon search, the hypothesis text is the
word sequence the search found (for a model over phones: the words, not the phones); ``y_sequence`` keeps the
token ids. ``BeamCTCInfer``, ``BeamCTCInferConfig`` and ``ctc_prefix_beam_search`` (from
:mod:`~nemo.collections.asr.parts.submodules.ctc_prefix_search`) and the greedy search classes (from
:mod:`~nemo.collections.asr.parts.submodules.ctc_greedy_decoding`) are importable from here too.

Timestamps and confidence (greedy search only; the beam searches refuse both by name): confidence needs
timestamps, so asking for frame confidence turns ``compute_timestamps`` on. Token and word confidence are
computed when hypotheses are returned (``return_hypotheses=True``): a token's score aggregates the frames of its
run (``exclude_blank: true``) or its run and the blank frames after it; a word's score aggregates its tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, is_dataclass
from itertools import accumulate
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.ctc_beam_decoding import BeamCTCInfer, BeamCTCInferConfig
from nemo.collections.asr.parts.submodules.ctc_greedy_decoding import (
    GreedyBatchedCTCInfer,
    GreedyCTCInfer,
    GreedyCTCInferConfig,
)
from nemo.collections.asr.parts.submodules.ctc_prefix_search import ctc_prefix_beam_search
from nemo.collections.asr.parts.utils.asr_confidence_utils import ConfidenceConfig, ConfidenceMixin
from nemo.collections.asr.parts.utils.decoding_timestamps import (
    ctc_token_offsets,
    word_offsets_from_chars,
    word_offsets_from_ctc_subwords,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from omegaconf import DictConfig, OmegaConf

__all__ = [
    "AbstractCTCDecoding",
    "BeamCTCInfer",
    "BeamCTCInferConfig",
    "CTCBPEDecoding",
    "CTCBPEDecodingConfig",
    "CTCDecoding",
    "CTCDecodingConfig",
    "GreedyBatchedCTCInfer",
    "GreedyCTCInfer",
    "GreedyCTCInferConfig",
    "ctc_prefix_beam_search",
    "move_dimension_to_the_front",
]

STRATEGIES = ("greedy", "greedy_batch", "beam", "pyctcdecode", "flashlight")
BEAM_STRATEGIES = ("beam", "pyctcdecode", "flashlight")
TIMESTAMP_TYPES = ("char", "word", "all")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(\s+)([\.\,\?])")


# Hashable (by field values) so NeMo scripts may use an instance as a dataclass default (Python 3.11+ rule).
@dataclass(unsafe_hash=True)
class CTCDecodingConfig:
    """The ``decoding`` config of a CTC model."""

    strategy: str = "greedy"
    preserve_alignments: bool | None = None
    compute_timestamps: bool | None = None
    word_seperator: str = " "
    ctc_timestamp_type: str = "all"
    batch_dim_index: int = 0
    greedy: GreedyCTCInferConfig = field(default_factory=GreedyCTCInferConfig)
    beam: BeamCTCInferConfig = field(default_factory=BeamCTCInferConfig)
    confidence_cfg: ConfidenceConfig = field(default_factory=ConfidenceConfig)
    temperature: float = 1.0


# Hashable (by field values) so NeMo scripts may use an instance as a dataclass default (Python 3.11+ rule).
@dataclass(unsafe_hash=True)
class CTCBPEDecodingConfig(CTCDecodingConfig):
    """The ``decoding`` config of a CTC model over sentencepiece pieces (same keys)."""


def move_dimension_to_the_front(tensor: torch.Tensor, dim_index: int) -> torch.Tensor:
    """Permute ``tensor`` so that axis ``dim_index`` comes first, the others keeping their order."""
    if dim_index == 0:
        return tensor
    return tensor.permute(dim_index, *(d for d in range(tensor.dim()) if d != dim_index))


class AbstractCTCDecoding(ConfidenceMixin):
    """Shared CTC decoding: runs the configured search, folds repeats, drops blanks, detokenizes.

    Args:
        decoding_cfg: a ``CTCDecodingConfig``, dict or DictConfig; missing keys take the dataclass defaults.
        blank_id: index of the blank class.
    """

    def __init__(self, decoding_cfg: CTCDecodingConfig | DictConfig | dict | None, blank_id: int) -> None:
        if is_dataclass(decoding_cfg):
            decoding_cfg = OmegaConf.structured(decoding_cfg)
        defaults = OmegaConf.structured(CTCDecodingConfig)
        cfg = OmegaConf.merge(OmegaConf.create(OmegaConf.to_container(defaults)), decoding_cfg or {})
        self.cfg = cfg
        self.blank_id = blank_id
        self.batch_dim_index = cfg.get("batch_dim_index", 0)
        self.word_seperator = cfg.get("word_seperator", " ")
        if cfg.strategy not in STRATEGIES:
            raise ValueError(
                f"decoding.strategy is {cfg.strategy!r}; expected one of {STRATEGIES}. "
                "(wfst needs an external decoder that this package does not ship.)"
            )
        if cfg.get("ctc_timestamp_type", "all") not in TIMESTAMP_TYPES:
            raise ValueError(
                f"decoding.ctc_timestamp_type is {cfg.ctc_timestamp_type!r}; expected one of {TIMESTAMP_TYPES}."
            )
        beam = cfg.strategy in BEAM_STRATEGIES
        search_cfg = cfg.beam if beam else cfg.greedy
        self._preserve_alignments = bool(
            cfg.preserve_alignments
            if cfg.preserve_alignments is not None
            else search_cfg.get("preserve_alignments")
        )
        self._compute_timestamps = bool(
            cfg.compute_timestamps
            if cfg.compute_timestamps is not None
            else search_cfg.get("compute_timestamps")
        )
        self._init_confidence(cfg.get("confidence_cfg"))
        if beam and (self.preserve_frame_confidence or cfg.beam.get("preserve_frame_confidence", False)):
            raise ValueError(
                f"decoding.confidence_cfg (preserve_frame/token/word_confidence) is not supported by "
                f"decoding.strategy={cfg.strategy!r}; confidence comes from the greedy search only. Set "
                "decoding.strategy=greedy or turn confidence off."
            )
        # token confidence needs the frames of each token
        self._compute_timestamps = self._compute_timestamps or self.preserve_frame_confidence
        if beam:
            self.decoding = BeamCTCInfer(
                blank_id,
                cfg.beam.beam_size,
                search_type=cfg.beam.search_type if cfg.strategy == "beam" else cfg.strategy,
                return_best_hypothesis=cfg.beam.return_best_hypothesis,
                preserve_alignments=self._preserve_alignments,
                compute_timestamps=self._compute_timestamps,
                beam_alpha=cfg.beam.beam_alpha,
                beam_beta=cfg.beam.beam_beta,
                kenlm_path=cfg.beam.kenlm_path,
                flashlight_cfg=cfg.beam.get("flashlight_cfg"),
                pyctcdecode_cfg=cfg.beam.get("pyctcdecode_cfg"),
            )
        else:
            search = GreedyBatchedCTCInfer if cfg.strategy == "greedy_batch" else GreedyCTCInfer
            self.decoding = search(
                blank_id,
                preserve_alignments=self._preserve_alignments,
                compute_timestamps=self._compute_timestamps,
                preserve_frame_confidence=self.preserve_frame_confidence,
                confidence_method_cfg=self.confidence_method_cfg,
            )

    @property
    def preserve_alignments(self) -> bool:
        """Whether hypotheses keep their alignments (setting it updates the search)."""
        return self._preserve_alignments

    @preserve_alignments.setter
    def preserve_alignments(self, value: bool) -> None:
        self._preserve_alignments = value
        if hasattr(self, "decoding"):
            self.decoding.preserve_alignments = value

    @property
    def compute_timestamps(self) -> bool:
        """Whether hypotheses get ``timestep`` offsets (setting it updates the search)."""
        return self._compute_timestamps

    @compute_timestamps.setter
    def compute_timestamps(self, value: bool) -> None:
        self._compute_timestamps = value
        if hasattr(self, "decoding"):
            self.decoding.compute_timestamps = value

    @property
    def preserve_frame_confidence(self) -> bool:
        """Whether hypotheses keep per-frame confidence (setting it updates the search)."""
        return self._preserve_frame_confidence

    @preserve_frame_confidence.setter
    def preserve_frame_confidence(self, value: bool) -> None:
        self._preserve_frame_confidence = value
        if hasattr(self, "decoding"):
            self.decoding.preserve_frame_confidence = value

    def ctc_decoder_predictions_tensor(
        self,
        decoder_outputs: torch.Tensor,
        decoder_lengths: torch.Tensor | None = None,
        fold_consecutive: bool = True,
        return_hypotheses: bool = False,
    ) -> tuple[list[str] | list[Hypothesis], list[str] | list[list[Hypothesis]] | None]:
        """Decode a batch.

        Args:
            decoder_outputs: (B, T, V) log-probabilities or (B, T) frame labels (batch axis at
                ``decoding.batch_dim_index``).
            decoder_lengths: (B,) valid frames per utterance.
            fold_consecutive: merge repeated labels before dropping blanks (CTC's rule); beam search
                ignores it, its hypotheses being collapsed already.
            return_hypotheses: return Hypothesis objects (with ``text``) instead of strings; token and word
                confidence are computed only then.

        Returns:
            ``(best, all)``: ``best`` one text (or Hypothesis) per utterance; ``all`` is ``None`` except for
            beam search with ``return_best_hypothesis=False``, where it holds every n-best text flattened
            over the batch (or, with ``return_hypotheses``, one list of Hypothesis per utterance).
        """
        if isinstance(decoder_outputs, torch.Tensor):
            decoder_outputs = move_dimension_to_the_front(decoder_outputs, self.batch_dim_index)
        fold_override = getattr(self.decoding, "override_fold_consecutive_value", None)
        if fold_override is not None:
            fold_consecutive = fold_override
        with torch.inference_mode():
            (hypotheses,) = self.decoding(decoder_outputs, decoder_lengths)
        if hypotheses and isinstance(hypotheses[0], NBestHypotheses):
            all_hypotheses = [
                self._finish(n_best.n_best_hypotheses, fold_consecutive, False) for n_best in hypotheses
            ]
            best = [n_best[0] for n_best in all_hypotheses]
            if return_hypotheses:
                return best, all_hypotheses
            return [h.text for h in best], [h.text for n_best in all_hypotheses for h in n_best]
        hypotheses = self._finish(hypotheses, fold_consecutive, return_hypotheses)
        if return_hypotheses:
            return hypotheses, None
        return [h.text for h in hypotheses], None

    def _finish(
        self, hypotheses: list[Hypothesis], fold_consecutive: bool, with_confidence: bool
    ) -> list[Hypothesis]:
        """Text, then (as configured) token/word confidence and timestamp offsets, on each hypothesis."""
        hypotheses = self.decode_hypothesis(hypotheses, fold_consecutive)
        if not self.compute_timestamps:
            return hypotheses
        if with_confidence and (self.preserve_token_confidence or self.preserve_word_confidence):
            hypotheses = self.compute_confidence(hypotheses)
        timestamp_type = self.cfg.get("ctc_timestamp_type", "all")
        return [self.compute_ctc_timestamps(hypothesis, timestamp_type) for hypothesis in hypotheses]

    def decode_hypothesis(
        self, hypotheses_list: list[Hypothesis], fold_consecutive: bool
    ) -> list[Hypothesis]:
        """Fold repeats (optionally), drop blanks and set ``text`` on each hypothesis, in place.

        With ``compute_timestamps``, ``text`` holds ``(token ids, token_lengths, token_repetitions)`` instead,
        for :meth:`compute_confidence` and :meth:`compute_ctc_timestamps`, which turn it into the string:
        ``token_lengths[i]`` is the number of frames from the start of token ``i - 1``'s run to the start of
        token ``i``'s (the first: its start frame), ``token_repetitions[i]`` the frames of token ``i``'s run.

        A hypothesis whose search already set its ``text`` keeps it: the lexicon search (``search_type:
        flashlight``) sets the words it found, which the token ids of a phone model do not spell.

        Args:
            hypotheses_list: hypotheses whose ``y_sequence`` holds labels; the first ``length`` are used
                when ``length > 0``.
            fold_consecutive: merge runs of the same label before dropping blanks.

        Returns:
            The same hypotheses, ``text`` set.
        """
        for hypothesis in hypotheses_list:
            if hypothesis.text is not None:
                continue
            labels = torch.as_tensor(hypothesis.y_sequence, dtype=torch.long)
            if hypothesis.length > 0:
                labels = labels[: int(hypothesis.length)]
            tokens, token_lengths, repetitions = self._runs(labels, fold_consecutive)
            if self.compute_timestamps:
                hypothesis.text = (tokens, token_lengths, repetitions)
            else:
                hypothesis.text = _SPACE_BEFORE_PUNCTUATION.sub(r"\2", self.decode_tokens_to_str(tokens))
        return hypotheses_list

    def _runs(self, labels: torch.Tensor, fold_consecutive: bool) -> tuple[list[int], list[int], list[int]]:
        """``(tokens, token_lengths, token_repetitions)`` of (T,) frame labels; see :meth:`decode_hypothesis`."""
        if not fold_consecutive:
            tokens = labels[labels != self.blank_id].tolist()
            return tokens, [1] * len(tokens), [1] * len(tokens)
        values, counts = torch.unique_consecutive(labels, return_counts=True)
        run_starts = torch.cumsum(counts, 0) - counts
        keep = values != self.blank_id
        tokens = values[keep].tolist()
        starts = run_starts[keep].tolist()
        token_lengths = [start - previous for start, previous in zip(starts, [0, *starts[:-1]])]
        return tokens, token_lengths, counts[keep].tolist()

    def compute_confidence(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Set ``token_confidence`` (and ``word_confidence`` when asked) from ``frame_confidence``, in place.

        Must run between :meth:`decode_hypothesis` (with timestamps on) and :meth:`compute_ctc_timestamps`: it
        reads the ``(tokens, token_lengths, token_repetitions)`` tuple in ``text`` and leaves
        ``(tokens, token_lengths)``.
        """
        for hypothesis in hypotheses_list:
            if not isinstance(hypothesis.text, tuple) or len(hypothesis.text) != 3:
                raise ValueError(
                    "compute_confidence expects Hypothesis.text to be (tokens, token_lengths, token_repetitions), "
                    "as decode_hypothesis leaves it with compute_timestamps on; call it before "
                    "compute_ctc_timestamps."
                )
            tokens, token_lengths, repetitions = hypothesis.text
            hypothesis.text = (tokens, token_lengths)
            if self.exclude_blank_from_confidence:
                emitted = hypothesis.non_blank_frame_confidence  # one score per non-blank frame, in order
                bounds = [0, *accumulate(repetitions)]
                hypothesis.token_confidence = [
                    self._aggregate_confidence(emitted[a:b]) for a, b in zip(bounds[:-1], bounds[1:])
                ]
            else:  # each token owns its frames up to the next token's first frame
                starts = list(accumulate(token_lengths))
                ends = [*starts[1:], len(hypothesis.frame_confidence)]
                hypothesis.token_confidence = [
                    self._aggregate_confidence(hypothesis.frame_confidence[a:b]) for a, b in zip(starts, ends)
                ]
        if self.preserve_word_confidence:
            for hypothesis in hypotheses_list:
                hypothesis.word_confidence = self._aggregate_token_confidence(hypothesis)
        return hypotheses_list

    def compute_ctc_timestamps(self, hypothesis: Hypothesis, timestamp_type: str = "all") -> Hypothesis:
        """Turn ``text`` (the tuple :meth:`decode_hypothesis` left) into the string and set ``timestep`` offsets.

        Args:
            hypothesis: with ``text = (tokens, token_lengths[, token_repetitions])``.
            timestamp_type: ``char``, ``word`` or ``all``: which offsets to add.

        Returns:
            The hypothesis, ``timestep`` = ``{"timestep": [non-blank frames], "char": [...], "word": [...]}``
            (``char`` entries hold the token's text, ``word`` entries the word; see
            :mod:`~nemo.collections.asr.parts.utils.decoding_timestamps`).
        """
        if timestamp_type not in TIMESTAMP_TYPES:
            raise ValueError(f"timestamp_type is {timestamp_type!r}; expected one of {TIMESTAMP_TYPES}.")
        tokens, token_lengths = hypothesis.text[:2]
        frames = list(hypothesis.timestep) if len(hypothesis.timestep) > 0 else []
        char_offsets = ctc_token_offsets(tokens, token_lengths, frames)
        for offset in char_offsets:
            offset["char"] = self.decode_tokens_to_str([offset["char"]])
        timestep: dict[str, Any] = {"timestep": frames}
        if timestamp_type in ("char", "all"):
            timestep["char"] = char_offsets
        if timestamp_type in ("word", "all"):
            if any(len(offset["char"]) > 1 for offset in char_offsets):  # sub-word pieces
                timestep["word"] = word_offsets_from_ctc_subwords(
                    char_offsets, tokens, self.decode_ids_to_tokens, self.decode_tokens_to_str
                )
            else:
                timestep["word"] = word_offsets_from_chars(char_offsets, self.word_seperator)
        hypothesis.timestep = timestep
        hypothesis.text = self.decode_tokens_to_str(tokens)
        return hypothesis

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must implement _aggregate_token_confidence.")

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        """Detokenize ids (blank excluded) to text."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode_tokens_to_str.")

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        """Map ids to token strings, dropping blanks."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode_ids_to_tokens.")


class CTCDecoding(AbstractCTCDecoding):
    """CTC decoding over a character vocabulary.

    Args:
        decoding_cfg: see :class:`CTCDecodingConfig`.
        vocabulary: the output characters, blank excluded (blank id = ``len(vocabulary)``).

    Example:
        >>> decoding = CTCDecoding({"strategy": "greedy"}, vocabulary=[" ", "a", "b"])
        >>> texts, _ = decoding.ctc_decoder_predictions_tensor(torch.tensor([[1, 1, 3, 1, 0, 2]]))
        >>> texts
        ['aa b']
    """

    def __init__(self, decoding_cfg: Any, vocabulary: list[str]) -> None:
        self.vocabulary = list(vocabulary)
        super().__init__(decoding_cfg, blank_id=len(self.vocabulary))
        if isinstance(self.decoding, BeamCTCInfer):
            self.decoding.set_vocabulary(self.vocabulary)
            self.decoding.set_decoding_type("char")

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        words = self.decode_tokens_to_str(hypothesis.text[0]).split()
        return self._aggregate_token_confidence_chars(words, hypothesis.token_confidence)

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return "".join(self.decode_ids_to_tokens(tokens))

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return [self.vocabulary[int(token)] for token in tokens if token != self.blank_id]


class CTCBPEDecoding(AbstractCTCDecoding):
    """CTC decoding over the pieces of a tokenizer (blank id = ``tokenizer.vocab_size``).

    Args:
        decoding_cfg: see :class:`CTCBPEDecodingConfig`.
        tokenizer: the model's tokenizer (e.g. ``SentencePieceTokenizer``).
    """

    def __init__(self, decoding_cfg: Any, tokenizer: TokenizerSpec) -> None:
        self.tokenizer = tokenizer
        super().__init__(decoding_cfg, blank_id=tokenizer.vocab_size)
        if isinstance(self.decoding, BeamCTCInfer):
            self.decoding.set_vocabulary(tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size))))
            self.decoding.set_decoding_type("subword")

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        tokens = hypothesis.text[0]
        words = self.decode_tokens_to_str(tokens).split()
        return self._aggregate_token_confidence_subwords_sentencepiece(
            words, hypothesis.token_confidence, tokens
        )

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text([int(t) for t in tokens if t != self.blank_id])

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return self.tokenizer.ids_to_tokens([int(t) for t in tokens if t != self.blank_id])
