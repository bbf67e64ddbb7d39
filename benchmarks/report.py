"""The Markdown page ``run_all.py`` writes: the figures table, the compute-floor tables and the reading notes.

A script's result is its figures pooled over every round (``dict``: a timed figure is the list of its samples,
any other figure a number, string or bool) or the error text of a failed run (``str``). Importable as
``report`` from this folder; it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from spread import Spread, summarize

Result = dict[str, object] | str

HEADER_NOTES = [
    "Each timed figure is the median of the samples of every round, with the lowest and highest sample and "
    "their number n (a sample is one timed call, or one fresh interpreter for the imports). Other figures "
    "(parameters, GFLOP, counts) are the first round's.",
    "Speed-up is NeMo 1.23's median over ours for times (`_s`, `_ms`, `_us`), our median over NeMo's for rates "
    "(`per_second`, `_gflops`): above 1 means ours is faster. *ranges* says whether the two lowest-to-highest "
    "ranges overlap: where they do, the difference between the medians is within the spread of the samples, "
    "and this table does not show which is faster.",
]

READING_NOTES = [
    "## What the figures time",
    "",
    "- `bench_import`: a fresh interpreter running one import statement, start-up included. "
    "`import_nemo_core_s` and `import_nemo_asr_s` are the bare package imports (ours defers torch and Lightning "
    "to first use); `import_modelpt_s` and `import_ctc_model_s` import a model class, with torch and Lightning, "
    "as a training script does.",
    "- `bench_typecheck`: per-call CPU time of an identity `forward` with two typed inputs; the overheads are "
    "the typed call minus a plain `torch.nn.Module` call timed in the same repeat.",
    "- `bench_asr_model` (train step, inference forward, `transcribe` of 16 files of 5 s) and "
    "`bench_asr_conformer` (the encoder alone) use the Conformer-small config: d_model 176, 16 layers, "
    "13 M parameters, fp32, torch's default thread count.",
    "- `bench_tts_fastpitch` (`generate_spectrogram` of 4 sentences of about 120 characters, and a training "
    "step on 4 x 3 s with the learned aligner) and `bench_tts_hifigan` (`convert_spectrogram_to_audio` of 256 "
    "frames, and a generator + discriminator training step on 2 x 8192 samples) use NeMo's "
    "fastpitch_align_v1.05 and hifigan v1 configs at full size, 22050 Hz, fp32, seeded random weights. "
    "`spectrogram_mean_abs` and `audio_mean_abs` summarize the output from seed 0: equal on both sides, the two "
    "produced the same output (a model drawing its weights in another order differs there even if it computes "
    "the same function). HiFi-GAN's `train_step_s` is NeMo's step written out with the model's public modules "
    "(the same work on both sides, which the floor counts); `fit_step_s` is each side's own `training_step` "
    "run by a Lightning `Trainer.fit`, what a training run costs per step. "
    "`import_nemo_tts_s` is the bare package import, `import_fastpitch_model_s` reaches the model class and "
    "`import_lightning_s` (Lightning alone) is its bar.",
    "- `bench_asr_sound`: MatchboxNet 3x1x64 v1 (`EncDecClassificationModel`, 30 words, 77 k parameters) on "
    "16 x 1 s and TitaNet-S (`EncDecSpeakerLabelModel`, 7205 speakers) on 4 x 3 s, from NeMo's configs with "
    "seeded random weights, fp32: eval `forward` under `torch.inference_mode`, a train step (forward, the "
    "model's loss, backward, AdamW), each side's own `training_step` in a Lightning `Trainer.fit` "
    "(`fit_step_s`, with the config's NovoGrad or SGD) and TitaNet's `get_embedding` of one 3 s file. "
    "`*_logits_mean_abs` and `titanet_embedding_mean_abs` summarize the outputs from seed 0: equal on both "
    "sides, the two drew the same weights and computed the same outputs.",
    "- `bench_nlp` compares ours with a plain transformers + PyTorch loop, not with NeMo 1.23 (whose NLP models "
    "need Megatron and apex): all-MiniLM-L6-v2, batches of 32 x 128 tokens. `train_step_s` is a "
    "`TextClassificationModel` step in `Trainer.fit` with its own data loader, `plain_train_step_s` the same step "
    "by hand with the same fused AdamW (`plain_default_adamw_train_step_s`: torch's default AdamW); "
    "`classifytext_s` and `add_punctuation_capitalization_s` beside a plain tokenize + encoder + head loop; "
    "`restore_s` a `.nemo` restore with an empty Hugging Face cache and `HF_HUB_OFFLINE=1`.",
    "- `bench_plugins`: `nemo models` in a fresh interpreter, alternately without and with 50 installed plugin "
    "distributions; `model_modules_imported` and `torch_imported` come from `python -X importtime`.",
    "- `bench_tts_voice`: the bundled voice (`tts_en_fastpitch_asterisk`, FastPitch 3.2 M parameters, 16 kHz) "
    "speaks the 80 sentences of `data/tts_sentences` one at a time, text to waveform as `nemo synthesize` does "
    "(normalize, G2P, `generate_spectrogram`, Griffin-Lim with 32 iterations), torch's default thread count; "
    "NeMo 1.23 restores the same `.nemo` with its own normalizer (nemo_text_processing) and its own Griffin-Lim "
    "classes. `audio_seconds_per_second` is the real-time factor.",
]


def is_rate(name: str) -> bool:
    """Whether the figure ``name`` is a rate (higher is better)."""
    return "per_second" in name or name.endswith("_gflops")


def is_time(name: str) -> bool:
    """Whether the figure ``name`` is a time (lower is better)."""
    return name.endswith(("_s", "_ms", "_us"))


def scalar_text(value: object) -> str:
    """A figure that is not timed, as table text (floats in ``%g``, integers whole)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def figure(result: Result, name: str) -> Spread | object | None:
    """The figure ``name`` of ``result``: a ``Spread`` for a timed figure, the value itself otherwise."""
    if not isinstance(result, dict) or name not in result:
        return None
    value = result[name]
    return summarize(name, value) if isinstance(value, list) else value


def comparison(name: str, ours: object, theirs: object) -> tuple[str, str]:
    """The speed-up and ranges cells for the figure ``name``; empty unless both sides timed it."""
    if not isinstance(ours, Spread) or not isinstance(theirs, Spread) or not (is_rate(name) or is_time(name)):
        return "", ""
    numerator, denominator = (ours, theirs) if is_rate(name) else (theirs, ours)
    ratio = f"{numerator.median / denominator.median:.2f}x" if denominator.median > 0 else "n/a"
    return ratio, "overlap" if ours.overlaps(theirs) else "apart"


def cell(value: object) -> str:
    """Table text of a figure: a ``Spread``'s median with range and count, or the plain value."""
    if value is None:
        return ""
    return value.cell() if isinstance(value, Spread) else scalar_text(value)


def figure_lines(rows: list[tuple[str, Result, Result | None]]) -> list[str]:
    """The main table: one row per figure of every script, ours beside NeMo 1.23's."""
    lines = [
        "| benchmark | figure | ours | NeMo 1.23 | speed-up | ranges |",
        "|---|---|---|---|---|---|",
    ]
    for stem, ours, theirs in rows:
        if isinstance(ours, str):
            lines.append(f"| {stem} | failed | {ours} | | | |")
            continue
        for name in ours:
            mine, reference = figure(ours, name), figure(theirs, name)
            reference_text = theirs if isinstance(theirs, str) else cell(reference)
            ratio, ranges = comparison(name, mine, reference)
            lines.append(f"| {stem} | {name} | {cell(mine)} | {reference_text} | {ratio} | {ranges} |")
    return lines


@dataclass(frozen=True)
class FloorTable:
    """A compute-floor table: the operations a floor script counts beside the times of the figures it counts.

    Attributes:
        floor_stem: the script printing ``gemm_gflops`` and one ``<row>_gflop`` per row.
        heading: the table's Markdown heading.
        counted: what the floor script counts, as the sentence after the script's name reads it.
        timed: the calls it times for the machine's rate (its ``gemm_gflops``), in the plural.
        rows: ``(row, model script, time figure)``: the row's name (its ``<row>_gflop`` figure) and the timed
            figure of ``model script`` it floors.
    """

    floor_stem: str
    heading: str
    counted: str
    timed: str
    rows: tuple[tuple[str, str, str], ...]


FLOOR_TABLES = (
    FloorTable(
        "bench_asr_compute_floor",
        "## Against the compute floor",
        "`bench_asr_model`'s three figures (matrix products, convolutions and attention; not elementwise "
        "work, normalization, the FFT or audio I/O)",
        "fp32 matrix products",
        (
            ("train_step", "bench_asr_model", "train_step_s"),
            ("inference_forward", "bench_asr_model", "inference_forward_s"),
            ("transcribe_16x5s", "bench_asr_model", "transcribe_16x5s_s"),
        ),
    ),
    FloorTable(
        "bench_tts_compute_floor",
        "## TTS against the compute floor",
        "the four figures of `bench_tts_fastpitch` and `bench_tts_hifigan` (matrix products, convolutions, "
        "transposed ones included, and attention; not elementwise work, normalization, the STFT or the "
        "optimizer)",
        "fp32 matrix products and convolutions",
        (
            ("fastpitch_generate_spectrogram", "bench_tts_fastpitch", "generate_spectrogram_s"),
            ("fastpitch_train_step", "bench_tts_fastpitch", "train_step_s"),
            ("hifigan_convert_spectrogram_to_audio", "bench_tts_hifigan", "convert_spectrogram_to_audio_s"),
            ("hifigan_train_step", "bench_tts_hifigan", "train_step_s"),
        ),
    ),
)


def floor_table_lines(table: FloorTable, found: dict[str, tuple[Result, Result | None]]) -> list[str]:
    """``table``'s figures beside the time their counted operations take at the highest fp32 matrix-multiply
    rate measured; empty when the floor script or every model script it floors did not run."""
    floors = found.get(table.floor_stem, (None, None))[0]
    if not isinstance(floors, dict):
        return []
    rate = figure(floors, "gemm_gflops")
    if not isinstance(rate, Spread):
        return []
    body = []
    for name, stem, time_name in table.rows:
        model_ours, model_theirs = found.get(stem, (None, None))
        gflop, ours = floors.get(f"{name}_gflop"), figure(model_ours, time_name)
        if not isinstance(gflop, (int, float)) or not isinstance(ours, Spread):
            continue
        floor = gflop / rate.high
        theirs = figure(model_theirs, time_name)
        nemo_ratio = f"{theirs.median / floor:.2f}x" if isinstance(theirs, Spread) else ""
        body.append(
            f"| {name} | {gflop:g} | {floor:.3g} | {ours.cell()} | {floor / ours.median:.0%} | {cell(theirs)} "
            f"| {nemo_ratio} |"
        )
    if not body:
        return []
    return [
        table.heading,
        "",
        f"`{table.floor_stem}` counts the floating-point operations of {table.counted} and times "
        f"{table.timed}: {rate.cell()} GFLOP/s. The floor is the counted operations at the highest of those "
        f"rates, {rate.high:g} GFLOP/s: the time the model's work would take if all of it ran as fast as the "
        f"fastest of those {table.timed} measured here. It bounds neither other kernels nor lower precision.",
        "",
        "| figure | GFLOP | floor (s) | ours (s) | floor / our median | NeMo 1.23 (s) | NeMo median / floor |",
        "|---|---|---|---|---|---|---|",
        *body,
        "",
    ]


def floor_lines(rows: list[tuple[str, Result, Result | None]]) -> list[str]:
    """Every ``FLOOR_TABLES`` table whose scripts ran, one after the other."""
    found = {stem: (ours, theirs) for stem, ours, theirs in rows}
    return [line for table in FLOOR_TABLES for line in floor_table_lines(table, found)]


def page(header: list[str], rows: list[tuple[str, Result, Result | None]]) -> str:
    """The whole page: the ``header`` paragraphs, the notes on reading the cells, the tables and what they time."""
    paragraphs = [line for paragraph in (*header, *HEADER_NOTES) for line in (paragraph, "")]
    lines = [*paragraphs, *figure_lines(rows), "", *floor_lines(rows), *READING_NOTES]
    return "\n".join(lines) + "\n"
