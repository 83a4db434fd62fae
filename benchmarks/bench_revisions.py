"""Two source trees of grelu-cli side by side on the same commands: did a change cost speed?

For refactors that must not change behaviour or speed (the run engine, the writers, the input
path), this runs each case with the *base* tree and the *head* tree alternately, each run its
own process (``PYTHONPATH=TREE python -m grelu_cli ...``), and reports wall and CPU seconds,
peak RSS and head/base ratios, plus whether the two outputs hold the same values.

Cases (``--cases``, comma-separated):

- ``borzoi``: full Borzoi geometry (524,288 bp in, 6,144 bins x 7,611 tracks, random weights),
  ``grelu predict`` of ``--windows`` windows to zarr, fp32;
- ``enformer``: full Enformer geometry (196,608 bp, 896 bins x 5,313 tracks), the same;
- ``enformer-variants``: full Enformer, ``grelu variants`` of ``--snvs`` SNVs (2 windows each);
- ``conv-predict``: ConvModel 2,048 bp, 8 tasks, ``--regions`` regions to long parquet
  (the engine's own overhead dominates here);
- ``conv-variants``: the same model, ``--variants`` SNVs to long parquet.

Numbers are reported, never asserted. Run on a quiet machine: a second heavy process on two
cores halves every number. Example (base = the commit before a change)::

    git worktree add /tmp/base <rev>
    python benchmarks/bench_revisions.py --base /tmp/base --cases borzoi,enformer,conv-variants \\
        --repeats 2 --json bench_revisions.json
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

from bench_predict import FULL, FULL_TRACKS, machine, run_measured  # noqa: E402
from bench_variants import read_fasta, write_snvs  # noqa: E402
from synth import write_bed, write_genome  # noqa: E402

CONV = ("ConvModel", 2048, ["n_conv=3", "final_pool_func=null"], 8)


def cli(tree: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``grelu`` from source tree ``tree``."""
    env = {"PYTHONPATH": str(tree), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env = {k: v for k, v in env.items() if v}
    return [sys.executable, "-m", "grelu_cli", *args], env


def build(
    head: Path, work: Path, name: str, arch: str, seq_len: int, params: list[str], tasks: int
) -> Path:
    ckpt = work / f"{name}.ckpt"
    if not ckpt.exists():
        cmd = ["models", "build", arch, "--n-tasks", str(tasks), "--seq-len", str(seq_len)]
        for p in params:
            cmd += ["--param", p]
        argv, env = cli(head, *cmd, "--seed", "0", "-o", str(ckpt))
        run_measured(argv, env)
    return ckpt


def inputs(work: Path, seq_len: int, n_regions: int, n_snvs: int) -> dict[str, Path]:
    """A random genome with room for the windows, a BED and a VCF of SNVs on it."""
    sizes = {"chr1": max(8 * seq_len, 4_000_000), "chr2": max(8 * seq_len, 4_000_000)}
    genome = write_genome(work / f"genome{seq_len}.fa", sizes)
    bed = write_bed(work / f"regions{seq_len}.bed", sizes, n_regions, min(seq_len, 2048))
    vcf = write_snvs(work / f"snvs{seq_len}.vcf", read_fasta(genome), n_snvs, seq_len, seed=3)
    return {"genome": genome, "bed": bed, "vcf": vcf}


#: case -> (model key, command, output suffix); model "conv" is CONV, the others FULL's.
CASES = {
    "borzoi": ("borzoi_full", "predict", ".zarr"),
    "enformer": ("enformer_full", "predict", ".zarr"),
    "enformer-variants": ("enformer_full", "variants", ".parquet"),
    "conv-predict": ("conv", "predict", ".parquet"),
    "conv-variants": ("conv", "variants", ".parquet"),
}


def cases(args: argparse.Namespace, work: Path) -> dict[str, tuple[Path, list[str], str]]:
    """name -> (checkpoint, grelu arguments without the model and output, output suffix)."""
    out: dict[str, tuple[Path, list[str], str]] = {}
    for name in args.cases:
        if name not in CASES:
            raise SystemExit(f"unknown case {name!r}; known: {', '.join(CASES)}")
        key, command, suffix = CASES[name]
        if key == "conv":
            arch, seq_len, params, tasks = CONV
            n_regions, n_snvs = args.regions, args.variants
        else:
            arch, seq_len, params, _ = FULL[key]
            tasks, n_regions, n_snvs = FULL_TRACKS[key], args.windows, args.snvs
        ckpt = build(args.head, work, key, arch, seq_len, params, tasks)
        data = inputs(work, seq_len, n_regions, n_snvs)
        source = (
            ["--vcf", str(data["vcf"])] if command == "variants" else ["--bed", str(data["bed"])]
        )
        out[name] = (ckpt, [command, *source, "--genome", str(data["genome"])], suffix)
    return out


def same_values(a: Path, b: Path) -> bool:
    """Whether two outputs hold the same numbers (NaN equal to NaN), read a piece at a time so
    that full-size outputs never sit in memory whole: zarr ``preds`` window by window, parquet
    one float column at a time."""
    import numpy as np

    if a.suffix == ".zarr":
        import zarr

        x, y = (zarr.open_group(str(p), mode="r")["preds"] for p in (a, b))
        if x.shape != y.shape:
            return False
        return all(
            np.array_equal(np.asarray(x[i]), np.asarray(y[i]), equal_nan=True)
            for i in range(x.shape[0])
        )
    import pyarrow.parquet as pq

    fa, fb = pq.ParquetFile(a), pq.ParquetFile(b)
    schema = fa.schema_arrow.remove_metadata()  # the provenance differs (paths, times)
    cols = [f.name for f in schema if str(f.type) in ("float", "double")]
    if fb.schema_arrow.remove_metadata() != schema or fa.metadata.num_rows != fb.metadata.num_rows:
        return False
    for c in cols:  # one column of both files at a time
        u, v = (pq.read_table(p, columns=[c])[c].to_numpy() for p in (a, b))
        if not np.array_equal(u, v, equal_nan=True):
            return False
    return True


def best(runs: dict[str, list[dict[str, Any]]], side: str, key: str) -> float:
    """The smallest sample of ``key`` (the least disturbed run) of one side."""
    return min(r[key] for r in runs[side])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", type=Path, required=True, help="source tree of the base revision")
    p.add_argument("--head", type=Path, default=HERE.parent, help="source tree (default: here)")
    p.add_argument("--cases", default="borzoi,enformer,conv-predict,conv-variants")
    p.add_argument("--windows", type=int, default=1, help="regions for borzoi/enformer")
    p.add_argument("--snvs", type=int, default=2, help="SNVs for enformer-variants")
    p.add_argument("--regions", type=int, default=20_000, help="regions for conv-predict")
    p.add_argument("--variants", type=int, default=20_000, help="SNVs for conv-variants")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    args.base, args.head = args.base.resolve(), args.head.resolve()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="grelu-rev-"))
    work.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "machine": machine(),
        "base": str(args.base),
        "head": str(args.head),
        "cases": {},
    }
    for name, (ckpt, cmd, suffix) in cases(args, work).items():
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        outs: dict[str, Path] = {}
        for r in range(args.repeats):
            for side in ("base", "head") if r % 2 == 0 else ("head", "base"):
                out = work / f"{name}.{side}{suffix}"
                extra = ["--threads", str(args.threads)] if args.threads else []
                argv_, env = cli(
                    getattr(args, side),
                    *cmd,
                    "-m",
                    str(ckpt),
                    "-o",
                    str(out),
                    "--overwrite",
                    "--quiet",
                    *extra,
                )
                res = run_measured(argv_, env)
                runs[side].append({k: res[k] for k in ("wall_s", "user_s", "sys_s", "peak_rss_mb")})
                outs[side] = out
                print(
                    f"{name} {side}: {res['wall_s']:.1f} s wall, {res['peak_rss_mb']:.0f} MB",
                    file=sys.stderr,
                )

        same = same_values(outs["base"], outs["head"])
        summary = {
            "base_wall_s": best(runs, "base", "wall_s"),
            "head_wall_s": best(runs, "head", "wall_s"),
            "wall_ratio": best(runs, "head", "wall_s") / best(runs, "base", "wall_s"),
            "cpu_ratio": min(r["user_s"] + r["sys_s"] for r in runs["head"])
            / min(r["user_s"] + r["sys_s"] for r in runs["base"]),
            "base_rss_mb": best(runs, "base", "peak_rss_mb"),
            "head_rss_mb": best(runs, "head", "peak_rss_mb"),
            "identical_values": same,
            "runs": runs,
        }
        results["cases"][name] = summary
        print(
            f"{name}: head/base wall {summary['wall_ratio']:.3f}, cpu "
            f"{summary['cpu_ratio']:.3f}, rss {summary['base_rss_mb']:.0f} -> "
            f"{summary['head_rss_mb']:.0f} MB, identical values: {same}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
