/* tensor.c - tensor helpers of the reference backend: allocation with
 * checked sizes, freeing, error reporting that names the node, reading
 * small integer/scalar inputs, axis normalization and numpy broadcasting.
 * No kernel arithmetic lives here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

void tsl_tensor_fini(struct tsl_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    free(t->name);
    t->data = NULL;
    t->name = NULL;
}

void tsl_tensors_free(struct tsl_tensor *ts, uint32_t n)
{
    if (!ts)
        return;
    for (uint32_t i = 0; i < n; i++)
        tsl_tensor_fini(&ts[i]);
    free(ts);
}

const char *tsl_ref_where(const struct tsl_node *n)
{
    return n->name && *n->name ? n->name : tsl_op_name(n->op);
}

enum tsl_status tsl_ref_fail(struct tsl_ref_call *c, enum tsl_status st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tsl_diag_error(c->diag, st, tsl_ref_where(c->node), "%s: %s",
                          tsl_op_name(c->node->op), msg);
}

size_t tsl_ref_elem_size(enum tsl_dtype dt)
{
    int bits = tsl_dtype_bits(dt);
    return bits >= 8 ? (size_t)(bits / 8) : 0;
}

int64_t tsl_ref_numel(const struct tsl_tensor *t)
{
    int64_t n = 1;
    for (int32_t i = 0; i < t->shape.rank; i++)
        n *= t->shape.dims[i];
    return n;
}

enum tsl_status tsl_ref_alloc(struct tsl_ref_call *c, uint32_t i, enum tsl_dtype dt,
                              int32_t rank, const int64_t *dims)
{
    if (i >= c->n_out)
        return tsl_ref_fail(c, TSL_STATUS_INTERNAL, "output %u does not exist", i);
    if (rank < 0 || rank > TSL_MAX_RANK)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "output rank %d exceeds %d", rank,
                            TSL_MAX_RANK);
    struct tsl_tensor *t = &c->out[i];
    int64_t numel = 1, bytes;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "output dim %d is negative (%lld)",
                                d, (long long)dims[d]);
        if (!tsl_mul_i64(numel, dims[d], &numel))
            return tsl_ref_fail(c, TSL_STATUS_LIMIT, "output element count overflows");
    }
    if (!tsl_dtype_storage_bytes(dt, numel, &bytes) || bytes > TSL_REF_MAX_TENSOR_BYTES)
        return tsl_ref_fail(c, TSL_STATUS_LIMIT, "output of %lld %s elements is too large",
                            (long long)numel, tsl_dtype_name(dt));
    free(t->data);
    t->data = calloc(1, bytes ? (size_t)bytes : 1);
    if (!t->data)
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "cannot allocate %lld bytes",
                            (long long)bytes);
    t->dtype = dt;
    t->shape.rank = rank;
    for (int32_t d = 0; d < TSL_MAX_RANK; d++)
        t->shape.dims[d] = d < rank ? dims[d] : 0;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_need(struct tsl_ref_call *c, uint32_t i, const struct tsl_tensor **out)
{
    if (i >= c->n_in || !c->in[i])
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input %u is required", i);
    *out = c->in[i];
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_need_float(struct tsl_ref_call *c, uint32_t i)
{
    const struct tsl_tensor *t = NULL;
    TSL_TRY(tsl_ref_need(c, i, &t));
    if (!tsl_dtype_is_float(t->dtype))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "input %u must be float, got %s", i,
                            tsl_dtype_name(t->dtype));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_read_ints(struct tsl_ref_call *c, uint32_t i, const char *what,
                                  int64_t *vals, int64_t max, int64_t *n_out)
{
    const struct tsl_tensor *t;
    if (i >= c->n_in || !c->in[i])
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s is required", what);
    t = c->in[i];
    if (t->dtype != TSL_DTYPE_I64 && t->dtype != TSL_DTYPE_I32)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s must be i64 or i32, got %s", what,
                            tsl_dtype_name(t->dtype));
    int64_t n = tsl_ref_numel(t);
    if (n > max)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s has %lld entries, at most %lld",
                            what, (long long)n, (long long)max);
    for (int64_t k = 0; k < n; k++)
        vals[k] = tsl_ref_geti(t, k);
    *n_out = n;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_read_scalar(struct tsl_ref_call *c, uint32_t i, const char *what,
                                    double *out)
{
    const struct tsl_tensor *t;
    if (i >= c->n_in || !c->in[i])
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s is required", what);
    t = c->in[i];
    if (tsl_ref_numel(t) != 1)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s must have one element, has %lld",
                            what, (long long)tsl_ref_numel(t));
    *out = tsl_ref_getf(t, 0);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_axis(struct tsl_ref_call *c, int64_t axis, int32_t rank,
                             const char *what, int32_t *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "%s %lld is out of range for rank %d",
                            what, (long long)axis, rank);
    *out = (int32_t)a;
    return TSL_STATUS_OK;
}

bool tsl_ref_broadcast(const struct tsl_shape *a, const struct tsl_shape *b,
                       struct tsl_shape *out)
{
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    struct tsl_shape s = {.rank = r};
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            s.dims[i] = da;
        else if (da == 1)
            s.dims[i] = db;
        else
            return false;
    }
    *out = s;
    return true;
}

void tsl_ref_strides(const struct tsl_shape *s, int64_t strides[TSL_MAX_RANK])
{
    int64_t st = 1;
    for (int32_t i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dims[i];
    }
}

void tsl_ref_bcast_strides(const struct tsl_shape *in, const struct tsl_shape *out,
                           int64_t strides[TSL_MAX_RANK])
{
    int64_t own[TSL_MAX_RANK];
    tsl_ref_strides(in, own);
    for (int32_t i = 0; i < out->rank; i++) {
        int32_t j = i - (out->rank - in->rank);
        strides[i] = (j >= 0 && in->dims[j] != 1) ? own[j] : 0;
    }
}

double tsl_ref_getf(const struct tsl_tensor *t, int64_t i)
{
    if (t->dtype == TSL_DTYPE_F32)
        return ((const float *)t->data)[i];
    return tsl_dense_get_f64(t->dtype, t->data, i);
}

int64_t tsl_ref_geti(const struct tsl_tensor *t, int64_t i)
{
    if (t->dtype == TSL_DTYPE_I64)
        return ((const int64_t *)t->data)[i];
    return tsl_dense_get_i64(t->dtype, t->data, i);
}

double tsl_ref_round_even(double x)
{
    /* nearbyint under the default rounding mode (to nearest, ties to even);
     * done explicitly so a caller's fesetround cannot change the result. */
    double f = floor(x), d = x - f;
    if (d > 0.5)
        return f + 1.0;
    if (d < 0.5)
        return f;
    return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

enum tsl_status tsl_ref_tensor_copy(const struct tsl_tensor *src, struct tsl_tensor *dst,
                                    const char *where, struct tsl_diag *diag)
{
    int64_t numel = tsl_ref_numel(src), bytes = 0;
    if (!tsl_dtype_storage_bytes(src->dtype, numel, &bytes))
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, where, "tensor too large");
    struct tsl_tensor t = {.dtype = src->dtype, .shape = src->shape};
    t.data = malloc(bytes ? (size_t)bytes : 1);
    if (!t.data)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "cannot allocate %lld bytes",
                              (long long)bytes);
    if (bytes)
        memcpy(t.data, src->data, (size_t)bytes);
    if (src->name) {
        t.name = tsl_strdup(src->name);
        if (!t.name) {
            free(t.data);
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
        }
    }
    *dst = t;
    return TSL_STATUS_OK;
}
