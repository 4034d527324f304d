/* binary.c - binary and variadic elementwise kernels with numpy
 * broadcasting: Add Sub Mul Div Pow PRelu, comparisons (Equal Greater ...
 * -> bool), logical And/Or/Xor on bool, Max/Min/Sum/Mean and Where.
 * f32 runs in float with tight inner rows; f64/f16/bf16 compute in double;
 * integers compute in int64 with two's-complement wrap-around (Div
 * truncates toward zero, division by zero is an error).  Unary ops live in
 * elementwise.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

/* ---- broadcasting row iterator ---- */

#define MAX_OPERANDS 3

typedef void (*row_fn)(void *ctx, const int64_t *off, const int64_t *step, int64_t out_off,
                       int64_t n);

/* Visit the output in rows along its last dim; off[k]/step[k] are operand
 * k's element offset and stride along that row. */
static void for_rows(const struct tsl_shape *out, uint32_t n_ops,
                     int64_t strides[][TSL_MAX_RANK], row_fn f, void *ctx)
{
    int32_t r = out->rank;
    int64_t off[MAX_OPERANDS] = {0}, step[MAX_OPERANDS] = {0}, idx[TSL_MAX_RANK] = {0};
    int64_t n = r ? out->dims[r - 1] : 1, rows = 1;
    for (int32_t d = 0; d + 1 < r; d++)
        rows *= out->dims[d];
    if (n == 0 || rows == 0)
        return;
    for (uint32_t k = 0; k < n_ops; k++)
        step[k] = r ? strides[k][r - 1] : 0;
    for (int64_t row = 0; row < rows; row++) {
        f(ctx, off, step, row * n, n);
        for (int32_t d = r - 2; d >= 0; d--) {
            idx[d]++;
            for (uint32_t k = 0; k < n_ops; k++)
                off[k] += strides[k][d];
            if (idx[d] < out->dims[d])
                break;
            for (uint32_t k = 0; k < n_ops; k++)
                off[k] -= strides[k][d] * out->dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- scalar semantics ---- */

static bool is_cmp(enum tsl_op op)
{
    return op == TSL_OP_EQUAL || op == TSL_OP_GREATER || op == TSL_OP_GREATER_OR_EQUAL ||
           op == TSL_OP_LESS || op == TSL_OP_LESS_OR_EQUAL;
}

static bool is_logic(enum tsl_op op)
{
    return op == TSL_OP_AND || op == TSL_OP_OR || op == TSL_OP_XOR;
}

static double op_f(enum tsl_op op, double a, double b)
{
    switch (op) {
    case TSL_OP_ADD: case TSL_OP_SUM: case TSL_OP_MEAN: return a + b;
    case TSL_OP_SUB: return a - b;
    case TSL_OP_MUL: return a * b;
    case TSL_OP_DIV: return a / b;
    case TSL_OP_POW: return pow(a, b);
    case TSL_OP_PRELU: return a < 0 ? a * b : a;
    case TSL_OP_MAX: return (a != a || a > b) ? a : b;
    case TSL_OP_MIN: return (a != a || a < b) ? a : b;
    default: return 0;
    }
}

static bool op_cmp_f(enum tsl_op op, double a, double b)
{
    switch (op) {
    case TSL_OP_EQUAL: return a == b;
    case TSL_OP_GREATER: return a > b;
    case TSL_OP_GREATER_OR_EQUAL: return a >= b;
    case TSL_OP_LESS: return a < b;
    default: return a <= b;
    }
}

static bool op_cmp_u(enum tsl_op op, uint64_t a, uint64_t b)
{
    switch (op) {
    case TSL_OP_EQUAL: return a == b;
    case TSL_OP_GREATER: return a > b;
    case TSL_OP_GREATER_OR_EQUAL: return a >= b;
    case TSL_OP_LESS: return a < b;
    default: return a <= b;
    }
}

static bool op_cmp_i(enum tsl_op op, int64_t a, int64_t b)
{
    switch (op) {
    case TSL_OP_EQUAL: return a == b;
    case TSL_OP_GREATER: return a > b;
    case TSL_OP_GREATER_OR_EQUAL: return a >= b;
    case TSL_OP_LESS: return a < b;
    default: return a <= b;
    }
}

static int64_t ipow(int64_t base, int64_t e)
{
    if (e < 0)
        return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Integer arithmetic with wrap-around; *bad set on division by zero. */
static int64_t op_i(enum tsl_op op, int64_t a, int64_t b, bool *bad)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case TSL_OP_ADD: case TSL_OP_SUM: return (int64_t)(ua + ub);
    case TSL_OP_SUB: return (int64_t)(ua - ub);
    case TSL_OP_MUL: return (int64_t)(ua * ub);
    case TSL_OP_DIV:
        if (b == 0) {
            *bad = true;
            return 0;
        }
        if (a == INT64_MIN && b == -1)
            return INT64_MIN;
        return a / b;
    case TSL_OP_POW: return ipow(a, b);
    case TSL_OP_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
    case TSL_OP_MAX: return a > b ? a : b;
    case TSL_OP_MIN: return a < b ? a : b;
    default: return 0;
    }
}

/* ---- the row worker ---- */

struct bin_ctx {
    enum tsl_op op;
    const struct tsl_tensor *a, *b;
    struct tsl_tensor *y;
    bool bad;
};

static void f32_row(enum tsl_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                    float *y, int64_t n)
{
    switch (op) {
    case TSL_OP_ADD: case TSL_OP_SUM: case TSL_OP_MEAN:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] + b[i * sb];
        break;
    case TSL_OP_SUB:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] - b[i * sb];
        break;
    case TSL_OP_MUL:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] * b[i * sb];
        break;
    case TSL_OP_DIV:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] / b[i * sb];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            y[i] = (float)op_f(op, a[i * sa], b[i * sb]);
    }
}

static void bin_row(void *vctx, const int64_t *off, const int64_t *step, int64_t o, int64_t n)
{
    struct bin_ctx *c = vctx;
    const struct tsl_tensor *a = c->a, *b = c->b;
    struct tsl_tensor *y = c->y;
    enum tsl_op op = c->op;
    if (is_cmp(op) || is_logic(op)) {
        uint8_t *out = (uint8_t *)y->data + o;
        bool fl = tsl_dtype_is_float(a->dtype), u64 = a->dtype == TSL_DTYPE_U64;
        for (int64_t i = 0; i < n; i++) {
            int64_t ia = off[0] + i * step[0], ib = off[1] + i * step[1];
            bool r;
            if (is_logic(op)) {
                bool x = ((const uint8_t *)a->data)[ia] != 0;
                bool z = ((const uint8_t *)b->data)[ib] != 0;
                r = op == TSL_OP_AND ? (x && z) : op == TSL_OP_OR ? (x || z) : (x != z);
            } else if (fl) {
                r = op_cmp_f(op, tsl_ref_getf(a, ia), tsl_ref_getf(b, ib));
            } else if (u64) {
                r = op_cmp_u(op, ((const uint64_t *)a->data)[ia],
                             ((const uint64_t *)b->data)[ib]);
            } else {
                r = op_cmp_i(op, tsl_ref_geti(a, ia), tsl_ref_geti(b, ib));
            }
            out[i] = r;
        }
        return;
    }
    if (a->dtype == TSL_DTYPE_F32 && b->dtype == TSL_DTYPE_F32) {
        f32_row(op, (const float *)a->data + off[0], step[0], (const float *)b->data + off[1],
                step[1], (float *)y->data + o, n);
        return;
    }
    if (tsl_dtype_is_float(y->dtype)) {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(y->dtype, y->data, o + i,
                              op_f(op, tsl_ref_getf(a, off[0] + i * step[0]),
                                   tsl_ref_getf(b, off[1] + i * step[1])));
        return;
    }
    if (op == TSL_OP_POW && tsl_dtype_is_float(b->dtype)) {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(y->dtype, y->data, o + i,
                              pow((double)tsl_ref_geti(a, off[0] + i * step[0]),
                                  tsl_ref_getf(b, off[1] + i * step[1])));
        return;
    }
    for (int64_t i = 0; i < n; i++)
        tsl_dense_set_i64(y->dtype, y->data, o + i,
                          op_i(op, tsl_ref_geti(a, off[0] + i * step[0]),
                               tsl_ref_geti(b, off[1] + i * step[1]), &c->bad));
}

/* y = a op b with y already allocated in the broadcast shape. */
static enum tsl_status apply(struct tsl_ref_call *c, enum tsl_op op, const struct tsl_tensor *a,
                             const struct tsl_tensor *b, struct tsl_tensor *y)
{
    int64_t st[2][TSL_MAX_RANK];
    tsl_ref_bcast_strides(&a->shape, &y->shape, st[0]);
    tsl_ref_bcast_strides(&b->shape, &y->shape, st[1]);
    struct bin_ctx ctx = {.op = op, .a = a, .b = b, .y = y};
    for_rows(&y->shape, 2, st, bin_row, &ctx);
    if (ctx.bad)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "integer division by zero");
    return TSL_STATUS_OK;
}

static enum tsl_status check_dtypes(struct tsl_ref_call *c, enum tsl_op op,
                                    const struct tsl_tensor *a, const struct tsl_tensor *b)
{
    if (is_logic(op)) {
        if (a->dtype != TSL_DTYPE_BOOL || b->dtype != TSL_DTYPE_BOOL)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inputs must be bool, got %s and %s",
                                tsl_dtype_name(a->dtype), tsl_dtype_name(b->dtype));
        return TSL_STATUS_OK;
    }
    if (op != TSL_OP_POW && a->dtype != b->dtype)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input dtypes differ: %s and %s",
                            tsl_dtype_name(a->dtype), tsl_dtype_name(b->dtype));
    if (a->dtype == TSL_DTYPE_BOOL && op != TSL_OP_EQUAL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool inputs");
    if (b->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool exponent");
    if (op == TSL_OP_MEAN && !tsl_dtype_is_float(a->dtype))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "Mean needs float inputs, got %s",
                            tsl_dtype_name(a->dtype));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_binary(struct tsl_ref_call *c)
{
    const struct tsl_tensor *a, *b;
    TSL_TRY(tsl_ref_need(c, 0, &a));
    TSL_TRY(tsl_ref_need(c, 1, &b));
    enum tsl_op op = c->node->op;
    TSL_TRY(check_dtypes(c, op, a, b));
    struct tsl_shape s;
    if (!tsl_ref_broadcast(&a->shape, &b->shape, &s))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "shapes cannot be broadcast");
    if (op == TSL_OP_PRELU && !tsl_shape_equal(&s, &a->shape))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "slope does not broadcast to X");
    enum tsl_dtype dt = is_cmp(op) || is_logic(op) ? TSL_DTYPE_BOOL : a->dtype;
    TSL_TRY(tsl_ref_alloc(c, 0, dt, s.rank, s.dims));
    return apply(c, op, a, b, &c->out[0]);
}

enum tsl_status tsl_ref_variadic(struct tsl_ref_call *c)
{
    enum tsl_op op = c->node->op;
    const struct tsl_tensor *first;
    TSL_TRY(tsl_ref_need(c, 0, &first));
    struct tsl_shape s = first->shape;
    for (uint32_t i = 0; i < c->n_in; i++) {
        const struct tsl_tensor *t;
        TSL_TRY(tsl_ref_need(c, i, &t));
        TSL_TRY(check_dtypes(c, op, first, t));
        if (!tsl_ref_broadcast(&s, &t->shape, &s))
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input %u cannot be broadcast", i);
    }
    TSL_TRY(tsl_ref_alloc(c, 0, first->dtype, s.rank, s.dims));
    struct tsl_tensor *y = &c->out[0];
    /* y = broadcast(first): first op zero-element "Max(first, first)". */
    TSL_TRY(apply(c, TSL_OP_MAX, first, first, y));
    for (uint32_t i = 1; i < c->n_in; i++)
        TSL_TRY(apply(c, op, y, c->in[i], y));
    if (op == TSL_OP_MEAN) {
        int64_t n = tsl_ref_numel(y);
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(y->dtype, y->data, i, tsl_ref_getf(y, i) / (double)c->n_in);
    }
    return TSL_STATUS_OK;
}

struct where_ctx {
    const struct tsl_tensor *cond, *x, *z;
    struct tsl_tensor *y;
    size_t es;
};

static void where_row(void *vctx, const int64_t *off, const int64_t *step, int64_t o, int64_t n)
{
    struct where_ctx *w = vctx;
    const uint8_t *cond = w->cond->data;
    uint8_t *out = w->y->data;
    for (int64_t i = 0; i < n; i++) {
        bool pick = cond[off[0] + i * step[0]] != 0;
        const struct tsl_tensor *src = pick ? w->x : w->z;
        int64_t si = pick ? off[1] + i * step[1] : off[2] + i * step[2];
        memcpy(out + (size_t)(o + i) * w->es, (const uint8_t *)src->data + (size_t)si * w->es,
               w->es);
    }
}

enum tsl_status tsl_ref_where_op(struct tsl_ref_call *c)
{
    const struct tsl_tensor *cond, *x, *z;
    TSL_TRY(tsl_ref_need(c, 0, &cond));
    TSL_TRY(tsl_ref_need(c, 1, &x));
    TSL_TRY(tsl_ref_need(c, 2, &z));
    if (cond->dtype != TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "condition must be bool, got %s",
                            tsl_dtype_name(cond->dtype));
    if (x->dtype != z->dtype)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "X is %s but Y is %s",
                            tsl_dtype_name(x->dtype), tsl_dtype_name(z->dtype));
    struct tsl_shape s;
    if (!tsl_ref_broadcast(&cond->shape, &x->shape, &s) || !tsl_ref_broadcast(&s, &z->shape, &s))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "shapes cannot be broadcast");
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, s.rank, s.dims));
    int64_t st[3][TSL_MAX_RANK];
    tsl_ref_bcast_strides(&cond->shape, &s, st[0]);
    tsl_ref_bcast_strides(&x->shape, &s, st[1]);
    tsl_ref_bcast_strides(&z->shape, &s, st[2]);
    struct where_ctx w = {cond, x, z, &c->out[0], tsl_ref_elem_size(x->dtype)};
    for_rows(&s, 3, st, where_row, &w);
    return TSL_STATUS_OK;
}
