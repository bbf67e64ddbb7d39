"""Wall time of importing the packages, each sample a fresh interpreter (start-up included).

Runs under any Python that has NeMo installed (ours or NeMo 1.23), so the two can be compared:

    python benchmarks/bench_import.py [repeats]   # prints one JSON line: each figure's samples in seconds
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from spread import rounded

STATEMENTS = {
    "import_torch_s": "import torch",
    "import_nemo_core_s": "import nemo.core",
    "import_nemo_asr_s": "import nemo.collections.asr",
    # What a training script really pulls in: the model classes, hence torch and Lightning.
    "import_modelpt_s": "from nemo.core import ModelPT",
    "import_ctc_model_s": "from nemo.collections.asr.models import EncDecCTCModel",
    "import_nemo_tts_s": "import nemo.collections.tts",
    "import_fastpitch_model_s": "from nemo.collections.tts.models import FastPitchModel",
    # The bar for reaching FastPitchModel: Lightning alone (torch included).
    "import_lightning_s": "import pytorch_lightning",
}


def time_import(statement: str, repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` new interpreters to run ``statement`` (start-up included)."""
    subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)  # warm the disk cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(json.dumps({name: rounded(time_import(stmt, repeats), 3) for name, stmt in STATEMENTS.items()}))


if __name__ == "__main__":
    main()
