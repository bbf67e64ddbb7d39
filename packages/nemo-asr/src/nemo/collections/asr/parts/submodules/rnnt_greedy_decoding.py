"""Greedy RNN-T decoding over a whole batch at once (NeMo's ``greedy_batch`` strategy).

At each encoder frame every utterance may emit up to ``max_symbols_per_step`` tokens. All utterances
advance together: the joint and the prediction network run on the full batch, and a mask keeps the
state of utterances that emitted blank (or are past their length) unchanged.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis


def _select_state(mask: torch.Tensor, new: tuple[torch.Tensor, ...], old: tuple[torch.Tensor, ...]):
    """Per-utterance choice between two LSTM states; states are tuples of (L, B, H)."""
    keep = mask.view(1, -1, 1)
    return tuple(torch.where(keep, n, o) for n, o in zip(new, old))


class GreedyBatchedRNNTInfer:
    """Greedy batch decoding of an RNN-T model.

    Args:
        decoder_model: the prediction network (``RNNTDecoder``), with ``predict`` and ``blank_idx``.
        joint_model: the joint network (``RNNTJoint``), with ``joint(f, g)``.
        blank_index: id of the blank token (the last output).
        max_symbols_per_step: most tokens one frame may emit (NeMo's ``max_symbols``; None means 10).
    """

    def __init__(self, decoder_model, joint_model, blank_index: int, max_symbols_per_step: int | None = 10):
        self.decoder = decoder_model
        self.joint = joint_model
        self.blank_index = blank_index
        self.max_symbols = max_symbols_per_step or 10

    @torch.no_grad()
    def __call__(
        self, encoder_output: torch.Tensor, encoded_lengths: torch.Tensor
    ) -> tuple[list[Hypothesis]]:
        """Decode a batch.

        Args:
            encoder_output: (B, D, T) encoder features (NeMo's layout).
            encoded_lengths: (B,) valid frames.

        Returns:
            A one-item tuple (NeMo's decoders return tuples) holding one Hypothesis per utterance with
            ``y_sequence`` (token ids), ``score`` (sum of the chosen tokens' log-probs), ``timestep`` (frame of
            each token) and ``length`` (number of tokens).
        """
        frames = encoder_output.transpose(1, 2)  # (B, T, D)
        batch_size, max_time, _ = frames.shape
        device = frames.device
        tokens: list[list[int]] = [[] for _ in range(batch_size)]
        timesteps: list[list[int]] = [[] for _ in range(batch_size)]
        scores = torch.zeros(batch_size, device=device)
        last_label = torch.full((batch_size,), self.blank_index, dtype=torch.long, device=device)
        prediction, state = self.decoder.predict(None, None, add_sos=False, batch_size=batch_size)
        for t in range(max_time):
            active = t < encoded_lengths
            if not bool(active.any()):
                break
            frame = frames[:, t : t + 1, :]  # (B, 1, D)
            for _ in range(self.max_symbols):
                logits = self.joint.joint(frame, prediction)[:, 0, 0, :]  # (B, V+1)
                log_probs = logits.log_softmax(dim=-1)
                best_score, best = log_probs.max(dim=-1)
                emits = active & (best != self.blank_index)
                if not bool(emits.any()):
                    break
                scores += torch.where(emits, best_score, torch.zeros_like(best_score))
                for row in emits.nonzero().flatten().tolist():
                    tokens[row].append(int(best[row]))
                    timesteps[row].append(t)
                last_label = torch.where(emits, best, last_label)
                new_prediction, new_state = self.decoder.predict(
                    last_label.unsqueeze(1), state, add_sos=False, batch_size=batch_size
                )
                prediction = torch.where(emits.view(-1, 1, 1), new_prediction, prediction)
                state = _select_state(emits, new_state, state)
        return (
            [
                Hypothesis(
                    score=float(scores[row]),
                    y_sequence=tokens[row],
                    timestep=timesteps[row],
                    length=len(tokens[row]),
                )
                for row in range(batch_size)
            ],
        )
