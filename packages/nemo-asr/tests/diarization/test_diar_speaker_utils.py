"""Segment, interval, RTTM and online-segmentation helpers, with hand-worked expectations."""

import json

import pytest
import torch
from nemo.collections.asr.data.audio_to_label import repeat_signal
from nemo.collections.asr.parts.utils.speaker_utils import (
    OnlineSegmentor,
    audio_rttm_map,
    check_ranges,
    fl2int,
    generate_cluster_labels,
    generate_speaker_timestamps,
    get_adaptive_threshold,
    get_new_cursor_for_update,
    get_online_subsegments_from_buffer,
    get_speech_labels_for_update,
    get_sub_range_list,
    get_subsegments,
    int2fl,
    is_overlap,
    labels_to_pyannote_object,
    labels_to_rttmfile,
    merge_float_intervals,
    merge_int_intervals,
    parse_scale_configs,
    prepare_split_data,
    rttm_to_labels,
    segments_manifest_to_subsegments_manifest,
    write_rttm2manifest,
)


@pytest.mark.parametrize(
    "intervals, expected",
    [
        ([[8, 10], [15, 18], [2, 6], [1, 3], [3, 5]], [[1, 6], [8, 10], [15, 18]]),
        ([[0, 1], [1, 9]], [[0, 9]]),  # touching intervals join
        ([[5, 6]], [[5, 6]]),
        ([], []),
    ],
)
def test_merge_int_intervals(intervals, expected):
    assert merge_int_intervals(intervals) == expected


def test_merge_float_intervals_margin_rule():
    touching = [[0.0, 1.0], [1.0, 2.0]]
    assert merge_float_intervals(touching, margin=0) == [[0.0, 2.0]]
    assert merge_float_intervals(touching) == touching  # default margin 2 keeps touching ranges apart
    assert merge_float_intervals([[5.5, 8.05], [8.0, 10.0], [0.25, 5.0]]) == [[0.25, 5.0], [5.5, 10.0]]
    assert fl2int(2.3456, 3) == 2346 and int2fl(1234, 2) == 12.34


def test_ranges():
    assert is_overlap([1.0, 2.0], [1.5, 3.0]) and not is_overlap([1.0, 2.0], [2.0, 3.0])
    assert get_sub_range_list([1.0, 4.0], [[0.0, 2.0], [3.0, 5.0], [6.0, 7.0]]) == [[1.0, 2.0], [3.0, 4.0]]
    assert get_sub_range_list([], [[0.0, 1.0]]) == []
    assert check_ranges(torch.tensor([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="ends before it starts"):
        check_ranges(torch.tensor([[2.0, 1.0]]))


def test_subsegments():
    # ceil((3.76 - 2) / 1) + 1 = 3 windows, the last one clipped at the segment end.
    subs = get_subsegments(offset=10.0, window=2.0, shift=1.0, duration=3.76)
    assert [[round(a, 6), round(b, 6)] for a, b in subs] == [[10.0, 2.0], [11.0, 2.0], [12.0, 1.76]]
    assert get_subsegments(offset=0.0, window=1.5, shift=0.75, duration=0.4) == [[0.0, 0.4]]


def test_cursor_and_speech_label_update():
    # Segments ending at or after the frame start (3.0) are redone, from the start of the earliest of them.
    assert get_new_cursor_for_update(3.0, [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]]) == (1.0, 1)
    assert get_new_cursor_for_update(3.0, [[0.0, 2.0]]) == (3.0, 1)
    assert get_new_cursor_for_update(3.0, [[2.5, 3.5]]) == (2.5, 0)
    redo, history = get_speech_labels_for_update(
        3.0, 6.0, torch.tensor([[0.0, 3.76]]), torch.tensor([[0.96, 4.84]]), 1.0
    )
    # New: [0, 3.76] clipped to [3, 6] -> [3, 3.76]; redo: [0.96, 4.84] clipped to [1, 3]; union [1, 3.76].
    assert torch.allclose(redo, torch.tensor([[1.0, 3.76]]))
    assert torch.allclose(history, torch.tensor([[0.96, 4.84]]))


def test_online_subsegments_from_buffer():
    sample_rate = 100
    audio = torch.arange(500, dtype=torch.float)
    sigs, ranges, indexes = get_online_subsegments_from_buffer(
        buffer_start=0.0,
        buffer_end=5.0,
        sample_rate=sample_rate,
        speech_labels_for_update=torch.tensor([[0.0, 3.76]]),
        audio_buffer=audio,
        segment_indexes=[4],
        window=2.0,
        shift=1.0,
    )
    assert [[round(a, 6), round(b, 6)] for a, b in ranges] == [[0.0, 2.0], [1.0, 3.0], [2.0, 3.76]]
    assert indexes == [5, 6, 7]
    assert torch.equal(sigs[1], audio[100:300])
    # Sample indices are truncated: int(3.76 * 100) == 375, so the last window holds 175 samples, repeated.
    assert torch.equal(sigs[2], repeat_signal(audio[200:375], 175, 200))


def test_online_segmentor_is_scriptable_and_segments():
    scripted_cls = torch.jit.script(OnlineSegmentor)
    segmentor = scripted_cls(sample_rate=100)
    assert isinstance(segmentor, OnlineSegmentor)
    segmentor.buffer_end = 4.0
    audio = torch.randn(400)
    raw, ranges, indexes = segmentor.run_online_segmentation(
        audio, torch.tensor([[0.5, 3.0]]), [], [], [], window=1.0, shift=0.5
    )
    assert [[round(a, 6), round(b, 6)] for a, b in ranges] == [[0.5, 1.5], [1.0, 2.0], [1.5, 2.5], [2.0, 3.0]]
    assert indexes == [0, 1, 2, 3] and all(r.shape[0] == 100 for r in raw)
    instance = torch.jit.script(OnlineSegmentor(sample_rate=100))
    assert isinstance(instance, torch.jit._script.RecursiveScriptClass)


def test_rttm_round_trip_and_manifests(tmp_path):
    labels = ["0.0 1.5 speaker_0", "1.5 2.25 speaker_1"]
    path = labels_to_rttmfile(labels, "sess", str(tmp_path))
    assert open(path).readline().split() == [
        "SPEAKER",
        "sess",
        "1",
        "0.000",
        "1.500",
        "<NA>",
        "<NA>",
        "speaker_0",
        "<NA>",
        "<NA>",
    ]
    assert rttm_to_labels(path) == labels
    manifest = tmp_path / "in.json"
    manifest.write_text(
        json.dumps(
            {"audio_filepath": "/data/sess.wav", "rttm_filepath": path, "offset": 0.0, "duration": 2.0}
        )
        + "\n"
    )
    mapping = audio_rttm_map(str(manifest))
    assert list(mapping) == ["sess"] and mapping["sess"]["num_speakers"] is None
    segments = write_rttm2manifest(mapping, str(tmp_path / "segments.json"))
    # Speech regions [0, 1.5] and [1.5, 2.25] do not merge (default margin), then are clipped to [0, 2].
    rows = [json.loads(line) for line in open(segments)]
    assert [(r["offset"], r["duration"]) for r in rows] == [(0.0, 1.5), (1.5, 0.5)]
    subsegments = segments_manifest_to_subsegments_manifest(
        segments, str(tmp_path / "sub.json"), window=1.0, shift=0.5
    )
    subs = [(round(r["offset"], 6), round(r["duration"], 6)) for r in map(json.loads, open(subsegments))]
    assert subs == [(0.0, 1.0), (0.5, 1.0), (1.5, 0.5)]
    duplicate = tmp_path / "dup.json"
    duplicate.write_text(manifest.read_text() * 2)
    with pytest.raises(KeyError, match="unique"):
        audio_rttm_map(str(duplicate))


def test_cluster_labels_become_speaker_turns():
    ranges = [[0.0, 1.0], [0.5, 1.5], [1.0, 2.0], [1.5, 2.5]]
    turns, lines = generate_cluster_labels(ranges, [0, 0, 1, 1])
    assert lines[0] == "0.0 1.0 speaker_0"
    # Overlaps are cut at their midpoints (0.75, 1.25, 1.75), then same-speaker neighbours join.
    assert turns == ["0.0 1.25 speaker_0", "1.25 2.5 speaker_1"]


def test_scale_config_checks():
    parsed = parse_scale_configs([1.5, 1.0, 0.5], [0.75, 0.5, 0.25], [1, 1, 1])
    assert parsed["scale_dict"] == {0: (1.5, 0.75), 1: (1.0, 0.5), 2: (0.5, 0.25)}
    assert parse_scale_configs(1.5, 0.75, None)["multiscale_weights"] == [1.0]
    with pytest.raises(ValueError, match="descending"):
        parse_scale_configs([0.5, 1.0], [0.25, 0.5], [1, 1])


def test_pyannote_object_needs_pyannote():
    try:
        import pyannote.core  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pyannote.core"):
            labels_to_pyannote_object(["0.0 1.0 a"])
    else:
        annotation = labels_to_pyannote_object(["0.0 1.0 a"], uniq_name="s")
        assert annotation.labels() == ["a"]


def test_msdd_overlap_turns_by_hand():
    # Threshold 0.7 for 2 speakers, rising linearly to 1.0 at the limit of 5: 0.7 + 1 * 0.3 / 3 = 0.8 for 3.
    assert get_adaptive_threshold(3, 0.7, 5) == pytest.approx(0.8)
    clus = [[0.0, 1.0, 0], [1.0, 2.0, 0], [2.0, 3.0, 1]]
    preds = torch.tensor([[[0.9, 0.1], [0.9, 0.8], [0.2, 0.95]]])
    params = dict(
        threshold=0.7,
        use_adaptive_thres=False,
        overlap_infer_spk_limit=5,
        use_clus_as_main=True,
        max_overlap_spks=2,
    )
    main, overlap = generate_speaker_timestamps(clus, preds, **params)
    # Segment 1 has both speakers above 0.7: speaker 1 is added there as overlap.
    assert main == ["0.0 2.0 speaker_0", "2.0 3.0 speaker_1"]
    assert overlap == ["1.0 2.0 speaker_1"]


def test_prepare_split_data(tmp_path):
    rttm = labels_to_rttmfile(["0.0 1.5 a", "2.0 3.0 b"], "sess", str(tmp_path))
    manifest = tmp_path / "m.json"
    entry = {"audio_filepath": "/x/sess.wav", "rttm_filepath": rttm, "offset": 0.0, "duration": 3.0}
    manifest.write_text(json.dumps(entry) + "\n")
    scales = parse_scale_configs([1.0, 0.5], [0.5, 0.25], [1, 1])
    stamps = prepare_split_data(str(manifest), str(tmp_path / "out"), scales, global_rank=0)
    assert list(stamps) == ["sess_0_3000"]
    coarse = stamps["sess_0_3000"]["scale_dict"][0]["time_stamps"]
    # [0, 1.5]: windows at 0 and 0.5; [2, 3]: one window at 2 (1 s long).
    assert [[round(a, 6), round(b, 6)] for a, b in coarse] == [[0.0, 1.0], [0.5, 1.5], [2.0, 3.0]]
    assert len(stamps["sess_0_3000"]["scale_dict"][1]["time_stamps"]) == 5 + 3
