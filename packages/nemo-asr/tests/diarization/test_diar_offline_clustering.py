"""Offline clustering: affinity maths against numpy, spectral clustering against scikit-learn, NME-SC
against values computed once with NeMo 1.23, and the full SpeakerClustering module (eager and scripted)."""

import numpy as np
import pytest
import torch
from nemo.collections.asr.parts.utils.offline_clustering import (
    NMESC,
    SpeakerClustering,
    SpectralClustering,
    get_argmin_mat,
    get_scale_interpolated_embs,
    getAffinityGraphMat,
    getCosAffinityMatrix,
    getKneighborsConnections,
    getMultiScaleCosAffinityMatrix,
    isGraphFullyConnected,
    split_input_data,
)
from sklearn.cluster import SpectralClustering as SkSpectralClustering
from sklearn.metrics import adjusted_rand_score


def blobs(n_per: int, n_clusters: int, dim: int = 16, spread: float = 0.8, seed: int = 123) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_clusters, dim, generator=gen) * 3
    return torch.cat([c + spread * torch.randn(n_per, dim, generator=gen) for c in centres])


def np_cos_minmax(emb: np.ndarray) -> np.ndarray:
    """Independent numpy reference: cosine similarity (norms padded by NeMo's eps of 3.5e-4) with unit
    diagonal, min-max scaled onto [0, 1]."""
    unit = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 3.5e-4)
    cos = unit @ unit.T
    np.fill_diagonal(cos, 1.0)
    return (cos - cos.min()) / (cos.max() - cos.min())


def test_cos_affinity_is_min_max_scaled_cosine():
    emb = blobs(5, 2)
    np.testing.assert_allclose(getCosAffinityMatrix(emb).numpy(), np_cos_minmax(emb.numpy()), atol=1e-5)
    assert getCosAffinityMatrix(emb[:1]).tolist() == [[1.0]]


@pytest.mark.parametrize("method", ["binary", "drop", "sigmoid"])
def test_k_neighbours_keep_top_p_of_each_row_in_its_column(method):
    gen = torch.Generator().manual_seed(0)
    raw = torch.rand(9, 9, generator=gen)
    aff = 0.5 * (raw + raw.T)
    out = getKneighborsConnections(aff, 3, method).numpy()
    for row in range(9):
        top = np.argsort(-aff[row].numpy())[:3]
        kept = np.flatnonzero(out[:, row])
        assert sorted(kept.tolist()) == sorted(top.tolist())
        value = {
            "binary": np.ones(3),
            "drop": aff[row].numpy()[top],
            "sigmoid": 1 / (1 + np.exp(-aff[row].numpy()[top])),
        }
        np.testing.assert_allclose(np.sort(out[top, row]), np.sort(value[method]), atol=1e-6)
    sym = getAffinityGraphMat(aff, 3)
    assert torch.allclose(sym, sym.T)
    with pytest.raises(ValueError, match="mask_method"):
        getKneighborsConnections(aff, 3, "bogus")


def test_graph_connectivity():
    two_islands = torch.zeros(4, 4)
    two_islands[0, 1] = two_islands[1, 0] = two_islands[2, 3] = two_islands[3, 2] = 1
    assert not bool(isGraphFullyConnected(two_islands, torch.device("cpu")))
    two_islands[1, 2] = two_islands[2, 1] = 1
    assert bool(isGraphFullyConnected(two_islands, torch.device("cpu")))


def test_argmin_mapping_and_interpolation_by_hand():
    long_scale = torch.tensor([[0.0, 2.0], [1.0, 3.0]])
    base = torch.tensor([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])
    # Base centres 0.5, 1.5, 2.5; long centres 1.0, 2.0 -> nearest: 0, 0 (tie 1.0 vs 2.0 at 1.5 -> first), 1.
    mapping = get_argmin_mat([long_scale, base])
    assert mapping[0].tolist() == [0, 0, 1] and mapping[1].tolist() == [0, 1, 2]
    emb_long = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    emb_base = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    fused, _ = get_scale_interpolated_embs(
        torch.tensor([[0.5, 2.0]]), [emb_long, emb_base], [long_scale, base]
    )
    assert fused.tolist() == [[2.5, 2.0], [4.5, 4.0], [6.0, 6.5]]
    emb_s, ts_s = split_input_data(
        torch.cat([emb_long, emb_base]), torch.cat([long_scale, base]), torch.tensor([2, 3])
    )
    assert [e.shape[0] for e in emb_s] == [2, 3] and torch.equal(ts_s[1], base)
    with pytest.raises(ValueError, match="multiscale_segment_counts"):
        split_input_data(torch.cat([emb_long, emb_base]), torch.cat([long_scale, base]), torch.tensor([2, 2]))
    emb_base = torch.tensor([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0]])
    fused_aff = getMultiScaleCosAffinityMatrix(
        torch.tensor([[0.5, 2.0]]), [emb_long, emb_base], [long_scale, base]
    )
    long_aff = np_cos_minmax(emb_long.numpy())[np.ix_([0, 0, 1], [0, 0, 1])]
    np.testing.assert_allclose(
        fused_aff.numpy(), 0.5 * long_aff + 2.0 * np_cos_minmax(emb_base.numpy()), atol=1e-5
    )


def test_spectral_clustering_agrees_with_sklearn_on_separated_blobs():
    emb = blobs(12, 3)
    aff = getCosAffinityMatrix(emb)
    graph = getAffinityGraphMat(aff, 6)
    ours = SpectralClustering(n_clusters=3).forward(graph)
    theirs = SkSpectralClustering(n_clusters=3, affinity="precomputed", random_state=0).fit_predict(
        graph.numpy()
    )
    truth = np.repeat(np.arange(3), 12)
    assert adjusted_rand_score(truth, theirs) == 1.0
    assert adjusted_rand_score(theirs, ours.numpy()) == 1.0
    several = SpectralClustering(n_clusters=3, n_random_trials=3).forward(graph)
    assert adjusted_rand_score(truth, several.numpy()) == 1.0


def test_nmesc_matches_nemo_reference():
    # NeMo 1.23 (/tmp/nemo-ref venv), NMESC(getCosAffinityMatrix(blobs(12, 3)), max_num_speakers=8,
    # max_rp_threshold=0.25, sparse_search_volume=30, parallelism=False).forward() -> (3, 9), p list 1..9.
    nmesc = NMESC(
        getCosAffinityMatrix(blobs(12, 3)), max_num_speakers=8, max_rp_threshold=0.25, parallelism=False
    )
    est, p_hat = nmesc.forward()
    assert (int(est), int(p_hat)) == (3, 9)
    assert nmesc.p_value_list.tolist() == list(range(1, 10))
    forked = NMESC(
        getCosAffinityMatrix(blobs(12, 3)), max_num_speakers=8, max_rp_threshold=0.25, parallelism=True
    )
    assert [int(v) for v in forked.forward()] == [3, 9]


def test_p_value_lists():
    mat = torch.eye(40)
    # floor(40 * 0.15) = 6 -> sparse search of min(6, 4) = 4 evenly spaced values in [1, 6], truncated.
    assert NMESC(mat, sparse_search_volume=4).getPvalueList().tolist() == [1, 2, 4, 6]
    assert NMESC(mat, sparse_search=False).getPvalueList().tolist() == [1, 2, 3, 4, 5, 6]
    assert NMESC(mat, fixed_thres=0.3).getPvalueList().tolist() == [12]


@pytest.mark.parametrize("n_spks", [1, 3])
def test_speaker_clustering_recovers_speakers(toy_session, n_spks):
    session = toy_session(n_spks, 30 / n_spks)
    module = SpeakerClustering(cuda=False)
    kwargs = dict(
        embeddings_in_scales=session.embeddings,
        timestamps_in_scales=session.timestamps,
        multiscale_segment_counts=session.counts,
        multiscale_weights=session.weights,
        max_num_speakers=8,
        sparse_search_volume=10,
    )
    labels = module.forward_infer(**kwargs)
    assert labels.shape[0] == int(session.counts[-1])
    assert len(set(labels.tolist())) == n_spks
    assert adjusted_rand_score(session.base_labels.numpy(), labels.numpy()) == 1.0
    scripted = torch.jit.script(module)
    assert torch.equal(scripted.forward_infer(**kwargs), labels)
    oracle = module.forward_infer(**{**kwargs, "oracle_num_speakers": n_spks})
    assert adjusted_rand_score(session.base_labels.numpy(), oracle.numpy()) == 1.0


def test_speaker_clustering_dict_entry_point(toy_session):
    session = toy_session(2, 12.0)
    params = {
        "embeddings": session.embeddings,
        "timestamps": session.timestamps,
        "multiscale_segment_counts": session.counts,
        "multiscale_weights": session.weights,
        "oracle_num_speakers": torch.tensor(-1),
        "max_num_speakers": torch.tensor(8),
        "enhanced_count_thres": torch.tensor(40),
        "sparse_search_volume": torch.tensor(10),
        "max_rp_threshold": torch.tensor(0.15),
        "fixed_thres": torch.tensor(-1.0),
    }
    labels = SpeakerClustering(cuda=False)(params)
    assert adjusted_rand_score(session.base_labels.numpy(), labels.numpy()) == 1.0


def test_short_session_anchor_counting_matches_nemo(toy_session):
    # 22 base segments: below `enhanced_count_thres`, so the count comes from anchor-embedding voting and the
    # disconnected p-neighbour graph is repaired by getMinimumConnection. NeMo 1.23 (/tmp/nemo-ref venv) on
    # make_session(2, 3.0) returned [1] * 7 + [0] * 4 + [1] * 11 (it splits speaker 0 and merges the rest).
    session = toy_session(2, 3.0)
    module = SpeakerClustering(cuda=False)
    labels = module.forward_infer(
        session.embeddings, session.timestamps, session.counts, session.weights, sparse_search_volume=10
    )
    nemo_labels = [1] * 7 + [0] * 4 + [1] * 11
    assert adjusted_rand_score(nemo_labels, labels.numpy()) == 1.0
    single = toy_session(1, 0.4)
    out = module.forward_infer(single.embeddings, single.timestamps, single.counts, single.weights)
    assert out.tolist() == [0]
