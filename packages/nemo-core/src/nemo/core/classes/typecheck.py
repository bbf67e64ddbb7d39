"""Runtime neural-type checks: the ``Typing`` mixin and the ``@typecheck()`` decorator.

A class inheriting ``Typing`` declares ``input_types`` / ``output_types``; decorating a method with
``@typecheck()`` then makes every call keyword-only and checks, per call, the argument names, each
tensor's rank against the declared axes and each incoming ``.neural_type`` against the declaration, and
attaches the declared ``NeuralType`` to every output as ``.neural_type``.

The declarations are read once per instance (on its first checked call) and compiled; later calls only
do a few dict lookups per argument. A check that fails against cached declarations is retried against
freshly read ones, so a module whose declarations change never gets a spurious error; call
``typecheck.clear_type_cache()`` after such a change anyway, so that outputs get the new types
(``typecheck.set_typecheck_enabled()`` and ``typecheck.disable_checks()`` clear the cache too).

Example:
    >>> class Scale(NeuralModule):
    ...     @property
    ...     def input_types(self):
    ...         return {"x": NeuralType(("B", "T"), AudioSignal())}
    ...     @property
    ...     def output_types(self):
    ...         return {"y": NeuralType(("B", "T"), AudioSignal())}
    ...     @typecheck()
    ...     def forward(self, x):
    ...         return 2 * x
    >>> Scale()(x=torch.zeros(2, 8)).neural_type
    NeuralType(axis=(batch, time), element_type=AudioSignal)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any, TypeVar

from nemo.core.neural_types.neural_type import NeuralType
from nemo.core.neural_types.signature import PortType, TypeSignature

__all__ = ["Typing", "typecheck", "is_typecheck_enabled", "is_semantic_typecheck_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])

_TYPECHECK_ENABLED = True
_SEMANTIC_CHECK_ENABLED = True
# Compiled declarations cached on instances are valid only while they hold this very object.
_cache_token = object()
# Instance attributes holding a method's compiled declarations start with this.
_PLAN_PREFIX = "_typecheck_plan_"


def is_typecheck_enabled() -> bool:
    """Whether ``@typecheck()`` checks calls (``typecheck.set_typecheck_enabled``)."""
    return _TYPECHECK_ENABLED


def is_semantic_typecheck_enabled() -> bool:
    """Whether incoming ``.neural_type``\\ s are compared (``typecheck.set_semantic_check_enabled``)."""
    return _SEMANTIC_CHECK_ENABLED


class Typing:
    """Mixin for classes whose methods declare neural types (``NeuralModule``, ``Loss``, ``Dataset``, ...)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # Declarations may depend on the instance's own state (a mode switch, as NeMo's mode-specific forwards
        # do): setting an attribute forgets the plans compiled from them, so the next call reads them afresh.
        if name.startswith(_PLAN_PREFIX):
            return
        instance_dict = self.__dict__
        stale = [key for key in instance_dict if key.startswith(_PLAN_PREFIX)]
        for key in stale:
            del instance_dict[key]

    @property
    def input_types(self) -> dict[str, NeuralType] | None:
        """Input names -> ``NeuralType`` (or ``[NeuralType]`` for lists); ``None`` for unchecked inputs."""
        return None

    @property
    def output_types(self) -> dict[str, NeuralType] | None:
        """Output names -> ``NeuralType`` (or ``[NeuralType]`` for lists), in return order; ``None`` if unchecked."""
        return None

    def _validate_input_types(
        self, input_types: Mapping[str, Any] | None = None, ignore_collections: bool = False, **kwargs: Any
    ) -> None:
        """Check ``kwargs`` against ``input_types`` as ``@typecheck()`` does before a call.

        Raises:
            TypeError: an argument is unknown or missing, or has the wrong rank, nesting or neural type.
        """
        if input_types is not None:
            where = type(self).__name__
            _check_inputs(
                TypeSignature(input_types, f"{where} input_types"), kwargs, where, ignore_collections
            )

    def _attach_and_validate_output_types(
        self,
        out_objects: Any,
        ignore_collections: bool = False,
        output_types: Mapping[str, Any] | None = None,
    ) -> None:
        """Attach ``output_types`` to ``out_objects`` as ``.neural_type`` and check them, as after a call.

        Raises:
            TypeError: wrong number of outputs, or an output has the wrong rank or nesting.
        """
        if output_types is not None:
            where = type(self).__name__
            _attach_outputs(
                TypeSignature(output_types, f"{where} output_types"), out_objects, where, ignore_collections
            )


class _Plan:
    """The compiled declarations one decorated method uses for one instance."""

    __slots__ = ("token", "where", "inputs", "outputs")

    def __init__(self, where: str, inputs: TypeSignature | None, outputs: TypeSignature | None) -> None:
        self.token = _cache_token
        self.where = where
        self.inputs = inputs
        self.outputs = outputs


class typecheck:
    """Decorator that checks a ``Typing`` method's inputs and attaches types to its outputs.

    Args:
        input_types: declaration to use instead of the instance's ``input_types`` (``None``: no input checks).
        output_types: declaration to use instead of the instance's ``output_types`` (``None``: none attached).
        ignore_collections: skip the check that nested lists are as deep as declared.

    Use as ``@typecheck()`` on ``forward`` or any other method of a ``Typing`` subclass. Checked calls
    take keyword arguments only.
    """

    class TypeState(Enum):
        """Marks a declaration not overridden at the decorator."""

        UNINITIALIZED = 0

    def __init__(
        self,
        input_types: TypeState | Mapping[str, Any] | None = TypeState.UNINITIALIZED,
        output_types: TypeState | Mapping[str, Any] | None = TypeState.UNINITIALIZED,
        ignore_collections: bool = False,
    ) -> None:
        self.input_types = input_types
        self.output_types = output_types
        self.input_override = input_types is not typecheck.TypeState.UNINITIALIZED
        self.output_override = output_types is not typecheck.TypeState.UNINITIALIZED
        self.ignore_collections = ignore_collections

    def __call__(self, wrapped: _F) -> _F:
        plan_key = f"{_PLAN_PREFIX}{id(self):x}"
        method_name = wrapped.__name__
        ignore_collections = self.ignore_collections
        build_plan = self._build_plan

        @functools.wraps(wrapped)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _TYPECHECK_ENABLED:
                return wrapped(*args, **kwargs)
            try:
                plan = args[0].__dict__[plan_key]
                cached = plan.token is _cache_token
            except (IndexError, AttributeError, KeyError):
                cached = False
            if not cached:
                plan = build_plan(args, method_name, plan_key)
            try:
                inputs = plan.inputs
                if inputs is not None:
                    if len(args) > 1:
                        raise _positional_arguments_error(plan.where, method_name, len(args) - 1, inputs)
                    _check_inputs(inputs, kwargs, plan.where, ignore_collections)
            except TypeError:
                if not cached:
                    raise
                # The instance may have changed its declarations since they were cached: judge by fresh ones.
                plan, cached = build_plan(args, method_name, plan_key), False
                _check_call(plan, args, kwargs, method_name, ignore_collections)
            result = wrapped(*args, **kwargs)
            if plan.outputs is not None:
                try:
                    _attach_outputs(plan.outputs, result, plan.where, ignore_collections)
                except TypeError:
                    if not cached:
                        raise
                    plan = build_plan(args, method_name, plan_key)
                    if plan.outputs is not None:
                        _attach_outputs(plan.outputs, result, plan.where, ignore_collections)
            return result

        return wrapper  # type: ignore[return-value]

    def _build_plan(self, args: tuple[Any, ...], method_name: str, plan_key: str) -> _Plan:
        """Resolve and compile the declarations for ``args[0]``, caching them on it when possible."""
        instance = args[0] if args else None
        if not isinstance(instance, Typing):
            raise RuntimeError(
                f"@typecheck() on {method_name!r}: only methods of classes that inherit "
                f"nemo.core.classes.Typing (NeuralModule, Loss, Dataset, ModelPT, ...) can be type-checked, "
                f"but it was called on {type(instance).__name__}. Make the class inherit Typing, or remove "
                "the decorator."
            )
        if hasattr(instance, "input_ports") or hasattr(instance, "output_ports"):
            raise RuntimeError(
                f"{type(instance).__name__} defines input_ports/output_ports; @typecheck() reads "
                "input_types and output_types. Rename those properties."
            )
        where = f"{type(instance).__name__}.{method_name}"
        input_types = self.input_types if self.input_override else instance.input_types
        output_types = self.output_types if self.output_override else instance.output_types
        plan = _Plan(
            where,
            None if input_types is None else TypeSignature(input_types, f"{where} input_types"),
            None if output_types is None else TypeSignature(output_types, f"{where} output_types"),
        )
        instance_dict = getattr(instance, "__dict__", None)
        if instance_dict is not None:
            instance_dict[plan_key] = plan
        return plan

    @staticmethod
    def set_typecheck_enabled(enabled: bool = True) -> None:
        """Turn all ``@typecheck()`` checks (and output type attachment) on or off, process-wide."""
        global _TYPECHECK_ENABLED
        _TYPECHECK_ENABLED = enabled
        typecheck.clear_type_cache()

    @staticmethod
    @contextmanager
    def disable_checks() -> Iterator[None]:
        """Context manager that turns ``@typecheck()`` off inside, restoring the previous setting after."""
        previous = _TYPECHECK_ENABLED
        typecheck.set_typecheck_enabled(enabled=False)
        try:
            yield
        finally:
            typecheck.set_typecheck_enabled(enabled=previous)

    @staticmethod
    def set_semantic_check_enabled(enabled: bool = True) -> None:
        """Turn the comparison of incoming ``.neural_type``\\ s on or off (names and ranks are still checked)."""
        global _SEMANTIC_CHECK_ENABLED
        _SEMANTIC_CHECK_ENABLED = enabled

    @staticmethod
    @contextmanager
    def disable_semantic_checks() -> Iterator[None]:
        """Context manager that skips neural-type comparisons inside, restoring the previous setting after."""
        previous = _SEMANTIC_CHECK_ENABLED
        typecheck.set_semantic_check_enabled(enabled=False)
        try:
            yield
        finally:
            typecheck.set_semantic_check_enabled(enabled=previous)

    @staticmethod
    def clear_type_cache() -> None:
        """Forget the declarations cached on instances; each is read again on its next checked call."""
        global _cache_token
        _cache_token = object()


def _check_call(
    plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any], method_name: str, ignore_collections: bool
) -> None:
    """Check a call's arguments (keyword-only, then per-argument checks) when the plan types its inputs."""
    inputs = plan.inputs
    if inputs is not None:
        if len(args) > 1:
            raise _positional_arguments_error(plan.where, method_name, len(args) - 1, inputs)
        _check_inputs(inputs, kwargs, plan.where, ignore_collections)


def _check_inputs(
    signature: TypeSignature, kwargs: dict[str, Any], where: str, ignore_collections: bool
) -> None:
    """Check keyword arguments against an input signature (names, neural types, ranks, nesting)."""
    ports = signature.ports
    if len(kwargs) != len(ports):
        _check_input_names(signature, kwargs, where)
    semantic = _SEMANTIC_CHECK_ENABLED
    for name, value in kwargs.items():
        port = ports.get(name)
        if port is None:
            _check_input_names(signature, kwargs, where)  # raises: ``name`` is not declared
        found = getattr(value, "neural_type", None)
        if semantic and found is not None and port.accepted.get(id(found)) is not found:
            _check_semantics(port, found, where)
        shape = getattr(value, "shape", None)
        if shape is not None:
            if port.rank is not None and len(shape) != port.rank:
                raise _rank_error("input", port, shape, port.rank, where)
        elif isinstance(value, (list, tuple)):
            for item in value:
                _check_nested_input(item, port, 1, where, ignore_collections, semantic)


def _check_input_names(signature: TypeSignature, kwargs: Mapping[str, Any], where: str) -> None:
    """Raise for an argument not in the signature, then for a mandatory one not given."""
    declared = list(signature.ports)
    unexpected = [name for name in kwargs if name not in signature.ports]
    if unexpected:
        raise TypeError(
            f"{where} got unexpected input argument(s) {unexpected}: they have no entry in input_types. "
            f"Expected names: {declared}. Rename the argument(s), or declare them in input_types."
        )
    missing = [name for name in signature.mandatory if name not in kwargs]
    if missing:
        raise TypeError(
            f"{where} is missing mandatory input argument(s) {missing} (got {list(kwargs)}; mandatory: "
            f"{list(signature.mandatory)}). Pass them as keyword arguments, or declare them "
            "NeuralType(..., optional=True)."
        )


def _check_nested_input(
    value: Any, port: PortType, depth: int, where: str, ignore_collections: bool, semantic: bool
) -> None:
    """Check one element of a list/tuple argument, ``depth`` container levels down."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_nested_input(item, port, depth + 1, where, ignore_collections, semantic)
        return
    if not ignore_collections and not port.depth_fits(depth):
        raise _depth_error("input", port, depth, where)
    found = getattr(value, "neural_type", None)
    if semantic and found is not None:
        _check_semantics(port, found, where)
    shape = getattr(value, "shape", None)
    expected = port.expected_rank(depth)
    if shape is not None and expected is not None and len(shape) != expected:
        raise _rank_error("input", port, shape, expected, where)


def _check_semantics(port: PortType, found: Any, where: str) -> None:
    """Raise if the neural type a value carries does not fit ``port``."""
    if not isinstance(found, NeuralType):
        return
    result = port.mismatch(found)
    if result is not None:
        raise TypeError(
            f"{where}: input argument {port.name!r} has an incompatible neural type "
            f"({result.name}; SAME or GREATER expected).\n"
            f"  expected: {_describe(port.type)}\n"
            f"  found:    {_describe(found)}\n"
            "Pass a value of the declared type, or wrap the call in typecheck.disable_semantic_checks() "
            "if the mismatch is intended."
        )


def _attach_outputs(signature: TypeSignature, outputs: Any, where: str, ignore_collections: bool) -> None:
    """Attach each output's declared ``NeuralType`` as ``.neural_type`` and check ranks and counts."""
    ports = signature.port_list
    if not isinstance(outputs, (list, tuple)):
        if not signature.accepts_single_value:
            raise _output_count_error(signature, 1, where)
        _attach_leaf(outputs, ports[0], 0, where)
    elif signature.is_singular_container:
        depth = 0 if type(outputs) is tuple and len(outputs) == 1 else 1
        for item in outputs:
            _attach_nested(item, ports[0], depth, where, ignore_collections)
    else:
        if not len(signature.mandatory) <= len(outputs) <= len(ports):
            raise _output_count_error(signature, len(outputs), where)
        for item, port in zip(outputs, ports):
            _attach_nested(item, port, 0, where, ignore_collections)


def _output_count_error(signature: TypeSignature, count: int, where: str) -> TypeError:
    return TypeError(
        f"{where} returned {count} output(s), but output_types declares {len(signature.port_list)} "
        f"({len(signature.mandatory)} mandatory): {list(signature.ports)}. Return one value per declared "
        "output; if the method returns one list of values, declare its type in a list ([NeuralType(...)])."
    )


def _attach_nested(value: Any, port: PortType, depth: int, where: str, ignore_collections: bool) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _attach_nested(item, port, depth + 1, where, ignore_collections)
        return
    if not ignore_collections and not port.depth_fits(depth):
        raise _depth_error("output", port, depth, where)
    _attach_leaf(value, port, depth, where)


def _attach_leaf(value: Any, port: PortType, depth: int, where: str) -> None:
    try:
        value.neural_type = port.type
    except (AttributeError, TypeError):
        pass  # ints, None and other objects that take no attributes stay untyped, as in NeMo
    shape = getattr(value, "shape", None)
    if shape is not None:
        expected = port.expected_rank(depth)
        if expected is not None and len(shape) != expected:
            raise _rank_error("output", port, shape, expected, where)


def _describe(ntype: NeuralType) -> str:
    """``repr`` of a neural type plus its element parameters, e.g. ``... with freq=16000``."""
    params = ntype.elements_type.type_parameters
    if not params:
        return repr(ntype)
    return f"{ntype!r} with " + ", ".join(f"{key}={value!r}" for key, value in params.items())


def _rank_error(kind: str, port: PortType, shape: Any, expected: int, where: str) -> TypeError:
    return TypeError(
        f"{where}: {kind} {port.name!r} has {len(shape)} dimension(s) (shape {tuple(shape)}), but its "
        f"declared axes {port.type.axes} need {expected}. Reshape the {kind}, or fix its declaration in "
        f"{kind}_types."
    )


def _depth_error(kind: str, port: PortType, depth: int, where: str) -> TypeError:
    low, high = port.depth, port.depth + port.list_axes
    expected = str(low) if low == high else f"{low} to {high}"
    return TypeError(
        f"{where}: {kind} {port.name!r} is nested {depth} list level(s) deep, but its declaration "
        f"({port.type!r} inside {port.depth} list bracket(s)) expects {expected}. Match the nesting, "
        "or use @typecheck(ignore_collections=True)."
    )


def _positional_arguments_error(where: str, method_name: str, count: int, inputs: TypeSignature) -> TypeError:
    call = ", ".join(f"{name}=..." for name in inputs.ports)
    return TypeError(
        f"{where} was called with {count} positional argument(s), but type-checked methods take keyword "
        f"arguments only. Call it as {method_name}({call})."
    )
