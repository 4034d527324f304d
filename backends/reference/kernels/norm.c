/* norm.c - normalization kernels in their inference form:
 * BatchNormalization (running statistics), InstanceNormalization,
 * LayerNormalization (normalized over dims [axis, rank)), and Softmax /
 * LogSoftmax along one axis (opset-13 semantics, max-subtracted).  Means
 * and variances are accumulated in double; variance is the population
 * variance.  Pooling and reductions live elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

static void setf(struct tsl_tensor *y, int64_t i, double v)
{
    if (y->dtype == TSL_DTYPE_F32)
        ((float *)y->data)[i] = (float)v;
    else
        tsl_dense_set_f64(y->dtype, y->data, i, v);
}

static enum tsl_status need_vec(struct tsl_ref_call *c, uint32_t i, const char *what,
                                int64_t len, enum tsl_dtype dt)
{
    const struct tsl_tensor *t;
    TSL_TRY(tsl_ref_need(c, i, &t));
    if (!tsl_dtype_is_float(t->dtype) || t->shape.rank != 1 || t->shape.dims[0] != len)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s must be a float vector of %lld", what,
                            (long long)len);
    (void)dt;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_batch_norm(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need_float(c, 0));
    if (x->shape.rank < 2)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "X must have rank >= 2");
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], inner = 1;
    static const char *const names[] = {"", "scale", "B", "mean", "var"};
    for (uint32_t i = 1; i < 5; i++)
        TSL_TRY(need_vec(c, i, names[i], C, x->dtype));
    for (int32_t d = 2; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    struct tsl_tensor *y = &c->out[0];
    double eps = c->node->attrs.batchnorm.epsilon;
    for (int64_t ch = 0; ch < C; ch++) {
        double a = tsl_ref_getf(c->in[1], ch) / sqrt(tsl_ref_getf(c->in[4], ch) + eps);
        double b = tsl_ref_getf(c->in[2], ch) - tsl_ref_getf(c->in[3], ch) * a;
        for (int64_t n = 0; n < N; n++) {
            int64_t base = (n * C + ch) * inner;
            if (x->dtype == TSL_DTYPE_F32) {
                const float *xs = (const float *)x->data + base;
                float *ys = (float *)y->data + base;
                float fa = (float)a, fb = (float)b;
                for (int64_t i = 0; i < inner; i++)
                    ys[i] = xs[i] * fa + fb;
            } else {
                for (int64_t i = 0; i < inner; i++)
                    setf(y, base + i, tsl_ref_getf(x, base + i) * a + b);
            }
        }
    }
    return TSL_STATUS_OK;
}

/* Normalize `len` contiguous elements starting at base; scale/bias read at
 * sc_off + i*sc_step (or one value when step is 0). */
static void normalize(const struct tsl_tensor *x, struct tsl_tensor *y, int64_t base,
                      int64_t len, double eps, const struct tsl_tensor *sc, int64_t sc_off,
                      int64_t sc_step, const struct tsl_tensor *bi, int64_t bi_off,
                      int64_t bi_step)
{
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < len; i++)
        sum += tsl_ref_getf(x, base + i);
    double mean = len ? sum / (double)len : 0;
    for (int64_t i = 0; i < len; i++) {
        double d = tsl_ref_getf(x, base + i) - mean;
        sq += d * d;
    }
    double inv = 1.0 / sqrt((len ? sq / (double)len : 0) + eps);
    for (int64_t i = 0; i < len; i++) {
        double v = (tsl_ref_getf(x, base + i) - mean) * inv;
        if (sc)
            v *= tsl_ref_getf(sc, sc_off + i * sc_step);
        if (bi)
            v += tsl_ref_getf(bi, bi_off + i * bi_step);
        setf(y, base + i, v);
    }
}

enum tsl_status tsl_ref_instance_norm(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need_float(c, 0));
    if (x->shape.rank < 3)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "X must have rank >= 3");
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], inner = 1;
    TSL_TRY(need_vec(c, 1, "scale", C, x->dtype));
    TSL_TRY(need_vec(c, 2, "B", C, x->dtype));
    for (int32_t d = 2; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    double eps = c->node->attrs.norm.epsilon;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++)
            normalize(x, &c->out[0], (n * C + ch) * inner, inner, eps, c->in[1], ch, 0,
                      c->in[2], ch, 0);
    return TSL_STATUS_OK;
}

/* Offset/step of a tensor broadcast (unidirectionally) onto the trailing
 * dims `tail` of rank tr, flattened: only "full" or "scalar" layouts are
 * needed by LayerNorm, so general broadcasting is resolved per element. */
static bool bcast_tail(const struct tsl_tensor *t, const struct tsl_shape *tail)
{
    struct tsl_shape s;
    return tsl_ref_broadcast(&t->shape, tail, &s) && tsl_shape_equal(&s, tail);
}

enum tsl_status tsl_ref_layer_norm(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x, *sc, *bi = c->n_in > 2 ? c->in[2] : NULL;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need(c, 1, &sc));
    TSL_TRY(tsl_ref_need_float(c, 0));
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.norm.axis, x->shape.rank, "axis", &axis));
    struct tsl_shape tail = {.rank = x->shape.rank - axis};
    int64_t outer = 1, len = 1;
    for (int32_t d = 0; d < x->shape.rank; d++) {
        if (d < axis)
            outer *= x->shape.dims[d];
        else
            len *= (tail.dims[d - axis] = x->shape.dims[d]);
    }
    if (!tsl_dtype_is_float(sc->dtype) || !bcast_tail(sc, &tail) ||
        (bi && (!tsl_dtype_is_float(bi->dtype) || !bcast_tail(bi, &tail))))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "Scale and B must be float and broadcast to X[axis:]");
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    /* Expand scale/bias to the full tail once so normalize() reads them
     * contiguously. */
    double *sv = malloc((size_t)(len ? len : 1) * sizeof(double) * 2);
    if (!sv)
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    double *bv = sv + len;
    int64_t ss[TSL_MAX_RANK], bs[TSL_MAX_RANK];
    tsl_ref_bcast_strides(&sc->shape, &tail, ss);
    if (bi)
        tsl_ref_bcast_strides(&bi->shape, &tail, bs);
    for (int64_t i = 0; i < len; i++) {
        int64_t rem = i, os = 0, ob = 0;
        for (int32_t d = tail.rank - 1; d >= 0; d--) {
            int64_t ix = rem % tail.dims[d];
            rem /= tail.dims[d];
            os += ix * ss[d];
            ob += bi ? ix * bs[d] : 0;
        }
        sv[i] = tsl_ref_getf(sc, os);
        bv[i] = bi ? tsl_ref_getf(bi, ob) : 0.0;
    }
    struct tsl_tensor svt = {.dtype = TSL_DTYPE_F64, .shape = {.rank = 1, .dims = {len}},
                             .data = sv};
    struct tsl_tensor bvt = svt;
    bvt.data = bv;
    double eps = c->node->attrs.norm.epsilon;
    for (int64_t o = 0; o < outer; o++)
        normalize(x, &c->out[0], o * len, len, eps, &svt, 0, 1, &bvt, 0, 1);
    free(sv);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_softmax(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_need_float(c, 0));
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.axis.axis, x->shape.rank, "axis", &axis));
    bool log_form = c->node->op == TSL_OP_LOG_SOFTMAX;
    int64_t outer = 1, len = x->shape.dims[axis], inner = 1;
    for (int32_t d = 0; d < axis; d++)
        outer *= x->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    struct tsl_tensor *y = &c->out[0];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * len * inner + in;
            double mx = -INFINITY, sum = 0;
            for (int64_t i = 0; i < len; i++) {
                double v = tsl_ref_getf(x, base + i * inner);
                if (v > mx || v != v)
                    mx = v;
            }
            for (int64_t i = 0; i < len; i++)
                sum += exp(tsl_ref_getf(x, base + i * inner) - mx);
            double ls = log(sum);
            for (int64_t i = 0; i < len; i++) {
                double d = tsl_ref_getf(x, base + i * inner) - mx;
                setf(y, base + i * inner, log_form ? d - ls : exp(d) / sum);
            }
        }
    return TSL_STATUS_OK;
}
