/* rewrite.c - helpers shared by the passes: forwarding a node's output to
 * another value while keeping graph-output names stable, and reading f32
 * constants. */
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
