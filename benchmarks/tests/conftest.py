"""The benchmark scripts import each other by bare name (``from spread import summarize``), as they do when run
from any folder; put their folder on ``sys.path`` for these tests too."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCHMARKS))
