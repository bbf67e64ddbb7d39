"""Confidence of decoded speech: per-frame measures, their aggregation, and NeMo 1.23's config keys.

A *measure* maps one frame's log-probabilities (..., V) to a score in [0, 1]: 1 for a one-hot distribution,
0 for the uniform one. Two families exist:

- ``max_prob``: the top probability, raised to the power ``alpha`` and rescaled;
- ``entropy``: one minus a normalized entropy of the frame. ``entropy_type`` picks Gibbs (Shannon, scaled by
  ``alpha``), Tsallis or Rényi entropy; ``entropy_norm`` maps it to [0, 1] linearly (``lin``) or through an
  exponential (``exp``).

With ``alpha == 1`` every entropy is the Shannon entropy. An *aggregation* (``mean``, ``min``, ``max``,
``prod``) folds frame scores into token scores and token scores into word scores.

Config (``decoding.confidence_cfg`` in a model's YAML, defaults from :class:`ConfidenceConfig`)::

    preserve_frame_confidence: false   # Hypothesis.frame_confidence
    preserve_token_confidence: false   # Hypothesis.token_confidence (turns on frame confidence)
    preserve_word_confidence: false    # Hypothesis.word_confidence (turns on token confidence)
    exclude_blank: true                # token scores from the frames that emitted the token only
    aggregation: min                   # mean | min | max | prod
    method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}

Older configs NeMo 1.23 still reads: ``method_cfg.temperature`` (now ``alpha``; copied over with a
deprecation warning), and for greedy strategies ``decoding.greedy.preserve_frame_confidence`` with
``decoding.greedy.confidence_method_cfg`` when ``confidence_cfg`` asks for no confidence.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import torch
    from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis

__all__ = [
    "ConfidenceConfig",
    "ConfidenceConstants",
    "ConfidenceMethodConfig",
    "ConfidenceMethodConstants",
    "ConfidenceMethodMixin",
    "ConfidenceMixin",
    "get_confidence_aggregation_bank",
    "get_confidence_measure_bank",
]

_DEPRECATED = "DEPRECATED"


class ConfidenceMethodConstants:
    """Accepted values of :class:`ConfidenceMethodConfig`."""

    NAMES = ("max_prob", "entropy")
    ENTROPY_TYPES = ("gibbs", "tsallis", "renyi")
    ENTROPY_NORMS = ("lin", "exp")

    @classmethod
    def print(cls) -> str:
        """One line naming the class and its accepted values."""
        values = {"NAMES": cls.NAMES, "ENTROPY_TYPES": cls.ENTROPY_TYPES, "ENTROPY_NORMS": cls.ENTROPY_NORMS}
        return f"{cls.__name__}: {values}"


class ConfidenceConstants:
    """Accepted values of :class:`ConfidenceConfig`."""

    AGGREGATIONS = ("mean", "min", "max", "prod")

    @classmethod
    def print(cls) -> str:
        """One line naming the class and its accepted values."""
        return f"{cls.__name__}: {{'AGGREGATIONS': {cls.AGGREGATIONS}}}"


def _check_choice(key: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"`{key}` must be one of {', '.join(map(repr, choices))}; got {value!r}.")


@dataclass
class ConfidenceMethodConfig:
    """How one frame's log-probabilities become a confidence score (``confidence_cfg.method_cfg``).

    Args:
        name: ``max_prob`` or ``entropy``.
        entropy_type: ``gibbs``, ``tsallis`` or ``renyi`` (used when ``name`` is ``entropy``).
        alpha: power applied to the probabilities (> 0); 1 gives the plain measures.
        entropy_norm: ``lin`` or ``exp``, the mapping of the entropy onto [0, 1].
        temperature: the older name of ``alpha``; a value other than ``"DEPRECATED"`` is copied to ``alpha``.
    """

    name: str = "entropy"
    entropy_type: str = "tsallis"
    alpha: float = 0.33
    entropy_norm: str = "exp"
    temperature: str = _DEPRECATED

    def __post_init__(self) -> None:
        if self.temperature != _DEPRECATED:
            from nemo.utils import logging

            logging.warning(
                f"confidence method_cfg.temperature={self.temperature} is deprecated; use method_cfg.alpha "
                "(the value is copied to alpha)."
            )
            self.alpha = float(self.temperature)
            self.temperature = _DEPRECATED
        _check_choice("name", self.name, ConfidenceMethodConstants.NAMES)
        _check_choice("entropy_type", self.entropy_type, ConfidenceMethodConstants.ENTROPY_TYPES)
        if self.alpha <= 0.0:
            raise ValueError(f"`alpha` must be > 0; got {self.alpha}.")
        _check_choice("entropy_norm", self.entropy_norm, ConfidenceMethodConstants.ENTROPY_NORMS)

    @property
    def measure_name(self) -> str:
        """The key of this method in :func:`get_confidence_measure_bank`."""
        if self.name == "max_prob":
            return "max_prob"
        return f"entropy_{self.entropy_type}_{self.entropy_norm}"


def as_confidence_method_config(value: Any) -> ConfidenceMethodConfig:
    """A validated :class:`ConfidenceMethodConfig` from a dataclass, dict, DictConfig or ``None``."""
    if value is None:
        return ConfidenceMethodConfig()
    if isinstance(value, ConfidenceMethodConfig):
        return ConfidenceMethodConfig(**asdict(value))
    if isinstance(value, DictConfig):
        value = OmegaConf.to_container(value, resolve=True)
    elif is_dataclass(value):
        value = asdict(value)
    return ConfidenceMethodConfig(**dict(value))


@dataclass
class ConfidenceConfig:
    """Which confidence scores decoding keeps, and how they are computed (``decoding.confidence_cfg``).

    Args:
        preserve_frame_confidence: keep one score per frame in ``Hypothesis.frame_confidence``.
        preserve_token_confidence: keep one score per token in ``Hypothesis.token_confidence``.
        preserve_word_confidence: keep one score per word in ``Hypothesis.word_confidence``.
        exclude_blank: score tokens from the frames that emitted them only (CTC), or from the non-blank
            emissions (RNN-T); ``False`` folds the following blank frames into each token.
        aggregation: ``mean``, ``min``, ``max`` or ``prod``: frames to tokens, tokens to words.
        method_cfg: see :class:`ConfidenceMethodConfig`.
    """

    preserve_frame_confidence: bool = False
    preserve_token_confidence: bool = False
    preserve_word_confidence: bool = False
    exclude_blank: bool = True
    aggregation: str = "min"
    method_cfg: ConfidenceMethodConfig = field(default_factory=ConfidenceMethodConfig)

    def __post_init__(self) -> None:
        self.method_cfg = OmegaConf.structured(as_confidence_method_config(self.method_cfg))
        _check_choice("aggregation", self.aggregation, ConfidenceConstants.AGGREGATIONS)


def _confidence_config(value: Any) -> ConfidenceConfig:
    if value is None:
        return ConfidenceConfig()
    if isinstance(value, DictConfig):
        value = OmegaConf.to_container(value, resolve=True)
    elif is_dataclass(value):
        value = {key: getattr(value, key) for key in value.__dataclass_fields__}
    return ConfidenceConfig(**dict(value))


# --- measures -------------------------------------------------------------------------------------------------
# ``log_probs`` is (..., V) natural-log probabilities; ``v`` the vocabulary size V (blank included); ``alpha`` > 0.
# Every measure returns (...,) scores, 1 for a one-hot frame and 0 for the uniform one.


def _power_sum(log_probs: torch.Tensor, alpha: float) -> torch.Tensor:
    """sum_i p_i^alpha."""
    return (log_probs * alpha).exp().sum(-1)


def _weighted_log_sum(log_probs: torch.Tensor, alpha: float) -> torch.Tensor:
    """sum_i p_i^alpha * log p_i (minus the alpha-scaled Gibbs entropy over alpha)."""
    return ((log_probs * alpha).exp() * log_probs).sum(-1)


def _max_prob(log_probs: torch.Tensor, v: int, t: float) -> torch.Tensor:
    """The top probability raised to ``t`` (alpha), rescaled from [1/V, 1] to [0, 1]."""
    top = log_probs.max(dim=-1).values
    scale = math.pow(v, t)
    return ((top * t).exp() * scale - 1) / (scale - 1)


def _shannon_lin(log_probs: torch.Tensor, v: int) -> torch.Tensor:
    return 1 + _weighted_log_sum(log_probs, 1.0) / math.log(v)


def _shannon_exp(log_probs: torch.Tensor, v: int) -> torch.Tensor:
    return (_weighted_log_sum(log_probs, 1.0).exp() * v - 1) / (v - 1)


def _gibbs_lin(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    return 1 + _weighted_log_sum(log_probs, alpha) / (math.log(v) * math.pow(v, 1 - alpha))


def _gibbs_exp(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    floor = math.pow(v, -alpha * math.pow(v, 1 - alpha))  # the value at the uniform distribution
    return ((_weighted_log_sum(log_probs, alpha) * alpha).exp() - floor) / (1 - floor)


def _tsallis_lin(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    return 1 + (1 - _power_sum(log_probs, alpha)) / (math.pow(v, 1 - alpha) - 1)


def _tsallis_exp(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    floor = math.exp((1 - math.pow(v, 1 - alpha)) / (1 - alpha))
    return (((1 - _power_sum(log_probs, alpha)) / (1 - alpha)).exp() - floor) / (1 - floor)


def _renyi_lin(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    return 1 + _power_sum(log_probs, alpha).log2() / ((alpha - 1) * math.log2(v))


def _renyi_exp(log_probs: torch.Tensor, v: int, alpha: float) -> torch.Tensor:
    return (_power_sum(log_probs, alpha).pow(1 / (alpha - 1)) * v - 1) / (v - 1)


_ENTROPY_MEASURES: dict[tuple[str, str], Callable[[torch.Tensor, int, float], torch.Tensor]] = {
    ("gibbs", "lin"): _gibbs_lin,
    ("gibbs", "exp"): _gibbs_exp,
    ("tsallis", "lin"): _tsallis_lin,
    ("tsallis", "exp"): _tsallis_exp,
    ("renyi", "lin"): _renyi_lin,
    ("renyi", "exp"): _renyi_exp,
}
_SHANNON = {"lin": _shannon_lin, "exp": _shannon_exp}


def _entropy_measure(
    log_probs: torch.Tensor, v: int, t: float, *, entropy_type: str, norm: str
) -> torch.Tensor:
    if t == 1.0:  # every entropy type reduces to Shannon's
        return _SHANNON[norm](log_probs, v)
    return _ENTROPY_MEASURES[entropy_type, norm](log_probs, v, t)


def get_confidence_measure_bank() -> dict[str, Callable[[torch.Tensor, int, float], torch.Tensor]]:
    """Every confidence measure by name: ``measure(log_probs (..., V), V, alpha) -> (...,)`` scores in [0, 1].

    Names: ``max_prob`` and ``entropy_{gibbs,tsallis,renyi}_{lin,exp}``.
    """
    bank: dict[str, Callable[[torch.Tensor, int, float], torch.Tensor]] = {"max_prob": _max_prob}
    for entropy_type, norm in _ENTROPY_MEASURES:
        bank[f"entropy_{entropy_type}_{norm}"] = partial(
            _entropy_measure, entropy_type=entropy_type, norm=norm
        )
    return bank


def get_confidence_aggregation_bank() -> dict[str, Callable[[Sequence[float]], float]]:
    """Aggregations of a non-empty sequence of scores by name: ``mean``, ``min``, ``max``, ``prod``."""
    return {"mean": statistics.fmean, "min": min, "max": max, "prod": math.prod}


class ConfidenceMethodMixin:
    """Gives a search ``self._get_confidence(log_probs (..., V)) -> list`` of per-frame scores.

    The class using it must have ``blank_id`` (or ``_blank_index``): the vocabulary holds ``blank + 1`` entries.
    """

    def _init_confidence_method(self, confidence_method_cfg: DictConfig | dict | None = None) -> None:
        """Set ``num_tokens``, ``alpha``, ``confidence_measure_bank`` and ``_get_confidence`` from the config."""
        method = as_confidence_method_config(confidence_method_cfg)
        blank = self.blank_id if hasattr(self, "blank_id") else self._blank_index
        self.num_tokens = blank + 1
        self.alpha = method.alpha
        self.confidence_measure_bank = get_confidence_measure_bank()
        measure = partial(self.confidence_measure_bank[method.measure_name], v=self.num_tokens, t=self.alpha)
        # Module-level callables and partials only: a decoding (and the model holding it) must pickle, as
        # trainer.strategy=ddp_spawn and DataLoader workers need.
        self._get_confidence = _ScoresAsList(measure)


class _ScoresAsList:
    """``measure(nan_to_num(log_probs)).tolist()``: a confidence measure applied to (..., V) log-probs."""

    def __init__(self, measure: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.measure = measure

    def __call__(self, log_probs: torch.Tensor) -> list[float] | float:
        import torch

        return self.measure(torch.nan_to_num(log_probs)).tolist()


class ConfidenceMixin(ABC):
    """Token and word confidence for a decoding class (``CTCDecoding``, ``RNNTDecoding``).

    The class using it sets ``self.cfg`` (its decoding config) before calling :meth:`_init_confidence`, and
    implements :meth:`compute_confidence` and :meth:`_aggregate_token_confidence`.
    """

    def _init_confidence(self, confidence_cfg: DictConfig | dict | None = None) -> None:
        """Read ``decoding.confidence_cfg`` (and the older greedy keys) into attributes.

        Sets ``confidence_method_cfg``, ``preserve_{frame,token,word}_confidence`` (each implied by the next),
        ``exclude_blank_from_confidence``, ``word_confidence_aggregation`` and ``_aggregate_confidence``.
        """
        config = _confidence_config(confidence_cfg)
        self.confidence_method_cfg = config.method_cfg
        self.preserve_word_confidence = bool(config.preserve_word_confidence)
        self.preserve_token_confidence = (
            bool(config.preserve_token_confidence) or self.preserve_word_confidence
        )
        self.preserve_frame_confidence = (
            bool(config.preserve_frame_confidence) or self.preserve_token_confidence
        )
        self.exclude_blank_from_confidence = bool(config.exclude_blank)
        self.word_confidence_aggregation = config.aggregation
        self.confidence_aggregation_bank = get_confidence_aggregation_bank()
        self._aggregate_confidence = self.confidence_aggregation_bank[config.aggregation]
        if not self.preserve_frame_confidence and self.cfg.strategy in ("greedy", "greedy_batch"):
            greedy = self.cfg.get("greedy") or {}
            self.preserve_frame_confidence = bool(greedy.get("preserve_frame_confidence", False))
            self.confidence_method_cfg = OmegaConf.structured(
                as_confidence_method_config(greedy.get("confidence_method_cfg", None))
            )

    @abstractmethod
    def compute_confidence(self, hypotheses_list: list[Hypothesis]) -> list[Hypothesis]:
        """Set ``token_confidence`` (and ``word_confidence`` when asked) from ``frame_confidence``."""

    @abstractmethod
    def _aggregate_token_confidence(self, hypothesis: Hypothesis) -> list[float]:
        """One score per word of ``hypothesis`` from its ``token_confidence``."""

    def _aggregate_token_confidence_chars(
        self, words: list[str], token_confidence: list[float]
    ) -> list[float]:
        """Word scores of a character model: each word's characters; the one separator between words is skipped."""
        scores = []
        start = 0
        for word in words:
            scores.append(self._aggregate_confidence(token_confidence[start : start + len(word)]))
            start += len(word) + 1
        return scores

    def _aggregate_token_confidence_subwords_sentencepiece(
        self, words: list[str], token_confidence: list[float], token_ids: list[int]
    ) -> list[float]:
        """Word scores of a sentencepiece model: a word starts at each piece that carries the word mark (``▁``).

        ``<unk>`` stands alone as a word, and a bare ``▁`` piece opens the following word without a score of
        its own, as ``tokenizer.ids_to_text`` splits the text.

        Raises:
            RuntimeError: if the number of scores does not match ``len(words)``.
        """
        scores: list[float] = []
        if words:
            word_start = 0
            after_unk = after_bare_mark = False
            for index, token_id in enumerate(token_ids):
                piece = self.decode_ids_to_tokens([int(token_id)])[0]
                starts_word = piece != self.decode_tokens_to_str([int(token_id)]) or after_unk
                if starts_word and index > word_start:
                    if not after_bare_mark:
                        scores.append(self._aggregate_confidence(token_confidence[word_start:index]))
                    word_start = index
                after_unk = piece == "<unk>"
                after_bare_mark = piece == "▁"
            if not after_bare_mark:
                scores.append(self._aggregate_confidence(token_confidence[word_start : len(token_ids)]))
        if len(words) != len(scores):
            raise RuntimeError(
                f"Word confidence aggregation produced {len(scores)} scores for {len(words)} words "
                f"(text: {' '.join(words)!r}); the tokenizer's pieces do not mark word starts with '▁'."
            )
        return scores
