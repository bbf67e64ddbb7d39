"""The distribution names are free on the package index (or already ours), so `pip install` finds these packages.

Reads PyPI's JSON metadata once per name; skipped offline. ``nemo-asr`` on the index is an unrelated 2019 project,
which is why the four distributions share the ``nemo-kit-`` prefix (the import paths stay ``nemo.*``).
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/pypi/{name}/json"
# Folder name -> its pyproject's [project] table, read once.
PROJECTS = {
    pyproject.parent.name: tomllib.loads(pyproject.read_text())["project"]
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml"))
}


def _index_metadata(name: str) -> dict | None:
    """The index's metadata of ``name``, ``None`` when no project has that name; skips the test when offline."""
    try:
        with urllib.request.urlopen(INDEX.format(name=name), timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        pytest.skip(f"the package index answered {err.code} for {name}")
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        pytest.skip(f"the package index is not reachable (offline?): {err}")


@pytest.fixture(scope="module")
def index_answers() -> dict[str, dict | None]:
    return {project["name"]: _index_metadata(project["name"]) for project in PROJECTS.values()}


def test_every_package_is_named_with_the_shared_prefix() -> None:
    names = {folder: project["name"] for folder, project in PROJECTS.items()}
    assert names == {
        "nemo-core": "nemo-kit-core",
        "nemo-asr": "nemo-kit-asr",
        "nemo-nlp": "nemo-kit-nlp",
        "nemo-tts": "nemo-kit-tts",
    }
    # Already in PEP 503 normal form, so the name written in README's install lines is the index's name.
    assert all(name == re.sub(r"[-_.]+", "-", name).lower() for name in names.values())


def test_names_are_free_on_the_index_or_ours(index_answers: dict[str, dict | None]) -> None:
    descriptions = {project["name"]: project["description"] for project in PROJECTS.values()}
    taken_by_others = {
        name: answer["info"].get("summary")
        for name, answer in index_answers.items()
        if answer is not None and answer["info"].get("summary") != descriptions[name]
    }
    assert not taken_by_others, f"these names belong to other projects on PyPI: {taken_by_others}"


def test_the_old_name_is_taken_which_is_why_we_renamed() -> None:
    answer = _index_metadata("nemo-asr")
    assert answer is not None and answer["info"]["summary"] != PROJECTS["nemo-asr"]["description"]
