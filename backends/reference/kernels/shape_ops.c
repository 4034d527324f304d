/* shape_ops.c - kernels that compute shapes or reinterpret them without
 * moving elements around: Reshape (0 copies a dim unless allowzero, one -1
 * is inferred), Flatten, Squeeze, Unsqueeze, Shape (start/end clamped),
 * Size, ConstantOfShape and Range.  Kernels that permute or gather data
 * are in movement.c and gather.c. */
#include <math.h>
#include <string.h>

#include "../ref_internal.h"

/* Output 0 = input 0's bytes with a new shape. */
static enum tsl_status copy_as(struct tsl_ref_call *c, const struct tsl_tensor *x,
                               int32_t rank, const int64_t *dims)
{
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, rank, dims));
    if (tsl_ref_numel(&c->out[0]) != tsl_ref_numel(x))
        return tsl_ref_fail(c, TSL_STATUS_INTERNAL, "element count changed");
    int64_t bytes = 0;
    tsl_dtype_storage_bytes(x->dtype, tsl_ref_numel(x), &bytes);
    if (bytes)
        memcpy(c->out[0].data, x->data, (size_t)bytes);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_reshape(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int64_t dims[TSL_MAX_RANK], n;
    TSL_TRY(tsl_ref_read_ints(c, 1, "shape", dims, TSL_MAX_RANK, &n));
    bool allowzero = c->node->attrs.reshape.allowzero != 0;
    int64_t known = 1, infer = -1, numel = tsl_ref_numel(x);
    for (int64_t i = 0; i < n; i++) {
        if (dims[i] == 0 && !allowzero) {
            if (i >= x->shape.rank)
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                    "shape[%lld] = 0 copies a dim the input does not have",
                                    (long long)i);
            dims[i] = x->shape.dims[i];
        }
        if (dims[i] == -1) {
            if (infer >= 0)
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "more than one -1 in shape");
            infer = i;
            continue;
        }
        if (dims[i] < 0 || !tsl_mul_i64(known, dims[i], &known))
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad shape entry %lld",
                                (long long)dims[i]);
    }
    if (infer >= 0) {
        if (known == 0 || numel % known)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "cannot infer -1: %lld elements into blocks of %lld",
                                (long long)numel, (long long)known);
        dims[infer] = numel / known;
    } else if (known != numel) {
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "shape has %lld elements, input has %lld", (long long)known,
                            (long long)numel);
    }
    return copy_as(c, x, (int32_t)n, dims);
}

enum tsl_status tsl_ref_flatten(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int64_t axis = c->node->attrs.axis.axis, r = x->shape.rank;
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis > r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "axis %lld out of range for rank %lld",
                            (long long)c->node->attrs.axis.axis, (long long)r);
    int64_t dims[2] = {1, 1};
    for (int64_t d = 0; d < r; d++)
        dims[d < axis ? 0 : 1] *= x->shape.dims[d];
    return copy_as(c, x, 2, dims);
}

enum tsl_status tsl_ref_squeeze(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_ints *axes = &c->node->attrs.axes.axes;
    bool drop[TSL_MAX_RANK] = {false};
    for (uint32_t i = 0; i < axes->n; i++) {
        int32_t a;
        TSL_TRY(tsl_ref_axis(c, axes->v[i], x->shape.rank, "axes entry", &a));
        if (x->shape.dims[a] != 1)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "dim %d has size %lld, not 1", a,
                                (long long)x->shape.dims[a]);
        drop[a] = true;
    }
    int64_t dims[TSL_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->shape.rank; d++)
        if (!(axes->n ? drop[d] : x->shape.dims[d] == 1))
            dims[r++] = x->shape.dims[d];
    return copy_as(c, x, r, dims);
}

enum tsl_status tsl_ref_unsqueeze(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_ints *axes = &c->node->attrs.axes.axes;
    int32_t r = x->shape.rank + (int32_t)axes->n;
    if (r > TSL_MAX_RANK)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "result rank %d exceeds %d", r,
                            TSL_MAX_RANK);
    bool ins[TSL_MAX_RANK] = {false};
    for (uint32_t i = 0; i < axes->n; i++) {
        int32_t a;
        TSL_TRY(tsl_ref_axis(c, axes->v[i], r, "axes entry", &a));
        if (ins[a])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "axis %d repeated", a);
        ins[a] = true;
    }
    int64_t dims[TSL_MAX_RANK];
    for (int32_t d = 0, j = 0; d < r; d++)
        dims[d] = ins[d] ? 1 : x->shape.dims[j++];
    return copy_as(c, x, r, dims);
}

enum tsl_status tsl_ref_shape_op(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int64_t r = x->shape.rank, s = c->node->attrs.shape.start, e = c->node->attrs.shape.end;
    if (s < 0)
        s += r;
    if (e < 0)
        e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t n = e > s ? e - s : 0;
    TSL_TRY(tsl_ref_alloc(c, 0, TSL_DTYPE_I64, 1, &n));
    for (int64_t i = 0; i < n; i++)
        ((int64_t *)c->out[0].data)[i] = x->shape.dims[s + i];
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_size_op(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_alloc(c, 0, TSL_DTYPE_I64, 0, NULL));
    *(int64_t *)c->out[0].data = tsl_ref_numel(x);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_constant_of_shape(struct tsl_ref_call *c)
{
    int64_t dims[TSL_MAX_RANK], n;
    TSL_TRY(tsl_ref_read_ints(c, 0, "shape", dims, TSL_MAX_RANK, &n));
    const struct tsl_scalar *v = &c->node->attrs.constant_of_shape.value;
    enum tsl_dtype dt = v->dtype == TSL_DTYPE_UNDEF ? TSL_DTYPE_F32 : v->dtype;
    if ((unsigned)dt >= TSL_DTYPE_COUNT || tsl_ref_elem_size(dt) == 0)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "value dtype %s", tsl_dtype_name(dt));
    TSL_TRY(tsl_ref_alloc(c, 0, dt, (int32_t)n, dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t numel = tsl_ref_numel(y);
    size_t es = tsl_ref_elem_size(dt);
    if (numel == 0 || v->dtype == TSL_DTYPE_UNDEF)
        return TSL_STATUS_OK; /* already zero */
    if (tsl_dtype_is_float(dt))
        tsl_dense_set_f64(dt, y->data, 0, v->f);
    else
        tsl_dense_set_i64(dt, y->data, 0, v->i);
    for (int64_t i = 1; i < numel; i++)
        memcpy((uint8_t *)y->data + (size_t)i * es, y->data, es);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_range(struct tsl_ref_call *c)
{
    const struct tsl_tensor *t0, *t1, *t2;
    TSL_TRY(tsl_ref_need(c, 0, &t0));
    TSL_TRY(tsl_ref_need(c, 1, &t1));
    TSL_TRY(tsl_ref_need(c, 2, &t2));
    enum tsl_dtype dt = t0->dtype;
    if (t1->dtype != dt || t2->dtype != dt || dt == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "start, limit and delta must share a "
                            "numeric dtype");
    if (tsl_ref_numel(t0) != 1 || tsl_ref_numel(t1) != 1 || tsl_ref_numel(t2) != 1)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "start, limit and delta must be scalars");
    int64_t n;
    if (tsl_dtype_is_float(dt)) {
        double s = tsl_ref_getf(t0, 0), l = tsl_ref_getf(t1, 0), d = tsl_ref_getf(t2, 0);
        double cnt = ceil((l - s) / d);
        if (d == 0 || !(cnt == cnt) || cnt > 1e12)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad range (delta %g)", d);
        n = cnt > 0 ? (int64_t)cnt : 0;
        TSL_TRY(tsl_ref_alloc(c, 0, dt, 1, &n));
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(dt, c->out[0].data, i, s + (double)i * d);
    } else {
        int64_t s = tsl_ref_geti(t0, 0), l = tsl_ref_geti(t1, 0), d = tsl_ref_geti(t2, 0);
        if (d == 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "delta is 0");
        double cnt = ceil(((double)l - (double)s) / (double)d);
        if (cnt > 1e12)
            return tsl_ref_fail(c, TSL_STATUS_LIMIT, "range too long");
        n = cnt > 0 ? (int64_t)cnt : 0;
        TSL_TRY(tsl_ref_alloc(c, 0, dt, 1, &n));
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_i64(dt, c->out[0].data, i,
                              (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d));
    }
    return TSL_STATUS_OK;
}
