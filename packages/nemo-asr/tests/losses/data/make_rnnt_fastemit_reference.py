"""Made rnnt_fastemit_nemo123.pt: NeMo 1.23's numba RNN-T loss (warprnnt_numba) with and without FastEmit.

Run with the NeMo 1.23 venv (numba installed): ``/tmp/nemo-ref/bin/python make_rnnt_fastemit_reference.py``.
It stores the inputs and, per lambda, the per-utterance losses (``loss_<lambda>``) and the gradients with
respect to the joint outputs (``grad_<lambda>``).
"""

import torch
from nemo.collections.asr.losses.rnnt import RNNTLoss

torch.manual_seed(0)
BATCH, FRAMES, LABELS, CLASSES = 2, 5, 3, 4  # CLASSES includes blank (the last index)
acts = torch.randn(BATCH, FRAMES, LABELS + 1, CLASSES)
labels = torch.tensor([[1, 2, 0], [2, 0, 0]])
act_lens = torch.tensor([5, 4])
lab_lens = torch.tensor([3, 1])
reference = {"acts": acts, "labels": labels, "act_lens": act_lens, "lab_lens": lab_lens}
for fastemit_lambda in (0.0, 0.5):
    loss_fn = RNNTLoss(
        num_classes=CLASSES - 1,
        reduction=None,
        loss_name="warprnnt_numba",
        loss_kwargs={"fastemit_lambda": fastemit_lambda, "clamp": -1.0},
    )
    inputs = acts.clone().requires_grad_(True)
    losses = loss_fn(log_probs=inputs, targets=labels, input_lengths=act_lens, target_lengths=lab_lens)
    losses.sum().backward()
    reference[f"loss_{fastemit_lambda}"] = losses.detach()
    reference[f"grad_{fastemit_lambda}"] = inputs.grad
torch.save(reference, "rnnt_fastemit_nemo123.pt")
