/* codebook.c - per-layer codebook quantization of the compressible weights
 * (`codebook`), OPQ's "unified channel-wise" scheme: one codebook per layer
 * shared by all of its output channels, after per-channel normalization.
 *
 * Reads ctx->compress: codebook_bits B (1..8), codebook_kmeans,
 * keep_first_last.  For each weight that is not skipped:
 *   1. s[c] = max |w| over the kept entries of output channel c (1 for an
 *      all-zero channel), stored as channel_scale along the output-channel
 *      axis (Conv 0, ConvTranspose 1, Gemm transB ? 0 : 1, MatMul last).
 *      max rather than std: every normalized weight lies in [-1, 1], so the
 *      uniform codebook's clip range is exactly [-1, 1] and nothing clips.
 *   2. codebook of 2^B codes in the normalized domain:
 *      uniform  for a pruned (masked) layer: sign-magnitude, ±step·{1..K},
 *               K = 2^(B-1), step = 1/K, no zero code — the mask codes
 *               zero (OPQ's quantizer sign·Δ·clip(round(|w|/Δ), 1, K));
 *               for an unpruned layer: mid-tread, step·{-(K-1)..K-1}
 *               with step = 1/(K-1), so near-zero weights stay 0; at
 *               B = 1, ±mean|w| (the least-squares binary quantizer);
 *      k-means  Lloyd on the kept normalized weights, initialized with the
 *               uniform codebook (linear init), 20 iterations or until no code
 *               moves; step reported as 0.
 *   3. each kept weight gets the index of its nearest code; pruned entries
 *      (mask of a MASKED or CODEBOOK payload) keep their mask bit clear and
 *      index 0, so they decode to 0.
 * The payload becomes TSL_ENC_CODEBOOK; one layer report per weight (its
 * sparsity is the pruned fraction carried over).  Does not prune. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress_common.h"
#include "tessel/util.h"

enum { KMEANS_ITERS = 20 };

static enum tsl_status quantize(struct tsl_graph *g, struct tsl_cweight *w,
                                struct tsl_pass_context *ctx)
{
    const int bits = ctx->compress.codebook_bits;
    const uint32_t n_codes = 1u << bits;
    float *vals, *x = NULL;
    uint8_t *mask;
    TSL_TRY(tsl_cw_load(w, &vals, &mask, ctx->diag));
    struct tsl_const *c = tsl_const_new();
    int64_t nkept = 0, ib = (w->numel * bits + 7) / 8;
    enum tsl_status st = TSL_STATUS_OK;
    if (c) {
        c->encoding = TSL_ENC_CODEBOOK;
        c->codebook = malloc(n_codes * sizeof(float));
        c->channel_scale = malloc((size_t)w->n_ch * sizeof(float));
        c->indices = calloc((size_t)ib, 1);
        x = malloc((size_t)w->numel * sizeof *x);
    }
    if (!c || !c->codebook || !c->channel_scale || !c->indices || !x) {
        st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, w->value->name, "out of memory");
        goto out;
    }
    c->n_codes = n_codes;
    c->index_bits = (uint8_t)bits;
    c->coding = (uint8_t)ctx->compress.index_coding;
    c->indices_bytes = (size_t)ib;
    c->axis = w->ch_axis;
    c->n_channels = (uint32_t)w->n_ch;
    tsl_cw_channel_max_scales(w, vals, mask, c->channel_scale);
    for (int64_t i = 0; i < w->numel; i++)
        if (!mask || tsl_bit_get(mask, i))
            x[nkept++] = vals[i] / c->channel_scale[tsl_cw_channel(w, i)];
    double step;
    if (mask) {
        step = 1.0 / (double)(n_codes / 2);
        tsl_cw_uniform_codebook(bits, step, c->codebook);
    } else if (bits >= 2) {
        step = tsl_cw_midtread_codebook(bits, c->codebook);
    } else {
        double sum = 0;
        for (int64_t i = 0; i < nkept; i++)
            sum += fabs(x[i]);
        step = nkept ? sum / (double)nkept : 1.0;
        tsl_cw_uniform_codebook(bits, step, c->codebook);
    }
    if (ctx->compress.codebook_kmeans) {
        step = 0.0;
        if (tsl_cw_kmeans(x, nkept, c->codebook, n_codes, KMEANS_ITERS) != TSL_STATUS_OK) {
            st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, w->value->name, "out of memory");
            goto out;
        }
    }
    for (int64_t i = 0, k = 0; i < w->numel; i++)
        if (!mask || tsl_bit_get(mask, i))
            tsl_bits_write(c->indices, i, (unsigned)bits,
                           tsl_cw_nearest(c->codebook, n_codes, x[k++]));
    if (mask) {
        c->mask = mask;
        c->mask_bytes = (size_t)tsl_bitset_bytes(w->numel);
        mask = NULL;
    }
    st = tsl_cw_replace(g, w, c, ctx->diag);
    c = NULL;
    if (st == TSL_STATUS_OK) {
        struct tsl_layer_report r = {
            .name = w->value->name,
            .op = (char *)tsl_op_name(w->node->op),
            .n_weights = w->numel,
            .sparsity = (double)(w->numel - nkept) / (double)w->numel,
            .bits = bits,
            .step = step,
            .original_bits = 32 * w->numel,
            .stored_bits = tsl_const_stored_bits(w->value),
        };
        st = tsl_pass_report_layer(ctx, &r);
        ctx->n_changed++;
    }
out:
    tsl_const_free(c);
    free(vals);
    free(mask);
    free(x);
    return st;
}

enum tsl_status tsl_pass_codebook(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    int bits = ctx->compress.codebook_bits;
    if (bits < 1 || bits > 8)
        return tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, "codebook",
                              "%d bits outside 1..8", bits);
    struct tsl_cweights ws;
    TSL_TRY(tsl_cw_find(g, &ws, ctx->diag));
    enum tsl_status st = TSL_STATUS_OK;
    if (tsl_cw_count_active(&ws, &ctx->compress) == 0)
        st = tsl_cw_none_error(&ws, "codebook", ctx->diag);
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < ws.n; i++)
        if (!tsl_cw_skip(&ws.w[i], &ctx->compress))
            st = quantize(g, &ws.w[i], ctx);
    if (st == TSL_STATUS_OK)
        st = tsl_cw_report_skipped(&ws, ctx);
    tsl_cw_fini(&ws);
    return st;
}
