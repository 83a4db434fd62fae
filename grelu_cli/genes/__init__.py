"""Gene-level answers: strand-matched, strand-collapsed tracks and per-gene statistics.

The gene annotation itself (GTF/GFF3 reader, index, bins) lives in :mod:`grelu_cli.io.readers.gtf`,
:mod:`grelu_cli.genome.genes` and :mod:`grelu_cli.genome.gene_bins`; this package turns a
window's profiles into per-gene, per-task numbers (Calico ``borzoi_sed.py``'s definitions):
:mod:`~grelu_cli.genes.strands` (which track a gene reads), :mod:`~grelu_cli.genes.stats`
(SED family), :mod:`~grelu_cli.genes.calibrate` (percentile grid, background quantiles),
:mod:`~grelu_cli.genes.predicted` (``grelu predict --genes``: gene regions, and predicted
windows reduced to one value per gene and task).
No torch at module level.
"""
