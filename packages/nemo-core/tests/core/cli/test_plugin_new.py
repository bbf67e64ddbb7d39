"""``nemo plugin new NAME``: the package it writes builds as a wheel, installs, passes its own tests, and is listed
and trained by ``nemo`` without editing."""

import subprocess
import sys
import zipfile

import pytest
from nemo.core.cli.errors import CommandError
from nemo.core.cli.main import main
from nemo.core.cli.plugin import template_values, write_plugin
from nemo.core.plugins.testing import run_python


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``nemo plugin new acme_lab`` in a temp folder, built as a wheel and unpacked into a site folder (``site``)."""
    root = tmp_path_factory.mktemp("plugin_new")
    assert main(["plugin", "new", "acme_lab", "--dir", str(root)]) == 0
    package = root / "nemo-acme-lab"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(root / "dist"),
            str(package),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (root / "dist").glob("*.whl")
    site = root / "site"
    with zipfile.ZipFile(wheel) as archive:  # a pure-Python wheel: what pip puts on sys.path
        archive.extractall(site)
    return package, site


def test_the_package_holds_the_plugin_model_config_and_tests(installed):
    package, site = installed
    names = {path.relative_to(package).as_posix() for path in package.rglob("*") if path.is_file()}
    assert names == {
        "pyproject.toml",
        "README.md",
        "nemo_acme_lab/__init__.py",
        "nemo_acme_lab/plugin.py",
        "nemo_acme_lab/models.py",
        "nemo_acme_lab/conf/__init__.py",
        "nemo_acme_lab/conf/acme_lab_model.yaml",
        "tests/test_acme_lab_plugin.py",
    }
    (entry_points,) = site.glob("*.dist-info/entry_points.txt")
    assert "acme_lab = nemo_acme_lab.plugin" in entry_points.read_text().replace('"', "")


def test_the_installed_plugin_passes_its_own_tests(installed, tmp_path):
    package, site = installed
    result = run_python(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        paths=[site],
        timeout=300,
        OMP_NUM_THREADS="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_nemo_lists_and_trains_the_generated_model(installed, tmp_path):
    _, site = installed
    models = run_python(["-m", "nemo.core.cli.main", "models", "--domain", "acme_lab"], paths=[site])
    assert models.returncode == 0, models.stderr
    assert "acme_lab.AcmeLabModel" in models.stdout and "nemo-acme-lab" in models.stdout

    train = run_python(
        ["-m", "nemo.core.cli.main", "train", "acme_lab.AcmeLabModel", f"exp_manager.exp_dir={tmp_path}"],
        paths=[site],
        timeout=300,
        OMP_NUM_THREADS="1",
    )
    assert train.returncode == 0, train.stderr
    assert list(tmp_path.rglob("acme_lab_model.nemo"))


@pytest.mark.parametrize("name", ["Acme", "1acme", "acme-lab", "class", ""])
def test_a_bad_name_is_refused_with_the_rule(name):
    with pytest.raises(CommandError, match="lowercase letters, digits and underscores"):
        template_values(name)


def test_an_existing_folder_is_not_overwritten_without_force(tmp_path, capsys):
    write_plugin("acme", tmp_path)
    models = tmp_path / "nemo-acme" / "nemo_acme" / "models.py"
    models.write_text("# my edits\n")

    assert main(["plugin", "new", "acme", "--dir", str(tmp_path)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err
    assert models.read_text() == "# my edits\n"
    assert main(["plugin", "new", "acme", "--dir", str(tmp_path), "--force"]) == 0
    assert "class AcmeModel(ModelPT)" in models.read_text()
