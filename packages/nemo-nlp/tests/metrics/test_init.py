"""The metrics package is light to import: torch and torchmetrics load with the first metric used."""

import json
import subprocess
import sys


def loaded_heavy_modules(statement: str) -> list[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted({{'torch', 'torchmetrics'}} & set(sys.modules))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_package_loads_neither_torch_nor_torchmetrics() -> None:
    assert loaded_heavy_modules("import nemo.collections.nlp.metrics") == []


def test_the_first_use_loads_them() -> None:
    assert loaded_heavy_modules("from nemo.collections.nlp.metrics import ClassificationReport") == [
        "torch",
        "torchmetrics",
    ]
