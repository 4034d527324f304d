/* resize.c - Resize (opset 13..17 form: X, roi, scales, sizes) for every
 * mode (nearest with all four nearest_modes, n-linear, cubic with
 * cubic_coeff_a and exclude_outside) and every
 * coordinate_transformation_mode, including tf_crop_and_resize with roi and
 * extrapolation_value.  Interpolation is separable: each dim gets up to four
 * (index, weight) taps per output coordinate and an output element sums the
 * product of its taps.  Linear clamps the source coordinate to [0, in-1];
 * cubic reads edge values for taps outside the input (or drops and
 * renormalizes them with exclude_outside). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

struct taps {
    int64_t n;       /* output length of this dim */
    uint8_t *count;  /* taps per output coordinate (0 = extrapolate) */
    int64_t *idx;    /* 4 per coordinate */
    double *w;       /* 4 per coordinate */
};

static double source_coord(enum tsl_coord_mode m, double x, double scale, int64_t in,
                           int64_t out, double roi_s, double roi_e)
{
    switch (m) {
    case TSL_coord_mode_PYTORCH_HALF_PIXEL:
        return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case TSL_coord_mode_ALIGN_CORNERS:
        return out == 1 ? 0.0 : x * (double)(in - 1) / (double)(out - 1);
    case TSL_coord_mode_ASYMMETRIC:
        return x / scale;
    case TSL_coord_mode_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / scale;
    case TSL_coord_mode_TF_CROP_AND_RESIZE:
        return out > 1 ? roi_s * (double)(in - 1) +
                             x * (roi_e - roi_s) * (double)(in - 1) / (double)(out - 1)
                       : 0.5 * (roi_s + roi_e) * (double)(in - 1);
    default: /* half_pixel */
        return (x + 0.5) / scale - 0.5;
    }
}

static int64_t nearest(enum tsl_nearest_mode m, double x)
{
    double f = floor(x);
    switch (m) {
    case TSL_nearest_mode_ROUND_PREFER_CEIL: return (int64_t)(x - f >= 0.5 ? f + 1 : f);
    case TSL_nearest_mode_FLOOR: return (int64_t)f;
    case TSL_nearest_mode_CEIL: return (int64_t)ceil(x);
    default: return (int64_t)(x - f > 0.5 ? f + 1 : f);
    }
}

static void cubic_coeffs(double t, double A, double *c)
{
    double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
    c[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
    c[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

static void make_taps(const struct tsl_attr_resize *at, int64_t in, double scale,
                      double roi_s, double roi_e, struct taps *t)
{
    enum tsl_coord_mode cm = at->coordinate_transformation_mode;
    for (int64_t o = 0; o < t->n; o++) {
        double x = source_coord(cm, (double)o, scale, in, t->n, roi_s, roi_e);
        int64_t *ix = t->idx + 4 * o;
        double *w = t->w + 4 * o;
        if (cm == TSL_coord_mode_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1))) {
            t->count[o] = 0;
            continue;
        }
        if (at->mode == TSL_resize_mode_NEAREST) {
            int64_t k = nearest(at->nearest_mode, x);
            ix[0] = k < 0 ? 0 : k >= in ? in - 1 : k;
            w[0] = 1;
            t->count[o] = 1;
        } else if (at->mode == TSL_resize_mode_LINEAR) {
            x = x < 0 ? 0 : x > (double)(in - 1) ? (double)(in - 1) : x;
            int64_t x0 = (int64_t)floor(x), x1 = x0 + 1 < in ? x0 + 1 : in - 1;
            double f = x - (double)x0;
            ix[0] = x0;
            ix[1] = x1;
            w[0] = 1 - f;
            w[1] = f;
            t->count[o] = 2;
        } else {
            double f = floor(x), cf[4], sum = 0;
            cubic_coeffs(x - f, at->cubic_coeff_a, cf);
            for (int k = 0; k < 4; k++) {
                int64_t s = (int64_t)f - 1 + k;
                bool outside = s < 0 || s >= in;
                if (outside && at->exclude_outside)
                    cf[k] = 0;
                ix[k] = s < 0 ? 0 : s >= in ? in - 1 : s;
                sum += cf[k];
            }
            for (int k = 0; k < 4; k++)
                w[k] = at->exclude_outside && sum != 0 ? cf[k] / sum : cf[k];
            t->count[o] = 4;
        }
    }
}

enum tsl_status tsl_ref_resize(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_attr_resize *at = &c->node->attrs.resize;
    int32_t r = x->shape.rank;
    if (at->mode != TSL_resize_mode_NEAREST && !tsl_dtype_is_float(x->dtype) &&
        x->dtype != TSL_DTYPE_U8 && x->dtype != TSL_DTYPE_I8)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "interpolating %s",
                            tsl_dtype_name(x->dtype));
    const struct tsl_tensor *roi = c->n_in > 1 ? c->in[1] : NULL;
    const struct tsl_tensor *sc = c->n_in > 2 ? c->in[2] : NULL;
    const struct tsl_tensor *sz = c->n_in > 3 ? c->in[3] : NULL;
    if (sc && tsl_ref_numel(sc) == 0)
        sc = NULL;
    if (sz && tsl_ref_numel(sz) == 0)
        sz = NULL;
    if (!sc == !sz)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "exactly one of scales and sizes must "
                            "be given");
    double scales[TSL_MAX_RANK], rs[TSL_MAX_RANK], re[TSL_MAX_RANK];
    int64_t dims[TSL_MAX_RANK];
    if (sc) {
        if (!tsl_dtype_is_float(sc->dtype) || tsl_ref_numel(sc) != r)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "scales must be %d floats", r);
        for (int32_t d = 0; d < r; d++) {
            scales[d] = tsl_ref_getf(sc, d);
            double o = floor((double)x->shape.dims[d] * scales[d]);
            if (!(scales[d] > 0) || !(o < 1e12))
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad scale %g on dim %d",
                                    scales[d], d);
            dims[d] = (int64_t)o;
        }
    } else {
        int64_t n;
        TSL_TRY(tsl_ref_read_ints(c, 3, "sizes", dims, TSL_MAX_RANK, &n));
        if (n != r)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "sizes must have %d entries", r);
        for (int32_t d = 0; d < r; d++) {
            if (dims[d] < 0)
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "negative size");
            scales[d] = x->shape.dims[d] ? (double)dims[d] / (double)x->shape.dims[d] : 1.0;
        }
    }
    bool crop = at->coordinate_transformation_mode == TSL_coord_mode_TF_CROP_AND_RESIZE;
    for (int32_t d = 0; d < r; d++) {
        rs[d] = 0;
        re[d] = 1;
    }
    if (crop) {
        if (!roi || !tsl_dtype_is_float(roi->dtype) || tsl_ref_numel(roi) != 2 * r)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "tf_crop_and_resize needs roi with %d floats", 2 * r);
        for (int32_t d = 0; d < r; d++) {
            rs[d] = tsl_ref_getf(roi, d);
            re[d] = tsl_ref_getf(roi, d + r);
        }
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t total = tsl_ref_numel(y);
    if (total == 0)
        return TSL_STATUS_OK;
    for (int32_t d = 0; d < r; d++)
        if (x->shape.dims[d] == 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "cannot resize an empty input");
    struct taps t[TSL_MAX_RANK];
    memset(t, 0, sizeof t);
    enum tsl_status st = TSL_STATUS_OK;
    for (int32_t d = 0; d < r; d++) {
        t[d].n = dims[d];
        t[d].count = malloc((size_t)dims[d]);
        t[d].idx = malloc((size_t)dims[d] * 4 * sizeof(int64_t));
        t[d].w = malloc((size_t)dims[d] * 4 * sizeof(double));
        if (!t[d].count || !t[d].idx || !t[d].w) {
            st = tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
            goto done;
        }
        make_taps(at, x->shape.dims[d], scales[d], rs[d], re[d], &t[d]);
    }
    int64_t xs[TSL_MAX_RANK];
    tsl_ref_strides(&x->shape, xs);
    bool nn = at->mode == TSL_resize_mode_NEAREST;
    size_t es = tsl_ref_elem_size(x->dtype);
    int64_t oi[TSL_MAX_RANK] = {0};
    for (int64_t i = 0; i < total; i++) {
        bool extrap = false;
        int64_t combos = 1;
        for (int32_t d = 0; d < r; d++) {
            if (t[d].count[oi[d]] == 0)
                extrap = true;
            combos *= t[d].count[oi[d]];
        }
        if (extrap) {
            tsl_dense_set_f64(y->dtype, y->data, i, at->extrapolation_value);
        } else if (nn) {
            int64_t off = 0;
            for (int32_t d = 0; d < r; d++)
                off += t[d].idx[4 * oi[d]] * xs[d];
            memcpy((uint8_t *)y->data + (size_t)i * es,
                   (const uint8_t *)x->data + (size_t)off * es, es);
        } else {
            double acc = 0;
            for (int64_t cb = 0; cb < combos; cb++) {
                int64_t rem = cb, off = 0;
                double w = 1;
                for (int32_t d = r - 1; d >= 0; d--) {
                    int64_t k = rem % t[d].count[oi[d]];
                    rem /= t[d].count[oi[d]];
                    off += t[d].idx[4 * oi[d] + k] * xs[d];
                    w *= t[d].w[4 * oi[d] + k];
                }
                if (w != 0)
                    acc += w * tsl_ref_getf(x, off);
            }
            if (tsl_dtype_is_float(y->dtype))
                tsl_dense_set_f64(y->dtype, y->data, i, acc);
            else
                tsl_dense_set_f64(y->dtype, y->data, i,
                                  fmax(y->dtype == TSL_DTYPE_U8 ? 0 : -128,
                                       fmin(y->dtype == TSL_DTYPE_U8 ? 255 : 127,
                                            tsl_ref_round_even(acc))));
        }
        for (int32_t d = r - 1; d >= 0; d--) {
            if (++oi[d] < dims[d])
                break;
            oi[d] = 0;
        }
    }
done:
    for (int32_t d = 0; d < r; d++) {
        free(t[d].count);
        free(t[d].idx);
        free(t[d].w);
    }
    return st;
}
