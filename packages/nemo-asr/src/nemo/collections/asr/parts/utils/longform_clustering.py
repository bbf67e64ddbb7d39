"""Speaker clustering for long recordings: over-cluster fixed-size chunks, then cluster the chunk summaries.

A session with more base-scale segments than ``embeddings_per_chunk`` is cut into chunks of that many
embeddings. Each chunk is clustered into ``chunk_cluster_count`` groups and every group is averaged into
one embedding; the averages of all chunks are clustered once more and the labels are copied back to
the segments each average stands for. Shorter sessions go straight to :class:`SpeakerClustering`.
"""

import math

import torch
from nemo.collections.asr.parts.utils.offline_clustering import (
    SpeakerClustering,
    get_scale_interpolated_embs,
    getCosAffinityMatrix,
    split_input_data,
)
from nemo.collections.asr.parts.utils.online_clustering import get_merge_quantity, run_reducer


class LongFormSpeakerClustering(torch.nn.Module):
    """Chunked speaker clustering; scriptable with ``torch.jit.script``.

    Args:
        cuda: eigendecompositions on the GPU.
    """

    embeddings_in_scales: list[torch.Tensor]
    timestamps_in_scales: list[torch.Tensor]

    def __init__(self, cuda: bool = False):
        super().__init__()
        self.speaker_clustering = SpeakerClustering(cuda=cuda)
        self.embeddings_in_scales = [torch.tensor([0])]
        self.timestamps_in_scales = [torch.tensor([0])]
        self.cuda: bool = cuda
        self.device = torch.device("cuda") if cuda else torch.device("cpu")

    def check_input(self, embeddings_per_chunk: int, chunk_cluster_count: int, max_num_speakers: int) -> None:
        """Reject chunk settings that cannot work (raises ``ValueError`` naming the argument)."""
        if chunk_cluster_count >= embeddings_per_chunk:
            raise ValueError(
                f"LongFormSpeakerClustering: `chunk_cluster_count` ({chunk_cluster_count}) must be smaller than "
                f"`embeddings_per_chunk` ({embeddings_per_chunk})."
            )
        if chunk_cluster_count <= max_num_speakers:
            raise ValueError(
                f"LongFormSpeakerClustering: `chunk_cluster_count` ({chunk_cluster_count}) must be larger than "
                f"`max_num_speakers` ({max_num_speakers})."
            )

    def unpack_labels(
        self,
        Y_aggr: torch.Tensor,
        window_range_list: list[list[int]],
        absolute_merge_mapping: list[list[torch.Tensor]],
        org_len: int,
    ) -> torch.Tensor:
        """Copy the labels of the chunk summaries back onto the original segments.

        Args:
            Y_aggr: (R,) labels of the reduced embeddings.
            window_range_list: for every reduced group, its [start, end) rows in ``Y_aggr``.
            absolute_merge_mapping: for every group, [segments kept as they were, segments averaged into the
                group's last row]; the kept segments correspond, in order, to the group's other rows.
            org_len: number of original segments.

        Returns:
            (org_len,) long labels.
        """
        labels = torch.zeros((org_len,), dtype=torch.long, device=Y_aggr.device)
        for rows, mapping in zip(window_range_list, absolute_merge_mapping):
            group = Y_aggr[rows[0] : rows[1]]
            kept, averaged = mapping[0], mapping[1]
            if averaged.shape[0] > 0:
                labels[averaged.long()] = group[-1]
                if kept.shape[0] > 0:
                    labels[kept.long()] = group[:-1]
            elif kept.shape[0] > 0:
                labels[kept.long()] = group
        return labels

    def split_embs_to_windows(
        self,
        index: int,
        emb: torch.Tensor,
        embeddings_per_chunk: int,
    ) -> tuple[torch.Tensor, int]:
        """Chunk ``index`` of ``emb``; the last chunk is the final ``embeddings_per_chunk`` rows.

        Returns:
            emb_part: (embeddings_per_chunk, D) rows (fewer if ``emb`` itself is shorter).
            offset_index: row of ``emb`` where the chunk starts.
        """
        start = embeddings_per_chunk * index
        if start + embeddings_per_chunk > emb.shape[0]:
            start = max(emb.shape[0] - embeddings_per_chunk, 0)
        return emb[start : start + embeddings_per_chunk], start

    def forward(self, param_dict: dict[str, torch.Tensor]) -> torch.Tensor:
        """Entry point for exported models; keys as in :meth:`SpeakerClustering.forward`."""
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

    def get_div_ceil_count(self, numer: int, denomin: int) -> int:
        """``ceil(numer / denomin)``."""
        return int(math.ceil(numer / denomin))

    def long_forward_infer(
        self,
        embeddings_in_scales: torch.Tensor,
        timestamps_in_scales: torch.Tensor,
        multiscale_segment_counts: torch.Tensor,
        multiscale_weights: torch.Tensor,
        oracle_num_speakers: int,
        max_rp_threshold: float,
        max_num_speakers: int,
        sparse_search_volume: int,
        fixed_thres: float,
        chunk_cluster_count: int,
        embeddings_per_chunk: int,
    ) -> torch.Tensor:
        """Chunked clustering; arguments as in :meth:`forward_infer`.

        Returns:
            (N_base,) long speaker labels.
        """
        self.check_input(embeddings_per_chunk, chunk_cluster_count, max_num_speakers)
        self.embeddings_in_scales, self.timestamps_in_scales = split_input_data(
            embeddings_in_scales, timestamps_in_scales, multiscale_segment_counts
        )
        emb = get_scale_interpolated_embs(
            multiscale_weights, self.embeddings_in_scales, self.timestamps_in_scales, self.device
        )[0]
        reduced: list[torch.Tensor] = []
        group_rows: list[list[int]] = []
        group_members: list[list[torch.Tensor]] = []
        next_row = 0
        for chunk in range(self.get_div_ceil_count(emb.shape[0], embeddings_per_chunk)):
            emb_part, offset = self.split_embs_to_windows(chunk, emb, embeddings_per_chunk)
            if emb_part.shape[0] == 1:
                chunk_labels = torch.zeros((1,), dtype=torch.long)
            else:
                chunk_labels = self.speaker_clustering.forward_unit_infer(
                    mat=getCosAffinityMatrix(emb_part),
                    oracle_num_speakers=min(chunk_cluster_count, emb_part.shape[0]),
                    max_rp_threshold=max_rp_threshold,
                    max_num_speakers=chunk_cluster_count,
                    sparse_search_volume=sparse_search_volume,
                )
            # Keep (about) one averaged embedding per over-clustered group.
            removals = get_merge_quantity(
                num_to_be_removed=int(min(embeddings_per_chunk, emb_part.shape[0]) - chunk_cluster_count),
                pre_clus_labels=chunk_labels,
                min_count_per_cluster=self.get_div_ceil_count(
                    chunk_cluster_count, torch.unique(chunk_labels).shape[0]
                ),
            )
            removal_list: list[int] = removals.long().tolist()
            for group, quantity in enumerate(removal_list):
                merged_embs, _labels, index_mapping = run_reducer(
                    pre_embs=emb_part,
                    target_spk_idx=group,
                    merge_quantity=quantity,
                    pre_clus_labels=chunk_labels,
                )
                reduced.append(merged_embs)
                group_members.append([index_mapping[0] + offset, index_mapping[1] + offset])
                group_rows.append([next_row, next_row + merged_embs.shape[0]])
                next_row += merged_embs.shape[0]
        reduced_embs = torch.cat(reduced, dim=0)
        reduced_labels = self.speaker_clustering.forward_unit_infer(
            mat=getCosAffinityMatrix(reduced_embs),
            oracle_num_speakers=oracle_num_speakers,
            max_rp_threshold=max_rp_threshold,
            max_num_speakers=max_num_speakers,
            sparse_search_volume=sparse_search_volume,
            fixed_thres=fixed_thres,
        )
        if reduced_labels.shape[0] != reduced_embs.shape[0]:
            raise ValueError(
                f"LongFormSpeakerClustering: {reduced_embs.shape[0]} reduced embeddings but "
                f"{reduced_labels.shape[0]} labels."
            )
        return self.unpack_labels(
            Y_aggr=reduced_labels,
            window_range_list=group_rows,
            absolute_merge_mapping=group_members,
            org_len=emb.shape[0],
        )

    def forward_infer(
        self,
        embeddings_in_scales: torch.Tensor,
        timestamps_in_scales: torch.Tensor,
        multiscale_segment_counts: torch.Tensor,
        multiscale_weights: torch.Tensor,
        oracle_num_speakers: int = -1,
        max_rp_threshold: float = 0.15,
        max_num_speakers: int = 8,
        enhanced_count_thres: int = 80,
        sparse_search_volume: int = 30,
        fixed_thres: float = -1.0,
        chunk_cluster_count: int = 50,
        embeddings_per_chunk: int = 10000,
    ) -> torch.Tensor:
        """Cluster a session, chunked when any scale has more than ``embeddings_per_chunk`` segments.

        Args:
            embeddings_in_scales: (sum N_s, D) embeddings of all scales, longest scale first.
            timestamps_in_scales: (sum N_s, 2) [start, end] of every segment.
            multiscale_segment_counts: (S,) long, N_s of every scale.
            multiscale_weights: (1, S) or (S,) scale weights.
            oracle_num_speakers: known speaker count (> 0) or -1.
            max_rp_threshold: largest ``p`` searched, as a fraction of N.
            max_num_speakers: upper bound of the speaker count.
            enhanced_count_thres: see :meth:`SpeakerClustering.forward_infer` (short sessions only).
            sparse_search_volume: number of ``p`` values searched.
            fixed_thres: if > 0, skip the ``p`` search in the final clustering.
            chunk_cluster_count: groups per chunk; must exceed ``max_num_speakers``.
            embeddings_per_chunk: chunk size.

        Returns:
            (N_base,) long speaker labels.
        """
        if int(multiscale_segment_counts.max().item()) > embeddings_per_chunk:
            return self.long_forward_infer(
                embeddings_in_scales=embeddings_in_scales,
                timestamps_in_scales=timestamps_in_scales,
                multiscale_segment_counts=multiscale_segment_counts,
                multiscale_weights=multiscale_weights,
                oracle_num_speakers=oracle_num_speakers,
                max_rp_threshold=max_rp_threshold,
                max_num_speakers=max_num_speakers,
                sparse_search_volume=sparse_search_volume,
                fixed_thres=fixed_thres,
                chunk_cluster_count=chunk_cluster_count,
                embeddings_per_chunk=embeddings_per_chunk,
            )
        labels = self.speaker_clustering.forward_infer(
            embeddings_in_scales=embeddings_in_scales,
            timestamps_in_scales=timestamps_in_scales,
            multiscale_segment_counts=multiscale_segment_counts,
            multiscale_weights=multiscale_weights,
            oracle_num_speakers=oracle_num_speakers,
            max_rp_threshold=max_rp_threshold,
            max_num_speakers=max_num_speakers,
            enhanced_count_thres=enhanced_count_thres,
            sparse_search_volume=sparse_search_volume,
            fixed_thres=fixed_thres,
        )
        self.timestamps_in_scales = self.speaker_clustering.timestamps_in_scales
        return labels
