"""Tiny models, genomes and windows for the predictor tests (plain helpers, no fixtures).

``BinConv`` is the oracle model: a convolution with kernel = stride = bin size, so output bin
``j`` depends only on the bases of that bin. A bin's expected value can then be computed
directly from the genome bases it claims to cover (reverse-complemented for '-' windows),
independently of the predictor's own index arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from grelu_cli.core.geometry import Geometry
from grelu_cli.core.window import Window

BASES = "ACGT"
COMP = str.maketrans("ACGTN", "TGCAN")


def random_genome(length: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(BASES), size=length))


def revcomp(seq: str) -> str:
    return seq.translate(COMP)[::-1]


def one_hot(seq: str) -> torch.Tensor:
    """'ACGTN' string -> (4, L) float32; N is an all-zero column."""
    idx = {b: i for i, b in enumerate(BASES)}
    out = torch.zeros(4, len(seq))
    for j, b in enumerate(seq):
        if b in idx:
            out[idx[b], j] = 1.0
    return out


def make_windows(
    genome: str, starts: list[int], length: int, strands: list[str], flank: int = 0
) -> tuple[torch.Tensor, list[Window]]:
    """A batch like the loader's: windows ``[s, s + length)`` and their one-hot inputs,
    flanked by ``flank`` bases on both sides, '-' windows reverse-complemented."""
    xs, wins = [], []
    for i, (s, strand) in enumerate(zip(starts, strands, strict=True)):
        seq = genome[s - flank : s + length + flank]
        xs.append(one_hot(revcomp(seq) if strand == "-" else seq))
        wins.append(
            Window(
                index=i,
                region_index=i,
                name=f"w{i}",
                chrom="chr1",
                start=s,
                end=s + length,
                strand=strand,
                window_start=s,
                window_end=s + length,
            )
        )
    return torch.stack(xs), wins


class BinConv(nn.Module):
    """(N, 4, L) -> (N, T, L / bin - 2 crop): one output per bin from that bin's bases only.

    Has ``embedding``/``head`` like gReLU's BaseModel and ``select_tasks`` (slices the head).
    With ``pooled`` the head averages all uncropped bins into one.
    """

    def __init__(
        self,
        n_tasks: int = 3,
        bin_size: int = 4,
        crop_len: int = 0,
        pooled: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.bin_size, self.crop_len, self.pooled = bin_size, crop_len, pooled
        self.embedding = nn.Conv1d(4, 8, bin_size, stride=bin_size)
        self.head = nn.Conv1d(8, n_tasks, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.rand(p.shape, generator=g) - 0.5)

    @property
    def n_tasks(self) -> int:
        return self.head.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(torch.tanh(self.embedding(x)))
        if self.crop_len:
            y = y[..., self.crop_len : -self.crop_len]
        return y.mean(-1, keepdim=True) if self.pooled else y

    def geometry(self) -> Geometry:
        return Geometry(bin_size=self.bin_size, crop_len=self.crop_len, pooled=self.pooled)

    def select_tasks(self, indices: list[int]) -> None:
        idx = torch.tensor(indices)
        new = nn.Conv1d(self.head.in_channels, len(indices), 1)
        with torch.no_grad():
            new.weight.copy_(self.head.weight[idx])
            new.bias.copy_(self.head.bias[idx])
        self.head = new

    def bin_value(self, seq: str) -> torch.Tensor:
        """(T,) raw output for one bin's bases (as the model sees them)."""
        with torch.no_grad():
            h = torch.tanh(self.embedding(one_hot(seq)[None]))
            return self.head(h)[0, :, 0]


class NoSelect(nn.Module):
    """Wraps a model and hides ``select_tasks`` (the predictor must slice outputs instead)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)

    @property
    def n_tasks(self) -> int:
        return self.inner.n_tasks

    def geometry(self) -> Geometry:
        return self.inner.geometry()


class PerWindow(nn.Module):
    """Runs the wrapped model one window at a time: batch-invariant by construction."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.inner(x[i : i + 1]) for i in range(x.shape[0])])

    def geometry(self) -> Geometry:
        return self.inner.geometry()
