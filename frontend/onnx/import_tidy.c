/* import_tidy.c - the importer's last touches on the IR: dropping constants
 * that were folded into attributes, and collapsing the old-opset Softmax
 * expansion where it turned out unnecessary, so the IR of an opset-9 model
 * and of its opset-17 re-export are the same, and `inspect` counts what the
 * model holds.  No protobuf-c types here beyond the importer context. */
#include <stdlib.h>

#include "onnx_internal.h"
#include "tessel/util.h"

enum tsl_status tsl_onnx_drop_folded_constants(struct tsl_onnx_imp *im)
{
    struct tsl_graph *g = im->g;
    for (uint32_t i = g->n_values; i-- > 0;) {
        struct tsl_value *v = g->values[i];
        if (v->constant && !v->n_uses && !v->n_output_refs && tsl_onnx_name_used(im, v->name)) {
            enum tsl_status st = tsl_graph_erase_value(g, v);
            if (st != TSL_STATUS_OK)
                return tsl_diag_error(im->diag, st, im->model_name, "cannot drop constant");
        }
    }
    return TSL_STATUS_OK;
}

static struct tsl_node *single_use_producer(const struct tsl_value *v, enum tsl_op op)
{
    if (!v || !v->producer || v->producer->op != op || v->n_uses != 1 || v->n_output_refs)
        return NULL;
    return v->producer;
}

/* Reshape(Softmax(Flatten(x, k), 1), Shape(x)) with k == rank(x) - 1 ? */
static bool match(struct tsl_node *re, struct tsl_node **norm, struct tsl_node **flat,
                  struct tsl_node **shape)
{
    if (re->op != TSL_OP_RESHAPE || !re->inputs[0] || !re->inputs[1])
        return false;
    struct tsl_node *sm = single_use_producer(re->inputs[0], TSL_OP_SOFTMAX);
    if (!sm)
        sm = single_use_producer(re->inputs[0], TSL_OP_LOG_SOFTMAX);
    struct tsl_node *sh = single_use_producer(re->inputs[1], TSL_OP_SHAPE);
    if (!sm || !sh || sm->attrs.axis.axis != 1)
        return false;
    struct tsl_node *fl = single_use_producer(sm->inputs[0], TSL_OP_FLATTEN);
    if (!fl || fl->inputs[0] != sh->inputs[0] || sh->attrs.shape.start != 0 ||
        sh->attrs.shape.end != INT64_MAX)
        return false;
    int32_t rank = fl->inputs[0]->type.shape.rank;
    int64_t k = fl->attrs.axis.axis;
    if (rank < 1 || (k != rank - 1 && k != -1))
        return false;
    *norm = sm;
    *flat = fl;
    *shape = sh;
    return true;
}

enum tsl_status tsl_onnx_collapse_legacy_softmax(struct tsl_graph *g, struct tsl_diag *diag,
                                                 bool *changed)
{
    for (struct tsl_node *re = g->first, *next; re; re = next) {
        next = re->next;
        struct tsl_node *sm, *fl, *sh;
        if (!match(re, &sm, &fl, &sh))
            continue;
        char *out_name = tsl_strdup(re->outputs[0]->name);
        char *node_name = tsl_strdup(re->name);
        char *tmp = tsl_graph_unique_value_name(g, "softmax_collapsed");
        struct tsl_node *n = NULL;
        enum tsl_status st = out_name && node_name && tmp ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
        if (st == TSL_STATUS_OK)
            st = tsl_graph_insert_node_before(g, re, sm->op, NULL, 1, &fl->inputs[0], 1, &n,
                                              (const char *const *)&tmp);
        if (st == TSL_STATUS_OK) {
            n->attrs.axis.axis = fl->inputs[0]->type.shape.rank - 1;
            n->outputs[0]->type = re->outputs[0]->type;
            tsl_value_replace_all_uses(re->outputs[0], n->outputs[0]);
            st = tsl_graph_erase_node(g, re);
        }
        if (st == TSL_STATUS_OK)
            st = tsl_graph_erase_node(g, sm);
        if (st == TSL_STATUS_OK)
            st = tsl_graph_erase_node(g, fl);
        if (st == TSL_STATUS_OK)
            st = tsl_graph_erase_node(g, sh);
        if (st == TSL_STATUS_OK)
            st = tsl_value_rename(g, n->outputs[0], out_name);
        if (st == TSL_STATUS_OK)
            st = tsl_node_rename(g, n, node_name);
        free(out_name);
        free(node_name);
        free(tmp);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(diag, st, "softmax", "cannot collapse legacy Softmax");
        *changed = true;
    }
    return TSL_STATUS_OK;
}
