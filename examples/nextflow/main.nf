#!/usr/bin/env nextflow
// grelu-cli in Nextflow (DSL2): the same workflow as examples/snakemake/Snakefile.
// Scatter the regions over N shards, predict each shard on a GPU (label 'gpu', see
// nextflow.config), gather with `grelu merge` into what one unsharded run writes.
//
//   nextflow run examples/nextflow/main.nf                              # the shipped demo
//   nextflow run examples/nextflow/main.nf --shards 8 --format bigwig \
//       --model borzoi --bed peaks.bed --genome hg38.fa --outdir results -profile slurm
//
//   nextflow run examples/nextflow/main.nf --format zarr --outdir /shared/results  # one store
//
// --format zarr: every shard task writes its windows into the one store OUTDIR/preds.zarr
// (an absolute path all tasks see, outside Nextflow's per-task work directories), and
// `grelu merge OUTDIR/preds.zarr` finalizes it; the tasks pass done flags, not files.
//
// Shard tasks pass --resume (it costs nothing when there is nothing to resume); note that
// Nextflow runs a retried task in a fresh work directory, so there a shard starts over.
// Logs are JSON lines (one event per line). Exit codes: 2 usage, 3 bad input, 4 missing
// file or model, 5 out of GPU memory, 1 internal; 130/137/143 (killed) are retried.

nextflow.enable.dsl = 2

params.model  = "${projectDir}/../demo/model.ckpt"   // checkpoint file or zoo name
params.bed    = "${projectDir}/../demo/regions.bed"
params.genome = "${projectDir}/../demo/genome.fa"
params.shards = 4
params.format = 'parquet'                               // parquet, bigwig or zarr
params.outdir = 'results'
params.device = 'auto'
params.extra  = ''                                      // more `grelu predict` options
params.grelu  = 'grelu'
params.store  = ''                                      // zarr: default OUTDIR/preds.zarr

// The zarr store is shared by every shard task: an absolute path, not a task's work dir.
def storePath() {
    params.store ?: "${file(params.outdir).toAbsolutePath()}/preds.zarr"
}

process PREDICT_SHARD {
    label 'gpu'
    tag "shard ${i}/${params.shards}"

    input:
    tuple val(i), path(bed), path(genome)

    output:
    path "shard-${i}-of-${params.shards}.parquet", emit: shard
    path "predict-${i}-of-${params.shards}.jsonl", emit: log

    script:
    """
    ${params.grelu} predict --model ${params.model} --bed ${bed} --genome ${genome} \\
        --shard ${i}/${params.shards} --format ${params.format} \\
        -o shard-${i}-of-${params.shards}.parquet --resume --device ${params.device} \\
        --log-format json ${params.extra} 2> predict-${i}-of-${params.shards}.jsonl
    """
}

process MERGE {
    publishDir params.outdir, mode: 'copy'

    input:
    path shards

    output:
    path params.format == 'parquet' ? 'preds.parquet' : 'tracks'
    path 'merge.jsonl'

    script:
    def out = params.format == 'parquet' ? 'preds.parquet' : 'tracks/'
    """
    ${params.grelu} merge ${shards} -o ${out} --log-format json 2> merge.jsonl
    """
}

process PREDICT_SHARD_ZARR {
    label 'gpu'
    tag "shard ${i}/${params.shards}"

    input:
    tuple val(i), path(bed), path(genome)

    output:
    path "shard-${i}-of-${params.shards}.done", emit: done
    path "predict-${i}-of-${params.shards}.jsonl", emit: log

    script:
    def store = storePath()
    """
    ${params.grelu} predict --model ${params.model} --bed ${bed} --genome ${genome} \\
        --shard ${i}/${params.shards} --format zarr -o ${store} --resume \\
        --device ${params.device} --log-format json ${params.extra} \\
        2> predict-${i}-of-${params.shards}.jsonl
    touch shard-${i}-of-${params.shards}.done
    """
}

process MERGE_ZARR {
    publishDir params.outdir, mode: 'copy'

    input:
    path done

    output:
    path 'merge.jsonl'

    script:
    def store = storePath()
    """
    ${params.grelu} merge ${store} --log-format json 2> merge.jsonl
    """
}

workflow {
    shards = Channel.of(0..<params.shards)
        .map { i -> tuple(i, file(params.bed), file(params.genome)) }
    if (params.format == 'zarr') {
        PREDICT_SHARD_ZARR(shards)
        MERGE_ZARR(PREDICT_SHARD_ZARR.out.done.collect())
    } else {
        PREDICT_SHARD(shards)
        MERGE(PREDICT_SHARD.out.shard.collect())
    }
}
