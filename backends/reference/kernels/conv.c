/* conv.c - Conv (1-3 spatial dims, groups incl. depthwise, strides,
 * dilations, explicit pads or auto_pad) as im2col + the blocked SGEMM, and
 * ConvTranspose as SGEMM + col2im.  Also the window geometry shared with
 * pooling and QLinearConv.  f16/f64 convolutions are computed in f32 and
 * converted back.  Integer convolution is in quant.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

enum tsl_status tsl_ref_conv_geometry(struct tsl_ref_call *c, int32_t nsp, const int64_t *in,
                                      const int64_t *kernel, const struct tsl_ints *strides,
                                      const struct tsl_ints *dilations,
                                      const struct tsl_ints *pads, enum tsl_auto_pad auto_pad,
                                      bool ceil_mode, int64_t *out, int64_t *pad_begin,
                                      int64_t *stride_out, int64_t *dil_out)
{
    if ((strides->n && strides->n != (uint32_t)nsp) ||
        (dilations->n && dilations->n != (uint32_t)nsp) ||
        (pads->n && pads->n != 2u * (uint32_t)nsp))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "strides/dilations/pads do not match %d spatial dims", nsp);
    for (int32_t d = 0; d < nsp; d++) {
        int64_t s = strides->n ? strides->v[d] : 1, dl = dilations->n ? dilations->v[d] : 1;
        int64_t pb = pads->n ? pads->v[d] : 0, pe = pads->n ? pads->v[d + nsp] : 0;
        if (s < 1 || dl < 1 || pb < 0 || pe < 0 || kernel[d] < 1 || s > INT32_MAX ||
            dl > INT32_MAX || pb > INT32_MAX || pe > INT32_MAX || kernel[d] > INT32_MAX)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "bad kernel/stride/dilation/pad in spatial dim %d", d);
        int64_t eff = (kernel[d] - 1) * dl + 1, o;
        switch (auto_pad) {
        case TSL_auto_pad_VALID:
            pb = pe = 0;
            o = in[d] >= eff ? (in[d] - eff) / s + 1 : 0;
            break;
        case TSL_auto_pad_SAME_UPPER:
        case TSL_auto_pad_SAME_LOWER: {
            o = (in[d] + s - 1) / s;
            int64_t total = (o - 1) * s + eff - in[d];
            if (total < 0)
                total = 0;
            pb = auto_pad == TSL_auto_pad_SAME_UPPER ? total / 2 : total - total / 2;
            break;
        }
        default: {
            int64_t span = in[d] + pb + pe - eff;
            if (span < 0) {
                o = 0;
            } else if (ceil_mode) {
                o = (span + s - 1) / s + 1;
                /* the last window must start inside the input or left pad */
                if ((o - 1) * s >= in[d] + pb)
                    o--;
            } else {
                o = span / s + 1;
            }
        }
        }
        if (o < 1)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "window of %lld does not fit input size %lld in spatial dim %d",
                                (long long)eff, (long long)in[d], d);
        out[d] = o;
        pad_begin[d] = pb;
        stride_out[d] = s;
        dil_out[d] = dl;
    }
    return TSL_STATUS_OK;
}

/* Spatial geometry padded to 3 dims (leading dims are 1). */
struct geo {
    int64_t in[3], k[3], out[3], s[3], d[3], pb[3];
    int64_t in_sz, k_sz, out_sz;
};

static void geo_pad3(struct geo *g, int32_t nsp, const int64_t *in, const int64_t *k,
                     const int64_t *out, const int64_t *s, const int64_t *d, const int64_t *pb)
{
    int32_t off = 3 - nsp;
    for (int32_t i = 0; i < 3; i++) {
        bool have = i >= off;
        g->in[i] = have ? in[i - off] : 1;
        g->k[i] = have ? k[i - off] : 1;
        g->out[i] = have ? out[i - off] : 1;
        g->s[i] = have ? s[i - off] : 1;
        g->d[i] = have ? d[i - off] : 1;
        g->pb[i] = have ? pb[i - off] : 0;
    }
    g->in_sz = g->in[0] * g->in[1] * g->in[2];
    g->k_sz = g->k[0] * g->k[1] * g->k[2];
    g->out_sz = g->out[0] * g->out[1] * g->out[2];
}

/* col[(c*k_sz + kk) * out_sz + p] = x[c, in coord of (p, kk)] or 0. */
static void im2col(const float *x, int64_t channels, const struct geo *g, float *col)
{
    for (int64_t ch = 0; ch < channels; ch++) {
        const float *xc = x + ch * g->in_sz;
        for (int64_t k0 = 0; k0 < g->k[0]; k0++)
            for (int64_t k1 = 0; k1 < g->k[1]; k1++)
                for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                    for (int64_t o0 = 0; o0 < g->out[0]; o0++) {
                        int64_t i0 = o0 * g->s[0] - g->pb[0] + k0 * g->d[0];
                        for (int64_t o1 = 0; o1 < g->out[1]; o1++) {
                            int64_t i1 = o1 * g->s[1] - g->pb[1] + k1 * g->d[1];
                            float *dst = col;
                            col += g->out[2];
                            if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1]) {
                                memset(dst, 0, (size_t)g->out[2] * sizeof(float));
                                continue;
                            }
                            const float *row = xc + (i0 * g->in[1] + i1) * g->in[2];
                            int64_t base = k2 * g->d[2] - g->pb[2];
                            for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
                                int64_t i2 = o2 * g->s[2] + base;
                                dst[o2] = (i2 >= 0 && i2 < g->in[2]) ? row[i2] : 0.0f;
                            }
                        }
                    }
                }
    }
}

/* f32 view of a float tensor: the data itself, or a converted copy. */
static float *as_f32(const struct tsl_tensor *t, bool *owned)
{
    *owned = false;
    if (t->dtype == TSL_DTYPE_F32)
        return t->data;
    int64_t n = tsl_ref_numel(t);
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)tsl_ref_getf(t, i);
    *owned = true;
    return f;
}

struct conv_bufs {
    float *x, *w, *b, *y, *col;
    bool ox, ow, ob;
};

static void bufs_free(struct conv_bufs *b, bool y_owned)
{
    if (b->ox) free(b->x);
    if (b->ow) free(b->w);
    if (b->ob) free(b->b);
    if (y_owned) free(b->y);
    free(b->col);
}

/* Convert a temporary f32 result back into the output's dtype. */
static void store_back(struct tsl_tensor *y, const float *f)
{
    int64_t n = tsl_ref_numel(y);
    for (int64_t i = 0; i < n; i++)
        tsl_dense_set_f64(y->dtype, y->data, i, f[i]);
}

static enum tsl_status conv_inputs(struct tsl_ref_call *c, const struct tsl_tensor **x,
                                   const struct tsl_tensor **w, const struct tsl_tensor **b)
{
    TSL_TRY(tsl_ref_need(c, 0, x));
    TSL_TRY(tsl_ref_need(c, 1, w));
    *b = c->n_in > 2 ? c->in[2] : NULL;
    TSL_TRY(tsl_ref_need_float(c, 0));
    if ((*w)->dtype != (*x)->dtype || (*b && (*b)->dtype != (*x)->dtype))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "X, W and B must share one dtype");
    int32_t r = (*x)->shape.rank;
    if (r < 3 || r > 5 || (*w)->shape.rank != r)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED,
                            "X and W must have rank 3..5 (1-3 spatial dims), got %d and %d", r,
                            (*w)->shape.rank);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_conv(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *w, *b;
    TSL_TRY(conv_inputs(c, &x, &w, &b));
    const struct tsl_attr_conv *at = &c->node->attrs.conv;
    int32_t nsp = x->shape.rank - 2;
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], M = w->shape.dims[0], G = at->group;
    if (G < 1 || C % G || M % G || w->shape.dims[1] * G != C)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "channels: X has %lld, W expects %lld x group %lld, %lld filters",
                            (long long)C, (long long)w->shape.dims[1], (long long)G,
                            (long long)M);
    if (at->kernel_shape.n && at->kernel_shape.n != (uint32_t)nsp)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "kernel_shape has wrong length");
    for (int32_t d = 0; at->kernel_shape.n && d < nsp; d++)
        if (at->kernel_shape.v[d] != w->shape.dims[2 + d])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "kernel_shape does not match W");
    if (b && (b->shape.rank != 1 || b->shape.dims[0] != M))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "B must be [%lld]", (long long)M);
    int64_t out[3], pb[3], s[3], dl[3];
    TSL_TRY(tsl_ref_conv_geometry(c, nsp, x->shape.dims + 2, w->shape.dims + 2, &at->strides,
                                  &at->dilations, &at->pads, at->auto_pad, false, out, pb, s, dl));
    int64_t dims[TSL_MAX_RANK] = {N, M};
    for (int32_t d = 0; d < nsp; d++)
        dims[2 + d] = out[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, dims));
    struct tsl_tensor *y = &c->out[0];
    struct geo g;
    geo_pad3(&g, nsp, x->shape.dims + 2, w->shape.dims + 2, out, s, dl, pb);
    int64_t cg = C / G, mg = M / G, K = cg * g.k_sz, P = g.out_sz;
    bool pointwise = g.k_sz == 1 && g.pb[0] == 0 && g.pb[1] == 0 && g.pb[2] == 0 &&
                     g.s[0] == 1 && g.s[1] == 1 && g.s[2] == 1;
    struct conv_bufs bf = {0};
    bool y_owned = y->dtype != TSL_DTYPE_F32;
    bf.x = as_f32(x, &bf.ox);
    bf.w = as_f32(w, &bf.ow);
    bf.b = b ? as_f32(b, &bf.ob) : NULL;
    bf.y = y_owned ? malloc((size_t)(tsl_ref_numel(y) + 1) * sizeof(float)) : y->data;
    int64_t col_n;
    if (!tsl_mul_i64(K, P, &col_n) || col_n > TSL_REF_MAX_TENSOR_BYTES / 4) {
        bufs_free(&bf, y_owned);
        return tsl_ref_fail(c, TSL_STATUS_LIMIT, "im2col buffer too large");
    }
    bf.col = pointwise ? NULL : malloc((size_t)(col_n ? col_n : 1) * sizeof(float));
    if (!bf.x || !bf.w || (b && !bf.b) || !bf.y || (!pointwise && !bf.col)) {
        bufs_free(&bf, y_owned);
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    }
    enum tsl_status st = TSL_STATUS_OK;
    for (int64_t n = 0; n < N && st == TSL_STATUS_OK; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            const float *xg = bf.x + (n * C + gi * cg) * g.in_sz;
            const float *colp = xg;
            if (!pointwise) {
                im2col(xg, cg, &g, bf.col);
                colp = bf.col;
            }
            float *yg = bf.y + (n * M + gi * mg) * P;
            if (!tsl_ref_sgemm(false, false, mg, P, K, 1.0f, bf.w + gi * mg * K, K, colp, P,
                               0.0f, yg, P)) {
                st = tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
                break;
            }
            if (bf.b)
                for (int64_t m = 0; m < mg; m++) {
                    float bias = bf.b[gi * mg + m];
                    float *row = yg + m * P;
                    for (int64_t p = 0; p < P; p++)
                        row[p] += bias;
                }
        }
    if (st == TSL_STATUS_OK && y_owned)
        store_back(y, bf.y);
    bufs_free(&bf, y_owned);
    return st;
}

enum tsl_status tsl_ref_conv_transpose(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *w, *b;
    TSL_TRY(conv_inputs(c, &x, &w, &b));
    const struct tsl_attr_conv_transpose *at = &c->node->attrs.conv_transpose;
    int32_t nsp = x->shape.rank - 2;
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], G = at->group;
    if (G < 1 || C % G || w->shape.dims[0] != C)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "channels: X has %lld, W has %lld, group %lld", (long long)C,
                            (long long)w->shape.dims[0], (long long)G);
    int64_t mg = w->shape.dims[1], M = mg * G;
    if (b && (b->shape.rank != 1 || b->shape.dims[0] != M))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "B must be [%lld]", (long long)M);
    const struct tsl_ints *S = &at->strides, *D = &at->dilations, *Pd = &at->pads,
                          *OP = &at->output_padding, *OS = &at->output_shape;
    if ((S->n && S->n != (uint32_t)nsp) || (D->n && D->n != (uint32_t)nsp) ||
        (Pd->n && Pd->n != 2u * (uint32_t)nsp) || (OP->n && OP->n != (uint32_t)nsp) ||
        (OS->n && OS->n != (uint32_t)nsp))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "attribute lengths do not match %d "
                            "spatial dims", nsp);
    int64_t out[3], pb[3], s[3], dl[3], kk[3];
    for (int32_t d = 0; d < nsp; d++) {
        int64_t in = x->shape.dims[2 + d], k = w->shape.dims[2 + d];
        s[d] = S->n ? S->v[d] : 1;
        dl[d] = D->n ? D->v[d] : 1;
        int64_t opad = OP->n ? OP->v[d] : 0;
        if (s[d] < 1 || dl[d] < 1 || opad < 0 || s[d] > INT32_MAX || dl[d] > INT32_MAX ||
            opad > INT32_MAX || in > INT32_MAX || k > INT32_MAX)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad stride/dilation/output_padding");
        int64_t eff = (k - 1) * dl[d] + 1, full = s[d] * (in - 1) + opad + eff;
        kk[d] = k;
        if (OS->n || at->auto_pad == TSL_auto_pad_SAME_UPPER ||
            at->auto_pad == TSL_auto_pad_SAME_LOWER) {
            out[d] = OS->n ? OS->v[d] : in * s[d];
            int64_t total = full - out[d];
            if (total < 0)
                total = 0;
            pb[d] = at->auto_pad == TSL_auto_pad_SAME_UPPER ? total / 2 : total - total / 2;
        } else {
            int64_t p0 = Pd->n && at->auto_pad != TSL_auto_pad_VALID ? Pd->v[d] : 0;
            int64_t p1 = Pd->n && at->auto_pad != TSL_auto_pad_VALID ? Pd->v[d + nsp] : 0;
            pb[d] = p0;
            out[d] = full - p0 - p1;
        }
        if (out[d] < 1 || pb[d] < 0 || out[d] > INT32_MAX)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "output size %lld in spatial dim %d",
                                (long long)out[d], d);
    }
    int64_t dims[TSL_MAX_RANK] = {N, M};
    for (int32_t d = 0; d < nsp; d++)
        dims[2 + d] = out[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, dims));
    struct tsl_tensor *y = &c->out[0];
    /* geometry seen from the output: "in" = output image, "out" = X grid */
    struct geo g;
    geo_pad3(&g, nsp, out, kk, x->shape.dims + 2, s, dl, pb);
    int64_t cg = C / G, K = mg * g.k_sz, Pin = g.out_sz, col_n;
    if (!tsl_mul_i64(K, Pin, &col_n) || col_n > TSL_REF_MAX_TENSOR_BYTES / 4)
        return tsl_ref_fail(c, TSL_STATUS_LIMIT, "column buffer too large");
    struct conv_bufs bf = {0};
    bool y_owned = y->dtype != TSL_DTYPE_F32;
    bf.x = as_f32(x, &bf.ox);
    bf.w = as_f32(w, &bf.ow);
    bf.b = b ? as_f32(b, &bf.ob) : NULL;
    bf.y = y_owned ? calloc((size_t)(tsl_ref_numel(y) ? tsl_ref_numel(y) : 1), sizeof(float))
                   : y->data;
    bf.col = malloc((size_t)(col_n ? col_n : 1) * sizeof(float));
    if (!bf.x || !bf.w || (b && !bf.b) || !bf.y || !bf.col) {
        bufs_free(&bf, y_owned);
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    }
    enum tsl_status st = TSL_STATUS_OK;
    for (int64_t n = 0; n < N && st == TSL_STATUS_OK; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            const float *xg = bf.x + (n * C + gi * cg) * Pin;
            const float *wg = bf.w + gi * cg * K;
            /* col[K, Pin] = Wg^T [K, cg] * Xg [cg, Pin] */
            if (!tsl_ref_sgemm(true, false, K, Pin, cg, 1.0f, wg, K, xg, Pin, 0.0f, bf.col,
                               Pin)) {
                st = tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
                break;
            }
            const float *cp = bf.col;
            for (int64_t m = 0; m < mg; m++) {
                float *ym = bf.y + (n * M + gi * mg + m) * g.in_sz;
                for (int64_t k0 = 0; k0 < g.k[0]; k0++)
                    for (int64_t k1 = 0; k1 < g.k[1]; k1++)
                        for (int64_t k2 = 0; k2 < g.k[2]; k2++)
                            for (int64_t i0 = 0; i0 < g.out[0]; i0++)
                                for (int64_t i1 = 0; i1 < g.out[1]; i1++) {
                                    int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                                    int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                                    const float *src = cp;
                                    cp += g.out[2];
                                    if (o0 < 0 || o0 >= g.in[0] || o1 < 0 || o1 >= g.in[1])
                                        continue;
                                    float *row = ym + (o0 * g.in[1] + o1) * g.in[2];
                                    for (int64_t i2 = 0; i2 < g.out[2]; i2++) {
                                        int64_t o2 = i2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                                        if (o2 >= 0 && o2 < g.in[2])
                                            row[o2] += src[i2];
                                    }
                                }
            }
        }
    if (st == TSL_STATUS_OK && bf.b)
        for (int64_t n = 0; n < N; n++)
            for (int64_t m = 0; m < M; m++) {
                float *row = bf.y + (n * M + m) * g.in_sz;
                for (int64_t p = 0; p < g.in_sz; p++)
                    row[p] += bf.b[m];
            }
    if (st == TSL_STATUS_OK && y_owned)
        store_back(y, bf.y);
    bufs_free(&bf, y_owned);
    return st;
}
