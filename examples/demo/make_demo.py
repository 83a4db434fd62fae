"""Build the shipped demo: a synthetic genome with planted motifs and a tiny model that finds them.

Writes into this folder (or ``--out DIR``)::

    genome.fa, genome.fa.fai   3 chromosomes, 310 kb of random ACGT with N runs
    motifs.bed                 every planted motif (name motif_a / motif_b, strand = orientation)
    regions.bed                26 regions to predict: around motifs (both strands), background,
                               one at the end of chr3
    model.ckpt                 a gReLU-format checkpoint of a trained ConvModel (2 tasks)

The model is a per-base profile model (``ConvModel``, ``final_pool_func=None``, ~10k
parameters, dilations 1-8, 1,024 bp in, 896 bp out after cropping 64 bp at each end). Task
``motif_a`` is a Gaussian bump (sigma 10 bp, height ~20) on every planted copy of motif A (a
12 bp palindrome), task ``motif_b`` the same (height ~10) on motif B (12 bp, planted in both
orientations), over a background rate of 0.2. It is trained with a Poisson loss on chr1 and
chr2 (chr3 is held out), so the checkpoint says ``loss: poisson`` and predictions are ``exp``
of the raw outputs, as gReLU does.

Deterministic (seeded; single-threaded CPU torch) and about two minutes on 2 cores::

    python examples/demo/make_demo.py            # rewrite the shipped files
    python examples/demo/make_demo.py --out /tmp/demo --steps 200
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261124

# Chromosomes: (name, length, N runs as (start, end)). chr3 is held out from training.
CHROMS = (
    ("chr1", 150_000, ((0, 2_000), (70_000, 72_000))),
    ("chr2", 100_000, ((97_000, 100_000),)),
    ("chr3", 60_000, ((0, 1_000),)),
)
TRAIN_CHROMS = ("chr1", "chr2")
MOTIFS = {"motif_a": "TGGGAATTCCCA", "motif_b": "GCCATCTTGTGG"}  # motif_a is its own revcomp
SITES_PER_KB = {"motif_a": 0.5, "motif_b": 0.3}
HEIGHT = {"motif_a": 20.0, "motif_b": 10.0}
SIGMA = 10.0
BACKGROUND = 0.2
MIN_GAP = 300  # bp between planted motifs
# A motif whose centre is this close to the end of chr3 (for the chromosome-end region).
END_SITE = ("chr3", 60_000 - 150, "motif_a", "+")

SEQ_LEN = 1024
CROP = 64
MODEL_PARAMS = {
    "model_type": "ConvModel",
    "n_tasks": 2,
    "stem_channels": 16,
    "stem_kernel_size": 15,
    "n_conv": 5,
    "channel_init": 16,
    "kernel_size": 9,
    "dilation_init": 1,
    "dilation_mult": 2,
    "act_func": "relu",
    "crop_len": CROP,
    "final_pool_func": None,
}
TASKS = {
    "name": ["motif_a", "motif_b"],
    "motif": [MOTIFS["motif_a"], MOTIFS["motif_b"]],
    "description": [
        "synthetic signal peaking on planted motif A (palindrome)",
        "synthetic signal peaking on planted motif B (either orientation)",
    ],
}


@dataclass(frozen=True)
class Site:
    """One planted motif: ``[start, end)`` on ``chrom``, planted on ``strand``."""

    chrom: str
    start: int
    end: int
    name: str
    strand: str

    @property
    def center(self) -> float:
        return (self.start + self.end) / 2


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def make_genome(seed: int = SEED) -> tuple[dict[str, str], list[Site]]:
    """Random chromosomes with N runs and planted motifs (same seed -> same genome)."""
    rng = np.random.default_rng(seed)
    seqs: dict[str, str] = {}
    sites: list[Site] = []
    for chrom, length, n_runs in CHROMS:
        bases = np.array(list("ACGT"))[rng.integers(0, 4, length)]
        blocked = np.zeros(length, dtype=bool)
        for s, e in n_runs:
            bases[s:e] = "N"
            blocked[max(0, s - MIN_GAP) : e + MIN_GAP] = True
        blocked[: MIN_GAP // 2] = True
        blocked[length - MIN_GAP // 2 :] = True
        planted = []
        if chrom == END_SITE[0]:
            planted.append((END_SITE[1] - 6, END_SITE[2], END_SITE[3]))
        for name, per_kb in SITES_PER_KB.items():
            n = int(length / 1000 * per_kb)
            starts = rng.integers(0, length - 12, n * 4)  # candidates; keep the first n that fit
            kept = 0
            for s in starts:
                if kept == n:
                    break
                if blocked[max(0, s - MIN_GAP) : s + 12 + MIN_GAP].any():
                    continue
                if any(abs(s - p) < MIN_GAP + 12 for p, _, _ in planted):
                    continue
                strand = "+" if rng.random() < 0.5 else "-"
                planted.append((int(s), name, strand))
                kept += 1
        for s, name, strand in sorted(planted):
            motif = MOTIFS[name] if strand == "+" else revcomp(MOTIFS[name])
            bases[s : s + len(motif)] = list(motif)
            sites.append(Site(chrom, s, s + len(motif), name, strand))
        seqs[chrom] = "".join(bases)
    return seqs, sites


def target_tracks(seqs: dict[str, str], sites: list[Site]) -> dict[str, np.ndarray]:
    """Per-base expected signal, (2, length) float32 per chromosome (task order of TASKS)."""
    out = {}
    for chrom, seq in seqs.items():
        y = np.full((2, len(seq)), BACKGROUND, dtype=np.float32)
        pos = np.arange(len(seq)) + 0.5
        for site in sites:
            if site.chrom != chrom:
                continue
            t = TASKS["name"].index(site.name)
            lo, hi = int(site.center - 6 * SIGMA), int(site.center + 6 * SIGMA)
            d = pos[lo:hi] - site.center
            y[t, lo:hi] += HEIGHT[site.name] * np.exp(-0.5 * (d / SIGMA) ** 2)
        out[chrom] = y
    return out


def write_fasta(seqs: dict[str, str], path: Path, width: int = 60) -> None:
    with open(path, "w") as fh:
        for chrom, seq in seqs.items():
            fh.write(f">{chrom}\n")
            for i in range(0, len(seq), width):
                fh.write(seq[i : i + width] + "\n")
    path.with_name(path.name + ".fai").unlink(missing_ok=True)
    import pyfaidx

    pyfaidx.Faidx(str(path)).close()  # writes genome.fa.fai


def write_motifs(sites: list[Site], path: Path) -> None:
    with open(path, "w") as fh:
        for s in sites:
            fh.write(f"{s.chrom}\t{s.start}\t{s.end}\t{s.name}\t0\t{s.strand}\n")


def demo_regions(sites: list[Site], seed: int = SEED) -> list[tuple[str, int, int, str, str]]:
    """(chrom, start, end, name, strand): 600 bp around motifs and background, one at chr3's end."""
    rng = np.random.default_rng(seed + 1)
    out = []
    by_name = {n: [s for s in sites if s.name == n] for n in MOTIFS}
    picks = {"motif_a": 10, "motif_b": 8}
    for name, k in picks.items():
        pool = [s for s in by_name[name] if (s.chrom, s.start + 6) != (END_SITE[0], END_SITE[1])]
        for i in sorted(rng.choice(len(pool), k, replace=False)):
            s = pool[i]
            c = int(s.center)
            strand = "-" if len(out) % 2 else "+"
            out.append((s.chrom, c - 300, c + 300, f"{name}_{s.chrom}_{s.start}", strand))
    # Background: no motif within 1 kb.
    sizes = {c: n for c, n, _ in CHROMS}
    n_runs = {c: r for c, _, r in CHROMS}
    n_bg = 0
    while n_bg < 6:
        chrom = ("chr1", "chr2", "chr3")[n_bg % 3]
        c = int(rng.integers(2_000, sizes[chrom] - 2_000))
        near = any(s.chrom == chrom and abs(s.center - c) < 1_000 for s in sites)
        in_n = any(lo - 1_000 < c < hi + 1_000 for lo, hi in n_runs[chrom])
        if near or in_n:
            continue
        strand = "-" if n_bg % 2 else "+"
        out.append((chrom, c - 300, c + 300, f"background_{chrom}_{c}", strand))
        n_bg += 1
    chrom, c = END_SITE[0], END_SITE[1]
    out.append((chrom, c - 300, sizes[chrom], f"chr3_end_{c}", "+"))
    out.append(("chr1", 69_700, 70_300, "n_run_edge_chr1", "+"))
    return out


def write_regions(regions: list[tuple[str, int, int, str, str]], path: Path) -> None:
    with open(path, "w") as fh:
        for chrom, start, end, name, strand in regions:
            fh.write(f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\n")


def train(seqs: dict[str, str], sites: list[Site], steps: int, seed: int = SEED, log: bool = True):
    """Train the demo ConvModel; returns the model (CPU, eval mode)."""
    import torch

    from grelu_cli.genome.encode import one_hot
    from grelu_cli.model.models import ConvModel

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed + 2)
    kwargs = {k: v for k, v in MODEL_PARAMS.items() if k != "model_type"}
    model = ConvModel(**kwargs)
    x_all = {c: one_hot(seqs[c]) for c in TRAIN_CHROMS}
    y_all = target_tracks({c: seqs[c] for c in TRAIN_CHROMS}, sites)
    centers = [(s.chrom, int(s.center)) for s in sites if s.chrom in TRAIN_CHROMS]
    sizes = {c: len(seqs[c]) for c in TRAIN_CHROMS}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    loss_fn = torch.nn.PoissonNLLLoss(log_input=True, full=False)
    batch = 32
    t0 = time.time()
    model.train()
    for step in range(steps):
        xs, ys = [], []
        for i in range(batch):
            if i % 2 == 0:  # around a motif, anywhere in the output span
                chrom, c = centers[rng.integers(len(centers))]
                start = c - SEQ_LEN // 2 + int(rng.integers(-400, 401))
            else:
                chrom = TRAIN_CHROMS[rng.integers(len(TRAIN_CHROMS))]
                start = int(rng.integers(0, sizes[chrom] - SEQ_LEN))
            start = min(max(start, 0), sizes[chrom] - SEQ_LEN)
            x = x_all[chrom][:, start : start + SEQ_LEN]
            y = y_all[chrom][:, start + CROP : start + SEQ_LEN - CROP]
            if rng.random() < 0.5:  # reverse complement: flip bases and positions
                x, y = x[::-1, ::-1], y[:, ::-1]
            xs.append(x)
            ys.append(y)
        xb = torch.from_numpy(np.ascontiguousarray(np.stack(xs)))
        yb = torch.from_numpy(np.ascontiguousarray(np.stack(ys)))
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 200 == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.time() - t0:.0f}s", flush=True)
    model.eval()
    return model


def save_checkpoint(model, path: Path) -> None:
    from grelu_cli.zoo.checkpoint import atomic_save, build_checkpoint

    train_params = {"task": "regression", "loss": "poisson"}
    train_data = {"seq_len": SEQ_LEN, "bin_size": 1, "chroms": list(TRAIN_CHROMS)}
    ckpt = build_checkpoint(model, MODEL_PARAMS, train_params, TASKS, train_data)
    ckpt["data_params"]["test"] = {"chroms": ["chr3"]}
    atomic_save(ckpt, path, overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    parser.add_argument("--steps", type=int, default=1500, help="training steps")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # same result whatever the machine's core count
    args.out.mkdir(parents=True, exist_ok=True)
    seqs, sites = make_genome()
    write_fasta(seqs, args.out / "genome.fa")
    write_motifs(sites, args.out / "motifs.bed")
    write_regions(demo_regions(sites), args.out / "regions.bed")
    model = train(seqs, sites, args.steps)
    save_checkpoint(model, args.out / "model.ckpt")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {len(sites)} motifs, model with {n_params:,} parameters")


if __name__ == "__main__":
    main()
