"""``NeuralModule``: a ``torch.nn.Module`` with neural types, config serialization and freezing helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from nemo.core.classes.file_io import FileIO
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing
from nemo.core.neural_types.elements import hide_python_methods_from_torchscript

__all__ = ["NeuralModule"]

# Modules built on this class are scripted with element types inside; keep their Python-only methods out.
hide_python_methods_from_torchscript()


class NeuralModule(torch.nn.Module, Typing, Serialization, FileIO):
    """Base class of NeMo's modules (encoders, decoders, preprocessors, ...).

    Declare ``input_types`` / ``output_types`` and decorate ``forward`` with ``@typecheck()`` to get
    checked, keyword-only calls whose outputs carry ``.neural_type``.
    """

    # Python-only properties TorchScript must not compile when a module is scripted. TorchScript reads one
    # list per class, so each subclass gets the union of the lists its bases declare (mixins included).
    __jit_unused_properties__ = ["num_weights", "input_types", "output_types"]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = {
            name for klass in cls.__mro__ for name in klass.__dict__.get("__jit_unused_properties__", ())
        }
        cls.__jit_unused_properties__ = sorted(names)

    @property
    def num_weights(self) -> int:
        """Number of trainable parameters (those with ``requires_grad``)."""
        return sum(param.numel() for param in self.parameters() if param.requires_grad)

    def input_example(self, max_batch: int | None = None, max_dim: int | None = None) -> Any:
        """An example input for tracing and export: a tuple of tensors, optionally ending with a dict of
        keyword arguments. ``None`` here; modules that support export override it.

        Args:
            max_batch: largest batch size the example should use.
            max_dim: largest size of the other dynamic dimensions (e.g. time).
        """
        return None

    def freeze(self) -> None:
        """Stop training every parameter (``requires_grad=False``) and switch to eval mode.

        Each parameter's previous ``requires_grad`` is remembered, so ``unfreeze(partial=True)`` can
        restore it; freezing again records the then-current state on top.
        """
        grad_map = {}
        for name, param in self.named_parameters():
            grad_map[name] = param.requires_grad
            param.requires_grad = False
        frozen = self.__dict__.get("_frozen_grad_map")
        if frozen is None:
            self._frozen_grad_map = grad_map
        else:
            frozen.update(grad_map)
        self.eval()

    def unfreeze(self, partial: bool = False) -> None:
        """Train parameters again and switch to train mode.

        Args:
            partial: restore each parameter's ``requires_grad`` as it was before ``freeze()`` (so a
                sub-module frozen on purpose stays frozen) instead of enabling all of them.

        Raises:
            ValueError: ``partial=True`` but ``freeze()`` was not called first.
        """
        frozen = self.__dict__.get("_frozen_grad_map")
        if partial and frozen is None:
            raise ValueError(
                f"{type(self).__name__}.unfreeze(partial=True): nothing to restore, because freeze() was not "
                "called on this module first. Call freeze() before, or use unfreeze() to unfreeze everything."
            )
        for name, param in self.named_parameters():
            if not partial:
                param.requires_grad = True
            elif name in frozen:
                param.requires_grad = frozen[name]
        self.train()
        if frozen is not None:
            del self._frozen_grad_map

    @contextmanager
    def as_frozen(self) -> Iterator[None]:
        """Context manager that freezes the module inside and restores, on exit, each parameter's
        ``requires_grad``, the train/eval mode and any state recorded by an earlier ``freeze()``.

        Example:
            >>> with module.as_frozen():
            ...     outputs = module(audio_signal=signal, length=length)
        """
        training = self.training
        grads = {name: param.requires_grad for name, param in self.named_parameters()}
        earlier_freeze = self.__dict__.get("_frozen_grad_map")
        earlier_freeze = None if earlier_freeze is None else dict(earlier_freeze)
        self.freeze()
        try:
            yield
        finally:
            for name, param in self.named_parameters():
                if name in grads:
                    param.requires_grad = grads[name]
            self.train(training)
            if earlier_freeze is None:
                self.__dict__.pop("_frozen_grad_map", None)
            else:
                self._frozen_grad_map = earlier_freeze
