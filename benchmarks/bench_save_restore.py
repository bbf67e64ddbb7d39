"""Time ``ModelPT.save_to`` and ``ModelPT.restore_from`` on a ~50 MB model (three 2048x2048 linear layers).

Uses only NeMo's public names, so it runs under NeMo 1.23 as well as here. Each timed figure is the list of
``repeats`` samples, in seconds, with the archive on the local temporary folder and weights on the CPU:

    python benchmarks/bench_save_restore.py [repeats]   # prints one JSON line
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import torch
from nemo.core.classes import ModelPT
from omegaconf import OmegaConf
from spread import rounded

WIDTH = 2048
LAYERS = 3


class BenchModel(ModelPT):
    """A plain ModelPT subclass: a stack of linear layers, no data."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.layers = torch.nn.Sequential(*(torch.nn.Linear(cfg.width, cfg.width) for _ in range(cfg.layers)))

    def setup_training_data(self, train_data_config):
        self._train_dl = None

    def setup_validation_data(self, val_data_config):
        self._validation_dl = None

    @classmethod
    def list_available_models(cls):
        return None


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.manual_seed(0)
    model = BenchModel(OmegaConf.create({"width": WIDTH, "layers": LAYERS}))
    size_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    save_times, restore_times = [], []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.nemo")
        for _ in range(repeats):
            start = time.perf_counter()
            model.save_to(path)
            save_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            restored = BenchModel.restore_from(path, map_location="cpu")
            restore_times.append(time.perf_counter() - start)
            del restored
        archive_mb = os.path.getsize(path) / 2**20
    print(
        json.dumps(
            {
                "save_to_s": rounded(save_times, 4),
                "restore_from_s": rounded(restore_times, 4),
                "model_mb": round(size_mb, 1),
                "archive_mb": round(archive_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
