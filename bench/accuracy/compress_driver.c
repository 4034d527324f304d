/* compress_driver.c - a small stand-alone driver for the accuracy harness:
 * imports an ONNX model, runs the canonicalization pipeline and one
 * compression pass (opq, prune or codebook) with the given option, exports
 * the result (weights decoded to dense f32, so any runtime can score it) and
 * prints one JSON line with the achieved compression rate and per-layer
 * rows.  It is the stand-in for `tessel compress` in bench/accuracy/run.sh
 * and is not part of the tessel build or test run.
 *
 * usage: compress_driver IN.onnx OUT.onnx (--opq R | --prune S | --codebook B)
 *                        [--no-keep-first-last] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/onnx.h"
#include "tessel/passes.h"

static int die(struct tsl_diag *d, const char *what)
{
    for (size_t i = 0; i < d->n_entries; i++)
        if (d->entries[i].severity == TSL_SEV_ERROR)
            fprintf(stderr, "compress_driver: error: %s: %s\n", d->entries[i].where,
                    d->entries[i].message);
    fprintf(stderr, "compress_driver: %s failed\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s IN.onnx OUT.onnx (--opq R | --prune S | --codebook B) "
                        "[--no-keep-first-last]\n", argv[0]);
        return 2;
    }
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    tsl_pass_context_init(&ctx, &d);
    ctx.compress.keep_first_last = true;
    const char *pass = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--no-keep-first-last")) {
            ctx.compress.keep_first_last = false;
        } else if (i + 1 < argc && !strcmp(argv[i], "--opq")) {
            pass = "opq";
            ctx.compress.opq_rate = atof(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--prune")) {
            pass = "prune";
            ctx.compress.prune_sparsity = atof(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--codebook")) {
            pass = "codebook";
            ctx.compress.codebook_bits = atoi(argv[++i]);
        } else {
            fprintf(stderr, "compress_driver: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!pass)
        return 2;
    struct tsl_graph *g;
    if (tsl_onnx_import_file(argv[1], NULL, &g, &d) != TSL_STATUS_OK)
        return die(&d, "import");
    char pipeline[256];
    snprintf(pipeline, sizeof pipeline, "%s,%s,dce", TSL_PIPELINE_CANONICALIZE, pass);
    int rc = 0;
    if (tsl_pass_run_pipeline(g, pipeline, &ctx) != TSL_STATUS_OK)
        rc = die(&d, pass);
    else if (tsl_onnx_export_file(g, argv[2], &d) != TSL_STATUS_OK)
        rc = die(&d, "export");
    if (rc == 0) {
        long long orig = 0, stored = 0;
        for (uint32_t i = 0; i < ctx.n_layers; i++) {
            orig += ctx.layers[i].original_bits;
            stored += ctx.layers[i].stored_bits;
        }
        printf("{\"pass\": \"%s\", \"compression_rate\": %.4f, \"weight_bits\": %lld, "
               "\"original_weight_bits\": %lld, \"layers\": [",
               pass, stored ? (double)orig / (double)stored : 0.0, stored, orig);
        for (uint32_t i = 0; i < ctx.n_layers; i++)
            printf("%s{\"name\": \"%s\", \"op\": \"%s\", \"n\": %lld, \"sparsity\": %.4f, "
                   "\"bits\": %d, \"step\": %.6g, \"stored_bits\": %lld}",
                   i ? ", " : "", ctx.layers[i].name, ctx.layers[i].op,
                   (long long)ctx.layers[i].n_weights, ctx.layers[i].sparsity,
                   ctx.layers[i].bits, ctx.layers[i].step,
                   (long long)ctx.layers[i].stored_bits);
        printf("]}\n");
    }
    tsl_graph_destroy(g);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
    return rc;
}
