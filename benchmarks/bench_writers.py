"""Write-only benchmark of the output writers on Borzoi-shaped blocks (no model involved).

Each window is one block of (1, 7,611 tasks, 6,144 bins) float32 = 187 MB, generated one at a
time (seeded; see :func:`values`). Every writer runs in its own process and reports:

- write: wall seconds, CPU seconds (user + system, all threads) per window, MB/s of raw
  float32 handed to the writer (generation excluded), RSS after each window (flat = memory
  does not grow with windows) and peak RSS (includes the 187 MB block being written);
- size on disk and its ratio to the raw float32 size;
- reads, each in a fresh process: one track across all windows, and all tracks for 100 bins
  of one window (wall seconds and peak RSS).

Writers: ``zarr`` (float32), ``zarr16`` (``--dtype float16``), ``long`` and ``wide`` parquet.
Numbers are reported, never asserted.

    python benchmarks/bench_writers.py [--windows 8] [--tasks 7611] [--bins 6144]
        [--writers zarr,zarr16,long,wide] [--values smooth|noise] [--workdir DIR]
        [--json out.json] [--keep]

``--values smooth`` (default) generates tracks that vary smoothly along the bins, like real
Borzoi/Enformer predictions (coverage-like: a smooth background, peaks a few bins wide, each
track its own mix and scale); ``--values noise`` adds independent noise to every value (the
full-mantissa softplus data of the first benchmark), a worst case for any lossless codec.
Compressed sizes depend on this choice; write speed and memory hardly do.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

WRITERS = ("zarr", "zarr16", "long", "wide")
BIN_SIZE, CROP = 32, 5120  # Borzoi: 524,288 bp in, 32 bp bins, 5,120 cropped per side


def task_names(n: int) -> list[str]:
    return [f"CAGE:sample_{i:05d}" for i in range(n)]


def layout(bins: int) -> Any:
    from grelu_cli.genome.bins import BinLayout

    seq_len = (bins + 2 * CROP) * BIN_SIZE
    return BinLayout(seq_len, BIN_SIZE, CROP, bins, False, 0, bins)


def windows(n: int, bins: int) -> list[Any]:
    """Windows tiled along chr1 so their output bins abut."""
    from grelu_cli.core.window import Window

    lay = layout(bins)
    step = bins * BIN_SIZE
    return [
        Window(
            i,
            i,
            f"w{i}",
            "chr1",
            10**6 + i * step,
            10**6 + (i + 1) * step,
            "+",
            10**6 + i * step - CROP * BIN_SIZE,
            10**6 + i * step - CROP * BIN_SIZE + lay.seq_len,
        )
        for i in range(n)
    ]


def values(index: int, tasks: int, bins: int, kind: str = "smooth") -> np.ndarray:
    """(1, T, B) float32 predictions of window ``index`` (seeded); see :func:`smooth_values`
    (``smooth``, default) and :func:`noise_values` (``noise``)."""
    if kind == "smooth":
        return smooth_values(index, tasks, bins)
    return noise_values(index, tasks, bins)


def _smoothed_walks(rng: np.random.Generator, k: int, bins: int, sigma: float) -> np.ndarray:
    """(k, B) random walks smoothed by a Gaussian kernel of ``sigma`` bins, centred."""
    steps = rng.normal(0, 0.08, size=(k, bins)).cumsum(axis=1)
    x = np.arange(-int(4 * sigma), int(4 * sigma) + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.stack([np.convolve(w, kernel, mode="same") for w in steps])
    return out - out.mean(axis=1, keepdims=True)


def smooth_values(index: int, tasks: int, bins: int) -> np.ndarray:
    """Coverage-like tracks that change smoothly from bin to bin, as model outputs do.

    Per window: four smoothed random walks (a slowly varying log-background) and about 60
    Gaussian peaks (1-6 bins wide, shared positions). Track t is
    ``scale_t * (exp(offset_t + loadings_t @ walks) + gain_t * peaks)``: each track its own
    background mix, peak height and scale. Computed in float32 (full mantissas), with no
    per-value noise.
    """
    rng = np.random.default_rng(index)
    walks = _smoothed_walks(rng, 4, bins, sigma=12.0).astype(np.float32)
    x = np.arange(bins, dtype=np.float32)
    peaks = np.zeros(bins, dtype=np.float32)
    for c, w, h in zip(
        rng.uniform(0, bins, 60), rng.uniform(1, 6, 60), rng.gamma(1.2, 3, 60), strict=True
    ):
        lo, hi = int(max(0, c - 5 * w)), int(min(bins, c + 5 * w + 1))
        peaks[lo:hi] += np.float32(h) * np.exp(-0.5 * ((x[lo:hi] - c) / w) ** 2)
    loadings = rng.normal(0, 1, size=(tasks, 4)).astype(np.float32)
    offset = rng.normal(-2.5, 1.0, size=(tasks, 1)).astype(np.float32)
    gain = rng.gamma(1.0, 0.5, size=(tasks, 1)).astype(np.float32)
    scale = rng.gamma(1.5, 1.0, size=(tasks, 1)).astype(np.float32)
    out = loadings @ walks
    out += offset
    np.exp(out, out=out)
    out += gain * peaks[None, :]
    out *= scale
    return out[None]


def noise_values(index: int, tasks: int, bins: int) -> np.ndarray:
    """Full-mantissa noise on a smooth signal (the first benchmark's ``softplus`` data).

    A smooth per-window signal (AR(1) walk along the bins, stationary std ~1) shared by all
    tracks, each track with its own offset and gain, plus independent N(0, 0.1) noise on
    every value: ``softplus(offset + gain * walk + noise)``. The noise makes neighbouring
    values unrelated in their low bits, which real predictions are not.
    """
    rng = np.random.default_rng(index)
    steps = rng.normal(0, 0.3, size=bins)
    walk = np.empty(bins)
    walk[0] = steps[0]
    for j in range(1, bins):
        walk[j] = 0.95 * walk[j - 1] + steps[j]
    out = rng.standard_normal((tasks, bins), dtype=np.float32)
    offset = rng.normal(-2.0, 1.5, size=(tasks, 1)).astype(np.float32)
    gain = rng.uniform(0.5, 1.5, size=(tasks, 1)).astype(np.float32)
    out *= 0.1
    out += offset
    out += gain * walk.astype(np.float32)[None, :]
    np.logaddexp(np.float32(0), out, out=out)
    return out[None]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def make_writer(kind: str, out: Path, n: int, tasks: int, bins: int) -> Any:
    names = task_names(tasks)
    if kind.startswith("zarr"):
        from grelu_cli.io.formats.zarr import ZarrWriter

        return ZarrWriter(
            out,
            names,
            windows=windows(n, bins),
            bin_layout=layout(bins),
            dtype="float16" if kind == "zarr16" else "float32",
            metadata={"bench": True},
            fingerprint="bench",
        )
    from grelu_cli.io.formats.parquet import ParquetWriter

    return ParquetWriter(out, names, layout=kind)


def output_path(workdir: Path, kind: str) -> Path:
    return workdir / (f"{kind}.zarr" if kind.startswith("zarr") else f"{kind}.parquet")


def child_write(
    kind: str, workdir: Path, n: int, tasks: int, bins: int, data: str
) -> dict[str, Any]:
    """Write ``n`` windows of ``data`` values (smooth or noise) with writer ``kind``."""
    out = output_path(workdir, kind)
    lay, wins = layout(bins), windows(n, bins)
    writer = make_writer(kind, out, n, tasks, bins)
    wall = cpu_s = 0.0
    rss = []
    t0, c0 = time.perf_counter(), cpu()
    writer.open()
    wall += time.perf_counter() - t0
    cpu_s += cpu() - c0
    for i in range(n):
        block = lay.block(values(i, tasks, bins, data), [wins[i]])
        t0, c0 = time.perf_counter(), cpu()
        writer.write(block)
        wall += time.perf_counter() - t0
        cpu_s += cpu() - c0
        del block
        rss.append(round(rss_mb()))
    t0, c0 = time.perf_counter(), cpu()
    writer.finish()
    wall += time.perf_counter() - t0
    cpu_s += cpu() - c0
    size = (
        sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        if out.is_dir()
        else out.stat().st_size
    )
    raw = n * tasks * bins * 4
    return {
        "writer": kind,
        "write_s": round(wall, 2),
        "cpu_s_per_window": round(cpu_s / n, 2),
        "mb_per_s": round(raw / 1e6 / wall, 1),
        "size_mb": round(size / 1e6, 1),
        "size_vs_raw": round(size / raw, 3),
        "rss_mb_after_each_window": rss,
        "peak_rss_mb": round(peak_mb()),
    }


def child_read(
    kind: str, workdir: Path, what: str, n: int, tasks: int, bins: int
) -> dict[str, Any]:
    out = output_path(workdir, kind)
    track = task_names(tasks)[tasks // 2]
    b0, w = bins // 2, n // 2
    t0 = time.perf_counter()
    if kind.startswith("zarr"):
        import zarr

        preds = zarr.open_array(str(out / "preds"), mode="r")
        t = tasks // 2
        data = preds[:, t, :] if what == "track" else preds[w, :, b0 : b0 + 100]
        got = int(np.asarray(data).size)
    else:
        import pyarrow.parquet as pq

        if kind == "long" and what == "track":
            table = pq.read_table(
                out, columns=["bin_start", "value"], filters=[("task", "=", track)]
            )
        elif kind == "long":
            filters = [("name", "=", f"w{w}"), ("bin", ">=", b0), ("bin", "<", b0 + 100)]
            table = pq.read_table(out, columns=["task", "value"], filters=filters)
        elif what == "track":
            table = pq.read_table(out, columns=["bin_start", track])
        else:
            filters = [("name", "=", f"w{w}"), ("bin", ">=", b0), ("bin", "<", b0 + 100)]
            table = pq.read_table(out, columns=task_names(tasks), filters=filters)
        got = table.num_rows * (1 if kind == "long" else table.num_columns - (what == "track"))
    return {
        "read": what,
        "s": round(time.perf_counter() - t0, 2),
        "values": got,
        "peak_rss_mb": round(peak_mb()),
    }


def run_child(shape: list[str], args: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, *shape, "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--tasks", type=int, default=7611)
    p.add_argument("--bins", type=int, default=6144)
    p.add_argument("--writers", default=",".join(WRITERS))
    p.add_argument(
        "--values",
        choices=("smooth", "noise"),
        default="smooth",
        help="smooth (default): tracks smooth along bins, like real model output; noise: "
        "full-mantissa noise on every value (a codec's worst case)",
    )
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="keep the written outputs")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        mode, kind, workdir = a.child[0], a.child[1], Path(a.child[2])
        if mode == "write":
            report = child_write(kind, workdir, a.windows, a.tasks, a.bins, a.values)
        else:
            report = child_read(kind, workdir, mode, a.windows, a.tasks, a.bins)
        print(json.dumps(report))
        return 0
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="bench-writers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shape = ["--windows", str(a.windows), "--tasks", str(a.tasks), "--bins", str(a.bins)]
    shape += ["--values", a.values]
    results = []
    for kind in a.writers.split(","):
        if kind not in WRITERS:
            raise SystemExit(f"unknown writer {kind}; known: {', '.join(WRITERS)}")
        res = run_child(shape, ["write", kind, str(workdir)])
        res["reads"] = [
            run_child(shape, [what, kind, str(workdir)]) for what in ("track", "window")
        ]
        results.append(res)
        print(json.dumps(res), file=sys.stderr)
        if not a.keep:
            out = output_path(workdir, kind)
            shutil.rmtree(out) if out.is_dir() else out.unlink()
    report = {
        "windows": a.windows,
        "tasks": a.tasks,
        "bins": a.bins,
        "values": a.values,
        "results": results,
        "raw_mb": round(a.windows * a.tasks * a.bins * 4 / 1e6, 1),
    }
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    print(_table(report))
    return 0


def _table(report: dict[str, Any]) -> str:
    rows = [
        "| writer | write s | CPU-s / window | MB/s | size MB | x raw | peak RSS MB | RSS after "
        "each window MB | one track, all windows s (RSS MB) | all tracks, 100 bins s (RSS MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in report["results"]:
        track, window = r["reads"]
        rows.append(
            f"| {r['writer']} | {r['write_s']} | {r['cpu_s_per_window']} | {r['mb_per_s']} | "
            f"{r['size_mb']} | {r['size_vs_raw']} | {r['peak_rss_mb']} | "
            f"{' '.join(map(str, r['rss_mb_after_each_window']))} | {track['s']} "
            f"({track['peak_rss_mb']}) | {window['s']} ({window['peak_rss_mb']}) |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
