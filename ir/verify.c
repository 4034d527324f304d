/* verify.c - the IR verifier.  Checks structure (value and node names
 * unique and consistent with the name index, node inputs defined and
 * belonging to the graph, NULL only in optional slots, use lists matching
 * node inputs both ways, producer links, node list order and acyclicity,
 * arity from ops.def, graph inputs/outputs), types (valid dtypes, ranks
 * within TSL_MAX_RANK, symbols in the symbol table, constants static with a
 * decodable payload, quant info consistent) and attributes (the per-op
 * checks shared with shape inference, ir/shape/checks.c).  It reports every
 * problem it finds and never modifies the graph; it does not infer shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shape/shape_internal.h"
#include "tessel/verify.h"

struct vctx {
    const struct tsl_graph *g;
    struct tsl_diag *diag;
    bool bad;
};

static void report(struct vctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct vctx *c, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tsl_diag_error(c->diag, TSL_STATUS_VERIFY, where ? where : "", "%s", msg);
    c->bad = true;
}

/* v is a live value of this graph (found under its own name). */
static bool in_graph(const struct tsl_graph *g, const struct tsl_value *v)
{
    return v && v->name && tsl_graph_find_value(g, v->name) == v;
}

static void verify_type(struct vctx *c, const struct tsl_value *v)
{
    const struct tsl_type *t = &v->type;
    if ((int)t->dtype < 0 || t->dtype >= TSL_DTYPE_COUNT)
        report(c, v->name, "invalid element type %d", (int)t->dtype);
    else if (t->dtype == TSL_DTYPE_UNDEF && (v->is_input || v->constant))
        report(c, v->name, "graph input or constant without an element type");
    if (t->shape.rank < -1 || t->shape.rank > TSL_MAX_RANK) {
        report(c, v->name, "rank %d outside [-1, %d]", t->shape.rank, TSL_MAX_RANK);
        return;
    }
    for (int32_t i = 0; i < t->shape.rank; i++)
        if (TSL_DIM_IS_SYM(t->shape.dims[i]) &&
            TSL_DIM_SYM_INDEX(t->shape.dims[i]) >= c->g->n_symbols)
            report(c, v->name, "dim %d refers to symbol #%u, but the graph has %u symbols", i,
                   TSL_DIM_SYM_INDEX(t->shape.dims[i]), c->g->n_symbols);
}

static void verify_constant(struct vctx *c, const struct tsl_value *v)
{
    if (!tsl_shape_is_static(&v->type.shape)) {
        report(c, v->name, "constant has a non-static shape");
        return;
    }
    if (v->type.dtype == TSL_DTYPE_UNDEF || v->type.dtype >= TSL_DTYPE_COUNT)
        return; /* already reported */
    struct tsl_diag local;
    tsl_diag_init(&local);
    void *dense = NULL;
    if (tsl_const_decode(v, &dense, &local) != TSL_STATUS_OK) {
        const struct tsl_diag_entry *e = tsl_diag_first_error(&local);
        report(c, v->name, "constant payload does not decode: %s",
               e ? e->message : "inconsistent with its type");
    }
    free(dense);
    tsl_diag_fini(&local);
}

static void verify_quant(struct vctx *c, const struct tsl_value *v)
{
    const struct tsl_quant *q = &v->quant;
    if (q->kind == TSL_QUANT_NONE)
        return;
    if (q->kind != TSL_QUANT_POW2 && q->kind != TSL_QUANT_AFFINE) {
        report(c, v->name, "invalid quantization kind %d", (int)q->kind);
        return;
    }
    if (q->n < 1)
        report(c, v->name, "quantization has %u channels", q->n);
    if (q->axis == -1) {
        if (q->n != 1)
            report(c, v->name, "per-tensor quantization with %u channels (expected 1)", q->n);
    } else if (q->axis < 0 || (v->type.shape.rank >= 0 && q->axis >= v->type.shape.rank)) {
        report(c, v->name, "quantization axis %d out of range for rank %d", q->axis,
               v->type.shape.rank);
    } else if (v->type.shape.rank >= 0 && !TSL_DIM_IS_SYM(v->type.shape.dims[q->axis]) &&
               (int64_t)q->n != v->type.shape.dims[q->axis]) {
        report(c, v->name, "quantization has %u channels but axis %d has size %lld", q->n,
               q->axis, (long long)v->type.shape.dims[q->axis]);
    }
    if (q->kind == TSL_QUANT_POW2 && !q->exponent)
        report(c, v->name, "pow2 quantization without exponents");
    if (q->kind == TSL_QUANT_AFFINE && (!q->scale || !q->zero_point))
        report(c, v->name, "affine quantization without scales or zero points");
}

/* Value-side checks: names, index, type, producer link, use list entries. */
static void verify_values(struct vctx *c, uint64_t *n_uses_total)
{
    const struct tsl_graph *g = c->g;
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        if (!v || !v->name) {
            report(c, "graph", "value #%u is %s", i, v ? "unnamed" : "NULL");
            continue;
        }
        const struct tsl_value *found = tsl_graph_find_value(g, v->name);
        if (found && found != v)
            report(c, v->name, "duplicate value name (values id %u and %u)", found->id, v->id);
        else if (!found)
            report(c, v->name, "value is missing from the name index");
        verify_type(c, v);
        if (v->constant)
            verify_constant(c, v);
        verify_quant(c, v);
        if (v->producer) {
            const struct tsl_node *p = v->producer;
            if (v->constant || v->is_input)
                report(c, v->name, "value is a %s but has a producer",
                       v->constant ? "constant" : "graph input");
            if (p->graph != g || v->producer_output >= p->n_outputs ||
                p->outputs[v->producer_output] != v)
                report(c, v->name, "producer link is inconsistent (output %u of %s)",
                       v->producer_output, p->name ? p->name : "?");
        } else if (!v->constant && !v->is_input) {
            report(c, v->name, "value has no producer and is neither an input nor a constant");
        }
        if (v->constant && v->is_input)
            report(c, v->name, "value is both a constant and a graph input");
        for (uint32_t u = 0; u < v->n_uses; u++) {
            const struct tsl_use *use = &v->uses[u];
            if (!use->node || use->node->graph != g || use->index >= use->node->n_inputs ||
                use->node->inputs[use->index] != v)
                report(c, v->name, "use #%u does not match an input of its node", u);
        }
        *n_uses_total += v->n_uses;
        uint32_t refs = 0;
        for (uint32_t o = 0; o < g->n_outputs; o++)
            refs += g->outputs[o] == v;
        if (refs != v->n_output_refs)
            report(c, v->name, "output reference count is %u but the value is listed %u times",
                   v->n_output_refs, refs);
    }
}

static bool has_use(const struct tsl_value *v, const struct tsl_node *n, uint32_t i)
{
    for (uint32_t u = 0; u < v->n_uses; u++)
        if (v->uses[u].node == n && v->uses[u].index == i)
            return true;
    return false;
}

/* Kahn's algorithm over the node list: true if acyclic; *culprit gets a
 * node on a cycle otherwise. */
static bool acyclic(const struct tsl_graph *g, struct tsl_node **list, uint32_t n,
                    const struct tsl_node **culprit, bool *nomem)
{
    uint32_t max_id = 0;
    for (uint32_t i = 0; i < n; i++)
        max_id = list[i]->id > max_id ? list[i]->id : max_id;
    uint32_t *pos = malloc(((size_t)max_id + 1) * sizeof *pos);
    uint32_t *pending = calloc(n ? n : 1, sizeof *pending);
    uint32_t *queue = malloc((n ? n : 1) * sizeof *queue);
    if (!pos || !pending || !queue) {
        free(pos);
        free(pending);
        free(queue);
        *nomem = true;
        return true;
    }
    for (uint32_t i = 0; i <= max_id; i++)
        pos[i] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++)
        pos[list[i]->id] = i;
    uint32_t qh = 0, qt = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < list[i]->n_inputs; j++) {
            const struct tsl_value *v = list[i]->inputs[j];
            if (v && v->producer && v->producer->graph == g && v->producer->id <= max_id &&
                pos[v->producer->id] != UINT32_MAX)
                pending[i]++;
        }
        if (!pending[i])
            queue[qt++] = i;
    }
    while (qh < qt) {
        const struct tsl_node *x = list[queue[qh++]];
        for (uint32_t o = 0; o < x->n_outputs; o++) {
            const struct tsl_value *v = x->outputs[o];
            if (!v)
                continue;
            for (uint32_t u = 0; u < v->n_uses; u++) {
                const struct tsl_node *m = v->uses[u].node;
                if (!m || m->id > max_id || pos[m->id] == UINT32_MAX)
                    continue;
                uint32_t p = pos[m->id];
                if (pending[p] && --pending[p] == 0)
                    queue[qt++] = p;
            }
        }
    }
    bool ok = qt == n;
    for (uint32_t i = 0; i < n && !ok && !*culprit; i++)
        if (pending[i])
            *culprit = list[i];
    free(pos);
    free(pending);
    free(queue);
    return ok;
}

static void verify_node(struct vctx *c, const struct tsl_node *n, const char *where,
                        const uint8_t *defined, uint32_t n_defined, uint64_t *n_inputs_total)
{
    const struct tsl_graph *g = c->g;
    if (n->graph != g)
        report(c, where, "node does not belong to this graph");
    if ((unsigned)n->op >= TSL_OP_COUNT) {
        report(c, where, "invalid op %d", (int)n->op);
        return;
    }
    const struct tsl_op_info *info = tsl_op_info(n->op);
    if (n->n_inputs < info->min_inputs || n->n_inputs > info->max_inputs)
        report(c, where, "%s takes %u..%u inputs, node has %u", info->name, info->min_inputs,
               info->max_inputs, n->n_inputs);
    if (n->n_outputs < info->min_outputs || n->n_outputs > info->max_outputs)
        report(c, where, "%s produces %u..%u outputs, node has %u", info->name,
               info->min_outputs, info->max_outputs, n->n_outputs);
    if (n->name && *n->name && tsl_graph_find_node(g, n->name) != n)
        report(c, where, "node name is duplicated or missing from the name index");
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v) {
            if (i < info->min_inputs)
                report(c, where, "required input %u is missing", i);
            continue;
        }
        (*n_inputs_total)++;
        if (!in_graph(g, v)) {
            report(c, where, "input %u is not a value of this graph", i);
            continue;
        }
        if (!has_use(v, n, i))
            report(c, where, "input %u ('%s') has no matching entry in its use list", i,
                   v->name);
        if (v->id >= n_defined || !defined[v->id])
            report(c, where, "input %u ('%s') is used before it is defined", i, v->name);
    }
    for (uint32_t o = 0; o < n->n_outputs; o++) {
        const struct tsl_value *v = n->outputs[o];
        if (!v)
            report(c, where, "output %u is NULL", o);
        else if (!in_graph(g, v))
            report(c, where, "output %u is not a value of this graph", o);
        else if (v->producer != n || v->producer_output != o)
            report(c, where, "output %u ('%s') does not name this node as its producer", o,
                   v->name);
    }
    if (tsl_check_node_attrs(n, where, c->diag) != TSL_STATUS_OK)
        c->bad = true;
}

static enum tsl_status verify_nodes(struct vctx *c, uint64_t *n_inputs_total)
{
    const struct tsl_graph *g = c->g;
    uint32_t cap = g->n_nodes, count = 0;
    struct tsl_node **list = malloc((cap ? cap : 1) * sizeof *list);
    uint8_t *defined = calloc(g->next_value_id ? g->next_value_id : 1, 1);
    if (!list || !defined) {
        free(list);
        free(defined);
        return TSL_STATUS_NOMEM;
    }
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        if (v && (v->constant || v->is_input) && v->id < g->next_value_id)
            defined[v->id] = 1;
    }
    const struct tsl_node *prev = NULL;
    for (struct tsl_node *n = g->first; n; prev = n, n = n->next) {
        char where[160];
        tsl_node_where(n, count, where, sizeof where);
        if (count >= cap) {
            report(c, "graph", "node list is longer than n_nodes = %u (or loops)", g->n_nodes);
            break;
        }
        if (n->prev != prev)
            report(c, where, "node list back link is broken");
        list[count++] = n;
        verify_node(c, n, where, defined, g->next_value_id, n_inputs_total);
        for (uint32_t o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] && n->outputs[o]->id < g->next_value_id)
                defined[n->outputs[o]->id] = 1;
    }
    if (count < cap)
        report(c, "graph", "node list has %u nodes but n_nodes = %u", count, g->n_nodes);
    if (g->last != prev && count == cap)
        report(c, "graph", "last node pointer is wrong");
    const struct tsl_node *culprit = NULL;
    bool nomem = false;
    if (!acyclic(g, list, count, &culprit, &nomem)) {
        char where[160] = "graph";
        if (culprit)
            for (uint32_t i = 0; i < count; i++)
                if (list[i] == culprit)
                    tsl_node_where(culprit, i, where, sizeof where);
        report(c, where, "graph has a cycle through this node");
    }
    free(list);
    free(defined);
    return nomem ? TSL_STATUS_NOMEM : TSL_STATUS_OK;
}

static void verify_io(struct vctx *c)
{
    const struct tsl_graph *g = c->g;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const struct tsl_value *v = g->inputs[i];
        if (!in_graph(g, v))
            report(c, "graph", "graph input #%u is not a value of this graph", i);
        else if (!v->is_input || v->producer)
            report(c, v->name, "graph input is not marked as an input or has a producer");
    }
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (!in_graph(g, g->outputs[i]))
            report(c, "graph", "graph output #%u is not a value of this graph", i);
    for (uint32_t i = 0; i < g->n_symbols; i++)
        if (!g->symbols[i])
            report(c, "graph", "symbol #%u has no name", i);
}

enum tsl_status tsl_verify(const struct tsl_graph *g, struct tsl_diag *diag)
{
    if (!g)
        return TSL_STATUS_INVALID_ARG;
    struct vctx c = {.g = g, .diag = diag};
    uint64_t n_uses = 0, n_inputs = 0;
    verify_io(&c);
    verify_values(&c, &n_uses);
    TSL_TRY(verify_nodes(&c, &n_inputs));
    if (n_uses != n_inputs)
        report(&c, "graph", "use lists hold %llu entries but nodes have %llu non-NULL inputs",
               (unsigned long long)n_uses, (unsigned long long)n_inputs);
    return c.bad ? TSL_STATUS_VERIFY : TSL_STATUS_OK;
}
