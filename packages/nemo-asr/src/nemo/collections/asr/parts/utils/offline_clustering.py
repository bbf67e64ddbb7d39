"""Offline speaker clustering: multi-scale cosine affinity, NME-SC speaker counting and spectral clustering.

The pipeline behind :class:`SpeakerClustering`:

1. Embeddings of every scale are turned into cosine-affinity matrices, brought onto the base (finest)
   scale segments and summed with the multi-scale weights.
2. Normalized Maximum Eigengap (NME) analysis (Park et al., "Auto-Tuning Spectral Clustering for
   Speaker Diarization Using Normalized Maximum Eigengap", IEEE SPL 2019) picks how many nearest
   neighbours each row keeps (``p``) and, from the eigengap of the resulting graph Laplacian, the
   number of speakers.
3. Spectral clustering: k-means on the leading eigenvectors of the Laplacian.

Everything here is written for ``torch.jit.script``: :class:`SpeakerClustering` can be scripted and
saved, so functions carry full type annotations and avoid Python-only constructs.
"""

import math

import torch

# Default arguments (TorchScript needs them evaluated once, at definition time).
_CPU = torch.device("cpu")
_NO_ENHANCED_COUNT = torch.tensor(-1)


def cos_similarity(emb_a: torch.Tensor, emb_b: torch.Tensor, eps: float = 3.5e-4) -> torch.Tensor:
    """Cosine similarity of two sets of vectors with the diagonal set to 1.

    Args:
        emb_a: (N, D) vectors.
        emb_b: (N, D) vectors.
        eps: added to each norm before dividing.

    Returns:
        (N, N) similarities.
    """
    if emb_a.shape[0] == 1 or emb_b.shape[0] == 1:
        raise ValueError(
            f"cos_similarity needs more than one vector per set, got shapes {list(emb_a.shape)} and {list(emb_b.shape)}."
        )
    unit_a = emb_a / (torch.linalg.vector_norm(emb_a, dim=1, keepdim=True) + eps)
    unit_b = emb_b / (torch.linalg.vector_norm(emb_b, dim=1, keepdim=True) + eps)
    sim = unit_a @ unit_b.t()
    sim.fill_diagonal_(1.0)
    return sim


def ScalerMinMax(X: torch.Tensor) -> torch.Tensor:
    """Rescale all entries of ``X`` linearly onto [0, 1] (global min to 0, global max to 1)."""
    low = X.min()
    return (X - low) / (X.max() - low)


def getEuclideanDistance(
    specEmbA: torch.Tensor, specEmbB: torch.Tensor, device: torch.device = _CPU
) -> torch.Tensor:
    """Squared Euclidean distances between two sets of vectors.

    Args:
        specEmbA: (N, D) vectors.
        specEmbB: (M, D) vectors.

    Returns:
        (N, M) squared distances, with size-1 dimensions squeezed away as NeMo does.
    """
    diff = specEmbA.to(device).unsqueeze(1) - specEmbB.to(device).unsqueeze(0)
    return diff.pow(2).sum(dim=-1).squeeze()


def kmeans_plusplus_torch(
    X: torch.Tensor,
    n_clusters: int,
    random_state: int,
    n_local_trials: int = 30,
    device: torch.device = _CPU,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, 2007).

    The first centre is drawn uniformly; each next one is the best of ``n_local_trials`` candidates
    drawn with probability proportional to the squared distance to the centres chosen so far.

    Args:
        X: (N, D) points.
        n_clusters: number of centres.
        random_state: seed for ``torch.manual_seed``.
        n_local_trials: candidates tried per centre.

    Returns:
        centers: (n_clusters, D) chosen points.
        indices: (n_clusters,) int, the rows of ``X`` they came from.
    """
    torch.manual_seed(random_state)
    X = X.to(device)
    n_points = X.shape[0]
    indices = torch.full((n_clusters,), -1, dtype=torch.int)
    first = int(torch.randint(0, n_points, (1,)).item())
    indices[0] = first
    nearest_sq = (X - X[first]).pow(2).sum(dim=1)
    for c in range(1, n_clusters):
        total = float(nearest_sq.sum().item())
        draws = torch.rand(n_local_trials).to(device) * total
        candidates = torch.searchsorted(torch.cumsum(nearest_sq, dim=0), draws)
        candidates = candidates.clamp(max=n_points - 1)
        cand_sq = (X.unsqueeze(0) - X[candidates].unsqueeze(1)).pow(2).sum(dim=-1)  # (trials, N)
        updated = torch.minimum(cand_sq, nearest_sq.unsqueeze(0))
        best = int(torch.argmin(updated.sum(dim=1)).item())
        nearest_sq = updated[best]
        indices[c] = int(candidates[best].item())
    centers = X[indices.long()].clone()
    return centers, indices


def kmeans_torch(
    X: torch.Tensor,
    num_clusters: int,
    threshold: float = 1e-4,
    iter_limit: int = 15,
    random_state: int = 0,
    device: torch.device = _CPU,
) -> torch.Tensor:
    """Lloyd's k-means from a k-means++ start.

    Args:
        X: (N, D) points (spectral embeddings in diarization).
        num_clusters: number of clusters.
        threshold: stop once the squared sum of centre displacements falls below this.
        iter_limit: maximum number of Lloyd iterations.
        random_state: seed of the k-means++ initialisation.

    Returns:
        (N,) long cluster index of every point.
    """
    X = X.float().to(device)
    labels = torch.zeros(X.shape[0], dtype=torch.long, device=X.device)
    if num_clusters <= 1:
        return labels
    centers = kmeans_plusplus_torch(X, n_clusters=num_clusters, random_state=random_state, device=device)[0]
    for _ in range(iter_limit):
        dist = (X.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(dim=-1)  # (N, K)
        labels = torch.argmin(dist, dim=1)
        previous = centers.clone()
        for k in range(num_clusters):
            members = X[labels == k]
            if members.shape[0] == 0:
                # An emptied cluster restarts from a random point.
                members = X[torch.randint(X.shape[0], (1,))]
            centers[k] = members.mean(dim=0)
        shift = torch.linalg.vector_norm(centers - previous, dim=1).sum().pow(2)
        if bool(shift < threshold):
            break
    return labels


def getTheLargestComponent(affinity_mat: torch.Tensor, seg_index: int, device: torch.device) -> torch.Tensor:
    """Nodes reachable from ``seg_index`` over the non-zero entries of ``affinity_mat``.

    Args:
        affinity_mat: (N, N) graph weights; any non-zero entry is an edge.
        seg_index: start node.

    Returns:
        (N,) bool, True for every node in the start node's connected component.
    """
    adjacency = (affinity_mat != 0).to(device)
    reached = torch.zeros(affinity_mat.shape[0], dtype=torch.bool, device=device)
    reached[seg_index] = True
    frontier = reached.clone()
    while bool(frontier.any()):
        neighbours = adjacency[frontier].any(dim=0)
        frontier = neighbours & ~reached
        reached = reached | neighbours
    return reached


def isGraphFullyConnected(affinity_mat: torch.Tensor, device: torch.device) -> torch.Tensor:
    """0-dim bool tensor: whether every node is reachable from node 0."""
    return getTheLargestComponent(affinity_mat, 0, device).sum() == affinity_mat.shape[0]


def getKneighborsConnections(
    affinity_mat: torch.Tensor, p_value: int, mask_method: str = "binary"
) -> torch.Tensor:
    """Keep the ``p_value`` strongest affinities of every row and write them into that row's column.

    Entry ``[j, i]`` of the output is set for each of the top-``p_value`` columns ``j`` of row ``i`` (so each
    output column holds one row's neighbours); everything else is zero.

    Args:
        affinity_mat: (N, N) affinities.
        p_value: neighbours kept per row.
        mask_method: value written for a kept neighbour: ``'binary'`` (1), ``'drop'`` (the affinity itself)
            or ``'sigmoid'`` (sigmoid of the affinity).

    Returns:
        (N, N) sparse neighbour matrix.
    """
    if mask_method not in ["binary", "drop", "sigmoid"]:
        raise ValueError(
            f"getKneighborsConnections: unknown mask_method '{mask_method}'; use 'binary', 'drop' or 'sigmoid'."
        )
    n_nodes = affinity_mat.shape[0]
    keep = min(int(p_value), n_nodes)
    top = torch.topk(affinity_mat, keep, dim=1).indices  # (N, keep)
    neighbour = top.reshape(-1)
    owner = torch.arange(n_nodes, device=affinity_mat.device).repeat_interleave(keep)
    values = affinity_mat[neighbour, owner]
    if mask_method == "binary":
        values = torch.ones_like(values)
    elif mask_method == "sigmoid":
        values = torch.sigmoid(values)
    out = torch.zeros_like(affinity_mat)
    out[neighbour, owner] = values
    return out


def getAffinityGraphMat(affinity_mat_raw: torch.Tensor, p_value: int) -> torch.Tensor:
    """Symmetrised p-nearest-neighbour graph; with ``p_value <= 0`` the raw matrix is symmetrised as is.

    Returns:
        (N, N) ``0.5 * (G + G.T)``.
    """
    graph = affinity_mat_raw if p_value <= 0 else getKneighborsConnections(affinity_mat_raw, p_value)
    return 0.5 * (graph + graph.t())


def getMinimumConnection(
    mat: torch.Tensor, max_N: torch.Tensor, n_list: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbour count that makes the graph connected, with one candidate of margin (NeMo's rule).

    The candidates of ``n_list`` are walked in order (starting from ``p = 1``); once the graph of one
    candidate is connected, the *next* candidate is returned. The walk also stops past ``max_N`` or at
    the end of the list, whose last candidate is then returned.

    Returns:
        affinity_mat: (N, N) graph built with the chosen ``p``.
        p_value: 0-dim tensor, the chosen ``p``.
    """
    p_value = torch.ones_like(n_list[0])
    graph = getAffinityGraphMat(mat, 1)
    for k in range(n_list.shape[0]):
        previous_connected = bool(isGraphFullyConnected(graph, device))
        p_value = n_list[k]
        graph = getAffinityGraphMat(mat, int(p_value.item()))
        if previous_connected or bool(p_value > max_N):
            break
    return graph, p_value


def getRepeatedList(mapping_argmat: torch.Tensor, score_mat_size: torch.Tensor) -> torch.Tensor:
    """How many base-scale segments map onto each segment of a scale.

    Returns:
        (score_mat_size,) int32 counts.
    """
    size = int(score_mat_size.item())
    return torch.bincount(mapping_argmat.long(), minlength=size)[:size].int()


def get_argmin_mat(timestamps_in_scales: list[torch.Tensor]) -> list[torch.Tensor]:
    """Map every base-scale (last scale) segment to the segment of each scale with the nearest centre.

    Args:
        timestamps_in_scales: one (N_s, 2) tensor of [start, end] per scale; the last scale is the base.

    Returns:
        One (N_base,) long tensor per scale: the index of the matching segment of that scale.
    """
    base_centres = timestamps_in_scales[-1].float().mean(dim=1)
    mappings: list[torch.Tensor] = []
    for stamps in timestamps_in_scales:
        centres = stamps.float().mean(dim=1).to(base_centres.device)
        gap = (base_centres.unsqueeze(1) - centres.unsqueeze(0)).abs()
        mappings.append(torch.argmin(gap, dim=1))
    return mappings


def getCosAffinityMatrix(emb: torch.Tensor) -> torch.Tensor:
    """Cosine-similarity matrix rescaled onto [0, 1].

    Args:
        emb: (N, D) embeddings.

    Returns:
        (N, N) float affinities (``[[1.0]]`` for a single embedding).
    """
    if emb.shape[0] == 1:
        return torch.ones((1, 1), device=emb.device)
    emb = emb.float()
    return ScalerMinMax(cos_similarity(emb, emb))


def get_scale_interpolated_embs(
    multiscale_weights: torch.Tensor,
    embeddings_in_scales: list[torch.Tensor],
    timestamps_in_scales: list[torch.Tensor],
    device: torch.device = _CPU,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One embedding per base-scale segment: the weighted sum of the matching embedding of every scale.

    Args:
        multiscale_weights: (1, S) or (S,) scale weights.
        embeddings_in_scales: S tensors, (N_s, D).
        timestamps_in_scales: S tensors, (N_s, 2).

    Returns:
        context_emb: (N_base, D) interpolated embeddings.
        session_scale_mapping_list: S (N_base,) index tensors from :func:`get_argmin_mat`.
    """
    weights = multiscale_weights.reshape(-1).to(device)
    mappings = get_argmin_mat(timestamps_in_scales)
    context_emb = torch.zeros(0)
    for scale, emb in enumerate(embeddings_in_scales):
        term = weights[scale] * emb.to(device)[mappings[scale].to(device)]
        context_emb = term if scale == 0 else context_emb + term
    return context_emb, mappings


def getMultiScaleCosAffinityMatrix(
    multiscale_weights: torch.Tensor,
    embeddings_in_scales: list[torch.Tensor],
    timestamps_in_scales: list[torch.Tensor],
    device: torch.device = _CPU,
) -> torch.Tensor:
    """Weighted sum over scales of each scale's cosine affinity, expanded onto the base-scale segments.

    Args:
        multiscale_weights: (1, S) or (S,) scale weights.
        embeddings_in_scales: S tensors, (N_s, D).
        timestamps_in_scales: S tensors, (N_s, 2); the last scale is the base scale.

    Returns:
        (N_base, N_base) fused affinity.
    """
    weights = multiscale_weights.reshape(-1).to(device)
    mappings = get_argmin_mat(timestamps_in_scales)
    n_base = timestamps_in_scales[-1].shape[0]
    fused = torch.zeros((n_base, n_base), device=device)
    for scale, emb in enumerate(embeddings_in_scales):
        affinity = getCosAffinityMatrix(emb.to(device))
        index = mappings[scale].to(device)
        fused = fused + weights[scale] * affinity[index][:, index]
    return fused


def getLaplacian(X: torch.Tensor) -> torch.Tensor:
    """Unnormalised graph Laplacian ``D - A`` of ``X`` with self-loops removed (``X`` is not modified)."""
    adjacency = X.clone()
    adjacency.fill_diagonal_(0)
    degree = adjacency.abs().sum(dim=1)
    return torch.diag_embed(degree) - adjacency


def _laplacian_on_device(laplacian: torch.Tensor, cuda: bool, device: torch.device) -> torch.Tensor:
    """The Laplacian as float32 on the accelerator when ``cuda`` is set, else on the CPU."""
    target = device if cuda else torch.device("cpu")
    return laplacian.float().to(target)


def eigDecompose(
    laplacian: torch.Tensor, cuda: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric Laplacian."""
    result = torch.linalg.eigh(_laplacian_on_device(laplacian, cuda, device))
    return result[0], result[1]


def eigValueSh(laplacian: torch.Tensor, cuda: bool, device: torch.device) -> torch.Tensor:
    """Eigenvalues (ascending) of a symmetric Laplacian."""
    return torch.linalg.eigvalsh(_laplacian_on_device(laplacian, cuda, device))


def getLamdaGaplist(lambdas: torch.Tensor) -> torch.Tensor:
    """Differences between consecutive eigenvalues, (N - 1,)."""
    if torch.is_complex(lambdas):
        lambdas = torch.real(lambdas)
    return torch.diff(lambdas)


def addAnchorEmb(emb: torch.Tensor, anchor_sample_n: int, anchor_spk_n: int, sigma: float) -> torch.Tensor:
    """Prepend synthetic "anchor" speakers so that eigengap analysis of short inputs is more stable.

    Each anchor speaker is a random Gaussian centre repeated ``anchor_sample_n`` times plus noise whose
    per-dimension spread follows the spread of ``emb`` (each noise vector is peak-normalised, then scaled
    by the per-dimension standard deviation of ``emb`` and by ``sigma``).

    Args:
        emb: (N, D) real embeddings.
        anchor_sample_n: embeddings per anchor speaker.
        anchor_spk_n: number of anchor speakers.
        sigma: noise amplitude.

    Returns:
        (anchor_spk_n * anchor_sample_n + N, D): the anchors followed by ``emb``.
    """
    dim = emb.shape[1]
    spread = torch.std(emb, dim=0)
    parts: list[torch.Tensor] = []
    for _ in range(anchor_spk_n):
        centre = torch.randn(1, dim).to(emb.device).expand(anchor_sample_n, dim)
        noise = torch.randn(anchor_sample_n, dim).to(emb.device)
        noise = noise / noise.abs().max(dim=1, keepdim=True)[0]
        parts.append(centre + sigma * noise * spread.unsqueeze(0))
    parts.append(emb)
    return torch.cat(parts, dim=0)


def getEnhancedSpeakerCount(
    emb: torch.Tensor,
    random_test_count: int = 5,
    anchor_spk_n: int = 3,
    anchor_sample_n: int = 10,
    sigma: float = 50,
    cuda: bool = False,
) -> torch.Tensor:
    """Speaker count for short inputs: NME analysis repeated with anchor speakers added, majority vote.

    Trial ``k`` seeds the global RNG with ``k``; the anchors are subtracted from the voted count.

    Args:
        emb: (N, D) embeddings.
        random_test_count: number of trials.
        anchor_spk_n: anchor speakers per trial.
        anchor_sample_n: embeddings per anchor speaker.
        sigma: anchor noise amplitude.

    Returns:
        0-dim long tensor, the estimated number of speakers (at least 1).
    """
    votes: list[int] = []
    for seed in range(random_test_count):
        torch.manual_seed(seed)
        augmented = addAnchorEmb(emb, anchor_sample_n, anchor_spk_n, sigma)
        nmesc = NMESC(
            getCosAffinityMatrix(augmented),
            max_num_speakers=emb.shape[0],
            max_rp_threshold=0.15,
            sparse_search=True,
            sparse_search_volume=10,
            fixed_thres=-1.0,
            nme_mat_size=300,
            cuda=cuda,
        )
        est_num_of_spk, _ = nmesc.forward()
        votes.append(int(est_num_of_spk.item()))
    voted = int(torch.mode(torch.tensor(votes))[0].item())
    return torch.tensor(max(voted - anchor_spk_n, 1))


def split_input_data(
    embeddings_in_scales: torch.Tensor,
    timestamps_in_scales: torch.Tensor,
    multiscale_segment_counts: torch.Tensor,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Split scale-concatenated embeddings and timestamps into one tensor per scale.

    Args:
        embeddings_in_scales: (sum N_s, D) embeddings of all scales, scale after scale.
        timestamps_in_scales: (sum N_s, 2) timestamps in the same order.
        multiscale_segment_counts: (S,) long, N_s of every scale.

    Returns:
        Lists of S embedding tensors (N_s, D) and S timestamp tensors (N_s, 2).
    """
    if embeddings_in_scales.dim() != 2:
        raise ValueError(
            f"split_input_data: `embeddings_in_scales` must be 2-D, got {embeddings_in_scales.dim()} dimensions."
        )
    if timestamps_in_scales.dim() != 2:
        raise ValueError(
            f"split_input_data: `timestamps_in_scales` must be 2-D, got {timestamps_in_scales.dim()} dimensions."
        )
    total = int(multiscale_segment_counts.sum().item())
    if not (total == embeddings_in_scales.shape[0] == timestamps_in_scales.shape[0]):
        raise ValueError(
            f"split_input_data: `multiscale_segment_counts` sums to {total} but there are "
            f"{embeddings_in_scales.shape[0]} embeddings and {timestamps_in_scales.shape[0]} timestamps; "
            "all three must agree."
        )
    sizes: list[int] = multiscale_segment_counts.long().tolist()
    return list(torch.split(embeddings_in_scales, sizes, dim=0)), list(
        torch.split(timestamps_in_scales, sizes, dim=0)
    )


def estimateNumofSpeakers(
    affinity_mat: torch.Tensor, max_num_speakers: int, cuda: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Speaker count from the largest eigengap of the graph Laplacian.

    Args:
        affinity_mat: (N, N) graph.
        max_num_speakers: only the first ``max_num_speakers`` gaps are considered.

    Returns:
        num_of_spk: 0-dim long tensor, position of the largest gap plus one.
        lambdas: (N,) ascending eigenvalues.
        lambda_gap: (N - 1,) consecutive eigenvalue differences.
    """
    lambdas = torch.sort(eigValueSh(getLaplacian(affinity_mat), cuda=cuda, device=affinity_mat.device))[0]
    gaps = getLamdaGaplist(lambdas)
    considered = min(max_num_speakers, gaps.shape[0])
    return torch.argmax(gaps[:considered]) + 1, lambdas, gaps


class SpectralClustering:
    """k-means on the spectral embedding (leading Laplacian eigenvectors) of an affinity matrix.

    Args:
        n_clusters: number of clusters (speakers).
        random_state: seed of the first k-means run.
        n_random_trials: number of k-means runs (seeds ``random_state``, ``random_state + 1``, ...); with
            several runs, the run that agrees most with the per-segment majority label is returned.
        cuda: run the eigendecomposition on ``device``.
        device: device of the k-means computation.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        random_state: int = 0,
        n_random_trials: int = 1,
        cuda: bool = False,
        device: torch.device = _CPU,
    ):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.n_random_trials = max(n_random_trials, 1)
        self.cuda = cuda
        self.device = device

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Cluster labels, (N,) long, for the (N, N) affinity matrix ``X``."""
        if X.shape[0] != X.shape[1]:
            raise ValueError(f"SpectralClustering: the affinity matrix must be square, got {list(X.shape)}.")
        return self.clusterSpectralEmbeddings(X, cuda=self.cuda, device=self.device)

    def clusterSpectralEmbeddings(
        self, affinity: torch.Tensor, cuda: bool = False, device: torch.device = _CPU
    ) -> torch.Tensor:
        """Run k-means ``n_random_trials`` times on the spectral embedding and return one labelling, (N,)."""
        spectral_emb = self.getSpectralEmbeddings(affinity, n_spks=self.n_clusters, cuda=cuda)
        runs: list[torch.Tensor] = []
        for seed in range(self.random_state, self.random_state + self.n_random_trials):
            runs.append(
                kmeans_torch(X=spectral_emb, num_clusters=self.n_clusters, random_state=seed, device=device)
            )
        if len(runs) == 1:
            return runs[0]
        stacked = torch.stack(runs)
        majority = torch.mode(stacked, dim=0)[0]
        agreement = (stacked == majority.unsqueeze(0)).sum(dim=1)
        return runs[int(torch.argmax(agreement).item())]

    def getSpectralEmbeddings(
        self, affinity_mat: torch.Tensor, n_spks: int = 8, cuda: bool = False
    ) -> torch.Tensor:
        """(N, n_spks) eigenvectors of the Laplacian for its ``n_spks`` smallest eigenvalues."""
        _, vectors = eigDecompose(getLaplacian(affinity_mat), cuda=cuda, device=affinity_mat.device)
        return vectors[:, :n_spks]


class NMESC:
    """Normalized Maximum Eigengap based Spectral Clustering parameter search.

    For every candidate ``p`` (neighbours kept per row) the affinity matrix is turned into a p-neighbour
    graph, and ``g_p = (p / N) / (max eigengap / max eigenvalue)`` is computed; the ``p`` with the smallest
    ``g_p`` wins and its eigengap gives the speaker count.

    Args:
        mat: (N, N) cosine affinity matrix.
        max_num_speakers: upper bound of the speaker count.
        max_rp_threshold: largest ``p`` searched, as a fraction of N.
        sparse_search: search at most ``sparse_search_volume`` evenly spaced ``p`` values instead of all.
        sparse_search_volume: number of ``p`` values in a sparse search.
        nme_mat_size: with ``use_subsampling_for_nme``, the matrix is subsampled to about this size.
        use_subsampling_for_nme: subsample large matrices before the search.
        fixed_thres: if > 0, skip the search and use ``p = floor(N * fixed_thres)``.
        maj_vote_spk_count: take the most common speaker count over all ``p`` instead of the best ``p``'s.
        parallelism: evaluate the ``p`` values with ``torch.jit.fork`` (parallel only in TorchScript).
        cuda: eigendecompositions on ``device``.
        device: device of the graph computations.
    """

    def __init__(
        self,
        mat: torch.Tensor,
        max_num_speakers: int = 10,
        max_rp_threshold: float = 0.15,
        sparse_search: bool = True,
        sparse_search_volume: int = 30,
        nme_mat_size: int = 512,
        use_subsampling_for_nme: bool = True,
        fixed_thres: float = -1.0,
        maj_vote_spk_count: bool = False,
        parallelism: bool = True,
        cuda: bool = False,
        device: torch.device = _CPU,
    ):
        self.max_num_speakers: int = max_num_speakers
        self.max_rp_threshold: float = max_rp_threshold
        self.use_subsampling_for_nme: bool = use_subsampling_for_nme
        self.nme_mat_size: int = nme_mat_size
        self.sparse_search: bool = sparse_search
        self.sparse_search_volume: int = sparse_search_volume
        self.min_p_value = torch.tensor(2)
        self.fixed_thres: float = fixed_thres
        self.eps = 1e-10
        self.max_N = torch.tensor(0)
        self.mat: torch.Tensor = mat
        self.p_value_list: torch.Tensor = self.min_p_value.unsqueeze(0)
        self.cuda: bool = cuda
        self.device: torch.device = device
        self.maj_vote_spk_count: bool = maj_vote_spk_count
        self.parallelism: bool = parallelism

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the search.

        Returns:
            est_num_of_spk: 0-dim int tensor, estimated number of speakers.
            p_hat_value: 0-dim int tensor, chosen ``p`` scaled back to the unsubsampled matrix size.
        """
        ratio = (
            self.subsampleAffinityMat(self.nme_mat_size) if self.use_subsampling_for_nme else torch.tensor(1)
        )
        self.p_value_list = self.getPvalueList()
        candidates: list[int] = self.p_value_list.long().tolist()
        outputs: list[torch.Tensor] = []
        if self.parallelism:
            futures: list[torch.jit.Future[torch.Tensor]] = []
            for p_value in candidates:
                futures.append(torch.jit.fork(self.getEigRatio, p_value))
            for future in futures:
                outputs.append(torch.jit.wait(future))
        else:
            for p_value in candidates:
                outputs.append(self.getEigRatio(p_value))
        results = torch.stack(outputs)  # (P, 2): g_p, speaker count
        counts = results[:, 1].int()
        best = int(torch.argmin(results[:, 0]).item())
        graph = getAffinityGraphMat(self.mat, candidates[best])
        if not bool(isGraphFullyConnected(graph, device=self.device)):
            _, connected_p = getMinimumConnection(self.mat, self.max_N, self.p_value_list, device=self.device)
            best = candidates.index(int(connected_p.item()))
        p_hat_value = (ratio * candidates[best]).int()
        if self.maj_vote_spk_count:
            est_num_of_spk = torch.mode(counts)[0]
        else:
            est_num_of_spk = counts[best]
        return est_num_of_spk, p_hat_value

    def subsampleAffinityMat(self, nme_mat_size: int) -> torch.Tensor:
        """Keep every r-th row and column, r = max(1, floor(N / nme_mat_size)); returns r as a 0-dim int tensor."""
        ratio = max(1, int(self.mat.shape[0] / nme_mat_size))
        self.mat = self.mat[::ratio, ::ratio]
        return torch.tensor(ratio, dtype=torch.int)

    def getEigRatio(self, p_neighbors: int) -> torch.Tensor:
        """``g_p`` and the speaker count for one ``p``.

        Returns:
            (2,) float tensor: [g_p, estimated number of speakers].
        """
        graph = getAffinityGraphMat(self.mat, p_neighbors)
        est_num_of_spk, lambdas, gaps = estimateNumofSpeakers(graph, self.max_num_speakers, self.cuda)
        largest_gap = gaps[: self.max_num_speakers].max() / (lambdas.max() + self.eps)
        g_p = (p_neighbors / self.mat.shape[0]) / (largest_gap + self.eps)
        return torch.stack([g_p.float(), est_num_of_spk.float()])

    def getPvalueList(self) -> torch.Tensor:
        """Candidate ``p`` values (int tensor); also sets ``self.max_N``, the largest of them."""
        n_rows = self.mat.shape[0]
        if self.fixed_thres > 0.0:
            self.max_N = torch.tensor(max(int(math.floor(n_rows * self.fixed_thres)), 2), dtype=torch.int)
            return self.max_N.unsqueeze(0)
        max_n = max(int(math.floor(n_rows * self.max_rp_threshold)), 2)
        self.max_N = torch.tensor(max_n, dtype=torch.int)
        if self.sparse_search:
            steps = min(max_n, max(min(max_n, self.sparse_search_volume), 2))
            p_values = torch.linspace(1, max_n, steps).int()
        else:
            p_values = torch.arange(1, max_n + 1, dtype=torch.int)
        if p_values.shape[0] == 0:
            raise ValueError(
                "NMESC: the p-value search list is empty; check `max_rp_threshold` and the input size."
            )
        return p_values


class SpeakerClustering(torch.nn.Module):
    """Offline speaker clustering (multi-scale affinity + NME-SC); scriptable with ``torch.jit.script``.

    Args:
        min_samples_for_nmesc: inputs with at most this many segments skip the p-neighbour graph and use
            the raw affinity.
        nme_mat_size: matrix size NME analysis subsamples to.
        sparse_search: search a limited number of ``p`` values.
        maj_vote_spk_count: speaker count by majority over all ``p`` values.
        parallelism: evaluate ``p`` values with ``torch.jit.fork``.
        cuda: eigendecompositions on the GPU.
    """

    embeddings_in_scales: list[torch.Tensor]
    timestamps_in_scales: list[torch.Tensor]

    def __init__(
        self,
        min_samples_for_nmesc: int = 6,
        nme_mat_size: int = 512,
        sparse_search: bool = True,
        maj_vote_spk_count: bool = False,
        parallelism: bool = False,
        cuda: bool = False,
    ):
        super().__init__()
        self.min_samples_for_nmesc: int = min_samples_for_nmesc
        self.nme_mat_size: int = nme_mat_size
        self.sparse_search: bool = sparse_search
        self.parallelism: bool = parallelism
        self.cuda: bool = cuda
        self.maj_vote_spk_count: bool = maj_vote_spk_count
        self.embeddings_in_scales = [torch.zeros(0)]
        self.timestamps_in_scales = [torch.zeros(0)]
        self.device = torch.device("cuda") if cuda else torch.device("cpu")

    def forward_unit_infer(
        self,
        mat: torch.Tensor,
        oracle_num_speakers: int = -1,
        max_num_speakers: int = 8,
        max_rp_threshold: float = 0.15,
        sparse_search_volume: int = 30,
        est_num_of_spk_enhanced: torch.Tensor = _NO_ENHANCED_COUNT,
        fixed_thres: float = -1.0,
        kmeans_random_trials: int = 1,
    ) -> torch.Tensor:
        """Cluster one affinity matrix.

        Args:
            mat: (N, N) cosine affinity matrix.
            oracle_num_speakers: known speaker count (> 0) or -1.
            max_num_speakers: upper bound of the estimated count.
            max_rp_threshold: largest ``p`` searched, as a fraction of N.
            sparse_search_volume: number of ``p`` values searched.
            est_num_of_spk_enhanced: count from :func:`getEnhancedSpeakerCount`, used when > 0 and no oracle.
            fixed_thres: if > 0, skip the ``p`` search.
            kmeans_random_trials: k-means restarts.

        Returns:
            (N,) long speaker labels.
        """
        nmesc = NMESC(
            mat,
            max_num_speakers=max_num_speakers,
            max_rp_threshold=max_rp_threshold,
            sparse_search=self.sparse_search,
            sparse_search_volume=sparse_search_volume,
            fixed_thres=fixed_thres,
            nme_mat_size=self.nme_mat_size,
            maj_vote_spk_count=self.maj_vote_spk_count,
            parallelism=self.parallelism,
            cuda=self.cuda,
            device=self.device,
        )
        if mat.shape[0] > self.min_samples_for_nmesc:
            est_num_of_spk, p_hat_value = nmesc.forward()
            affinity_mat = getAffinityGraphMat(mat, int(p_hat_value.item()))
        else:
            # Too few segments for a neighbour graph: count on the raw affinity.
            nmesc.fixed_thres = max_rp_threshold
            est_num_of_spk, _ = nmesc.forward()
            affinity_mat = mat
        if oracle_num_speakers > 0:
            n_clusters = oracle_num_speakers
        elif bool(est_num_of_spk_enhanced > 0):
            n_clusters = int(est_num_of_spk_enhanced.item())
        else:
            n_clusters = int(est_num_of_spk.item())
        spectral_model = SpectralClustering(
            n_clusters=n_clusters, n_random_trials=kmeans_random_trials, cuda=self.cuda, device=self.device
        )
        return spectral_model.forward(affinity_mat)

    def forward(self, param_dict: dict[str, torch.Tensor]) -> torch.Tensor:
        """Entry point for exported models: :meth:`forward_infer` with its arguments packed in a dict.

        Keys: ``embeddings``, ``timestamps``, ``multiscale_segment_counts``, ``multiscale_weights``,
        ``oracle_num_speakers``, ``max_num_speakers``, ``enhanced_count_thres``, ``sparse_search_volume``,
        ``max_rp_threshold``, ``fixed_thres`` (scalars as 0-dim or 1-element tensors).
        """
        return self.forward_infer(
            embeddings_in_scales=param_dict["embeddings"],
            timestamps_in_scales=param_dict["timestamps"],
            multiscale_segment_counts=param_dict["multiscale_segment_counts"],
            multiscale_weights=param_dict["multiscale_weights"],
            oracle_num_speakers=int(param_dict["oracle_num_speakers"].item()),
            max_rp_threshold=float(param_dict["max_rp_threshold"].item()),
            max_num_speakers=int(param_dict["max_num_speakers"].item()),
            enhanced_count_thres=int(param_dict["enhanced_count_thres"].item()),
            sparse_search_volume=int(param_dict["sparse_search_volume"].item()),
            fixed_thres=float(param_dict["fixed_thres"].item()),
        )

    def forward_infer(
        self,
        embeddings_in_scales: torch.Tensor,
        timestamps_in_scales: torch.Tensor,
        multiscale_segment_counts: torch.Tensor,
        multiscale_weights: torch.Tensor,
        oracle_num_speakers: int = -1,
        max_num_speakers: int = 8,
        max_rp_threshold: float = 0.15,
        enhanced_count_thres: int = 40,
        sparse_search_volume: int = 30,
        fixed_thres: float = -1.0,
        kmeans_random_trials: int = 1,
    ) -> torch.Tensor:
        """Cluster the base-scale segments of one session.

        Args:
            embeddings_in_scales: (sum N_s, D) embeddings of all scales, longest scale first.
            timestamps_in_scales: (sum N_s, 2) [start, end] of every segment, same order.
            multiscale_segment_counts: (S,) long, N_s of every scale.
            multiscale_weights: (1, S) or (S,) scale weights.
            oracle_num_speakers: known speaker count (> 0) or -1.
            max_num_speakers: upper bound of the estimated count.
            max_rp_threshold: largest ``p`` searched, as a fraction of N.
            enhanced_count_thres: sessions with at most this many base segments (and no oracle count) are
                counted with anchor embeddings.
            sparse_search_volume: number of ``p`` values searched.
            fixed_thres: if > 0, skip the ``p`` search.
            kmeans_random_trials: k-means restarts.

        Returns:
            (N_base,) long speaker labels.
        """
        self.embeddings_in_scales, self.timestamps_in_scales = split_input_data(
            embeddings_in_scales, timestamps_in_scales, multiscale_segment_counts
        )
        base_emb = self.embeddings_in_scales[-1]
        if base_emb.shape[0] == 1:
            return torch.zeros((1,), dtype=torch.int64)
        if (
            base_emb.shape[0] <= max(enhanced_count_thres, self.min_samples_for_nmesc)
            and oracle_num_speakers < 0
        ):
            est_num_of_spk_enhanced = getEnhancedSpeakerCount(emb=base_emb, cuda=self.cuda)
        else:
            est_num_of_spk_enhanced = torch.tensor(-1)
        if oracle_num_speakers > 0:
            max_num_speakers = oracle_num_speakers
        mat = getMultiScaleCosAffinityMatrix(
            multiscale_weights=multiscale_weights,
            embeddings_in_scales=self.embeddings_in_scales,
            timestamps_in_scales=self.timestamps_in_scales,
            device=self.device,
        )
        return self.forward_unit_infer(
            mat=mat,
            oracle_num_speakers=oracle_num_speakers,
            max_num_speakers=max_num_speakers,
            max_rp_threshold=max_rp_threshold,
            sparse_search_volume=sparse_search_volume,
            est_num_of_spk_enhanced=est_num_of_spk_enhanced,
            fixed_thres=fixed_thres,
            kmeans_random_trials=kmeans_random_trials,
        )
