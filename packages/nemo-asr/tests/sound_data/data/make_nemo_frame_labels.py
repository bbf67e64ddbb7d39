"""Compute NeMo 1.23's 20 ms frame labels for a few speech-segment tables (expected values for the tests).

This script runs NeMo 1.23 (``nemo.collections.asr.parts.utils.vad_utils.get_frame_labels``); the tests
only read its output, ``nemo_frame_labels.json``, beside it. Run it from a scratch folder with a Python
that has NeMo 1.23 installed:

    python packages/nemo-asr/tests/sound_data/data/make_nemo_frame_labels.py
"""

import json
from pathlib import Path

from nemo.collections.asr.parts.utils.vad_utils import get_frame_labels

CASES = [
    {"segments": [[0.5, 1.23]], "duration": 2.0},
    {"segments": [[0.0, 0.02], [0.04, 0.0600625], [1.0, 1.5]], "duration": 1.6},
    {"segments": [[0.1234375, 0.9875], [1.2, 3.0]], "duration": 3.0},
    {"segments": [[0.3, 0.5], [0.7, 0.9]], "duration": 6.42},
    {"segments": [[2.0, 2.5]], "duration": 4.4},
    {"segments": [[0.0, 0.0]], "duration": 0.5},
]


def main() -> None:
    for case in CASES:
        case["labels"] = get_frame_labels(case["segments"], 0.02, 0.0, case["duration"], as_str=True)
    path = Path(__file__).with_name("nemo_frame_labels.json")
    path.write_text("[\n" + ",\n".join(json.dumps(case) for case in CASES) + "\n]\n")
    print(f"wrote {len(CASES)} cases to {path}")


if __name__ == "__main__":
    main()
