"""``GPTQADataset``: generative QA features for GPT models (only the loss-mask helper is built so far)."""

from __future__ import annotations

from typing import Any

from nemo.collections.nlp.data.question_answering.dataset.qa_dataset import QADataset

__all__ = ["GPTQADataset"]

IGNORE_INDEX = -100


class GPTQADataset(QADataset):
    """Generative QA on GPT: ``context: ... question: ... answer: ...`` prompts.

    Building features from a file is not implemented yet; :meth:`update_labels_for_no_pad_loss` is.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "GPTQADataset cannot build features yet (only GPTQADataset.update_labels_for_no_pad_loss exists). "
            "Use NeMo 1.23 for GPT question answering."
        )

    @classmethod
    def update_labels_for_no_pad_loss(cls, input_ids, training_mask_end: int, input_attn_mask):
        """Labels for the causal-LM loss: the input ids, with the prompt and the padding set to -100.

        GPT pads with its end-of-text token, so padding is found from the attention mask, not the ids.

        Args:
            input_ids: token ids, shape ``(T,)`` (or with extra size-1 dimensions, which are squeezed).
            training_mask_end: positions ``< training_mask_end`` (the prompt) get no loss.
            input_attn_mask: shape ``(T,)``, 0 at padding.

        Returns:
            Labels, shape ``(T,)``, dtype of ``input_ids``.
        """
        import torch

        ids = torch.squeeze(torch.as_tensor(input_ids))
        attended = torch.squeeze(torch.as_tensor(input_attn_mask)) != 0
        keep = attended & (torch.arange(ids.shape[0], device=ids.device) >= training_mask_end)
        return torch.where(keep, ids, torch.full_like(ids, IGNORE_INDEX))
