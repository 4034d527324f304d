/* graph.c - building and rewriting graphs: values, nodes, use lists, graph
 * inputs/outputs, symbols, name lookup and topological ordering.
 *
 * Invariants kept here: every value name is unique; every node input that is
 * not NULL appears exactly once in that value's use list per input slot; the
 * node list is topologically ordered after every call that adds nodes (inputs
 * must be defined before the insertion point).  Shape inference, verification
 * and printing live elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "tessel/util.h"

/* ---- creation and destruction ---- */

enum tsl_status tsl_graph_create(const char *name, struct tsl_graph **out)
{
    struct tsl_graph *g = calloc(1, sizeof *g);
    if (!g)
        return TSL_STATUS_NOMEM;
    g->name = tsl_strdup(name ? name : "main");
    g->index_ = calloc(1, sizeof *g->index_);
    if (!g->name || !g->index_) {
        free(g->name);
        free(g->index_);
        free(g);
        return TSL_STATUS_NOMEM;
    }
    *out = g;
    return TSL_STATUS_OK;
}

static void value_free(struct tsl_value *v)
{
    free(v->name);
    free(v->uses);
    tsl_quant_fini(&v->quant);
    tsl_const_free(v->constant);
    free(v);
}

static void node_free(struct tsl_node *n)
{
    free(n->name);
    free(n->inputs);
    free(n->outputs);
    free(n);
}

void tsl_graph_destroy(struct tsl_graph *g)
{
    if (!g)
        return;
    for (struct tsl_node *n = g->first, *next; n; n = next) {
        next = n->next;
        node_free(n);
    }
    for (uint32_t i = 0; i < g->n_values; i++)
        value_free(g->values[i]);
    for (uint32_t i = 0; i < g->n_symbols; i++)
        free(g->symbols[i]);
    free(g->symbols);
    free(g->values);
    free(g->inputs);
    free(g->outputs);
    if (g->index_) {
        tsl_strmap_fini(&g->index_->values);
        tsl_strmap_fini(&g->index_->nodes);
        free(g->index_);
    }
    free(g->name);
    free(g->producer_name);
    free(g);
}

/* ---- symbols ---- */

enum tsl_status tsl_graph_symbol(struct tsl_graph *g, const char *name, uint32_t *index_out)
{
    for (uint32_t i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], name) == 0) {
            *index_out = i;
            return TSL_STATUS_OK;
        }
    if (!tsl_grow((void **)&g->symbols, &g->cap_symbols, g->n_symbols + 1, sizeof(char *)))
        return TSL_STATUS_NOMEM;
    char *s = tsl_strdup(name);
    if (!s)
        return TSL_STATUS_NOMEM;
    g->symbols[g->n_symbols] = s;
    *index_out = g->n_symbols++;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_fresh_symbol(struct tsl_graph *g, const char *prefix, uint32_t *index_out)
{
    for (uint32_t k = 0;; k++) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s%u", prefix, k);
        bool taken = false;
        for (uint32_t i = 0; i < g->n_symbols && !taken; i++)
            taken = strcmp(g->symbols[i], buf) == 0;
        if (!taken)
            return tsl_graph_symbol(g, buf, index_out);
    }
}

void tsl_graph_compact_symbols(struct tsl_graph *g)
{
    uint32_t n = g->n_symbols, kept = 0;
    if (n == 0)
        return;
    uint32_t *remap = malloc(n * sizeof *remap);
    if (!remap)
        return; /* keeping extra symbols is harmless */
    for (uint32_t k = 0; k < n; k++)
        remap[k] = UINT32_MAX;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const struct tsl_shape *s = &g->inputs[i]->type.shape;
        for (int32_t d = 0; d < s->rank; d++)
            if (TSL_DIM_IS_SYM(s->dims[d]) && TSL_DIM_SYM_INDEX(s->dims[d]) < n)
                remap[TSL_DIM_SYM_INDEX(s->dims[d])] = 0;
    }
    for (uint32_t k = 0; k < n; k++) {
        if (remap[k] == UINT32_MAX) {
            free(g->symbols[k]);
            continue;
        }
        remap[k] = kept;
        g->symbols[kept++] = g->symbols[k];
    }
    g->n_symbols = kept;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        struct tsl_shape *s = &g->inputs[i]->type.shape;
        for (int32_t d = 0; d < s->rank; d++)
            if (TSL_DIM_IS_SYM(s->dims[d]) && TSL_DIM_SYM_INDEX(s->dims[d]) < n)
                s->dims[d] = TSL_DIM_SYM(remap[TSL_DIM_SYM_INDEX(s->dims[d])]);
    }
    free(remap);
}

/* ---- lookups ---- */

struct tsl_value *tsl_graph_find_value(const struct tsl_graph *g, const char *name)
{
    return tsl_strmap_get(&g->index_->values, name);
}

struct tsl_node *tsl_graph_find_node(const struct tsl_graph *g, const char *name)
{
    if (!name || !*name)
        return NULL;
    return tsl_strmap_get(&g->index_->nodes, name);
}

char *tsl_graph_unique_value_name(const struct tsl_graph *g, const char *base)
{
    if (!tsl_graph_find_value(g, base))
        return tsl_strdup(base);
    for (uint64_t k = 1;; k++) {
        char *s = tsl_asprintf("%s_%llu", base, (unsigned long long)k);
        if (!s || !tsl_graph_find_value(g, s))
            return s;
        free(s);
    }
}

/* ---- values ---- */

/* Create a value owning `name` (taken), registered in the index. */
static enum tsl_status new_value(struct tsl_graph *g, char *name, struct tsl_value **out)
{
    if (!name)
        return TSL_STATUS_NOMEM;
    if (tsl_graph_find_value(g, name)) {
        free(name);
        return TSL_STATUS_INVALID_ARG;
    }
    struct tsl_value *v = calloc(1, sizeof *v);
    if (!v || !tsl_grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof v)) {
        free(v);
        free(name);
        return TSL_STATUS_NOMEM;
    }
    v->name = name;
    v->id = g->next_value_id++;
    v->type.shape.rank = -1;
    v->quant.axis = -1;
    if (!tsl_strmap_put(&g->index_->values, v->name, v)) {
        free(v);
        free(name);
        return TSL_STATUS_NOMEM;
    }
    g->values[g->n_values++] = v;
    *out = v;
    return TSL_STATUS_OK;
}

static void remove_value(struct tsl_graph *g, struct tsl_value *v)
{
    tsl_strmap_del(&g->index_->values, v->name);
    for (uint32_t i = 0; i < g->n_values; i++)
        if (g->values[i] == v) {
            memmove(&g->values[i], &g->values[i + 1],
                    (g->n_values - i - 1) * sizeof *g->values);
            g->n_values--;
            break;
        }
    value_free(v);
}

enum tsl_status tsl_graph_add_input(struct tsl_graph *g, const char *name,
                                    const struct tsl_type *type, struct tsl_value **out)
{
    if (!tsl_grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof *g->inputs))
        return TSL_STATUS_NOMEM;
    struct tsl_value *v;
    TSL_TRY(new_value(g, tsl_strdup(name), &v));
    v->type = *type;
    v->is_input = true;
    g->inputs[g->n_inputs++] = v;
    if (out)
        *out = v;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_add_constant_take(struct tsl_graph *g, const char *name,
                                            const struct tsl_type *type,
                                            struct tsl_const *c, struct tsl_value **out)
{
    if (!tsl_shape_is_static(&type->shape) || !c)
        return TSL_STATUS_INVALID_ARG;
    struct tsl_value *v;
    TSL_TRY(new_value(g, tsl_strdup(name), &v));
    v->type = *type;
    v->constant = c;
    if (out)
        *out = v;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_add_dense_constant(struct tsl_graph *g, const char *name,
                                             const struct tsl_type *type,
                                             const void *data, struct tsl_value **out)
{
    int64_t numel, bytes;
    if (!tsl_shape_numel(&type->shape, &numel) ||
        !tsl_dtype_storage_bytes(type->dtype, numel, &bytes))
        return TSL_STATUS_INVALID_ARG;
    struct tsl_const *c = tsl_const_new();
    if (!c)
        return TSL_STATUS_NOMEM;
    c->data = malloc(bytes ? (size_t)bytes : 1);
    if (!c->data) {
        tsl_const_free(c);
        return TSL_STATUS_NOMEM;
    }
    if (bytes)
        memcpy(c->data, data, (size_t)bytes);
    c->data_bytes = (size_t)bytes;
    enum tsl_status st = tsl_graph_add_constant_take(g, name, type, c, out);
    if (st != TSL_STATUS_OK)
        tsl_const_free(c);
    return st;
}

enum tsl_status tsl_graph_add_output(struct tsl_graph *g, struct tsl_value *v)
{
    if (!tsl_grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof *g->outputs))
        return TSL_STATUS_NOMEM;
    g->outputs[g->n_outputs++] = v;
    v->n_output_refs++;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_set_output(struct tsl_graph *g, uint32_t i, struct tsl_value *v)
{
    if (i >= g->n_outputs)
        return TSL_STATUS_INVALID_ARG;
    g->outputs[i]->n_output_refs--;
    g->outputs[i] = v;
    v->n_output_refs++;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_value_rename(struct tsl_graph *g, struct tsl_value *v, const char *name)
{
    struct tsl_value *other = tsl_graph_find_value(g, name);
    if (other == v)
        return TSL_STATUS_OK;
    if (other)
        return TSL_STATUS_INVALID_ARG;
    char *s = tsl_strdup(name);
    if (!s)
        return TSL_STATUS_NOMEM;
    tsl_strmap_del(&g->index_->values, v->name);
    free(v->name);
    v->name = s;
    if (!tsl_strmap_put(&g->index_->values, v->name, v))
        return TSL_STATUS_NOMEM;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_node_rename(struct tsl_graph *g, struct tsl_node *n, const char *name)
{
    struct tsl_node *other = tsl_graph_find_node(g, name);
    if (other == n)
        return TSL_STATUS_OK;
    if (other)
        return TSL_STATUS_INVALID_ARG;
    char *s = tsl_strdup(name);
    if (!s)
        return TSL_STATUS_NOMEM;
    if (*n->name)
        tsl_strmap_del(&g->index_->nodes, n->name);
    free(n->name);
    n->name = s;
    if (*s && !tsl_strmap_put(&g->index_->nodes, n->name, n))
        return TSL_STATUS_NOMEM;
    return TSL_STATUS_OK;
}

/* ---- use lists ---- */

static bool add_use(struct tsl_value *v, struct tsl_node *n, uint32_t i)
{
    size_t cap = v->cap_uses;
    if (!tsl_grow((void **)&v->uses, &cap, (size_t)v->n_uses + 1, sizeof *v->uses))
        return false;
    v->cap_uses = (uint32_t)cap;
    v->uses[v->n_uses++] = (struct tsl_use){n, i};
    return true;
}

static void drop_use(struct tsl_value *v, struct tsl_node *n, uint32_t i)
{
    for (uint32_t k = 0; k < v->n_uses; k++)
        if (v->uses[k].node == n && v->uses[k].index == i) {
            memmove(&v->uses[k], &v->uses[k + 1], (v->n_uses - k - 1) * sizeof *v->uses);
            v->n_uses--;
            return;
        }
}

void tsl_node_set_input(struct tsl_node *n, uint32_t i, struct tsl_value *v)
{
    if (n->inputs[i] == v)
        return;
    if (n->inputs[i])
        drop_use(n->inputs[i], n, i);
    n->inputs[i] = v;
    if (v && !add_use(v, n, i))
        n->inputs[i] = NULL; /* out of memory: leave the slot empty; verifier flags it */
}

enum tsl_status tsl_node_append_input(struct tsl_node *n, struct tsl_value *v)
{
    if (n->n_inputs + 1 > tsl_op_info(n->op)->max_inputs)
        return TSL_STATUS_INVALID_ARG;
    struct tsl_value **ins = realloc(n->inputs, (n->n_inputs + 1) * sizeof *ins);
    if (!ins)
        return TSL_STATUS_NOMEM;
    n->inputs = ins;
    n->inputs[n->n_inputs++] = NULL;
    tsl_node_set_input(n, n->n_inputs - 1, v);
    return TSL_STATUS_OK;
}

void tsl_value_replace_all_uses(struct tsl_value *from, struct tsl_value *to)
{
    if (from == to)
        return;
    while (from->n_uses) {
        struct tsl_use u = from->uses[from->n_uses - 1];
        tsl_node_set_input(u.node, u.index, to);
    }
    struct tsl_graph *g = NULL;
    if (from->producer)
        g = from->producer->graph;
    else if (to->producer)
        g = to->producer->graph;
    if (!from->n_output_refs || !g)
        return;
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from)
            tsl_graph_set_output(g, i, to);
}

/* ---- nodes ---- */

static bool defined_before(const struct tsl_graph *g, const struct tsl_value *v,
                           const struct tsl_node *pos)
{
    (void)g;
    if (!v || !v->producer)
        return true;
    /* v's producer must come before `pos` (pos == NULL: end of list). */
    for (const struct tsl_node *n = pos ? pos->prev : g->last; n; n = n->prev)
        if (n == v->producer)
            return true;
    return false;
}

static void link_node(struct tsl_graph *g, struct tsl_node *n, struct tsl_node *before)
{
    if (!before) {
        n->prev = g->last;
        n->next = NULL;
        if (g->last)
            g->last->next = n;
        else
            g->first = n;
        g->last = n;
    } else {
        n->next = before;
        n->prev = before->prev;
        if (before->prev)
            before->prev->next = n;
        else
            g->first = n;
        before->prev = n;
    }
    g->n_nodes++;
}

static void unlink_node(struct tsl_graph *g, struct tsl_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        g->first = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        g->last = n->prev;
    n->prev = n->next = NULL;
    g->n_nodes--;
}

/* Create a node placed before `before` (NULL = append). */
static enum tsl_status make_node(struct tsl_graph *g, struct tsl_node *before, enum tsl_op op,
                                 const char *name, uint32_t n_inputs,
                                 struct tsl_value *const *inputs, uint32_t n_outputs,
                                 struct tsl_node **out, const char *const *output_names)
{
    if ((unsigned)op >= TSL_OP_COUNT)
        return TSL_STATUS_INVALID_ARG;
    const struct tsl_op_info *info = tsl_op_info(op);
    if (n_inputs < info->min_inputs || n_inputs > info->max_inputs ||
        n_outputs < info->min_outputs || n_outputs > info->max_outputs)
        return TSL_STATUS_INVALID_ARG;
    if (name && *name && tsl_graph_find_node(g, name))
        return TSL_STATUS_INVALID_ARG;
    for (uint32_t i = 0; i < n_inputs; i++)
        if (!defined_before(g, inputs[i], before))
            return TSL_STATUS_INVALID_ARG;

    struct tsl_node *n = calloc(1, sizeof *n);
    if (!n)
        return TSL_STATUS_NOMEM;
    n->op = op;
    n->graph = g;
    n->name = tsl_strdup(name ? name : "");
    n->inputs = calloc(n_inputs ? n_inputs : 1, sizeof *n->inputs);
    n->outputs = calloc(n_outputs ? n_outputs : 1, sizeof *n->outputs);
    if (!n->name || !n->inputs || !n->outputs) {
        node_free(n);
        return TSL_STATUS_NOMEM;
    }
    n->n_inputs = n_inputs;
    tsl_attrs_set_defaults(info->attr_kind, &n->attrs);

    /* Outputs first (they can fail on name clashes), then uses. */
    enum tsl_status st = TSL_STATUS_OK;
    uint32_t made = 0;
    for (; made < n_outputs; made++) {
        const char *want = output_names ? output_names[made] : NULL;
        char *vn;
        if (want) {
            vn = tsl_strdup(want);
        } else {
            char *base = tsl_asprintf("%s_out%u", *n->name ? n->name : tsl_op_name(op), made);
            vn = base ? tsl_graph_unique_value_name(g, base) : NULL;
            free(base);
        }
        struct tsl_value *v;
        st = new_value(g, vn, &v);
        if (st != TSL_STATUS_OK)
            break;
        v->producer = n;
        v->producer_output = made;
        n->outputs[made] = v;
    }
    if (st == TSL_STATUS_OK && *n->name && !tsl_strmap_put(&g->index_->nodes, n->name, n))
        st = TSL_STATUS_NOMEM;
    if (st != TSL_STATUS_OK) {
        for (uint32_t i = 0; i < made; i++)
            remove_value(g, n->outputs[i]);
        node_free(n);
        return st;
    }
    n->n_outputs = n_outputs;
    n->id = g->next_node_id++;
    for (uint32_t i = 0; i < n_inputs; i++)
        tsl_node_set_input(n, i, inputs[i]);
    link_node(g, n, before);
    if (out)
        *out = n;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_add_node(struct tsl_graph *g, enum tsl_op op, const char *name,
                                   uint32_t n_inputs, struct tsl_value *const *inputs,
                                   uint32_t n_outputs, struct tsl_node **out,
                                   const char *const *output_names)
{
    return make_node(g, NULL, op, name, n_inputs, inputs, n_outputs, out, output_names);
}

enum tsl_status tsl_graph_insert_node_before(struct tsl_graph *g, struct tsl_node *at,
                                             enum tsl_op op, const char *name,
                                             uint32_t n_inputs, struct tsl_value *const *inputs,
                                             uint32_t n_outputs, struct tsl_node **out,
                                             const char *const *output_names)
{
    return make_node(g, at, op, name, n_inputs, inputs, n_outputs, out, output_names);
}

enum tsl_status tsl_graph_insert_node_after(struct tsl_graph *g, struct tsl_node *at,
                                            enum tsl_op op, const char *name,
                                            uint32_t n_inputs, struct tsl_value *const *inputs,
                                            uint32_t n_outputs, struct tsl_node **out,
                                            const char *const *output_names)
{
    return make_node(g, at->next, op, name, n_inputs, inputs, n_outputs, out, output_names);
}

enum tsl_status tsl_graph_erase_node(struct tsl_graph *g, struct tsl_node *n)
{
    for (uint32_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i]->n_uses || n->outputs[i]->n_output_refs)
            return TSL_STATUS_INVALID_ARG;
    for (uint32_t i = 0; i < n->n_inputs; i++)
        tsl_node_set_input(n, i, NULL);
    for (uint32_t i = 0; i < n->n_outputs; i++)
        remove_value(g, n->outputs[i]);
    if (*n->name)
        tsl_strmap_del(&g->index_->nodes, n->name);
    unlink_node(g, n);
    node_free(n);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_erase_value(struct tsl_graph *g, struct tsl_value *v)
{
    if (v->n_uses || v->producer || v->n_output_refs)
        return TSL_STATUS_INVALID_ARG;
    if (v->is_input) {
        for (uint32_t i = 0; i < g->n_inputs; i++)
            if (g->inputs[i] == v) {
                memmove(&g->inputs[i], &g->inputs[i + 1],
                        (g->n_inputs - i - 1) * sizeof *g->inputs);
                g->n_inputs--;
                break;
            }
    }
    remove_value(g, v);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_replace_with_constant_take(struct tsl_graph *g, struct tsl_value *v,
                                                     struct tsl_const *c,
                                                     struct tsl_value **out)
{
    char *base = tsl_asprintf("%s_const", v->name);
    char *name = base ? tsl_graph_unique_value_name(g, base) : NULL;
    free(base);
    if (!name)
        return TSL_STATUS_NOMEM;
    struct tsl_value *k;
    enum tsl_status st = tsl_graph_add_constant_take(g, name, &v->type, c, &k);
    free(name);
    if (st != TSL_STATUS_OK)
        return st;
    st = tsl_quant_copy(&k->quant, &v->quant);
    if (st != TSL_STATUS_OK)
        return st;
    tsl_value_replace_all_uses(v, k);
    if (out)
        *out = k;
    return TSL_STATUS_OK;
}

/* ---- topological sort ---- */

enum tsl_status tsl_graph_sort(struct tsl_graph *g, struct tsl_diag *diag)
{
    uint32_t n = g->n_nodes;
    if (n == 0)
        return TSL_STATUS_OK;
    struct tsl_node **order = malloc(n * sizeof *order);
    struct tsl_node **list = malloc(n * sizeof *list);
    uint32_t *pending = calloc(n, sizeof *pending);
    uint32_t *pos_of = NULL;
    if (!order || !list || !pending) {
        free(order);
        free(list);
        free(pending);
        return TSL_STATUS_NOMEM;
    }
    /* Position of each node in the current list, found through node ids. */
    uint32_t max_id = 0, k = 0;
    for (struct tsl_node *x = g->first; x; x = x->next) {
        list[k++] = x;
        if (x->id > max_id)
            max_id = x->id;
    }
    pos_of = malloc(((size_t)max_id + 1) * sizeof *pos_of);
    if (!pos_of) {
        free(order);
        free(list);
        free(pending);
        return TSL_STATUS_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        pos_of[list[i]->id] = i;
    /* pending[i] = number of inputs of list[i] produced by a node. */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < list[i]->n_inputs; j++)
            if (list[i]->inputs[j] && list[i]->inputs[j]->producer)
                pending[i]++;
    /* Stable Kahn: repeatedly take the earliest ready node.  A min-heap on
     * list position keeps it O(E log N). */
    uint32_t *heap = malloc(n * sizeof *heap), hn = 0, done = 0;
    if (!heap) {
        free(order);
        free(list);
        free(pending);
        free(pos_of);
        return TSL_STATUS_NOMEM;
    }
#define HEAP_PUSH(x)                                                               \
    do {                                                                           \
        uint32_t c_ = hn++;                                                        \
        heap[c_] = (x);                                                            \
        while (c_ && heap[(c_ - 1) / 2] > heap[c_]) {                              \
            uint32_t p_ = (c_ - 1) / 2, t_ = heap[p_];                             \
            heap[p_] = heap[c_];                                                   \
            heap[c_] = t_;                                                         \
            c_ = p_;                                                               \
        }                                                                          \
    } while (0)
    for (uint32_t i = 0; i < n; i++)
        if (!pending[i])
            HEAP_PUSH(i);
    while (hn) {
        uint32_t top = heap[0];
        heap[0] = heap[--hn];
        for (uint32_t c = 0;;) {
            uint32_t l = 2 * c + 1, r = l + 1, m = c;
            if (l < hn && heap[l] < heap[m])
                m = l;
            if (r < hn && heap[r] < heap[m])
                m = r;
            if (m == c)
                break;
            uint32_t t = heap[m];
            heap[m] = heap[c];
            heap[c] = t;
            c = m;
        }
        struct tsl_node *x = list[top];
        order[done++] = x;
        for (uint32_t o = 0; o < x->n_outputs; o++) {
            struct tsl_value *v = x->outputs[o];
            for (uint32_t u = 0; u < v->n_uses; u++) {
                uint32_t p = pos_of[v->uses[u].node->id];
                if (--pending[p] == 0)
                    HEAP_PUSH(p);
            }
        }
    }
#undef HEAP_PUSH
    enum tsl_status st = TSL_STATUS_OK;
    if (done != n) {
        const struct tsl_node *bad = NULL;
        for (uint32_t i = 0; i < n && !bad; i++)
            if (pending[i])
                bad = list[i];
        st = tsl_diag_error(diag, TSL_STATUS_VERIFY, bad && *bad->name ? bad->name : "graph",
                            "graph has a cycle through this %s node", tsl_op_name(bad->op));
    } else {
        g->first = g->last = NULL;
        g->n_nodes = 0;
        for (uint32_t i = 0; i < n; i++)
            link_node(g, order[i], NULL);
    }
    free(heap);
    free(order);
    free(list);
    free(pending);
    free(pos_of);
    return st;
}
