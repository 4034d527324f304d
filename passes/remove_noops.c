/* remove_noops.c - removes nodes that do not change their input: Identity,
 * Reshape/Flatten to the same static shape, Transpose with the identity
 * permutation, Cast to the same dtype, Expand to the same shape, Pad with all
 * zero pads, single-input Concat/Max/Min/Sum/Mean.  Graph output names are
 * kept (see tsl_rewrite_forward).  Needs inferred types; it does not infer. */
#include <stdlib.h>

#include "rewrite.h"

typedef bool (*noop_fn)(const struct tsl_node *n);

static bool same_type(const struct tsl_node *n)
{
    const struct tsl_value *a = n->inputs[0], *b = n->outputs[0];
    return a && a->type.dtype == b->type.dtype && a->type.dtype != TSL_DTYPE_UNDEF &&
           tsl_shape_is_static(&a->type.shape) && tsl_shape_equal(&a->type.shape, &b->type.shape);
}

static bool always(const struct tsl_node *n)
{
    return n->inputs[0] != NULL;
}

static bool single_input(const struct tsl_node *n)
{
    return n->n_inputs == 1 && same_type(n);
}

static bool identity_perm(const struct tsl_node *n)
{
    const struct tsl_ints *p = &n->attrs.transpose.perm;
    if (!n->inputs[0] || p->n == 0 || (int32_t)p->n != n->inputs[0]->type.shape.rank)
        return false;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->v[i] != (int64_t)i)
            return false;
    return true;
}

static bool zero_pads(const struct tsl_node *n)
{
    const struct tsl_value *pads = n->inputs[1];
    if (!pads || !pads->constant || !same_type(n))
        return false;
    int64_t numel;
    if (!tsl_shape_numel(&pads->type.shape, &numel))
        return false;
    void *d;
    if (tsl_const_decode(pads, &d, NULL) != TSL_STATUS_OK)
        return false;
    bool zero = true;
    for (int64_t i = 0; i < numel && zero; i++)
        zero = tsl_dense_get_i64(pads->type.dtype, d, i) == 0;
    free(d);
    return zero;
}

static const noop_fn noop_rules[TSL_OP_COUNT] = {
    [TSL_OP_IDENTITY] = always,
    [TSL_OP_RESHAPE] = same_type,
    [TSL_OP_FLATTEN] = same_type,
    [TSL_OP_CAST] = same_type,
    [TSL_OP_EXPAND] = same_type,
    [TSL_OP_TRANSPOSE] = identity_perm,
    [TSL_OP_PAD] = zero_pads,
    [TSL_OP_CONCAT] = single_input,
    [TSL_OP_MAX] = single_input,
    [TSL_OP_MIN] = single_input,
    [TSL_OP_SUM] = single_input,
    [TSL_OP_MEAN] = single_input,
};

enum tsl_status tsl_pass_remove_noops(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    for (struct tsl_node *n = g->first, *next; n; n = next) {
        next = n->next;
        noop_fn rule = noop_rules[n->op];
        if (!rule || n->n_outputs != 1 || !rule(n))
            continue;
        enum tsl_status st;
        if (tsl_rewrite_forward(g, n, n->inputs[0], &st))
            ctx->n_changed++;
        TSL_TRY(st);
    }
    return TSL_STATUS_OK;
}
