"""Each distribution builds a wheel that shares the PEP 420 namespaces ``nemo`` and ``nemo.collections``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folder under packages/ -> distribution name on the index (the free `nemo-kit-` prefix; imports stay nemo.*).
DISTRIBUTIONS = {
    "nemo-core": "nemo-kit-core",
    "nemo-asr": "nemo-kit-asr",
    "nemo-nlp": "nemo-kit-nlp",
    "nemo-tts": "nemo-kit-tts",
}
PACKAGES = list(DISTRIBUTIONS)
NAMESPACE_INITS = {"nemo/__init__.py", "nemo/collections/__init__.py"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for package in PACKAGES:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
                "--outdir",
                str(out / package),
                str(ROOT / "packages" / package),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        (wheel,) = (out / package).glob("*.whl")
        built[package] = wheel
    return built


def _metadata(wheel: Path) -> tuple[list[str], dict[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/")[0] for name in names if ".dist-info/" in name)
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        entry_points = (
            archive.read(f"{dist_info}/entry_points.txt").decode()
            if (f"{dist_info}/entry_points.txt" in names)
            else ""
        )
    return names, {
        "name": metadata["Name"],
        "requires": "\n".join(metadata.get_all("Requires-Dist") or []),
        "entry_points": entry_points,
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_leaves_the_shared_namespaces_without_init(wheels: dict[str, Path], package: str) -> None:
    names, _ = _metadata(wheels[package])
    assert not NAMESPACE_INITS & set(names), f"{wheels[package].name} ships {NAMESPACE_INITS & set(names)}"
    assert any(name.startswith("nemo/") for name in names)


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_carries_its_index_name(wheels: dict[str, Path], package: str) -> None:
    _, meta = _metadata(wheels[package])
    assert meta["name"] == DISTRIBUTIONS[package]
    assert wheels[package].name.startswith(DISTRIBUTIONS[package].replace("-", "_") + "-")


def test_core_wheel_needs_neither_torchaudio_nor_transformers(wheels: dict[str, Path]) -> None:
    _, meta = _metadata(wheels["nemo-core"])
    assert "torch" in meta["requires"]
    assert "torchaudio" not in meta["requires"] and "transformers" not in meta["requires"]
    assert "nemo = nemo.core.cli.main:main" in meta["entry_points"]


@pytest.mark.parametrize("package", ["nemo-asr", "nemo-nlp", "nemo-tts"])
def test_domain_wheels_register_through_the_plugin_entry_point(wheels: dict[str, Path], package: str) -> None:
    _, meta = _metadata(wheels[package])
    domain = package.removeprefix("nemo-")
    assert "[nemo.plugins]" in meta["entry_points"]
    assert f"{domain} = nemo.collections.{domain}.plugin" in meta["entry_points"]
    assert "nemo-kit-core" in meta["requires"]
