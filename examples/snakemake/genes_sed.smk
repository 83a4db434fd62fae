# Variant effects on genes (SED), included by the Snakefile with --config sed=1:
#
#   snakemake -s examples/snakemake/Snakefile --cores 2 --config sed=1 -- sed
#
# One row per variant allele x gene (every gene with an exon bin in the output span) x task,
# with Calico's borzoi_sed.py statistics (--gene-stats; SED and logSED by default).
GENE_STATS = config.get("gene_stats", "SED,logSED")


rule sed:
    """Score every ALT allele of VCF on the genes of GENES (grelu variants --genes)."""
    input:
        model=MODEL_INPUT,
        vcf=VCF,
        genes=GENES,
        genome=GENOME,
    output:
        f"{OUTDIR}/sed.parquet",
    log:
        f"{OUTDIR}/logs/sed.jsonl",
    params:
        grelu=GRELU,
        model=MODEL,
        stats=GENE_STATS,
        device=DEVICE,
        extra=VARIANTS_EXTRA,
    threads: 4
    resources:
        gpu=GPUS,
        mem_mb=16000,
        runtime=240,
    shell:
        "{params.grelu} variants --model {params.model} --vcf {input.vcf} "
        "--genes {input.genes} --genome {input.genome} --gene-stats {params.stats} "
        "-o {output} --device {params.device} --log-format json {params.extra} 2> {log}"
