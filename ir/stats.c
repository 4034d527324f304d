/* stats.c - graph statistics: parameter count and dense storage bytes of
 * every constant, multiply-accumulate counts of Conv, ConvTranspose, Gemm,
 * MatMul, QLinearConv and QLinearMatMul from inferred shapes (a symbolic
 * dim counts as 1 and sets macs_symbolic), and nodes per op.  Reads the
 * graph only; shapes must have been inferred first for MACs to be
 * meaningful (nodes with unknown ranks contribute nothing).  MAC formulas
 * are an op-indexed table. */
#include <string.h>

#include "tessel/stats.h"
#include "tessel/util.h"

struct mac_acc {
    int64_t macs;
    bool symbolic;
    bool overflow;
};

/* Multiply a known or symbolic (counted as 1) dim into *p. */
static void mul_dim(struct mac_acc *a, int64_t *p, int64_t d)
{
    if (TSL_DIM_IS_SYM(d)) {
        a->symbolic = true;
        return;
    }
    if (!tsl_mul_i64(*p, d, p))
        a->overflow = true;
}

static const struct tsl_shape *in_shape(const struct tsl_node *n, uint32_t i)
{
    if (i >= n->n_inputs || !n->inputs[i] || n->inputs[i]->type.shape.rank < 0)
        return NULL;
    return &n->inputs[i]->type.shape;
}

static const struct tsl_shape *out_shape(const struct tsl_node *n)
{
    return n->n_outputs && n->outputs[0]->type.shape.rank >= 0 ? &n->outputs[0]->type.shape
                                                                : NULL;
}

/* Conv: N * Cout * prod(out spatial) * (Cin/group) * prod(kernel); the
 * weight's dim 1 is Cin/group and its dims 2.. the kernel. */
static int64_t conv_macs_w(struct mac_acc *a, const struct tsl_node *n, uint32_t wi)
{
    const struct tsl_shape *w = in_shape(n, wi), *y = out_shape(n);
    if (!w || !y || w->rank < 3 || y->rank != w->rank)
        return 0;
    int64_t p = 1;
    for (int32_t i = 0; i < y->rank; i++)
        mul_dim(a, &p, y->dims[i]); /* N, Cout, spatial */
    for (int32_t i = 1; i < w->rank; i++)
        mul_dim(a, &p, w->dims[i]); /* Cin/group, kernel */
    return p;
}

static int64_t conv_macs(struct mac_acc *a, const struct tsl_node *n)
{
    return conv_macs_w(a, n, 1);
}

static int64_t qlinear_conv_macs(struct mac_acc *a, const struct tsl_node *n)
{
    return conv_macs_w(a, n, 3);
}

/* ConvTranspose: N * Cin * prod(in spatial) * (Cout/group) * prod(kernel);
 * weight is [Cin, Cout/group, k...]. */
static int64_t conv_transpose_macs(struct mac_acc *a, const struct tsl_node *n)
{
    const struct tsl_shape *x = in_shape(n, 0), *w = in_shape(n, 1);
    if (!x || !w || x->rank < 3 || w->rank != x->rank)
        return 0;
    int64_t p = 1;
    for (int32_t i = 0; i < x->rank; i++)
        mul_dim(a, &p, x->dims[i]);
    for (int32_t i = 1; i < w->rank; i++)
        mul_dim(a, &p, w->dims[i]);
    return p;
}

static int64_t gemm_macs(struct mac_acc *a, const struct tsl_node *n)
{
    const struct tsl_shape *x = in_shape(n, 0), *y = out_shape(n);
    if (!x || !y || x->rank != 2 || y->rank != 2)
        return 0;
    int64_t p = 1;
    mul_dim(a, &p, y->dims[0]);
    mul_dim(a, &p, y->dims[1]);
    mul_dim(a, &p, x->dims[n->attrs.gemm.transA ? 0 : 1]);
    return p;
}

/* MatMul: every output element takes K products; K = last dim of A. */
static int64_t matmul_macs_ab(struct mac_acc *a, const struct tsl_node *n, uint32_t ai)
{
    const struct tsl_shape *x = in_shape(n, ai), *y = out_shape(n);
    if (!x || !y || x->rank < 1)
        return 0;
    int64_t p = 1;
    for (int32_t i = 0; i < y->rank; i++)
        mul_dim(a, &p, y->dims[i]);
    mul_dim(a, &p, x->dims[x->rank - 1]);
    return p;
}

static int64_t matmul_macs(struct mac_acc *a, const struct tsl_node *n)
{
    return matmul_macs_ab(a, n, 0);
}

static int64_t qlinear_matmul_macs(struct mac_acc *a, const struct tsl_node *n)
{
    return matmul_macs_ab(a, n, 0);
}

typedef int64_t (*mac_fn)(struct mac_acc *a, const struct tsl_node *n);

static const mac_fn mac_table[TSL_OP_COUNT] = {
    [TSL_OP_CONV] = conv_macs,
    [TSL_OP_CONV_TRANSPOSE] = conv_transpose_macs,
    [TSL_OP_GEMM] = gemm_macs,
    [TSL_OP_MATMUL] = matmul_macs,
    [TSL_OP_QLINEAR_CONV] = qlinear_conv_macs,
    [TSL_OP_QLINEAR_MATMUL] = qlinear_matmul_macs,
};

void tsl_graph_compute_stats(const struct tsl_graph *g, struct tsl_graph_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        int64_t numel, bytes;
        if (!v->constant || !tsl_shape_numel(&v->type.shape, &numel))
            continue;
        if (!tsl_add_i64(out->params, numel, &out->params))
            out->params = INT64_MAX;
        if (tsl_dtype_storage_bytes(v->type.dtype, numel, &bytes) &&
            !tsl_add_i64(out->param_bytes, bytes, &out->param_bytes))
            out->param_bytes = INT64_MAX;
    }
    struct mac_acc acc = {0, false, false};
    for (const struct tsl_node *n = g->first; n; n = n->next) {
        if ((unsigned)n->op >= TSL_OP_COUNT)
            continue;
        out->op_count[n->op]++;
        if (!mac_table[n->op])
            continue;
        int64_t m = mac_table[n->op](&acc, n);
        if (!tsl_add_i64(acc.macs, m, &acc.macs))
            acc.overflow = true;
    }
    out->macs = acc.overflow ? INT64_MAX : acc.macs;
    out->macs_symbolic = acc.symbolic;
}
