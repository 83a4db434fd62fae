"""Throughput of ``grelu attribute`` side by side with gReLU 1.1.0's ``get_attributions``.

One seeded ConvModel checkpoint (gReLU's defaults, 2,048 bp, 8 tasks, built with ``grelu
models build``), one synthetic genome and ``--regions`` plus-strand regions (windows inside
the chromosomes). Per method:

- ours: ``grelu attribute --method M -o attr.zarr`` in its own process; regions/s while
  attributing (its JSON progress rate: what ``get_attributions`` alone is compared with) and
  over the whole run (its summary time: model load, input reading and store included);
- gReLU: ``get_attributions(method=M, prediction_transform=Aggregate(mean, mean))`` on the
  same checkpoint and the same window sequences (read from the genome here), timed around
  the call alone (gReLU loops one sequence at a time for the captum methods), in the
  ``--grelu-python`` virtualenv;
- agreement: max |ours - gReLU| relative to gReLU's largest value (DeepLIFT-SHAP uses the same
  seeded shuffles; gReLU treats the exp activation as linear there, ours gives it DeepLIFT's
  rescale rule, so that column differs by design: compare with ``--logits`` models only).

Both use the same torch thread count (``--threads``). Numbers are reported, never asserted.

    python benchmarks/bench_attribute.py --grelu-python /tmp/gv-ism2/bin/python
        [--regions 64] [--methods saliency,inputxgradient,deepliftshap] [--shuffles 10]
        [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_predict import grelu_cli, last_json, machine, run_measured  # noqa: E402
from synth import write_genome  # noqa: E402

SEQ_LEN = 2048


def read_fasta(path: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name is not None:
            seqs[name].append(line.strip())
    return {k: "".join(v).upper() for k, v in seqs.items()}


def inputs(workdir: Path, n: int) -> tuple[Path, Path, list[str]]:
    """Genome, BED of ``n`` SEQ_LEN regions (their windows are themselves), and the windows'
    sequences (ACGT only: regions avoid the N run)."""
    fa = write_genome(workdir / "genome.fa", {"chr1": 2_000_000}, seed=0)
    genome = read_fasta(fa)["chr1"]
    rng = np.random.default_rng(1)
    rows, seqs = [], []
    while len(rows) < n:
        s = int(rng.integers(0, len(genome) - SEQ_LEN))
        seq = genome[s : s + SEQ_LEN]
        if "N" in seq:
            continue
        rows.append(f"chr1\t{s}\t{s + SEQ_LEN}\tr{len(rows)}\t0\t+\n")
        seqs.append(seq)
    bed = workdir / "regions.bed"
    bed.write_text("".join(rows))
    return fa, bed, seqs


def ours(args: argparse.Namespace, ckpt: Path, fa: Path, bed: Path, method: str, out: Path):
    cmd = grelu_cli(
        "attribute",
        "-m",
        str(ckpt),
        "--bed",
        str(bed),
        "-g",
        str(fa),
        "--method",
        method,
        "--shuffles",
        str(args.shuffles),
        "--threads",
        str(args.threads),
        "--log-format",
        "json",
        "-o",
        str(out),
    )
    res = run_measured(cmd)
    summary = last_json(res["stderr"], "summary")
    progress = last_json(res["stderr"], "progress")
    return {
        "wall_s": res["wall_s"],
        "run_s": summary["seconds"],
        "attr_per_s": progress["per_s"],  # regions/s while attributing (the progress rate)
        "peak_rss_mb": res["peak_rss_mb"],
    }


def grelu(args: argparse.Namespace, ckpt: Path, seqs_txt: Path, method: str, save: Path):
    cmd = [
        args.grelu_python,
        str(HERE / "grelu_attribute_runner.py"),
        "--ckpt",
        str(ckpt),
        "--seqs",
        str(seqs_txt),
        "--method",
        method,
        "--shuffles",
        str(args.shuffles),
        "--threads",
        str(args.threads),
        "--save",
        str(save),
    ]
    res = run_measured(cmd)
    out = last_json(res["stdout"])
    out["wall_s"] = res["wall_s"]
    return out


def agreement(store: Path, grelu_npy: Path) -> float:
    import zarr

    mine = np.asarray(zarr.open_group(str(store), mode="r")["attribution"][:, 0])  # (N, L, 4)
    theirs = np.load(grelu_npy).transpose(0, 2, 1)  # (N, 4, L) -> (N, L, 4)
    return float(np.abs(mine - theirs).max() / np.abs(theirs).max())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grelu-python", required=True)
    ap.add_argument("--regions", type=int, default=64)
    ap.add_argument("--methods", default="saliency,inputxgradient,deepliftshap")
    ap.add_argument("--shuffles", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    results: dict[str, Any] = {"machine": machine(), "args": vars(args), "methods": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fa, bed, seqs = inputs(work, args.regions)
        seqs_txt = work / "seqs.txt"
        seqs_txt.write_text("\n".join(seqs) + "\n")
        ckpt = work / "conv.ckpt"
        run_measured(
            grelu_cli(
                "models",
                "build",
                "ConvModel",
                "--n-tasks",
                "8",
                "--seq-len",
                str(SEQ_LEN),
                "--loss",
                "poisson",
                "-o",
                str(ckpt),
            )
        )
        for method in args.methods.split(","):
            store = work / f"{method}.zarr"
            a = ours(args, ckpt, fa, bed, method, store)
            g = grelu(args, ckpt, seqs_txt, method, work / f"{method}.npy")
            row = {
                "ours": a,
                "grelu": g,
                "ours_regions_per_s": a["attr_per_s"],
                "ours_whole_run_regions_per_s": args.regions / a["run_s"],
                "grelu_regions_per_s": args.regions / g["attr_s"],
                "max_rel_diff": agreement(store, work / f"{method}.npy"),
            }
            row["speedup"] = row["ours_regions_per_s"] / row["grelu_regions_per_s"]
            results["methods"][method] = row
            print(
                f"{method:>20}: ours {row['ours_regions_per_s']:.2f} regions/s attributing "
                f"({row['ours_whole_run_regions_per_s']:.2f} whole run), gReLU "
                f"{row['grelu_regions_per_s']:.2f} regions/s (get_attributions alone): "
                f"{row['speedup']:.2f}x; max |diff| / max |gReLU| = {row['max_rel_diff']:.2e}",
                flush=True,
            )
    print(f"load average at start: {results['machine']['load_avg_at_start']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
