"""Autoregressive sequence generators over a transformer decoder: greedy and beam search (NeMo 1.23's names).

Both start from a prompt (``decoder_input_ids``, e.g. Canary's five task tokens; a lone ``bos`` when None),
encode it in one pass, then extend it one token per step, reusing the decoder's memories of earlier positions.
Positions run on from the prompt (prompt ``0 .. L-1``, then ``L, L+1, ...``), as in training.

Length: a hypothesis grows by at most ``1 + min(max_sequence_length, src_len + max_delta_length) - L`` tokens
(``max_delta_length < 0``: no source-dependent limit), the limit of NeMo 1.23's beam search; greedy search
uses the same limit, so beam search with ``beam_size=1`` gives the greedy result. A hypothesis ends at ``eos``
(beam search: also at ``pad``); after that it is filled with ``pad``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["BeamSearchSequenceGenerator", "GreedySequenceGenerator"]


class GreedySequenceGenerator:
    """Greedy decoding: the most probable next token at each step.

    Args:
        embedding: token embedding module, called as ``embedding(input_ids, start_pos=...)``.
        decoder: a :class:`TransformerDecoder` (the stack, not the NeMo module wrapping it).
        log_softmax: head called as ``log_softmax(hidden_states=...)`` -> log-probabilities.
        pad, bos, eos: special token ids.
        max_sequence_length: longest sequence, prompt included.
        max_delta_length: with encoder states, also at most ``src_len + max_delta_length`` long (< 0: off).
        batch_size: batch of unconditional generation (no encoder states and no prompt).
    """

    def __init__(
        self,
        embedding: torch.nn.Module,
        decoder: torch.nn.Module,
        log_softmax: torch.nn.Module,
        pad: int = 0,
        bos: int = 1,
        eos: int = 2,
        max_sequence_length: int = 512,
        max_delta_length: int = 20,
        batch_size: int = 1,
    ) -> None:
        self.embedding = embedding
        self.decoder = decoder
        self.log_softmax = log_softmax
        self.pad, self.bos, self.eos = pad, bos, eos
        self.max_seq_length = max_sequence_length
        self.max_delta_len = max_delta_length
        self.batch_size = batch_size

    # ------------------------------------------------------------------------------------------ steps
    def _one_step_forward(
        self,
        decoder_input_ids: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None,
        encoder_input_mask: torch.Tensor | None,
        decoder_mems_list: list[torch.Tensor] | None = None,
        pos: int = 0,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Log-probabilities of the token after ``decoder_input_ids`` (B, Lq) placed at positions ``pos ..``.

        Returns:
            log_probs (B, 1, V) and the decoder memories extended by the ``Lq`` new positions.
        """
        embedded = self.embedding(decoder_input_ids, start_pos=pos)
        input_mask = (decoder_input_ids != self.pad).float()
        if encoder_hidden_states is None:
            raise ValueError(
                f"{type(self).__name__}: encoder_hidden_states are required (decoder-only generation is not "
                "supported by this decoder)."
            )
        memories = self.decoder(
            embedded,
            input_mask,
            encoder_hidden_states,
            encoder_input_mask,
            decoder_mems_list,
            return_mems=True,
        )
        return self.log_softmax(hidden_states=memories[-1][:, -1:]), memories

    def _prepare_for_search(
        self, decoder_input_ids: torch.Tensor | None, encoder_hidden_states: torch.Tensor | None
    ) -> tuple[torch.Tensor, int, int]:
        """``(prompt (B, L), batch size, further steps after the first)``."""
        device = next(self.decoder.parameters()).device
        longest = self.max_seq_length
        batch_size = self.batch_size
        if encoder_hidden_states is not None:
            batch_size, source_length = encoder_hidden_states.shape[:2]
            if self.max_delta_len >= 0:
                longest = min(longest, source_length + self.max_delta_len)
        if decoder_input_ids is None:
            decoder_input_ids = torch.full((batch_size, 1), self.bos, dtype=torch.long, device=device)
        return decoder_input_ids, decoder_input_ids.shape[0], longest - decoder_input_ids.shape[1]

    # ------------------------------------------------------------------------------------------ search
    def _forward(
        self,
        decoder_input_ids: torch.Tensor | None,
        encoder_hidden_states: torch.Tensor | None,
        encoder_input_mask: torch.Tensor | None,
        return_beam_scores: bool = False,
    ) -> torch.Tensor:
        if return_beam_scores:
            raise ValueError(
                "GreedySequenceGenerator has no beam scores; call it with return_beam_scores=False."
            )
        prompt, batch_size, further_steps = self._prepare_for_search(decoder_input_ids, encoder_hidden_states)
        tokens = [prompt]
        finished = torch.zeros(batch_size, 1, dtype=torch.bool, device=prompt.device)
        memories, position, step_input = None, 0, prompt
        for _ in range(further_steps + 1):
            log_probs, memories = self._one_step_forward(
                step_input, encoder_hidden_states, encoder_input_mask, memories, position
            )
            position += step_input.shape[1]
            next_token = log_probs[:, -1].argmax(dim=-1, keepdim=True)
            next_token = next_token.masked_fill(finished, self.pad)
            finished |= next_token == self.eos
            tokens.append(next_token)
            step_input = next_token
            if bool(finished.all()):
                break
        return torch.cat(tokens, dim=1)

    def __call__(
        self,
        decoder_input_ids: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_input_mask: torch.Tensor | None = None,
        return_beam_scores: bool = False,
    ):
        """Generate: (B, L + new) token ids, prompt first (beam search with scores: see its ``_forward``)."""
        with self.as_frozen():
            return self._forward(
                decoder_input_ids, encoder_hidden_states, encoder_input_mask, return_beam_scores
            )

    # ------------------------------------------------------------------------------------------ modes
    def _modules(self) -> tuple[torch.nn.Module, ...]:
        return (self.embedding, self.decoder, self.log_softmax)

    def freeze(self) -> None:
        """Eval mode and no gradients for the embedding, decoder and head."""
        for module in self._modules():
            module.eval()
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def unfreeze(self) -> None:
        """Train mode and gradients for the embedding, decoder and head."""
        for module in self._modules():
            module.train()
            for parameter in module.parameters():
                parameter.requires_grad_(True)

    @contextlib.contextmanager
    def as_frozen(self) -> Iterator[None]:
        """Frozen while inside; afterwards each module's mode and each parameter's ``requires_grad`` are as before
        (NeMo 1.23 unfreezes everything afterwards instead)."""
        saved = [
            (module, module.training, [parameter.requires_grad for parameter in module.parameters()])
            for module in self._modules()
        ]
        self.freeze()
        try:
            yield
        finally:
            for module, training, flags in saved:
                module.train(training)
                for parameter, flag in zip(module.parameters(), flags):
                    parameter.requires_grad_(flag)


class BeamSearchSequenceGenerator(GreedySequenceGenerator):
    """Beam search keeping ``beam_size`` hypotheses per input, ranked with the GNMT length penalty.

    A hypothesis's rank score is ``sum log p / ((5 + length) / 6) ** len_pen`` where ``length`` counts its
    tokens other than ``eos``/``pad`` plus one (prompt included); while searching, candidates are ranked with
    their parent's length (NeMo 1.23's rule), the final choice with their own. Finished hypotheses stay in the
    beam with their score and are extended with ``pad`` only.

    Args:
        beam_size: hypotheses kept per input.
        len_pen: length penalty exponent ``alpha`` (0: plain log-probability).
        Other arguments: as :class:`GreedySequenceGenerator`.
    """

    def __init__(
        self,
        embedding: torch.nn.Module,
        decoder: torch.nn.Module,
        log_softmax: torch.nn.Module,
        beam_size: int = 1,
        len_pen: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(embedding, decoder, log_softmax, **kwargs)
        if beam_size < 1:
            raise ValueError(f"BeamSearchSequenceGenerator: beam_size must be >= 1; got {beam_size}.")
        self.beam_size = beam_size
        self.len_pen = len_pen

    @staticmethod
    def compute_len_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
        """GNMT length penalty ``((5 + lengths) / 6) ** alpha`` (Wu et al. 2016)."""
        return ((5 + lengths) / 6).pow(alpha)

    def _penalty(self, hypotheses: torch.Tensor) -> torch.Tensor:
        """(N, 1) length penalties of (N, L) hypotheses."""
        length = 1 + (hypotheses.ne(self.eos) & hypotheses.ne(self.pad)).sum(dim=1, keepdim=True)
        return self.compute_len_penalty(length.float(), self.len_pen)

    def _forward(
        self,
        decoder_input_ids: torch.Tensor | None,
        encoder_hidden_states: torch.Tensor | None,
        encoder_input_mask: torch.Tensor | None,
        return_beam_scores: bool = False,
    ):
        """Best hypothesis (B, L) per input; with ``return_beam_scores`` also all (B * beam, L) hypotheses and
        their (B * beam, 1) log-probability sums: ``(hypotheses, scores, best)``."""
        prompt, batch_size, further_steps = self._prepare_for_search(decoder_input_ids, encoder_hidden_states)
        beam = self.beam_size
        log_probs, memories = self._one_step_forward(
            prompt, encoder_hidden_states, encoder_input_mask, None, 0
        )
        position = prompt.shape[1]
        scores, first = log_probs[:, -1].topk(beam, dim=-1)  # (B, K)
        # Rows are input-major: input b's hypotheses are rows b*K .. b*K+K-1.
        hypotheses = torch.cat([prompt.repeat_interleave(beam, dim=0), first.reshape(-1, 1)], dim=1)
        scores = scores.reshape(-1, 1)
        memories = [memory.repeat_interleave(beam, dim=0) for memory in memories]
        if encoder_hidden_states is not None:
            encoder_hidden_states = encoder_hidden_states.repeat_interleave(beam, dim=0)
            encoder_input_mask = encoder_input_mask.repeat_interleave(beam, dim=0)
        for _ in range(further_steps):
            finished = hypotheses[:, -1:].eq(self.eos) | hypotheses[:, -1:].eq(self.pad)  # (N, 1)
            if bool(finished.all()):
                break
            log_probs, memories = self._one_step_forward(
                hypotheses[:, -1:], encoder_hidden_states, encoder_input_mask, memories, position
            )
            position += 1
            step = log_probs[:, -1].float()  # (N, V)
            # A finished hypothesis has a single continuation, pad, at no cost.
            continuation = torch.full_like(step, float("-inf"))
            continuation[:, self.pad] = 0.0
            step = torch.where(finished, continuation, step)
            candidate_scores, candidate_tokens = (scores + step).topk(beam, dim=-1)  # (N, K)
            candidate_hypotheses = torch.cat(
                [hypotheses.repeat_interleave(beam, dim=0), candidate_tokens.reshape(-1, 1)], dim=1
            )
            # Candidates are ranked with their parent's length penalty, as NeMo 1.23 does.
            ranked = (candidate_scores / self._penalty(hypotheses)).reshape(batch_size, beam * beam)
            chosen = ranked.topk(beam, dim=-1).indices  # (B, K) in 0 .. K*K-1
            rows = (chosen + torch.arange(batch_size, device=chosen.device)[:, None] * beam * beam).reshape(
                -1
            )
            hypotheses = candidate_hypotheses[rows]
            scores = candidate_scores.reshape(-1, 1)[rows]
            parents = rows // beam
            memories = [memory[parents] for memory in memories]
        best = (scores / self._penalty(hypotheses)).reshape(batch_size, beam).argmax(dim=-1)
        best_hypotheses = hypotheses.reshape(batch_size, beam, -1)[torch.arange(batch_size), best]
        if return_beam_scores:
            return hypotheses, scores, best_hypotheses
        return best_hypotheses
