"""The conformance kit: what every nemo model, ours or a plugin's, must do, checked in one line of a test.

    from nemo.core.conformance import assert_model_conforms

    def test_my_model_conforms(tmp_path):
        assert_model_conforms(MyModel, cfg, tmp_path)

``assert_model_conforms`` runs each check below and fails with an ``AssertionError`` that names the model and the
check. Each check is also usable alone:

- ``check_instantiates``: ``model_class(cfg=cfg.model)`` builds;
- ``check_typecheck_declarations``: every ``input_types`` / ``output_types`` of the model and its submodules maps
  names to ``NeuralType`` (or NeMo's ``[NeuralType]`` for a list of tensors), and every input that is not optional
  is a parameter of ``forward``;
- ``check_save_restore``: ``save_to`` then ``restore_from`` gives bit-identical outputs;
- ``check_fit``: a real Lightning ``Trainer`` runs two training steps on the config's (tiny) data and the weights
  change;
- ``check_export``: where the model is ``Exportable`` and ``onnx`` / ``onnxruntime`` are installed, ONNX export
  runs and its outputs match PyTorch's (``export(check_trace=True)``).

Nothing here is imported by ``import nemo.core``; torch and Lightning load when a check runs.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "assert_model_conforms",
    "check_export",
    "check_fit",
    "check_instantiates",
    "check_save_restore",
    "check_typecheck_declarations",
    "example_inputs",
]


def _model_section(cfg: Any) -> Any:
    """``cfg.model`` when ``cfg`` is a whole training config, else ``cfg``."""
    return cfg.model if "model" in cfg else cfg


def check_instantiates(model_class: type, cfg: Any, **kwargs: Any) -> Any:
    """``model_class(cfg=<model section of cfg>, **kwargs)``; an error says which class failed and why."""
    try:
        return model_class(cfg=_model_section(cfg), **kwargs)
    except Exception as exc:
        raise AssertionError(
            f"{model_class.__name__}(cfg=...) failed: {type(exc).__name__}: {exc}. The config must build the model."
        ) from exc


def _declared(module: Any, attribute: str) -> Mapping[str, Any] | None:
    try:
        return getattr(module, attribute)
    except Exception as exc:
        raise AssertionError(
            f"{type(module).__name__}.{attribute} raised {type(exc).__name__}: {exc}; it must return a dict or None."
        ) from exc


def check_typecheck_declarations(model: Any) -> int:
    """Check the neural-type declarations of ``model`` and of every submodule that has them.

    Returns:
        How many modules declare types.
    """
    from nemo.core.neural_types.signature import PortType

    checked = 0
    for name, module in model.named_modules():
        if not hasattr(type(module), "input_types"):
            continue
        where = f"{type(module).__name__} ({name or 'the model'})"
        ports: dict[str, dict[str, PortType]] = {}
        for attribute in ("input_types", "output_types"):
            types = _declared(module, attribute) or {}
            assert isinstance(types, Mapping), f"{where}.{attribute} is a {type(types).__name__}, not a dict"
            ports[attribute] = {}
            for key, value in types.items():
                # What @typecheck compiles each entry to: a NeuralType, or NeMo's [NeuralType] for a list of tensors.
                try:
                    ports[attribute][key] = PortType(key, value, f"{where}.{attribute}")
                except TypeError as exc:
                    raise AssertionError(
                        f"{where}.{attribute}[{key!r}] is a {type(value).__name__}, not a NeuralType "
                        f"(or a list of one, NeMo's notation for a list of tensors): {exc}"
                    ) from exc
        parameters = inspect.signature(module.forward).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        # An optional input forward() does not take is NeMo's own pattern (EncDecCTCModel's `sample_id`).
        missing = [
            key
            for key, port in ports["input_types"].items()
            if key not in parameters and not takes_any and not port.type.optional
        ]
        assert not missing, f"{where}.input_types names {missing}, which forward() does not take"
        checked += 1
    assert checked, f"{type(model).__name__} declares no input_types/output_types anywhere"
    return checked


def example_inputs(model: Any) -> dict[str, Any]:
    """Keyword inputs for ``model.forward`` from ``input_example()`` (positional tensors named in ``input_types``
    order, then any trailing dict of keyword arguments): the model's own, else its export ``input_module``'s."""
    example, source = None, model
    for source in (model, getattr(model, "input_module", None)):
        make_example = getattr(source, "input_example", None)
        example = make_example() if make_example is not None else None
        if example is not None:
            break
    assert example is not None, (
        f"{type(model).__name__} gives no input_example(): pass inputs=... to the conformance check"
    )
    example = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    keywords = dict(example[-1]) if example and isinstance(example[-1], Mapping) else {}
    positional = example[:-1] if keywords else example
    names = list(source.input_types or {})
    return {**dict(zip(names, positional)), **keywords}


def _tensors(outputs: Any) -> list[Any]:
    """Every tensor in ``outputs`` (a tensor, or tuples, lists and dicts of them), in order."""
    import torch

    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, Mapping):
        return [tensor for value in outputs.values() for tensor in _tensors(value)]
    if isinstance(outputs, (tuple, list)):
        return [tensor for value in outputs for tensor in _tensors(value)]
    return []


def _outputs(model: Any, inputs: Mapping[str, Any]) -> list[Any]:
    import torch

    model.eval()
    with torch.no_grad():
        return _tensors(model(**inputs))


def check_save_restore(model: Any, inputs: Mapping[str, Any], tmp_path: Path) -> Any:
    """``save_to`` / ``restore_from`` round trip: the restored model's outputs equal the original's bit for bit.

    Returns:
        The restored model.
    """
    import torch

    expected = _outputs(model, inputs)
    assert expected, f"{type(model).__name__}.forward returned no tensor"
    path = Path(tmp_path) / f"{type(model).__name__}.nemo"
    model.save_to(str(path))
    restored = type(model).restore_from(str(path), map_location="cpu")
    actual = _outputs(restored, inputs)
    assert len(actual) == len(expected), (
        f"restored {type(model).__name__} returns {len(actual)} tensors, not {len(expected)}"
    )
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.shape == e.shape and torch.equal(a, e), (
            f"output {index} of the restored {type(model).__name__} differs from the saved model's"
        )
    return restored


def check_fit(model_class: type, cfg: Any, tmp_path: Path, max_steps: int = 2, **trainer_kwargs: Any) -> Any:
    """Train ``model_class(cfg)`` for ``max_steps`` steps with a real Lightning ``Trainer`` on the CPU.

    The config's ``train_ds`` must point at tiny data. Validation is skipped. Fails when no step ran or no
    trainable weight changed.

    Returns:
        The trained model.
    """
    import pytorch_lightning as pl
    import torch

    settings = {
        "max_steps": max_steps,
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "limit_val_batches": 0,
        "num_sanity_val_steps": 0,
        "default_root_dir": str(tmp_path),
        **trainer_kwargs,
    }
    trainer = pl.Trainer(**settings)
    model = check_instantiates(model_class, cfg, trainer=trainer)
    before = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    trainer.fit(model)
    assert trainer.global_step >= 1, f"{model_class.__name__}: Trainer.fit ran no training step"
    changed = [
        name for name, p in model.named_parameters() if name in before and not torch.equal(before[name], p)
    ]
    assert changed, f"{model_class.__name__}: {trainer.global_step} training steps changed no weight"
    return model


def check_export(model: Any, tmp_path: Path) -> Path | None:
    """ONNX export with the exported graph run by onnxruntime against PyTorch (``check_trace=True``).

    Returns:
        The ``.onnx`` file (the first one for a model exported in parts, e.g. a transducer), or ``None`` where
        the model is not ``Exportable``, cannot export ONNX, or onnx / onnxruntime are not installed.
    """
    from nemo.core.classes.exportable import Exportable, ExportFormat

    if not isinstance(model, Exportable) or ExportFormat.ONNX not in model.supported_export_formats:
        return None
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    path = Path(tmp_path) / f"{type(model).__name__}.onnx"
    model.eval()
    written, _ = model.export(str(path), check_trace=True)  # a model with export subnets writes one file each
    for file in map(Path, written):
        assert file.is_file() and file.stat().st_size > 0, (
            f"{type(model).__name__}.export wrote nothing at {file}"
        )
    return Path(written[0])


def assert_model_conforms(
    model_class: type,
    cfg: Any,
    tmp_path: Path,
    *,
    inputs: Mapping[str, Any] | None = None,
    fit: bool = True,
    export: bool = True,
) -> Any:
    """Run every conformance check on ``model_class`` built from ``cfg`` (a whole config or its ``model`` section).

    Args:
        model_class: the ``ModelPT`` subclass.
        cfg: its config; ``train_ds`` must point at tiny data when ``fit``.
        tmp_path: a folder for the archive, the trainer and the export.
        inputs: keyword inputs of ``forward`` (default: ``example_inputs(model)``, from ``input_example()``).
        fit: run ``check_fit``.
        export: run ``check_export`` where the model supports it.

    Returns:
        The model built from ``cfg`` (untrained).
    """
    tmp_path = Path(tmp_path)
    model = check_instantiates(model_class, cfg)
    check_typecheck_declarations(model)
    check_save_restore(model, example_inputs(model) if inputs is None else inputs, tmp_path)
    if fit:
        check_fit(model_class, cfg, tmp_path / "fit")
    if export:
        check_export(model, tmp_path)
    return model
