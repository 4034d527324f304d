/* infer.c - the shape inference driver: the op-indexed table of inference
 * functions, the walk over the node list and the known-value side table
 * (compile-time elements of small integer tensors, decoded from constants or
 * computed by the per-family functions).  It does not contain any op's
 * rule; those live in the family files (elementwise.c, conv.c, ...). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shape/shape_internal.h"
#include "tessel/shape.h"
#include "tessel/util.h"

static const tsl_infer_fn infer_table[TSL_OP_COUNT] = {
    [TSL_OP_ABS] = tsl_infer_unary,
    [TSL_OP_CEIL] = tsl_infer_unary,
    [TSL_OP_COS] = tsl_infer_unary,
    [TSL_OP_ERF] = tsl_infer_unary,
    [TSL_OP_EXP] = tsl_infer_unary,
    [TSL_OP_FLOOR] = tsl_infer_unary,
    [TSL_OP_HARD_SWISH] = tsl_infer_unary,
    [TSL_OP_IDENTITY] = tsl_infer_identity,
    [TSL_OP_LOG] = tsl_infer_unary,
    [TSL_OP_NEG] = tsl_infer_neg,
    [TSL_OP_NOT] = tsl_infer_not,
    [TSL_OP_RECIPROCAL] = tsl_infer_unary,
    [TSL_OP_RELU] = tsl_infer_unary,
    [TSL_OP_ROUND] = tsl_infer_unary,
    [TSL_OP_SIGMOID] = tsl_infer_unary,
    [TSL_OP_SIGN] = tsl_infer_unary,
    [TSL_OP_SIN] = tsl_infer_unary,
    [TSL_OP_SOFTPLUS] = tsl_infer_unary,
    [TSL_OP_SQRT] = tsl_infer_unary,
    [TSL_OP_TANH] = tsl_infer_unary,
    [TSL_OP_ELU] = tsl_infer_unary,
    [TSL_OP_HARD_SIGMOID] = tsl_infer_unary,
    [TSL_OP_LEAKY_RELU] = tsl_infer_unary,
    [TSL_OP_SELU] = tsl_infer_unary,
    [TSL_OP_CLIP] = tsl_infer_clip,
    [TSL_OP_ADD] = tsl_infer_arith,
    [TSL_OP_SUB] = tsl_infer_arith,
    [TSL_OP_MUL] = tsl_infer_arith,
    [TSL_OP_DIV] = tsl_infer_arith,
    [TSL_OP_POW] = tsl_infer_pow,
    [TSL_OP_PRELU] = tsl_infer_prelu,
    [TSL_OP_EQUAL] = tsl_infer_compare,
    [TSL_OP_GREATER] = tsl_infer_compare,
    [TSL_OP_GREATER_OR_EQUAL] = tsl_infer_compare,
    [TSL_OP_LESS] = tsl_infer_compare,
    [TSL_OP_LESS_OR_EQUAL] = tsl_infer_compare,
    [TSL_OP_AND] = tsl_infer_logical,
    [TSL_OP_OR] = tsl_infer_logical,
    [TSL_OP_XOR] = tsl_infer_logical,
    [TSL_OP_MAX] = tsl_infer_variadic,
    [TSL_OP_MIN] = tsl_infer_variadic,
    [TSL_OP_SUM] = tsl_infer_variadic,
    [TSL_OP_MEAN] = tsl_infer_variadic,
    [TSL_OP_WHERE] = tsl_infer_where,
    [TSL_OP_CONV] = tsl_infer_conv,
    [TSL_OP_CONV_TRANSPOSE] = tsl_infer_conv_transpose,
    [TSL_OP_GEMM] = tsl_infer_gemm,
    [TSL_OP_MATMUL] = tsl_infer_matmul,
    [TSL_OP_BATCH_NORM] = tsl_infer_batch_norm,
    [TSL_OP_INSTANCE_NORM] = tsl_infer_instance_norm,
    [TSL_OP_LAYER_NORM] = tsl_infer_layer_norm,
    [TSL_OP_SOFTMAX] = tsl_infer_softmax,
    [TSL_OP_LOG_SOFTMAX] = tsl_infer_softmax,
    [TSL_OP_MAX_POOL] = tsl_infer_pool,
    [TSL_OP_AVERAGE_POOL] = tsl_infer_pool,
    [TSL_OP_GLOBAL_AVERAGE_POOL] = tsl_infer_global_pool,
    [TSL_OP_GLOBAL_MAX_POOL] = tsl_infer_global_pool,
    [TSL_OP_REDUCE_MEAN] = tsl_infer_reduce,
    [TSL_OP_REDUCE_MAX] = tsl_infer_reduce,
    [TSL_OP_REDUCE_MIN] = tsl_infer_reduce,
    [TSL_OP_REDUCE_SUM] = tsl_infer_reduce,
    [TSL_OP_REDUCE_PROD] = tsl_infer_reduce,
    [TSL_OP_REDUCE_L2] = tsl_infer_reduce,
    [TSL_OP_REDUCE_SUM_SQUARE] = tsl_infer_reduce,
    [TSL_OP_ARG_MAX] = tsl_infer_argreduce,
    [TSL_OP_ARG_MIN] = tsl_infer_argreduce,
    [TSL_OP_RESHAPE] = tsl_infer_reshape,
    [TSL_OP_FLATTEN] = tsl_infer_flatten,
    [TSL_OP_TRANSPOSE] = tsl_infer_transpose,
    [TSL_OP_CONCAT] = tsl_infer_concat,
    [TSL_OP_SPLIT] = tsl_infer_split,
    [TSL_OP_SLICE] = tsl_infer_slice,
    [TSL_OP_SQUEEZE] = tsl_infer_squeeze,
    [TSL_OP_UNSQUEEZE] = tsl_infer_unsqueeze,
    [TSL_OP_GATHER] = tsl_infer_gather,
    [TSL_OP_GATHER_ELEMENTS] = tsl_infer_gather_elements,
    [TSL_OP_GATHER_ND] = tsl_infer_gather_nd,
    [TSL_OP_SHAPE] = tsl_infer_shape,
    [TSL_OP_SIZE] = tsl_infer_size,
    [TSL_OP_CONSTANT_OF_SHAPE] = tsl_infer_constant_of_shape,
    [TSL_OP_CAST] = tsl_infer_cast,
    [TSL_OP_EXPAND] = tsl_infer_expand,
    [TSL_OP_TILE] = tsl_infer_tile,
    [TSL_OP_RANGE] = tsl_infer_range,
    [TSL_OP_RESIZE] = tsl_infer_resize,
    [TSL_OP_PAD] = tsl_infer_pad,
    [TSL_OP_DEPTH_TO_SPACE] = tsl_infer_depth_to_space,
    [TSL_OP_SPACE_TO_DEPTH] = tsl_infer_space_to_depth,
    [TSL_OP_TOPK] = tsl_infer_topk,
    [TSL_OP_NON_ZERO] = tsl_infer_non_zero,
    [TSL_OP_NON_MAX_SUPPRESSION] = tsl_infer_nms,
    [TSL_OP_QUANTIZE_LINEAR] = tsl_infer_quantize,
    [TSL_OP_DEQUANTIZE_LINEAR] = tsl_infer_dequantize,
    [TSL_OP_QLINEAR_CONV] = tsl_infer_qlinear_conv,
    [TSL_OP_QLINEAR_MATMUL] = tsl_infer_qlinear_matmul,
};

tsl_infer_fn tsl_infer_fn_for(enum tsl_op op)
{
    return (unsigned)op < TSL_OP_COUNT ? infer_table[op] : NULL;
}

void tsl_node_where(const struct tsl_node *n, uint32_t index, char *buf, size_t size)
{
    if (n->name && *n->name)
        snprintf(buf, size, "%s", n->name);
    else
        snprintf(buf, size, "%s node #%u", tsl_op_name(n->op), index);
}

enum tsl_status tsl_sh_error(struct tsl_infer_ctx *cx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tsl_diag_error(cx->diag, TSL_STATUS_VERIFY, cx->where, "%s", msg);
}

/* ---- known values ---- */

bool tsl_known_all_int(const struct tsl_known *k)
{
    for (uint32_t i = 0; i < k->n; i++)
        if (k->e[i].kind != TSL_K_INT)
            return false;
    return true;
}

enum tsl_status tsl_known_put(struct tsl_infer_ctx *cx, const struct tsl_value *v,
                              const struct tsl_known *k)
{
    if (!v || v->id >= cx->n_known || k->n > TSL_KNOWN_MAX)
        return TSL_STATUS_OK;
    bool any = false;
    for (uint32_t i = 0; i < k->n && !any; i++)
        any = k->e[i].kind != TSL_K_UNKNOWN;
    if (!any && k->n > 0)
        return TSL_STATUS_OK;
    struct tsl_known *slot = cx->known[v->id];
    if (!slot) {
        slot = malloc(sizeof *slot);
        if (!slot)
            return TSL_STATUS_NOMEM;
        cx->known[v->id] = slot;
    }
    *slot = *k;
    return TSL_STATUS_OK;
}

/* Decode a small integer (or integral floating) constant into the table. */
static void known_from_constant(struct tsl_infer_ctx *cx, const struct tsl_value *v)
{
    cx->const_tried[v->id] = 1;
    int64_t numel;
    if (!tsl_shape_numel(&v->type.shape, &numel) || numel > TSL_KNOWN_MAX ||
        v->type.dtype == TSL_DTYPE_UNDEF || v->type.dtype >= TSL_DTYPE_COUNT)
        return;
    void *dense = NULL;
    if (tsl_const_decode(v, &dense, NULL) != TSL_STATUS_OK)
        return;
    struct tsl_known k;
    k.n = (uint32_t)numel;
    bool ok = true;
    for (int64_t i = 0; i < numel && ok; i++) {
        k.e[i].kind = TSL_K_INT;
        if (tsl_dtype_is_float(v->type.dtype)) {
            double x = tsl_dense_get_f64(v->type.dtype, dense, i);
            ok = isfinite(x) && x == floor(x) && fabs(x) < 9.0e18;
            k.e[i].v = ok ? (int64_t)x : 0;
        } else {
            k.e[i].v = tsl_dense_get_i64(v->type.dtype, dense, i);
        }
    }
    free(dense);
    if (ok)
        (void)tsl_known_put(cx, v, &k);
}

const struct tsl_known *tsl_known_get(struct tsl_infer_ctx *cx, const struct tsl_value *v)
{
    if (!v || v->id >= cx->n_known)
        return NULL;
    if (v->constant && !cx->const_tried[v->id])
        known_from_constant(cx, v);
    return cx->known[v->id];
}

/* ---- the walk ---- */

/* Inputs a node may read must carry a type. */
static enum tsl_status check_inputs_typed(struct tsl_infer_ctx *cx, const struct tsl_node *n)
{
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v) {
            if (i < tsl_op_info(n->op)->min_inputs)
                return tsl_sh_error(cx, "required input %u is missing", i);
            continue;
        }
        if (v->type.dtype == TSL_DTYPE_UNDEF || v->type.dtype >= TSL_DTYPE_COUNT)
            return tsl_sh_error(cx, "input %u ('%s') has no known element type", i, v->name);
        if (v->type.shape.rank > TSL_MAX_RANK)
            return tsl_sh_error(cx, "input %u ('%s') has rank %d > %d", i, v->name,
                                v->type.shape.rank, TSL_MAX_RANK);
    }
    return TSL_STATUS_OK;
}

/* An input of unknown rank: outputs get unknown rank and the dtype of the
 * first input (ops with a fixed output type are corrected by their rule
 * when the rank becomes known again downstream). */
static bool has_unknown_rank_input(const struct tsl_node *n)
{
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] && n->inputs[i]->type.shape.rank < 0)
            return true;
    return false;
}

static const enum tsl_dtype fixed_out_dtype[TSL_OP_COUNT] = {
    [TSL_OP_SHAPE] = TSL_DTYPE_I64,     [TSL_OP_SIZE] = TSL_DTYPE_I64,
    [TSL_OP_NON_ZERO] = TSL_DTYPE_I64,  [TSL_OP_ARG_MAX] = TSL_DTYPE_I64,
    [TSL_OP_ARG_MIN] = TSL_DTYPE_I64,   [TSL_OP_NON_MAX_SUPPRESSION] = TSL_DTYPE_I64,
    [TSL_OP_EQUAL] = TSL_DTYPE_BOOL,    [TSL_OP_GREATER] = TSL_DTYPE_BOOL,
    [TSL_OP_LESS] = TSL_DTYPE_BOOL,     [TSL_OP_GREATER_OR_EQUAL] = TSL_DTYPE_BOOL,
    [TSL_OP_LESS_OR_EQUAL] = TSL_DTYPE_BOOL, [TSL_OP_NOT] = TSL_DTYPE_BOOL,
    [TSL_OP_AND] = TSL_DTYPE_BOOL,      [TSL_OP_OR] = TSL_DTYPE_BOOL,
    [TSL_OP_XOR] = TSL_DTYPE_BOOL,      [TSL_OP_DEQUANTIZE_LINEAR] = TSL_DTYPE_F32,
    [TSL_OP_QUANTIZE_LINEAR] = TSL_DTYPE_U8,
};

static void infer_unknown_rank(struct tsl_node *n)
{
    struct tsl_shape s = {.rank = -1};
    enum tsl_dtype dt = fixed_out_dtype[n->op];
    if (n->op == TSL_OP_CAST)
        dt = n->attrs.cast.to;
    else if ((n->op == TSL_OP_QUANTIZE_LINEAR && tsl_in(n, 2)))
        dt = n->inputs[2]->type.dtype;
    else if ((n->op == TSL_OP_QLINEAR_CONV || n->op == TSL_OP_QLINEAR_MATMUL) && tsl_in(n, 7))
        dt = n->inputs[7]->type.dtype;
    else if (n->op == TSL_OP_WHERE && tsl_in(n, 1))
        dt = n->inputs[1]->type.dtype;
    else if (dt == TSL_DTYPE_UNDEF && tsl_in(n, 0))
        dt = n->inputs[0]->type.dtype;
    for (uint32_t o = 0; o < n->n_outputs; o++)
        tsl_sh_set(n, o, (n->op == TSL_OP_TOPK && o == 1) ? TSL_DTYPE_I64 : dt, &s);
}

static enum tsl_status infer_node(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(check_inputs_typed(cx, n));
    TSL_TRY(tsl_check_node_attrs(n, cx->where, cx->diag));
    tsl_infer_fn fn = tsl_infer_fn_for(n->op);
    if (!fn)
        return tsl_diag_error(cx->diag, TSL_STATUS_UNSUPPORTED, cx->where,
                              "no shape rule for op %s", tsl_op_name(n->op));
    if (has_unknown_rank_input(n)) {
        infer_unknown_rank(n);
        return TSL_STATUS_OK;
    }
    TSL_TRY(fn(cx, n));
    for (uint32_t o = 0; o < n->n_outputs; o++) {
        const struct tsl_value *v = n->outputs[o];
        if (v->type.shape.rank > TSL_MAX_RANK)
            return tsl_sh_error(cx, "output %u would have rank %d > %d", o,
                                v->type.shape.rank, TSL_MAX_RANK);
        if (v->type.dtype == TSL_DTYPE_UNDEF || v->type.dtype >= TSL_DTYPE_COUNT)
            return tsl_sh_error(cx, "output %u has no element type", o);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_shapes(struct tsl_graph *g, struct tsl_diag *diag)
{
    if (!g)
        return TSL_STATUS_INVALID_ARG;
    tsl_graph_compact_symbols(g); /* re-inference must not pile up fresh symbols */
    struct tsl_infer_ctx cx = {.g = g, .diag = diag, .where = g->name ? g->name : "graph"};
    cx.n_known = g->next_value_id;
    cx.known = calloc(cx.n_known ? cx.n_known : 1, sizeof *cx.known);
    cx.const_tried = calloc(cx.n_known ? cx.n_known : 1, 1);
    if (!cx.known || !cx.const_tried) {
        free(cx.known);
        free(cx.const_tried);
        return TSL_STATUS_NOMEM;
    }
    enum tsl_status st = TSL_STATUS_OK;
    for (uint32_t i = 0; i < g->n_inputs && st == TSL_STATUS_OK; i++) {
        const struct tsl_value *v = g->inputs[i];
        if (v->type.dtype == TSL_DTYPE_UNDEF || v->type.dtype >= TSL_DTYPE_COUNT)
            st = tsl_diag_error(diag, TSL_STATUS_VERIFY, v->name,
                                "graph input has no element type");
    }
    uint32_t index = 0;
    for (struct tsl_node *n = g->first; n && st == TSL_STATUS_OK; n = n->next, index++) {
        char where[160];
        tsl_node_where(n, index, where, sizeof where);
        cx.where = where;
        st = infer_node(&cx, n);
    }
    for (uint32_t i = 0; i < cx.n_known; i++)
        free(cx.known[i]);
    free(cx.known);
    free(cx.const_tried);
    return st;
}
