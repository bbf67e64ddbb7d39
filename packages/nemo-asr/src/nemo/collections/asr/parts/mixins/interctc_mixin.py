"""InterCTC (intermediate CTC, https://arxiv.org/abs/2102.03216): extra CTC losses on inner encoder layers.

A model with a CTC head mixes in :class:`InterCTCMixin` and reads the NeMo 1.23 config section::

    interctc:
      loss_weights: [0.1, 0.3]   # one weight per captured layer; they must sum to less than 1
      apply_at_layers: [2, 4]    # 0-based encoder layer indices

The encoder (``ConformerEncoder``, ``ConvASREncoder``'s ``JasperBlock`` s) records the outputs of those layers
through :class:`~nemo.core.classes.mixins.AccessMixin` as ``interctc/layer_output_{i}`` (B, D, T') and
``interctc/layer_length_{i}`` (B,). The model's own CTC decoder turns each into log-probs (B, T', V+1) and
the total loss becomes::

    (1 - sum(loss_weights)) * final_loss + sum_i loss_weights[i] * ctc_loss(layer i)

Logged names (as NeMo): ``{prefix}final_loss``, ``{prefix}inter_ctc_loss_l{i}``, ``{prefix}inter_wer_l{i}``
(and, for evaluation, ``{prefix}inter_wer_num_l{i}`` / ``{prefix}inter_wer_denom_l{i}`` per step).

Use from a model:

* ``self.setup_interctc(decoder_name, loss_name, wer_name)`` at the end of ``__init__`` (attribute names of
  the CTC decoder, CTC loss and CTC WER; looked up on every use, so swapped modules are picked up);
* wrap the forward pass and loss in ``with self.interctc_capture():`` and call ``add_interctc_losses``
  after the main loss;
* ``finalize_interctc_metrics(metrics, outputs, prefix)`` in ``multi_{validation,test}_epoch_end``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from nemo.core.classes.mixins.access_mixins import AccessMixin
from nemo.utils.distributed import ratio_over_processes, weighted_mean_over_processes

__all__ = ["InterCTCMixin"]

# Objects that are always read from the model (by attribute name), never stored in the InterCTC settings.
_LOOKED_UP = ("decoder", "loss", "wer")
_CONFIG_KEYS = ("loss_weights", "apply_at_layers")


class InterCTCMixin:
    """Intermediate-layer CTC losses and WERs for a model with a CTC decoder (see the module docstring)."""

    # ------------------------------------------------------------------------------------------- set-up
    def setup_interctc(self, decoder_name: str, loss_name: str, wer_name: str) -> None:
        """Read ``cfg.interctc`` and tell the encoders which layers to record.

        Args:
            decoder_name: attribute holding the CTC decoder (``encoder_output`` (B, D, T) -> log-probs).
            loss_name: attribute holding the CTC loss (``log_probs``, ``targets``, ``input_lengths``,
                ``target_lengths``).
            wer_name: attribute holding the CTC WER metric.

        Raises:
            ValueError: ``cfg.interctc`` has unknown or missing keys, its weights sum to 1 or more, or the
                two lists differ in length.
        """
        self._interctc_params: dict[str, Any] = {}
        section = self.cfg.get("interctc")
        if section is None:
            self.set_interctc_param("enabled", False)
            return
        unknown = sorted(set(section) - set(_CONFIG_KEYS))
        missing = [key for key in _CONFIG_KEYS if key not in section]
        if unknown or missing:
            raise ValueError(
                f"model.interctc takes exactly the keys {list(_CONFIG_KEYS)}; unknown: {unknown}, missing: "
                f"{missing}. Fix the interctc section of the model config."
            )
        weights = [float(weight) for weight in section.loss_weights]
        layers = [int(layer) for layer in section.apply_at_layers]
        main_weight = 1.0 - sum(weights)
        if main_weight <= 0.0:
            raise ValueError(
                f"interctc.loss_weights {weights} sum to {sum(weights)}; they must sum to less than 1.0, since "
                "the rest (1 - sum) weighs the final layer's loss. Lower the intermediate weights."
            )
        if len(layers) != len(weights):
            raise ValueError(
                "Length of interctc.apply_at_layers has to match interctc.loss_weights: got "
                f"apply_at_layers={layers} and loss_weights={weights}."
            )
        self._interctc_params.update(
            intermediate_loss_weights=weights,
            apply_at_layers=layers,
            main_loss_weight=main_weight,
            enabled=len(weights) > 0,
            decoder_name=decoder_name,
            loss_name=loss_name,
            wer_name=wer_name,
        )
        # The encoders read the layers to record from the shared access config.
        AccessMixin.update_access_cfg({"interctc": {"capture_layers": layers}})

    def get_interctc_param(self, param_name: str) -> Any:
        """An InterCTC setting (``apply_at_layers``, ``intermediate_loss_weights``, ``main_loss_weight``,
        ``enabled``), or the model's current ``decoder`` / ``loss`` / ``wer`` object."""
        self._verify_setup_was_called()
        if param_name in _LOOKED_UP:
            return getattr(self, self._interctc_params[f"{param_name}_name"])
        return self._interctc_params[param_name]

    def set_interctc_param(self, param_name: str, param_value: Any) -> None:
        """Set an InterCTC setting; ``decoder``, ``loss`` and ``wer`` are refused (they are model attributes)."""
        if param_name in _LOOKED_UP:
            raise ValueError(
                f'Cannot set "{param_name}" as an InterCTC parameter: the decoder, loss and wer are always '
                "looked up on the model by the names given to setup_interctc()."
            )
        self._interctc_params[param_name] = param_value

    def _verify_setup_was_called(self) -> None:
        if not hasattr(self, "_interctc_params"):
            raise RuntimeError(
                f"{type(self).__name__}: call self.setup_interctc(decoder_name, loss_name, wer_name) in __init__ "
                "before using InterCTC."
            )

    def is_interctc_enabled(self) -> bool:
        """Whether intermediate losses are computed (``interctc.loss_weights`` is non-empty, unless switched)."""
        return bool(self.get_interctc_param("enabled"))

    def set_interctc_enabled(self, enabled: bool) -> None:
        """Switch InterCTC on or off; switching on needs a config that named the layers and weights."""
        self._verify_setup_was_called()
        if enabled:
            weights = self._interctc_params.get("intermediate_loss_weights", [])
            layers = self._interctc_params.get("apply_at_layers", [])
            if not weights:
                raise RuntimeError(
                    "InterCTC cannot be enabled since interctc.loss_weights was not specified in the config."
                )
            if len(layers) != len(weights):
                raise RuntimeError(
                    'InterCTC cannot be enabled, since length of "loss_weights" does not match "apply_at_layers".'
                )
        self.set_interctc_param("enabled", enabled)

    # ------------------------------------------------------------------------------------------ capture
    @contextlib.contextmanager
    def interctc_capture(self) -> Iterator[None]:
        """Record the encoder's InterCTC layers during the block (when InterCTC is on); clear them after.

        Stale recordings from an earlier pass are cleared on entry, so the block sees one pass only.
        """
        if AccessMixin.is_access_enabled():
            AccessMixin.reset_registry(self)
        if self.is_interctc_enabled():
            AccessMixin.set_access_enabled(access_enabled=True)
        try:
            yield
        finally:
            if AccessMixin.is_access_enabled():
                AccessMixin.reset_registry(self)

    def get_captured_interctc_tensors(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(log_probs (B, T', V+1), lengths (B,))`` of each ``apply_at_layers`` layer, in that order.

        The recorded encoder outputs go through the model's CTC decoder. Empty when InterCTC is off.

        Raises:
            RuntimeError: a layer was not recorded, was recorded by two modules, or was recorded more than once
                (the encoder ran more than once since the registry was cleared).
        """
        if not self.is_interctc_enabled():
            return []
        recorded: dict[str, list[torch.Tensor]] = {}
        for registry in AccessMixin.get_module_registry(self.encoder).values():
            for name, tensors in registry.items():
                if not name.startswith("interctc/"):
                    continue
                if name in recorded:
                    raise RuntimeError(
                        f"InterCTC tensor {name} was recorded by more than one encoder module."
                    )
                recorded[name] = tensors
        decoder = self.get_interctc_param("decoder")
        captured = []
        for layer in self.get_interctc_param("apply_at_layers"):
            outputs = recorded.get(f"interctc/layer_output_{layer}")
            lengths = recorded.get(f"interctc/layer_length_{layer}")
            if outputs is None or lengths is None:
                raise RuntimeError(
                    f"Intermediate layer {layer} was not captured: the encoder "
                    f"({type(self.encoder).__name__}) recorded {sorted(recorded)}. Check interctc.apply_at_layers "
                    "against the encoder's layer count, and that access was enabled during forward."
                )
            if len(outputs) != 1 or len(lengths) != 1:
                raise RuntimeError(
                    f"Intermediate layer {layer} was recorded {len(outputs)} times; make sure encoder.forward is "
                    "called exactly one time before interCTC loss is computed."
                )
            captured.append((decoder(encoder_output=outputs[0]), lengths[0]))
        return captured

    # --------------------------------------------------------------------------------------- losses
    def add_interctc_losses(
        self,
        loss_value: torch.Tensor | None,
        transcript: torch.Tensor,
        transcript_len: torch.Tensor,
        compute_wer: bool,
        compute_loss: bool = True,
        log_wer_num_denom: bool = False,
        log_prefix: str = "",
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Mix the intermediate CTC losses into ``loss_value`` and collect their metrics.

        Args:
            loss_value: the final layer's loss (scalar).
            transcript: (B, U) padded target ids.
            transcript_len: (B,) target lengths.
            compute_wer: also compute each layer's WER (``{log_prefix}inter_wer_l{i}``).
            compute_loss: compute losses; when False the returned loss is None.
            log_wer_num_denom: also return each layer's WER numerator/denominator (evaluation steps).
            log_prefix: prefix of every metric name (``""``, ``"val_"``, ``"test_"``).

        Returns:
            ``(loss, metrics)``: ``(1 - sum(w)) * loss_value + sum_i w_i * loss_i`` (``loss_value`` unchanged
            when InterCTC is off or nothing was recorded), and the named metrics.
        """
        if not self.is_interctc_enabled() or not AccessMixin.is_access_enabled():
            return loss_value, {}
        metrics: dict[str, torch.Tensor] = {}
        total = None
        if compute_loss:
            metrics[f"{log_prefix}final_loss"] = loss_value
            total = loss_value * self.get_interctc_param("main_loss_weight")
        layers = self.get_interctc_param("apply_at_layers")
        weights = self.get_interctc_param("intermediate_loss_weights")
        for layer, weight, (log_probs, lengths) in zip(layers, weights, self.get_captured_interctc_tensors()):
            if compute_loss:
                layer_loss = self.get_interctc_param("loss")(
                    log_probs=log_probs,
                    targets=transcript,
                    input_lengths=lengths,
                    target_lengths=transcript_len,
                )
                metrics[f"{log_prefix}inter_ctc_loss_l{layer}"] = layer_loss.detach()
                total = total + weight * layer_loss
            if compute_wer:
                wer_metric = self.get_interctc_param("wer")
                wer_metric.update(
                    predictions=log_probs,
                    predictions_lengths=lengths,
                    targets=transcript,
                    targets_lengths=transcript_len,
                )
                wer, errors, words = wer_metric.compute()
                wer_metric.reset()
                metrics[f"{log_prefix}inter_wer_l{layer}"] = wer
                if log_wer_num_denom:
                    metrics[f"{log_prefix}inter_wer_num_l{layer}"] = errors
                    metrics[f"{log_prefix}inter_wer_denom_l{layer}"] = words
        return total, metrics

    def finalize_interctc_metrics(self, metrics: dict, outputs: Sequence[dict], prefix: str) -> None:
        """Add epoch-level InterCTC metrics to ``metrics["log"]`` (in place) from the step ``outputs``.

        Per-utterance mean of ``{prefix}inter_ctc_loss_l{i}`` and ``{prefix}final_loss`` (weighted by
        ``{prefix}batch_size`` where the steps give it); corpus WER (summed errors / summed words) as
        ``{prefix}inter_wer_l{i}``; both over every process of a distributed run. Metrics absent from the
        first step's output are skipped.
        """
        if not self.is_interctc_enabled() or not outputs:
            return
        first = outputs[0]
        weights = [output.get(f"{prefix}batch_size", 1) for output in outputs]

        def mean_of(key: str) -> torch.Tensor:
            return weighted_mean_over_processes([output[key] for output in outputs], weights)

        def ratio_of(numerator: str, denominator: str) -> torch.Tensor:
            return ratio_over_processes(
                [output[numerator] for output in outputs], [output[denominator] for output in outputs]
            )

        log = metrics["log"]
        for layer in self.get_interctc_param("apply_at_layers"):
            loss_key = f"{prefix}inter_ctc_loss_l{layer}"
            if loss_key in first:
                log[loss_key] = mean_of(loss_key)
            if f"{prefix}inter_wer_num_l{layer}" in first:
                log[f"{prefix}inter_wer_l{layer}"] = ratio_of(
                    f"{prefix}inter_wer_num_l{layer}", f"{prefix}inter_wer_denom_l{layer}"
                )
        if f"{prefix}final_loss" in first:
            log[f"{prefix}final_loss"] = mean_of(f"{prefix}final_loss")
