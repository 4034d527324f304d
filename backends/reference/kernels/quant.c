/* quant.c - the integer kernels whose results define tessel's bit-exact
 * quantized semantics (docs/reference-semantics.md):
 *   QuantizeLinear   q = sat(rne(x /f32 scale) + zp), per tensor or axis
 *   DequantizeLinear y = (f32)(q - zp) *f32 scale
 *   QLinearMatMul / QLinearConv: int32 accumulation of (a - za)(b - zb)
 *     (+ int32 bias for conv), then
 *     y = sat(rne((f32)acc *f32 M) + zy),  M = (sa *f32 sb) /f32 sy
 * rne = round half to even, sat = clamp to the output type (u8/i8), and
 * "/f32", "*f32" are IEEE single-precision operations.  The float kernels
 * are in the other files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

static bool is_q8(enum tsl_dtype dt)
{
    return dt == TSL_DTYPE_U8 || dt == TSL_DTYPE_I8;
}

static int64_t saturate(enum tsl_dtype dt, double v)
{
    double lo = dt == TSL_DTYPE_U8 ? 0 : dt == TSL_DTYPE_I8 ? -128 : -2147483648.0;
    double hi = dt == TSL_DTYPE_U8 ? 255 : dt == TSL_DTYPE_I8 ? 127 : 2147483647.0;
    if (v != v)
        return 0;
    return (int64_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Per-tensor or per-axis parameter k of a Q/DQ node: returns the number of
 * entries (1 or dims[axis]) and the axis stride info. */
static enum tsl_status qparams(struct tsl_ref_call *c, const struct tsl_tensor *x,
                               int64_t *axis_len, int64_t *inner)
{
    const struct tsl_tensor *s = c->in[1];
    *axis_len = 1;
    *inner = 1;
    int64_t n = tsl_ref_numel(s);
    if (c->n_in > 2 && c->in[2] && tsl_ref_numel(c->in[2]) != n)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "scale and zero point sizes differ");
    if (s->shape.rank == 0 || n == 1)
        return TSL_STATUS_OK;
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.axis.axis, x->shape.rank, "axis", &axis));
    if (s->shape.rank != 1 || n != x->shape.dims[axis])
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "per-axis scale must have %lld entries, has %lld",
                            (long long)x->shape.dims[axis], (long long)n);
    *axis_len = n;
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        *inner *= x->shape.dims[d];
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_quantize(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *s, *zp = c->n_in > 2 ? c->in[2] : NULL;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need(c, 1, &s));
    TSL_TRY(tsl_ref_need_float(c, 0));
    enum tsl_dtype dt = zp ? zp->dtype : TSL_DTYPE_U8;
    if (!is_q8(dt) && dt != TSL_DTYPE_I32)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "output type %s", tsl_dtype_name(dt));
    int64_t alen, inner;
    TSL_TRY(qparams(c, x, &alen, &inner));
    TSL_TRY(tsl_ref_alloc(c, 0, dt, x->shape.rank, x->shape.dims));
    int64_t n = tsl_ref_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = alen > 1 ? (i / inner) % alen : 0;
        float q = (float)tsl_ref_getf(x, i) / (float)tsl_ref_getf(s, ch);
        double v = tsl_ref_round_even((double)q) + (double)(zp ? tsl_ref_geti(zp, ch) : 0);
        tsl_dense_set_i64(dt, c->out[0].data, i, saturate(dt, v));
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_dequantize(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *s, *zp = c->n_in > 2 ? c->in[2] : NULL;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need(c, 1, &s));
    if (tsl_dtype_is_float(x->dtype) || x->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input must be an integer type, got %s",
                            tsl_dtype_name(x->dtype));
    if (!tsl_dtype_is_float(s->dtype) || (zp && zp->dtype != x->dtype))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "scale must be float and zero point of the input type");
    int64_t alen, inner;
    TSL_TRY(qparams(c, x, &alen, &inner));
    TSL_TRY(tsl_ref_alloc(c, 0, s->dtype, x->shape.rank, x->shape.dims));
    int64_t n = tsl_ref_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = alen > 1 ? (i / inner) % alen : 0;
        int64_t q = tsl_dense_get_i64(x->dtype, x->data, i) - (zp ? tsl_ref_geti(zp, ch) : 0);
        float y = (float)q * (float)tsl_ref_getf(s, ch);
        tsl_dense_set_f64(s->dtype, c->out[0].data, i, y);
    }
    return TSL_STATUS_OK;
}

/* Requantize one int32 accumulator (the one rounding rule of QLinear*). */
static int64_t requant(int32_t acc, float mult, int64_t zy, enum tsl_dtype dt)
{
    float v = (float)acc * mult;
    return saturate(dt, tsl_ref_round_even((double)v) + (double)zy);
}

/* Scale/zero-point input pair (scale at i, zp at i+1): either one value or
 * `len` values.  Returns count via *n. */
static enum tsl_status qpair(struct tsl_ref_call *c, uint32_t i, enum tsl_dtype qdt,
                             int64_t len, int64_t *n)
{
    const struct tsl_tensor *s, *z;
    TSL_TRY(tsl_ref_need(c, i, &s));
    TSL_TRY(tsl_ref_need(c, i + 1, &z));
    *n = tsl_ref_numel(s);
    if (!tsl_dtype_is_float(s->dtype) || z->dtype != qdt || tsl_ref_numel(z) != *n ||
        (*n != 1 && *n != len))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "scale/zero point %u, %u must be float/%s with 1 or %lld entries", i,
                            i + 1, tsl_dtype_name(qdt), (long long)len);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_qlinear_matmul(struct tsl_ref_call *c)
{
    const struct tsl_tensor *a, *b;
    TSL_TRY(tsl_ref_need(c, 0, &a));
    TSL_TRY(tsl_ref_need(c, 3, &b));
    const struct tsl_tensor *zy;
    TSL_TRY(tsl_ref_need(c, 7, &zy));
    if (!is_q8(a->dtype) || !is_q8(b->dtype) || !is_q8(zy->dtype))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "inputs must be u8 or i8");
    if (a->shape.rank < 2 || b->shape.rank < 2)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "inputs must have rank >= 2");
    int32_t ra = a->shape.rank, rb = b->shape.rank;
    int64_t M = a->shape.dims[ra - 2], K = a->shape.dims[ra - 1], N = b->shape.dims[rb - 1];
    if (b->shape.dims[rb - 2] != K)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inner dims differ");
    int64_t na, nb, ny;
    TSL_TRY(qpair(c, 1, a->dtype, 1, &na));
    TSL_TRY(qpair(c, 4, b->dtype, N, &nb));
    TSL_TRY(qpair(c, 6, zy->dtype, 1, &ny));
    struct tsl_shape ab = {.rank = ra - 2}, bb = {.rank = rb - 2}, batch;
    memcpy(ab.dims, a->shape.dims, sizeof(int64_t) * (size_t)ab.rank);
    memcpy(bb.dims, b->shape.dims, sizeof(int64_t) * (size_t)bb.rank);
    if (!tsl_ref_broadcast(&ab, &bb, &batch))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "batch dims cannot be broadcast");
    int64_t dims[TSL_MAX_RANK], nbt = 1, sa[TSL_MAX_RANK], sb[TSL_MAX_RANK];
    memcpy(dims, batch.dims, sizeof(int64_t) * (size_t)batch.rank);
    dims[batch.rank] = M;
    dims[batch.rank + 1] = N;
    if (batch.rank + 2 > TSL_MAX_RANK)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "rank too large");
    TSL_TRY(tsl_ref_alloc(c, 0, zy->dtype, batch.rank + 2, dims));
    tsl_ref_bcast_strides(&ab, &batch, sa);
    tsl_ref_bcast_strides(&bb, &batch, sb);
    for (int32_t d = 0; d < batch.rank; d++)
        nbt *= batch.dims[d];
    float sa0 = (float)tsl_ref_getf(c->in[1], 0), sy = (float)tsl_ref_getf(c->in[6], 0);
    int64_t za = tsl_ref_geti(c->in[2], 0), zyv = tsl_ref_geti(zy, 0);
    for (int64_t bi = 0; bi < nbt; bi++) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (int32_t d = batch.rank - 1; d >= 0; d--) {
            int64_t ix = rem % batch.dims[d];
            rem /= batch.dims[d];
            oa += ix * sa[d];
            ob += ix * sb[d];
        }
        oa *= M * K;
        ob *= K * N;
        for (int64_t j = 0; j < N; j++) {
            int64_t cj = nb > 1 ? j : 0;
            int64_t zb = tsl_ref_geti(c->in[5], cj);
            float mult = (sa0 * (float)tsl_ref_getf(c->in[4], cj)) / sy;
            for (int64_t i = 0; i < M; i++) {
                uint32_t acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (uint32_t)((tsl_ref_geti(a, oa + i * K + k) - za) *
                                      (tsl_ref_geti(b, ob + k * N + j) - zb));
                tsl_dense_set_i64(zy->dtype, c->out[0].data, bi * M * N + i * N + j,
                                  requant((int32_t)acc, mult, zyv, zy->dtype));
            }
        }
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_qlinear_conv(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *w, *zy, *bias = c->n_in > 8 ? c->in[8] : NULL;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need(c, 3, &w));
    TSL_TRY(tsl_ref_need(c, 7, &zy));
    if (!is_q8(x->dtype) || !is_q8(w->dtype) || !is_q8(zy->dtype))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "inputs must be u8 or i8");
    const struct tsl_attr_conv *at = &c->node->attrs.conv;
    int32_t r = x->shape.rank, nsp = r - 2;
    if (r < 3 || r > 5 || w->shape.rank != r)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "X and W must have rank 3..5");
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], M = w->shape.dims[0], G = at->group;
    if (G < 1 || C % G || M % G || w->shape.dims[1] * G != C)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "channel/group mismatch");
    int64_t nx, nw, ny;
    TSL_TRY(qpair(c, 1, x->dtype, 1, &nx));
    TSL_TRY(qpair(c, 4, w->dtype, M, &nw));
    TSL_TRY(qpair(c, 6, zy->dtype, 1, &ny));
    if (bias && (bias->dtype != TSL_DTYPE_I32 || tsl_ref_numel(bias) != M))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "B must be i32 [%lld]", (long long)M);
    int64_t out[3], pb[3], s[3], dl[3];
    TSL_TRY(tsl_ref_conv_geometry(c, nsp, x->shape.dims + 2, w->shape.dims + 2, &at->strides,
                                  &at->dilations, &at->pads, at->auto_pad, false, out, pb, s, dl));
    int64_t dims[TSL_MAX_RANK] = {N, M};
    for (int32_t d = 0; d < nsp; d++)
        dims[2 + d] = out[d];
    TSL_TRY(tsl_ref_alloc(c, 0, zy->dtype, r, dims));
    /* pad everything to 3 spatial dims */
    int64_t in3[3], k3[3], o3[3], s3[3], d3[3], p3[3];
    for (int32_t i = 0, off = 3 - nsp; i < 3; i++) {
        bool h = i >= off;
        in3[i] = h ? x->shape.dims[2 + i - off] : 1;
        k3[i] = h ? w->shape.dims[2 + i - off] : 1;
        o3[i] = h ? out[i - off] : 1;
        s3[i] = h ? s[i - off] : 1;
        d3[i] = h ? dl[i - off] : 1;
        p3[i] = h ? pb[i - off] : 0;
    }
    int64_t cg = C / G, mg = M / G, isz = in3[0] * in3[1] * in3[2];
    int64_t ksz = k3[0] * k3[1] * k3[2], yo = 0;
    int64_t zx = tsl_ref_geti(c->in[2], 0), zyv = tsl_ref_geti(zy, 0);
    float sx = (float)tsl_ref_getf(c->in[1], 0), sy = (float)tsl_ref_getf(c->in[6], 0);
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++) {
            int64_t g = m / mg, cw = nw > 1 ? m : 0;
            int64_t zw = tsl_ref_geti(c->in[5], cw);
            float mult = (sx * (float)tsl_ref_getf(c->in[4], cw)) / sy;
            for (int64_t a = 0; a < o3[0]; a++)
                for (int64_t b = 0; b < o3[1]; b++)
                    for (int64_t e = 0; e < o3[2]; e++, yo++) {
                        uint32_t acc = bias ? (uint32_t)tsl_ref_geti(bias, m) : 0;
                        for (int64_t ci = 0; ci < cg; ci++) {
                            int64_t xb = (n * C + g * cg + ci) * isz;
                            int64_t wb = (m * cg + ci) * ksz;
                            for (int64_t ka = 0; ka < k3[0]; ka++) {
                                int64_t ia = a * s3[0] - p3[0] + ka * d3[0];
                                if (ia < 0 || ia >= in3[0])
                                    continue;
                                for (int64_t kb = 0; kb < k3[1]; kb++) {
                                    int64_t ib = b * s3[1] - p3[1] + kb * d3[1];
                                    if (ib < 0 || ib >= in3[1])
                                        continue;
                                    for (int64_t ke = 0; ke < k3[2]; ke++) {
                                        int64_t ie = e * s3[2] - p3[2] + ke * d3[2];
                                        if (ie < 0 || ie >= in3[2])
                                            continue;
                                        int64_t xv = tsl_ref_geti(
                                            x, xb + (ia * in3[1] + ib) * in3[2] + ie);
                                        int64_t wv = tsl_ref_geti(
                                            w, wb + (ka * k3[1] + kb) * k3[2] + ke);
                                        acc += (uint32_t)((xv - zx) * (wv - zw));
                                    }
                                }
                            }
                        }
                        tsl_dense_set_i64(zy->dtype, c->out[0].data, yo,
                                          requant((int32_t)acc, mult, zyv, zy->dtype));
                    }
        }
    return TSL_STATUS_OK;
}
