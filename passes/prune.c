/* prune.c - magnitude pruning of the compressible weights (`prune`).
 *
 * Reads ctx->compress: prune_sparsity S in [0,1), prune_kind, prune_per_layer,
 * keep_first_last.  Every weight that is not skipped gets a TSL_ENC_MASKED
 * payload (pruned entries stored as 0, mask bit clear); entries an earlier
 * pass already pruned stay pruned.
 *   unstructured  exactly round(S * N) weights are pruned, N = the number of
 *                 weights of the pruned layers: the smallest magnitudes over
 *                 all of them (one global threshold), or round(S * N_i) per
 *                 layer with prune_per_layer.  Ties at the threshold are
 *                 broken by layer order, then element order.
 *   channel       whole output channels by L2 norm.  Global: channels of all
 *                 layers ranked by RMS (L2 / sqrt(size), comparable across
 *                 layers), pruned in ascending order while the pruned count
 *                 stays <= round(S * N); per layer: round(S * C_i) lowest-L2
 *                 channels.  Every layer keeps at least one channel.
 *   2:4           in every group of 4 consecutive weights along the input
 *                 axis the 2 largest magnitudes are kept (ties: lower
 *                 index); a tail group of 3 keeps 2, of 1-2 keeps all.  The
 *                 sparsity is the pattern's (0.5 when the input dim is a
 *                 multiple of 4); S must be 0.5 (or 0, meaning "pattern").
 * Appends one layer report per pruned weight.  Does not quantize. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress_common.h"
#include "tessel/util.h"

struct layer {
    struct tsl_cweight *w;
    float *vals;
    uint8_t *mask; /* keep bits (always allocated here) */
    uint8_t *cut;  /* channel pruning: n_ch flags */
};

static void layers_free(struct layer *ls, uint32_t n)
{
    for (uint32_t i = 0; ls && i < n; i++) {
        free(ls[i].vals);
        free(ls[i].mask);
        free(ls[i].cut);
    }
    free(ls);
}

static enum tsl_status load_layer(struct layer *l, struct tsl_diag *diag)
{
    TSL_TRY(tsl_cw_load(l->w, &l->vals, &l->mask, diag));
    if (!l->mask) {
        int64_t mb = tsl_bitset_bytes(l->w->numel);
        l->mask = malloc((size_t)mb);
        if (!l->mask)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, l->w->value->name, "out of memory");
        memset(l->mask, 0xff, (size_t)mb);
    }
    return TSL_STATUS_OK;
}

static float mag(const struct layer *l, int64_t i)
{
    return tsl_bit_get(l->mask, i) ? tsl_cw_magnitude(l->vals[i]) : 0.0f;
}

/* Prune exactly k of the entries of layers ls[0..n) by magnitude. */
static enum tsl_status prune_smallest(struct layer *ls, uint32_t n, int64_t k,
                                      struct tsl_diag *diag)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += ls[i].w->numel;
    if (k <= 0 || total == 0)
        return TSL_STATUS_OK;
    float *all = malloc((size_t)total * sizeof *all);
    if (!all)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, "prune", "out of memory");
    int64_t p = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int64_t e = 0; e < ls[i].w->numel; e++)
            all[p++] = mag(&ls[i], e);
    float t = tsl_cw_kth_smallest(all, total, k - 1);
    free(all);
    int64_t below = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int64_t e = 0; e < ls[i].w->numel; e++)
            below += mag(&ls[i], e) < t;
    int64_t at_t = k - below; /* entries equal to t still to prune */
    for (uint32_t i = 0; i < n; i++)
        for (int64_t e = 0; e < ls[i].w->numel; e++) {
            float m = mag(&ls[i], e);
            if (m < t || (m == t && at_t-- > 0))
                tsl_bit_put(ls[i].mask, e, false);
        }
    return TSL_STATUS_OK;
}

struct chan {
    double score;
    uint32_t layer;
    int64_t ch, size;
};

static int cmp_chan(const void *a, const void *b)
{
    const struct chan *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    if (x->layer != y->layer)
        return x->layer < y->layer ? -1 : 1;
    return (x->ch > y->ch) - (x->ch < y->ch);
}

static void apply_cuts(struct layer *l)
{
    for (int64_t e = 0; e < l->w->numel; e++)
        if (l->cut[tsl_cw_channel(l->w, e)])
            tsl_bit_put(l->mask, e, false);
}

/* Channel pruning over ls[0..n): global (one ranking) or per layer. */
static enum tsl_status prune_channels(struct layer *ls, uint32_t n, double s, bool per_layer,
                                      struct tsl_diag *diag)
{
    int64_t nch = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        nch += ls[i].w->n_ch;
        total += ls[i].w->numel;
        ls[i].cut = calloc((size_t)ls[i].w->n_ch, 1);
        if (!ls[i].cut)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, "prune", "out of memory");
    }
    struct chan *cs = calloc((size_t)(nch ? nch : 1), sizeof *cs);
    int64_t *left = calloc(n ? n : 1, sizeof *left);
    if (!cs || !left) {
        free(cs);
        free(left);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, "prune", "out of memory");
    }
    int64_t q = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct tsl_cweight *w = ls[i].w;
        struct chan *c0 = cs + q;
        for (int64_t c = 0; c < w->n_ch; c++)
            c0[c] = (struct chan){0.0, i, c, w->numel / w->n_ch};
        for (int64_t e = 0; e < w->numel; e++) {
            double m = mag(&ls[i], e);
            c0[tsl_cw_channel(w, e)].score += m * m;
        }
        for (int64_t c = 0; c < w->n_ch; c++)
            c0[c].score = per_layer ? sqrt(c0[c].score)
                                    : sqrt(c0[c].score / (double)(c0[c].size ? c0[c].size : 1));
        left[i] = w->n_ch;
        if (per_layer) {
            qsort(c0, (size_t)w->n_ch, sizeof *cs, cmp_chan);
            int64_t k = llround(s * (double)w->n_ch);
            if (k >= w->n_ch)
                k = w->n_ch - 1;
            for (int64_t c = 0; c < k; c++)
                ls[i].cut[c0[c].ch] = 1;
        }
        q += w->n_ch;
    }
    if (!per_layer) {
        qsort(cs, (size_t)nch, sizeof *cs, cmp_chan);
        int64_t budget = llround(s * (double)total), pruned = 0;
        for (int64_t c = 0; c < nch; c++) {
            if (pruned + cs[c].size > budget || left[cs[c].layer] <= 1)
                continue;
            ls[cs[c].layer].cut[cs[c].ch] = 1;
            left[cs[c].layer]--;
            pruned += cs[c].size;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        apply_cuts(&ls[i]);
    free(cs);
    free(left);
    return TSL_STATUS_OK;
}

/* 2:4 along the input axis. */
static void prune_2_4(struct layer *l)
{
    const struct tsl_cweight *w = l->w;
    int64_t outer = w->numel / (w->in_dim * w->in_stride);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < w->in_stride; s++)
            for (int64_t j0 = 0; j0 < w->in_dim; j0 += 4) {
                int64_t m = w->in_dim - j0 < 4 ? w->in_dim - j0 : 4, idx[4];
                if (m <= 2)
                    continue;
                for (int64_t j = 0; j < m; j++)
                    idx[j] = (o * w->in_dim + j0 + j) * w->in_stride + s;
                /* keep the 2 largest (ties: lower index), prune the rest */
                int64_t best = 0, second = -1;
                for (int64_t j = 1; j < m; j++) {
                    if (mag(l, idx[j]) > mag(l, idx[best])) {
                        second = best;
                        best = j;
                    } else if (second < 0 || mag(l, idx[j]) > mag(l, idx[second])) {
                        second = j;
                    }
                }
                for (int64_t j = 0; j < m; j++)
                    if (j != best && j != second)
                        tsl_bit_put(l->mask, idx[j], false);
            }
}

static int64_t count_pruned(const struct layer *l)
{
    int64_t k = 0;
    for (int64_t e = 0; e < l->w->numel; e++)
        k += !tsl_bit_get(l->mask, e);
    return k;
}

enum tsl_status tsl_pass_prune(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    const struct tsl_compress_options *o = &ctx->compress;
    double s = o->prune_sparsity;
    if (!(s >= 0.0 && s < 1.0))
        return tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, "prune",
                              "sparsity %g outside [0, 1)", s);
    if (o->prune_kind == TSL_PRUNE_2_4 && s != 0.0 && s != 0.5)
        return tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, "prune",
                              "2:4 pruning has sparsity 0.5, not %g", s);
    struct tsl_cweights ws;
    TSL_TRY(tsl_cw_find(g, &ws, ctx->diag));
    uint32_t n = tsl_cw_count_active(&ws, o);
    if (n == 0) {
        enum tsl_status st = tsl_cw_none_error(&ws, "prune", ctx->diag);
        tsl_cw_fini(&ws);
        return st;
    }
    struct layer *ls = calloc(n, sizeof *ls);
    enum tsl_status st = ls ? TSL_STATUS_OK
                            : tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "prune", "out of memory");
    uint32_t k = 0;
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < ws.n; i++) {
        if (tsl_cw_skip(&ws.w[i], o))
            continue;
        ls[k].w = &ws.w[i];
        st = load_layer(&ls[k++], ctx->diag);
    }
    if (st == TSL_STATUS_OK) {
        switch (o->prune_kind) {
        case TSL_PRUNE_UNSTRUCTURED:
            if (o->prune_per_layer) {
                for (uint32_t i = 0; st == TSL_STATUS_OK && i < n; i++)
                    st = prune_smallest(&ls[i], 1, llround(s * (double)ls[i].w->numel),
                                        ctx->diag);
            } else {
                int64_t total = 0;
                for (uint32_t i = 0; i < n; i++)
                    total += ls[i].w->numel;
                st = prune_smallest(ls, n, llround(s * (double)total), ctx->diag);
            }
            break;
        case TSL_PRUNE_CHANNEL:
            st = prune_channels(ls, n, s, o->prune_per_layer, ctx->diag);
            break;
        case TSL_PRUNE_2_4:
            for (uint32_t i = 0; i < n; i++)
                prune_2_4(&ls[i]);
            break;
        }
    }
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < n; i++) {
        struct tsl_const *c = tsl_cw_masked_const(ls[i].vals, ls[i].mask, ls[i].w->numel);
        if (!c) {
            st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "prune", "out of memory");
            break;
        }
        int64_t pruned = count_pruned(&ls[i]);
        st = tsl_cw_replace(g, ls[i].w, c, ctx->diag);
        if (st != TSL_STATUS_OK)
            break;
        struct tsl_layer_report r = {
            .name = ls[i].w->value->name,
            .op = (char *)tsl_op_name(ls[i].w->node->op),
            .n_weights = ls[i].w->numel,
            .sparsity = (double)pruned / (double)ls[i].w->numel,
            .bits = 32,
            .step = 0.0,
            .original_bits = 32 * ls[i].w->numel,
            .stored_bits = tsl_const_stored_bits(ls[i].w->value),
        };
        st = tsl_pass_report_layer(ctx, &r);
        ctx->n_changed++;
    }
    if (st == TSL_STATUS_OK)
        st = tsl_cw_report_skipped(&ws, ctx);
    layers_free(ls, n);
    tsl_cw_fini(&ws);
    return st;
}
