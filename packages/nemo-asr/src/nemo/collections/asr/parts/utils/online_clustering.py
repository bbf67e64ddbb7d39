"""Streaming speaker clustering with a bounded memory of past speaker embeddings.

:class:`OnlineSpeakerClustering` keeps two buffers: a *current* FIFO of the latest ``current_buffer_size``
embeddings and a *history* of ``history_buffer_size`` embeddings that summarise everything older. When
new embeddings push old ones out of the FIFO, the history is shrunk back to its size by averaging the
most redundant (most mutually similar) embeddings of each speaker. Each step re-clusters history plus
FIFO and matches the new labels to the previous ones with the Hungarian algorithm.

The module is scriptable with ``torch.jit.script``; the helpers below are therefore fully typed.
"""

import torch
from nemo.collections.asr.parts.utils.offline_clustering import (
    NMESC,
    SpectralClustering,
    getAffinityGraphMat,
    getCosAffinityMatrix,
)
from nemo.collections.asr.parts.utils.optimization_utils import linear_sum_assignment


def get_lsa_speaker_mapping(
    U_set: torch.Tensor, cmm_P: torch.Tensor, cmm_Q: torch.Tensor, PandQ: torch.Tensor
) -> torch.Tensor:
    """Relabelling of new labels that best agrees with old labels (maximum co-occurrence assignment).

    Args:
        U_set: (K,) union of old and new labels (non-negative integers).
        cmm_P: (T,) old labels.
        cmm_Q: (T,) new labels, aligned with ``cmm_P``.
        PandQ: labels that are matched; every other label keeps its own value.

    Returns:
        (max(K, max label + 1),) long map from a new label to its matched old label.
    """
    device = cmm_P.device
    # Labels need not be contiguous (old labels may skip values): size the table by the largest label.
    n_labels = max(int(U_set.shape[0]), int(U_set.max().item()) + 1)
    co_occurrence = torch.zeros((n_labels, n_labels), dtype=torch.float, device=device)
    flat = cmm_Q.long() * n_labels + cmm_P.long()
    co_occurrence.view(-1).index_add_(0, flat, torch.ones(flat.shape[0], device=device))
    _, col_ind = linear_sum_assignment(-co_occurrence)
    matched: list[int] = PandQ.long().tolist()
    mapping = torch.arange(n_labels, device=device)
    for label in range(col_ind.shape[0]):
        if label in matched:
            mapping[label] = col_ind[label]
    return mapping


def get_minimal_indices(Y_new: torch.Tensor) -> torch.Tensor:
    """Renumber labels to 0..K-1 keeping their order, e.g. [3, 3, 5, 4] -> [0, 0, 2, 1].

    Args:
        Y_new: (T,) integer labels.

    Returns:
        (T,) long labels.
    """
    _, dense = torch.unique(Y_new, sorted=True, return_inverse=True)
    return dense.long()


def stitch_cluster_labels(Y_old: torch.Tensor, Y_new: torch.Tensor) -> torch.Tensor:
    """Permute the labels of ``Y_new`` to agree as much as possible with ``Y_old``.

    Labels of the overlapping prefix (the first ``min(len(Y_old), len(Y_new))`` positions) are matched
    with the Hungarian algorithm; labels seen only once in both sequences together keep their number.

    Args:
        Y_old: (T_old,) earlier labels.
        Y_new: (T_new,) labels of a fresh clustering.

    Returns:
        (T_new,) long labels, renumbered to 0..K-1.
    """
    Y_new = get_minimal_indices(Y_new)
    if Y_old.shape[0] == 0:
        return get_minimal_indices(Y_new)
    old = Y_old.to(Y_new.device).long()
    both = torch.cat([old, Y_new])
    union, counts = torch.unique(both, return_counts=True)
    if union.shape[0] == 1:
        return get_minimal_indices(torch.zeros_like(Y_new))
    repeated = union[counts > 1]
    overlap = min(old.shape[0], Y_new.shape[0])
    mapping = get_lsa_speaker_mapping(U_set=union, cmm_P=old[:overlap], cmm_Q=Y_new[:overlap], PandQ=repeated)
    return get_minimal_indices(mapping[Y_new])


def calculate_removable_counts(
    removable_counts_mat: torch.Tensor, remain_count: int, num_clus: int
) -> torch.Tensor:
    """Decide how many vectors each cluster gives up so that ``remain_count`` of the removable ones stay.

    The kept amount is water-filled: every cluster keeps up to a common level, clusters smaller than the
    level keep everything, and leftover units go to the largest clusters.

    Args:
        removable_counts_mat: (C,) vectors each cluster could give up.
        remain_count: how many of the removable vectors must stay in total.
        num_clus: number of clusters present (kept for NeMo's signature).

    Returns:
        (C,) int vectors to remove from each cluster.
    """
    if remain_count < 0:
        raise ValueError(
            f"calculate_removable_counts: `remain_count` must be non-negative, got {remain_count}."
        )
    sizes: list[int] = removable_counts_mat.long().tolist()
    order: list[int] = torch.argsort(removable_counts_mat, descending=True, stable=True).tolist()
    kept = [0] * len(sizes)
    left = remain_count
    # Walk from the smallest cluster up: a cluster below the fair share keeps all it has.
    open_clusters = len(order)
    for pos in range(len(order) - 1, -1, -1):
        cluster = order[pos]
        if open_clusters == 0:
            break
        if sizes[cluster] * open_clusters <= left:
            kept[cluster] = sizes[cluster]
            left -= sizes[cluster]
            open_clusters -= 1
        else:
            break
    if open_clusters > 0:
        share = left // open_clusters
        extra = left % open_clusters
        for pos in range(open_clusters):
            kept[order[pos]] = share + (1 if pos < extra else 0)
    removed = [sizes[k] - kept[k] for k in range(len(sizes))]
    return torch.tensor(removed, dtype=torch.int, device=removable_counts_mat.device)


def get_merge_quantity(
    num_to_be_removed: int,
    pre_clus_labels: torch.Tensor,
    min_count_per_cluster: int,
) -> torch.Tensor:
    """How many embeddings to remove (merge away) from each cluster.

    The largest clusters shrink first, every cluster keeps at least ``min_count_per_cluster`` vectors
    (or all it has, if fewer), and the sizes left behind are as even as possible. Example: labels
    [0]*5 + [1]*4 + [2]*3, ``num_to_be_removed=3``, ``min_count_per_cluster=2`` gives [2, 1, 0].

    Args:
        num_to_be_removed: total number of vectors to remove.
        pre_clus_labels: (T,) non-negative cluster labels.
        min_count_per_cluster: floor of every cluster's size.

    Returns:
        (C,) int removals per label, C = max label + 1; sums to ``num_to_be_removed``.
    """
    total = pre_clus_labels.shape[0]
    if num_to_be_removed > total - 1:
        raise ValueError(
            f"get_merge_quantity: `num_to_be_removed`={num_to_be_removed} must be below the number of labels - 1 "
            f"({total - 1})."
        )
    remain_count = total - num_to_be_removed
    label_counts = torch.bincount(pre_clus_labels.long())
    num_clus = torch.unique(pre_clus_labels).shape[0]
    if remain_count < min_count_per_cluster * num_clus:
        raise ValueError(
            f"get_merge_quantity: {remain_count} vectors would remain, fewer than "
            f"`min_count_per_cluster` * clusters = {min_count_per_cluster * num_clus}."
        )
    protected = torch.clamp(label_counts, max=min_count_per_cluster)
    removable = label_counts - protected
    removals = calculate_removable_counts(removable, remain_count - int(protected.sum().item()), num_clus)
    if int(removals.sum().item()) != num_to_be_removed:
        raise ValueError(
            f"get_merge_quantity: planned {int(removals.sum().item())} removals but {num_to_be_removed} were requested."
        )
    if bool((removals < 0).any()):
        raise ValueError(f"get_merge_quantity: negative removal count in {removals}.")
    return removals


def merge_vectors(
    selected_inds: torch.Tensor, emb_ndx: torch.Tensor, pre_cluster_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace the selected vectors by their mean.

    Args:
        selected_inds: (K,) rows of ``emb_ndx`` to merge.
        emb_ndx: (T, D) vectors.
        pre_cluster_labels: (T,) labels of the vectors.

    Returns:
        merged_vecs: (T - K + 1, D): the unselected vectors in ascending row order, then the mean.
        merged_clus_labels: (T - K + 1,) their labels (the mean takes the first selected vector's label).
    """
    if emb_ndx.shape[0] != pre_cluster_labels.shape[0]:
        raise ValueError(
            f"merge_vectors: {emb_ndx.shape[0]} vectors but {pre_cluster_labels.shape[0]} labels; they must match."
        )
    selected = selected_inds.long().to(emb_ndx.device)
    keep = torch.ones(emb_ndx.shape[0], dtype=torch.bool, device=emb_ndx.device)
    keep[selected] = False
    mean_vec = emb_ndx[selected].mean(dim=0, keepdim=True)
    mean_label = pre_cluster_labels[selected[:1]]
    merged_vecs = torch.cat([emb_ndx[keep], mean_vec], dim=0)
    merged_labels = torch.cat([pre_cluster_labels[keep], mean_label], dim=0)
    return merged_vecs, merged_labels


def get_closest_embeddings(affinity_mat: torch.Tensor, n_closest: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the ``n_closest + 1`` vectors with the largest total affinity (they will be merged into one).

    Args:
        affinity_mat: (T, T) symmetric affinities.
        n_closest: number of vectors the merge removes; at most T - 1.

    Returns:
        idx_aff_sum: (n_closest + 1,) indices, largest column sum first.
        rest_inds: (T - n_closest - 1,) the other indices, in the same descending order.
    """
    limit = affinity_mat.shape[0] - 1
    if n_closest > limit:
        raise ValueError(f"get_closest_embeddings: `n_closest`={n_closest} exceeds the limit {limit}.")
    ranking = torch.argsort(affinity_mat.sum(dim=0), descending=True)
    return ranking[: n_closest + 1], ranking[n_closest + 1 :]


def run_reducer(
    pre_embs: torch.Tensor,
    target_spk_idx: int,
    merge_quantity: int,
    pre_clus_labels: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Shrink one speaker's embeddings by ``merge_quantity`` by averaging its most redundant ones.

    Args:
        pre_embs: (T, D) embeddings of all speakers.
        target_spk_idx: the speaker whose embeddings are reduced.
        merge_quantity: how many embeddings disappear (``merge_quantity + 1`` become one).
        pre_clus_labels: (T,) speaker labels.

    Returns:
        merged_embs: (T_spk - merge_quantity, D) the speaker's untouched embeddings, then the average.
        merged_clus_labels: their labels.
        index_mapping: (rows of ``pre_embs`` kept unchanged, ascending; rows that were averaged).
    """
    if pre_embs.shape[0] != pre_clus_labels.shape[0]:
        raise ValueError(
            f"run_reducer: {pre_embs.shape[0]} embeddings but {pre_clus_labels.shape[0]} labels; they must match."
        )
    rows = torch.where(pre_clus_labels == target_spk_idx)[0]
    if merge_quantity <= 0:
        return pre_embs[rows], pre_clus_labels[rows], (rows, torch.arange(0, device=rows.device))
    if merge_quantity > rows.shape[0] - 1:
        raise ValueError(
            f"run_reducer: cannot remove {merge_quantity} of the {rows.shape[0]} embeddings of speaker {target_spk_idx}."
        )
    speaker_affinity = getCosAffinityMatrix(pre_embs)[rows][:, rows]
    selected, rest = get_closest_embeddings(speaker_affinity, merge_quantity)
    merged_embs, merged_labels = merge_vectors(selected, pre_embs[rows], pre_clus_labels[rows])
    index_mapping = (rows[torch.sort(rest)[0]], rows[selected])
    return merged_embs, merged_labels, index_mapping


def get_first_arg_index(mat: torch.Tensor, label: int) -> int:
    """Position of the first occurrence of ``label`` in the 1-D tensor ``mat``."""
    hits = torch.where(mat == label)[0]
    if hits.shape[0] == 0:
        raise ValueError(f"get_first_arg_index: value {label} does not occur in the index tensor.")
    return int(hits[0].item())


class OnlineSpeakerClustering(torch.nn.Module):
    """Online (streaming) speaker clustering with a history buffer of merged embeddings.

    Args:
        max_num_speakers: upper bound of the speaker count.
        max_rp_threshold: largest ``p`` searched by NME analysis, as a fraction of the matrix size.
        enhanced_count_thres: stored for the NeMo interface; online counting does not use anchors.
        fixed_thres: if > 0, skip the ``p`` search.
        sparse_search_volume: number of ``p`` values searched.
        history_buffer_size: number of (merged) embeddings summarising the past.
        current_buffer_size: number of latest embeddings clustered as they are.
        min_spk_counting_buffer_size: the speaker count is the majority over this many latest estimates.
        min_frame_per_spk: at frame f at most ``1 + f // min_frame_per_spk`` speakers are allowed.
        p_update_freq: re-estimate ``p`` every this many frames ...
        p_value_skip_frame_thres: ... until this frame; afterwards the voted ``p`` is kept.
        p_value_queue_size: number of recent ``p`` estimates voted over.
        use_temporal_label_major_vote: not supported (must be False).
        temporal_label_major_vote_buffer_size: stored for the NeMo interface.
        cuda: inputs and computations on the GPU.
    """

    num_spk_stat: list[torch.Tensor]
    p_value_hist: list[torch.Tensor]

    def __init__(
        self,
        max_num_speakers: int = 8,
        max_rp_threshold: float = 0.15,
        enhanced_count_thres: int = 40,
        fixed_thres: float = -1.0,
        sparse_search_volume: int = 10,
        history_buffer_size: int = 150,
        current_buffer_size: int = 150,
        min_spk_counting_buffer_size: int = 3,
        min_frame_per_spk: int = 15,
        p_update_freq: int = 5,
        p_value_skip_frame_thres: int = 50,
        p_value_queue_size: int = 3,
        use_temporal_label_major_vote: bool = False,
        temporal_label_major_vote_buffer_size: int = 11,
        cuda: bool = False,
    ):
        super().__init__()
        if use_temporal_label_major_vote:
            raise ValueError(
                "OnlineSpeakerClustering: `use_temporal_label_major_vote=True` is not supported; leave it False."
            )
        self.max_num_speakers: int = max_num_speakers
        self.max_rp_threshold: float = float(max_rp_threshold)
        self.enhanced_count_thres: int = int(enhanced_count_thres)
        self.sparse_search_volume: int = sparse_search_volume
        self.fixed_thres: float = float(fixed_thres)
        self.history_n: int = history_buffer_size
        self.current_n: int = current_buffer_size
        self.min_spk_counting_buffer_size: int = min_spk_counting_buffer_size
        self.min_frame_per_spk: int = min_frame_per_spk
        self.p_update_freq: int = p_update_freq
        self.p_value_skip_frame_thres: int = p_value_skip_frame_thres
        self.p_value_queue_size: int = p_value_queue_size
        self.use_temporal_label_major_vote: bool = use_temporal_label_major_vote
        self.temporal_label_major_vote_buffer_size: int = temporal_label_major_vote_buffer_size
        self.cuda: bool = cuda
        self.num_spk_stat = [torch.tensor(1)]
        self.p_value_hist = [torch.tensor(2)]
        # Streaming state.
        self.is_online: bool = False
        self.max_embed_count: int = 0
        self.memory_margin: int = 0
        self.minimum_segments_per_buffer: int = int(history_buffer_size / max_num_speakers)
        self.history_buffer_seg_end: int = 0
        self.history_embedding_buffer_emb: torch.Tensor = torch.zeros(0)
        self.history_embedding_buffer_label: torch.Tensor = torch.zeros(0, dtype=torch.long)
        self.Y_fullhist: torch.Tensor = torch.zeros(0, dtype=torch.long)

    def onlineNMEanalysis(self, mat_in: torch.Tensor, frame_index: int) -> tuple[int, int]:
        """Speaker count and ``p`` for this frame; ``p`` is re-estimated only every ``p_update_freq`` early frames.

        Returns:
            (estimated number of speakers, voted ``p``).
        """
        nmesc = NMESC(
            mat_in,
            max_num_speakers=self.max_num_speakers,
            max_rp_threshold=self.max_rp_threshold,
            sparse_search=True,
            maj_vote_spk_count=False,
            sparse_search_volume=self.sparse_search_volume,
            fixed_thres=self.fixed_thres,
            nme_mat_size=256,
            parallelism=False,
            device=mat_in.device,
            cuda=self.cuda,
        )
        refresh = frame_index < self.p_value_skip_frame_thres and frame_index % self.p_update_freq == 0
        if len(self.p_value_hist) == 0 or refresh:
            _, p_estimate = nmesc.forward()
            self.p_value_hist.append(p_estimate)
            if len(self.p_value_hist) > self.p_value_queue_size:
                self.p_value_hist.pop(0)
        recent: list[int] = [int(p.item()) for p in self.p_value_hist]
        p_hat_value = int(torch.mode(torch.tensor(recent))[0].item())
        est_num_of_spk = int(nmesc.getEigRatio(p_hat_value)[1].item())
        return est_num_of_spk, p_hat_value

    def speaker_counter_buffer(self, est_num_of_spk: int) -> torch.Tensor:
        """Majority speaker count over the latest ``min_spk_counting_buffer_size`` estimates (0-dim tensor)."""
        self.num_spk_stat.append(torch.tensor(est_num_of_spk))
        if len(self.num_spk_stat) > self.min_spk_counting_buffer_size:
            self.num_spk_stat.pop(0)
        history: list[int] = [int(s.item()) for s in self.num_spk_stat]
        return torch.argmax(torch.bincount(torch.tensor(history)))

    def limit_frames_per_speaker(self, frame_index: int, est_num_of_spk: int) -> int:
        """Cap the speaker count at ``1 + frame_index // min_frame_per_spk``."""
        return min(est_num_of_spk, 1 + frame_index // self.min_frame_per_spk)

    def online_spk_num_estimation(self, mat_in: torch.Tensor, frame_index: int) -> tuple[int, torch.Tensor]:
        """Speaker count (voted and capped) and the p-neighbour graph of ``mat_in``.

        Returns:
            est_num_of_spk: the speaker count.
            affinity_mat: (N, N) graph built with the voted ``p``.
        """
        est_num_of_spk, p_hat_value = self.onlineNMEanalysis(mat_in, frame_index)
        affinity_mat = getAffinityGraphMat(mat_in, p_hat_value)
        voted = self.speaker_counter_buffer(est_num_of_spk)
        return self.limit_frames_per_speaker(frame_index, int(voted.item())), affinity_mat

    def prepare_embedding_update(
        self, emb_in: torch.Tensor, segment_indexes_matrix: torch.Tensor
    ) -> tuple[bool, int, torch.Tensor, torch.Tensor]:
        """Collect the embeddings that leave the FIFO and must be folded into the history buffer.

        Args:
            emb_in: (T, D) all embeddings of the session so far.
            segment_indexes_matrix: (T,) global segment index of each row.

        Returns:
            is_update: whether new segments arrived since the last call.
            new_emb_n: number of embeddings to remove from ``pre_embs`` by merging.
            pre_embs: (history_n + new_emb_n, D) history plus the embeddings that left the FIFO.
            pre_clus_labels: their labels.
        """
        seen = int(segment_indexes_matrix[-1].item()) + 1
        boundary = seen - self.current_n
        new_emb_n = 0
        pre_embs = torch.zeros(0)
        pre_clus_labels = torch.zeros(0, dtype=torch.long)
        is_update = seen > self.max_embed_count
        if is_update:
            if self.history_embedding_buffer_emb.shape[0] == 0:
                # First time the buffers overflow: everything before the FIFO becomes history.
                new_emb_n = seen - (self.current_n + self.history_n)
                pre_embs = emb_in[: get_first_arg_index(segment_indexes_matrix, boundary)]
                pre_clus_labels = self.Y_fullhist[:boundary]
            else:
                start = self.history_buffer_seg_end
                new_emb_n = boundary - start
                rows_from = get_first_arg_index(segment_indexes_matrix, start)
                rows_to = get_first_arg_index(segment_indexes_matrix, boundary)
                pre_embs = torch.cat([self.history_embedding_buffer_emb, emb_in[rows_from:rows_to]], dim=0)
                pre_clus_labels = torch.cat(
                    [self.history_embedding_buffer_label, self.Y_fullhist[start:boundary]]
                )
            if new_emb_n > self.current_n:
                raise ValueError(
                    f"OnlineSpeakerClustering: {new_emb_n} segments arrived at once, more than the current buffer "
                    f"size {self.current_n}; increase `current_buffer_size` or use longer segments."
                )
            if new_emb_n <= 0:
                raise ValueError(
                    f"OnlineSpeakerClustering: segment counting error, {new_emb_n} new segments."
                )
            if pre_embs.shape[0] != pre_clus_labels.shape[0]:
                raise ValueError(
                    f"OnlineSpeakerClustering: {pre_embs.shape[0]} history embeddings but "
                    f"{pre_clus_labels.shape[0]} labels."
                )
        self.history_buffer_seg_end = boundary
        self.max_embed_count = max(seen, self.max_embed_count)
        return is_update, new_emb_n, pre_embs, pre_clus_labels

    def make_constant_length_emb(
        self, emb_in: torch.Tensor, base_segment_indexes: torch.Tensor
    ) -> torch.Tensor:
        """FIFO embeddings (segments at or after the history boundary), padded to ``current_n`` rows
        by repeating the last one when the segmentation temporarily returns fewer segments.

        Returns:
            (max(current_n, T_fifo), D) embeddings.
        """
        fifo = emb_in[base_segment_indexes >= self.history_buffer_seg_end]
        missing = self.current_n - fifo.shape[0]
        if missing > 0:
            fifo = torch.cat([fifo, fifo[-1:].expand(missing, fifo.shape[1])], dim=0)
        return fifo

    def update_speaker_history_buffer(
        self, emb_in: torch.Tensor, base_segment_indexes: torch.Tensor
    ) -> tuple[torch.Tensor, bool]:
        """Fold the embeddings leaving the FIFO into the history buffer and stack history + FIFO.

        Returns:
            history_and_current_emb: (history_n + current_n, D) embeddings to cluster.
            is_update: whether the history buffer changed.
        """
        is_update, new_emb_n, pre_embs, pre_clus_labels = self.prepare_embedding_update(
            emb_in, base_segment_indexes
        )
        if is_update:
            removals = get_merge_quantity(
                num_to_be_removed=new_emb_n,
                pre_clus_labels=pre_clus_labels,
                min_count_per_cluster=self.minimum_segments_per_buffer,
            )
            kept_embs: list[torch.Tensor] = []
            kept_labels: list[torch.Tensor] = []
            removal_list: list[int] = removals.long().tolist()
            for speaker, quantity in enumerate(removal_list):
                merged_embs, merged_labels, _ = run_reducer(
                    pre_embs=pre_embs,
                    target_spk_idx=speaker,
                    merge_quantity=quantity,
                    pre_clus_labels=pre_clus_labels,
                )
                kept_embs.append(merged_embs)
                kept_labels.append(merged_labels)
            self.history_embedding_buffer_emb = torch.cat(kept_embs, dim=0)
            self.history_embedding_buffer_label = torch.cat(kept_labels)
            if self.history_embedding_buffer_emb.shape[0] != self.history_n:
                raise ValueError(
                    f"OnlineSpeakerClustering: history buffer holds {self.history_embedding_buffer_emb.shape[0]} "
                    f"embeddings instead of {self.history_n}."
                )
        fifo = self.make_constant_length_emb(emb_in, base_segment_indexes)
        stacked = torch.cat([self.history_embedding_buffer_emb, fifo], dim=0)
        n_labels = self.history_embedding_buffer_label.shape[0] + min(
            self.current_n, self.Y_fullhist.shape[0]
        )
        if stacked.shape[0] != n_labels:
            raise ValueError(
                f"OnlineSpeakerClustering: {stacked.shape[0]} buffered embeddings but {n_labels} buffered labels."
            )
        return stacked, is_update

    def get_reduced_mat(
        self, emb_in: torch.Tensor, base_segment_indexes: torch.Tensor
    ) -> tuple[torch.Tensor, bool]:
        """Embeddings to cluster: all of them while they fit the buffers, otherwise history + FIFO.

        Returns:
            merged_emb: (N, D) embeddings to cluster.
            add_new: whether new segments were added (their labels extend the label history).
        """
        overflow = emb_in.shape[0] - (self.current_n + self.history_n)
        if overflow > 0 and self.Y_fullhist.shape[0] == 0:
            raise ValueError(
                f"OnlineSpeakerClustering: the first input has {emb_in.shape[0]} embeddings, more than the "
                f"history + current buffers ({self.history_n + self.current_n}); enlarge the buffers or use "
                "longer segments."
            )
        if overflow > 0:
            self.is_online = True
            return self.update_speaker_history_buffer(
                emb_in=emb_in, base_segment_indexes=base_segment_indexes
            )
        self.is_online = False
        return emb_in, True

    def match_labels(self, Y_merged: torch.Tensor, add_new: bool) -> torch.Tensor:
        """Align fresh labels with the label history and extend the history.

        Args:
            Y_merged: (N,) labels of the clustered buffer (history first when online).
            add_new: append the FIFO's labels to the label history.

        Returns:
            (T,) labels of every segment of the session so far.
        """
        if not self.is_online:
            self.Y_fullhist = stitch_cluster_labels(Y_old=self.Y_fullhist, Y_new=Y_merged).to(Y_merged.device)
            return self.Y_fullhist
        previous = torch.cat(
            [
                self.history_embedding_buffer_label,
                self.Y_fullhist[self.history_buffer_seg_end :].to(Y_merged.device),
            ]
        )
        matched = stitch_cluster_labels(Y_old=previous, Y_new=Y_merged).to(Y_merged.device)
        if not add_new:
            return self.Y_fullhist
        fifo_labels = matched[self.history_n :]
        if fifo_labels.shape[0] != self.current_n:
            raise ValueError(
                f"OnlineSpeakerClustering: {fifo_labels.shape[0]} FIFO labels instead of {self.current_n}."
            )
        self.Y_fullhist = torch.cat(
            [self.Y_fullhist[: self.history_buffer_seg_end].to(Y_merged.device), fifo_labels]
        )
        return self.Y_fullhist

    def forward(
        self,
        curr_emb: torch.Tensor,
        base_segment_indexes: torch.Tensor,
        max_num_speakers: int,
        max_rp_threshold: float,
        enhanced_count_thres: int,
        sparse_search_volume: int,
        frame_index: int,
        cuda: bool = False,
    ) -> torch.Tensor:
        """Scriptable entry point; see :meth:`forward_infer`."""
        return self.forward_infer(
            curr_emb=curr_emb,
            base_segment_indexes=base_segment_indexes,
            max_num_speakers=max_num_speakers,
            max_rp_threshold=max_rp_threshold,
            enhanced_count_thres=enhanced_count_thres,
            sparse_search_volume=sparse_search_volume,
            frame_index=frame_index,
            cuda=cuda,
        )

    def forward_infer(
        self,
        curr_emb: torch.Tensor,
        base_segment_indexes: torch.Tensor,
        max_num_speakers: int = 4,
        max_rp_threshold: float = 0.15,
        enhanced_count_thres: int = 40,
        sparse_search_volume: int = 10,
        fixed_thres: float = -1.0,
        frame_index: int = 0,
        cuda: bool = False,
    ) -> torch.Tensor:
        """Cluster the session's embeddings up to the current frame.

        Args:
            curr_emb: (T, D) all base-scale embeddings of the session so far.
            base_segment_indexes: (T,) global index of each embedding's segment.
            max_num_speakers: upper bound of the speaker count.
            max_rp_threshold: largest ``p`` searched, as a fraction of the matrix size.
            enhanced_count_thres: stored; not used by online counting.
            sparse_search_volume: number of ``p`` values searched.
            fixed_thres: if > 0, skip the ``p`` search.
            frame_index: index of the current streaming frame.
            cuda: the inputs are expected on the GPU.

        Returns:
            (T,) long speaker labels of every segment so far.
        """
        self.max_num_speakers = max_num_speakers
        self.max_rp_threshold = max_rp_threshold
        self.enhanced_count_thres = enhanced_count_thres
        self.sparse_search_volume = sparse_search_volume
        self.fixed_thres = fixed_thres
        if cuda and (curr_emb.device.type == "cpu" or base_segment_indexes.device.type == "cpu"):
            raise ValueError(
                "OnlineSpeakerClustering: `cuda=True` but `curr_emb` or `base_segment_indexes` is on the CPU."
            )
        merged_embs, add_new = self.get_reduced_mat(
            emb_in=curr_emb, base_segment_indexes=base_segment_indexes
        )
        if merged_embs.shape[0] == 1:
            labels = torch.zeros((1,), dtype=torch.long, device=merged_embs.device)
        else:
            est_num_of_spk, affinity_mat = self.online_spk_num_estimation(
                getCosAffinityMatrix(merged_embs), frame_index
            )
            spectral_model = SpectralClustering(
                n_clusters=est_num_of_spk, cuda=cuda, device=merged_embs.device
            )
            labels = spectral_model.forward(affinity_mat).to(merged_embs.device)
        return self.match_labels(Y_merged=labels, add_new=add_new)
