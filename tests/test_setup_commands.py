"""The README's setup commands and CI agree: .ci/run runs exactly the README's test command."""

from pathlib import Path

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
