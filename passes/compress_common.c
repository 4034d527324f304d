/* compress_common.c - the helpers of compress_common.h: finding compressible
 * weights and their channel layout, loading and replacing weight payloads,
 * quickselect, channel scales, uniform and k-means codebooks, bit packing.
 * Choosing what to prune or how many bits to spend is left to the passes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress_common.h"
#include "tessel/util.h"

/* Channel and input axes of the weight of layer n, or false. */
static bool weight_axes(const struct tsl_node *n, int32_t rank, int32_t *ch, int32_t *in)
{
    switch (n->op) {
    case TSL_OP_CONV:
        *ch = 0, *in = 1;
        return rank >= 3;
    case TSL_OP_CONV_TRANSPOSE:
        *ch = 1, *in = 0;
        return rank >= 3;
    case TSL_OP_GEMM:
        *ch = n->attrs.gemm.transB ? 0 : 1;
        *in = n->attrs.gemm.transB ? 1 : 0;
        return rank == 2;
    case TSL_OP_MATMUL:
        *ch = rank - 1, *in = rank - 2;
        return rank >= 2;
    default:
        return false;
    }
}

static bool layout(struct tsl_cweight *w)
{
    const struct tsl_value *v = w->value;
    if (v->type.dtype != TSL_DTYPE_F32 || !tsl_shape_is_static(&v->type.shape) ||
        !tsl_shape_numel(&v->type.shape, &w->numel) || w->numel <= 0)
        return false;
    const struct tsl_shape *s = &v->type.shape;
    if (!weight_axes(w->node, s->rank, &w->ch_axis, &w->in_axis))
        return false;
    w->inner = 1;
    for (int32_t d = w->ch_axis + 1; d < s->rank; d++)
        w->inner *= s->dims[d];
    w->n_ch = s->dims[w->ch_axis];
    w->in_stride = 1;
    for (int32_t d = w->in_axis + 1; d < s->rank; d++)
        w->in_stride *= s->dims[d];
    w->in_dim = s->dims[w->in_axis];
    return true;
}

enum tsl_status tsl_cw_find(struct tsl_graph *g, struct tsl_cweights *ws, struct tsl_diag *diag)
{
    memset(ws, 0, sizeof *ws);
    size_t cap = 0;
    for (struct tsl_node *n = g->first; n; n = n->next) {
        if (n->n_inputs < 2 || !n->inputs[1] || !n->inputs[1]->constant)
            continue;
        struct tsl_cweight w = {.value = n->inputs[1], .node = n};
        if (!layout(&w))
            continue;
        bool dup = false, ok = true;
        for (uint32_t i = 0; i < ws->n && !dup; i++)
            dup = ws->w[i].value == w.value;
        if (dup)
            continue;
        for (uint32_t u = 0; u < w.value->n_uses && ok; u++) {
            struct tsl_cweight o = {.value = w.value, .node = w.value->uses[u].node};
            ok = w.value->uses[u].index == 1 && layout(&o) && o.ch_axis == w.ch_axis &&
                 o.in_axis == w.in_axis;
        }
        if (!ok || w.value->n_output_refs)
            continue;
        if (!tsl_grow((void **)&ws->w, &cap, (size_t)ws->n + 1, sizeof *ws->w)) {
            tsl_cw_fini(ws);
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, "compress", "out of memory");
        }
        ws->w[ws->n++] = w;
    }
    if (ws->n) {
        ws->w[0].first = true;
        ws->w[ws->n - 1].last = true;
    }
    return TSL_STATUS_OK;
}

void tsl_cw_fini(struct tsl_cweights *ws)
{
    free(ws->w);
    ws->w = NULL;
    ws->n = 0;
}

bool tsl_cw_skip(const struct tsl_cweight *w, const struct tsl_compress_options *o)
{
    return o->keep_first_last && (w->first || w->last);
}

uint32_t tsl_cw_count_active(const struct tsl_cweights *ws, const struct tsl_compress_options *o)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < ws->n; i++)
        k += !tsl_cw_skip(&ws->w[i], o);
    return k;
}

enum tsl_status tsl_cw_none_error(const struct tsl_cweights *ws, const char *pass,
                                  struct tsl_diag *diag)
{
    if (ws->n == 0)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, pass,
                              "the model has no compressible layer (Conv, ConvTranspose, Gemm "
                              "or MatMul with a constant f32 weight)");
    return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, pass,
                          "no compressible layer left: the model's %u weight layer%s are the "
                          "first and last, which are kept (use --no-keep-first-last)",
                          ws->n, ws->n == 1 ? "" : "s");
}

enum tsl_status tsl_cw_report_skipped(const struct tsl_cweights *ws, struct tsl_pass_context *ctx)
{
    for (uint32_t i = 0; i < ws->n; i++) {
        const struct tsl_cweight *w = &ws->w[i];
        bool seen = false;
        for (uint32_t k = 0; k < ctx->n_layers && !seen; k++)
            seen = !strcmp(ctx->layers[k].name, w->value->name);
        if (seen || !tsl_cw_skip(w, &ctx->compress))
            continue;
        const struct tsl_const *c = w->value->constant;
        int64_t pruned = 0;
        if (c->mask && (c->encoding == TSL_ENC_MASKED || c->encoding == TSL_ENC_CODEBOOK))
            for (int64_t e = 0; e < w->numel; e++)
                pruned += !tsl_bit_get(c->mask, e);
        struct tsl_layer_report r = {
            .name = w->value->name,
            .op = (char *)tsl_op_name(w->node->op),
            .n_weights = w->numel,
            .sparsity = (double)pruned / (double)w->numel,
            .bits = c->encoding == TSL_ENC_CODEBOOK ? c->index_bits : 32,
            .original_bits = 32 * w->numel,
            .stored_bits = tsl_const_stored_bits(w->value),
        };
        if (tsl_pass_report_layer(ctx, &r) != TSL_STATUS_OK)
            return tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "compress", "out of memory");
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cw_load(const struct tsl_cweight *w, float **vals_out, uint8_t **mask_out,
                            struct tsl_diag *diag)
{
    void *dense;
    *vals_out = NULL;
    *mask_out = NULL;
    TSL_TRY(tsl_const_decode(w->value, &dense, diag));
    const struct tsl_const *c = w->value->constant;
    if (c->mask && (c->encoding == TSL_ENC_MASKED || c->encoding == TSL_ENC_CODEBOOK)) {
        int64_t mb = tsl_bitset_bytes(w->numel);
        uint8_t *m = malloc((size_t)mb);
        if (!m) {
            free(dense);
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, w->value->name, "out of memory");
        }
        memcpy(m, c->mask, (size_t)mb); /* size checked by decode */
        *mask_out = m;
    }
    *vals_out = dense;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cw_replace(struct tsl_graph *g, struct tsl_cweight *w, struct tsl_const *c,
                               struct tsl_diag *diag)
{
    struct tsl_value *old = w->value, *nv;
    char *name = tsl_strdup(old->name);
    char *tmp = name ? tsl_graph_unique_value_name(g, name) : NULL;
    if (!tmp) {
        free(name);
        tsl_const_free(c);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, old->name, "out of memory");
    }
    struct tsl_type t = old->type;
    enum tsl_status st = tsl_graph_add_constant_take(g, tmp, &t, c, &nv);
    free(tmp);
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        free(name);
        return tsl_diag_error(diag, st, old->name, "cannot replace the weight payload");
    }
    st = tsl_quant_copy(&nv->quant, &old->quant);
    if (st == TSL_STATUS_OK) {
        tsl_value_replace_all_uses(old, nv);
        st = tsl_graph_erase_value(g, old);
    }
    if (st == TSL_STATUS_OK)
        st = tsl_value_rename(g, nv, name);
    if (st == TSL_STATUS_OK)
        w->value = nv;
    else
        tsl_diag_error(diag, st, name, "cannot replace the weight payload");
    free(name);
    return st;
}

struct tsl_const *tsl_cw_masked_const(const float *vals, const uint8_t *mask, int64_t numel)
{
    struct tsl_const *c = tsl_const_new();
    int64_t mb = tsl_bitset_bytes(numel);
    if (!c)
        return NULL;
    c->encoding = TSL_ENC_MASKED;
    c->data = malloc((size_t)numel * sizeof(float));
    c->mask = malloc((size_t)(mb ? mb : 1));
    if (!c->data || !c->mask) {
        tsl_const_free(c);
        return NULL;
    }
    c->data_bytes = (size_t)numel * sizeof(float);
    c->mask_bytes = (size_t)mb;
    memcpy(c->mask, mask, (size_t)mb);
    float *d = c->data;
    for (int64_t i = 0; i < numel; i++)
        d[i] = tsl_bit_get(mask, i) ? vals[i] : 0.0f;
    return c;
}

float tsl_cw_magnitude(float x)
{
    return isnan(x) ? INFINITY : fabsf(x);
}

static void swapf(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

float tsl_cw_kth_smallest(float *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swapf(&a[mid], &a[lo]);
        if (a[hi] < a[lo])
            swapf(&a[hi], &a[lo]);
        if (a[hi] < a[mid])
            swapf(&a[hi], &a[mid]);
        float pivot = a[mid];
        int64_t i = lo, j = hi;
        while (i <= j) { /* Hoare partition: a[lo..j] <= pivot <= a[i..hi] */
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                swapf(&a[i], &a[j]);
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

void tsl_cw_channel_max_scales(const struct tsl_cweight *w, const float *vals,
                               const uint8_t *mask, float *scales)
{
    for (int64_t c = 0; c < w->n_ch; c++)
        scales[c] = 0.0f;
    for (int64_t i = 0; i < w->numel; i++) {
        if (mask && !tsl_bit_get(mask, i))
            continue;
        float m = fabsf(vals[i]);
        int64_t c = tsl_cw_channel(w, i);
        if (m > scales[c] && isfinite(m))
            scales[c] = m;
    }
    for (int64_t c = 0; c < w->n_ch; c++)
        if (!(scales[c] > 0.0f))
            scales[c] = 1.0f;
}

void tsl_cw_uniform_codebook(int bits, double step, float *codes)
{
    uint32_t k = 1u << (bits - 1);
    for (uint32_t j = 0; j < k; j++) {
        codes[k - 1 - j] = (float)(-(double)(j + 1) * step);
        codes[k + j] = (float)((double)(j + 1) * step);
    }
}

double tsl_cw_midtread_codebook(int bits, float *codes)
{
    int32_t k = 1 << (bits - 1), n = 1 << bits;
    double step = 1.0 / (double)(k - 1);
    for (int32_t j = 0; j < n - 1; j++)
        codes[j] = (float)((double)(j - (k - 1)) * step);
    codes[n - 1] = codes[n - 2];
    return step;
}

uint32_t tsl_cw_nearest(const float *codes, uint32_t n, float x)
{
    /* first code >= x, then compare with its left neighbour */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (codes[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n)
        return n - 1;
    if (lo == 0)
        return 0;
    return (double)x - codes[lo - 1] <= (double)codes[lo] - x ? lo - 1 : lo;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

enum tsl_status tsl_cw_kmeans(const float *x, int64_t nx, float *codes, uint32_t n, int iters)
{
    double *sum = malloc(n * sizeof *sum);
    int64_t *cnt = malloc(n * sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return TSL_STATUS_NOMEM;
    }
    for (int it = 0; it < iters; it++) {
        memset(sum, 0, n * sizeof *sum);
        memset(cnt, 0, n * sizeof *cnt);
        for (int64_t i = 0; i < nx; i++) {
            if (!isfinite(x[i]))
                continue;
            uint32_t j = tsl_cw_nearest(codes, n, x[i]);
            sum[j] += x[i];
            cnt[j]++;
        }
        bool moved = false;
        for (uint32_t j = 0; j < n; j++)
            if (cnt[j]) {
                float c = (float)(sum[j] / (double)cnt[j]);
                moved |= c != codes[j];
                codes[j] = c;
            }
        qsort(codes, n, sizeof *codes, cmp_float);
        if (!moved)
            break;
    }
    free(sum);
    free(cnt);
    return TSL_STATUS_OK;
}

void tsl_bits_write(uint8_t *p, int64_t i, unsigned bits, uint32_t v)
{
    uint64_t bit = (uint64_t)i * bits;
    for (unsigned b = 0; b < bits; b++, bit++) {
        if ((v >> b) & 1)
            p[bit / 8] |= (uint8_t)(1u << (bit % 8));
        else
            p[bit / 8] &= (uint8_t)~(1u << (bit % 8));
    }
}

uint32_t tsl_bits_read(const uint8_t *p, int64_t i, unsigned bits)
{
    uint64_t bit = (uint64_t)i * bits;
    uint32_t v = 0;
    for (unsigned b = 0; b < bits; b++, bit++)
        v |= (uint32_t)((p[bit / 8] >> (bit % 8)) & 1) << b;
    return v;
}
