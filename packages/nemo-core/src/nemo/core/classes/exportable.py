"""``Exportable``: export a module to ONNX or TorchScript, with names and dynamic axes from its neural types.

The format follows the file extension: ``.onnx`` -> ONNX (PyTorch's TorchScript-based exporter, so no
``onnxscript`` is needed), ``.ts`` or ``.pt`` -> TorchScript (traced, then frozen). Type checks are off
while exporting, so the traced ``forward`` is called with positional arguments.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

import torch
from nemo.core.classes.typecheck import is_typecheck_enabled, typecheck
from nemo.core.neural_types.axes import AxisKind
from nemo.core.neural_types.neural_type import NeuralType
from nemo.utils import logging

__all__ = ["ExportFormat", "Exportable", "get_export_format"]

_DEFAULT_ONNX_OPSET = 17
_DYNAMIC_AXIS_KINDS = (AxisKind.Batch, AxisKind.Time, AxisKind.Width, AxisKind.Height)


class ExportFormat(Enum):
    """Which serialization ``Exportable.export`` writes."""

    ONNX = (1,)
    TORCHSCRIPT = (2,)


_EXTENSIONS = {".onnx": ExportFormat.ONNX, ".ts": ExportFormat.TORCHSCRIPT, ".pt": ExportFormat.TORCHSCRIPT}


def get_export_format(filename: str | os.PathLike[str]) -> ExportFormat:
    """The export format implied by ``filename``'s extension.

    Raises:
        ValueError: the extension is not ``.onnx``, ``.ts`` or ``.pt``.
    """
    extension = os.path.splitext(os.fspath(filename))[1].lower()
    if extension not in _EXTENSIONS:
        raise ValueError(
            f"Export file {os.fspath(filename)!r} has extension {extension!r}, which maps to no export format. "
            f"Use one of {sorted(_EXTENSIONS)} (.onnx for ONNX, .ts or .pt for TorchScript)."
        )
    return _EXTENSIONS[extension]


class Exportable:
    """Mixin for ``torch.nn.Module`` subclasses that can be exported to ONNX or TorchScript.

    Input and output names come from ``input_types`` / ``output_types`` (minus
    ``disabled_deployment_input_names`` / ``disabled_deployment_output_names``); their Batch, Time,
    Width and Height axes become dynamic ONNX axes. A class may define ``forward_for_export`` to export
    something other than ``forward``, and override ``_prepare_for_export`` / ``_export_teardown`` to
    switch into and out of an export-friendly mode.
    """

    # Export metadata is Python-only; a NeuralModule subclass merges this list into its own for TorchScript.
    __jit_unused_properties__ = [
        "input_module",
        "output_module",
        "input_types_for_export",
        "output_types_for_export",
        "input_names",
        "output_names",
        "disabled_deployment_input_names",
        "disabled_deployment_output_names",
        "supported_export_formats",
    ]

    @property
    def input_module(self) -> Any:
        """The module whose ``input_types`` and ``input_example`` describe the exported inputs (``self``)."""
        return self

    @property
    def output_module(self) -> Any:
        """The module whose ``output_types`` describe the exported outputs (``self``)."""
        return self

    @property
    def input_types_for_export(self) -> Mapping[str, Any] | None:
        """Input types used for export names and dynamic axes (``input_types`` by default)."""
        return getattr(self, "input_types", None)

    @property
    def output_types_for_export(self) -> Mapping[str, Any] | None:
        """Output types used for export names and dynamic axes (``output_types`` by default)."""
        return getattr(self, "output_types", None)

    @property
    def input_names(self) -> list[str]:
        """Names of the exported graph's inputs."""
        return _io_names(self.input_module.input_types_for_export, self.disabled_deployment_input_names)

    @property
    def output_names(self) -> list[str]:
        """Names of the exported graph's outputs."""
        return _io_names(self.output_module.output_types_for_export, self.disabled_deployment_output_names)

    @property
    def disabled_deployment_input_names(self) -> set[str]:
        """Declared inputs left out of the exported graph (none by default)."""
        return set()

    @property
    def disabled_deployment_output_names(self) -> set[str]:
        """Declared outputs left out of the exported graph (none by default)."""
        return set()

    @property
    def supported_export_formats(self) -> set[ExportFormat]:
        """Formats this module can be exported to."""
        return {ExportFormat.ONNX, ExportFormat.TORCHSCRIPT}

    def get_export_subnet(self, subnet: str | None = None) -> Any:
        """The module exported for ``subnet`` (``None`` or ``"self"``: this module; else that attribute)."""
        return self if subnet is None or subnet == "self" else getattr(self, subnet)

    def list_export_subnets(self) -> list[str]:
        """Names of the parts exported separately by ``export`` (``["self"]``: the whole module)."""
        return ["self"]

    def get_export_config(self) -> dict[str, Any]:
        """Settings that modules may read in ``_prepare_for_export`` (an empty dict until set)."""
        if "export_config" not in self.__dict__:
            self.export_config: dict[str, Any] = {}
        return self.export_config

    def set_export_config(self, args: Mapping[str, Any]) -> None:
        """Update the export settings with ``args``."""
        self.get_export_config().update(args)

    def export(
        self,
        output: str,
        input_example: Any = None,
        verbose: bool = False,
        do_constant_folding: bool = True,
        onnx_opset_version: int | None = None,
        check_trace: bool | Sequence[Any] = False,
        dynamic_axes: Mapping[str, Any] | None = None,
        check_tolerance: float = 0.01,
        export_modules_as_functions: bool = False,
        keep_initializers_as_inputs: bool | None = None,
    ) -> tuple[list[str], list[str]]:
        """Export this module (or each of its export subnets) to ``output``.

        Args:
            output: file to write; ``.onnx`` for ONNX, ``.ts``/``.pt`` for TorchScript. With several
                subnets, each is written to ``<subnet>-<basename>`` next to it.
            input_example: inputs to trace with: a tuple of tensors, optionally ending with a dict of
                keyword arguments. ``None``: ``self.input_module.input_example()``.
            verbose: print the exported graph.
            do_constant_folding: fold constants in the ONNX graph.
            onnx_opset_version: ONNX opset; ``None`` for 17.
            check_trace: ``True`` to run the exported file on ``input_example`` and compare with PyTorch,
                or a list of input examples to check on (ONNX checks need ``onnxruntime``).
            dynamic_axes: ONNX dynamic axes, ``{name: [axis, ...]}`` or ``{name: {axis: label}}``;
                ``None`` derives them from the neural types (Batch, Time, Width, Height axes).
            check_tolerance: tolerance of ``check_trace`` comparisons.
            export_modules_as_functions: passed to ``torch.onnx.export``.
            keep_initializers_as_inputs: passed to ``torch.onnx.export``.

        Returns:
            The files written and a description of each.
        """
        written, descriptions = [], []
        for subnet_name in self.list_export_subnets():
            model = self.get_export_subnet(subnet_name)
            out_name = _augment_filename(output, subnet_name)
            out, description, _ = model._export(
                out_name,
                input_example=input_example,
                verbose=verbose,
                do_constant_folding=do_constant_folding,
                onnx_opset_version=onnx_opset_version,
                check_trace=check_trace,
                dynamic_axes=dynamic_axes,
                check_tolerance=check_tolerance,
                export_modules_as_functions=export_modules_as_functions,
                keep_initializers_as_inputs=keep_initializers_as_inputs,
            )
            written.append(out)
            descriptions.append(description)
            logging.info(f"Successfully exported {type(model).__name__} to {out_name}")
        return written, descriptions

    def _export(
        self,
        output: str,
        input_example: Any = None,
        verbose: bool = False,
        do_constant_folding: bool = True,
        onnx_opset_version: int | None = None,
        check_trace: bool | Sequence[Any] = False,
        dynamic_axes: Mapping[str, Any] | None = None,
        check_tolerance: float = 0.01,
        export_modules_as_functions: bool = False,
        keep_initializers_as_inputs: bool | None = None,
    ) -> tuple[str, str, tuple[Any, ...]]:
        """Export this module alone; returns ``(output, description, outputs on input_example)``."""
        export_format = get_export_format(output)
        if export_format not in self.supported_export_formats:
            raise ValueError(
                f"{type(self).__name__} can't be exported to {export_format.name} (file {output!r}); it supports "
                f"{sorted(f.name for f in self.supported_export_formats)}. Change the file extension."
            )
        settings = {
            "verbose": verbose,
            "do_constant_folding": do_constant_folding,
            "onnx_opset_version": onnx_opset_version or _DEFAULT_ONNX_OPSET,
            "check_trace": check_trace,
            "dynamic_axes": dynamic_axes,
            "check_tolerance": check_tolerance,
            "export_modules_as_functions": export_modules_as_functions,
            "keep_initializers_as_inputs": keep_initializers_as_inputs,
        }
        was_training = self.training
        checks_were_enabled = is_typecheck_enabled()
        overrides_forward = hasattr(type(self), "forward_for_export")
        typecheck.set_typecheck_enabled(enabled=False)
        try:
            if overrides_forward:
                self.forward = self.forward_for_export
            self.eval()
            with torch.no_grad(), warnings.catch_warnings():
                # TorchScript and the TorchScript-based ONNX exporter are NeMo 1.23's formats: used on purpose.
                warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.(jit|onnx)")
                warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
                if input_example is None:
                    input_example = self.input_module.input_example()
                if input_example is None:
                    raise ValueError(
                        f"{type(self).__name__}.export({output!r}) needs an input example: pass "
                        "input_example=(tensor, ...) or implement input_example() on the input module."
                    )
                for module in self.modules():
                    if module is not self and isinstance(module, Exportable):
                        module._prepare_for_export(**settings, noreplace=True)
                self._prepare_for_export(output=output, input_example=input_example, **settings)
                args, kwargs = _split_input_example(input_example)
                output_example = _as_tuple(self.forward(*args, **kwargs))
                if export_format is ExportFormat.TORCHSCRIPT:
                    self._export_torchscript(output, args, kwargs, settings)
                else:
                    self._export_onnx(output, args, kwargs, settings)
                if check_trace:
                    examples = [input_example] if isinstance(check_trace, bool) else list(check_trace)
                    _verify_export(self, output, export_format, examples, check_tolerance)
        finally:
            typecheck.set_typecheck_enabled(enabled=checks_were_enabled)
            if overrides_forward:
                del self.forward
            self._export_teardown()
            self.train(was_training)
        return (
            output,
            f"{type(self).__module__}.{type(self).__qualname__} exported to {export_format}",
            output_example,
        )

    def _export_torchscript(
        self, output: str, args: list[Any], kwargs: dict[str, Any], settings: Mapping[str, Any]
    ) -> None:
        traced = torch.jit.trace_module(
            self,
            {"forward": tuple(args) + tuple(kwargs.values())},
            strict=True,
            check_trace=bool(settings["check_trace"]),
            check_tolerance=settings["check_tolerance"],
        )
        traced = torch.jit.freeze(traced)
        if settings["verbose"]:
            logging.info(f"TorchScript code:\n{traced.code}")
        traced.save(output)

    def _export_onnx(
        self, output: str, args: list[Any], kwargs: dict[str, Any], settings: Mapping[str, Any]
    ) -> None:
        input_names, output_names = self.input_names, self.output_names
        dynamic_axes = settings["dynamic_axes"]
        if dynamic_axes is None:
            dynamic_axes = {
                **_dynamic_axes(self.input_module.input_types_for_export, input_names),
                **_dynamic_axes(self.output_module.output_types_for_export, output_names),
            }
        torch.onnx.export(
            self,
            tuple(args),
            output,
            kwargs=kwargs or None,
            input_names=input_names,
            output_names=output_names,
            verbose=settings["verbose"],
            do_constant_folding=settings["do_constant_folding"],
            dynamic_axes=dynamic_axes,
            opset_version=settings["onnx_opset_version"],
            keep_initializers_as_inputs=settings["keep_initializers_as_inputs"],
            export_modules_as_functions=settings["export_modules_as_functions"],
            dynamo=False,
        )

    def _prepare_for_export(self, **kwargs: Any) -> None:
        """Hook run before tracing, on this module and on every ``Exportable`` inside it (the latter with
        ``noreplace=True``); receives ``export``'s settings. Override to switch to an export-friendly mode."""

    def _export_teardown(self) -> None:
        """Hook run after export, even on failure; override to undo ``_prepare_for_export``."""


def _io_names(types: Mapping[str, Any] | None, disabled: Iterable[str]) -> list[str]:
    if types is None:
        return []
    disabled = set(disabled)
    return [name for name in types if name not in disabled]


def _dynamic_axes(types: Mapping[str, Any] | None, names: Iterable[str]) -> dict[str, dict[int, str]]:
    """``{name: {axis index: label}}`` for the Batch/Time/Width/Height axes of each named type."""
    if types is None:
        return {}
    axes_by_name: dict[str, dict[int, str]] = {}
    for name in names:
        declared = types.get(name)
        while isinstance(declared, (list, tuple)):
            declared = declared[0]
        if not isinstance(declared, NeuralType) or not declared.axes:
            continue
        dynamic = {
            index: f"{name}_{axis.kind}_{index}"
            for index, axis in enumerate(declared.axes)
            if axis.kind in _DYNAMIC_AXIS_KINDS
        }
        if dynamic:
            axes_by_name[name] = dynamic
    return axes_by_name


def _split_input_example(input_example: Any) -> tuple[list[Any], dict[str, Any]]:
    """``(positional arguments, keyword arguments)`` of an input example."""
    if isinstance(input_example, torch.Tensor):
        return [input_example], {}
    if isinstance(input_example, Mapping):
        return [], dict(input_example)
    items = list(input_example)
    if items and isinstance(items[-1], Mapping):
        return items[:-1], dict(items[-1])
    return items, {}


def _as_tuple(outputs: Any) -> tuple[Any, ...]:
    return tuple(outputs) if isinstance(outputs, (list, tuple)) else (outputs,)


def _augment_filename(output: str, prepend: str) -> str:
    if prepend == "self":
        return output
    directory, filename = os.path.split(output)
    return os.path.join(directory, f"{prepend}-{filename}")


def _verify_export(
    module: torch.nn.Module,
    output: str,
    export_format: ExportFormat,
    examples: Sequence[Any],
    tolerance: float,
) -> None:
    """Run the exported file on each example and compare with ``module``'s outputs.

    Raises:
        ValueError: an output differs by more than ``tolerance``.
        ImportError: an ONNX check was asked for but ``onnxruntime`` is not installed.
    """
    if export_format is ExportFormat.ONNX:
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                f"check_trace for {output!r} runs the ONNX file with onnxruntime, which is not installed. "
                "Install it (pip install 'nemo-kit-core[onnx]') or export with check_trace=False."
            ) from error
        session = onnxruntime.InferenceSession(output, providers=["CPUExecutionProvider"])
        graph_inputs = [node.name for node in session.get_inputs()]
    else:
        loaded = torch.jit.load(output)
    names = module.input_names
    for example in examples:
        args, kwargs = _split_input_example(example)
        expected = _as_tuple(module.forward(*args, **kwargs))
        if export_format is ExportFormat.ONNX:
            values = {**dict(zip(names, args)), **kwargs}
            feed = {name: values[name].detach().cpu().numpy() for name in graph_inputs}
            found = [torch.from_numpy(array) for array in session.run(None, feed)]
        else:
            found = list(_as_tuple(loaded(*args, *kwargs.values())))
        for index, (want, got) in enumerate(zip(expected, found)):
            if not torch.allclose(got.cpu(), want.cpu(), rtol=tolerance, atol=tolerance):
                label = module.output_names[index] if index < len(module.output_names) else f"#{index}"
                raise ValueError(
                    f"Exported {export_format.name} file {output!r} disagrees with PyTorch on output {label!r}: "
                    f"max abs difference {(got.cpu() - want.cpu()).abs().max().item():.3g} > tolerance "
                    f"{tolerance}. Check the module for export-unfriendly ops, or raise check_tolerance."
                )
