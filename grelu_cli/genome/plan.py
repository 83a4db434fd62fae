"""Turn the region table into model input windows, lazily: resize, tile, edges, strand.

A :class:`WindowPlan` knows how many windows each region yields (computed with numpy over the
whole table) but builds :class:`~grelu_cli.core.window.Window` objects only for the index
range asked for, so ``--shard i/N`` can take windows ``[lo, hi)`` of a million-region input
cheaply. Window ``k`` of the run is the ``k``-th kept window in input order.

Placement rules:

* resize (default): one window of ``seq_len`` bp centred as gReLU 1.1.0's ``resize`` does for
  intervals, ``start = ceil((s + e)/2 - seq_len/2)`` (an odd surplus goes to the right when
  growing and is trimmed from the left when shrinking). FASTA records follow gReLU's string
  rules: centre-cropped with the odd base trimmed on the right, or N-padded with the odd N on
  the right.
* tile (``--tile``): windows step by the model's output span so that their output bins abut;
  the first output bin starts at the region start and the last window may run past the
  region end.
* tile long (``tile_long``, ``grelu predict --genes``): a region that fits the (kept) output
  span gets one resized window; a longer one is tiled as above.
* as is (``seq_len=None``, free-length models): each region is one window of its own length.

Windows running off a chromosome follow ``edge``: ``pad`` (N-fill; counted), ``drop`` (skip;
counted), ``shift`` (move inside the chromosome; a chromosome shorter than the window starts at
0 and is N-padded on the right), ``error`` (reported by validation). A window with no base on
its chromosome (:meth:`WindowPlan.no_base_windows`) would be all N under ``pad``: validation
refuses it (it is dropped under ``drop``, moved under ``shift``). FASTA records are always
N-padded (gReLU's rule). '-' strand windows are fed reverse-complemented (see
:mod:`grelu_cli.genome.sequence`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from grelu_cli.core.choices import EDGES as EDGE_MODES
from grelu_cli.core.geometry import Geometry
from grelu_cli.core.window import Window
from grelu_cli.genome.table import RegionTable


@dataclass(frozen=True)
class RunCounts:
    """Counts for the run summary and the output's metadata.

    Attributes:
        regions: input regions (BED lines, FASTA records, --region/--chrom values).
        windows: model input windows that will be predicted.
        padded_windows: of those, windows with any N padding off a sequence end.
        padded_bases: N bases added in all.
        dropped_windows: windows skipped by ``--edge drop``.
        dropped_regions: regions left with no window at all by ``--edge drop``.
        shifted_windows: windows moved inside their chromosome by ``--edge shift``.
    """

    regions: int
    windows: int
    padded_windows: int
    padded_bases: int
    dropped_windows: int
    dropped_regions: int
    shifted_windows: int

    def as_dict(self) -> dict[str, int]:
        """Plain dict (JSON metadata, logs)."""
        return asdict(self)


def resize_start(start: np.ndarray | int, end: np.ndarray | int, seq_len: int):
    """gReLU's interval resize: ``ceil((start + end)/2 - seq_len/2)``, in exact integers."""
    return (start + end - seq_len + 1) // 2


def fasta_window_start(length: np.ndarray | int, seq_len: int):
    """Window start relative to a FASTA record of ``length`` resized to ``seq_len``.

    gReLU crops strings with the odd base trimmed on the right (start ``floor``) and pads with
    the odd N on the right (start ``-floor(pad/2)``).
    """
    length = np.asarray(length)
    crop = (length - seq_len) // 2
    pad = -((seq_len - length) // 2)
    return np.where(length >= seq_len, crop, pad)


def _edges(
    ws: np.ndarray, width: np.ndarray, size: np.ndarray, edge: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Final start, left pad, right pad and "was shifted" for windows starting at ``ws``."""
    off = (ws < 0) | (ws + width > size)
    if edge == "shift":
        moved = off & (size >= width)
        ws = np.where(off, np.where(size < width, 0, np.clip(ws, 0, size - width)), ws)
    else:
        moved = np.zeros(len(ws), dtype=bool)
    # A window wholly off a sequence end is all padding: each side is capped at the width
    # (uncapped, a window 1 Mb past the end counted 1 Mb of padding for 1 kb of input).
    pad_l = np.clip(-ws, 0, width)
    pad_r = np.clip(ws + width - size, 0, width)
    return ws, pad_l, pad_r, moved


class WindowPlan:
    """Lazy list of the run's windows over a :class:`RegionTable`.

    Args:
        table: the regions.
        seq_len: model input length in bp; None takes each region as is (free-length models).
        tile: cover each region with windows whose output bins abut (needs ``geometry``).
        geometry: the model's geometry (for tiling and length checks).
        edge: one of :data:`EDGE_MODES` for genome windows off a chromosome end.
        center_bins: with ``tile``, only the central K output bins of each window are kept
            (``--bins K``), so tiles step by K bins and the kept bins abut.
        tile_long: tile only the regions longer than the (kept) output span; the others get
            one resized window (``grelu predict --genes``). Implies the tiling geometry.
    """

    def __init__(
        self,
        table: RegionTable,
        seq_len: int | None,
        *,
        tile: bool = False,
        geometry: Geometry | None = None,
        edge: str = "pad",
        center_bins: int | None = None,
        tile_long: bool = False,
    ) -> None:
        tile = tile or tile_long
        if edge not in EDGE_MODES:
            raise ValueError(f"edge mode {edge!r}; expected one of {EDGE_MODES}")
        if tile and (seq_len is None or geometry is None):
            raise ValueError("tiling needs seq_len and geometry")
        self.table = table
        self.seq_len = seq_len
        self.tile = tile
        self.tile_long = tile_long
        self.geometry = geometry
        self.edge = edge if table.kind == "genome" else "pad"
        self.step = 1
        self.offset = 0
        if tile:
            assert geometry is not None and seq_len is not None  # checked above
            n_bins, span = geometry.out_len(seq_len), geometry.bin_span(seq_len)
            kept = n_bins if center_bins is None else min(center_bins, n_bins)
            # The kept bins start at bin (B - K) // 2, as in grelu_cli.genome.bins.
            self.step = kept * span
            self.offset = geometry.output_offset() + (n_bins - kept) // 2 * span
        self._compute()

    # -- whole-table arithmetic ------------------------------------------------------------

    def _sizes(self) -> np.ndarray:
        """Per-region length of the sequence windows are placed on (chromosome or record)."""
        t = self.table
        if t.kind == "fasta":
            return t.end.copy()
        known = t.chrom >= 0
        sizes = np.zeros(len(t), dtype=np.int64)
        sizes[known] = t.chrom_sizes[t.chrom[known]]
        return sizes

    def _compute(self) -> None:
        t = self.table
        s, e = t.start, t.end
        self.size = self._sizes()
        L = self.seq_len
        if L is None:
            self.first = s.copy()
            n_raw = np.ones(len(t), dtype=np.int64)
        elif self.tile:
            self.first = s - self.offset
            n_raw = (e - s + self.step - 1) // self.step
            if self.tile_long:  # regions that fit the output span: one resized window
                fits = (e - s) <= self.step
                self.first = np.where(fits, resize_start(s, e, L), self.first)
                n_raw = np.where(fits, 1, n_raw)
        elif t.kind == "fasta":
            self.first = fasta_window_start(e, L).astype(np.int64)
            n_raw = np.ones(len(t), dtype=np.int64)
        else:
            self.first = resize_start(s, e, L)
            n_raw = np.ones(len(t), dtype=np.int64)
        if t.kind == "genome":
            n_raw[t.chrom < 0] = 0  # unknown chromosome: validation reports it
        self.n_raw = n_raw
        # First and last tile index inside the sequence (used by drop and for counting pads).
        width = (e - s) if L is None else np.full(len(t), L, dtype=np.int64)
        self.width = width
        k_in_lo = np.maximum(0, -(self.first // self.step))  # ceil(-first/step)
        k_in_hi = np.minimum(n_raw - 1, (self.size - width - self.first) // self.step)
        n_inside = np.maximum(0, k_in_hi - k_in_lo + 1)
        if self.edge == "drop":
            self.k_lo = k_in_lo
            n = n_inside
        else:
            self.k_lo = np.zeros(len(t), dtype=np.int64)
            n = n_raw
        self.n = n
        self.n_off = n_raw - n_inside  # windows touching an end, per region
        self.cum = np.cumsum(n)

    def count(self) -> int:
        """Number of windows the run predicts (after ``--edge drop``)."""
        return int(self.cum[-1]) if len(self.cum) else 0

    def counts(self) -> RunCounts:
        """Run counts for the summary, computed with numpy over the regions at an edge."""
        off = np.flatnonzero(self.n_off)
        padded_windows = padded_bases = shifted = 0
        if len(off) and self.edge in ("pad", "shift"):
            if self.tile:
                reps = self.n_raw[off]
                r = np.repeat(off, reps)
                k = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
            else:
                r, k = off, np.zeros(len(off), dtype=np.int64)
            ws = self.first[r] + k * self.step
            _, pad_l, pad_r, moved = _edges(ws, self.width[r], self.size[r], self.edge)
            pads = pad_l + pad_r
            padded_windows = int((pads > 0).sum())
            padded_bases = int(pads.sum())
            shifted = int(moved.sum())
        dropped = int(self.n_off.sum()) if self.edge == "drop" else 0
        dropped_regions = int(((self.n == 0) & (self.n_raw > 0)).sum())
        return RunCounts(
            regions=len(self.table),
            windows=self.count(),
            padded_windows=padded_windows,
            padded_bases=padded_bases,
            dropped_windows=dropped,
            dropped_regions=dropped_regions if self.edge == "drop" else 0,
            shifted_windows=shifted,
        )

    def off_edge_regions(self) -> np.ndarray:
        """Indices of regions with at least one window off a sequence end (before dropping)."""
        return np.flatnonzero(self.n_off > 0)

    def no_base_windows(self) -> np.ndarray:
        """(n_regions,) windows per region with no base on their chromosome (before ``edge``).

        Such a window, padded, would be all N. A resized window lands wholly past the end when
        its region reaches far past it (a window centred at 500 Mb on a 150 kb chromosome);
        tiles of a region running past the end can too. Genome input only (FASTA records are
        always padded around their own bases); unknown chromosomes count 0.
        """
        n = np.zeros(len(self.table), dtype=np.int64)
        if self.table.kind != "genome" or self.seq_len is None:
            return n  # as-is windows are their region: validation reports regions off an end
        step, first, raw = self.step, self.first, self.n_raw
        # tile k starts at first + k*step: past the end from k >= ceil((size - first)/step),
        # before 0 up to k <= floor((-width - first)/step)
        k_right = np.maximum(0, -((first - self.size) // step))
        k_left = (-self.width - first) // step
        n += np.maximum(0, raw - k_right)
        n += np.maximum(0, np.minimum(k_left, raw - 1) + 1)
        return np.minimum(n, raw)

    def window_lengths(self) -> np.ndarray | None:
        """(n_regions,) window length per region for as-is plans; None for fixed length."""
        return None if self.seq_len is not None else self.table.end - self.table.start

    # -- lazy windows -------------------------------------------------------------------------

    def window_list(self, lo: int, hi: int) -> list[Window]:
        """Windows ``lo .. hi-1`` (run order) as a list, computed with numpy for the range."""
        total = self.count()
        if not 0 <= lo <= hi <= total:
            raise ValueError(f"window range [{lo}, {hi}) outside [0, {total}]")
        idx = np.arange(lo, hi, dtype=np.int64)
        r = np.searchsorted(self.cum, idx, side="right")
        k = self.k_lo[r] + idx - (self.cum[r] - self.n[r])
        width, size = self.width[r], self.size[r]
        ws, pad_l, pad_r, _ = _edges(self.first[r] + k * self.step, width, size, self.edge)
        t = self.table
        chroms = [t.chrom_names[c] if c >= 0 else None for c in t.chrom[r].tolist()]
        strands = np.where(t.minus[r], "-", "+").tolist()
        starts, ends = t.start[r].tolist(), t.end[r].tolist()
        buf, off = t.name_buf, t.name_off
        names = [buf[off[i] : off[i + 1]].decode("utf-8") for i in r.tolist()]
        return [
            Window(i, ri, nm or f"{c}:{s}-{e}({st})", c, s, e, st, a, a + w, pl, pr)
            for i, ri, nm, c, s, e, st, a, w, pl, pr in zip(
                idx.tolist(),
                r.tolist(),
                names,
                chroms,
                starts,
                ends,
                strands,
                ws.tolist(),
                width.tolist(),
                pad_l.tolist(),
                pad_r.tolist(),
                strict=True,
            )
        ]

    def windows(self, lo: int = 0, hi: int | None = None, chunk: int = 4096) -> Iterator[Window]:
        """Yield windows ``lo .. hi-1`` (run order), building ``chunk`` at a time."""
        total = self.count()
        hi = total if hi is None else min(hi, total)
        if lo < 0 or lo > hi:
            raise ValueError(f"window range [{lo}, {hi}) outside [0, {total}]")
        for a in range(lo, hi, chunk):
            yield from self.window_list(a, min(a + chunk, hi))

    def batch_bounds(self, lo: int, hi: int, batch_size: int) -> np.ndarray:
        """Start indices of batches over ``[lo, hi)``, plus ``hi`` at the end: (n_batches + 1,).

        Batches hold at most ``batch_size`` windows; for as-is plans a batch also ends where
        the window length changes (the model needs one length per batch), keeping input order.
        """
        if batch_size < 1:
            raise ValueError(f"batch size {batch_size}; must be >= 1")
        if hi <= lo:
            return np.array([lo], dtype=np.int64)
        lengths = self.window_lengths()
        if lengths is None:
            return np.append(np.arange(lo, hi, batch_size, dtype=np.int64), hi)
        # As-is plans have one window per kept region; map window index -> region.
        regions = np.flatnonzero(self.n)[lo:hi]
        lens = lengths[regions]
        cuts = np.flatnonzero(lens[1:] != lens[:-1]) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(lens)]])
        out = [np.arange(a, b, batch_size) for a, b in zip(starts, ends, strict=True)]
        return np.append(np.concatenate(out) + lo, hi).astype(np.int64)
