"""Throughput and memory of ``grelu predict``, side by side with gReLU 1.1.0, in one run.

For each model (ConvModel, DilatedConvModel, ConvGRUModel and ConvTransformerModel at 2 kb,
reduced Enformer and Borzoi; the full-size ones too when CUDA is present; on the CPU the
full-size ones have their own script, ``bench_full.py``) it builds one seeded checkpoint with
``grelu models build`` and one synthetic genome + BED, then measures:

- forward-only: our predictor on pre-encoded batches (the floor), own process;
- end-to-end: ``grelu predict`` BED + genome -> finished parquet, and -> bigWig, each its own
  process (wall time, the run's own elapsed time, peak RSS via wait4);
- ``--precision bf16`` end-to-end (and its per-track Pearson r against fp32);
- gReLU 1.1.0 ``predict_on_dataset`` (fp32, batch 256) on the same checkpoint and BED, plain and
  with glibc told to keep freed memory, when ``--grelu-python`` is given; agreement of
  outputs (max relative difference);
- peak RSS for a small and a 100x larger BED (small model);
- ``grelu --help`` and ``grelu models list`` start-up time.

Shared machines drift, so ours and gReLU's runs alternate (``--repeats``) and the best of each is
kept; every sample is in the JSON. Numbers are reported, never asserted.

    python benchmarks/bench_predict.py [--quick] [--grelu-python /path/to/venv/bin/python]
        [--regions 20000] [--repeats 2] [--models conv,dilated,enformer,borzoi]
        [--json bench.json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import genome_sizes, write_bed, write_genome  # noqa: E402

GLIBC_KEEP = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "1099511627776"}

# name -> (architecture, seq_len, --param list, regions factor vs --regions, full-size?)
MODELS: dict[str, tuple[str, int, list[str], float]] = {
    "conv": ("ConvModel", 2048, [], 1.0),
    "dilated": ("DilatedConvModel", 2048, [], 0.5),
    # gReLU's defaults: 16 channels, one bidirectional GRU / one relative-position
    # transformer (1 head, key and value 8) over all 2,048 positions.
    "conv-gru": ("ConvGRUModel", 2048, [], 0.02),
    "conv-transformer": ("ConvTransformerModel", 2048, [], 0.05),
    "enformer": (
        "EnformerModel",
        8192,
        [
            "n_conv=5",
            "channels=384",
            "n_transformers=2",
            "n_heads=2",
            "key_len=32",
            "crop_len=16",
            "final_pool_func=null",
        ],
        0.01,
    ),
    "borzoi": (
        "BorzoiModel",
        8192,
        [
            "stem_channels=64",
            "init_channels=96",
            "channels=192",
            "n_conv=5",
            "n_transformers=2",
            "n_heads=4",
            "key_len=32",
            "value_len=48",
            "n_pos_features=16",
            "crop_len=16",
            "final_pool_func=null",
        ],
        0.01,
    ),
}
# The published geometry (EnformerPretrainedModel / BorzoiPretrainedModel: 896 and 6,144 output
# bins, 5,313 and 7,611 human tracks) built from the plain classes, which gReLU can load without
# downloading weights. name -> (architecture, seq_len, params, regions factor, tracks)
FULL_TRACKS = {"enformer_full": 5313, "borzoi_full": 7611}
FULL = {
    "enformer_full": ("EnformerModel", 196_608, ["crop_len=320", "final_pool_func=null"], 0.002),
    "borzoi_full": ("BorzoiModel", 524_288, ["crop_len=5120", "final_pool_func=null"], 0.001),
}


# ---------------------------------------------------------------------------------------------
def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, exit code, stdout, stderr and the child's peak RSS (MB)."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        res = {
            "cmd": " ".join(cmd),
            "rc": p.returncode,
            "wall_s": wall,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }
    if res["rc"] != 0:
        tail = res["stderr"][-2000:]
        raise RuntimeError(f"command failed ({res['rc']}): {res['cmd']}\n{tail}")
    return res


def last_json(text: str, event: str | None = None) -> dict[str, Any]:
    """The last JSON object line of ``text`` (with ``"event": event`` when given)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event is None or obj.get("event") == event:
                return obj
    raise ValueError(f"no JSON line{' for ' + event if event else ''} in output")


def grelu_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "grelu_cli", *args]


# ---------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.dir = workdir
        self.threads = args.threads
        self.results: dict[str, Any] = {"machine": machine(), "args": vars(args), "models": {}}

    # inputs ----------------------------------------------------------------------------------
    def inputs(
        self, key: str, n: int, seq_len: int, genome_n: int | None = None
    ) -> tuple[Path, Path]:
        sizes = genome_sizes(max(genome_n or n, 1000), seq_len)
        tag = "_".join(str(v) for v in sizes.values())
        fa = self.dir / f"genome_{tag}.fa"
        if not fa.exists():
            write_genome(fa, sizes, seed=0)
        bed = self.dir / f"{key}_{n}.bed"
        write_bed(bed, sizes, n, seq_len, seed=1)
        return fa, bed

    def checkpoint(
        self, key: str, arch: str, seq_len: int, params: list[str], n_tasks: int = 8
    ) -> Path:
        ckpt = self.dir / f"{key}.ckpt"
        cmd = ["models", "build", arch, "--n-tasks", str(n_tasks), "--seq-len", str(seq_len)]
        for p in params:
            cmd += ["--param", p]
        run_measured(grelu_cli(*cmd, "--seed", "0", "--overwrite", "-o", str(ckpt)))
        return ckpt

    # runs ------------------------------------------------------------------------------------
    def ours(self, ckpt: Path, bed: Path, fa: Path, out: Path, extra: list[str]) -> dict:
        cmd = [
            "predict",
            "--model",
            str(ckpt),
            "--bed",
            str(bed),
            "--genome",
            str(fa),
            "-o",
            str(out),
            "--overwrite",
            "--log-format",
            "json",
            *extra,
        ]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        res = run_measured(grelu_cli(*cmd))
        summary = last_json(res["stderr"], "summary")
        res["run_s"] = float(summary["seconds"])
        # The last progress event's rate covers the prediction loop alone (every batch read,
        # encoded, predicted and handed to the writer), without start-up (imports, model
        # load, warm-up): the number to hold against the forward-only floor.
        res["loop_per_s"] = float(last_json(res["stderr"], "progress")["per_s"])
        return slim(res)

    def forward(
        self, ckpt: Path, bed: Path, fa: Path, n: int, extra: list[str], env: dict | None = None
    ) -> dict:
        cmd = [
            sys.executable,
            str(HERE / "forward_only.py"),
            "--ckpt",
            str(ckpt),
            "--bed",
            str(bed),
            "--genome",
            str(fa),
            "--regions",
            str(n),
            *extra,
        ]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        res = run_measured(cmd, env=env)
        keys = ("peak_rss_mb", "wall_s", "user_s", "sys_s")
        return {**last_json(res["stdout"]), **{f"process_{k}": res[k] for k in keys}}

    def grelu(
        self,
        ckpt: Path,
        bed: Path,
        fa: Path,
        seq_len: int,
        save: Path | None,
        env: dict[str, str] | None,
    ) -> dict:
        cmd = [
            self.args.grelu_python,
            str(HERE / "grelu_runner.py"),
            "--ckpt",
            str(ckpt),
            "--bed",
            str(bed),
            "--genome",
            str(fa),
            "--seq-len",
            str(seq_len),
        ]
        if save is not None:
            cmd += ["--save", str(save)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.args.grelu_batch_size:
            cmd += ["--batch-size", str(self.args.grelu_batch_size)]
        res = run_measured(cmd, env=env)
        info = last_json(res["stdout"])
        # gReLU's time: its dataset (read + encode) plus predict_on_dataset; not its imports
        # or checkpoint loading (ours includes loading: conservative for us).
        info["run_s"] = info["dataset_s"] + info["predict_s"]
        info.update({k: res[k] for k in ("wall_s", "peak_rss_mb", "user_s", "sys_s")})
        return info

    # one model -------------------------------------------------------------------------------
    def model(self, key: str, arch: str, seq_len: int, params: list[str], n: int) -> dict:
        a = self.args
        fa, bed = self.inputs(key, n, seq_len)
        ckpt = self.checkpoint(key, arch, seq_len, params, FULL_TRACKS.get(key, 8))
        r: dict[str, Any] = {"arch": arch, "seq_len": seq_len, "regions": n, "params": params}
        fp32_pq = self.dir / f"{key}.fp32.parquet"
        bf16_pq = self.dir / f"{key}.bf16.parquet"
        samples: dict[str, list[dict]] = {
            k: [] for k in ("parquet", "bigwig", "bf16", "grelu", "grelu_glibc")
        }
        nf = min(n, max(256, n // 4))  # a rate: a quarter of the input is plenty
        fwd: dict[str, list[dict]] = {"fp32": [], "bf16": []}
        gsave = self.dir / f"{key}.grelu.npy"
        for rep in range(a.repeats):
            fwd["fp32"].append(self.forward(ckpt, bed, fa, nf, []))
            fwd["bf16"].append(self.forward(ckpt, bed, fa, nf, ["--precision", "bf16"]))
            samples["parquet"].append(self.ours(ckpt, bed, fa, fp32_pq, []))
            if a.grelu_python:
                samples["grelu"].append(
                    self.grelu(ckpt, bed, fa, seq_len, gsave if rep == 0 else None, None)
                )
            samples["bigwig"].append(
                self.ours(ckpt, bed, fa, self.dir / f"{key}_bw", ["--format", "bigwig"])
            )
            samples["bf16"].append(self.ours(ckpt, bed, fa, bf16_pq, ["--precision", "bf16"]))
            if a.grelu_python and not a.quick:
                samples["grelu_glibc"].append(self.grelu(ckpt, bed, fa, seq_len, None, GLIBC_KEEP))
        r["samples"] = samples
        r["forward_samples"] = fwd
        r["forward"] = max(fwd["fp32"], key=lambda f: f["regions_per_s"])
        r["forward_bf16"] = max(fwd["bf16"], key=lambda f: f["regions_per_s"])
        best = {k: min(v, key=lambda s: s["run_s"]) for k, v in samples.items() if v}
        r["best"] = best
        for s in best.values():
            s["regions_per_s"] = n / s["run_s"]
            s["bp_per_s"] = n * seq_len / s["run_s"]
            if "loop_per_s" in s:
                s["startup_s"] = s["run_s"] - n / s["loop_per_s"]
        for k in ("parquet", "bigwig", "bf16"):  # the loop's best rate, whichever run had it
            if samples[k]:
                best[k]["best_loop_per_s"] = max(x["loop_per_s"] for x in samples[k])
        r["agreement"] = agreement(fp32_pq, bf16_pq, gsave if a.grelu_python else None)
        return r

    def memory(self) -> dict:
        """Peak RSS of end-to-end runs at a small and a 100x larger input (ConvModel).

        Peak RSS of identical runs differs by several percent (where glibc places each batch's
        activations varies with thread timing), so each size runs ``--memory-repeats`` times,
        alternating, and the medians are compared; every sample is kept.
        """
        import statistics

        small, big = (100, 10_000) if self.args.quick else (1_000, 100_000)
        arch, seq_len, params, _ = MODELS["conv"]
        ckpt = self.checkpoint("mem", arch, seq_len, params)
        beds = {n: self.inputs("mem", n, seq_len, genome_n=big) for n in (small, big)}
        runs: dict[int, list[dict]] = {small: [], big: []}
        for _ in range(self.args.memory_repeats):
            for n in (small, big):
                fa, bed = beds[n]  # one genome for both sizes
                runs[n].append(self.ours(ckpt, bed, fa, self.dir / f"mem_{n}.parquet", []))
        out: dict[str, Any] = {}
        for n, samples in runs.items():
            rss = [r["peak_rss_mb"] for r in samples]
            out[str(n)] = {
                "peak_rss_mb": statistics.median(rss),
                "peak_rss_mb_samples": rss,
                "run_s": min(r["run_s"] for r in samples),
                "regions_per_s": n / min(r["run_s"] for r in samples),
            }
        out["growth"] = out[str(big)]["peak_rss_mb"] / out[str(small)]["peak_rss_mb"] - 1
        return out

    def startup(self) -> dict:
        out = {}
        for label, args in (("help", ["--help"]), ("models_list", ["models", "list"])):
            times = [run_measured(grelu_cli(*args))["wall_s"] for _ in range(3)]
            out[label] = min(times)
        probe = "import sys, grelu_cli.cli.app; print('torch' in sys.modules)"
        res = run_measured([sys.executable, "-c", probe])
        out["cli_app_imports_torch"] = res["stdout"].strip() == "True"
        return out


def slim(res: dict) -> dict:
    keys = ("wall_s", "run_s", "loop_per_s", "peak_rss_mb", "user_s", "sys_s")
    return {k: res[k] for k in keys if k in res}


def agreement(fp32_pq: Path, bf16_pq: Path, grelu_npy: Path | None) -> dict:
    """bf16 vs fp32: min per-track Pearson r; ours vs gReLU: max relative difference."""
    import numpy as np
    import pandas as pd

    def cube(path: Path) -> np.ndarray:
        df = pd.read_parquet(path, columns=["name", "task", "bin", "value"])
        names = df["name"].unique()
        tasks = df["task"].unique()
        order = {v: i for i, v in enumerate(names)}
        torder = {v: i for i, v in enumerate(tasks)}
        bins = int(df["bin"].max()) + 1
        arr = np.full((len(names), len(tasks), bins), np.nan, dtype=np.float64)
        arr[df["name"].map(order), df["task"].map(torder), df["bin"]] = df["value"]
        return arr

    ours = cube(fp32_pq)
    out: dict[str, Any] = {}
    bf = cube(bf16_pq)
    rs = []
    for t in range(ours.shape[1]):
        a, b = ours[:, t].ravel(), bf[:, t].ravel()
        rs.append(float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 else float("nan"))
    out["bf16_min_track_pearson"] = min(rs)
    out["bf16_max_rel_diff"] = float(np.abs(bf - ours).max() / np.abs(ours).max())
    if grelu_npy is not None and grelu_npy.exists():
        g = np.load(grelu_npy).astype(np.float64)
        if g.shape != ours.shape:
            out["grelu_shape_mismatch"] = [list(g.shape), list(ours.shape)]
        else:
            out["grelu_max_rel_diff"] = float(np.abs(g - ours).max() / np.abs(g).max())
            out["grelu_max_elem_rel_diff"] = float(
                (np.abs(g - ours) / np.maximum(np.abs(g), 1e-6)).max()
            )
    return out


def machine() -> dict:
    import torch

    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in flags.splitlines() if ln.startswith("model name")),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "amx": "amx_bf16" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_avg_at_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
def table(results: dict) -> str:
    rows = [
        (
            "model",
            "regions",
            "fwd r/s",
            "e2e r/s",
            "loop r/s",
            "loop/fwd",
            "start-up s",
            "bigWig r/s",
            "bf16 r/s",
            "gReLU r/s",
            "gReLU+glibc",
            "x gReLU",
            "bf16 x gReLU",
            "x glibc",
            "RSS MB",
            "gReLU RSS",
        )
    ]

    def f(v: float | None, fmt: str = "{:.0f}") -> str:
        return "-" if v is None else fmt.format(v)

    for key, r in results["models"].items():
        b = r["best"]
        e2e = b["parquet"]["regions_per_s"]
        g = b.get("grelu", {}).get("regions_per_s")
        gg = b.get("grelu_glibc", {}).get("regions_per_s")
        bf = b["bf16"]["regions_per_s"]
        rows.append(
            (
                key,
                str(r["regions"]),
                f(r["forward"]["regions_per_s"]),
                f(e2e),
                f(b["parquet"]["best_loop_per_s"]),
                f(b["parquet"]["best_loop_per_s"] / r["forward"]["regions_per_s"], "{:.2f}"),
                f(b["parquet"]["startup_s"], "{:.1f}"),
                f(b["bigwig"]["regions_per_s"]),
                f(bf),
                f(g),
                f(gg),
                f(e2e / g if g else None, "{:.2f}"),
                f(bf / g if g else None, "{:.2f}"),
                f(e2e / gg if gg else None, "{:.2f}"),
                f(b["parquet"]["peak_rss_mb"]),
                f(b.get("grelu", {}).get("peak_rss_mb")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    out = ["\n".join(lines)]
    for key, r in results["models"].items():
        out.append(f"{key}: agreement {json.dumps(r['agreement'])}")
    if "memory" in results:
        m = results["memory"]
        sizes = [k for k in m if k != "growth"]
        out.append(
            "memory: "
            + ", ".join(
                f"{k} regions {m[k]['peak_rss_mb']:.0f} MB (median of "
                + "/".join(f"{v:.0f}" for v in m[k]["peak_rss_mb_samples"])
                + ")"
                for k in sizes
            )
            + f" (growth {m['growth']:+.1%})"
        )
    if "startup" in results:
        s = results["startup"]
        out.append(
            f"start-up: grelu --help {s['help']:.2f} s, grelu models list "
            f"{s['models_list']:.2f} s, torch imported by the CLI app: "
            f"{s['cli_app_imports_torch']}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (ConvModel only)")
    ap.add_argument("--grelu-python", default=None, help="python of a venv with grelu 1.1.0")
    ap.add_argument("--regions", type=int, default=20_000, help="regions for ConvModel")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--models", default=None, help="comma list of " + ",".join(MODELS))
    ap.add_argument("--threads", type=int, default=None, help="--threads for every run")
    ap.add_argument(
        "--grelu-batch-size",
        type=int,
        default=None,
        help="gReLU's batch size (default: its own, 256; ConvTransformerModel at 256 needs "
        "more than 24 GB)",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the 1k vs 100k RSS runs")
    ap.add_argument("--memory-repeats", type=int, default=3, help="runs per size for RSS")
    ap.add_argument("--json", default="bench_predict.json")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    if args.memory_repeats < 1:
        ap.error(f"--memory-repeats {args.memory_repeats} must be at least 1")
    if args.quick:
        args.regions = min(args.regions, 256)
        args.repeats = 1
        args.memory_repeats = 1
    import torch

    names = args.models.split(",") if args.models else (["conv"] if args.quick else list(MODELS))
    specs = {**MODELS, **FULL}
    if torch.cuda.is_available() and not args.models and not args.quick:
        names += list(FULL)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="grelu-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, workdir)
    res = bench.results
    for key in names:
        arch, seq_len, params, factor = specs[key]
        n = max(16, int(args.regions * factor))
        print(f"[bench] {key}: {arch} {seq_len} bp, {n} regions", file=sys.stderr, flush=True)
        try:
            res["models"][key] = bench.model(key, arch, seq_len, params, n)
        except RuntimeError as e:  # one model failing does not lose the others' numbers
            print(f"[bench] {key} failed: {e}", file=sys.stderr, flush=True)
            res.setdefault("failed", {})[key] = str(e)[-2000:]
        Path(args.json).write_text(json.dumps(res, indent=1))
    if not args.no_memory:
        print("[bench] memory", file=sys.stderr, flush=True)
        res["memory"] = bench.memory()
    res["startup"] = bench.startup()
    res["machine"]["load_avg_at_end"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(table(res))
    print(f"JSON: {args.json}  inputs: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
