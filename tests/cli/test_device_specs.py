"""Issue 20: ``--device`` and ``--devices`` are checked before the model loads, with one exit
code per kind of mistake: a spec that names no device grelu-cli runs on (``tpu``, ``mps``,
``cuda:-1``) is a usage error (2); a well-formed spec naming a device this machine lacks
(``cuda:7``, ``all`` without a GPU) is a missing resource (4). On main ``cuda:7`` was 2 and
``--devices all`` 4, and both were checked only after the model load (the missing model's
exit 4 came first). The runs below name a model that does not exist: the device's message,
not the model's, proves the order."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.predict.device import check_device, parse_device
from tests.cli.predict_helpers import invoke, make_genome, one_error_line

NO_CUDA = not torch.cuda.is_available()
needs_no_cuda = pytest.mark.skipif(not NO_CUDA, reason="checks 'does not exist' on a CPU host")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> list[str | Path]:
    root = tmp_path_factory.mktemp("devices")
    bed = root / "r.bed"
    bed.write_text("chrA\t100\t300\n")
    genome = make_genome(root / "genome")
    return ["-m", root / "missing.ckpt", "--bed", bed, "-g", genome, "-o", root / "p.parquet"]


@pytest.mark.parametrize("spec", ["tpu", "mps", "cuda:-1", "cuda:x", "cuda:", "gpu0"])
def test_malformed_specs_are_usage_errors(spec):
    with pytest.raises(UsageError) as err:
        parse_device(spec)
    assert err.value.exit_code == 2 and f"--device {spec!r} is not auto, cpu" in str(err.value)


def test_well_formed_specs_parse_without_torch():
    assert parse_device("auto") == ("auto", None)
    assert parse_device(" CPU ") == ("cpu", None)
    assert parse_device("cuda") == ("cuda", 0)
    assert parse_device("cuda:7") == ("cuda", 7)


@needs_no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:7"])
def test_absent_devices_are_missing_resources(spec):
    with pytest.raises(MissingResourceError) as err:
        check_device(spec)
    assert err.value.exit_code == 4 and "does not exist here" in str(err.value)


@pytest.mark.parametrize("command", ["run", "dry-run"])
@pytest.mark.parametrize(
    ("option", "spec", "code"),
    [
        ("--device", "tpu", 2),
        ("--device", "mps", 2),
        ("--device", "cuda:-1", 2),
        ("--devices", "tpu", 2),
        ("--devices", "cuda:-1", 2),
        pytest.param("--device", "cuda", 4, marks=needs_no_cuda),
        pytest.param("--device", "cuda:0", 4, marks=needs_no_cuda),
        ("--device", "cuda:99", 4),  # absent on any machine
        pytest.param("--device", "cuda:7", 4, marks=needs_no_cuda),
        pytest.param("--devices", "all", 4, marks=needs_no_cuda),
        pytest.param("--devices", "cuda:0,cuda:7", 4, marks=needs_no_cuda),
    ],
)
def test_device_specs_are_checked_before_the_model_loads(base, command, option, spec, code):
    extra = ["--dry-run"] if command == "dry-run" else []
    result = invoke("predict", *base, option, spec, *extra)
    line = one_error_line(result)
    assert result.exit_code == code, line
    assert line.startswith(f"error: {option}") and spec in line, line
    if code == 4:
        assert "does not exist here" in line or "no CUDA device is visible" in line, line
    assert "missing.ckpt" not in line  # the device is checked first
