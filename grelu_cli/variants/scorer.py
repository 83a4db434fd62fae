"""Stream planned alleles through a :class:`~grelu_cli.predict.loop.Predictor` and score them.

Records are taken in fixed groups counted from the start of the input (group k holds the
records with index ``[k*G, (k+1)*G)``, ``G`` = :attr:`VariantScorer.group_records`). The
*distinct* inputs of a group's alleles form its batch (ref and alt windows travel together,
and an input shared by several alleles, such as the reference window of a multi-allelic
site, duplicated records or every allele at the same POS, is predicted once); a group with
more distinct inputs than a batch holds is cut into consecutive batches. So a batch depends
only on its group: a shard or a resumed run that starts on a group boundary predicts
exactly the batches an uninterrupted run does (bit-identical numbers, nothing padded or
predicted twice). Results are handed out per group, in input order, as
:class:`AlleleResults`; nothing else accumulates (memory stays flat).

The predictor does the augmentation (``--rc``, ``--shifts``: inputs carry ``flank`` extra
bases per side), activation, ``--untransform``, strand-pair swapping and the ``--bins``
selection, averaging the augmented copies *before* the ref/alt comparison, as gReLU's
``predict_variant_effects`` does. It is built without ``--aggregate``: the bins are reduced
here, after averaging (CLI.md), so profile scores can see them.

With a replicate ensemble (``--replicate 0,1,..``) each group's batches are predicted once
per replicate (the predictor runs that member alone), each replicate's results are computed
as for one model, and the group's results are their field-by-field mean
(:func:`~grelu_cli.variants.replicate_mean.mean_of_results`): per-replicate statistics
averaged, as Calico's fold ensembles, not statistics of the averaged prediction. The group's
inputs are encoded once; ``windows`` counts predictions (distinct inputs x replicates).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from grelu_cli.genome.encode import one_hot_batch
from grelu_cli.variants.plan import PlannedAllele, VariantCounts
from grelu_cli.variants.replicate_mean import mean_of_results
from grelu_cli.variants.scores import compute_scores
from grelu_cli.variants.windows import SequenceReader

if TYPE_CHECKING:
    import torch

    from grelu_cli.predict.loop import Predictor


def group_size(batch_windows: int) -> int:
    """Records per group for batches of ``batch_windows`` inputs: a SNV needs two."""
    return max(1, batch_windows // 2)


@dataclass
class AlleleResults:
    """Scores of consecutive scored alleles.

    Attributes:
        alleles: the N alleles, in input order.
        ref_value, alt_value: (N, T) float32, the reduced ref/alt predictions.
        scores: score name -> (N, T) float32.
        windows: distinct inputs predicted for them (their group's).
    """

    alleles: list[PlannedAllele]
    ref_value: np.ndarray
    alt_value: np.ndarray
    scores: dict[str, np.ndarray]
    windows: int = 0


@dataclass
class _Group:
    specs: list[Any]  # distinct SeqSpecs predicted for this group
    alleles: list[PlannedAllele]
    refs: list[int]  # slot of each allele's ref input in specs
    alts: list[int]


class VariantScorer:
    """Score planned alleles with one predictor.

    Args:
        predictor: built with ``center_bins=--bins`` and no ``aggregate``.
        reader: reads the inputs (its ``flank`` must equal ``predictor.flank``).
        scores: score names (see :mod:`grelu_cli.variants.scores`).
        aggregate: ``--aggregate`` for ``ref_value``/``alt_value`` and value scores.
        pseudocount: ``--pseudocount`` for ``log2fc``.
        counts: ``windows`` (distinct inputs predicted) is added to it.
        batch_windows: distinct inputs per batch (default: the predictor's batch size).
        group_records: records per group (default :func:`group_size` of ``batch_windows``);
            shards and resumed runs must cut the input on multiples of it.
        reduce: replaces the per-task scores: called as ``reduce(alleles, ref, alt,
            windows)`` with a group's alleles and their (N, T, L) ref/alt profiles (every
            kept bin), it returns the group's result (``grelu variants --genes``: the
            :class:`~grelu_cli.genes.variant_sed.GeneScorer`, a ``GeneResults``).
    """

    def __init__(
        self,
        predictor: Predictor,
        reader: SequenceReader,
        scores: Sequence[str],
        *,
        aggregate: str = "mean",
        pseudocount: float = 0.0,
        counts: VariantCounts | None = None,
        batch_windows: int | None = None,
        group_records: int | None = None,
        reduce: Callable[[list[PlannedAllele], np.ndarray, np.ndarray, int], Any] | None = None,
    ) -> None:
        if reader.flank != predictor.flank or reader.seq_len != predictor.seq_len:
            raise ValueError("the sequence reader and the predictor disagree on length/flank")
        if predictor.options.aggregate is not None:
            raise ValueError("build the predictor without aggregate; scores reduce the bins")
        self.predictor = predictor
        self.reader = reader
        self.scores = tuple(scores)
        self.aggregate = aggregate
        self.pseudocount = pseudocount
        self.counts = counts if counts is not None else VariantCounts()
        self.batch_windows = max(2, int(batch_windows or predictor.sizer.size))
        self.group_records = int(group_records or group_size(self.batch_windows))
        self.reduce = reduce

    def score(self, planned: Iterable[PlannedAllele]) -> Iterator[Any]:
        """Yield results group by group, in input order (an ensemble's: the mean of the
        replicates' results)."""
        # None: the model (or the ensemble's mean, never used here); r: ensemble member r.
        n = self.predictor.n_replicates
        replicates: list[int | None] = [None] if n == 1 else list(range(n))
        pending: deque[tuple[_Group, int]] = deque()  # (group, batches it was cut into)
        parts: list[np.ndarray] = []
        per_replicate: list[Any] = []
        batches = self._batches(self._groups(planned), pending, replicates)
        try:
            for values, _ in self.predictor.predict(batches):
                parts.append(values)
                group, n_batches = pending[0]
                if len(parts) < n_batches:
                    continue
                pending.popleft()
                result = self._results(group, parts[0] if n_batches == 1 else np.concatenate(parts))
                parts = []
                if n == 1:
                    yield result
                    continue
                per_replicate.append(result)
                if len(per_replicate) == n:
                    yield mean_of_results(per_replicate)
                    per_replicate = []
        finally:
            if n > 1:
                self.predictor.select_replicate(None)

    # -- groups ----------------------------------------------------------------------------
    def _groups(self, planned: Iterable[PlannedAllele]) -> Iterator[_Group]:
        """One :class:`_Group` per run of records in one group that has scored alleles."""
        current = -1
        group = _Group([], [], [], [])
        keys: dict[tuple, int] = {}

        def slot(spec: Any) -> int:
            k = spec.key
            if k not in keys:
                keys[k] = len(group.specs)
                group.specs.append(spec)
            return keys[k]

        for p in planned:
            g = p.allele.record.index // self.group_records
            if g != current:
                if group.alleles:
                    yield group
                current, group, keys = g, _Group([], [], [], []), {}
            group.alleles.append(p)
            group.refs.append(slot(p.ref_input))
            group.alts.append(slot(p.alt_input))
        if group.alleles:
            yield group

    def _batches(
        self,
        groups: Iterable[_Group],
        pending: deque[tuple[_Group, int]],
        replicates: Sequence[int | None] = (None,),
    ) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
        """``(x, minus)`` batches: every allele input is a '+' window (no flip back).

        Each group's batches come once per entry of ``replicates``; an ensemble member is
        selected just before its batch is handed out, which is when the predictor launches
        it (also when CUDA keeps one batch in flight).
        """
        size = self.batch_windows
        for group in groups:
            specs = group.specs
            starts = range(0, len(specs), size)
            self.counts.windows += len(specs) * len(replicates)
            if len(replicates) == 1:
                pending.append((group, len(starts)))
                for lo in starts:
                    part = specs[lo : lo + size]
                    yield self._encode(part), np.zeros(len(part), dtype=bool)
                continue
            encoded = [self._encode(specs[lo : lo + size]) for lo in starts]  # once per group
            for r in replicates:
                pending.append((group, len(starts)))
                for x in encoded:
                    self.predictor.select_replicate(r)
                    yield x, np.zeros(len(x), dtype=bool)

    def _encode(self, specs: list[Any]) -> torch.Tensor:
        """(n, 4, L + 2 flank) one-hot inputs, laid out as the window loader lays out its
        batches (:func:`~grelu_cli.predict.loader.input_layout`)."""
        import torch

        from grelu_cli.predict.loader import input_layout, new_batch

        dtype, channels_last = input_layout(self.predictor.device.type)
        x = new_batch(len(specs), self.reader.total, getattr(torch, dtype), channels_last)
        if specs:
            one_hot_batch([self.reader.read(s) for s in specs], out=x.numpy())
        return x

    # -- results ---------------------------------------------------------------------------
    def _results(self, group: _Group, values: np.ndarray) -> Any:
        """A group's :class:`AlleleResults` (or, with ``reduce``, what it returns)."""
        if self.reduce is not None:
            return self.reduce(
                group.alleles, values[group.refs], values[group.alts], len(group.specs)
            )
        ref_value, alt_value, scores = compute_scores(
            values[group.refs],
            values[group.alts],
            self.scores,
            aggregate=self.aggregate,
            pseudocount=self.pseudocount,
        )
        return AlleleResults(group.alleles, ref_value, alt_value, scores, len(group.specs))
