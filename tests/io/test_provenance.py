"""Provenance records: JSON-serialisable, with checksums of model and genome index."""

from __future__ import annotations

import json
import math
from enum import Enum

import numpy as np

from grelu_cli.io.formats.provenance import build_provenance, jsonable, sha256_file, to_json


class Color(Enum):
    RED = "red"


def test_provenance_is_json(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"weights")
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGT\n")
    (tmp_path / "g.fa.fai").write_text("chr1\t4\t6\t4\t5\n")
    record = build_provenance(
        model_path=ckpt,
        genome=genome,
        options={"p": tmp_path, "c": Color.RED, "n": np.int64(3), "f": math.nan, "s": {2, 1}},
        counts={"windows": np.int32(2)},
        tasks=["a"],
        extra={"torch": "2.13.0"},
    )
    back = json.loads(to_json(record))
    assert back["model"] == {
        "name": None,
        "path": str(ckpt),
        "file": "model.ckpt",
        "weights_sha256": sha256_file(ckpt),
    }
    assert back["genome"]["index_sha256"] == sha256_file(tmp_path / "g.fa.fai")
    assert back["options"] == {"p": str(tmp_path), "c": "red", "n": 3, "f": "nan", "s": [1, 2]}
    assert back["counts"] == {"windows": 2} and back["tasks"] == ["a"]
    assert back["torch"] == "2.13.0" and back["tool"] == "grelu-cli"
    assert jsonable(np.arange(3, dtype=np.float32)) == [0.0, 1.0, 2.0]


def test_provenance_without_index_or_model_file(tmp_path):
    record = build_provenance(model="demo", model_path=None, genome=tmp_path / "g.fa")
    assert record["genome"]["index_sha256"] is None
    assert record["model"] == {"name": "demo", "weights_sha256": None}
