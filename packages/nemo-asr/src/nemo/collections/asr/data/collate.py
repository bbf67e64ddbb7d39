"""Batching ASR samples: pad audio to (B, T) and transcripts to (B, U)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

__all__ = ["_speech_collate_fn"]


def _speech_collate_fn(
    batch: Sequence[tuple[torch.Tensor, ...]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | tuple[torch.Tensor, ...]:
    """Pad a list of ``(audio, audio_len, tokens, tokens_len[, sample_id])`` samples into a batch.

    Args:
        batch: samples as the ASR datasets return them: audio (T_i,), tokens (U_i,), lengths and ids
            as 0-d int64 tensors.
        pad_id: value for transcript padding (audio is padded with 0).

    Returns:
        ``(audio (B, T), audio_len (B,), tokens (B, U), tokens_len (B,))``, plus ``sample_id (B,)`` when the
        samples carry one; T and U are the longest in the batch.
    """
    audio, audio_len, tokens, tokens_len, *sample_id = zip(*batch)
    collated = (
        pad_sequence(audio, batch_first=True, padding_value=0.0),
        torch.stack(audio_len),
        pad_sequence(tokens, batch_first=True, padding_value=pad_id),
        torch.stack(tokens_len),
    )
    if sample_id:
        collated += (torch.stack(sample_id[0]),)
    return collated
