/* fold_constants.c - evaluates nodes whose inputs are all constants and
 * replaces their outputs by constants.  The evaluation itself is the
 * caller's (ctx->eval_node, e.g. the reference backend), since passes/ may
 * not depend on a backend.  Shape and Size of a value whose inferred shape
 * is static are folded here directly from the type (their input need not be
 * constant, and no evaluator is needed), so shape arithmetic downstream
 * (Gather/Concat/Reshape of shapes, common in exported models) folds too
 * once symbolic dims are bound.  Outputs
 * keep their names; outputs larger than ctx->fold_max_bytes, or without a
 * static inferred type, are left unfolded (a memory bomb in a model such as
 * ConstantOfShape of a huge shape must not explode at compile time). */
#include <stdlib.h>
#include <string.h>

#include "tessel/passes.h"
#include "tessel/util.h"

static bool foldable(const struct tsl_node *n, int64_t max_bytes)
{
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] && !n->inputs[i]->constant)
            return false;
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        const struct tsl_value *o = n->outputs[i];
        int64_t numel, bytes;
        if (o->type.dtype == TSL_DTYPE_UNDEF || !tsl_shape_numel(&o->type.shape, &numel) ||
            !tsl_dtype_storage_bytes(o->type.dtype, numel, &bytes) || bytes > max_bytes)
            return false;
    }
    return true;
}

/* Replace output o by a constant holding `data` (taken); *k_out is it. */
static enum tsl_status to_constant(struct tsl_graph *g, struct tsl_value *o, void *data,
                                   struct tsl_value **k_out)
{
    int64_t numel = 0, bytes = 0;
    tsl_shape_numel(&o->type.shape, &numel);
    tsl_dtype_storage_bytes(o->type.dtype, numel, &bytes);
    struct tsl_const *c = tsl_const_new();
    if (!c) {
        free(data);
        return TSL_STATUS_NOMEM;
    }
    c->data = data;
    c->data_bytes = (size_t)bytes;
    enum tsl_status st = tsl_graph_replace_with_constant_take(g, o, c, k_out);
    if (st != TSL_STATUS_OK)
        tsl_const_free(c);
    return st;
}

/* Fold node n given its evaluated outputs (all taken). */
static enum tsl_status fold_node(struct tsl_graph *g, struct tsl_node *n, void **outs)
{
    uint32_t n_out = n->n_outputs;
    char *names[8] = {0};
    struct tsl_value *consts[8] = {0};
    enum tsl_status st = n_out <= 8 ? TSL_STATUS_OK : TSL_STATUS_UNSUPPORTED;
    for (uint32_t i = 0; i < n_out; i++) {
        if (st == TSL_STATUS_OK && !(names[i] = tsl_strdup(n->outputs[i]->name)))
            st = TSL_STATUS_NOMEM;
        if (st == TSL_STATUS_OK)
            st = to_constant(g, n->outputs[i], outs[i], &consts[i]);
        else
            free(outs[i]);
    }
    if (st == TSL_STATUS_OK)
        st = tsl_graph_erase_node(g, n); /* frees the old output names */
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < n_out; i++)
        st = tsl_value_rename(g, consts[i], names[i]);
    for (uint32_t i = 0; i < n_out && i < 8; i++)
        free(names[i]);
    return st;
}

static int64_t clamp_axis(int64_t a, int64_t rank)
{
    if (a < 0)
        a += rank;
    return a < 0 ? 0 : a > rank ? rank : a;
}

/* Shape/Size of a statically shaped input, from its type: *out is the
 * malloc'ed i64 payload, or NULL when n is not such a node.  Shape's
 * start/end follow ONNX: negative counts from the end, clamped to [0, rank],
 * empty when start >= end. */
static enum tsl_status static_shape_payload(const struct tsl_node *n, void **out)
{
    *out = NULL;
    const struct tsl_value *x = n->inputs[0];
    if ((n->op != TSL_OP_SHAPE && n->op != TSL_OP_SIZE) || !x ||
        !tsl_shape_is_static(&x->type.shape) || n->outputs[0]->type.dtype != TSL_DTYPE_I64 ||
        !tsl_shape_is_static(&n->outputs[0]->type.shape))
        return TSL_STATUS_OK;
    const struct tsl_shape *s = &x->type.shape;
    int64_t lo = 0, hi = 0, vals[TSL_MAX_RANK], count = 0;
    if (n->op == TSL_OP_SIZE) {
        if (!tsl_shape_numel(s, &vals[0]))
            return TSL_STATUS_OK;
        count = 1;
    } else {
        lo = clamp_axis(n->attrs.shape.start, s->rank);
        hi = clamp_axis(n->attrs.shape.end, s->rank);
        for (int64_t d = lo; d < hi; d++)
            vals[count++] = s->dims[d];
    }
    int64_t numel;
    if (!tsl_shape_numel(&n->outputs[0]->type.shape, &numel) || numel != count)
        return TSL_STATUS_OK; /* inference disagrees: leave it to the evaluator */
    *out = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!*out)
        return TSL_STATUS_NOMEM;
    if (count)
        memcpy(*out, vals, (size_t)count * sizeof(int64_t));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_pass_fold_constants(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    for (struct tsl_node *n = g->first, *next; n; n = next) {
        next = n->next;
        void *outs[8] = {0};
        TSL_TRY(static_shape_payload(n, &outs[0]));
        if (outs[0]) {
            TSL_TRY(fold_node(g, n, outs));
            ctx->n_changed++;
            continue;
        }
        if (!ctx->eval_node || n->n_outputs > 8 || !foldable(n, ctx->fold_max_bytes))
            continue;
        enum tsl_status st = ctx->eval_node(ctx->eval_user, n, outs, ctx->diag);
        if (st == TSL_STATUS_UNSUPPORTED)
            continue;
        TSL_TRY(st);
        TSL_TRY(fold_node(g, n, outs));
        ctx->n_changed++;
    }
    return TSL_STATUS_OK;
}
