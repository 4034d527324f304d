/* elementwise.c - shape rules of the elementwise ops: unary (same type),
 * Clip, binary arithmetic with numpy broadcasting, comparisons and logical
 * ops (bool result), variadic Max/Min/Sum/Mean and Where, plus the known-value
 * arithmetic (Identity, Neg, Add/Sub/Mul/Div on compile-time integers and
 * symbolic dims) that shape computations in real models need.  No layout or
 * kernel knowledge. */
#include "shape/shape_internal.h"
#include "tessel/util.h"

static const struct tsl_shape *shp(const struct tsl_node *n, uint32_t i)
{
    return &n->inputs[i]->type.shape;
}

static enum tsl_status same_dtype(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                  uint32_t i, uint32_t j)
{
    enum tsl_dtype a = n->inputs[i]->type.dtype, b = n->inputs[j]->type.dtype;
    if (a != b)
        return tsl_sh_error(cx, "input %u is %s but input %u is %s", i, tsl_dtype_name(a), j,
                            tsl_dtype_name(b));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_unary(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, shp(n, 0));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_identity(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, shp(n, 0));
    const struct tsl_known *k = tsl_known_get(cx, n->inputs[0]);
    return k ? tsl_known_put(cx, n->outputs[0], k) : TSL_STATUS_OK;
}

enum tsl_status tsl_infer_neg(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, shp(n, 0));
    const struct tsl_known *k = tsl_known_get(cx, n->inputs[0]);
    if (!k)
        return TSL_STATUS_OK;
    struct tsl_known r = {.n = k->n};
    for (uint32_t i = 0; i < k->n; i++)
        if (k->e[i].kind == TSL_K_INT && k->e[i].v != INT64_MIN)
            r.e[i] = (struct tsl_kelem){-k->e[i].v, TSL_K_INT};
    return tsl_known_put(cx, n->outputs[0], &r);
}

enum tsl_status tsl_infer_not(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    if (n->inputs[0]->type.dtype != TSL_DTYPE_BOOL)
        return tsl_sh_error(cx, "input must be bool, got %s",
                            tsl_dtype_name(n->inputs[0]->type.dtype));
    tsl_sh_set(n, 0, TSL_DTYPE_BOOL, shp(n, 0));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_clip(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    for (uint32_t i = 1; i < n->n_inputs; i++) {
        const struct tsl_value *b = n->inputs[i];
        if (!b)
            continue;
        TSL_TRY(same_dtype(cx, n, 0, i));
        int64_t numel;
        if (b->type.shape.rank > 1 ||
            (tsl_shape_numel(&b->type.shape, &numel) && numel != 1))
            return tsl_sh_error(cx, "bound input %u ('%s') must be a scalar", i, b->name);
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, shp(n, 0));
    return TSL_STATUS_OK;
}

/* One element of a known-value binary op; unknown when not computable. */
static struct tsl_kelem arith_elem(enum tsl_op op, bool is_float, struct tsl_kelem a,
                                   struct tsl_kelem b)
{
    struct tsl_kelem u = {0, TSL_K_UNKNOWN};
    if (a.kind == TSL_K_UNKNOWN || b.kind == TSL_K_UNKNOWN)
        return u;
    if (a.kind == TSL_K_INT && b.kind == TSL_K_INT) {
        int64_t r;
        bool ok = false;
        if (op == TSL_OP_ADD)
            ok = tsl_add_i64(a.v, b.v, &r);
        else if (op == TSL_OP_SUB)
            ok = !__builtin_sub_overflow(a.v, b.v, &r);
        else if (op == TSL_OP_MUL)
            ok = tsl_mul_i64(a.v, b.v, &r);
        else if (op == TSL_OP_DIV && b.v != 0 && !(a.v == INT64_MIN && b.v == -1)) {
            if (is_float) {
                ok = a.v % b.v == 0;
                r = a.v / b.v;
            } else { /* integer Div floors like numpy */
                r = a.v / b.v;
                if ((a.v % b.v != 0) && ((a.v < 0) != (b.v < 0)))
                    r--;
                ok = true;
            }
        }
        return ok ? (struct tsl_kelem){r, TSL_K_INT} : u;
    }
    /* A symbolic dim survives the identities d*1, d+0, d-0, d/1. */
    if (a.kind == TSL_K_DIM && b.kind == TSL_K_INT) {
        if (((op == TSL_OP_MUL || op == TSL_OP_DIV) && b.v == 1) ||
            ((op == TSL_OP_ADD || op == TSL_OP_SUB) && b.v == 0))
            return a;
    } else if (a.kind == TSL_K_INT && b.kind == TSL_K_DIM) {
        if ((op == TSL_OP_MUL && a.v == 1) || (op == TSL_OP_ADD && a.v == 0))
            return b;
    } else if (a.kind == TSL_K_DIM && b.kind == TSL_K_DIM && a.v == b.v && op == TSL_OP_SUB) {
        return (struct tsl_kelem){0, TSL_K_INT};
    } else if (a.kind == TSL_K_DIM && b.kind == TSL_K_DIM && a.v == b.v && op == TSL_OP_DIV) {
        return (struct tsl_kelem){1, TSL_K_INT};
    }
    return u;
}

/* Known-value arithmetic when both sides are known and one is a single
 * element or both have the same element count. */
static enum tsl_status arith_known(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_known *a = tsl_known_get(cx, n->inputs[0]);
    const struct tsl_known *b = tsl_known_get(cx, n->inputs[1]);
    int64_t numel;
    if (!a || !b || !tsl_shape_numel(&n->outputs[0]->type.shape, &numel) ||
        numel > TSL_KNOWN_MAX)
        return TSL_STATUS_OK;
    if (!((a->n == numel || a->n == 1) && (b->n == numel || b->n == 1)))
        return TSL_STATUS_OK;
    struct tsl_known r = {.n = (uint32_t)numel};
    bool is_float = tsl_dtype_is_float(n->outputs[0]->type.dtype);
    for (int64_t i = 0; i < numel; i++)
        r.e[i] = arith_elem(n->op, is_float, a->e[a->n == 1 ? 0 : i], b->e[b->n == 1 ? 0 : i]);
    return tsl_known_put(cx, n->outputs[0], &r);
}

enum tsl_status tsl_infer_arith(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(same_dtype(cx, n, 0, 1));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return arith_known(cx, n);
}

enum tsl_status tsl_infer_pow(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

/* PRelu: slope broadcasts unidirectionally to x; the output is x's shape. */
enum tsl_status tsl_infer_prelu(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(same_dtype(cx, n, 0, 1));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    if (shp(n, 1)->rank > shp(n, 0)->rank)
        return tsl_sh_error(cx, "slope rank %d exceeds input rank %d", shp(n, 1)->rank,
                            shp(n, 0)->rank);
    for (int32_t i = 0; i < s.rank; i++)
        if (!TSL_DIM_IS_SYM(shp(n, 0)->dims[i]) && !TSL_DIM_IS_SYM(s.dims[i]) &&
            s.dims[i] != shp(n, 0)->dims[i])
            return tsl_sh_error(cx, "slope does not broadcast to the input on axis %d", i);
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, shp(n, 0));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_compare(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(same_dtype(cx, n, 0, 1));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    tsl_sh_set(n, 0, TSL_DTYPE_BOOL, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_logical(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    for (uint32_t i = 0; i < 2; i++)
        if (n->inputs[i]->type.dtype != TSL_DTYPE_BOOL)
            return tsl_sh_error(cx, "input %u must be bool, got %s", i,
                                tsl_dtype_name(n->inputs[i]->type.dtype));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    tsl_sh_set(n, 0, TSL_DTYPE_BOOL, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_variadic(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    struct tsl_shape s = *shp(n, 0);
    for (uint32_t i = 1; i < n->n_inputs; i++) {
        if (!n->inputs[i])
            return tsl_sh_error(cx, "input %u is missing", i);
        TSL_TRY(same_dtype(cx, n, 0, i));
        TSL_TRY(tsl_sh_broadcast(cx, &s, shp(n, i), &s));
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_where(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    if (n->inputs[0]->type.dtype != TSL_DTYPE_BOOL)
        return tsl_sh_error(cx, "condition must be bool, got %s",
                            tsl_dtype_name(n->inputs[0]->type.dtype));
    TSL_TRY(same_dtype(cx, n, 1, 2));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_broadcast(cx, shp(n, 0), shp(n, 1), &s));
    TSL_TRY(tsl_sh_broadcast(cx, &s, shp(n, 2), &s));
    tsl_sh_set(n, 0, n->inputs[1]->type.dtype, &s);
    return TSL_STATUS_OK;
}
