/* dce.c - dead-code elimination: erases nodes none of whose outputs is used
 * or a graph output, then constants nothing uses.  Graph inputs are part of
 * the model's interface and are kept even when unused. */
#include "tessel/passes.h"

static bool node_dead(const struct tsl_node *n)
{
    for (uint32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i]->n_uses || n->outputs[i]->n_output_refs)
            return false;
    return true;
}

enum tsl_status tsl_pass_dce(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    /* Walking backwards erases whole dead chains in one sweep. */
    for (struct tsl_node *n = g->last, *prev; n; n = prev) {
        prev = n->prev;
        if (node_dead(n)) {
            TSL_TRY(tsl_graph_erase_node(g, n));
            ctx->n_changed++;
        }
    }
    for (uint32_t i = g->n_values; i-- > 0;) {
        struct tsl_value *v = g->values[i];
        if (v->constant && !v->n_uses && !v->n_output_refs) {
            TSL_TRY(tsl_graph_erase_value(g, v));
            ctx->n_changed++;
        }
    }
    return TSL_STATUS_OK;
}
