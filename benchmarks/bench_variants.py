"""Throughput and memory of ``grelu variants``, side by side with gReLU 1.1.0, in one run.

One seeded ConvModel checkpoint (2,048 bp, 8 tasks, built with ``grelu models build``), one
synthetic genome and seeded SNV VCFs (REF from the genome, one ALT each, sorted). Measures:

- ours: ``grelu variants --scores diff`` VCF -> finished parquet, its own process (wall time,
  the run's own elapsed time, peak RSS via wait4), fp32;
- gReLU 1.1.0 ``predict_variant_effects(compare_func="subtract")`` on the same checkpoint and
  SNVs (read with pandas; batch 256; its own timer leaves out imports and checkpoint
  loading), when ``--grelu-python`` is given; agreement of ``diff`` with gReLU's effects
  (from an untimed true-fp32 pass);
- peak RSS of ours at ``--rss-variants`` sizes (default 10,000 and 1,000,000 SNVs), each
  ``--memory-repeats`` times, medians compared. These runs use a second, narrow ConvModel
  (``--rss-params``; same 2,048 bp windows, 8 tasks, same pipeline) so that a million
  variants finish in minutes on a small CPU; the default ConvModel needs hours for them
  there. Pass ``--rss-params ''`` to use the default model.

Ours and gReLU's runs alternate (``--repeats``) and the best of each is kept; every sample is
in the JSON. Numbers are reported, never asserted.

    python benchmarks/bench_variants.py [--grelu-python /path/to/venv/bin/python]
        [--variants 10000] [--rss-variants 10000,1000000] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_predict import grelu_cli, last_json, machine, run_measured  # noqa: E402
from synth import write_genome  # noqa: E402

SEQ_LEN = 2048


def read_fasta(path: Path) -> dict[str, bytes]:
    seqs: dict[str, list[bytes]] = {}
    name = None
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b">"):
                name = line[1:].split()[0].decode()
                seqs[name] = []
            elif name is not None:
                seqs[name].append(line.strip())
    return {k: b"".join(v) for k, v in seqs.items()}


def write_snvs(path: Path, genome: dict[str, bytes], n: int, seq_len: int, seed: int) -> Path:
    """``n`` SNVs at seeded positions (windows inside the chromosome), REF from the genome,
    one random ALT each, sorted; streamed to disk so a million costs little memory."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chroms = list(genome)
    counts = np.bincount(rng.integers(0, len(chroms), n), minlength=len(chroms))
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c in chroms:
            fh.write(f"##contig=<ID={c},length={len(genome[c])}>\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        i = 0
        for c, k in zip(chroms, counts, strict=True):
            seq = genome[c]
            pos0 = np.sort(rng.integers(seq_len, len(seq) - seq_len, int(k)))
            shift = rng.integers(1, 4, int(k))
            for p, s in zip(pos0.tolist(), shift.tolist(), strict=True):
                ref = chr(seq[p])
                if ref not in "ACGT":  # the genome's one N run: no SNV there
                    continue
                alt = "ACGT"[("ACGT".index(ref) + s) % 4]
                fh.write(f"{c}\t{p + 1}\tv{i}\t{ref}\t{alt}\t.\t.\t.\n")
                i += 1
    return path


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.dir = workdir
        self.results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
        sizes = {"chr1": 4_000_000, "chr2": 4_000_000}
        self.fa = workdir / "genome.fa"
        write_genome(self.fa, sizes, seed=0)
        self.genome = read_fasta(self.fa)
        self.ckpt = self.build(workdir / "conv.ckpt", [])
        params = [p for p in args.rss_params.split(",") if p] if args.rss_params else []
        self.rss_ckpt = self.build(workdir / "rss.ckpt", params) if params else self.ckpt

    def build(self, path: Path, params: list[str]) -> Path:
        cmd = ["models", "build", "ConvModel", "--n-tasks", "8", "--seq-len", str(SEQ_LEN)]
        for p in params:
            cmd += ["--param", p]
        run_measured(grelu_cli(*cmd, "--seed", "0", "--overwrite", "-o", str(path)))
        return path

    def vcf(self, n: int) -> Path:
        path = self.dir / f"snvs_{n}.vcf"
        if not path.exists():
            write_snvs(path, self.genome, n, SEQ_LEN, seed=1)
        return path

    def ours(self, vcf: Path, out: Path, ckpt: Path | None = None) -> dict:
        cmd = [
            "variants",
            "--model",
            str(ckpt or self.ckpt),
            "--vcf",
            str(vcf),
            "--genome",
            str(self.fa),
            "-o",
            str(out),
            "--overwrite",
            "--scores",
            "diff",
            "--device",
            "cpu",
            "--log-format",
            "json",
        ]
        if self.args.threads:
            cmd += ["--threads", str(self.args.threads)]
        res = run_measured(grelu_cli(*cmd))
        summary = last_json(res["stderr"], "summary")
        # The last progress event's rate: records per second in the scoring loop alone
        # (reading, checking, encoding, predicting, writing; no imports or model load).
        loop = float(last_json(res["stderr"], "progress")["per_s"])
        return {
            "wall_s": res["wall_s"],
            "run_s": float(summary["seconds"]),
            "loop_per_s": loop,
            "peak_rss_mb": res["peak_rss_mb"],
            "scored": summary["scored"],
            "windows": summary["windows"],
        }

    def grelu(self, vcf: Path, save: Path | None) -> dict:
        cmd = [
            self.args.grelu_python,
            str(HERE / "grelu_variant_runner.py"),
            "--ckpt",
            str(self.ckpt),
            "--vcf",
            str(vcf),
            "--genome",
            str(self.fa),
            "--seq-len",
            str(SEQ_LEN),
        ]
        if save is not None:
            cmd += ["--save", str(save)]
        if self.args.threads:
            cmd += ["--threads", str(self.args.threads)]
        res = run_measured(cmd)
        info = last_json(res["stdout"])
        info["run_s"] = info["read_s"] + info["predict_s"]
        info.update({k: res[k] for k in ("wall_s", "peak_rss_mb")})
        return info

    def speed(self) -> dict:
        n = self.args.variants
        vcf = self.vcf(n)
        ours, theirs = [], []
        for r in range(self.args.repeats):
            ours.append(self.ours(vcf, self.dir / "ours.parquet"))
            if self.args.grelu_python:
                check = r == 0 and "agreement" not in self.args.skip.split(",")
                save = self.dir / "grelu.npy" if check else None
                theirs.append(self.grelu(vcf, save))
        best = min(ours, key=lambda x: x["run_s"])
        out: dict[str, Any] = {
            "variants": n,
            "ours": {**best, "variants_per_s": best["scored"] / best["run_s"], "samples": ours},
        }
        if theirs:
            g = min(theirs, key=lambda x: x["run_s"])
            out["grelu"] = {**g, "variants_per_s": g["n"] / g["run_s"], "samples": theirs}
            out["speedup"] = g["run_s"] / best["run_s"]
            out["speedup_loop"] = best["loop_per_s"] / out["grelu"]["variants_per_s"]
            if (self.dir / "grelu.npy").exists():
                out["agreement"] = agreement(self.dir / "ours.parquet", self.dir / "grelu.npy")
        return out

    def memory(self) -> dict:
        sizes = [int(s) for s in self.args.rss_variants.split(",")]
        runs: dict[int, list[dict]] = {n: [] for n in sizes}
        for _ in range(self.args.memory_repeats):
            for n in sizes:
                out_pq = self.dir / f"mem_{n}.parquet"
                runs[n].append(self.ours(self.vcf(n), out_pq, self.rss_ckpt))
        out: dict[str, Any] = {}
        for n, samples in runs.items():
            out[str(n)] = {
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in samples),
                "peak_rss_mb_samples": [r["peak_rss_mb"] for r in samples],
                "variants_per_s": samples[0]["scored"] / min(r["run_s"] for r in samples),
            }
        lo, hi = str(sizes[0]), str(sizes[-1])
        out["growth"] = out[hi]["peak_rss_mb"] / out[lo]["peak_rss_mb"] - 1
        return out


def agreement(ours_pq: Path, grelu_npy: Path) -> dict:
    """Max |ours - gReLU| of diff, relative to the largest |ref_value| (what 1e-5 is held
    against), and the number of values compared."""
    import numpy as np
    import pyarrow.parquet as pq

    df = pq.read_table(ours_pq, columns=["ref_value", "diff"]).to_pandas()
    theirs = np.load(grelu_npy).reshape(-1)
    ours = df["diff"].to_numpy()
    scale = float(np.abs(df["ref_value"]).max())
    return {
        "n": int(ours.size),
        "max_abs_diff": float(np.abs(ours - theirs).max()),
        "max_rel_to_ref_scale": float(np.abs(ours - theirs).max() / scale),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grelu-python", default=None)
    ap.add_argument("--variants", type=int, default=10_000)
    ap.add_argument("--rss-variants", default="10000,1000000")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--memory-repeats", type=int, default=1)
    ap.add_argument(
        "--rss-params",
        default="stem_channels=16,channel_init=16,n_conv=2",
        help="ConvModel --param list (comma-separated) for the RSS runs; '' = default model",
    )
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--skip",
        default="",
        help="comma-separated: speed, memory, agreement (gReLU's untimed fp32 pass)",
    )
    ap.add_argument("--json", default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        bench = Bench(args, Path(tmp))
        skip = set(filter(None, args.skip.split(",")))
        if "speed" not in skip:
            bench.results["speed"] = bench.speed()
            print(json.dumps(bench.results["speed"], indent=1), file=sys.stderr)
        if "memory" not in skip:
            bench.results["memory"] = bench.memory()
            print(json.dumps(bench.results["memory"], indent=1), file=sys.stderr)
    text = json.dumps(bench.results, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
