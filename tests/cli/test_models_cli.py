"""``grelu models list|info|build|download`` through the CLI: output, errors, exit codes, and a
built checkpoint whose structure is exactly what gReLU 1.1.0's loader needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.zoo import load_model
from grelu_cli.zoo.factory import ARCHITECTURES

SMALL = ["--param", "stem_channels=8", "--param", "channel_init=8", "--param", "n_conv=1"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """An empty cache and a Hub endpoint nobody listens on: these tests never use the network."""
    import socket

    import huggingface_hub.constants

    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.mark.parametrize("cmd", ["list", "info", "build", "download"])
def test_every_command_help_ends_with_examples(cmd):
    result = run("models", cmd, "--help")
    assert result.exit_code == 0
    text = result.stdout
    tail = text[text.rindex("Examples:") :]
    assert "╰" not in tail and "--help" not in tail  # after the options panel: the very end
    assert f"grelu models {cmd}" in tail


def test_list_table_and_json():
    table = run("models", "list")
    assert table.exit_code == 0
    for word in ("name", "borzoi", "enformer", "ConvModel", "524,288", "7,611", "0/8"):
        assert word in table.stdout
    rows = json.loads(run("models", "list", "--format", "json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["borzoi"]["input_bp"] == 524_288 and by_name["borzoi"]["bin_size"] == 32
    assert by_name["enformer"]["tracks"] == 5313 and by_name["enformer"]["cached"] is False
    assert by_name["ConvModel"]["kind"] == "architecture" and by_name["ConvModel"]["cached"] is None
    assert {r["name"] for r in rows} >= set(ARCHITECTURES)


def test_list_filters_and_rejects_bad_options():
    rows = json.loads(run("models", "list", "enf*", "--format", "json").stdout)
    assert [r["name"] for r in rows] == ["enformer", "EnformerModel", "EnformerPretrainedModel"]
    assert run("models", "list", "--kind", "pretrained", "--format", "json").exit_code == 0
    bad_kind = run("models", "list", "--kind", "pretrain")
    assert bad_kind.exit_code == 2 and "pretrained" in one_error_line(bad_kind)
    bad = run("models", "list", "--format", "yaml")
    assert bad.exit_code == 2 and "yaml" in one_error_line(bad)
    none = run("models", "list", "zzz-no-such")
    assert none.exit_code == 2 and "zzz-no-such" in one_error_line(none)


def test_build_info_load_round_trip(tmp_path):
    tasks = tmp_path / "tasks.tsv"
    tasks.write_text("name\tassay\tsample\nK562_DNase\tDNase\tK562\nHepG2_ATAC\tATAC\tHepG2\n")
    out = tmp_path / "model.ckpt"
    built = run(
        "models",
        "build",
        "ConvModel",
        "--tasks",
        str(tasks),
        "--seq-len",
        "200",
        "--loss",
        "poisson",
        *SMALL,
        "-o",
        str(out),
    )
    assert built.exit_code == 0, built.output
    assert "ConvModel, 2 tasks" in built.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left

    info = run("models", "info", str(out), "--tasks", "--format", "json")
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert data["model_type"] == "ConvModel" and data["seq_len"] == 200
    assert data["activation"] == "exp" and data["tasks"][1]["name"] == "HepG2_ATAC"
    assert data["tasks"][0]["assay"] == "DNase" and data["geometry"]["bin_size"] == 1
    assert len(data["sha256"]) == 64

    table = run("models", "info", str(out), "--tasks")
    assert table.exit_code == 0 and "K562_DNase" in table.stdout and "sample" in table.stdout

    lm = load_model(out)
    assert lm.task_names == ["K562_DNase", "HepG2_ATAC"] and lm.seq_len == 200
    x = torch.rand(3, 4, 200)
    with torch.no_grad():
        y = lm.activation(lm.model(x))
    assert y.shape == (3, 2, 1) and bool((y > 0).all())


def test_built_checkpoint_has_the_structure_grelu_loads(tmp_path):
    """What gReLU 1.1.0's LightningModel.load_from_checkpoint needs (checked against gReLU
    itself by tests/data/zoo/check_build_with_grelu.py): a pickle torch 2.13 loads with
    weights_only=True and no allowlist, hyper_parameters that rebuild the model, the state_dict
    of a LightningModel (``model.`` + the model's keys, nothing else), and the data_params /
    performance entries its on_load_checkpoint reads."""
    out = tmp_path / "m.ckpt"
    result = run(
        "models",
        "build",
        "DilatedConvModel",
        "--n-tasks",
        "3",
        "--seq-len",
        "512",
        "--task-type",
        "binary",
        "--param",
        "channels=8",
        "--param",
        "n_conv=2",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    ck = torch.load(out, weights_only=True)  # exactly what Lightning does on torch >= 2.6
    assert set(ck) >= {
        "state_dict",
        "hyper_parameters",
        "data_params",
        "performance",
        "pytorch-lightning_version",
        "epoch",
        "global_step",
    }
    hp = ck["hyper_parameters"]
    assert hp["model_params"] == {
        "model_type": "DilatedConvModel",
        "channels": 8,
        "n_conv": 2,
        "n_tasks": 3,
    }
    assert hp["train_params"] == {"task": "binary", "loss": "bce"}
    assert ck["data_params"]["tasks"] == {"name": ["task_0", "task_1", "task_2"]}
    assert ck["data_params"]["train"] == {"seq_len": 512, "bin_size": 1}
    assert ck["performance"] == {}
    lm = load_model(out)
    assert sorted(ck["state_dict"]) == sorted(f"model.{k}" for k in lm.model.state_dict())
    for v in ck["state_dict"].values():
        assert isinstance(v, torch.Tensor)


def test_build_refuses_to_overwrite(tmp_path):
    out = tmp_path / "m.ckpt"
    args = ["models", "build", "ConvModel", "--n-tasks", "2", *SMALL, "-o", str(out)]
    assert run(*args).exit_code == 0
    before = out.read_bytes()
    again = run(*args, "--seed", "1")
    assert again.exit_code == 2 and "--overwrite" in one_error_line(again)
    assert out.read_bytes() == before
    assert run(*args, "--seed", "1", "--overwrite").exit_code == 0
    assert out.read_bytes() != before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["NoSuchNet", "--n-tasks", "2"], "unknown architecture"),
        (["ConvModel"], "--n-tasks"),
        (["ConvModel", "--n-tasks", "2", "--param", "nonsense"], "KEY=VALUE"),
        (["ConvModel", "--n-tasks", "2", "--param", "bogus=1"], "no parameter bogus"),
        (["ConvMLPModel", "--n-tasks", "2"], "--seq-len"),
        (["ConvModel", "--n-tasks", "2", "--task-type", "ranking"], "ranking"),
        (["ConvModel", "--n-tasks", "2", "--loss", "huber"], "huber"),
        (
            ["ConvModel", "--n-tasks", "2", "--loss", "poisson", "--task-type", "binary"],
            "--loss poisson does not go with --task-type binary (gReLU 1.1.0 pairs regression: "
            "mse, poisson, poisson_multinomial; binary: bce; multiclass: ce) (pass --loss bce "
            "or leave --loss out)",
        ),
        (["ConvModel", "--n-tasks", "2", "--loss", "mse", "--task-type", "multiclass"], "ce"),
        (["ConvModel", "--n-tasks", "2", "--loss", "bce"], "--task-type regression"),
        (["ConvModel", "--n-tasks", "2", "--seed", str(2**70)], f"--seed {2**70} is out of"),
        (["ConvModel", "--n-tasks", "2", "--seed", str(2**64)], "from 0 to 2**64 - 1"),
        (["ConvModel", "--n-tasks", "2", "--seed", "-1"], "--seed -1 is out of range"),
    ],
)
def test_build_usage_errors(tmp_path, args, needle):
    result = run("models", "build", *args, "-o", str(tmp_path / "x.ckpt"))
    assert result.exit_code == 2
    assert needle in one_error_line(result)
    assert not (tmp_path / "x.ckpt").exists()


@pytest.mark.parametrize(
    ("task_type", "loss", "activation"),
    [
        ("regression", "poisson_multinomial", "exp"),
        ("binary", "BCE", "sigmoid"),
        ("multiclass", None, "softmax"),
    ],
)
def test_build_every_valid_pair_and_the_largest_seed(tmp_path, task_type, loss, activation):
    out = tmp_path / "m.ckpt"
    args = ["ConvModel", "--n-tasks", "2", "--task-type", task_type, "--seed", str(2**64 - 1)]
    args += ["--loss", loss] if loss else []
    result = run("models", "build", *args, *SMALL, "-o", str(out))
    assert result.exit_code == 0, result.output
    info = json.loads(run("models", "info", str(out), "--format", "json").stdout)
    assert info["activation"] == activation


def test_info_of_zoo_model_without_weights_does_not_download():
    result = run("models", "info", "enformer", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["input_bp"] == 196_608 and data["bin_size"] == 128 and data["tracks"] == 5313
    assert "grelu models download enformer" in data["weights"]


def test_info_of_architecture_lists_constructor_parameters():
    data = json.loads(run("models", "info", "ConvMLPModel", "--format", "json").stdout)
    assert data["parameters"]["seq_len"] == "<required>"
    assert data["parameters"]["mlp_hidden_size"] == [8]


def test_info_refuses_malicious_checkpoint_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Evil()}, path)
    result = run("models", "info", str(path))
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "system" in line and "--trust-checkpoint" in line
    assert not marker.exists()


def test_missing_path_and_unknown_name():
    missing = run("models", "info", "no/such/file.ckpt")
    assert missing.exit_code == 4 and "no local file" in one_error_line(missing)
    missing2 = run("models", "info", "/no/such/file.ckpt")
    assert missing2.exit_code == 4 and "does not exist" in one_error_line(missing2)
    unknown = run("models", "download", "borzio")
    assert unknown.exit_code == 2 and "borzoi" in one_error_line(unknown)


def test_download_all_needs_a_zoo_model():
    result = run("models", "download", "ConvModel", "--all")
    assert result.exit_code == 2
    one_error_line(result)


def test_plain_state_dict_info_with_arch(tmp_path):
    out = tmp_path / "m.ckpt"
    assert (
        run("models", "build", "ConvModel", "--n-tasks", "2", *SMALL, "-o", str(out)).exit_code == 0
    )
    sd = tmp_path / "sd.pt"
    torch.save(load_model(out).model.state_dict(), sd)
    params = ["--param", "n_tasks=2", *SMALL]
    result = run("models", "info", str(sd), "--arch", "ConvModel", *params, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model_type"] == "ConvModel"
    no_arch = run("models", "info", str(sd))
    assert no_arch.exit_code == 2 and "--arch" in one_error_line(no_arch)


def test_paths_are_reported_as_given(tmp_path):
    out = tmp_path / "sub" / "m.ckpt"
    result = run("models", "build", "ConvModel", "--n-tasks", "1", *SMALL, "-o", str(out))
    assert result.exit_code == 0 and Path(out).is_file()


@pytest.mark.parametrize(
    ("name", "code", "needle"),
    [
        ("enformer", 4, "run 'grelu models download enformer' first"),
        ("ConvModel", 2, "is an architecture, which has no tasks table"),
        ("decima", 2, "cannot be loaded by grelu-cli"),
    ],
)
def test_info_tasks_without_a_tasks_table_is_an_error(name, code, needle):
    result = run("models", "info", name, "--tasks")
    assert result.exit_code == code and result.stdout == ""
    assert needle in one_error_line(result)
    assert run("models", "info", name).exit_code == 0  # without --tasks: the registry facts


@pytest.mark.parametrize(
    ("params", "output"),
    [
        ([], "output 1 value per window (pooled over the input)"),  # final_pool_func="avg"
        (
            [
                "--param",
                "final_pool_func=null",
                "--param",
                "pool_func=max",
                "--param",
                "pool_size=2",
                "--param",
                "crop_len=5",
            ],
            "output 90 bins of 2 bp per window",  # 200 bp / 2 - 2 * 5
        ),
    ],
)
def test_build_reports_the_real_output_geometry(tmp_path, params, output):
    out = tmp_path / "m.ckpt"
    args = ["models", "build", "ConvModel", "--n-tasks", "2", "--seq-len", "200"]
    result = run(
        *args,
        "--param",
        "n_conv=2",
        "--param",
        "stem_channels=4",
        "--param",
        "channel_init=4",
        *params,
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().endswith(f"seq_len 200, {output}"), result.stderr
    lm = load_model(out)
    n_out = lm.geometry.out_len(200)
    y = lm.model(torch.zeros(1, 4, 200))
    assert y.shape[-1] == n_out == (1 if lm.geometry.pooled else 90)
