/* fold_shapes.c - tsl_cpu_fold_shapes: replaces every Shape and Size node
 * whose input has a static shape by an int64 constant, so that shape
 * arithmetic downstream (Gather/Concat/Reshape of shapes, common in exported
 * models) becomes foldable by the canonicalization passes before the CPU
 * backend compiles the graph with its static shapes.
 *
 * Shape's start/end follow ONNX (negative counts from the end, clamped to
 * [0, rank], empty when start >= end), as the reference does.  It does not
 * run the passes itself and changes nothing else. */
#include <stdlib.h>
#include <string.h>

#include "tessel/cpu.h"
#include "tessel/util.h"

static int64_t clamp_axis(int64_t a, int64_t rank)
{
    if (a < 0)
        a += rank;
    return a < 0 ? 0 : a > rank ? rank : a;
}

static enum tsl_status fold_one(struct tsl_graph *g, struct tsl_node *n, struct tsl_diag *diag)
{
    const struct tsl_shape *s = &n->inputs[0]->type.shape;
    struct tsl_value *out = n->outputs[0];
    int64_t vals[TSL_MAX_RANK] = {0}, count = 0;
    if (n->op == TSL_OP_SIZE) {
        if (!tsl_shape_numel(s, &vals[0]))
            return TSL_STATUS_OK;
        count = 1;
    } else {
        int64_t lo = clamp_axis(n->attrs.shape.start, s->rank);
        int64_t hi = clamp_axis(n->attrs.shape.end, s->rank);
        for (int64_t d = lo; d < hi; d++)
            vals[count++] = s->dims[d];
    }
    int64_t want = 0;
    if (out->type.dtype != TSL_DTYPE_I64 || !tsl_shape_numel(&out->type.shape, &want) ||
        want != count)
        return TSL_STATUS_OK; /* type not inferred as expected: leave it alone */
    struct tsl_const *c = tsl_const_new();
    if (!c)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, n->name, "shape folding");
    c->encoding = TSL_ENC_DENSE;
    c->data_bytes = (size_t)count * sizeof(int64_t);
    c->data = malloc(c->data_bytes ? c->data_bytes : 1);
    if (!c->data) {
        tsl_const_free(c);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, n->name, "shape folding");
    }
    memcpy(c->data, vals, c->data_bytes);
    struct tsl_value *k;
    enum tsl_status st = tsl_graph_replace_with_constant_take(g, out, c, &k);
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        return tsl_diag_error(diag, st, n->name, "shape folding: replacing the output");
    }
    if (out->n_uses == 0 && out->n_output_refs == 0)
        TSL_TRY(tsl_graph_erase_node(g, n));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_fold_shapes(struct tsl_graph *g, uint32_t *n_folded,
                                    struct tsl_diag *diag)
{
    uint32_t k = 0;
    struct tsl_node *next;
    for (struct tsl_node *n = g->first; n; n = next) {
        next = n->next;
        if ((n->op != TSL_OP_SHAPE && n->op != TSL_OP_SIZE) || n->n_inputs < 1 ||
            !n->inputs[0] || !tsl_shape_is_static(&n->inputs[0]->type.shape) ||
            n->outputs[0]->n_output_refs != 0)
            continue;
        TSL_TRY(fold_one(g, n, diag));
        k++;
    }
    if (n_folded)
        *n_folded = k;
    return TSL_STATUS_OK;
}
