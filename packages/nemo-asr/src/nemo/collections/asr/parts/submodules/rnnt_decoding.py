"""RNNTDecoding / RNNTBPEDecoding: encoder outputs -> text for the transducer models (NeMo 1.23 names).

Decoding config keys as NeMo's (``decoding`` in a model's YAML, defaults from :class:`RNNTDecodingConfig`)::

    strategy: greedy_batch    # greedy | greedy_batch (the same batched greedy search here) | beam | tsd | alsd | maes
    preserve_alignments: null # per-frame (log_probs, label) emissions in Hypothesis.alignments (greedy)
    compute_timestamps: null  # Hypothesis.timestep = {"timestep", "char", "word"} offsets; needs alignments
    rnnt_timestamp_type: all  # char | word | all
    word_seperator: " "       # (NeMo's spelling) the character that separates words of a character model
    confidence_cfg: {preserve_frame_confidence: false, preserve_token_confidence: false,
                     preserve_word_confidence: false, exclude_blank: true, aggregation: min,
                     method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}}
    greedy: {max_symbols: 10, preserve_alignments: false, preserve_frame_confidence: false}
    beam:
      beam_size: 4            # 1 runs NeMo's sample-level greedy search (at most 5 tokens per frame)
      search_type: default    # strategy beam always runs search_type default (as NeMo); other values are errors
      tsd_max_sym_exp: 10     # strategy tsd: expansion rounds per frame (NeMo reads this key here, not
                              # tsd_max_sym_exp_per_step)
      alsd_max_target_len: 2  # strategy alsd: most tokens (float: multiple of the frames)
      maes_num_steps: 2       # strategy maes, with maes_prefix_alpha: 1, maes_expansion_gamma: 2.3,
                              # maes_expansion_beta: 2
      score_norm: true        # rank final hypotheses by score per token
      return_best_hypothesis: true
      softmax_temperature: 1.0

``beam``, ``tsd``, ``alsd`` and ``maes`` run
:class:`~nemo.collections.asr.parts.submodules.rnnt_beam_decoding.BeamRNNTInfer` with that search type (``beam``:
``default``). With
``beam.return_best_hypothesis: false``, :meth:`RNNTDecoding.rnnt_decoder_predictions_tensor` returns NeMo's
n-best lists as ``(best, all)``: ``best`` the first hypothesis (or text) of each utterance; ``all`` one list of
Hypothesis per utterance, best first, or with texts, every n-best text of the batch in one flat list.

Confidence comes from the greedy search; the beam strategies refuse it by name (and record alignments only for
``beam``, or any beam strategy with ``beam_size: 1``, which runs the greedy search). As in NeMo, ``compute_timestamps`` needs ``preserve_alignments``, and token / word confidence are
computed when hypotheses are returned (``return_hypotheses=True``). Unlike NeMo, keys that this package cannot
honour (``beam.search_type`` other than ``default`` with ``strategy: beam``, TDT ``durations``, multi-blank ``big_blank_durations``,
``compute_langs``) are errors instead of being ignored.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, is_dataclass
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.rnnt_beam_decoding import BeamRNNTInfer, BeamRNNTInferConfig
from nemo.collections.asr.parts.submodules.rnnt_greedy_decoding import (
    GreedyBatchedRNNTInfer,
    GreedyBatchedRNNTInferConfig,
    GreedyRNNTInfer,
)
from nemo.collections.asr.parts.utils.asr_confidence_utils import ConfidenceConfig, ConfidenceMixin
from nemo.collections.asr.parts.utils.decoding_timestamps import (
    rnnt_frame_offsets,
    word_offsets_from_chars,
    word_offsets_from_rnnt_subwords,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from omegaconf import DictConfig, OmegaConf

__all__ = [
    "AbstractRNNTDecoding",
    "RNNTBPEDecoding",
    "RNNTBPEDecodingConfig",
    "RNNTDecoding",
    "RNNTDecodingConfig",
]

SUPPORTED_STRATEGIES = ("greedy", "greedy_batch", "beam", "tsd", "alsd", "maes")
BEAM_STRATEGIES = ("beam", "tsd", "alsd", "maes")
TIMESTAMP_TYPES = ("char", "word", "all")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(\s+)([\.\,\?])")


# Hashable (by field values) so NeMo scripts may use an instance as a dataclass default (Python 3.11+ rule).
@dataclass(unsafe_hash=True)
class RNNTDecodingConfig:
    """The ``decoding`` config of an RNN-T model."""

    model_type: str = "rnnt"
    strategy: str = "greedy_batch"
    compute_hypothesis_token_set: bool = False
    preserve_alignments: bool | None = None
    confidence_cfg: ConfidenceConfig = field(default_factory=ConfidenceConfig)
    fused_batch_size: int | None = None
    compute_timestamps: bool | None = None
    compute_langs: bool = False
    word_seperator: str = " "
    rnnt_timestamp_type: str = "all"
    greedy: GreedyBatchedRNNTInferConfig = field(default_factory=GreedyBatchedRNNTInferConfig)
    beam: BeamRNNTInferConfig = field(default_factory=lambda: BeamRNNTInferConfig(beam_size=4))
    temperature: float = 1.0
    durations: list[int] | None = field(default_factory=list)
    big_blank_durations: list[int] | None = field(default_factory=list)


# Hashable (by field values) so NeMo scripts may use an instance as a dataclass default (Python 3.11+ rule).
@dataclass(unsafe_hash=True)
class RNNTBPEDecodingConfig(RNNTDecodingConfig):
    """The ``decoding`` config of an RNN-T model over sentencepiece pieces (same keys)."""


def _as_config(decoding_cfg: Any) -> DictConfig:
    if is_dataclass(decoding_cfg):
        decoding_cfg = OmegaConf.structured(decoding_cfg)
    cfg = OmegaConf.create(decoding_cfg if decoding_cfg is not None else {})
    OmegaConf.set_struct(cfg, False)
    for section in ("greedy", "beam"):
        if cfg.get(section) is None:
            cfg[section] = {}
    cfg.setdefault("strategy", "greedy_batch")
    return cfg


def _refuse_unsupported(cfg: DictConfig) -> None:
    """Raise for keys whose features this package does not have."""
    if cfg.strategy not in SUPPORTED_STRATEGIES:
        raise ValueError(
            f"decoding.strategy is {cfg.strategy!r}; RNN-T models support {SUPPORTED_STRATEGIES}. Set "
            "decoding.strategy=greedy_batch or beam."
        )
    search_type = cfg.get("beam", {}).get("search_type", "default")
    if cfg.strategy == "beam" and search_type not in (None, "default"):
        raise ValueError(
            f"decoding.beam.search_type is {search_type!r}, but decoding.strategy='beam' always runs the default "
            f"search (as in NeMo). Set decoding.strategy={search_type} instead."
        )
    for key, what in (("durations", "TDT"), ("big_blank_durations", "multi-blank RNN-T")):
        if cfg.get(key):
            raise ValueError(
                f"decoding.{key} is set, but {what} decoding is not supported here; set it to []."
            )
    if cfg.get("compute_langs", False):
        raise ValueError(
            "decoding.compute_langs needs an aggregate tokenizer, not supported here; set it false."
        )
    if cfg.get("rnnt_timestamp_type", "all") not in TIMESTAMP_TYPES:
        raise ValueError(
            f"decoding.rnnt_timestamp_type is {cfg.rnnt_timestamp_type!r}; expected one of {TIMESTAMP_TYPES}."
        )


def _search_options(cfg: DictConfig) -> dict[str, Any]:
    """The ``decoding.beam`` keys (with NeMo's defaults) that the tsd, alsd and maes strategies pass on."""
    beam = cfg.beam
    if cfg.strategy == "tsd":
        return {"tsd_max_sym_exp_per_step": beam.get("tsd_max_sym_exp", 10)}
    if cfg.strategy == "alsd":
        return {"alsd_max_target_len": beam.get("alsd_max_target_len", 2)}
    if cfg.strategy == "maes":
        return {
            "maes_num_steps": beam.get("maes_num_steps", 2),
            "maes_prefix_alpha": beam.get("maes_prefix_alpha", 1),
            "maes_expansion_gamma": beam.get("maes_expansion_gamma", 2.3),
            "maes_expansion_beta": beam.get("maes_expansion_beta", 2),
            "ngram_lm_model": beam.get("ngram_lm_model", None),
            "ngram_lm_alpha": beam.get("ngram_lm_alpha", 0.0),
            "hat_subtract_ilm": beam.get("hat_subtract_ilm", False),
            "hat_ilm_weight": beam.get("hat_ilm_weight", 0.0),
        }
    return {}


class AbstractRNNTDecoding(ConfidenceMixin):
    """Shared transducer decoding: runs the configured search, detokenizes, adds timestamps and confidence.

    Args:
        decoding_cfg: NeMo's RNNT decoding config (dataclass, dict or DictConfig); see the module docstring.
        decoder: the ``RNNTDecoder`` prediction network.
        joint: the ``RNNTJoint``.
        blank_id: id of the blank output (the last one).
    """

    def __init__(
        self, decoding_cfg: Any, decoder: torch.nn.Module, joint: torch.nn.Module, blank_id: int
    ) -> None:
        cfg = _as_config(decoding_cfg)
        _refuse_unsupported(cfg)
        self.cfg = cfg
        self.blank_id = blank_id
        self.num_extra_outputs = getattr(joint, "num_extra_outputs", 0)
        self.compute_hypothesis_token_set = cfg.get("compute_hypothesis_token_set", False)
        self.joint_fused_batch_size = cfg.get("fused_batch_size", None)
        self.word_seperator = cfg.get("word_seperator", " ")
        beam = cfg.strategy in BEAM_STRATEGIES
        search_cfg = cfg.beam if beam else cfg.greedy
        preserve_alignments = cfg.get("preserve_alignments", None)
        if preserve_alignments is None:
            preserve_alignments = search_cfg.get("preserve_alignments", False)
        compute_timestamps = cfg.get("compute_timestamps", None)
        if compute_timestamps is None:
            compute_timestamps = search_cfg.get("compute_timestamps", False)
        self.preserve_alignments = bool(preserve_alignments)
        self.compute_timestamps = bool(compute_timestamps)
        if self.compute_timestamps and not self.preserve_alignments:
            raise ValueError(
                "decoding.compute_timestamps needs decoding.preserve_alignments=true (offsets are read from the "
                "alignments); set both."
            )
        self._init_confidence(cfg.get("confidence_cfg", None))
        if beam and (self.preserve_frame_confidence or cfg.beam.get("preserve_frame_confidence", False)):
            raise ValueError(
                "decoding.confidence_cfg (preserve_frame/token/word_confidence) is not supported by "
                f"decoding.strategy={cfg.strategy!r}; confidence comes from the greedy search only. Set "
                "decoding.strategy=greedy_batch or turn confidence off."
            )
        if beam:
            self.decoding = BeamRNNTInfer(
                decoder_model=decoder,
                joint_model=joint,
                beam_size=cfg.beam.get("beam_size", 4),
                search_type="default" if cfg.strategy == "beam" else cfg.strategy,
                score_norm=cfg.beam.get("score_norm", True),
                return_best_hypothesis=cfg.beam.get("return_best_hypothesis", True),
                softmax_temperature=cfg.beam.get("softmax_temperature", 1.0),
                preserve_alignments=self.preserve_alignments,
                **_search_options(cfg),
            )
        else:
            search = GreedyRNNTInfer if cfg.strategy == "greedy" else GreedyBatchedRNNTInfer
            # loop_labels is a key of the batched search only (NeMo's GreedyRNNTInfer has no such argument).
            batched = (
                {} if cfg.strategy == "greedy" else {"loop_labels": cfg.greedy.get("loop_labels", False)}
            )
            self.decoding = search(
                decoder_model=decoder,
                joint_model=joint,
                blank_index=blank_id,
                max_symbols_per_step=cfg.greedy.get("max_symbols", None)
                or cfg.greedy.get("max_symbols_per_step", None),
                preserve_alignments=self.preserve_alignments,
                preserve_frame_confidence=self.preserve_frame_confidence,
                confidence_method_cfg=self.confidence_method_cfg,
                **batched,
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
            return_hypotheses: return Hypothesis objects (with ``text``) instead of strings; token and word
                confidence are computed only then.
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
        with torch.inference_mode():
            (hypotheses,) = self.decoding(encoder_output, encoded_lengths)
        if hypotheses and isinstance(hypotheses[0], NBestHypotheses):
            all_hypotheses = [
                self._with_timestamps(self.decode_hypothesis(n.n_best_hypotheses)) for n in hypotheses
            ]
            best = [n_best[0] for n_best in all_hypotheses]
            if return_hypotheses:
                return best, all_hypotheses
            return [h.text for h in best], [h.text for n_best in all_hypotheses for h in n_best]
        hypotheses = self._with_timestamps(self.decode_hypothesis(hypotheses))
        if not return_hypotheses:
            return [h.text for h in hypotheses], None
        if self.preserve_frame_confidence and (
            self.preserve_word_confidence or self.preserve_token_confidence
        ):
            hypotheses = self.compute_confidence(hypotheses)
        return hypotheses, None

    def _with_timestamps(self, hypotheses: list[Hypothesis]) -> list[Hypothesis]:
        if not self.compute_timestamps:
            return hypotheses
        timestamp_type = self.cfg.get("rnnt_timestamp_type", "all")
        return [self.compute_rnnt_timestamps(hypothesis, timestamp_type) for hypothesis in hypotheses]

    def decode_hypothesis(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Set ``text`` on each hypothesis from its token ids (blank dropped), in place; returns the list.

        With ``compute_timestamps``, ``text`` holds ``(token ids, alignments copy, [1] * frames)`` instead, for
        :meth:`compute_rnnt_timestamps`, which turns it into the string.
        """
        for hypothesis in hypotheses_list:
            sequence = hypothesis.y_sequence
            ids = sequence.tolist() if torch.is_tensor(sequence) else list(sequence)
            tokens = [int(token) for token in ids if token != self.blank_id]
            if self.compute_timestamps:
                alignments = copy.deepcopy(hypothesis.alignments)
                hypothesis.text = (tokens, alignments, [1] * len(alignments))
            else:
                hypothesis.text = _SPACE_BEFORE_PUNCTUATION.sub(r"\2", self.decode_tokens_to_str(tokens))
                if self.compute_hypothesis_token_set:
                    hypothesis.tokens = self.decode_ids_to_tokens(tokens)
        return hypotheses_list

    def compute_rnnt_timestamps(self, hypothesis: Hypothesis, timestamp_type: str = "all") -> Hypothesis:
        """Turn ``text`` (the tuple :meth:`decode_hypothesis` left) into the string and set ``timestep`` offsets.

        Returns:
            The hypothesis, ``timestep`` = ``{"timestep": [frame of each token], "char": [...], "word": [...]}``;
            ``char`` entries list the texts of the tokens each frame emitted (see
            :mod:`~nemo.collections.asr.parts.utils.decoding_timestamps`).

        Raises:
            ValueError: if the alignments do not account for every token (a frame that hit ``max_symbols``
                has no closing blank; NeMo fails the same way).
        """
        if timestamp_type not in TIMESTAMP_TYPES:
            raise ValueError(f"timestamp_type is {timestamp_type!r}; expected one of {TIMESTAMP_TYPES}.")
        tokens, alignments = hypothesis.text[:2]
        frames = [int(t) for t in hypothesis.timestep] if len(hypothesis.timestep) > 0 else []
        frame_labels = [[int(label) for _, label in frame] for frame in alignments]
        id_offsets = rnnt_frame_offsets(frame_labels, frames, self.blank_id)
        counted = sum(len(offset["char"]) - 1 for offset in id_offsets)
        if counted != len(tokens):
            raise ValueError(
                f"The alignments hold {counted} tokens before their closing blanks, but the hypothesis has "
                f"{len(tokens)}; timestamps cannot be assigned (a frame probably reached decoding.greedy.max_symbols)."
            )
        char_offsets = [
            {**offset, "char": [self.decode_tokens_to_str([label]) for label in offset["char"][:-1]]}
            for offset in id_offsets
        ]
        timestep: dict[str, Any] = {"timestep": frames}
        if timestamp_type in ("char", "all"):
            timestep["char"] = char_offsets
        if timestamp_type in ("word", "all"):
            widths = [max(len(text) for text in offset["char"]) for offset in char_offsets]
            if sum(widths) > len(widths):  # some frame emitted a multi-character piece: a sub-word model
                timestep["word"] = word_offsets_from_rnnt_subwords(
                    id_offsets, self.decode_ids_to_tokens, self.decode_tokens_to_str
                )
            else:
                timestep["word"] = word_offsets_from_chars(char_offsets, self.word_seperator)
        hypothesis.timestep = timestep
        hypothesis.text = self.decode_tokens_to_str(tokens)
        return hypothesis

    def compute_confidence(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Set ``token_confidence`` (and ``word_confidence`` when asked) from ``frame_confidence``, in place.

        With ``exclude_blank``, a token's score is its own emission's. Otherwise the last token of a frame also
        takes the frame's closing blank and the blank-only frames after it (aggregated); other tokens keep their
        emission's score.
        """
        for hypothesis in hypotheses_list:
            if self.exclude_blank_from_confidence:
                hypothesis.token_confidence = hypothesis.non_blank_frame_confidence
                continue
            timestep = (
                hypothesis.timestep["timestep"]
                if isinstance(hypothesis.timestep, dict)
                else hypothesis.timestep
            )
            frames = [int(t) for t in timestep]
            scores = hypothesis.frame_confidence
            token_confidence = []
            position = 0  # index of the token's emission within its frame
            for frame, next_frame in zip(frames, [*frames[1:], len(scores)]):
                if frame == next_frame:
                    token_confidence.append(scores[frame][position])
                    position += 1
                    continue
                owned = [scores[frame][position]] + [later[0] for later in scores[frame + 1 : next_frame]]
                token_confidence.append(self._aggregate_confidence(owned))
                position = 0
            hypothesis.token_confidence = token_confidence
        if self.preserve_word_confidence:
            for hypothesis in hypotheses_list:
                hypothesis.word_confidence = self._aggregate_token_confidence(hypothesis)
        return hypotheses_list

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must implement _aggregate_token_confidence.")

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        """Detokenize ids (blank excluded) to text."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode_tokens_to_str.")

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        """Map ids to token strings, dropping blanks."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode_ids_to_tokens.")


class RNNTDecoding(AbstractRNNTDecoding):
    """Greedy or beam transducer decoding over a character vocabulary.

    Args:
        decoding_cfg: see :class:`RNNTDecodingConfig`.
        decoder: the ``RNNTDecoder`` prediction network.
        joint: the ``RNNTJoint``.
        vocabulary: output units, blank excluded (blank id = ``len(vocabulary)``).
    """

    def __init__(
        self, decoding_cfg: Any, decoder: torch.nn.Module, joint: torch.nn.Module, vocabulary: list[str]
    ):
        self.vocabulary = list(vocabulary)
        self.labels_map = dict(enumerate(self.vocabulary))
        super().__init__(
            decoding_cfg,
            decoder,
            joint,
            blank_id=len(self.vocabulary) + getattr(joint, "num_extra_outputs", 0),
        )
        if isinstance(self.decoding, BeamRNNTInfer):
            self.decoding.set_decoding_type("char")

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        return self._aggregate_token_confidence_chars(hypothesis.words, hypothesis.token_confidence)

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return "".join(self.decode_ids_to_tokens(tokens))

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return [self.vocabulary[token] for token in tokens if token != self.blank_id]


class RNNTBPEDecoding(AbstractRNNTDecoding):
    """Greedy or beam transducer decoding over the pieces of a sentencepiece tokenizer.

    Args:
        decoding_cfg: see :class:`RNNTBPEDecodingConfig`.
        decoder: the ``RNNTDecoder`` prediction network.
        joint: the ``RNNTJoint``.
        tokenizer: the model's tokenizer (blank id = ``tokenizer.vocab_size``).
    """

    def __init__(
        self, decoding_cfg: Any, decoder: torch.nn.Module, joint: torch.nn.Module, tokenizer: TokenizerSpec
    ) -> None:
        self.tokenizer = tokenizer
        super().__init__(
            decoding_cfg,
            decoder,
            joint,
            blank_id=tokenizer.vocab_size + getattr(joint, "num_extra_outputs", 0),
        )
        if isinstance(self.decoding, BeamRNNTInfer):
            self.decoding.set_decoding_type("subword")

    @property
    def vocabulary(self) -> list[str]:
        """The tokenizer's pieces in id order (blank excluded)."""
        return self.tokenizer.ids_to_tokens(list(range(self.tokenizer.vocab_size)))

    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        sequence = hypothesis.y_sequence
        ids = sequence.tolist() if torch.is_tensor(sequence) else list(sequence)
        return self._aggregate_token_confidence_subwords_sentencepiece(
            hypothesis.words, hypothesis.token_confidence, ids
        )

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text([token for token in tokens if token != self.blank_id])

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return self.tokenizer.ids_to_tokens([token for token in tokens if token != self.blank_id])
