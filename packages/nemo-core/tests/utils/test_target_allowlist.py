"""nemo.utils.target_allowlist: where plugin prefixes come from; its documented path in nemo.core.classes."""

from __future__ import annotations

import json
from pathlib import Path

import nemo.core.classes.target_allowlist as documented
import nemo.utils.target_allowlist as policy
import pytest
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A distribution whose plugin allows ``fake_pfx_models.``, next to that module's class ``Tiny``."""
    return write_distribution(
        tmp_path,
        "nemo-fake-prefixes",
        plugins={"fakepfx": "fake_pfx_plugin"},
        files={
            "fake_pfx_plugin.py": plugin_source(target_prefixes=["fake_pfx_models."]),
            "fake_pfx_models.py": "class Tiny:\n    pass\n",
        },
    )


def _run(site: Path, code: str) -> object:
    completed = run_python(["-c", f"import json, sys\n{code}\nprint(json.dumps(result))"], paths=[site])
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def test_importing_nemo_core_lets_plugin_prefixes_into_import_class_by_path(site: Path) -> None:
    result = _run(
        site,
        "import nemo.core\n"
        "from nemo.utils.model_utils import import_class_by_path\n"
        "result = [import_class_by_path('fake_pfx_models.Tiny').__name__, "
        "'fake_pfx_models.' in nemo.utils.target_allowlist.allowed_prefixes()]",
    )
    assert result == ["Tiny", True]


def test_nemo_utils_alone_imports_nothing_of_nemo_core_and_knows_no_plugin(site: Path) -> None:
    result = _run(
        site,
        "from nemo.utils.model_utils import import_class_by_path\n"
        "from nemo.utils.target_allowlist import is_target_allowed\n"
        "core = sorted(m for m in sys.modules if m.startswith('nemo.core'))\n"
        "result = [is_target_allowed('fake_pfx_models.Tiny'), core]",
    )
    assert result == [False, []]


def test_the_plugin_source_is_asked_only_for_paths_outside_the_builtin_prefixes() -> None:
    asked: list[int] = []

    def source() -> tuple[str, ...]:
        asked.append(1)
        return ("my_plugin_pkg.",)

    previous = policy._plugin_prefix_source
    policy.set_plugin_prefix_source(source)
    try:
        assert policy.is_target_allowed("torch.nn.Linear") and not asked
        assert policy.is_target_allowed("my_plugin_pkg.models.Model") and len(asked) == 1
        assert not policy.is_target_allowed("my_plugin_pkg_evil.Model")
        assert policy.allowed_prefixes()[-1] == "my_plugin_pkg."
    finally:
        policy.set_plugin_prefix_source(previous)


def test_the_documented_path_re_exports_the_same_objects() -> None:
    for name in documented.__all__:
        assert getattr(documented, name) is getattr(policy, name), name
    assert set(documented.__all__) == set(policy.__all__) - {"set_plugin_prefix_source"}


class UserBlock:
    """A class this test module defines: the running program's own code, already imported."""

    def __init__(self, size: int = 1) -> None:
        self.size = size


def test_a_config_built_in_python_may_name_the_programs_own_classes() -> None:
    from nemo.utils.model_utils import import_class_by_path

    path = f"{UserBlock.__module__}.UserBlock"
    assert not policy.is_target_allowed(path)
    assert import_class_by_path(path) is UserBlock
    # Installed code is not the program's own: the standard library and site-packages stay refused.
    for installed in ("subprocess.Popen", "collections.OrderedDict", "pytest.Item"):
        assert not policy.is_user_defined_class(installed)
        with pytest.raises(policy.UnsafeTargetError):
            import_class_by_path(installed)
    assert not policy.is_user_defined_class(f"{UserBlock.__module__}.pytest")  # a module, not a class


def test_configs_read_from_files_get_the_allow_list_alone() -> None:
    from nemo.utils.model_utils import import_class_by_path

    path = f"{UserBlock.__module__}.UserBlock"
    with policy.targets_from_file():
        with pytest.raises(policy.UnsafeTargetError, match="NEMO_ALLOWED_TARGET_PREFIXES"):
            import_class_by_path(path)
    with policy.targets_from_file(trusted_paths=[path]):
        assert import_class_by_path(path) is UserBlock
    assert import_class_by_path(path) is UserBlock  # the scope ended


def test_environment_variable_adds_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not policy.is_target_allowed("my_env_pkg.models.Tiny")
    monkeypatch.setenv(policy.ENV_ALLOWED_TARGET_PREFIXES, " my_env_pkg. , other.Thing")
    assert policy.is_target_allowed("my_env_pkg.models.Tiny")
    assert policy.is_target_allowed("other.Thing")
    assert not policy.is_target_allowed("other.Things")
    monkeypatch.setenv(policy.ENV_ALLOWED_TARGET_PREFIXES, ".")
    with pytest.raises(ValueError, match="every import path"):
        policy.allowed_prefixes()


def test_allowed_prefixes_are_listed_once() -> None:
    with policy.allow_target_prefixes("nemo."):
        prefixes = policy.allowed_prefixes()
    assert len(prefixes) == len(set(prefixes))
