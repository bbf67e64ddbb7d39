"""CTC decoding: log-probabilities (B, T, V) -> text, with NeMo 1.23's classes and config keys.

``CTCDecoding(decoding_cfg, vocabulary)`` decodes character models, ``CTCBPEDecoding(decoding_cfg,
tokenizer)`` sentencepiece models. The blank is the last class (``len(vocabulary)`` / ``tokenizer.vocab_size``).

Config (``decoding`` in a model's YAML, defaults from :class:`CTCDecodingConfig`)::

    strategy: greedy          # greedy | greedy_batch (the same vectorized search here) | beam | pyctcdecode
                              # | flashlight
    batch_dim_index: 0
    preserve_alignments: null # keep (log_probs, labels) per utterance in Hypothesis.alignments (greedy)
    greedy: {preserve_alignments: false}
    beam: {beam_size: 4, return_best_hypothesis: true, kenlm_path: null, beam_alpha: 1.0, beam_beta: 0.0,
           flashlight_cfg: {lexicon_path: null, ...}}

``beam``, ``pyctcdecode`` and ``flashlight`` run the prefix beam search of
:mod:`nemo.collections.asr.parts.submodules.ctc_beam_decoding` (``pyctcdecode`` and ``flashlight`` set its
``search_type``; ``pyctcdecode`` runs the built-in search and logs how its keys map onto it);
``beam.kenlm_path`` names an ARPA word n-gram file fused into it, and ``flashlight`` constrains it to the words
of ``beam.flashlight_cfg.lexicon_path`` (see that module). With the lexicon search, the hypothesis text is the
word sequence the search found (for a model over phones: the words, not the phones); ``y_sequence`` keeps the
token ids. ``BeamCTCInfer``, ``BeamCTCInferConfig`` and ``ctc_prefix_beam_search`` (from
:mod:`~nemo.collections.asr.parts.submodules.ctc_prefix_search`) are importable from here too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.ctc_beam_decoding import BeamCTCInfer, BeamCTCInferConfig
from nemo.collections.asr.parts.submodules.ctc_prefix_search import ctc_prefix_beam_search
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, decoded_results
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
    "GreedyCTCInfer",
    "GreedyCTCInferConfig",
    "ctc_prefix_beam_search",
    "move_dimension_to_the_front",
]

STRATEGIES = ("greedy", "greedy_batch", "beam", "pyctcdecode", "flashlight")
BEAM_STRATEGIES = ("beam", "pyctcdecode", "flashlight")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(\s+)([\.\,\?])")


@dataclass
class GreedyCTCInferConfig:
    """``decoding.greedy``: options of the greedy search."""

    preserve_alignments: bool = False
    compute_timestamps: bool = False
    preserve_frame_confidence: bool = False


@dataclass
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
    temperature: float = 1.0


@dataclass
class CTCBPEDecodingConfig(CTCDecodingConfig):
    """The ``decoding`` config of a CTC model over sentencepiece pieces (same keys)."""


def move_dimension_to_the_front(tensor: torch.Tensor, dim_index: int) -> torch.Tensor:
    """Permute ``tensor`` so that axis ``dim_index`` comes first, the others keeping their order."""
    if dim_index == 0:
        return tensor
    return tensor.permute(dim_index, *(d for d in range(tensor.dim()) if d != dim_index))


class GreedyCTCInfer:
    """Greedy (best path) CTC search over a whole batch at once.

    Args:
        blank_id: index of the blank class.
        preserve_alignments: keep ``(log_probs (T, V), labels (T,))`` of each utterance in
            ``Hypothesis.alignments``.
    """

    def __init__(self, blank_id: int, preserve_alignments: bool = False) -> None:
        self.blank_id = blank_id
        self.preserve_alignments = preserve_alignments

    def __call__(
        self, decoder_output: torch.Tensor, decoder_lengths: torch.Tensor | None = None
    ) -> tuple[list[Hypothesis]]:
        """Pick the best label of every frame.

        Args:
            decoder_output: (B, T, V) log-probabilities, or (B, T) integer labels already picked.
            decoder_lengths: (B,) valid frames per utterance; ``None`` means all T.

        Returns:
            A one-tuple holding one Hypothesis per utterance: ``y_sequence`` the (T_b,) frame labels
            (not yet folded), ``score`` the sum of the chosen non-blank log-probabilities, ``length`` T_b.
        """
        batch, frames = decoder_output.shape[:2]
        if decoder_lengths is None:
            lengths = torch.full((batch,), frames, dtype=torch.long)
        else:
            lengths = decoder_lengths.detach().to("cpu", torch.long)
        with torch.no_grad():
            if decoder_output.is_floating_point():
                best_log_probs, labels = decoder_output.max(dim=-1)
                valid = torch.arange(frames, device=labels.device) < lengths.to(labels.device)[:, None]
                emitted = valid & (labels != self.blank_id)
                scores = (
                    torch.where(emitted, best_log_probs, torch.zeros_like(best_log_probs))
                    .sum(dim=-1)
                    .tolist()
                )
            else:
                labels = decoder_output.long()
                scores = [0.0] * batch
        labels = labels.cpu()
        hypotheses = []
        for row, (length, score) in enumerate(zip(lengths.tolist(), scores)):
            hypothesis = Hypothesis(score=score, y_sequence=labels[row, :length], length=length)
            if self.preserve_alignments and decoder_output.is_floating_point():
                hypothesis.alignments = (decoder_output[row, :length].detach().cpu(), labels[row, :length])
            hypotheses.append(hypothesis)
        return (hypotheses,)


class AbstractCTCDecoding:
    """Shared CTC decoding: runs the configured search, folds repeats, drops blanks, detokenizes.

    Args:
        decoding_cfg: a ``CTCDecodingConfig``, dict or DictConfig; missing keys take the dataclass defaults.
        blank_id: index of the blank class.
    """

    def __init__(self, decoding_cfg: CTCDecodingConfig | DictConfig | dict | None, blank_id: int) -> None:
        if is_dataclass(decoding_cfg):
            decoding_cfg = asdict(decoding_cfg)
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
        search_cfg = cfg.beam if cfg.strategy in BEAM_STRATEGIES else cfg.greedy
        self.preserve_alignments = bool(
            cfg.preserve_alignments
            if cfg.preserve_alignments is not None
            else search_cfg.get("preserve_alignments")
        )
        self.compute_timestamps = bool(
            cfg.compute_timestamps
            if cfg.compute_timestamps is not None
            else search_cfg.get("compute_timestamps")
        )
        if self.compute_timestamps or cfg.greedy.get("preserve_frame_confidence"):
            raise ValueError(
                "decoding.compute_timestamps and decoding.greedy.preserve_frame_confidence are not supported by "
                "this CTC decoding. Set them to false (or leave them out)."
            )
        if cfg.strategy in BEAM_STRATEGIES:
            self.decoding = BeamCTCInfer(
                blank_id,
                cfg.beam.beam_size,
                search_type=cfg.beam.search_type if cfg.strategy == "beam" else cfg.strategy,
                return_best_hypothesis=cfg.beam.return_best_hypothesis,
                preserve_alignments=self.preserve_alignments,
                beam_alpha=cfg.beam.beam_alpha,
                beam_beta=cfg.beam.beam_beta,
                kenlm_path=cfg.beam.kenlm_path,
                flashlight_cfg=cfg.beam.get("flashlight_cfg"),
                pyctcdecode_cfg=cfg.beam.get("pyctcdecode_cfg"),
            )
        else:
            self.decoding = GreedyCTCInfer(blank_id, preserve_alignments=self.preserve_alignments)

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
            return_hypotheses: return Hypothesis objects (with ``text``) instead of strings.

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
        return decoded_results(
            hypotheses, lambda batch: self.decode_hypothesis(batch, fold_consecutive), return_hypotheses
        )

    def decode_hypothesis(
        self, hypotheses_list: list[Hypothesis], fold_consecutive: bool
    ) -> list[Hypothesis]:
        """Fold repeats (optionally), drop blanks and set ``text`` on each hypothesis, in place.

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
            if fold_consecutive:
                labels = torch.unique_consecutive(labels)
            tokens = labels[labels != self.blank_id].tolist()
            hypothesis.text = _SPACE_BEFORE_PUNCTUATION.sub(r"\2", self.decode_tokens_to_str(tokens))
        return hypotheses_list

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

    def decode_tokens_to_str(self, tokens: list[int]) -> str:
        return self.tokenizer.ids_to_text([int(t) for t in tokens if t != self.blank_id])

    def decode_ids_to_tokens(self, tokens: list[int]) -> list[str]:
        return self.tokenizer.ids_to_tokens([int(t) for t in tokens if t != self.blank_id])
