"""The gene library stays importable without torch (the run engine imports it in workers)."""

from __future__ import annotations

import subprocess
import sys


def test_gene_modules_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import grelu_cli.genes.stats, grelu_cli.genes.strands, grelu_cli.genes.calibrate\n"
        "import grelu_cli.genome.genes, grelu_cli.genome.gene_bins, grelu_cli.io.readers.gtf\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
