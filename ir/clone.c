/* clone.c - deep copy of a graph (tsl_graph_clone).  Values keep their names,
 * ids are renumbered in the copy's creation order, node order is preserved. */
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "tessel/util.h"

enum tsl_status tsl_graph_clone(const struct tsl_graph *g, struct tsl_graph **out)
{
    struct tsl_graph *c;
    TSL_TRY(tsl_graph_create(g->name, &c));
    enum tsl_status st = TSL_STATUS_OK;
    c->source_opset = g->source_opset;
    if (g->producer_name && !(c->producer_name = tsl_strdup(g->producer_name)))
        st = TSL_STATUS_NOMEM;
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < g->n_symbols; i++) {
        uint32_t k;
        st = tsl_graph_symbol(c, g->symbols[i], &k);
    }
    /* Inputs and constants first, in value order, so lookups by name work. */
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < g->n_inputs; i++) {
        struct tsl_value *v;
        st = tsl_graph_add_input(c, g->inputs[i]->name, &g->inputs[i]->type, &v);
        if (st == TSL_STATUS_OK)
            st = tsl_quant_copy(&v->quant, &g->inputs[i]->quant);
    }
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < g->n_values; i++) {
        const struct tsl_value *src = g->values[i];
        if (!src->constant)
            continue;
        struct tsl_const *k;
        st = tsl_const_clone(src->constant, &k);
        if (st != TSL_STATUS_OK)
            break;
        struct tsl_value *v;
        st = tsl_graph_add_constant_take(c, src->name, &src->type, k, &v);
        if (st != TSL_STATUS_OK) {
            tsl_const_free(k);
            break;
        }
        st = tsl_quant_copy(&v->quant, &src->quant);
    }
    struct tsl_value **ins = NULL;
    const char **names = NULL;
    size_t cap_ins = 0, cap_names = 0;
    for (const struct tsl_node *n = g->first; st == TSL_STATUS_OK && n; n = n->next) {
        if (!tsl_grow((void **)&ins, &cap_ins, n->n_inputs + 1, sizeof *ins) ||
            !tsl_grow((void **)&names, &cap_names, n->n_outputs + 1, sizeof *names)) {
            st = TSL_STATUS_NOMEM;
            break;
        }
        for (uint32_t i = 0; i < n->n_inputs; i++)
            ins[i] = n->inputs[i] ? tsl_graph_find_value(c, n->inputs[i]->name) : NULL;
        for (uint32_t i = 0; i < n->n_outputs; i++)
            names[i] = n->outputs[i]->name;
        struct tsl_node *m;
        st = tsl_graph_add_node(c, n->op, n->name, n->n_inputs, ins, n->n_outputs, &m, names);
        if (st != TSL_STATUS_OK)
            break;
        m->attrs = n->attrs;
        for (uint32_t i = 0; st == TSL_STATUS_OK && i < n->n_outputs; i++) {
            m->outputs[i]->type = n->outputs[i]->type;
            st = tsl_quant_copy(&m->outputs[i]->quant, &n->outputs[i]->quant);
        }
    }
    free(ins);
    free(names);
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < g->n_outputs; i++)
        st = tsl_graph_add_output(c, tsl_graph_find_value(c, g->outputs[i]->name));
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(c);
        return st;
    }
    *out = c;
    return TSL_STATUS_OK;
}
