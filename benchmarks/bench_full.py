"""Full-size Borzoi and Enformer on the CPU, side by side with gReLU 1.1.0, a few windows each.

The published geometry (``BorzoiPretrainedModel``: 524,288 bp in, 6,144 bins of 32 bp, 7,611
tracks; ``EnformerPretrainedModel``: 196,608 bp in, 896 bins of 128 bp, 5,313 tracks) with
random weights, built from the plain ``BorzoiModel`` / ``EnformerModel`` classes (gReLU's
pretrained classes download weights on construction). Per model and repeat, alternating, each
its own process:

1. ours, forward only, fp32 (``forward_only.py --warmup 0``: every window timed, the first
   includes kernel selection), and its start-up (checkpoint load + rewrites);
2. gReLU ``predict_on_dataset`` at its defaults (fp32, batch 256, ``devices="cpu"``) on the same
   checkpoint and windows (``grelu_runner.py``);
3. ours, forward only, ``--precision bf16``;
4. with ``--e2e FORMAT``: ``grelu predict`` end to end, fp32 and bf16, writing the whole
   (tracks x bins) output of every window to ``.parquet`` or ``.zarr`` (``zarr`` only where this
   build of the CLI has the zarr writer; the step is skipped with a note otherwise).

Reported: seconds per window (wall and CPU), peak RSS, start-up, the ratios, and bf16 vs fp32
agreement (min and median per-track Pearson r over the windows' bins, max relative
difference) from the forward-only predictions. Numbers are reported, never asserted; every
sample goes to the JSON. Run one of these at a time: a full Borzoi window takes ~45 s and
several GB on 2 cores.

    python benchmarks/bench_full.py --grelu-python /path/to/grelu-venv/bin/python \\
        [--models borzoi,enformer] [--windows 2] [--repeats 1] [--e2e none|parquet|zarr] \\
        [--threads 2] [--json bench_full.json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_predict import FULL, FULL_TRACKS, Bench, grelu_cli, machine  # noqa: E402

NAMES = {"borzoi": "borzoi_full", "enformer": "enformer_full"}


def zarr_available() -> bool:
    """Whether this build's ``grelu predict`` accepts ``-o X.zarr`` (the dense output)."""
    res = subprocess_text(grelu_cli("predict", "--help"))
    return "zarr" in res


def subprocess_text(cmd: list[str]) -> str:
    import subprocess

    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return p.stdout + p.stderr


def agreement(fp32: Path, bf16: Path) -> dict[str, float]:
    """bf16 vs fp32 forward-only predictions, (windows, tracks, bins): per-track Pearson r
    over every window's bins (min, median), max relative difference."""
    import numpy as np

    a = np.load(fp32).astype(np.float64)
    b = np.load(bf16).astype(np.float64)
    flat_a = a.transpose(1, 0, 2).reshape(a.shape[1], -1)
    flat_b = b.transpose(1, 0, 2).reshape(b.shape[1], -1)
    ca = flat_a - flat_a.mean(1, keepdims=True)
    cb = flat_b - flat_b.mean(1, keepdims=True)
    denom = np.sqrt((ca**2).sum(1) * (cb**2).sum(1))
    r = np.where(denom > 0, (ca * cb).sum(1) / np.where(denom > 0, denom, 1), np.nan)
    return {
        "bf16_min_track_pearson": float(np.nanmin(r)),
        "bf16_median_track_pearson": float(np.nanmedian(r)),
        "bf16_max_rel_diff": float(np.abs(a - b).max() / np.abs(a).max()),
        "shape": list(a.shape),
    }


def cpu_s(sample: dict) -> float:
    return float(sample.get("user_s", 0) + sample.get("sys_s", 0))


def run_model(
    bench: Bench, key: str, windows: int, repeats: int, e2e: str, precisions: list[str]
) -> dict[str, Any]:
    arch, seq_len, params, _ = FULL[key]
    fa, bed = bench.inputs(key, windows, seq_len)
    ckpt = bench.checkpoint(key, arch, seq_len, params, FULL_TRACKS[key])
    out: dict[str, Any] = {
        "arch": arch,
        "seq_len": seq_len,
        "tracks": FULL_TRACKS[key],
        "params": params,
        "windows": windows,
    }
    s: dict[str, list[dict]] = {"fwd_fp32": [], "fwd_bf16": [], "grelu": []}
    s.update({"e2e_fp32": [], "e2e_bf16": []} if e2e != "none" else {})
    saves = {p: bench.dir / f"{key}.{p}.npy" for p in ("fp32", "bf16")}
    for rep in range(repeats):
        for prec in [p for p in ("fp32", "grelu", "bf16") if p in (*precisions, "grelu")]:
            log(f"{key} repeat {rep + 1}/{repeats}: {prec}")
            if prec == "grelu":
                if bench.args.grelu_python:
                    s["grelu"].append(bench.grelu(ckpt, bed, fa, seq_len, None, None))
                continue
            extra = ["--warmup", "0", "--precision", prec]
            if rep == 0:
                extra += ["--save", str(saves[prec])]
            s[f"fwd_{prec}"].append(bench.forward(ckpt, bed, fa, windows, extra))
        if e2e != "none":
            for prec in precisions:
                log(f"{key} repeat {rep + 1}/{repeats}: end to end {prec} -> {e2e}")
                target = bench.dir / f"{key}.{prec}.{e2e}"
                s[f"e2e_{prec}"].append(bench.ours(ckpt, bed, fa, target, ["--precision", prec]))
    out["samples"] = s
    out["summary"] = summarise(s, windows)
    if all(p in precisions for p in ("fp32", "bf16")):
        out["agreement"] = agreement(saves["fp32"], saves["bf16"])
    return out


def summarise(s: dict[str, list[dict]], windows: int) -> dict[str, Any]:
    """Best (lowest) wall seconds per window of each kind, CPU seconds of that run, RSS."""
    res: dict[str, Any] = {}
    for kind, runs in s.items():
        if not runs:
            continue
        if kind.startswith("fwd"):
            best = min(runs, key=lambda r: r["seconds"])
            res[kind] = {
                "s_per_window": best["seconds"] / best["regions"],
                "cpu_s_per_window": best["cpu_s"] / best["regions"],
                "batch_s": best["batch_s"],
                "startup_s": min(r["load_s"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            }
        elif kind == "grelu":
            best = min(runs, key=lambda r: r["run_s"])
            res[kind] = {
                "s_per_window": best["run_s"] / windows,
                # gReLU's process CPU time includes its imports and checkpoint loading.
                "process_cpu_s": cpu_s(best),
                "startup_s": best["load_s"],
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            }
        else:
            best = min(runs, key=lambda r: r["run_s"])
            res[kind] = {
                "s_per_window": best["run_s"] / windows,
                "process_cpu_s": cpu_s(best),
                "loop_s_per_window": 1 / best["loop_per_s"],
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            }
    g = res.get("grelu", {}).get("s_per_window")
    for kind in ("fwd_fp32", "fwd_bf16", "e2e_fp32", "e2e_bf16"):
        if kind in res and g:
            res[kind]["x_grelu"] = g / res[kind]["s_per_window"]
    for prec in ("fp32", "bf16"):
        if f"e2e_{prec}" in res:
            fwd = res[f"fwd_{prec}"]["s_per_window"]
            res[f"e2e_{prec}"]["e2e_over_fwd"] = fwd / res[f"e2e_{prec}"]["s_per_window"]
    return res


def table(results: dict) -> str:
    rows = [("model", "kind", "s/window", "CPU s/window", "x gReLU", "start-up s", "RSS MB")]
    for key, r in results["models"].items():
        for kind, v in r["summary"].items():
            cpu = v.get("cpu_s_per_window")
            if cpu is None and "process_cpu_s" in v:
                cpu = v["process_cpu_s"] / r["windows"]
                kind = kind + " (process)"
            rows.append(
                (
                    key,
                    kind,
                    f"{v['s_per_window']:.1f}",
                    "-" if cpu is None else f"{cpu:.1f}",
                    f"{v['x_grelu']:.2f}" if "x_grelu" in v else "-",
                    f"{v['startup_s']:.1f}" if "startup_s" in v else "-",
                    f"{v['peak_rss_mb']:.0f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    for key, r in results["models"].items():
        if "agreement" in r:
            lines.append(f"{key}: bf16 vs fp32 {json.dumps(r['agreement'])}")
    return "\n".join(lines)


def log(msg: str) -> None:
    print(f"[bench_full] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grelu-python", default=None, help="python of a venv with grelu 1.1.0")
    ap.add_argument("--models", default="borzoi,enformer", help="comma list of borzoi,enformer")
    ap.add_argument("--windows", type=int, default=2, help="windows per run")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--e2e", choices=("none", "parquet", "zarr"), default="none")
    ap.add_argument(
        "--precisions",
        default="fp32,bf16",
        help="ours: fp32, bf16 or both (bf16 is emulated and slow on CPUs without AVX512-BF16)",
    )
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default="bench_full.json")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in NAMES]
    if unknown:
        ap.error(f"--models: unknown {unknown}; known: {sorted(NAMES)}")
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if not precisions or set(precisions) - {"fp32", "bf16"}:
        ap.error(f"--precisions {args.precisions!r}: use fp32, bf16 or fp32,bf16")
    if args.windows < 1 or args.repeats < 1:
        ap.error("--windows and --repeats must be at least 1")
    if args.e2e == "zarr" and not zarr_available():
        log("this grelu predict has no zarr output: end-to-end step skipped (use --e2e parquet)")
        args.e2e = "none"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="grelu-bench-full-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, workdir)
    res: dict[str, Any] = {"machine": machine(), "args": vars(args), "models": {}}
    for name in names:
        key = NAMES[name]
        try:
            res["models"][key] = run_model(
                bench, key, args.windows, args.repeats, args.e2e, precisions
            )
        except RuntimeError as e:  # one model failing does not lose the other's numbers
            log(f"{key} failed: {e}")
            res.setdefault("failed", {})[key] = str(e)[-2000:]
        Path(args.json).write_text(json.dumps(res, indent=1))
    res["machine"]["load_avg_at_end"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(table(res))
    print(f"JSON: {args.json}  inputs: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
