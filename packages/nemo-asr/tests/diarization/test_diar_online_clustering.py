"""Online clustering helpers (hand-worked label and merge arithmetic) and streaming / long-form clustering."""

import pytest
import torch
from nemo.collections.asr.parts.utils.longform_clustering import LongFormSpeakerClustering
from nemo.collections.asr.parts.utils.offline_clustering import getCosAffinityMatrix
from nemo.collections.asr.parts.utils.online_clustering import (
    OnlineSpeakerClustering,
    get_closest_embeddings,
    get_merge_quantity,
    get_minimal_indices,
    merge_vectors,
    run_reducer,
    stitch_cluster_labels,
)
from sklearn.metrics import adjusted_rand_score


def test_minimal_indices_keep_label_order():
    assert get_minimal_indices(torch.tensor([14, 12, 12, 19, 14, 19])).tolist() == [1, 0, 0, 2, 1, 2]
    assert get_minimal_indices(torch.tensor([5, 5, 7])).tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # Renamed speakers are mapped back to the old names.
        ([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1], [0, 0, 1, 1, 2, 2]),
        # One confused segment does not break the majority mapping.
        ([0, 0, 0, 1, 1, 2, 2, 2], [5, 5, 5, 6, 6, 6, 7, 7], [0, 0, 0, 1, 1, 1, 2, 2]),
        # New speakers beyond the old sequence keep fresh labels after the matched ones.
        ([1, 1, 0, 0], [0, 0, 1, 1, 2, 3], [1, 1, 0, 0, 2, 3]),
        # No history: labels are only renumbered.
        ([], [4, 4, 9], [0, 0, 1]),
    ],
)
def test_stitch_cluster_labels(old, new, expected):
    out = stitch_cluster_labels(torch.tensor(old, dtype=torch.long), torch.tensor(new))
    assert out.tolist() == expected


def test_merge_quantity_water_fills_from_the_largest_cluster():
    # Counts [9, 4, 6, 2]. Removing 7 with a floor of 2: 14 stay; the floors keep 2 each, the other 6 go to
    # the biggest clusters evenly: keep [4, 4, 4, 2] -> remove [5, 0, 2, 0] (NeMo 1.23 gives the same).
    labels = torch.tensor([0] * 9 + [1] * 4 + [2] * 6 + [3] * 2)
    assert get_merge_quantity(7, labels, 2).tolist() == [5, 0, 2, 0]
    # Removing 10 with a floor of 1: keep [3, 3, 3, 2] minus one leftover -> NeMo 1.23: [6, 1, 3, 0].
    assert get_merge_quantity(10, labels, 1).tolist() == [6, 1, 3, 0]
    # Odd remainder: keep 5 of [5, 5] removable (floor 0) -> 3 for the first (largest, stable order), 2 for the other.
    assert get_merge_quantity(5, torch.tensor([0] * 5 + [1] * 5), 0).tolist() == [2, 3]
    with pytest.raises(ValueError, match="min_count_per_cluster"):
        get_merge_quantity(8, labels, 4)


def test_reducer_averages_the_most_similar_vectors():
    emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.95, 0.05], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 0, 1, 1])
    aff = torch.tensor([[1.0, 0.2, 0.8], [0.2, 1.0, 0.4], [0.8, 0.4, 1.0]])
    chosen, rest = get_closest_embeddings(aff, 1)
    assert chosen.tolist() == [2, 0] and rest.tolist() == [1]
    merged, merged_labels = merge_vectors(torch.tensor([2, 0]), emb[:3], labels[:3])
    assert torch.allclose(merged, torch.tensor([[0.9, 0.1], [0.975, 0.025]]))
    assert merged_labels.tolist() == [0, 0]
    out_embs, out_labels, (kept, averaged) = run_reducer(emb, 0, 1, labels)
    speaker_aff = getCosAffinityMatrix(emb)[:3, :3]
    expected_rows = torch.argsort(speaker_aff.sum(0), descending=True)[:2]
    assert sorted(averaged.tolist()) == sorted(expected_rows.tolist())
    assert out_embs.shape == (2, 2) and torch.allclose(out_embs[-1], emb[averaged].mean(0))
    assert kept.tolist() == sorted(set(range(3)) - set(averaged.tolist()))
    untouched = run_reducer(emb, 1, 0, labels)
    assert untouched[2][0].tolist() == [3, 4] and untouched[2][1].numel() == 0


@pytest.mark.parametrize("script", [False, True])
def test_online_clustering_streams_two_speakers(toy_session, script):
    session = toy_session(2, 10.0)
    base = list(torch.split(session.embeddings, session.counts.tolist()))[-1]
    truth = session.base_labels
    module = OnlineSpeakerClustering(
        max_num_speakers=4, history_buffer_size=20, current_buffer_size=20, cuda=False
    )
    if script:
        module = torch.jit.script(module)
    correct, total = 0, 0
    for frame in range(base.shape[0] // 2):
        emb = base[: 2 * (frame + 1)]
        labels = module.forward_infer(
            curr_emb=emb, base_segment_indexes=torch.arange(emb.shape[0]), frame_index=frame
        )
        assert labels.shape[0] == emb.shape[0]
        assert module.history_embedding_buffer_emb.shape[0] <= 20
        aligned = stitch_cluster_labels(truth[: labels.shape[0]], labels)
        correct += int((aligned == truth[: labels.shape[0]]).sum())
        total += labels.shape[0]
    assert module.is_online
    assert module.history_embedding_buffer_emb.shape[0] == 20
    assert correct / total > 0.9


def test_online_clustering_rejects_unsupported_option():
    with pytest.raises(ValueError, match="use_temporal_label_major_vote"):
        OnlineSpeakerClustering(use_temporal_label_major_vote=True)


def test_longform_unpack_labels_by_hand():
    module = LongFormSpeakerClustering(cuda=False)
    reduced = torch.tensor([5, 6, 7, 8])
    # Group A: rows 0-1 of `reduced`: segment 3 kept as is (row 0), segments 0 and 1 averaged (row 1).
    # Group B: rows 2-3: segments 2 and 4 kept as they were, nothing averaged.
    out = module.unpack_labels(
        reduced,
        [[0, 2], [2, 4]],
        [[torch.tensor([3]), torch.tensor([0, 1])], [torch.tensor([2, 4]), torch.tensor([])]],
        5,
    )
    assert out.tolist() == [6, 6, 7, 5, 8]


@pytest.mark.parametrize("script", [False, True])
def test_longform_clustering_over_chunks(toy_session, script):
    session = toy_session(2, 15.0)  # 2 * 59 base segments, chunks of 25
    module = LongFormSpeakerClustering(cuda=False)
    if script:
        module = torch.jit.script(module)
    labels = module.forward_infer(
        embeddings_in_scales=session.embeddings,
        timestamps_in_scales=session.timestamps,
        multiscale_segment_counts=session.counts,
        multiscale_weights=session.weights,
        max_num_speakers=2,
        sparse_search_volume=5,
        chunk_cluster_count=4,
        embeddings_per_chunk=25,
    )
    assert adjusted_rand_score(session.base_labels.numpy(), labels.numpy()) == 1.0
    with pytest.raises(ValueError, match="chunk_cluster_count"):
        LongFormSpeakerClustering().forward_infer(
            session.embeddings,
            session.timestamps,
            session.counts,
            session.weights,
            max_num_speakers=4,
            chunk_cluster_count=4,
            embeddings_per_chunk=25,
        )
