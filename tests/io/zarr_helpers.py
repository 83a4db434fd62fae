"""A tiny synthetic run for the zarr tests, usable in-process and as a shard-writer script.

Windows are 1,030 bp on two chromosomes, overlapping (step 500 bp), on both strands; 260
tasks x 1,030 bins (so ``preds`` has two task chunks and two bin chunks per shard). Values
come from a generator seeded by the window index, so any process can rebuild any block.

Script use (one shard process): ``python zarr_helpers.py STORE I N [--resume]
[--die-after K] [--fingerprint F] [--start-at EPOCH]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.genome.bins import BinLayout

N_TASKS, N_BINS, SEQ_LEN = 260, 1030, 1030
TASKS = [f"track{i}" for i in range(N_TASKS)]
CHROM_SIZES = [("chr1", 9000), ("chr2", 2800), ("chr3", 500)]
LAYOUT = BinLayout(
    seq_len=SEQ_LEN, bin_size=1, crop_len=0, n_out=N_BINS, pooled=False, first=0, n_keep=N_BINS
)
FINGERPRINT = "f" * 64
BATCH = 3


def run_windows() -> list[Window]:
    """18 windows: 12 on chr1, 5 on chr2 (the last runs past its end), 1 on chr3 (padded)."""
    out: list[Window] = []
    for chrom, starts in (("chr1", range(0, 6000, 500)), ("chr2", range(0, 2500, 500))):
        for s in starts:
            i = len(out)
            out.append(
                Window(
                    i,
                    i,
                    f"r{i}",
                    chrom,
                    s + 10,
                    s + 900,
                    "-" if i % 3 == 1 else "+",
                    s,
                    s + SEQ_LEN,
                    0,
                    max(0, s + SEQ_LEN - dict(CHROM_SIZES)[chrom]),
                )
            )
    i = len(out)
    out.append(Window(i, i, f"r{i}", "chr3", 0, 500, "+", -265, 765, 265, 265))
    return out


def values_of(index: int, n_tasks: int = N_TASKS, n_bins: int = N_BINS) -> np.ndarray:
    """(T, B) float32 predictions of window ``index`` (smooth, positive, a few large)."""
    rng = np.random.default_rng(1000 + index)
    base = rng.gamma(2.0, 3.0, size=(n_tasks, 1)).astype(np.float32)
    wave = np.sin(np.arange(n_bins, dtype=np.float32) / (7 + index))[None, :]
    noise = rng.normal(0, 0.05, size=(n_tasks, n_bins)).astype(np.float32)
    return (base * (1.5 + wave) + noise).astype(np.float32)


def blocks(lo: int = 0, hi: int | None = None, batch: int = BATCH) -> list[Block]:
    """Writer blocks of windows ``[lo, hi)``, ``batch`` windows each."""
    windows = run_windows()
    hi = len(windows) if hi is None else hi
    out = []
    for a in range(lo, hi, batch):
        part = windows[a : min(a + batch, hi)]
        values = np.stack([values_of(w.index) for w in part])
        out.append(LAYOUT.block(values, part))
    return out


def task_table():
    import pandas as pd

    return pd.DataFrame(
        {
            "name": TASKS,
            "assay": ["CAGE" if i % 2 else "DNASE" for i in range(N_TASKS)],
            "strand": ["+" if i % 3 else "-" for i in range(N_TASKS)],
            "strand_pair": np.arange(N_TASKS, dtype=np.int64)[::-1].copy(),
            "scale": np.linspace(0.5, 2.0, N_TASKS),
            "description": [None if i == 4 else f"sample {i}" for i in range(N_TASKS)],
        }
    )


def shard_writer(store: Path, index: int, count: int, **kwargs):
    from grelu_cli.core.shards import Shard, shard_range
    from grelu_cli.io.formats.zarr import ZarrWriter

    windows = run_windows()
    lo, hi = shard_range(len(windows), Shard(index, count))
    metadata = {
        "fingerprint": kwargs.pop("fingerprint", FINGERPRINT),
        "shard": {"index": index, "count": count, "windows": hi - lo},
        "window_range": [lo, hi],
        "options": {"shard": f"{index}/{count}"},
        "counts": {"windows": len(windows)},
    }
    return ZarrWriter(
        store,
        TASKS,
        windows=windows,
        bin_layout=LAYOUT,
        task_table=task_table(),
        metadata=metadata,
        window_range=(lo, hi),
        sharded=True,
        chrom_sizes=CHROM_SIZES,
        **kwargs,
    )


def main(argv: list[str]) -> int:
    store, index, count = Path(argv[0]), int(argv[1]), int(argv[2])
    opts = argv[3:]
    die_after = int(opts[opts.index("--die-after") + 1]) if "--die-after" in opts else None
    kwargs = {"resume": "--resume" in opts}
    if "--fingerprint" in opts:
        kwargs["fingerprint"] = opts[opts.index("--fingerprint") + 1]
    if "--start-at" in opts:  # line the processes up so that they race to create the store
        time.sleep(max(0.0, float(opts[opts.index("--start-at") + 1]) - time.time()))
    from grelu_cli.errors import GreluCliError

    writer = shard_writer(store, index, count, **kwargs)
    try:
        writer.open()
    except GreluCliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    for k, block in enumerate(blocks(writer.lo, writer.hi)):
        if die_after is not None and k == die_after:
            os._exit(9)  # a crash: no finish, no abort
        writer.write(block)
    writer.finish()
    print(f"written {writer.windows_written}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
