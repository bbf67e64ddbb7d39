"""Property tests for class paths read from configs (issue 16, "Bad input, tried in bulk").

Covers :mod:`nemo.utils.target_allowlist` (``is_target_allowed``, ``check_config_targets``, legacy
``cls``/``target`` next to ``params`` included), ``nemo.utils.model_utils.import_class_by_path`` and
``Serialization.from_config_dict`` (Hydra-style nested ``_target_`` instantiation), inside and outside
``targets_from_file`` (the scope ``hydra_runner`` and ``nemo train`` use for configs read from files).

The documented contract: a class path either resolves to an object defined under an allowed prefix, or
raises ``UnsafeTargetError`` (outside the allow-list; nothing imported) or ``ImportError`` (allowed but
missing), and the message quotes the offending value and, for configs, its key. No module outside the
allow-list is ever imported: paths are built from real standard-library modules that are not allowed
(``antigravity``, ``this``, ``webbrowser``, ...), and ``sys.modules`` must not gain them.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from nemo.core.classes.common import Serialization
from nemo.utils.config_depth import MAX_CONFIG_DEPTH, ConfigTooDeepError
from nemo.utils.model_utils import import_class_by_path
from nemo.utils.target_allowlist import (
    ENV_ALLOWED_TARGET_PREFIXES,
    UnsafeTargetError,
    allowed_prefixes,
    check_config_targets,
    is_target_allowed,
    targets_from_file,
)
from omegaconf import OmegaConf

EXAMPLES_IS_ALLOWED = 300
"""Random values given to ``is_target_allowed``."""
EXAMPLES_IMPORT = 300
"""Random dotted paths (and non-strings) given to ``import_class_by_path``."""
EXAMPLES_CHECK_CONFIG = 200
"""Random nested configs given to ``check_config_targets``."""
EXAMPLES_FROM_CONFIG = 200
"""Random nested ``_target_`` configs given to ``Serialization.from_config_dict``."""

PROPERTY_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FORBIDDEN_MODULES = (
    "antigravity",
    "this",
    "webbrowser",
    "turtle",
    "idlelib",
    "smtplib",
    "ftplib",
    "xmlrpc.server",
    "http.server",
)
"""Real standard-library modules outside the allow-list; importing some of them has visible side effects
(``this`` prints, ``antigravity`` opens a browser), so a path naming one must be refused before any import."""

ALLOWED_PREFIXES = ("nemo.", "torch.nn.", "torch.optim.", "torch.utils.data.")
"""Documented built-in prefixes this test builds paths under (those cheap to import: not Lightning's)."""

GOOD_TARGETS = {
    "torch.nn.Identity": ("torch.nn", "Identity"),
    "torch.nn.ReLU": ("torch.nn", "ReLU"),
    "torch.nn.modules.linear.Identity": ("torch.nn", "Identity"),
    "nemo.core.neural_types.elements.VoidType": ("nemo.core.neural_types.elements", "VoidType"),
    "nemo.core.neural_types.elements.LogitsType": ("nemo.core.neural_types.elements", "LogitsType"),
}
"""Allowed, importable classes that build without arguments, with where each is defined (module, name)."""


# ---------------------------------------------------------------------------------------- strategies
_IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
_SEGMENT = st.one_of(
    st.sampled_from(
        [
            "nemo",
            "core",
            "classes",
            "modelPT",
            "ModelPT",
            "neural_types",
            "elements",
            "torch",
            "nn",
            "Linear",
            "Identity",
            "optim",
            "Adam",
            "utils",
            "data",
            "Dataset",
            "modules",
            "os",
            "system",
            "sys",
            "subprocess",
            "builtins",
            "eval",
            "__class__",
            "__globals__",
            "__init__",
            "__builtins__",
            "__dict__",
            "mro",
            "",
            " ",
            "1abc",
            "é",
            *FORBIDDEN_MODULES,
        ]
    ),
    _IDENTIFIER,
    st.text(max_size=4),
)


@st.composite
def dotted_paths(draw: st.DrawFn) -> str:
    """An allowed prefix or a forbidden module (or nothing) followed by 0-4 more dotted segments."""
    head = draw(
        st.one_of(
            st.sampled_from(ALLOWED_PREFIXES),
            st.sampled_from(FORBIDDEN_MODULES).map(lambda name: name + "."),
            st.sampled_from(list(GOOD_TARGETS)).map(lambda path: path + "."),
            st.just(""),
        )
    )
    tail = ".".join(draw(st.lists(_SEGMENT, max_size=4)))
    path = head + tail
    return path[:-1] if path.endswith(".") and draw(st.booleans()) else path


_NON_STRINGS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "_target_"]), st.integers(), max_size=2),
)
target_values = st.one_of(
    dotted_paths(), st.sampled_from(list(GOOD_TARGETS)), _NON_STRINGS, st.text(max_size=12)
)


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", autouse=True)
def no_extra_prefixes() -> Iterator[None]:
    """No ``$NEMO_ALLOWED_TARGET_PREFIXES`` while these properties run (restored afterwards)."""
    saved = os.environ.pop(ENV_ALLOWED_TARGET_PREFIXES, None)
    yield
    if saved is not None:
        os.environ[ENV_ALLOWED_TARGET_PREFIXES] = saved


@pytest.fixture(scope="module")
def forbidden_unloaded() -> tuple[str, ...]:
    """The forbidden modules not imported yet, whose appearance in ``sys.modules`` the properties watch."""
    unloaded = tuple(name for name in FORBIDDEN_MODULES if name not in sys.modules)
    assert {"antigravity", "this", "webbrowser"} <= set(unloaded), "the watch list is already imported"
    return unloaded


def assert_nothing_forbidden_imported(watched: tuple[str, ...]) -> None:
    imported = [name for name in watched if name in sys.modules]
    assert not imported, f"imported modules outside the allow-list: {imported}"


def documented_allowed(path: object) -> bool:
    """The documented rule, independently: a non-empty string under one of ``allowed_prefixes()``, where a
    prefix ending in ``.`` allows everything below it and one without allows itself and ``itself.``..."""
    if not isinstance(path, str) or not path:
        return False
    for prefix in allowed_prefixes():
        if prefix.endswith(".") and path.startswith(prefix):
            return True
        if not prefix.endswith(".") and (path == prefix or path.startswith(prefix + ".")):
            return True
    return False


def quoted_in(value: object, message: str) -> bool:
    """Whether ``message`` quotes ``value`` (as its repr, or as text for strings)."""
    return repr(value) in message or (isinstance(value, str) and value in message)


# ---------------------------------------------------------------------------------------- properties
@settings(max_examples=EXAMPLES_IS_ALLOWED, **PROPERTY_SETTINGS)
@given(value=target_values)
@example(value="nemo.")
@example(value="nemo")
@example(value="nemox.Model")
@example(value="torch.nn")
def test_is_target_allowed_follows_the_documented_prefix_rule(value):
    assert is_target_allowed(value) is documented_allowed(value)


@settings(max_examples=EXAMPLES_IMPORT, **PROPERTY_SETTINGS)
@given(path=target_values, from_file=st.booleans())
@example(path="torch.nn.modules.module.os.system", from_file=False)
@example(path="nemo.utils.model_utils.importlib.import_module", from_file=False)
@example(path="torch.nn.Linear.__init__.__globals__", from_file=False)
@example(path="nemo..core", from_file=False)
@example(path="nemo.\0", from_file=False)
@example(path="nemo." + "x" * 5000, from_file=False)
@example(path="antigravity.fly", from_file=True)
@example(path="nemo.antigravity", from_file=False)
def test_import_class_by_path_resolves_allowed_or_raises_naming_the_path(forbidden_unloaded, path, from_file):
    scope = targets_from_file() if from_file else _no_scope()
    try:
        with scope:
            value = import_class_by_path(path, source="config key 'model._target_'")
    except (UnsafeTargetError, ImportError) as error:
        event(f"import_class_by_path: {type(error).__name__}")
        assert quoted_in(path, str(error)), f"the message does not quote {path!r}: {error}"
        if isinstance(error, UnsafeTargetError):
            assert "config key 'model._target_'" in str(error)
        if not documented_allowed(path):
            assert isinstance(error, UnsafeTargetError)
        value = None
    assert_nothing_forbidden_imported(forbidden_unloaded)
    if value is None:
        return
    event("import_class_by_path: resolved")
    assert documented_allowed(path)
    assert not isinstance(value, type(os)), "a module was returned"
    assert documented_allowed(f"{value.__module__}.{value.__qualname__}")
    if path in GOOD_TARGETS:
        module, name = GOOD_TARGETS[path]
        assert value is getattr(sys.modules[module], name)


class _no_scope:
    """The config was built by the running program: no ``targets_from_file`` block."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


# ------------------------------------------------------------------------------------- nested configs
_KEYS = st.one_of(st.sampled_from(["model", "encoder", "decoder", "optim", "params", "a", "b"]), _IDENTIFIER)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_characters="$\\", blacklist_categories=("Cs",)), max_size=8),
)


@st.composite
def configs(draw: st.DrawFn, depth: int = 0) -> Any:
    """A plain nested config: dicts and lists of scalars, ``_target_`` (or legacy ``cls``/``target`` next to
    ``params``) entries sprinkled at any depth, sometimes a chain of single-key dicts (up to 12 deep; deeper
    chains are fixed examples, as Hydra's cost grows with the square of the depth)."""
    if depth >= 3:
        return draw(_SCALARS)
    kind = draw(st.sampled_from(["scalar", "dict", "dict", "list", "chain"]))
    if kind == "scalar":
        return draw(_SCALARS)
    if kind == "list":
        return draw(st.lists(configs(depth + 1), max_size=3))
    if kind == "chain":
        inner = draw(configs(depth + 1))
        for _ in range(draw(st.integers(1, 12))):
            inner = {draw(_KEYS): inner}
        return inner
    node = draw(st.dictionaries(_KEYS, configs(depth + 1), max_size=3))
    marker = draw(st.sampled_from(["none", "_target_", "_target_", "cls", "target"]))
    if marker == "_target_":
        node["_target_"] = draw(target_values)
    elif marker in ("cls", "target"):
        node[marker] = draw(target_values)
        if draw(st.booleans()):
            node["params"] = draw(st.dictionaries(_KEYS, _SCALARS, max_size=2))
    return node


def offending_targets(node: Any, key_path: str = "") -> list[tuple[str, object]]:
    """``(dotted key, value)`` of every class path the documented rule refuses, independently of the code:
    ``_target_`` anywhere, ``cls``/``target`` in a dict that also has ``params``; ``None`` names nothing."""
    found: list[tuple[str, object]] = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            found += offending_targets(item, f"{key_path}[{index}]")
    elif isinstance(node, dict):
        class_keys = {"_target_"} | ({"cls", "target"} if "params" in node else set())
        for key, value in node.items():
            child = f"{key_path}.{key}" if key_path else key
            if key in class_keys:
                if value is not None and not documented_allowed(value):
                    found.append((child, value))
            else:
                found += offending_targets(value, child)
    return found


def chain(depth: int, leaf: Any, key: str = "a") -> Any:
    """``{key: {key: ... leaf}}``, ``depth`` dicts deep."""
    for _ in range(depth):
        leaf = {key: leaf}
    return leaf


@settings(max_examples=EXAMPLES_CHECK_CONFIG, **PROPERTY_SETTINGS)
@given(config=configs())
@example(config={"target": "os.system"})  # no params: a model's own ``target`` key, not a class path
@example(config={"target": "os.system", "params": {}})
def test_check_config_targets_refuses_exactly_the_disallowed_paths(forbidden_unloaded, config):
    bad = offending_targets(config)
    event(f"check_config_targets: {'refused' if bad else 'accepted'}")
    try:
        check_config_targets(config, source="'hostile.yaml'")
    except UnsafeTargetError as error:
        message = str(error)
        assert bad, f"refused a config whose class paths are all allowed: {message}"
        assert "'hostile.yaml'" in message
        assert any(f"config key {key!r}" in message and quoted_in(value, message) for key, value in bad), (
            f"the message names none of {bad}: {message}"
        )
    else:
        assert not bad, f"accepted disallowed class paths {bad}"
    assert_nothing_forbidden_imported(forbidden_unloaded)


def _is_good(value: object) -> bool:
    return isinstance(value, str) and value in GOOD_TARGETS


def _walk_dicts(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_dicts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_dicts(item)


def _only_hydra_safe(node: Any) -> Any:
    """``node`` without what would make Hydra itself refuse the config (keys it reserves, targets whose
    constructors need arguments): what is left tests the resolution of ``_target_`` alone."""
    if isinstance(node, list):
        return [_only_hydra_safe(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {}
    for key, value in node.items():
        if key in ("cls", "target", "params") or (
            key.startswith("_") and key.endswith("_") and key != "_target_"
        ):
            continue
        cleaned[key] = value if key == "_target_" else _only_hydra_safe(value)
    target = cleaned.get("_target_")
    if _is_good(target) and target != "torch.nn.Identity":
        cleaned = {"_target_": cleaned["_target_"]}  # builds without arguments
    return cleaned


@settings(max_examples=EXAMPLES_FROM_CONFIG, **PROPERTY_SETTINGS)
@given(inner=configs(), from_file=st.booleans())
@example(inner={"layer": {"_target_": "antigravity.fly"}}, from_file=False)
@example(inner={"layer": {"_target_": "this.s"}}, from_file=True)
@example(inner={"layer": {"_target_": ["webbrowser.open"]}}, from_file=False)
@example(inner={"layer": {"_target_": f"{__name__}.UserLayer"}}, from_file=True)
@example(inner={"layer": {"_target_": f"{__name__}.UserLayer"}}, from_file=False)
def test_from_config_dict_builds_or_raises_naming_the_key(forbidden_unloaded, inner, from_file):
    """``{"_target_": "torch.nn.Identity", **inner}``: ``Identity`` takes any arguments, so whether the call
    works depends only on the ``_target_`` values nested in ``inner``."""
    inner = _only_hydra_safe(inner if isinstance(inner, dict) else {"value": inner})
    config = {
        "_target_": "torch.nn.Identity",
        **{key: value for key, value in inner.items() if key != "_target_"},
    }
    nested = [node["_target_"] for node in _walk_dicts(config) if "_target_" in node]
    user_class = f"{__name__}.UserLayer"
    resolvable = all(_is_good(value) or (value == user_class and not from_file) for value in nested)
    scope = targets_from_file() if from_file else _no_scope()
    try:
        with scope:
            built = Serialization.from_config_dict(OmegaConf.create(config))
    except (UnsafeTargetError, ImportError) as error:
        event(f"from_config_dict: {type(error).__name__}")
        message = str(error)
        assert not resolvable, f"refused a config whose targets all resolve: {message}"
        culprits = [
            (key, value)
            for key, value in _target_keys(config)
            if not _is_good(value) and not (value == user_class and not from_file)
        ]
        assert any(
            f"config key {key!r}" in message and quoted_in(value, message) for key, value in culprits
        ), f"the message names none of {culprits}: {message}"
    else:
        event("from_config_dict: built")
        assert resolvable, f"built a config naming unresolvable targets {nested}"
        import torch

        assert isinstance(built, torch.nn.Identity)
    assert_nothing_forbidden_imported(forbidden_unloaded)


def test_deep_configs_are_checked_whole(forbidden_unloaded):
    """Depths hypothesis cannot print: a class path 500 dicts down is still found and named by its key;
    ``from_config_dict`` (Hydra copies every level, so its cost grows with the square of the depth) at 40."""
    for leaf, key in (
        ({"_target_": "antigravity.fly"}, "._target_"),
        ([{"cls": "this.s", "params": {}}], "[0].cls"),
    ):
        with pytest.raises(UnsafeTargetError) as info:
            check_config_targets(chain(500, leaf), source="'deep.yaml'")
        assert f"config key {'.'.join(['a'] * 500) + key!r} in 'deep.yaml'" in str(info.value)
    deep_bad = {"_target_": "torch.nn.Identity", "x": chain(40, {"_target_": "webbrowser.open"})}
    with pytest.raises(
        UnsafeTargetError, match=r"'webbrowser.open' named by config key 'x(\.a){40}\._target_'"
    ):
        Serialization.from_config_dict(OmegaConf.create(deep_bad))
    deep_good = {"_target_": "torch.nn.Identity", "x": chain(40, {"_target_": "torch.nn.ReLU"})}
    with targets_from_file():
        assert type(Serialization.from_config_dict(OmegaConf.create(deep_good))).__name__ == "Identity"
    assert_nothing_forbidden_imported(forbidden_unloaded)


@pytest.mark.parametrize("depth", [MAX_CONFIG_DEPTH - 1, MAX_CONFIG_DEPTH, 95, 5000])
@pytest.mark.parametrize("as_dictconfig", [False, True])
def test_configs_nested_past_the_limit_are_refused_by_key_not_by_recursion_error(depth, as_dictconfig):
    """Levels: the top dict is 1, ``x`` 2, so ``chain(n, {...})`` under ``x`` reaches level n + 2. OmegaConf
    itself cannot hold the deepest ones, so those are given as plain dicts only."""
    config = {"_target_": "torch.nn.Identity", "x": chain(depth - 2, {"_target_": "torch.nn.ReLU"})}
    if as_dictconfig:
        if depth > 90:
            pytest.skip("OmegaConf.create itself recurses past Python's limit at this depth")
        config = OmegaConf.create(config)
    if depth <= MAX_CONFIG_DEPTH:
        with targets_from_file():
            assert type(Serialization.from_config_dict(config)).__name__ == "Identity"
        return
    expected_key = "x" + ".a" * (MAX_CONFIG_DEPTH - 1)
    with pytest.raises(
        ConfigTooDeepError, match=rf"config key '{expected_key}' starts level {MAX_CONFIG_DEPTH + 1}"
    ):
        Serialization.from_config_dict(config)


def test_a_yaml_config_too_deep_for_hydra_is_a_message_not_a_traceback(tmp_path):
    from nemo.core.cli.errors import CommandError
    from nemo.core.cli.train import compose_config

    path = tmp_path / "deep.yaml"
    path.write_text("a:\n" + "".join("  " * level + "a:\n" for level in range(1, 400)) + "  " * 400 + "1\n")
    with pytest.raises(CommandError, match="nests dicts and lists too deeply"):
        compose_config(path, [])


def _target_keys(node: Any, key_path: str = "") -> list[tuple[str, object]]:
    """``(dotted key, value)`` of every ``_target_`` in ``node``."""
    found: list[tuple[str, object]] = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            found += _target_keys(item, f"{key_path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            child = f"{key_path}.{key}" if key_path else key
            found += [(child, value)] if key == "_target_" else _target_keys(value, child)
    return found


class UserLayer:
    """A class this test module defines: buildable by name from a config the program builds, never from a file."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


def test_documented_allowed_matches_known_cases():
    """The independent oracle itself, on cases the module docstring of target_allowlist spells out."""
    assert documented_allowed("nemo.collections.asr.modules.ConvASREncoder")
    assert documented_allowed("torch.optim.Adam")
    assert not documented_allowed("os.system")
    assert not documented_allowed("nemox.Model")
    assert not documented_allowed("")
    assert not documented_allowed(None)
    assert not documented_allowed(math.pi)
