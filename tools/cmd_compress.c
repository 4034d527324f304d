/* cmd_compress.c - `tessel compress MODEL.onnx -o OUT.onnx [--report R.json]
 * [--emit-packed FILE] [PASS FLAGS]`.
 *
 * Imports the model, runs the canonicalization and compression pipeline of
 * the PASS FLAGS (pass_flags.h), writes a standard ONNX model whose weights
 * are the compressed ones decoded back to f32 (the exporter decodes every
 * encoding), and optionally the packed container and a JSON report:
 *   compression_rate      original f32 bits / stored bits over the
 *                         compressible weights, stored bits counted by
 *                         tsl_const_stored_bits (indices, masks, codebooks,
 *                         scales; uncompressed layers at 32 bits)
 *   packed_compression_rate  the same original bits / 8 * container bytes
 *   weight_bits, original_weight_bits, packed_bytes
 *   layers: [{name, op, n_weights, sparsity, bits, step, stored_bits}]
 * Every file is written atomically.  Errors: one line, exit 1; usage errors
 * exit 2.  The passes, exporter and container live in their libraries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_io.h"
#include "pass_flags.h"
#include "tessel/onnx.h"
#include "tessel/packed.h"
#include "tessel/util.h"

static const struct tsl_cli_opt compress_opts[] = {
    {.long_name = "output", .short_name = 'o', .takes_value = true, .metavar = "OUT.onnx",
     .help = "write the compressed model (weights decoded to f32) here"},
    {.long_name = "report", .takes_value = true, .metavar = "R.json",
     .help = "write the compression report (rate, per-layer sparsity, bits, step)"},
    {.long_name = "emit-packed", .takes_value = true, .metavar = "FILE",
     .help = "write the packed container (bit-packed indices, codebooks, scales, patterns)"},
    TSL_CLI_PASS_FLAG_OPTS,
};

static const struct tsl_cli_spec compress_spec = {
    .command = "compress",
    .usage = "tessel compress MODEL.onnx -o OUT.onnx [--report R.json] [--emit-packed FILE] "
             "[--prune S[,KIND]] [--codebook BITS] [--opq RATE] [PASS FLAGS]",
    .summary = "Prune and/or quantize the weights of a model; write standard ONNX.",
    .opts = compress_opts,
    .n_opts = TSL_ARRAY_LEN(compress_opts),
    .min_positional = 1,
    .max_positional = 1,
    .positional_name = "MODEL.onnx",
};

/* Exact integer as a raw JSON number. */
static bool add_i64(cJSON *obj, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

struct totals {
    int64_t orig, stored;
    double rate, packed_rate;
    uint32_t n_compressed;
};

/* The report: one row per layer the compression passes reported (every
 * compressible weight, skipped ones included), stored bits re-read from the
 * final graph.  NULL on OOM. */
static char *build_report(const struct tsl_graph *g, const struct tsl_pass_context *ctx,
                          const char *model, size_t packed_bytes, struct totals *t)
{
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray();
    char *text = NULL;
    memset(t, 0, sizeof *t);
    if (!root || !layers)
        goto out;
    /* rows in node order of their layers, then any the graph no longer has */
    uint32_t *order = calloc(ctx->n_layers ? ctx->n_layers : 1, sizeof *order), n_order = 0;
    bool *done = calloc(ctx->n_layers ? ctx->n_layers : 1, sizeof *done);
    if (!order || !done) {
        free(order);
        free(done);
        goto out;
    }
    for (const struct tsl_node *nd = g->first; nd; nd = nd->next)
        for (uint32_t i = 0; nd->n_inputs > 1 && nd->inputs[1] && i < ctx->n_layers; i++)
            if (!done[i] && !strcmp(ctx->layers[i].name, nd->inputs[1]->name)) {
                done[i] = true;
                order[n_order++] = i;
            }
    for (uint32_t i = 0; i < ctx->n_layers; i++)
        if (!done[i])
            order[n_order++] = i;
    free(done);
    for (uint32_t k = 0; k < n_order; k++) {
        const struct tsl_layer_report *r = &ctx->layers[order[k]];
        const struct tsl_value *v = tsl_graph_find_value(g, r->name);
        int64_t sb = v ? tsl_const_stored_bits(v) : r->stored_bits;
        bool compressed = r->bits < 32 || r->sparsity > 0;
        t->orig += r->original_bits;
        t->stored += sb;
        t->n_compressed += compressed;
        cJSON *l = cJSON_CreateObject();
        if (!l) {
            free(order);
            goto out;
        }
        cJSON_AddItemToArray(layers, l);
        cJSON_AddStringToObject(l, "name", r->name);
        cJSON_AddStringToObject(l, "op", r->op);
        add_i64(l, "n_weights", r->n_weights);
        cJSON_AddNumberToObject(l, "sparsity", r->sparsity);
        add_i64(l, "bits", r->bits);
        cJSON_AddNumberToObject(l, "step", r->step);
        add_i64(l, "stored_bits", sb);
        cJSON_AddBoolToObject(l, "compressed", compressed);
    }
    free(order);
    t->rate = t->stored ? (double)t->orig / (double)t->stored : 0.0;
    t->packed_rate = packed_bytes ? (double)t->orig / (8.0 * (double)packed_bytes) : 0.0;
    cJSON_AddStringToObject(root, "model", model);
    cJSON_AddNumberToObject(root, "compression_rate", t->rate);
    add_i64(root, "weight_bits", t->stored);
    add_i64(root, "original_weight_bits", t->orig);
    add_i64(root, "packed_bytes", (int64_t)packed_bytes);
    cJSON_AddNumberToObject(root, "packed_compression_rate", t->packed_rate);
    cJSON_AddItemToObject(root, "layers", layers);
    layers = NULL;
    text = cJSON_Print(root);
out:
    cJSON_Delete(layers);
    cJSON_Delete(root);
    return text;
}

int tsl_cmd_compress(int argc, char **argv)
{
    struct tsl_cli_args args;
    int code;
    if (!tsl_cli_parse(&compress_spec, argc, argv, &args, &code)) {
        tsl_cli_args_fini(&args);
        return code;
    }
    struct tsl_cli_pass_flags pf;
    const char *model = args.positional[0], *out = tsl_cli_value(&args, "output");
    const char *report = tsl_cli_value(&args, "report"), *packed = tsl_cli_value(&args, "emit-packed");
    code = tsl_cli_pass_flags_get(&args, &pf);
    if (code == TSL_EXIT_OK && !out)
        code = tsl_cli_usage_error(compress_spec.usage, "compress: missing -o OUT.onnx");
    else if (code == TSL_EXIT_OK && !tsl_cli_pass_flags_compress(&pf) && !pf.passes)
        code = tsl_cli_usage_error(compress_spec.usage,
                                   "compress: nothing to do (give --prune, --codebook or --opq)");
    if (code != TSL_EXIT_OK) {
        tsl_cli_args_fini(&args);
        return code;
    }
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_graph *g = NULL;
    struct tsl_pass_context ctx;
    bool have_ctx = false;
    uint8_t *pbuf = NULL;
    size_t plen = 0;
    char *json = NULL;
    int rc = TSL_EXIT_FAIL;
    enum tsl_status st = tsl_onnx_import_file(model, NULL, &g, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, model, st);
        goto done;
    }
    have_ctx = true;
    if (!tsl_cli_pass_flags_run(&pf, g, &ctx, model))
        goto done;
    st = tsl_packed_write(g, &pbuf, &plen, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, model, st);
        goto done;
    }
    struct totals t;
    json = build_report(g, &ctx, model, plen, &t);
    if (!json) {
        tsl_cli_error(model, "out of memory");
        goto done;
    }
    st = tsl_onnx_export_file(g, out, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, out, st);
        goto done;
    }
    if (packed && !tsl_cli_write_file_atomic(packed, pbuf, plen))
        goto done;
    if (report && !tsl_cli_write_file_atomic(report, json, strlen(json)))
        goto done;
    printf("%s: %u weight layers, %u compressed, compression rate %.2fx (packed %.2fx)\n", out,
           ctx.n_layers, t.n_compressed, t.rate, t.packed_rate);
    rc = TSL_EXIT_OK;
done:
    if (have_ctx)
        tsl_pass_context_fini(&ctx);
    free(pbuf);
    free(json);
    if (g)
        tsl_graph_destroy(g);
    tsl_diag_fini(&diag);
    tsl_cli_args_fini(&args);
    return rc;
}
