/* fuse.c - epilogue fusion decisions of the CPU backend's scheduler: which
 * elementwise nodes after a step's producer run inside that step, as the
 * straight-line program of struct tsl_cpu_act (cpu_internal.h).
 *
 * Starting from the step's current output v0, the nodes that follow in
 * graph order are scanned; a node that reads a chain value must be one of
 * Relu, Clip (constant bounds), HardSigmoid, HardSwish, LeakyRelu, Sigmoid,
 * or Add/Sub/Mul/Div/Max/Min whose other operand is an f32 scalar constant
 * or an earlier chain value, it must read the chain's latest value, and its
 * f32 output must have v0's shape; the first reading node that does not fit
 * ends the scan (nodes that read no chain value are stepped over: they run
 * after the step).  The chain is then cut to the longest prefix whose
 * intermediate values are used only inside it and are not graph outputs.
 * This covers x*HardSigmoid(x), PP-OCR's x*Clip(x+3,0,6)/6, x*Sigmoid(x) and
 * every Conv->Relu/Clip.
 *
 * Not here: the residual Add of a Conv (compile.c), code generation
 * (cg.c's tsl_cpu_apply_act and the lowerings). */
#include <math.h>
#include <stdlib.h>

#include "cpu_internal.h"
#include "tessel/shape.h"

#define MAX_CHAIN TSL_CPU_ACT_MAX_OPS
#define MAX_SCAN 16 /* nodes looked at after the producer */

/* A constant f32 scalar (any shape of one element): its value. */
static bool const_scalar(const struct tsl_value *v, float *out)
{
    if (!v || !v->constant || v->type.dtype != TSL_DTYPE_F32 ||
        !tsl_shape_is_static(&v->type.shape) || tsl_cpu_numel(v) != 1)
        return false;
    void *d = NULL;
    if (tsl_const_decode(v, &d, NULL) != TSL_STATUS_OK)
        return false;
    *out = ((float *)d)[0];
    free(d);
    return true;
}

static bool same_shape(const struct tsl_value *a, const struct tsl_value *b)
{
    return tsl_shape_is_static(&a->type.shape) && tsl_shape_equal(&a->type.shape, &b->type.shape);
}

/* Index of v among the chain values vals[0..n), or -1. */
static int chain_index(const struct tsl_value *const *vals, int n, const struct tsl_value *v)
{
    for (int i = 0; i < n; i++)
        if (vals[i] == v)
            return i;
    return -1;
}

static bool uses_chain(const struct tsl_node *u, const struct tsl_value *const *vals, int n)
{
    for (uint32_t i = 0; i < u->n_inputs; i++)
        if (u->inputs[i] && chain_index(vals, n, u->inputs[i]) >= 0)
            return true;
    return false;
}

struct binop {
    enum tsl_op op;
    enum tsl_cpu_act_kind kind;
};
static const struct binop binops[] = {
    {TSL_OP_ADD, TSL_CPU_ACT_ADD}, {TSL_OP_SUB, TSL_CPU_ACT_SUB}, {TSL_OP_MUL, TSL_CPU_ACT_MUL},
    {TSL_OP_DIV, TSL_CPU_ACT_DIV}, {TSL_OP_MAX, TSL_CPU_ACT_MAX}, {TSL_OP_MIN, TSL_CPU_ACT_MIN},
};

/* Program ops for node u reading the latest chain value vals[n-1]; returns
 * how many ops were written to out (0: u does not fit). */
static int node_ops(const struct tsl_node *u, const struct tsl_value *const *vals, int n,
                    struct tsl_cpu_act_op *out)
{
    const struct tsl_value *last = vals[n - 1];
    struct tsl_cpu_act_op op = {.src = -1};
    if (u->n_outputs != 1 || !u->outputs[0] || u->outputs[0]->type.dtype != TSL_DTYPE_F32 ||
        !same_shape(u->outputs[0], vals[0]) || u->n_inputs < 1)
        return 0;
    switch (u->op) {
    case TSL_OP_RELU:
    case TSL_OP_SIGMOID:
    case TSL_OP_HARD_SIGMOID:
    case TSL_OP_LEAKY_RELU:
    case TSL_OP_HARD_SWISH:
        if (u->n_inputs != 1 || u->inputs[0] != last)
            return 0;
        op.kind = u->op == TSL_OP_RELU      ? TSL_CPU_ACT_RELU
                  : u->op == TSL_OP_SIGMOID ? TSL_CPU_ACT_SIGMOID
                  : u->op == TSL_OP_LEAKY_RELU ? TSL_CPU_ACT_LEAKY_RELU
                                               : TSL_CPU_ACT_HARD_SIGMOID;
        op.a = u->attrs.alpha_beta.alpha;
        op.b = u->attrs.alpha_beta.beta;
        if (u->op == TSL_OP_HARD_SWISH) { /* x * clip(x/6 + 1/2, 0, 1), as the lowering */
            op.a = 1.0f / 6.0f;
            op.b = 0.5f;
            out[0] = op;
            out[1] = (struct tsl_cpu_act_op){.kind = TSL_CPU_ACT_MUL, .src = (int8_t)(n - 1),
                                             .rev = true};
            return 2;
        }
        out[0] = op;
        return 1;
    case TSL_OP_CLIP: {
        float lo = -INFINITY, hi = INFINITY;
        if (u->inputs[0] != last || u->n_inputs > 3 ||
            (u->n_inputs > 1 && u->inputs[1] && !const_scalar(u->inputs[1], &lo)) ||
            (u->n_inputs > 2 && u->inputs[2] && !const_scalar(u->inputs[2], &hi)))
            return 0;
        op.kind = TSL_CPU_ACT_CLIP;
        op.a = lo, op.b = hi;
        out[0] = op;
        return 1;
    }
    default:
        break;
    }
    for (size_t k = 0; k < sizeof binops / sizeof binops[0]; k++) {
        if (binops[k].op != u->op)
            continue;
        if (u->n_inputs != 2 || !u->inputs[0] || !u->inputs[1])
            return 0;
        int pos = u->inputs[0] == last ? 0 : u->inputs[1] == last ? 1 : -1;
        if (pos < 0)
            return 0;
        const struct tsl_value *other = u->inputs[1 - pos];
        op.kind = binops[k].kind;
        op.rev = pos == 1;
        int src = other == last ? n - 1 : chain_index(vals, n, other);
        if (src >= 0)
            op.src = (int8_t)src;
        else if (!const_scalar(other, &op.a))
            return 0;
        out[0] = op;
        return 1;
    }
    return 0;
}

/* True when every use of v is one of the nodes c[0..k) and v is no output. */
static bool internal_to(const struct tsl_value *v, const struct tsl_node *const *c, int k)
{
    if (v->n_output_refs != 0)
        return false;
    for (uint32_t i = 0; i < v->n_uses; i++) {
        bool in = false;
        for (int j = 0; j < k; j++)
            in = in || v->uses[i].node == c[j];
        if (!in)
            return false;
    }
    return true;
}

uint32_t tsl_cpu_fuse_epilogue(struct tsl_cpu_step *s, const bool *skip)
{
    if (s->out->type.dtype != TSL_DTYPE_F32 || !tsl_shape_is_static(&s->out->type.shape))
        return 0;
    const struct tsl_value *vals[MAX_CHAIN + 1] = {s->out};
    const struct tsl_node *chain[MAX_CHAIN];
    struct tsl_cpu_act_op ops[MAX_CHAIN][2];
    int n_ops[MAX_CHAIN];
    int len = 0, scanned = 0, total_ops = 0;
    const struct tsl_node *start = s->n_fused ? s->fused[s->n_fused - 1] : s->node;
    for (const struct tsl_node *u = start->next; u && scanned < MAX_SCAN && len < MAX_CHAIN;
         u = u->next, scanned++) {
        if (skip[u->id])
            continue;
        if (!uses_chain(u, vals, len + 1))
            continue;
        int k = node_ops(u, vals, len + 1, ops[len]);
        if (k == 0 || total_ops + k > TSL_CPU_ACT_MAX_OPS)
            break;
        n_ops[len] = k;
        total_ops += k;
        chain[len++] = u;
        vals[len] = u->outputs[0];
    }
    /* longest prefix whose intermediate values stay inside it */
    while (len > 0) {
        bool ok = true;
        for (int j = 0; j < len && ok; j++)
            ok = internal_to(vals[j], chain, len);
        if (ok)
            break;
        len--;
    }
    if (len == 0)
        return 0;
    /* chain value j is program value pv[j] (HardSwish adds one op) */
    int pv[MAX_CHAIN + 1];
    pv[0] = (int)s->act.n;
    struct tsl_cpu_act act = s->act;
    for (int j = 0; j < len; j++) {
        for (int k = 0; k < n_ops[j]; k++) {
            struct tsl_cpu_act_op op = ops[j][k];
            if (op.src >= 0) /* chain index -> program value index */
                op.src = (int8_t)pv[op.src];
            act.op[act.n++] = op;
        }
        pv[j + 1] = (int)act.n;
    }
    s->act = act;
    for (int j = 0; j < len; j++)
        s->fused[s->n_fused++] = chain[j];
    s->out = vals[len];
    return (uint32_t)len;
}
