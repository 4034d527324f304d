/* pool.c - MaxPool and AveragePool over 1-3 spatial dims (strides, pads,
 * auto_pad, dilations, ceil_mode; AveragePool's count_include_pad counts
 * window positions inside the padded input, never those a ceil_mode window
 * adds beyond the end pad) and GlobalAveragePool / GlobalMaxPool.
 * storage_order only concerns MaxPool's Indices output, which the IR does
 * not have.  Window geometry comes from conv.c. */
#include <math.h>
#include <string.h>

#include "../ref_internal.h"

enum tsl_status tsl_ref_pool(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need_float(c, 0));
    const struct tsl_attr_pool *at = &c->node->attrs.pool;
    bool is_max = c->node->op == TSL_OP_MAX_POOL;
    int32_t nsp = x->shape.rank - 2;
    if (nsp < 1 || nsp > 3)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "X must have 1-3 spatial dims");
    if (at->kernel_shape.n != (uint32_t)nsp)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "kernel_shape must have %d entries", nsp);
    int64_t out[3], pb[3], s[3], dl[3];
    TSL_TRY(tsl_ref_conv_geometry(c, nsp, x->shape.dims + 2, at->kernel_shape.v, &at->strides,
                                  &at->dilations, &at->pads, at->auto_pad, at->ceil_mode != 0,
                                  out, pb, s, dl));
    int64_t dims[TSL_MAX_RANK] = {x->shape.dims[0], x->shape.dims[1]};
    /* padded to 3 spatial dims */
    int64_t in3[3], k3[3], o3[3], s3[3], d3[3], pb3[3], pe3[3];
    for (int32_t i = 0, off = 3 - nsp; i < 3; i++) {
        bool have = i >= off;
        int32_t j = i - off;
        in3[i] = have ? x->shape.dims[2 + j] : 1;
        k3[i] = have ? at->kernel_shape.v[j] : 1;
        o3[i] = have ? out[j] : 1;
        s3[i] = have ? s[j] : 1;
        d3[i] = have ? dl[j] : 1;
        pb3[i] = have ? pb[j] : 0;
        if (!have) {
            pe3[i] = 0;
        } else if (at->auto_pad == TSL_auto_pad_NOTSET) {
            pe3[i] = at->pads.n ? at->pads.v[j + nsp] : 0;
        } else {
            int64_t total = (out[j] - 1) * s[j] + (k3[i] - 1) * d3[i] + 1 - in3[i];
            pe3[i] = total - pb3[i] > 0 ? total - pb3[i] : 0;
        }
    }
    for (int32_t d = 0; d < nsp; d++)
        dims[2 + d] = out[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t planes = x->shape.dims[0] * x->shape.dims[1];
    int64_t in_sz = in3[0] * in3[1] * in3[2], out_sz = o3[0] * o3[1] * o3[2];
    bool f32 = x->dtype == TSL_DTYPE_F32;
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t xb = pl * in_sz, yo = pl * out_sz;
        for (int64_t a = 0; a < o3[0]; a++)
            for (int64_t b = 0; b < o3[1]; b++)
                for (int64_t e = 0; e < o3[2]; e++, yo++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    int64_t valid = 0, padded = 0;
                    for (int64_t ka = 0; ka < k3[0]; ka++) {
                        int64_t ia = a * s3[0] - pb3[0] + ka * d3[0];
                        for (int64_t kb = 0; kb < k3[1]; kb++) {
                            int64_t ib = b * s3[1] - pb3[1] + kb * d3[1];
                            for (int64_t ke = 0; ke < k3[2]; ke++) {
                                int64_t ie = e * s3[2] - pb3[2] + ke * d3[2];
                                if (ia >= -pb3[0] && ia < in3[0] + pe3[0] && ib >= -pb3[1] &&
                                    ib < in3[1] + pe3[1] && ie >= -pb3[2] &&
                                    ie < in3[2] + pe3[2])
                                    padded++;
                                if (ia < 0 || ia >= in3[0] || ib < 0 || ib >= in3[1] ||
                                    ie < 0 || ie >= in3[2])
                                    continue;
                                int64_t xi = xb + (ia * in3[1] + ib) * in3[2] + ie;
                                double v = f32 ? ((const float *)x->data)[xi]
                                               : tsl_ref_getf(x, xi);
                                valid++;
                                if (!is_max)
                                    acc += v;
                                else if (v > acc || v != v)
                                    acc = v;
                            }
                        }
                    }
                    if (!is_max) {
                        int64_t div = at->count_include_pad ? padded : valid;
                        acc = div ? acc / (double)div : 0.0;
                    }
                    if (f32)
                        ((float *)y->data)[yo] = (float)acc;
                    else
                        tsl_dense_set_f64(y->dtype, y->data, yo, acc);
                }
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_global_pool(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need_float(c, 0));
    if (x->shape.rank < 2)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "X must have rank >= 2");
    bool is_max = c->node->op == TSL_OP_GLOBAL_MAX_POOL;
    int64_t dims[TSL_MAX_RANK], inner = 1;
    for (int32_t d = 0; d < x->shape.rank; d++) {
        dims[d] = d < 2 ? x->shape.dims[d] : 1;
        if (d >= 2)
            inner *= x->shape.dims[d];
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, dims));
    int64_t planes = x->shape.dims[0] * x->shape.dims[1];
    for (int64_t p = 0; p < planes; p++) {
        double acc = is_max ? -INFINITY : 0.0;
        for (int64_t i = 0; i < inner; i++) {
            double v = tsl_ref_getf(x, p * inner + i);
            if (!is_max)
                acc += v;
            else if (v > acc || v != v)
                acc = v;
        }
        if (!is_max)
            acc = inner ? acc / (double)inner : NAN;
        tsl_dense_set_f64(x->dtype, c->out[0].data, p, acc);
    }
    return TSL_STATUS_OK;
}
