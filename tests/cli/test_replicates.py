"""``--replicate all`` / ``--replicate 0,1``: zoo replicate ensembles end to end.

Four tiny replicate checkpoints (same architecture, different seeds) are served as
``borzoi``'s ``human_rep{0..3}.ckpt`` by the loopback Hub of tests/zoo/fake_hub.py (never the
network). ``grelu predict`` with several replicates must equal the mean of the single-replicate
runs; ``grelu variants`` the mean of the single-replicate *scores* (and, for ``log2fc``, not
the score of the mean prediction); outputs record every replicate's file and checksum; bad
values exit 2 before anything is downloaded; ``--resume`` refuses another replicate list.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from grelu_cli import api
from grelu_cli.errors import UsageError
from grelu_cli.zoo.build import build_checkpoint_file
from grelu_cli.zoo.registry import get_record
from tests.cli.predict_helpers import (
    MODEL_PARAMS,
    SEQ_LEN,
    invoke,
    make_genome,
    metadata,
    one_error_line,
    read_fasta,
    write_bed,
)
from tests.zoo.fake_hub import FakeHub

BORZOI = get_record("borzoi")
TASKS = {"name": ["t0", "t1", "t2"]}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory) -> dict[int, bytes]:
    """Checkpoint bytes of replicates 0..3 (seeds 0..3; a Poisson model: exp activation)."""
    root = tmp_path_factory.mktemp("replicas")
    params = dict(p.split("=", 1) for p in MODEL_PARAMS)
    kwargs = {
        k: (None if v == "None" else v if not v.isdigit() else int(v)) for k, v in params.items()
    }
    out = {}
    for k in range(4):
        path = root / f"rep{k}.ckpt"
        build_checkpoint_file(
            "ConvModel",
            path,
            tasks=TASKS,
            params=kwargs,
            seq_len=SEQ_LEN,
            loss="poisson",
            seed=k,
        )
        out[k] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("repdata")
    genome = make_genome(root / "genome")
    chrom = read_fasta(genome)["chrA"]
    bed = write_bed(root / "r.bed", [("chrA", 300, 500, "a"), ("chrB", 700, 900, "b")])
    vcf = root / "v.vcf"
    rows = []
    for pos in (1201, 1555, 2101):
        ref = chrom[pos - 1].upper()
        alt = "A" if ref != "A" else "C"
        rows.append(f"chrA\t{pos}\tv{pos}\t{ref}\t{alt}\t.\t.\t.")
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    vcf.write_text(header + "\n".join(rows) + "\n")
    return {"genome": genome, "bed": bed, "vcf": vcf, "root": root}


@pytest.fixture()
def hub(tmp_path, monkeypatch, replicas):
    import huggingface_hub.constants

    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    server = FakeHub().start()
    for k, blob in replicas.items():
        server.files[(BORZOI.repo_id, f"human_rep{k}.ckpt")] = blob
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    yield server
    server.stop()


def _predict(data, out: Path, *extra: str):
    args = ["predict", "-m", "borzoi", "--bed", data["bed"], "-g", data["genome"], "-q"]
    result = invoke(*args, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    return pq.read_table(out).to_pandas()


def _variants(data, out: Path, *extra: str):
    args = ["variants", "-m", "borzoi", "--vcf", data["vcf"], "-g", data["genome"], "-q"]
    args += ["--scores", "diff,log2fc", "--pseudocount", "0.01", "--bins", "8"]
    result = invoke(*args, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    return pq.read_table(out).to_pandas()


def test_predict_averages_the_replicates_predictions(hub, data, replicas, tmp_path):
    single = [_predict(data, tmp_path / f"r{k}.parquet", "--replicate", str(k)) for k in (0, 1)]
    ens = _predict(data, tmp_path / "ens.parquet", "--replicate", "1,0", "--rc")
    ens_norc = _predict(data, tmp_path / "ens2.parquet", "--replicate", "0,1")
    a, b = (s["value"].to_numpy() for s in single)
    np.testing.assert_allclose(ens_norc["value"].to_numpy(), (a + b) / 2, rtol=2e-6, atol=1e-7)
    assert np.abs(a - b).max() > 1e-2 * np.abs(a).max()  # the replicates do differ
    for col in ("name", "chrom", "bin_start", "task"):
        assert ens_norc[col].tolist() == single[0][col].tolist()
    assert not np.allclose(ens["value"], ens_norc["value"])  # --rc still applies

    meta = metadata(tmp_path / "ens2.parquet")
    info = meta["model_info"]
    assert info["replicate"] == [0, 1] and meta["options"]["replicate"] == [0, 1]
    assert [r["file"] for r in info["replicates"]] == ["human_rep0.ckpt", "human_rep1.ckpt"]
    shas = [hashlib.sha256(replicas[k]).hexdigest() for k in (0, 1)]
    assert [r["sha256"] for r in info["replicates"]] == shas
    joined = f"{shas[0]}\n{shas[1]}\n".encode()
    assert meta["model"]["weights_sha256"] == hashlib.sha256(joined).hexdigest()
    # One replicate: the provenance is as it always was (no new key), replicate an int.
    one = metadata(tmp_path / "r1.parquet")
    assert one["model_info"]["replicate"] == 1 and "replicates" not in one["model_info"]
    assert one["options"]["replicate"] == 1 and one["model"]["weights_sha256"] == shas[1]


def test_replicate_all_is_every_replicate(hub, data, tmp_path):
    out = tmp_path / "all.parquet"
    res = invoke(
        "predict", "-m", "borzoi", "--region", "chrA:301-500", "-g", data["genome"], "-q",
        "--replicate", "all", "--aggregate", "mean", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert metadata(out)["model_info"]["replicate"] == [0, 1, 2, 3]
    singles = []
    for k in range(4):
        one = tmp_path / f"one{k}.parquet"
        res = invoke(
            "predict", "-m", "borzoi", "--region", "chrA:301-500", "-g", data["genome"], "-q",
            "--replicate", str(k), "--aggregate", "mean", "-o", one,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        singles.append(pq.read_table(one).to_pandas()["value"].to_numpy())
    got = pq.read_table(out).to_pandas()["value"].to_numpy()
    np.testing.assert_allclose(got, np.mean(singles, axis=0), rtol=2e-6)
    # The API takes the same spellings.
    assert api.job(model="borzoi", replicate="all").model.replicate == (0, 1, 2, 3)
    assert api.job(model="borzoi", replicate=[3, 1]).model.replicate == (1, 3)
    assert api.job(model="borzoi", replicate="2").model.replicate == 2
    with pytest.raises(UsageError, match="'' is not a replicate number"):
        api.job(model="borzoi", replicate="2,")


def test_variants_average_the_per_replicate_scores(hub, data, tmp_path):
    runs = [_variants(data, tmp_path / f"v{k}.parquet", "--replicate", str(k)) for k in (0, 1)]
    ens = _variants(data, tmp_path / "ens.parquet", "--replicate", "0,1")
    for col in ("pos", "alt", "task"):
        assert ens[col].tolist() == runs[0][col].tolist()
    for col in ("ref_value", "alt_value", "diff", "log2fc"):
        mean = (runs[0][col].to_numpy(np.float64) + runs[1][col].to_numpy(np.float64)) / 2
        np.testing.assert_allclose(ens[col].to_numpy(), mean, rtol=2e-6, atol=1e-7)
    # log2fc of the averaged prediction (ref/alt values are linear in the prediction, so their
    # mean is the averaged model's) is another number: the test tells the two apart.
    c = 0.01
    of_mean = np.log2((ens["alt_value"] + c) / (ens["ref_value"] + c)).to_numpy()
    assert np.abs(of_mean - ens["log2fc"].to_numpy()).max() > 1e-3
    meta = metadata(tmp_path / "ens.parquet")
    assert meta["model_info"]["replicate"] == [0, 1]
    # windows = distinct inputs x replicates
    assert meta["counts"]["windows"] == 2 * metadata(tmp_path / "v0.parquet")["counts"]["windows"]


def test_resume_refuses_another_replicate_list(hub, data, tmp_path):
    out = tmp_path / "r.parquet"
    _variants(data, out, "--replicate", "0,1", "--resume")
    again = invoke(
        "variants", "-m", "borzoi", "--vcf", data["vcf"], "-g", data["genome"], "-q",
        "--scores", "diff,log2fc", "--pseudocount", "0.01", "--bins", "8",
        "--replicate", "0,2", "--resume", "-o", out,
    )  # fmt: skip
    assert again.exit_code == 2, again.output
    assert "--replicate ([0, 1] vs now [0, 2])" in one_error_line(again)
    pout = tmp_path / "p.parquet"
    _predict(data, pout, "--replicate", "0,1", "--resume")
    res = invoke(
        "predict", "-m", "borzoi", "--bed", data["bed"], "-g", data["genome"], "-q",
        "--replicate", "1", "--resume", "-o", pout,
    )  # fmt: skip
    assert res.exit_code == 2 and "--replicate ([0, 1] vs now 1)" in one_error_line(res)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0,0", "--replicate 0,0 names replicate 0 twice"),
        ("0,9", "--replicate 0,9: model 'borzoi' has 4 replicates (0..3), no 9"),
        ("7", "--replicate 7: model 'borzoi' has 4 replicates (0..3), no 7"),
        ("0,x", "--replicate '0,x': 'x' is not a replicate number"),
        ("-1", "'-1' is not a replicate number"),
        ("", "'' is not a replicate number"),
    ],
)
def test_bad_replicate_values_exit_2_before_any_download(hub, data, tmp_path, value, shown):
    for command in ("predict", "variants"):
        src = ["--bed", data["bed"]] if command == "predict" else ["--vcf", data["vcf"]]
        res = invoke(
            command, "-m", "borzoi", *src, "-g", data["genome"], "--replicate", value,
            "-o", tmp_path / "o.parquet",
        )  # fmt: skip
        assert res.exit_code == 2, res.output
        assert shown in one_error_line(res)
    assert hub.requests == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["all", "0,1"])
def test_a_checkpoint_file_takes_no_replicate_list(data, tmp_path, replicas, value):
    ckpt = tmp_path / "m.ckpt"
    ckpt.write_bytes(replicas[0])
    res = invoke(
        "predict", "-m", ckpt, "--bed", data["bed"], "-g", data["genome"],
        "--replicate", value, "-o", tmp_path / "o.parquet",
    )  # fmt: skip
    assert res.exit_code == 2
    line = one_error_line(res)
    assert f"--replicate {value} averages the replicates of a zoo model" in line
    assert "an ensemble of checkpoint files is not supported" in line


def test_devices_workers_and_shards_merge_run_the_ensemble(hub, data, tmp_path):
    """Two CPU worker processes load the ensemble themselves; variant shards of an ensemble
    run merge into exactly the unsharded output."""
    one = _predict(data, tmp_path / "one.parquet", "--replicate", "0,2", "--device", "cpu")
    two = _predict(
        data, tmp_path / "two.parquet", "--replicate", "0,2", "--devices", "cpu,cpu",
        "--chunk-windows", "1", "--batch-size", "1",
    )  # fmt: skip
    assert two.equals(one)
    whole = _variants(data, tmp_path / "whole.parquet", "--replicate", "0,2", "-b", "2")
    shards = [tmp_path / f"s{i}.parquet" for i in range(2)]
    for i, s in enumerate(shards):
        _variants(data, s, "--replicate", "0,2", "-b", "2", "--shard", f"{i}/2")
    merged = tmp_path / "merged.parquet"
    res = invoke("merge", *shards, "-o", merged)
    assert res.exit_code == 0, res.output
    assert pq.read_table(merged).to_pandas().equals(whole)


def test_dry_runs_load_the_ensemble(hub, data, tmp_path):
    res = invoke(
        "predict", "-m", "borzoi", "--bed", data["bed"], "-g", data["genome"],
        "--replicate", "all", "--dry-run", "-o", tmp_path / "p.parquet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = invoke(
        "variants", "-m", "borzoi", "--vcf", data["vcf"], "-g", data["genome"],
        "--replicate", "1,3", "--dry-run",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    files = {p for _, p in hub.requests if p.endswith(".ckpt")}
    assert {f"human_rep{k}.ckpt" for k in range(4)} <= {p.rsplit("/", 1)[-1] for p in files}
    assert not (tmp_path / "p.parquet").exists()


def test_a_bad_replicate_list_is_refused_before_torch_is_imported():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from grelu_cli.cli import main\n"
        "sys.argv = ['grelu', 'variants', '-m', 'borzoi', '--vcf', 'v.vcf', '-g', 'g.fa',\n"
        "            '--replicate', '1,4', '-o', 'o.parquet']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 2, e.code\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "--replicate 1,4: model 'borzoi' has 4 replicates (0..3), no 4" in proc.stderr
