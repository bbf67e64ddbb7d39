from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import ModelSpec


def test_plugins_table_shows_distribution_version_and_status_or_error(tmp_path):
    site = tmp_path / "site"
    good = plugin_source(models=[ModelSpec("fakelist.model", "fake_list_models:M", "fakelist")])
    write_distribution(
        site,
        "nemo-fake-list",
        "4.5.6",
        plugins={"fakelist": "fake_list_plugin"},
        files={"fake_list_plugin.py": good},
    )
    write_distribution(
        site,
        "nemo-fake-crash",
        "0.1",
        plugins={"fakecrash": "fake_crash_plugin"},
        files={"fake_crash_plugin.py": "import fake_crash_dependency_that_is_not_installed\n"},
    )
    result = run_python(["-m", "nemo.core.cli.main", "plugins"], paths=[site])
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS"]
    by_name = {row.split()[0]: row.split(maxsplit=3) for row in rows}
    assert by_name["core"][1:] == ["nemo-kit-core", by_name["core"][2], "builtin"]
    assert by_name["fakelist"][1:] == ["nemo-fake-list", "4.5.6", "loaded"]
    assert by_name["fakecrash"][1:3] == ["nemo-fake-crash", "0.1"]
    assert by_name["fakecrash"][3].startswith(
        "failed: importing 'fake_crash_plugin' raised: ModuleNotFoundError"
    )
    assert "fake_crash_dependency_that_is_not_installed" in by_name["fakecrash"][3]
