"""RNN-T prediction network (:class:`RNNTDecoder`) and joint network (:class:`RNNTJoint`).

Built from NeMo 1.23 YAML (``decoder.prednet``, ``joint.jointnet``) with NeMo's state-dict keys:
``prediction.embed.weight``, ``prediction.dec_rnn.lstm.{weight,bias}_{ih,hh}_l<k>``,
``enc.*``, ``pred.*`` and ``joint_net.<i>.*``.

Shapes: ``B`` batch, ``T`` encoder frames, ``U`` target tokens, ``H`` hidden size, ``V`` vocabulary
without blank (blank is index ``V``), ``L`` LSTM layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    ElementType,
    EmbeddedTextType,
    LabelsType,
    LengthsType,
    LogprobsType,
    LossType,
    NeuralType,
)
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf

__all__ = ["LSTMDropout", "RNNTDecoder", "RNNTJoint"]

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""``(h, c)``, each ``(L, B, H)``."""

_JOINT_ACTIVATIONS = {
    "relu": lambda: torch.nn.ReLU(inplace=True),
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
}


def _as_dict(cfg: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


def _require(cfg: Mapping[str, Any], keys: Sequence[str], where: str) -> None:
    missing = [key for key in keys if key not in cfg]
    if missing:
        raise ValueError(f"`{where}` lacks required keys {missing}; add them to the model config.")


class LSTMDropout(torch.nn.Module):
    """Multi-layer LSTM (time-major) followed by dropout, with NeMo's bias initialisation.

    Args:
        input_size: input features.
        hidden_size: hidden units ``H``.
        num_layers: layers ``L``.
        dropout: dropout between layers and on the output.
        forget_gate_bias: initial input-hidden forget-gate bias (None keeps torch's init).
        t_max: if set, chrono initialisation of the gate biases for this horizon.
        weights_init_scale: multiplies every weight and bias after initialisation.
        hidden_hidden_bias_scale: multiplies the hidden-hidden forget-gate bias.
        proj_size: LSTM projection size (0: none).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        forget_gate_bias: float | None,
        t_max: int | None = None,
        weights_init_scale: float = 1.0,
        hidden_hidden_bias_scale: float = 0.0,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            proj_size=proj_size,
        )
        with torch.no_grad():
            for name, param in self.lstm.named_parameters():
                if "bias" not in name:
                    continue
                gates = param.view(4, hidden_size)
                if t_max is not None:
                    gates.zero_()
                    torch.nn.init.uniform_(gates[1], 1, t_max - 1).log_()
                    gates[0].copy_(-gates[1])
                elif forget_gate_bias is not None:
                    if "bias_ih" in name:
                        gates[1].fill_(forget_gate_bias)
                    else:
                        gates[1].mul_(float(hidden_hidden_bias_scale))
            if weights_init_scale != 1.0:
                for param in self.parameters():
                    param.mul_(float(weights_init_scale))
        self.dropout = torch.nn.Dropout(dropout) if dropout else None

    def forward(self, x: torch.Tensor, h: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """Run the LSTM over ``x`` ``(U, B, H_in)``; returns ``(U, B, H)`` and the final state."""
        x, h = self.lstm(x, h)
        if self.dropout is not None:
            x = self.dropout(x)
        return x, h


class RNNTDecoder(NeuralModule):
    """Stateful LSTM prediction network of an RNN-T model.

    Args:
        prednet: ``pred_hidden`` (H) and ``pred_rnn_layers`` (L), optionally ``forget_gate_bias``
            (1.0), ``t_max`` (None), ``weights_init_scale`` (1.0), ``hidden_hidden_bias_scale``
            (0.0), ``dropout`` (0.0), ``rnn_hidden_size`` (-1: same as ``pred_hidden``).
        vocab_size: vocabulary size ``V`` without blank; blank is index ``V``.
        normalization_mode: only None (plain LSTM) is supported.
        random_state_sampling: in training, start from a random normal state instead of zeros.
        blank_as_pad: the embedding has ``V + 1`` rows and blank embeds to zeros.
    """

    @property
    def input_types(self) -> dict[str, Any]:
        """``targets`` (B, U), ``target_length`` (B,), optional ``states``."""
        return {
            "targets": NeuralType(("B", "T"), LabelsType()),
            "target_length": NeuralType(tuple("B"), LengthsType()),
            "states": [NeuralType(("D", "B", "D"), ElementType(), optional=True)],
        }

    @property
    def output_types(self) -> dict[str, Any]:
        """``outputs`` (B, H, U+1), ``prednet_lengths`` (B,), ``states``."""
        return {
            "outputs": NeuralType(("B", "D", "T"), EmbeddedTextType()),
            "prednet_lengths": NeuralType(tuple("B"), LengthsType()),
            "states": [NeuralType(("D", "B", "D"), ElementType(), optional=True)],
        }

    def __init__(
        self,
        prednet: Mapping[str, Any],
        vocab_size: int,
        normalization_mode: str | None = None,
        random_state_sampling: bool = False,
        blank_as_pad: bool = True,
    ) -> None:
        super().__init__()
        prednet = _as_dict(prednet)
        _require(prednet, ("pred_hidden", "pred_rnn_layers"), "decoder.prednet")
        if normalization_mode is not None:
            raise ValueError(
                f"decoder.normalization_mode={normalization_mode!r} (batch/layer-normalised LSTM) is not "
                "supported; only null (a plain LSTM) is. Set `decoder.normalization_mode: null`."
            )
        self.pred_hidden = prednet["pred_hidden"]
        self.pred_rnn_layers = prednet["pred_rnn_layers"]
        self.vocab_size = vocab_size
        self.blank_idx = vocab_size
        self.blank_as_pad = blank_as_pad
        self.random_state_sampling = random_state_sampling
        self._rnnt_export = False

        if blank_as_pad:
            embed = torch.nn.Embedding(vocab_size + 1, self.pred_hidden, padding_idx=self.blank_idx)
        else:
            embed = torch.nn.Embedding(vocab_size, self.pred_hidden)
        rnn_hidden_size = prednet.get("rnn_hidden_size", -1)
        self.prediction = torch.nn.ModuleDict(
            {
                "embed": embed,
                "dec_rnn": LSTMDropout(
                    input_size=self.pred_hidden,
                    hidden_size=rnn_hidden_size if rnn_hidden_size > 0 else self.pred_hidden,
                    num_layers=self.pred_rnn_layers,
                    dropout=prednet.get("dropout", 0.0),
                    forget_gate_bias=prednet.get("forget_gate_bias", 1.0),
                    t_max=prednet.get("t_max", None),
                    weights_init_scale=prednet.get("weights_init_scale", 1.0),
                    hidden_hidden_bias_scale=prednet.get("hidden_hidden_bias_scale", 0.0),
                    proj_size=self.pred_hidden if self.pred_hidden < rnn_hidden_size else 0,
                ),
            }
        )

    @typecheck()
    def forward(
        self, targets: torch.Tensor, target_length: torch.Tensor, states: LSTMState | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        """Run the prediction network over whole target sequences, with a start-of-sequence step.

        Args:
            targets: token ids ``(B, U)``.
            target_length: tokens per item ``(B,)``; returned unchanged.
            states: initial ``(h, c)``, each ``(L, B, H)``; zeros when None.

        Returns:
            ``(outputs, prednet_lengths, states)``: ``(B, H, U+1)``, ``(B,)`` and the final state.
        """
        g, states = self.predict(targets, state=states, add_sos=not self._rnnt_export)
        return g.transpose(1, 2), target_length, states

    def predict(
        self,
        y: torch.Tensor | None = None,
        state: LSTMState | None = None,
        add_sos: bool = True,
        batch_size: int | None = None,
    ) -> tuple[torch.Tensor, LSTMState]:
        """One or more prediction-network steps (used step by step by greedy decoding).

        Args:
            y: token ids ``(B, U)``; None feeds one zero (blank / start) embedding per item.
            state: ``(h, c)``, each ``(L, B, H)``; zeros when None.
            add_sos: prepend a zero (start-of-sequence) embedding.
            batch_size: batch size when ``y`` and ``state`` are both None.

        Returns:
            ``(g, state)``: outputs ``(B, U (+1 with add_sos), H)`` and the new state.
        """
        param = next(self.parameters())
        if y is not None:
            embedded = self.prediction["embed"](y.to(param.device))
        else:
            if batch_size is None:
                batch_size = 1 if state is None else state[0].size(1)
            embedded = torch.zeros((batch_size, 1, self.pred_hidden), device=param.device, dtype=param.dtype)
        if add_sos:
            embedded = torch.nn.functional.pad(embedded, (0, 0, 1, 0))
        if state is None and self.random_state_sampling and self.training:
            state = self.initialize_state(embedded)
        g, state = self.prediction["dec_rnn"](embedded.transpose(0, 1), state)
        return g.transpose(0, 1), state

    def initialize_state(self, y: torch.Tensor) -> list[torch.Tensor]:
        """Initial ``[h, c]``, each ``(L, B, H)``, with ``B = y.size(0)`` and ``y``'s dtype/device.

        Random normal in training with ``random_state_sampling``, zeros otherwise.
        """
        shape = (self.pred_rnn_layers, y.size(0), self.pred_hidden)
        make = torch.randn if self.random_state_sampling and self.training else torch.zeros
        return [make(shape, dtype=y.dtype, device=y.device), make(shape, dtype=y.dtype, device=y.device)]

    def batch_select_state(
        self, batch_states: Sequence[torch.Tensor] | None, idx: int
    ) -> list[list[torch.Tensor]] | None:
        """State of item ``idx``: for each of ``(h, c)`` a list of ``L`` tensors ``(H,)``."""
        if batch_states is None:
            return None
        return [list(state[:, idx].unbind(0)) for state in batch_states]

    def batch_concat_states(
        self, batch_states: Sequence[Sequence[Sequence[torch.Tensor]]]
    ) -> list[torch.Tensor]:
        """Pack per-item states (``B`` x ``(h, c)`` x ``L`` x ``(H,)``) into ``[h, c]``, each ``(L, B, H)``."""
        return [
            torch.stack([torch.stack(list(item[state_id])) for item in batch_states], dim=1)
            for state_id in range(len(batch_states[0]))
        ]

    def batch_copy_states(
        self,
        old_states: list[torch.Tensor],
        new_states: Sequence[torch.Tensor],
        ids: Sequence[int] | torch.Tensor,
        value: float | None = None,
    ) -> list[torch.Tensor]:
        """In place, for batch items ``ids``: copy ``new_states`` into ``old_states``, or scale them by ``value``."""
        for old, new in zip(old_states, new_states):
            if value is None:
                old[:, ids, :] = new[:, ids, :]
            else:
                old[:, ids, :] *= value
        return old_states

    @classmethod
    def mask_select_states(cls, states: Sequence[torch.Tensor], mask: torch.Tensor) -> LSTMState:
        """States of the items where ``mask`` ``(B,)`` is True: ``(h, c)``, each ``(L, B', H)``."""
        return states[0][:, mask], states[1][:, mask]

    @classmethod
    def batch_replace_states_mask(
        cls, src_states: Sequence[torch.Tensor], dst_states: Sequence[torch.Tensor], mask: torch.Tensor
    ) -> None:
        """In place: ``dst[:, b] = src[:, b]`` where ``mask[b]``, without a host sync."""
        keep = mask.view(1, -1, 1)
        for src, dst in zip(src_states, dst_states):
            torch.where(keep, src.to(dst.dtype), dst, out=dst)

    @classmethod
    def batch_replace_states_all(
        cls, src_states: Sequence[torch.Tensor], dst_states: Sequence[torch.Tensor]
    ) -> None:
        """In place: copy every state tensor of ``src_states`` into ``dst_states``."""
        for src, dst in zip(src_states, dst_states):
            dst.copy_(src)


class RNNTJoint(NeuralModule):
    """Joint network: ``joint_net(act(enc(f)[:, :, None] + pred(g)[:, None]))`` -> ``(B, T, U+1, V+1)``.

    Args:
        jointnet: ``encoder_hidden``, ``pred_hidden``, ``joint_hidden``, ``activation``
            (``relu``/``sigmoid``/``tanh``), optionally ``dropout``.
        num_classes: vocabulary size ``V`` without blank.
        num_extra_outputs: extra outputs after blank (e.g. durations).
        vocabulary: the labels.
        log_softmax: apply log-softmax to the output; None applies it only on CPU (the CUDA
            losses do it themselves).
        preserve_memory: empty the CUDA cache after each joint.
        fuse_loss_wer: compute loss (and WER) inside ``forward`` over sub-batches of
            ``fused_batch_size``; needs ``set_loss`` / ``set_wer``.
        fused_batch_size: sub-batch size for the fused path.
        experimental_fuse_loss_wer: deprecated alias of ``fuse_loss_wer``.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``encoder_outputs`` (B, D, T), ``decoder_outputs`` (B, D, U+1), fused-path extras."""
        return {
            "encoder_outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "decoder_outputs": NeuralType(("B", "D", "T"), EmbeddedTextType()),
            "encoder_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
            "transcripts": NeuralType(("B", "T"), LabelsType(), optional=True),
            "transcript_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
            "compute_wer": NeuralType(optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``outputs`` (B, T, U+1, V+1), or ``loss``, ``wer``, ``wer_numer``, ``wer_denom`` when fused."""
        if not self._fuse_loss_wer:
            return {"outputs": NeuralType(("B", "T", "T", "D"), LogprobsType())}
        return {
            "loss": NeuralType(elements_type=LossType(), optional=True),
            "wer": NeuralType(elements_type=ElementType(), optional=True),
            "wer_numer": NeuralType(elements_type=ElementType(), optional=True),
            "wer_denom": NeuralType(elements_type=ElementType(), optional=True),
        }

    def __init__(
        self,
        jointnet: Mapping[str, Any],
        num_classes: int,
        num_extra_outputs: int = 0,
        vocabulary: Sequence[str] | None = None,
        log_softmax: bool | None = None,
        preserve_memory: bool = False,
        fuse_loss_wer: bool = False,
        fused_batch_size: int | None = None,
        experimental_fuse_loss_wer: Any = None,
    ) -> None:
        super().__init__()
        joint = _as_dict(jointnet)
        _require(joint, ("encoder_hidden", "pred_hidden", "joint_hidden", "activation"), "joint.jointnet")
        self.vocabulary = vocabulary
        self._vocab_size = num_classes
        self._num_extra_outputs = num_extra_outputs
        self._num_classes = num_classes + 1 + num_extra_outputs
        if experimental_fuse_loss_wer is not None:
            fuse_loss_wer = experimental_fuse_loss_wer
        if fuse_loss_wer and fused_batch_size is None:
            raise ValueError(
                "joint.fuse_loss_wer is true but joint.fused_batch_size is null; set `fused_batch_size` "
                "(e.g. 4) or `fuse_loss_wer: false`."
            )
        self._fuse_loss_wer = fuse_loss_wer
        self._fused_batch_size = fused_batch_size
        self._loss: torch.nn.Module | None = None
        self._wer: Any = None
        self.log_softmax = log_softmax
        self.preserve_memory = preserve_memory
        if preserve_memory:
            logging.warning(
                "joint.preserve_memory is set: the CUDA cache is emptied after every joint, which slows "
                "training a lot and may not avoid running out of memory."
            )
        self.encoder_hidden = joint["encoder_hidden"]
        self.pred_hidden = joint["pred_hidden"]
        self.joint_hidden = joint["joint_hidden"]
        self.activation = joint["activation"]
        if self.activation not in _JOINT_ACTIVATIONS:
            raise ValueError(
                f"Unsupported joint.jointnet.activation={self.activation!r}; expected one of "
                f"{sorted(_JOINT_ACTIVATIONS)}. Fix it in the model config."
            )
        dropout = joint.get("dropout", 0.0)
        self.pred = torch.nn.Linear(self.pred_hidden, self.joint_hidden)
        self.enc = torch.nn.Linear(self.encoder_hidden, self.joint_hidden)
        layers = [_JOINT_ACTIVATIONS[self.activation]()]
        if dropout:
            layers.append(torch.nn.Dropout(p=dropout))
        layers.append(torch.nn.Linear(self.joint_hidden, self._num_classes))
        self.joint_net = torch.nn.Sequential(*layers)
        self._rnnt_export = False
        self.temperature = 1.0

    @typecheck()
    def forward(
        self,
        encoder_outputs: torch.Tensor,
        decoder_outputs: torch.Tensor | None,
        encoder_lengths: torch.Tensor | None = None,
        transcripts: torch.Tensor | None = None,
        transcript_lengths: torch.Tensor | None = None,
        compute_wer: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor | None, ...]:
        """Joint of every encoder frame with every prediction step.

        Args:
            encoder_outputs: ``(B, D_enc, T)``.
            decoder_outputs: ``(B, D_pred, U+1)``; may be None on the fused path (WER only).
            encoder_lengths: ``(B,)``, fused path only.
            transcripts: ``(B, U)``, fused path only.
            transcript_lengths: ``(B,)``, fused path only.
            compute_wer: fused path: also update and compute the WER metric.

        Returns:
            ``(B, T, U+1, V+1)`` log-probabilities (see ``log_softmax``), or on the fused path
            ``(loss, wer, wer_numer, wer_denom)``.
        """
        encoder_outputs = encoder_outputs.transpose(1, 2)
        if decoder_outputs is not None:
            decoder_outputs = decoder_outputs.transpose(1, 2)
        if not self._fuse_loss_wer:
            if decoder_outputs is None:
                raise ValueError(
                    "RNNTJoint got decoder_outputs=None but fuse_loss_wer is false; decoder_outputs may be "
                    "None only on the fused loss/WER path."
                )
            return self.joint(encoder_outputs, decoder_outputs)
        return self._fused_loss_wer(
            encoder_outputs, decoder_outputs, encoder_lengths, transcripts, transcript_lengths, compute_wer
        )

    def _fused_loss_wer(
        self,
        encoder_outputs: torch.Tensor,
        decoder_outputs: torch.Tensor | None,
        encoder_lengths: torch.Tensor | None,
        transcripts: torch.Tensor | None,
        transcript_lengths: torch.Tensor | None,
        compute_wer: bool,
    ) -> tuple[torch.Tensor | None, ...]:
        """Loss and WER over sub-batches, each trimmed to its own longest item (bounds joint memory)."""
        if decoder_outputs is not None and self._loss is None:
            raise ValueError(
                "RNNTJoint.fuse_loss_wer is set but no loss module was given; call `joint.set_loss(loss)` "
                "(an RNNTLoss) before forward()."
            )
        if compute_wer and self._wer is None:
            raise ValueError(
                "RNNTJoint.forward(compute_wer=True) on the fused path needs a WER metric; call "
                "`joint.set_wer(wer)` first."
            )
        if encoder_lengths is None or transcripts is None or transcript_lengths is None:
            raise ValueError(
                "RNNTJoint.fuse_loss_wer is set, so forward() needs encoder_lengths, transcripts and "
                "transcript_lengths; pass all three."
            )
        losses: list[torch.Tensor] | None = []
        target_lengths = []
        batch_size = encoder_outputs.size(0)
        for begin in range(0, batch_size, self._fused_batch_size):
            length = min(self._fused_batch_size, batch_size - begin)
            sub_enc = encoder_outputs.narrow(0, begin, length)
            sub_transcripts = transcripts.narrow(0, begin, length)
            sub_enc_lens = encoder_lengths.narrow(0, begin, length)
            sub_transcript_lens = transcript_lengths.narrow(0, begin, length)
            max_enc = int(sub_enc_lens.max())
            max_transcript = int(sub_transcript_lens.max())
            if decoder_outputs is not None:
                sub_enc = sub_enc.narrow(1, 0, max_enc)
                sub_dec = decoder_outputs.narrow(0, begin, length).narrow(1, 0, max_transcript + 1)
                sub_transcripts = sub_transcripts.narrow(1, 0, max_transcript)
                reduction = self._loss.reduction
                self._loss.reduction = None
                try:
                    losses.append(
                        self._loss(
                            log_probs=self.joint(sub_enc, sub_dec),
                            targets=sub_transcripts,
                            input_lengths=sub_enc_lens,
                            target_lengths=sub_transcript_lens,
                        )
                    )
                finally:
                    self._loss.reduction = reduction
                target_lengths.append(sub_transcript_lens)
            else:
                losses = None
            if compute_wer:
                self._wer.update(
                    predictions=sub_enc.transpose(1, 2).detach(),
                    predictions_lengths=sub_enc_lens,
                    targets=sub_transcripts.detach(),
                    targets_lengths=sub_transcript_lens,
                )
        loss = self._loss.reduce(losses, target_lengths) if losses is not None else None
        if not compute_wer:
            return loss, None, None, None
        wer, wer_numer, wer_denom = self._wer.compute()
        self._wer.reset()
        return loss, wer, wer_numer, wer_denom

    def joint(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Project and join encoder and prediction outputs.

        Args:
            f: encoder outputs ``(B, T, D_enc)``.
            g: prediction-network outputs ``(B, U+1, D_pred)``.

        Returns:
            ``(B, T, U+1, V+1)``.
        """
        return self.joint_after_projection(self.project_encoder(f), self.project_prednet(g))

    def project_encoder(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """``(B, T, D_enc)`` -> ``(B, T, joint_hidden)``."""
        return self.enc(encoder_output)

    def project_prednet(self, prednet_output: torch.Tensor) -> torch.Tensor:
        """``(B, U+1, D_pred)`` -> ``(B, U+1, joint_hidden)``."""
        return self.pred(prednet_output)

    def joint_after_projection(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Join projected ``f`` ``(B, T, H)`` and ``g`` ``(B, U+1, H)`` into ``(B, T, U+1, V+1)``."""
        res = self.joint_net(f.unsqueeze(2) + g.unsqueeze(1))
        if self.preserve_memory and torch.cuda.is_available():
            torch.cuda.empty_cache()
        apply_log_softmax = not res.is_cuda if self.log_softmax is None else self.log_softmax
        if not apply_log_softmax:
            return res
        if self.temperature != 1.0:
            res = res / self.temperature
        return res.log_softmax(dim=-1)

    @property
    def num_classes_with_blank(self) -> int:
        """Output size ``V + 1 + num_extra_outputs``."""
        return self._num_classes

    @property
    def num_extra_outputs(self) -> int:
        """Outputs after blank (0 for plain RNN-T)."""
        return self._num_extra_outputs

    @property
    def loss(self) -> torch.nn.Module | None:
        """Loss used on the fused path."""
        return self._loss

    def set_loss(self, loss: torch.nn.Module) -> None:
        """Set the fused-path loss (an ``RNNTLoss``).

        Raises:
            ValueError: ``fuse_loss_wer`` is not set.
        """
        if not self._fuse_loss_wer:
            raise ValueError(
                "RNNTJoint.set_loss() needs fuse_loss_wer=True; set `joint.fuse_loss_wer: true`."
            )
        self._loss = loss

    @property
    def wer(self) -> Any:
        """WER metric used on the fused path."""
        return self._wer

    def set_wer(self, wer: Any) -> None:
        """Set the fused-path WER metric (``update``/``compute``/``reset``).

        Raises:
            ValueError: ``fuse_loss_wer`` is not set.
        """
        if not self._fuse_loss_wer:
            raise ValueError("RNNTJoint.set_wer() needs fuse_loss_wer=True; set `joint.fuse_loss_wer: true`.")
        self._wer = wer

    @property
    def fuse_loss_wer(self) -> bool:
        """Whether ``forward`` computes loss and WER itself."""
        return self._fuse_loss_wer

    def set_fuse_loss_wer(
        self, fuse_loss_wer: bool, loss: torch.nn.Module | None = None, metric: Any = None
    ) -> None:
        """Switch the fused path on or off, with its loss and WER metric."""
        self._fuse_loss_wer = fuse_loss_wer
        self._loss = loss
        self._wer = metric

    @property
    def fused_batch_size(self) -> int | None:
        """Sub-batch size of the fused path."""
        return self._fused_batch_size

    def set_fused_batch_size(self, fused_batch_size: int | None) -> None:
        """Set the sub-batch size of the fused path."""
        self._fused_batch_size = fused_batch_size
