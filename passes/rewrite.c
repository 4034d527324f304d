/* rewrite.c - helpers shared by the passes: forwarding a node's output to
 * another value while keeping graph-output names stable, reading and adding
 * f32 constants, and the output-channel layout of Conv/ConvTranspose/Gemm
 * weights (fold-batchnorm, fold-conv-affine). */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "tessel/util.h"

bool tsl_rewrite_forward(struct tsl_graph *g, struct tsl_node *n, struct tsl_value *repl,
                         enum tsl_status *st_out)
{
    struct tsl_value *out = n->outputs[0];
    *st_out = TSL_STATUS_OK;
    if (out->n_output_refs && (!repl->producer || repl->n_output_refs))
        return false;
    char *keep = out->n_output_refs ? tsl_strdup(out->name) : NULL;
    if (out->n_output_refs && !keep) {
        *st_out = TSL_STATUS_NOMEM;
        return false;
    }
    tsl_value_replace_all_uses(out, repl);
    if (out->n_output_refs) {
        /* replace_all_uses found no graph to update outputs (cannot happen for
         * node outputs); be safe */
        free(keep);
        return false;
    }
    *st_out = tsl_graph_erase_node(g, n);
    if (*st_out == TSL_STATUS_OK && keep)
        *st_out = tsl_value_rename(g, repl, keep);
    free(keep);
    return *st_out == TSL_STATUS_OK;
}

float *tsl_rewrite_const_f32(const struct tsl_value *v, int64_t *numel_out)
{
    if (!v || !v->constant || v->type.dtype != TSL_DTYPE_F32)
        return NULL;
    int64_t numel;
    if (!tsl_shape_numel(&v->type.shape, &numel))
        return NULL;
    void *d;
    if (tsl_const_decode(v, &d, NULL) != TSL_STATUS_OK)
        return NULL;
    *numel_out = numel;
    return d;
}

bool tsl_rewrite_weight_layout(const struct tsl_node *prod, struct tsl_rewrite_wlayout *w)
{
    const struct tsl_shape *s = &prod->inputs[1]->type.shape;
    if (!tsl_shape_is_static(s) || s->rank < 2)
        return false;
    int64_t inner = 1;
    switch (prod->op) {
    case TSL_OP_CONV: /* [Cout, Cin/g, k...] */
        for (int32_t d = 1; d < s->rank; d++)
            inner *= s->dims[d];
        *w = (struct tsl_rewrite_wlayout){1, s->dims[0], inner};
        return true;
    case TSL_OP_CONV_TRANSPOSE: /* [Cin, Cout/g, k...], group 1 only */
        if (prod->attrs.conv_transpose.group != 1)
            return false;
        for (int32_t d = 2; d < s->rank; d++)
            inner *= s->dims[d];
        *w = (struct tsl_rewrite_wlayout){s->dims[0], s->dims[1], inner};
        return true;
    case TSL_OP_GEMM: /* B is [K,N] or [N,K] with transB; alpha folded separately */
        if (s->rank != 2)
            return false;
        if (prod->attrs.gemm.transB)
            *w = (struct tsl_rewrite_wlayout){1, s->dims[0], s->dims[1]};
        else
            *w = (struct tsl_rewrite_wlayout){s->dims[0], s->dims[1], 1};
        return true;
    default:
        return false;
    }
}

enum tsl_status tsl_rewrite_add_f32_const(struct tsl_graph *g, const char *base, int32_t rank,
                                          const int64_t *dims, float *data, struct tsl_value **out)
{
    char *name = tsl_graph_unique_value_name(g, base);
    if (!name)
        return TSL_STATUS_NOMEM;
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    enum tsl_status st = tsl_graph_add_dense_constant(g, name, &t, data, out);
    free(name);
    return st;
}

