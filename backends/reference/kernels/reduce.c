/* reduce.c - ReduceMean/Max/Min/Sum/Prod/L2/SumSquare (axes attribute,
 * keepdims, empty axes = all dims unless noop_with_empty_axes) and
 * ArgMax/ArgMin (keepdims, select_last_index; ties pick the first index
 * otherwise).  Floats accumulate in double; integers in int64 with
 * wrap-around (integer mean truncates toward zero).  Reducing an empty set
 * gives sum 0, prod 1, max -inf / min +inf (integer: type limits as int64),
 * mean NaN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

/* Output shape and, per input element, the output element it reduces into. */
struct plan {
    bool red[TSL_MAX_RANK];
    int64_t out_dims[TSL_MAX_RANK];
    int32_t out_rank;
    int64_t ostride[TSL_MAX_RANK]; /* output stride per input dim (0 if reduced) */
};

static void make_plan(const struct tsl_shape *s, const bool *red, bool keep, struct plan *p)
{
    memcpy(p->red, red, sizeof p->red);
    int64_t full[TSL_MAX_RANK];
    p->out_rank = 0;
    for (int32_t d = 0; d < s->rank; d++) {
        full[d] = red[d] ? 1 : s->dims[d];
        if (!red[d] || keep)
            p->out_dims[p->out_rank++] = full[d];
    }
    int64_t st = 1;
    for (int32_t d = s->rank - 1; d >= 0; d--) {
        p->ostride[d] = red[d] ? 0 : st;
        st *= full[d];
    }
}

/* Output index of input element i. */
static int64_t out_index(const struct tsl_shape *s, const struct plan *p, int64_t i)
{
    int64_t o = 0;
    for (int32_t d = s->rank - 1; d >= 0; d--) {
        o += (i % s->dims[d]) * p->ostride[d];
        i /= s->dims[d];
    }
    return o;
}

enum tsl_status tsl_ref_reduce(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    if (x->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool input");
    const struct tsl_attr_reduce *at = &c->node->attrs.reduce;
    enum tsl_op op = c->node->op;
    bool red[TSL_MAX_RANK] = {false};
    if (at->axes.n == 0) {
        if (at->noop_with_empty_axes) {
            TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
            int64_t bytes = 0;
            tsl_dtype_storage_bytes(x->dtype, tsl_ref_numel(x), &bytes);
            if (bytes)
                memcpy(c->out[0].data, x->data, (size_t)bytes);
            return TSL_STATUS_OK;
        }
        for (int32_t d = 0; d < x->shape.rank; d++)
            red[d] = true;
    }
    for (uint32_t i = 0; i < at->axes.n; i++) {
        int32_t a;
        TSL_TRY(tsl_ref_axis(c, at->axes.v[i], x->shape.rank, "axes entry", &a));
        if (red[a])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "axis %d repeated", a);
        red[a] = true;
    }
    struct plan p;
    make_plan(&x->shape, red, at->keepdims != 0, &p);
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, p.out_rank, p.out_dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t on = tsl_ref_numel(y), n = tsl_ref_numel(x), count = on ? n / on : 0;
    bool fl = tsl_dtype_is_float(x->dtype);
    double *af = calloc((size_t)(on ? on : 1), sizeof(double));
    int64_t *ai = calloc((size_t)(on ? on : 1), sizeof(int64_t));
    if (!af || !ai) {
        free(af);
        free(ai);
        return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    }
    for (int64_t o = 0; o < on; o++) {
        if (op == TSL_OP_REDUCE_PROD) {
            af[o] = 1;
            ai[o] = 1;
        } else if (op == TSL_OP_REDUCE_MAX) {
            af[o] = -INFINITY;
            ai[o] = INT64_MIN;
        } else if (op == TSL_OP_REDUCE_MIN) {
            af[o] = INFINITY;
            ai[o] = INT64_MAX;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t o = out_index(&x->shape, &p, i);
        if (fl) {
            double v = tsl_ref_getf(x, i);
            switch (op) {
            case TSL_OP_REDUCE_MAX: if (v > af[o] || v != v) af[o] = v; break;
            case TSL_OP_REDUCE_MIN: if (v < af[o] || v != v) af[o] = v; break;
            case TSL_OP_REDUCE_PROD: af[o] *= v; break;
            case TSL_OP_REDUCE_L2:
            case TSL_OP_REDUCE_SUM_SQUARE: af[o] += v * v; break;
            default: af[o] += v;
            }
        } else {
            int64_t v = tsl_ref_geti(x, i);
            uint64_t u = (uint64_t)v, a = (uint64_t)ai[o];
            switch (op) {
            case TSL_OP_REDUCE_MAX: if (v > ai[o]) ai[o] = v; break;
            case TSL_OP_REDUCE_MIN: if (v < ai[o]) ai[o] = v; break;
            case TSL_OP_REDUCE_PROD: ai[o] = (int64_t)(a * u); break;
            case TSL_OP_REDUCE_L2:
            case TSL_OP_REDUCE_SUM_SQUARE: ai[o] = (int64_t)(a + u * u); break;
            default: ai[o] = (int64_t)(a + u);
            }
        }
    }
    for (int64_t o = 0; o < on; o++) {
        if (fl) {
            double v = af[o];
            if (op == TSL_OP_REDUCE_MEAN)
                v = v / (double)count;
            else if (op == TSL_OP_REDUCE_L2)
                v = sqrt(v);
            tsl_dense_set_f64(y->dtype, y->data, o, v);
        } else {
            int64_t v = ai[o];
            if (op == TSL_OP_REDUCE_MEAN)
                v = count ? v / count : 0;
            else if (op == TSL_OP_REDUCE_L2)
                v = (int64_t)sqrt((double)v);
            tsl_dense_set_i64(y->dtype, y->data, o, v);
        }
    }
    free(af);
    free(ai);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_arg_reduce(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    if (x->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool input");
    const struct tsl_attr_argreduce *at = &c->node->attrs.argreduce;
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, at->axis, x->shape.rank, "axis", &axis));
    int64_t len = x->shape.dims[axis];
    if (len == 0)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "reduced axis is empty");
    bool red[TSL_MAX_RANK] = {false};
    red[axis] = true;
    struct plan p;
    make_plan(&x->shape, red, at->keepdims != 0, &p);
    TSL_TRY(tsl_ref_alloc(c, 0, TSL_DTYPE_I64, p.out_rank, p.out_dims));
    int64_t *y = c->out[0].data;
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++)
        outer *= x->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    bool is_max = c->node->op == TSL_OP_ARG_MAX, last = at->select_last_index != 0;
    bool fl = tsl_dtype_is_float(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * len * inner + in, best = 0;
            for (int64_t i = 1; i < len; i++) {
                int64_t a = base + i * inner, b = base + best * inner;
                int cmp;
                if (fl) {
                    double va = tsl_ref_getf(x, a), vb = tsl_ref_getf(x, b);
                    cmp = va > vb ? 1 : va < vb ? -1 : 0;
                } else {
                    int64_t va = tsl_ref_geti(x, a), vb = tsl_ref_geti(x, b);
                    cmp = va > vb ? 1 : va < vb ? -1 : 0;
                }
                if (!is_max)
                    cmp = -cmp;
                if (cmp > 0 || (cmp == 0 && last))
                    best = i;
            }
            y[o * inner + in] = best;
        }
    return TSL_STATUS_OK;
}
