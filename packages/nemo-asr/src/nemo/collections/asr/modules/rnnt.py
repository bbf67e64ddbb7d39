"""Transducer prediction networks and joints, built from NeMo 1.23 YAML with NeMo's state-dict keys.

- :class:`RNNTDecoder`: LSTM prediction network (``prediction.embed.weight``,
  ``prediction.dec_rnn.lstm.{weight,bias}_{ih,hh}_l<k>``).
- :class:`StatelessTransducerDecoder`: embeddings of the last ``context_size`` tokens
  (``prediction.embeds.<i>.weight``).
- :class:`RNNTJoint`: ``enc.*``, ``pred.*`` and ``joint_net.<i>.*``.
- :class:`HATJoint`: the Hybrid Autoregressive Transducer joint (RNNTJoint's keys plus ``blank_pred.2.*``).
- :class:`SampledRNNTJoint`: RNNTJoint trained with a sampled output vocabulary.

Shapes: ``B`` batch, ``T`` encoder frames, ``U`` target tokens, ``H`` hidden size, ``V`` vocabulary
without blank (blank is index ``V``), ``L`` LSTM layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from nemo.collections.asr.modules.rnnt_abstract import AbstractRNNTDecoder, AbstractRNNTJoint
from nemo.collections.asr.parts.utils.rnnt_utils import HATJointOutput
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

__all__ = [
    "HATJoint",
    "LSTMDropout",
    "RNNTDecoder",
    "RNNTJoint",
    "SampledRNNTJoint",
    "StatelessTransducerDecoder",
]

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


class _HypothesisScoring:
    """Beam-search scoring of hypotheses, shared by the prediction networks here.

    Relies on the network's ``predict``, ``initialize_state``, ``batch_select_state`` and
    ``batch_initialize_states``; results are cached by token sequence.
    """

    def score_hypothesis(self, hypothesis, cache: dict) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Prediction output of a hypothesis' last token.

        A hypothesis ending in blank (the start hypothesis) gets the zero start step and a fresh state; otherwise
        the last token is fed with ``hypothesis.dec_state``.

        Returns:
            ``(y, state, lm_token)``: output (1, 1, H), the new state, and the last token (1,).
        """
        if hypothesis.dec_state is not None:
            device = hypothesis.dec_state[0].device
        else:
            device = next(self.parameters()).device
        last = hypothesis.y_sequence[-1]
        lm_token = torch.full((1,), int(last), dtype=torch.long, device=device)
        key = tuple(int(token) for token in hypothesis.y_sequence)
        if key not in cache:
            if last == self.blank_idx:
                y, state = self.predict(None, state=None, add_sos=False, batch_size=1)
            else:
                y, state = self.predict(
                    lm_token.view(1, 1), state=hypothesis.dec_state, add_sos=False, batch_size=1
                )
            cache[key] = (y[:, -1:, :], state)
        y, state = cache[key]
        return y, state, lm_token

    def batch_score_hypothesis(
        self, hypotheses: list, cache: dict, batch_states: Any
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Prediction outputs of several hypotheses' last tokens (blank included) in one network call.

        Args:
            hypotheses: beam-search hypotheses, each with ``y_sequence`` and ``dec_state`` (None: fresh).
            cache: token sequence -> ``(y (1, H), per-item state)``; filled with the new results.
            batch_states: the current packed state (layout only).

        Returns:
            ``(y, states, lm_tokens)``: outputs (B, 1, H), the packed new states, last tokens (B,).
        """
        if not hypotheses:
            raise ValueError("batch_score_hypothesis() got no hypotheses; pass at least one.")
        device = next(self.parameters()).device
        keys = [tuple(int(token) for token in hypothesis.y_sequence) for hypothesis in hypotheses]
        results = [cache.get(key) for key in keys]
        pending = [index for index, result in enumerate(results) if result is None]
        if pending:
            tokens = torch.tensor(
                [[int(hypotheses[index].y_sequence[-1])] for index in pending],
                dtype=torch.long,
                device=device,
            )
            fresh = self.initialize_state(tokens.to(next(self.parameters()).dtype))
            item_states = [
                hypotheses[index].dec_state
                if hypotheses[index].dec_state is not None
                else self.batch_select_state(fresh, position)
                for position, index in enumerate(pending)
            ]
            packed = self.batch_initialize_states(fresh, item_states)
            y, new_states = self.predict(tokens, state=packed, add_sos=False, batch_size=len(pending))
            for position, index in enumerate(pending):
                results[index] = (y[position], self.batch_select_state(new_states, position))
                cache[keys[index]] = results[index]
        states = self.batch_initialize_states(batch_states, [state for _, state in results])
        lm_tokens = torch.tensor([key[-1] for key in keys], dtype=torch.long, device=device)
        return torch.stack([y for y, _ in results]), states, lm_tokens


class RNNTDecoder(_HypothesisScoring, AbstractRNNTDecoder):
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
        super().__init__(vocab_size=vocab_size, blank_idx=vocab_size, blank_as_pad=blank_as_pad)
        prednet = _as_dict(prednet)
        _require(prednet, ("pred_hidden", "pred_rnn_layers"), "decoder.prednet")
        if normalization_mode is not None:
            raise ValueError(
                f"decoder.normalization_mode={normalization_mode!r} (batch/layer-normalised LSTM) is not "
                "supported; only null (a plain LSTM) is. Set `decoder.normalization_mode: null`."
            )
        self.pred_hidden = prednet["pred_hidden"]
        self.pred_rnn_layers = prednet["pred_rnn_layers"]
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
        """In place, for batch items ``ids``: copy ``new_states`` into ``old_states``, or fill them with ``value``.

        ``new_states`` may be None when ``value`` is given.
        """
        for index, old in enumerate(old_states):
            if value is None:
                old[:, ids, :] = new_states[index][:, ids, :]
            else:
                old[:, ids, :] = value
        return old_states

    def batch_initialize_states(
        self,
        batch_states: Sequence[torch.Tensor] | None,
        decoder_states: Sequence[Sequence[Sequence[torch.Tensor]]],
    ) -> list[torch.Tensor]:
        """Pack per-hypothesis states (``B`` x ``(h, c)`` x ``L`` x ``(H,)``) into ``[h, c]``, each ``(L, B, H)``.

        ``batch_states`` (the previous packed state) only fixes the layout and is not read.
        """
        return self.batch_concat_states(decoder_states)

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


class RNNTJoint(AbstractRNNTJoint):
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
                        self._sub_batch_loss(
                            sub_enc, sub_dec, sub_transcripts, sub_enc_lens, sub_transcript_lens
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

    def _sub_batch_loss(
        self,
        f: torch.Tensor,
        g: torch.Tensor,
        transcripts: torch.Tensor,
        encoder_lengths: torch.Tensor,
        transcript_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """Unreduced loss (B',) of one fused sub-batch: ``f`` (B', T, D_enc), ``g`` (B', U+1, D_pred)."""
        return self._loss(
            log_probs=self.joint(f, g),
            targets=transcripts,
            input_lengths=encoder_lengths,
            target_lengths=transcript_lengths,
        )

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
        """Set the sub-batch size of the fused path (NeMo's ``decoding.fused_batch_size`` sets it too).

        Raises:
            ValueError: not None and not a positive integer.
        """
        if fused_batch_size is not None and (not isinstance(fused_batch_size, int) or fused_batch_size < 1):
            raise ValueError(
                f"fused_batch_size must be a positive integer, got {fused_batch_size!r}; fix "
                "`decoding.fused_batch_size` (or `joint.fused_batch_size`) in the config."
            )
        self._fused_batch_size = fused_batch_size


class _ContextEmbeddings(torch.nn.Module):
    """The stateless prediction network: one embedding table per history position, concatenated.

    Position 0 (the latest token) gets the larger share of ``emb_dim``; each older position gets
    ``emb_dim // 2 // context_size`` features. Blank embeds to zeros in every table.

    Args:
        context_size: tokens of history ``C`` (at least 1).
        vocab_size: vocabulary size ``V`` without blank.
        emb_dim: output features ``H``.
        blank_idx: the blank id (the padding row).
        normalization_mode: None, or ``"layer"`` for a LayerNorm without affine parameters.
        dropout: dropout on the output.
    """

    def __init__(
        self,
        context_size: int,
        vocab_size: int,
        emb_dim: int,
        blank_idx: int,
        normalization_mode: str | None,
        dropout: float,
    ) -> None:
        super().__init__()
        if context_size < 1:
            raise ValueError(f"decoder.context_size={context_size}; the stateless decoder needs at least 1.")
        if normalization_mode not in (None, "layer"):
            raise ValueError(
                f"decoder.normalization_mode={normalization_mode!r} is not supported by the stateless decoder; "
                "use null or 'layer'."
            )
        self.context_size = context_size
        self.blank_idx = blank_idx
        older = emb_dim // 2 // context_size
        sizes = [emb_dim - older * (context_size - 1)] + [older] * (context_size - 1)
        self.embeds = torch.nn.ModuleList(
            torch.nn.Embedding(vocab_size + 1, size, padding_idx=blank_idx) for size in sizes
        )
        self.dropout = torch.nn.Dropout(dropout)
        self.norm = (
            torch.nn.LayerNorm(emb_dim, elementwise_affine=False)
            if normalization_mode == "layer"
            else torch.nn.Identity()
        )

    def forward(self, y: torch.Tensor, history: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed each token of ``y`` (B, U) with the tokens before it.

        Args:
            y: token ids (B, U).
            history: ids (B, K) that came before ``y`` (any K; missing history counts as blank), or None.

        Returns:
            ``(out, history)``: (B, U, H) embeddings and the last ``C - 1`` ids (B, C-1) as the next history.
        """
        keep = self.context_size - 1
        if history is None:
            history = y.new_full((y.size(0), 0), self.blank_idx)
        history = history.to(device=y.device, dtype=torch.long)[:, max(history.size(1) - keep, 0) :]
        padding = y.new_full((y.size(0), keep - history.size(1)), self.blank_idx)
        tokens = torch.cat([padding, history, y.long()], dim=1)  # (B, C-1+U)
        steps = y.size(1)
        parts = [table(tokens[:, keep - age : keep - age + steps]) for age, table in enumerate(self.embeds)]
        out = self.norm(self.dropout(torch.cat(parts, dim=-1)))
        return out, tokens[:, tokens.size(1) - keep :]


class StatelessTransducerDecoder(_HypothesisScoring, AbstractRNNTDecoder):
    """Stateless prediction network: the output for a token is the embedding of it and the ``context_size - 1``
    tokens before it (no recurrence). Its "state" is that token history, ``[(B, C-1)]`` long ids.

    Args:
        prednet: ``pred_hidden`` (H), optionally ``dropout`` (0.0).
        vocab_size: vocabulary size ``V`` without blank; blank is index ``V``.
        context_size: tokens of history ``C``.
        normalization_mode: None or ``"layer"``.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``targets`` (B, U), ``target_length`` (B,), optional history ``states``."""
        return {
            "targets": NeuralType(("B", "T"), LabelsType()),
            "target_length": NeuralType(tuple("B"), LengthsType()),
            "states": [NeuralType(("B", "T"), LabelsType(), optional=True)],
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``outputs`` (B, H, U+1), ``prednet_lengths`` (B,), ``states``."""
        return {
            "outputs": NeuralType(("B", "D", "T"), EmbeddedTextType()),
            "prednet_lengths": NeuralType(tuple("B"), LengthsType()),
            "states": [NeuralType(("B", "T"), LabelsType(), optional=True)],
        }

    def __init__(
        self,
        prednet: Mapping[str, Any],
        vocab_size: int,
        context_size: int = 1,
        normalization_mode: str | None = None,
    ) -> None:
        super().__init__(vocab_size=vocab_size, blank_idx=vocab_size, blank_as_pad=True)
        prednet = _as_dict(prednet)
        _require(prednet, ("pred_hidden",), "decoder.prednet")
        self.pred_hidden = prednet["pred_hidden"]
        self.context_size = context_size
        self.prediction = _ContextEmbeddings(
            context_size=context_size,
            vocab_size=vocab_size,
            emb_dim=self.pred_hidden,
            blank_idx=self.blank_idx,
            normalization_mode=normalization_mode,
            dropout=prednet.get("dropout", 0.0),
        )
        self._rnnt_export = False

    @typecheck()
    def forward(
        self, targets: torch.Tensor, target_length: torch.Tensor, states: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        """Outputs for whole target sequences, with a start step: ``(B, H, U+1)``, ``(B,)``, history."""
        g, states = self.predict(targets, state=states, add_sos=not self._rnnt_export)
        return g.transpose(1, 2), target_length, states

    def predict(
        self,
        y: torch.Tensor | None = None,
        state: list[torch.Tensor] | None = None,
        add_sos: bool = True,
        batch_size: int | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """Embed tokens with their history.

        Args:
            y: token ids (B, U); None gives one zero (blank/start) step and returns ``state`` unchanged.
            state: ``[history (B, K)]`` of earlier ids, or None (no history).
            add_sos: prepend a zero start step.
            batch_size: ``B`` when ``y`` and ``state`` are both None.

        Returns:
            ``(g, state)``: (B, U (+1), H) and ``[history (B, C-1)]``.
        """
        param = next(self.parameters())
        if y is None:
            if batch_size is None:
                batch_size = 1 if state is None else state[0].size(0)
            g = torch.zeros((batch_size, 1, self.pred_hidden), device=param.device, dtype=param.dtype)
        else:
            g, history = self.prediction(y.to(param.device), None if state is None else state[0])
            state = [history]
        if add_sos:
            g = torch.nn.functional.pad(g, (0, 0, 1, 0))
        return g, state

    def initialize_state(self, y: torch.Tensor) -> list[torch.Tensor]:
        """An all-blank history ``[(B, C-1)]`` for ``B = y.size(0)`` on ``y``'s device."""
        return [
            torch.full((y.size(0), self.context_size - 1), self.blank_idx, dtype=torch.long, device=y.device)
        ]

    def batch_initialize_states(
        self, batch_states: list[torch.Tensor] | None, decoder_states: Sequence[Sequence[torch.Tensor]]
    ) -> list[torch.Tensor]:
        """Pack per-hypothesis histories (``B`` x ``[(C-1,)]``) into ``[(B, C-1)]``."""
        return self.batch_concat_states(decoder_states)

    def batch_select_state(
        self, batch_states: list[torch.Tensor] | None, idx: int
    ) -> list[torch.Tensor] | None:
        """History of item ``idx``: ``[(C-1,)]`` long ids."""
        if batch_states is None:
            return None
        return [batch_states[0][idx].long()]

    def batch_concat_states(self, batch_states: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
        """Pack ``B`` x ``[(C-1,)]`` into ``[(B, C-1)]``."""
        return [torch.stack([item[0].long() for item in batch_states])]

    def batch_copy_states(
        self,
        old_states: list[torch.Tensor],
        new_states: list[torch.Tensor] | None,
        ids: Sequence[int] | torch.Tensor,
        value: float | None = None,
    ) -> list[torch.Tensor]:
        """In place, for items ``ids``: copy the history from ``new_states``, or fill it with ``value``."""
        if value is None:
            old_states[0][ids, :] = new_states[0][ids, :]
        else:
            old_states[0][ids, :] = int(value)
        return old_states

    def mask_select_states(
        self, states: list[torch.Tensor] | None, mask: torch.Tensor
    ) -> list[torch.Tensor] | None:
        """Histories of the items where ``mask`` (B,) is True."""
        if states is None:
            return None
        return [states[0][mask]]

    @classmethod
    def batch_replace_states_mask(
        cls, src_states: Sequence[torch.Tensor], dst_states: Sequence[torch.Tensor], mask: torch.Tensor
    ) -> None:
        """In place: ``dst[b] = src[b]`` where ``mask[b]``."""
        torch.where(mask.view(-1, 1), src_states[0].to(dst_states[0].dtype), dst_states[0], out=dst_states[0])

    @classmethod
    def batch_replace_states_all(
        cls, src_states: Sequence[torch.Tensor], dst_states: Sequence[torch.Tensor]
    ) -> None:
        """In place: copy the history of ``src_states`` into ``dst_states``."""
        dst_states[0].copy_(src_states[0])


class HATJoint(RNNTJoint):
    """Hybrid Autoregressive Transducer joint (Variani et al., 2020): blank and labels are scored apart.

    From the joint hidden ``h = enc(f) + pred(g)``: ``P(blank) = sigmoid(w_b . tanh(h))``, and the labels share
    the rest, ``log P(k) = log(1 - P(blank)) + log_softmax(joint_net(h))_k``. The label distribution of the
    prediction network alone, ``log_softmax(joint_net(pred(g)))``, is the internal language model (ILM),
    returned beside the joint with :attr:`return_hat_ilm` (searches subtract it: ``hat_subtract_ilm``).

    State-dict keys are RNNTJoint's (``joint_net``'s last layer outputs ``V`` labels, no blank) plus
    ``blank_pred.2.{weight,bias}``. The output is always normalised log-probabilities (``log_softmax`` and the
    joint temperature do not change it); arguments otherwise as :class:`RNNTJoint`, with
    ``num_extra_outputs`` 0.
    """

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
        super().__init__(
            jointnet=jointnet,
            num_classes=num_classes,
            num_extra_outputs=num_extra_outputs,
            vocabulary=vocabulary,
            log_softmax=log_softmax,
            preserve_memory=preserve_memory,
            fuse_loss_wer=fuse_loss_wer,
            fused_batch_size=fused_batch_size,
            experimental_fuse_loss_wer=experimental_fuse_loss_wer,
        )
        if num_extra_outputs:
            logging.warning(
                f"HATJoint got num_extra_outputs={num_extra_outputs}: the HAT joint has no extra (big blank or "
                "duration) outputs, so it emits V+1 scores and searches never pick an extra output."
            )
        dropout = _as_dict(jointnet).get("dropout", 0.0)
        # Labels only: the blank gets its own head.
        self.joint_net[-1] = torch.nn.Linear(self.joint_hidden, num_classes)
        self.blank_pred = torch.nn.Sequential(
            torch.nn.Tanh(),
            torch.nn.Dropout(p=dropout),
            torch.nn.Linear(self.joint_hidden, 1),
            torch.nn.LogSigmoid(),
        )
        self._return_hat_ilm = False

    @property
    def return_hat_ilm(self) -> bool:
        """Whether :meth:`joint_after_projection` also returns the internal LM (as ``HATJointOutput``)."""
        return self._return_hat_ilm

    @return_hat_ilm.setter
    def return_hat_ilm(self, value: bool) -> None:
        self._return_hat_ilm = bool(value)

    def joint_after_projection(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor | HATJointOutput:
        """Join projected ``f`` (B, T, H) and ``g`` (B, U, H).

        Returns:
            (B, T, U, V+1) log-probabilities (blank last); with :attr:`return_hat_ilm` a ``HATJointOutput`` that
            also holds the internal LM's (B, 1, U, V) label log-probabilities.
        """
        hidden = f.unsqueeze(2) + g.unsqueeze(1)  # (B, T, U, H)
        blank_logprob = self.blank_pred(hidden)  # (B, T, U, 1)
        label_logprob = self.joint_net(hidden).log_softmax(dim=-1)  # (B, T, U, V)
        # log(1 - P(blank)), floored at log(1e-6) so that a certain blank keeps finite label scores.
        non_blank = torch.log(torch.clamp(-torch.expm1(blank_logprob), min=1e-6))
        out = torch.cat((label_logprob + non_blank, blank_logprob), dim=-1)
        if self.preserve_memory and torch.cuda.is_available():
            torch.cuda.empty_cache()
        if not self._return_hat_ilm:
            return out
        # A copy: the joint's activation may work in place, and ``g`` belongs to the caller.
        ilm_logprobs = self.joint_net(g.unsqueeze(1).clone()).log_softmax(dim=-1)  # (B, 1, U, V)
        return HATJointOutput(hat_logprobs=out, ilm_logprobs=ilm_logprobs)


class SampledRNNTJoint(RNNTJoint):
    """RNNTJoint trained with a sampled output vocabulary (Memory-efficient RNN-T with sampled softmax,
    arXiv:2203.16868); state-dict keys and inference are RNNTJoint's.

    In training (gradients on), each fused sub-batch is scored only over the blank, the labels of its
    transcripts, and up to ``n_samples`` other labels drawn without replacement; the loss then sees the
    transcripts renumbered into that small vocabulary, blank first. Training needs ``fuse_loss_wer`` (the
    transcripts reach the joint only on that path). Without gradients it is the full RNNTJoint.

    Args:
        n_samples: labels sampled besides the transcripts' own (all labels when it is at least ``V``).
        others: as :class:`RNNTJoint`.
    """

    def __init__(
        self,
        jointnet: Mapping[str, Any],
        num_classes: int,
        n_samples: int,
        vocabulary: Sequence[str] | None = None,
        log_softmax: bool | None = None,
        preserve_memory: bool = False,
        fuse_loss_wer: bool = False,
        fused_batch_size: int | None = None,
    ) -> None:
        super().__init__(
            jointnet=jointnet,
            num_classes=num_classes,
            vocabulary=vocabulary,
            log_softmax=log_softmax,
            preserve_memory=preserve_memory,
            fuse_loss_wer=fuse_loss_wer,
            fused_batch_size=fused_batch_size,
        )
        if n_samples < 1:
            raise ValueError(f"joint.n_samples={n_samples}; sample at least 1 label.")
        self.n_samples = n_samples
        self.register_buffer("blank_id", torch.tensor([self.num_classes_with_blank - 1]), persistent=False)

    @staticmethod
    def _sampling() -> bool:
        return torch.is_grad_enabled() and not torch.is_inference_mode_enabled()

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
        """As :meth:`RNNTJoint.forward`; with gradients on, only the fused (loss, WER) path is allowed."""
        if self._sampling() and not self._fuse_loss_wer:
            raise ValueError(
                "SampledRNNTJoint trains only on the fused loss path: set `joint.fuse_loss_wer: true` and "
                "`joint.fused_batch_size`, or call it under torch.no_grad() for the full joint."
            )
        return super().forward(
            encoder_outputs=encoder_outputs,
            decoder_outputs=decoder_outputs,
            encoder_lengths=encoder_lengths,
            transcripts=transcripts,
            transcript_lengths=transcript_lengths,
            compute_wer=compute_wer,
        )

    def _sub_batch_loss(
        self,
        f: torch.Tensor,
        g: torch.Tensor,
        transcripts: torch.Tensor,
        encoder_lengths: torch.Tensor,
        transcript_lengths: torch.Tensor,
    ) -> torch.Tensor:
        if not self._sampling():
            return super()._sub_batch_loss(f, g, transcripts, encoder_lengths, transcript_lengths)
        if not hasattr(self._loss, "_blank"):
            raise ValueError(
                f"SampledRNNTJoint needs the RNNTLoss of this package (it renumbers the blank); got "
                f"{type(self._loss).__name__}."
            )
        scores, remapped = self.sampled_joint(f, g, transcripts, transcript_lengths)
        blank = self._loss._blank
        self._loss._blank = 0
        try:
            return self._loss(
                log_probs=scores,
                targets=remapped,
                input_lengths=encoder_lengths,
                target_lengths=transcript_lengths,
            )
        finally:
            self._loss._blank = blank

    def sampled_joint(
        self, f: torch.Tensor, g: torch.Tensor, transcript: torch.Tensor, transcript_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint over a sampled vocabulary: blank, the transcripts' labels, then sampled other labels.

        Args:
            f: encoder outputs (B, T, D_enc).
            g: prediction outputs (B, U+1, D_pred).
            transcript: (B, U) label ids.
            transcript_lengths: (B,) valid labels.

        Returns:
            ``(scores, remapped)``: (B, T, U+1, S) scores (log-softmaxed as ``log_softmax`` says) and the
            transcripts renumbered into the sampled vocabulary (blank is 0).
        """
        hidden = self.project_encoder(f).unsqueeze(2) + self.project_prednet(g).unsqueeze(1)
        hidden = self.joint_net[:-1](hidden)  # (B, T, U+1, H)
        output = self.joint_net[-1]
        with torch.no_grad():
            valid = torch.arange(transcript.size(1), device=transcript.device) < transcript_lengths[:, None]
            positives = torch.unique(transcript[valid])  # sorted
            remapped = torch.searchsorted(positives, transcript).clamp(max=max(positives.numel() - 1, 0)) + 1
            candidates = torch.randperm(self._vocab_size, device=transcript.device)[: self.n_samples]
            negatives = candidates[~torch.isin(candidates, positives)]
            ids = torch.cat([self.blank_id.to(transcript.device), positives, negatives])
        scores = torch.nn.functional.linear(hidden, output.weight[ids], output.bias[ids])
        if self.preserve_memory and torch.cuda.is_available():
            torch.cuda.empty_cache()
        apply_log_softmax = not scores.is_cuda if self.log_softmax is None else self.log_softmax
        if apply_log_softmax:
            scores = scores.log_softmax(dim=-1)
        return scores, remapped
