"""Write ``bench_asr_sound_nemo.json``: what NeMo 1.23 prints for ``bench_asr_sound.py`` at toy sizes.

Runs ``benchmarks/bench_asr_sound.py`` with ``TOY_ARGS`` under NeMo 1.23's Python (this runs NeMo; NeMo's MFCC
preprocessor needs torchaudio in that venv) and keeps the figures that are not timings: parameter counts and
the mean absolute logits and embeddings of the seed-0 models. ``test_bench_asr_sound.py`` runs the same
arguments on our side and expects these values.

    python benchmarks/tests/data/make_bench_asr_sound_nemo.py [--nemo-python /tmp/nemo-ref/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parents[1] / "bench_asr_sound.py"
OUT = HERE / "bench_asr_sound_nemo.json"
TOY_ARGS = [
    "--matchboxnet-batch", "2",
    "--titanet-batch", "2",
    "--titanet-seconds", "1",
    "--titanet-filters", "32",
    "--titanet-speakers", "8",
    "--repeats", "2",
    "--warmup", "1",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--nemo-python", default=os.environ.get("NEMO_REF_PYTHON", "/tmp/nemo-ref/bin/python")
    )
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [args.nemo_python, str(SCRIPT), *TOY_ARGS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd="/",
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    untimed = {name: value for name, value in figures.items() if not name.endswith("_s")}
    OUT.write_text(json.dumps({"args": TOY_ARGS, "figures": untimed}, indent=2) + "\n")
    print(f"wrote {OUT}: {untimed}")


if __name__ == "__main__":
    main()
