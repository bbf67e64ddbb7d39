"""The README's setup commands and CI agree: .ci/run runs exactly the README's test command."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The command lines of README.md's first ```bash block (comment lines left out)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    tests_command = [line for line in readme_commands() if line.endswith("nox -s tests")]
    assert len(tests_command) == 1, (
        f"README.md's first bash block: expected one `nox -s tests` line, got {tests_command}"
    )
    ci_lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_lines == tests_command


def readme_install_lines() -> list[list[str]]:
    """The package folders of each `pip install -c constraints.txt ./packages/...` line of README.md."""
    lines = [line.split("#")[0].split() for line in (ROOT / "README.md").read_text().splitlines()]
    return [
        [word for word in words if word.startswith("./packages/")]
        for words in lines
        if words[:4] == ["pip", "install", "-c", "constraints.txt"]
    ]


def test_readme_install_lines_name_real_packages_with_their_nemo_dependencies() -> None:
    installs = readme_install_lines()
    assert len(installs) == 4, f"expected four install lines in README.md, got {installs}"
    folder_of = {}
    for folder in (ROOT / "packages").iterdir():
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        folder_of[project["name"]] = f"./packages/{folder.name}"
    for paths in installs:
        for path in paths:
            project = tomllib.loads((ROOT / path / "pyproject.toml").read_text())["project"]
            needed = [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in project.get("dependencies", [])]
            missing = [folder_of[dep] for dep in needed if dep in folder_of and folder_of[dep] not in paths]
            # pip would look these up on the index, where they are not published yet.
            assert not missing, f"README.md's line installing {paths} lacks {missing}, which {path} requires"
