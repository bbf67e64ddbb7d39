"""Per-call overhead of ``@typecheck()`` on a module with 2 typed tensor inputs and 1 typed output.

Times the same identity ``forward`` three ways, interleaved: a plain ``torch.nn.Module``, the typed
``NeuralModule`` with checks on (inputs carry ``.neural_type`` from an earlier call, as between chained
modules), and the typed module with ``typecheck.set_typecheck_enabled(False)``. Each repeat times
``calls_per_repeat`` calls of each; its sample is the mean per-call CPU time, and an overhead sample is the
typed (or disabled) time minus the plain time of the same repeat. Runs under any Python with NeMo installed
(ours or NeMo 1.23):

    python benchmarks/bench_typecheck.py [calls_per_repeat] [repeats]   # one JSON line: samples in us
"""

from __future__ import annotations

import json
import sys
import time
import timeit

import torch
from nemo.core.classes import NeuralModule
from nemo.core.classes.common import typecheck
from nemo.core.neural_types import AudioSignal, LengthsType, NeuralType
from spread import rounded


class PlainModule(torch.nn.Module):
    def forward(self, input_signal, length):
        return input_signal


class TypedModule(NeuralModule):
    @property
    def input_types(self):
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal()),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self):
        return {"output_signal": NeuralType(("B", "T"), AudioSignal())}

    @typecheck()
    def forward(self, input_signal, length):
        return input_signal


def per_call_us(call, number: int) -> float:
    """Microseconds of this thread's CPU time per call (CPU time, so other processes on a shared machine
    do not inflate it)."""
    return timeit.timeit(call, number=number, timer=time.thread_time) / number * 1e6


def main() -> None:
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    plain, typed = PlainModule(), TypedModule()
    signal = typed(input_signal=torch.zeros(2, 160), length=torch.tensor([160, 120]))
    length = torch.tensor([160, 120])

    def call_plain():
        return plain(input_signal=signal, length=length)

    def call_typed():
        return typed(input_signal=signal, length=length)

    plain_times, typed_overheads, disabled_overheads = [], [], []
    for _ in range(repeats):
        plain_us = per_call_us(call_plain, number)
        plain_times.append(plain_us)
        typed_overheads.append(per_call_us(call_typed, number) - plain_us)
        typecheck.set_typecheck_enabled(enabled=False)
        disabled_overheads.append(per_call_us(call_typed, number) - plain_us)
        typecheck.set_typecheck_enabled(enabled=True)
    result = {
        "typecheck_overhead_us": rounded(typed_overheads, 3),
        "disabled_overhead_us": rounded(disabled_overheads, 3),
        "plain_call_us": rounded(plain_times, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
