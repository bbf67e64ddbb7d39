"""CTC beam search decoding: :class:`BeamCTCInfer`, with NeMo 1.23's import path and config dataclasses.

Config (``decoding.beam``, NeMo 1.23's keys; defaults from :class:`BeamCTCInferConfig`)::

    beam_size: 4
    search_type: default        # default | pyctcdecode (both: the fused search) | flashlight (lexicon search)
    return_best_hypothesis: true
    kenlm_path: null            # an ARPA word n-gram file (.arpa or .arpa.gz): enables shallow fusion
    beam_alpha: 1.0             # LM weight
    beam_beta: 0.0              # bonus per word
    pyctcdecode_cfg: {beam_prune_logp: -10.0, token_min_logp: -5.0, unk_score_offset: -10.0}
    flashlight_cfg: {lexicon_path: null, boost_path: null, beam_size_token: 16, beam_threshold: 20.0,
                     unk_weight: -inf, sil_weight: 0.0}

Which module does what:

- :mod:`~nemo.collections.asr.parts.submodules.ctc_beam_config`: the dataclasses (re-exported here) and the
  parsing and validation of these keys;
- :mod:`~nemo.collections.asr.parts.submodules.ctc_prefix_search`: the searches over one utterance. Without
  ``kenlm_path``, ``ctc_prefix_beam_search`` (acoustic scores alone); with it, ``ctc_prefix_beam_search_with_lm``;
  with ``search_type: flashlight`` (needs ``kenlm_path`` and ``flashlight_cfg.lexicon_path``),
  ``ctc_lexicon_beam_search``;
- :mod:`~nemo.collections.asr.parts.lm.word_lm_fusion` and :mod:`~nemo.collections.asr.parts.lm.lexicon_lm_fusion`:
  what the LM (and the lexicon) add to each prefix's score, pyctcdecode's and flashlight's scoring;
- this module: reads the LM and the lexicon (each file once while it is unchanged, however often the decoding
  is rebuilt, e.g. once per point of a ``beam_alpha`` x ``beam_beta`` search), builds the scoring for the
  model's tokens, and searches each utterance of a batch.

``search_type: pyctcdecode`` runs the built-in search, not the pyctcdecode library; the setup logs one warning
saying so and how each key maps onto it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from nemo.collections.asr.parts.lm.lexicon import LexiconEntry, read_lexicon, spell_with_token_ids
from nemo.collections.asr.parts.lm.lexicon_lm_fusion import LexiconWordLMFusion, lexicon_token_roles
from nemo.collections.asr.parts.lm.ngram_lm import NGramLanguageModel
from nemo.collections.asr.parts.lm.word_lm_fusion import DECODING_TYPES, WordLMFusion, token_word_parts
from nemo.collections.asr.parts.submodules.ctc_beam_config import (
    BeamCTCInferConfig,
    FlashlightConfig,
    PyCTCDecodeConfig,
    check_flashlight_setup,
    check_search_options,
    flashlight_options,
    pyctcdecode_options,
    pyctcdecode_substitution_message,
)
from nemo.collections.asr.parts.submodules.ctc_prefix_search import (
    ctc_lexicon_beam_search,
    ctc_prefix_beam_search,
    ctc_prefix_beam_search_with_lm,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from nemo.utils import logging

__all__ = ["BeamCTCInfer", "BeamCTCInferConfig", "FlashlightConfig", "PyCTCDecodeConfig"]


class BeamCTCInfer:
    """Prefix beam search over each utterance of a batch, with optional word n-gram LM fusion.

    The ARPA file at ``kenlm_path`` (and, for ``search_type="flashlight"``, the lexicon) is read here, or taken
    from an earlier ``BeamCTCInfer`` that read the same, unchanged file (the parsed LM and lexicon are never
    modified, so instances share them); the decoding classes then call :meth:`set_vocabulary` and :meth:`set_decoding_type` so that tokens can be
    spelled into words.

    Args:
        blank_id: index of the blank class.
        beam_size: prefixes kept per step.
        search_type: ``"default"`` or ``"pyctcdecode"`` (the same search here; ``"pyctcdecode"`` logs a warning
            saying so), or ``"flashlight"`` (the lexicon search; needs ``kenlm_path`` and
            ``flashlight_cfg.lexicon_path``).
        return_best_hypothesis: one Hypothesis per utterance; ``False`` gives an NBestHypotheses each.
        preserve_alignments: not supported by the beam search (must be False).
        compute_timestamps: not supported by the beam search (must be False).
        beam_alpha: LM weight (used with ``kenlm_path``).
        beam_beta: score per word (used with ``kenlm_path``).
        kenlm_path: an ARPA word n-gram file (.arpa or .arpa.gz); ``None`` searches without a LM.
        flashlight_cfg: lexicon search options, see :class:`FlashlightConfig` (dict, DictConfig or dataclass).
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
        flashlight_cfg: Any = None,
        pyctcdecode_cfg: Any = None,
    ) -> None:
        check_search_options(beam_size, search_type, preserve_alignments, compute_timestamps)
        self.blank_id = blank_id
        self.beam_size = beam_size
        self.search_type = search_type
        self.return_best_hypothesis = return_best_hypothesis
        self.beam_alpha = float(beam_alpha)
        self.beam_beta = float(beam_beta)
        self.kenlm_path = kenlm_path
        self.flashlight_cfg = flashlight_options(flashlight_cfg)
        self.pyctcdecode_cfg = pyctcdecode_options(pyctcdecode_cfg)
        self.lexicon: list[LexiconEntry] | None = None
        if search_type == "flashlight":
            check_flashlight_setup(self.flashlight_cfg, kenlm_path)
            self.lexicon = _read_unchanged_file(read_lexicon, self.flashlight_cfg.lexicon_path)
        self.language_model = _load_language_model(kenlm_path) if kenlm_path else None
        self.vocab: list[str] | None = None
        self.decoding_type: str | None = None
        self._fusion: WordLMFusion | LexiconWordLMFusion | None = None
        if search_type == "pyctcdecode":
            logging.warning(
                pyctcdecode_substitution_message(
                    beam_size, self.beam_alpha, self.beam_beta, kenlm_path, self.pyctcdecode_cfg
                )
            )

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
            the token ids and ``score`` their log-probability (with a LM: the fused score). The lexicon search
            also sets ``text`` to the words (``""`` for an utterance where no lexicon word fits).
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
            n_best = self._search(utterance[: int(length)], fusion)
            results.append(n_best[0] if self.return_best_hypothesis else NBestHypotheses(n_best))
        return (results,)

    def _search(
        self, log_probs: torch.Tensor, fusion: WordLMFusion | LexiconWordLMFusion | None
    ) -> list[Hypothesis]:
        """The n-best hypotheses of one utterance's (T, V) ``log_probs``."""
        if isinstance(fusion, LexiconWordLMFusion):
            beams = ctc_lexicon_beam_search(
                log_probs,
                self.blank_id,
                self.beam_size,
                fusion,
                beam_size_token=self.flashlight_cfg.beam_size_token,
                beam_threshold=self.flashlight_cfg.beam_threshold,
                token_min_logp=self.pyctcdecode_cfg.token_min_logp,
            )
            return [
                Hypothesis(
                    score=score, y_sequence=torch.tensor(tokens, dtype=torch.long), text=" ".join(words)
                )
                for tokens, score, words in beams
            ] or [Hypothesis(score=float("-inf"), y_sequence=torch.zeros(0, dtype=torch.long), text="")]
        if fusion is None:
            beams = ctc_prefix_beam_search(log_probs, self.blank_id, self.beam_size)
        else:
            beams = ctc_prefix_beam_search_with_lm(
                log_probs,
                self.blank_id,
                self.beam_size,
                fusion,
                token_min_logp=self.pyctcdecode_cfg.token_min_logp,
                beam_prune_logp=self.pyctcdecode_cfg.beam_prune_logp,
            )
        return [
            Hypothesis(score=score, y_sequence=torch.tensor(tokens, dtype=torch.long))
            for tokens, score in beams
        ]

    def _word_fusion(self) -> WordLMFusion | LexiconWordLMFusion | None:
        """The LM fusion for the current vocabulary, built on first use; ``None`` without a LM."""
        if self.language_model is None:
            return None
        if self._fusion is None:
            if self.vocab is None or self.decoding_type is None:
                raise RuntimeError(
                    "BeamCTCInfer with kenlm_path needs the token strings: call set_vocabulary(...) and "
                    "set_decoding_type('char' | 'subword') first (CTCDecoding and CTCBPEDecoding do)."
                )
            if self.lexicon is not None:
                self._fusion = LexiconWordLMFusion(
                    self.language_model,
                    spell_with_token_ids(
                        self.lexicon, self.vocab, source=str(self.flashlight_cfg.lexicon_path)
                    ),
                    lexicon_token_roles(self.vocab, self.decoding_type),
                    alpha=self.beam_alpha,
                    beta=self.beam_beta,
                    unk_weight=self.flashlight_cfg.unk_weight,
                    sil_weight=self.flashlight_cfg.sil_weight,
                )
            else:
                self._fusion = WordLMFusion(
                    self.language_model,
                    token_word_parts(self.vocab, self.decoding_type),
                    alpha=self.beam_alpha,
                    beta=self.beam_beta,
                    unk_score_offset=self.pyctcdecode_cfg.unk_score_offset,
                )
        return self._fusion


def _load_language_model(kenlm_path: str) -> NGramLanguageModel:
    """Read the ARPA file named by ``decoding.beam.kenlm_path``."""
    if not Path(kenlm_path).is_file():
        raise FileNotFoundError(
            f"decoding.beam.kenlm_path={kenlm_path!r} does not exist. Pass the path of an ARPA word n-gram file "
            "(.arpa or .arpa.gz), e.g. one written by `nemo asr build-lm MANIFEST --out lm.arpa`."
        )
    return _read_unchanged_file(NGramLanguageModel.from_arpa, kenlm_path)


_Parsed = TypeVar("_Parsed")


def _read_unchanged_file(reader: Callable[[str], _Parsed], path: str | Path) -> _Parsed:
    """``reader(path)``, reused while the file keeps its path, size and modification time.

    Reading a large ARPA file takes seconds; a decoding rebuilt with other weights (``change_decoding_strategy``
    once per grid point) then reuses the parsed model instead of reading it again.
    """
    resolved = Path(path).resolve()
    if not resolved.is_file():
        return reader(str(path))  # the reader reports the missing file in its own words
    stat = resolved.stat()
    return _read_file(reader, str(resolved), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)  # one LM and one lexicon: parsed LMs can take hundreds of MB
def _read_file(reader: Callable[[str], _Parsed], path: str, mtime_ns: int, size: int) -> _Parsed:
    return reader(path)
