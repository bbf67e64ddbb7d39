"""Datasets of precomputed features with transcripts (NeMo 1.23's ``FeatureToCharDataset`` / ``FeatureToBPEDataset``).

Manifest lines name a feature file (``feature_file``, ``feature_filepath`` or ``feature_filename``; a (D, T)
log-mel tensor or array read by ``ExternalFeatureLoader``), the transcript (``text``, ``normalized_text`` or
``text_filepath``), ``duration`` and optionally ``offset`` and an RTTM file (``rttm_file`` / ``rttm_filepath``)::

    {"feature_file": "feats/1.pt", "text": "hello", "duration": 2.1, "rttm_file": "rttm/1.rttm"}

Samples are ``(features (D, T), T, tokens (U,), U)`` (plus the sample index with ``return_sample_id``).

With ``use_rttm``, frames outside the RTTM's speech segments (frame ``i`` is at ``offset + i *
frame_unit_time_secs`` seconds) are set to ``feat_mask_val`` (``rttm_mode="mask"``) or removed
(``"drop"``; fewer than ``feat_min_len`` kept frames give ``feat_min_len`` masked frames). Feature
normalization (``normalize_batch``) runs after the RTTM step (``"post_norm"``), before it (``"pre_norm"``), or
not at all (None). Unlike NeMo 1.23, the returned length is that of the returned features also in ``"drop"``
mode (NeMo reports the length before dropping, which its own collate cannot batch).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.data.audio_to_text import _tokenizer_ids
from nemo.collections.asr.data.feature_to_label import (
    FeatureEntry,
    pad_feature_collate,
    read_feature_manifests,
)
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.data.transcripts import TokenizedTranscripts
from nemo.collections.asr.parts.preprocessing.feature_loader import ExternalFeatureLoader
from nemo.collections.asr.parts.preprocessing.features import normalize_batch
from nemo.collections.asr.parts.preprocessing.parsers import make_parser
from nemo.collections.asr.parts.utils.vad_utils import load_speech_segments_from_rttm
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.core.classes import Dataset
from nemo.core.neural_types import AcousticEncodedRepresentation, LabelsType, LengthsType, NeuralType

__all__ = ["FeatureToBPEDataset", "FeatureToCharDataset"]

_NORM_MODES = ("pre_norm", "post_norm")
_RTTM_MODES = ("mask", "drop")


@dataclass(frozen=True)
class _FeatureTranscript:
    """A feature-manifest line with its transcript (the ``text`` / ``where`` pair ``TokenizedTranscripts`` reads)."""

    feature_file: str
    text: str
    offset: float
    rttm_file: str | None
    where: str


def _with_transcript(entry: FeatureEntry) -> _FeatureTranscript:
    item, folder = entry.item, os.path.dirname(entry.where.rsplit(":", 1)[0])
    if "text" in item:
        text = item["text"]
    elif "normalized_text" in item:
        text = item["normalized_text"]
    elif "text_filepath" in item:
        path = (
            item["text_filepath"]
            if os.path.isabs(item["text_filepath"])
            else os.path.join(folder, item["text_filepath"])
        )
        with open(path, encoding="utf-8") as text_file:
            text = text_file.read().strip()
    else:
        text = ""
    if not isinstance(text, str):
        raise ManifestError(f"{entry.where}: 'text' must be a string, got {text!r}.")
    rttm = item.get("rttm_file", item.get("rttm_filepath"))
    if rttm and not os.path.isabs(rttm):
        rttm = os.path.join(folder, rttm)
    return _FeatureTranscript(entry.feature_file, text, float(entry.offset), rttm or None, entry.where)


class _FeatureTextDataset(Dataset):
    """Shared loading of ``FeatureToCharDataset`` and ``FeatureToBPEDataset`` (arguments documented there)."""

    ZERO_LEVEL_SPEC_DB_VAL = -16.635  # log-mel value of a zero signal
    NORM_MODES = list(_NORM_MODES)
    RTTM_MODES = list(_RTTM_MODES)

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``features`` (B, D, T), ``feature_length``, ``transcripts`` (B, U), ``transcript_length``, ``sample_id``."""
        return {
            "features": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "feature_length": NeuralType(tuple("B"), LengthsType()),
            "transcripts": NeuralType(("B", "T"), LabelsType()),
            "transcript_length": NeuralType(tuple("B"), LengthsType()),
            "sample_id": NeuralType(tuple("B"), LengthsType(), optional=True),
        }

    def __init__(
        self,
        manifest_filepath: str | Sequence[str],
        parser: Callable[[str], list[int] | None],
        normalize: str | None,
        normalize_type: str | dict,
        use_rttm: bool,
        rttm_mode: str,
        feat_min_len: int,
        feat_mask_val: float | None,
        frame_unit_time_secs: float,
        sample_rate: int | None,
        augmentor: Any,
        max_duration: float | None,
        min_duration: float | None,
        max_utts: int,
        trim: bool,
        bos_id: int | None,
        eos_id: int | None,
        pad_id: int,
        return_sample_id: bool,
        channel_selector: Any,
    ) -> None:
        super().__init__()
        if normalize is not None and normalize not in _NORM_MODES:
            raise ValueError(
                f"normalize={normalize!r} is not supported: expected None or one of {_NORM_MODES}."
            )
        if use_rttm and rttm_mode not in _RTTM_MODES:
            raise ValueError(f"rttm_mode={rttm_mode!r} is not supported: expected one of {_RTTM_MODES}.")
        if trim:
            raise ValueError(
                "trim=True trims audio silence; feature datasets read no audio. Set trim to false."
            )
        if channel_selector is not None:
            raise ValueError(
                f"channel_selector={channel_selector!r} selects audio channels; feature datasets read no audio. "
                "Set channel_selector to null."
            )
        # Kept for configs shared with audio datasets; features are not resampled.
        self.sample_rate = sample_rate
        self.normalize = normalize
        self.normalize_type = normalize_type
        self.use_rttm = use_rttm
        self.rttm_mode = rttm_mode
        self.feat_min_len = feat_min_len
        if feat_mask_val is None:
            feat_mask_val = 0.0 if normalize == "pre_norm" else self.ZERO_LEVEL_SPEC_DB_VAL
        self.feat_mask_val = feat_mask_val
        self.frame_unit_time_secs = frame_unit_time_secs
        self.pad_id = pad_id
        self.return_sample_id = return_sample_id
        entries = read_feature_manifests(manifest_filepath, None, min_duration, max_duration, max_utts)
        self.transcripts = TokenizedTranscripts(
            [_with_transcript(entry) for entry in entries], parser, bos_id=bos_id, eos_id=eos_id
        )
        self.featurizer = ExternalFeatureLoader(augmentor=augmentor)

    def get_manifest_sample(self, sample_id: int) -> _FeatureTranscript:
        """The manifest line of sample ``sample_id``."""
        return self.transcripts.entries[sample_id]

    def __len__(self) -> int:
        return len(self.transcripts)

    def __getitem__(self, index: int) -> tuple:
        entry = self.transcripts.entries[index]
        features = self.featurizer.process(entry.feature_file)
        apply_rttm = self.use_rttm and entry.rttm_file is not None
        if self.normalize == "pre_norm":
            features = self.normalize_feature(features)
        if apply_rttm:
            features = self.process_features_with_rttm(
                features, entry.offset, entry.rttm_file, self.feat_mask_val
            )
        if self.normalize == "post_norm":
            features = self.normalize_feature(features)
        tokens = self.transcripts.tokens(index)
        sample = (features, torch.tensor(features.shape[1]).long(), tokens, torch.tensor(len(tokens)).long())
        return (*sample, index) if self.return_sample_id else sample

    def process_features_with_rttm(
        self, features: torch.Tensor, offset: float, rttm_file: str, mask_val: float
    ) -> torch.Tensor:
        """Mask (or drop) the (D, T) ``features``' frames outside the RTTM's speech segments."""
        times = offset + torch.arange(features.size(1), dtype=torch.float64) * self.frame_unit_time_secs
        speech = torch.zeros(features.size(1), dtype=torch.bool)
        for start, end in load_speech_segments_from_rttm(rttm_file):
            if end > 0:  # a segment ending at 0 s holds no speech
                speech |= (times >= start) & (times <= end)
        if self.rttm_mode == "mask":
            return features.masked_fill(~speech.unsqueeze(0), mask_val)
        kept = features[:, speech]
        if kept.size(1) < self.feat_min_len:
            return torch.full_like(features[:, : self.feat_min_len], mask_val)
        return kept

    def normalize_feature(self, feat: torch.Tensor) -> torch.Tensor:
        """Normalize one (D, T) feature matrix with ``normalize_type`` (see ``normalize_batch``)."""
        normalized, _, _ = normalize_batch(
            feat.unsqueeze(0), torch.tensor([feat.size(-1)]), self.normalize_type
        )
        return normalized.squeeze(0)

    def _collate_fn(self, batch: list[tuple]) -> tuple:
        """Pad features with ``feat_mask_val`` and tokens with ``pad_id``."""
        return pad_feature_collate(batch, self.feat_mask_val, self.pad_id)


class FeatureToCharDataset(_FeatureTextDataset):
    """Features with character transcripts.

    Args:
        manifest_filepath: manifest path(s), comma-separated or a list.
        labels: the characters, in id order.
        normalize: feature normalization: ``"post_norm"`` (after the RTTM step), ``"pre_norm"`` or None. As in
            NeMo 1.23 it also turns on the parser's text normalization when not None.
        normalize_type: ``normalize_batch``'s type (``"per_feature"``, ``"all_features"``, fixed statistics).
        use_rttm: apply the lines' RTTM files.
        rttm_mode: ``"mask"`` or ``"drop"``.
        feat_min_len: frames kept at least in ``"drop"`` mode.
        feat_mask_val: value of masked (and padded) frames; None: 0 with ``"pre_norm"``, else the log-mel zero
            level -16.635.
        frame_unit_time_secs: seconds per feature frame.
        sample_rate: kept for configs shared with audio datasets (features are not resampled).
        augmentor: object with ``perturb(features)``, see ``ExternalFeatureLoader``.
        max_duration: drop longer lines (manifest ``duration``).
        min_duration: drop shorter lines.
        max_utts: keep at most this many lines (0: all).
        blank_index: parser blank id.
        unk_index: parser unknown-character id.
        trim: must be false (there is no audio to trim).
        bos_id: id put before each transcript, or None.
        eos_id: id put after each transcript, or None.
        pad_id: padding id of the token batches.
        parser: ``"en"`` or ``"base"`` character parser, or a callable.
        return_sample_id: samples also carry their index.
        channel_selector: must be None (there is no audio).
    """

    def __init__(
        self,
        manifest_filepath: str | Sequence[str],
        labels: str | list[str],
        normalize: str | None = "post_norm",
        normalize_type: str | dict = "per_feature",
        use_rttm: bool = False,
        rttm_mode: str = "mask",
        feat_min_len: int = 4,
        feat_mask_val: float | None = None,
        frame_unit_time_secs: float = 0.01,
        sample_rate: int | None = 16000,
        augmentor: Any = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int = 0,
        blank_index: int = -1,
        unk_index: int = -1,
        trim: bool = False,
        bos_id: int | None = None,
        eos_id: int | None = None,
        pad_id: int = 0,
        parser: str | Callable = "en",
        return_sample_id: bool = False,
        channel_selector: Any = None,
    ) -> None:
        self.labels = labels
        if callable(parser):
            text_parser = parser
        else:
            text_parser = make_parser(
                labels=labels,
                name=parser,
                unk_id=unk_index,
                blank_id=blank_index,
                do_normalize=normalize is not None,
            )
        super().__init__(
            manifest_filepath,
            text_parser,
            normalize,
            normalize_type,
            use_rttm,
            rttm_mode,
            feat_min_len,
            feat_mask_val,
            frame_unit_time_secs,
            sample_rate,
            augmentor,
            max_duration,
            min_duration,
            max_utts,
            trim,
            bos_id,
            eos_id,
            pad_id,
            return_sample_id,
            channel_selector,
        )


class FeatureToBPEDataset(_FeatureTextDataset):
    """Features with subword transcripts from ``tokenizer``.

    Args:
        tokenizer: the tokenizer (``text_to_ids``); with ``use_start_end_token`` its positive ``bos_id`` /
            ``eos_id`` wrap each transcript, and a positive ``pad_id`` pads the batches (else 0).
        use_start_end_token: see ``tokenizer``.
        Other arguments: as :class:`FeatureToCharDataset`.
    """

    def __init__(
        self,
        manifest_filepath: str | Sequence[str],
        tokenizer: TokenizerSpec,
        normalize: str | None = "post_norm",
        normalize_type: str | dict = "per_feature",
        use_rttm: bool = False,
        rttm_mode: str = "mask",
        feat_min_len: int = 4,
        feat_mask_val: float | None = None,
        frame_unit_time_secs: float = 0.01,
        sample_rate: int | None = 16000,
        augmentor: Any = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int = 0,
        use_start_end_token: bool = True,
        trim: bool = False,
        return_sample_id: bool = False,
        channel_selector: Any = None,
    ) -> None:
        bos_id, eos_id, pad_id = _tokenizer_ids(tokenizer, use_start_end_token)
        super().__init__(
            manifest_filepath,
            tokenizer.text_to_ids,
            normalize,
            normalize_type,
            use_rttm,
            rttm_mode,
            feat_min_len,
            feat_mask_val,
            frame_unit_time_secs,
            sample_rate,
            augmentor,
            max_duration,
            min_duration,
            max_utts,
            trim,
            bos_id,
            eos_id,
            pad_id,
            return_sample_id,
            channel_selector,
        )
