/* import_graph.c - turns an unpacked ONNX GraphProto into IR: the value-name
 * maps, duplicate/undefined-name checks, a topological order computed with
 * Kahn's algorithm (the file's node order is not trusted; a cycle is reported
 * naming a node on it), initializers and graph inputs, value_info types and
 * graph outputs.  Node conversion is delegated to the op table
 * (import_ops.c).  Model-level checks (opset, unsupported ops, file reading)
 * live in import.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

/* ---- string -> int32 hash map (keys borrowed from the proto) ------------ */

struct tsl_onnx_namemap {
    const char **keys;
    int32_t *vals;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct tsl_onnx_namemap *nm_new(size_t expect)
{
    struct tsl_onnx_namemap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    size_t cap = 16;
    while (cap < expect * 2 + 16)
        cap *= 2;
    m->keys = calloc(cap, sizeof(*m->keys));
    m->vals = calloc(cap, sizeof(*m->vals));
    m->cap = cap;
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        free(m);
        return NULL;
    }
    return m;
}

static void nm_free(struct tsl_onnx_namemap *m)
{
    if (!m)
        return;
    free(m->keys);
    free(m->vals);
    free(m);
}

static size_t nm_slot(const struct tsl_onnx_namemap *m, const char *k)
{
    size_t i = (size_t)hash_str(k) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], k) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool nm_get(const struct tsl_onnx_namemap *m, const char *k, int32_t *v)
{
    if (!m || !k)
        return false;
    size_t i = nm_slot(m, k);
    if (!m->keys[i])
        return false;
    if (v)
        *v = m->vals[i];
    return true;
}

/* Insert or overwrite; false on OOM. */
static bool nm_put(struct tsl_onnx_namemap *m, const char *k, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct tsl_onnx_namemap big = {0};
        big.cap = m->cap * 2;
        big.keys = calloc(big.cap, sizeof(*big.keys));
        big.vals = calloc(big.cap, sizeof(*big.vals));
        if (!big.keys || !big.vals) {
            free(big.keys);
            free(big.vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t s = nm_slot(&big, m->keys[i]);
                big.keys[s] = m->keys[i];
                big.vals[s] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        m->keys = big.keys;
        m->vals = big.vals;
        m->cap = big.cap;
    }
    size_t i = nm_slot(m, k);
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->n++;
    }
    m->vals[i] = v;
    return true;
}

/* ---- helpers for the op importers ---------------------------------------- */

const char *tsl_onnx_node_where(const Onnx__NodeProto *np, char *buf, size_t cap)
{
    if (np->name && *np->name)
        return np->name;
    const char *out0 = np->n_output && np->output[0] ? np->output[0] : "";
    snprintf(buf, cap, "%s node producing \"%s\"", np->op_type ? np->op_type : "?", out0);
    return buf;
}

char *tsl_onnx_synth_name(struct tsl_onnx_imp *im, const char *base)
{
    for (uint32_t k = 0;; k++) {
        char *s = k ? tsl_asprintf("%s_%u", base, k) : tsl_strdup(base);
        if (!s)
            return NULL;
        if (!tsl_graph_find_value(im->g, s) && !nm_get(im->onnx_names, s, NULL))
            return s;
        free(s);
    }
}

enum tsl_status tsl_onnx_add_node(struct tsl_onnx_imp *im, enum tsl_op op, const char *name,
                                  uint32_t n_in, struct tsl_value *const *ins, uint32_t n_out,
                                  const char *const *out_names, struct tsl_node **out)
{
    char *unique = NULL;
    if (name && *name && tsl_graph_find_node(im->g, name)) {
        for (uint32_t k = 1; !unique; k++) {
            unique = tsl_asprintf("%s_%u", name, k);
            if (!unique)
                return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, name, "out of memory");
            if (tsl_graph_find_node(im->g, unique)) {
                free(unique);
                unique = NULL;
            }
        }
    }
    enum tsl_status st = tsl_graph_add_node(im->g, op, unique ? unique : name, n_in, ins, n_out,
                                            out, out_names);
    free(unique);
    if (st != TSL_STATUS_OK)
        return tsl_diag_error(im->diag, st, name && *name ? name : tsl_op_name(op),
                              "cannot create %s node (%s)", tsl_op_name(op), tsl_status_str(st));
    return TSL_STATUS_OK;
}

bool tsl_onnx_name_used(const struct tsl_onnx_imp *im, const char *name)
{
    return name && *name && nm_get(im->used, name, NULL);
}

int32_t tsl_onnx_known_rank(const struct tsl_onnx_imp *im, const struct tsl_value *v)
{
    if (!v)
        return -1;
    if (v->type.shape.rank >= 0)
        return v->type.shape.rank;
    int32_t idx;
    if (!nm_get(im->vinfo, v->name, &idx))
        return -1;
    const Onnx__ValueInfoProto *vi =
        idx > 0 ? im->gp->value_info[idx - 1] : im->gp->output[-idx - 1];
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape || tp->tensor_type->shape->n_dim > TSL_MAX_RANK)
        return -1;
    return (int32_t)tp->tensor_type->shape->n_dim;
}

enum tsl_status tsl_onnx_type_from_proto(struct tsl_onnx_imp *im, const Onnx__TypeProto *tp,
                                         const char *where, struct tsl_type *out)
{
    if (!tp)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, where, "value has no type");
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, where,
                              "only tensor types are supported (sequence/map/optional/sparse are not)");
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int32_t code = tt->has_elem_type ? tt->elem_type : 0;
    if (!tsl_onnx_dtype_from_onnx(code, &out->dtype))
        return tsl_diag_error(im->diag, code ? TSL_STATUS_UNSUPPORTED : TSL_STATUS_PARSE, where,
                              "element type %d (%s) is unsupported", (int)code,
                              tsl_onnx_dtype_onnx_name(code));
    if (!tt->shape) {
        out->shape.rank = -1;
        return TSL_STATUS_OK;
    }
    if (tt->shape->n_dim > TSL_MAX_RANK)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, where,
                              "rank %zu exceeds the maximum rank %d", tt->shape->n_dim, TSL_MAX_RANK);
    out->shape.rank = (int32_t)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        uint32_t sym;
        enum tsl_status st = TSL_STATUS_OK;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return tsl_diag_error(im->diag, TSL_STATUS_PARSE, where,
                                      "negative dim %lld at axis %zu", (long long)d->dim_value, i);
            out->shape.dims[i] = d->dim_value;
            continue;
        }
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
            *d->dim_param)
            st = tsl_graph_symbol(im->g, d->dim_param, &sym);
        else
            st = tsl_graph_fresh_symbol(im->g, "unk", &sym);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(im->diag, st, where, "cannot create symbolic dim");
        out->shape.dims[i] = TSL_DIM_SYM(sym);
    }
    return TSL_STATUS_OK;
}

/* ---- graph building ------------------------------------------------------ */

/* Producer encoding in onnx_names: -1 graph input, -2 initializer,
 * k >= 0 output of node k. */
#define P_INPUT (-1)
#define P_INIT (-2)

static enum tsl_status register_names(struct tsl_onnx_imp *im)
{
    const Onnx__GraphProto *gp = im->gp;
    struct tsl_diag *diag = im->diag;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *n = gp->initializer[i]->name;
        if (!n || !*n)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, im->model_name, "initializer #%zu has no name", i);
        if (nm_get(im->onnx_names, n, NULL))
            return tsl_diag_error(diag, TSL_STATUS_PARSE, n, "duplicate initializer name");
        if (!nm_put(im->onnx_names, n, P_INIT))
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *n = gp->input[i]->name;
        int32_t p;
        if (!n || !*n)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, im->model_name, "graph input #%zu has no name", i);
        if (nm_get(im->onnx_names, n, &p)) {
            if (p == P_INIT)
                continue; /* an input that is an initializer: a constant */
            return tsl_diag_error(diag, TSL_STATUS_PARSE, n, "duplicate graph input name");
        }
        if (!nm_put(im->onnx_names, n, P_INPUT))
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
    }
    char buf[256];
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        for (size_t j = 0; j < np->n_output; j++) {
            const char *n = np->output[j];
            int32_t p;
            if (!n || !*n)
                continue; /* omitted optional output */
            if (nm_get(im->onnx_names, n, &p))
                return tsl_diag_error(diag, TSL_STATUS_PARSE, tsl_onnx_node_where(np, buf, sizeof buf),
                                      "duplicate output name \"%s\" (already %s)", n,
                                      p == P_INPUT ? "a graph input"
                                      : p == P_INIT ? "an initializer"
                                                    : "produced by another node");
            if (!nm_put(im->onnx_names, n, (int32_t)k))
                return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
        }
    }
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        for (size_t j = 0; j < np->n_input; j++) {
            const char *n = np->input[j];
            if (!n || !*n)
                continue;
            if (!nm_get(im->onnx_names, n, NULL))
                return tsl_diag_error(diag, TSL_STATUS_PARSE, tsl_onnx_node_where(np, buf, sizeof buf),
                                      "input \"%s\" is not produced by any node, graph input or initializer", n);
            if (!nm_put(im->used, n, 1))
                return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
        }
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *n = gp->output[i]->name;
        if (!n || !nm_get(im->onnx_names, n, NULL))
            return tsl_diag_error(diag, TSL_STATUS_PARSE, n && *n ? n : im->model_name,
                                  "graph output is not produced by any node, graph input or initializer");
        if (!nm_put(im->used, n, 1) || !nm_put(im->vinfo, n, -(int32_t)i - 1))
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const char *n = gp->value_info[i]->name;
        if (n && *n && !nm_put(im->vinfo, n, (int32_t)i + 1))
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, n, "out of memory");
    }
    return TSL_STATUS_OK;
}

/* Kahn's algorithm over node -> node edges; order[] receives node indices.
 * On a cycle, reports a node that lies on it. */
static enum tsl_status topo_order(struct tsl_onnx_imp *im, uint32_t *order)
{
    const Onnx__GraphProto *gp = im->gp;
    size_t n = gp->n_node, n_edges = 0;
    for (size_t k = 0; k < n; k++)
        n_edges += gp->node[k]->n_input;
    uint32_t *indeg = calloc(n + 1, sizeof(*indeg));
    uint32_t *start = calloc(n + 2, sizeof(*start));
    uint32_t *adj = malloc((n_edges + 1) * sizeof(*adj));
    uint32_t *queue = malloc((n + 1) * sizeof(*queue));
    enum tsl_status st = TSL_STATUS_OK;
    if (!indeg || !start || !adj || !queue) {
        st = tsl_diag_error(im->diag, TSL_STATUS_NOMEM, im->model_name, "out of memory");
        goto out;
    }
    /* count consumers per producer, then fill (CSR) */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            const Onnx__NodeProto *np = gp->node[k];
            for (size_t j = 0; j < np->n_input; j++) {
                int32_t p;
                if (!np->input[j] || !*np->input[j] || !nm_get(im->onnx_names, np->input[j], &p) || p < 0)
                    continue;
                if (pass == 0) {
                    start[p + 1]++;
                    indeg[k]++;
                } else {
                    adj[start[p]++] = (uint32_t)k;
                }
            }
        }
        if (pass == 0)
            for (size_t k = 0; k < n; k++)
                start[k + 1] += start[k];
        else
            for (size_t k = n; k > 0; k--)
                start[k] = start[k - 1];
        if (pass == 1)
            start[0] = 0;
    }
    size_t head = 0, tail = 0;
    for (size_t k = 0; k < n; k++)
        if (indeg[k] == 0)
            queue[tail++] = (uint32_t)k;
    while (head < tail) {
        uint32_t k = queue[head++];
        order[head - 1] = k;
        for (uint32_t e = start[k]; e < start[k + 1]; e++)
            if (--indeg[adj[e]] == 0)
                queue[tail++] = adj[e];
    }
    if (tail < n) {
        /* walk producers among unfinished nodes: after n steps we are on a cycle */
        uint32_t cur = 0;
        while (indeg[cur] == 0)
            cur++;
        for (size_t step = 0; step < n; step++) {
            const Onnx__NodeProto *np = gp->node[cur];
            for (size_t j = 0; j < np->n_input; j++) {
                int32_t p;
                if (np->input[j] && *np->input[j] && nm_get(im->onnx_names, np->input[j], &p) &&
                    p >= 0 && indeg[p] > 0) {
                    cur = (uint32_t)p;
                    break;
                }
            }
        }
        char buf[256];
        st = tsl_diag_error(im->diag, TSL_STATUS_PARSE, im->model_name,
                            "graph has a cycle through node \"%s\"",
                            tsl_onnx_node_where(gp->node[cur], buf, sizeof buf));
    }
out:
    free(indeg);
    free(start);
    free(adj);
    free(queue);
    return st;
}

static enum tsl_status add_initializers(struct tsl_onnx_imp *im)
{
    for (size_t i = 0; i < im->gp->n_initializer; i++) {
        const Onnx__TensorProto *t = im->gp->initializer[i];
        struct tsl_onnx_dense d;
        TSL_TRY(tsl_onnx_tensor_decode(&im->tctx, t, t->name, &d, im->diag));
        struct tsl_const *c = tsl_const_new();
        if (!c) {
            free(d.data);
            return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, t->name, "out of memory");
        }
        c->encoding = TSL_ENC_DENSE;
        c->data = d.data;
        c->data_bytes = d.bytes;
        struct tsl_type ty = {d.dtype, d.shape};
        enum tsl_status st = tsl_graph_add_constant_take(im->g, t->name, &ty, c, NULL);
        if (st != TSL_STATUS_OK) {
            tsl_const_free(c);
            return tsl_diag_error(im->diag, st, t->name, "cannot add initializer (%s)",
                                  tsl_status_str(st));
        }
        /* the graph has its own copy now: drop the message's (nothing reads
         * initializer payloads after this loop) */
        if (im->gp_release && im->budget)
            tsl_onnx_unpacked_free_bytes(&im->gp_release->initializer[i]->raw_data, im->budget);
    }
    return TSL_STATUS_OK;
}

static enum tsl_status add_inputs(struct tsl_onnx_imp *im)
{
    for (size_t i = 0; i < im->gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = im->gp->input[i];
        int32_t p;
        if (nm_get(im->onnx_names, vi->name, &p) && p == P_INIT)
            continue;
        struct tsl_type ty;
        TSL_TRY(tsl_onnx_type_from_proto(im, vi->type, vi->name, &ty));
        enum tsl_status st = tsl_graph_add_input(im->g, vi->name, &ty, NULL);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(im->diag, st, vi->name, "cannot add graph input (%s)",
                                  tsl_status_str(st));
    }
    return TSL_STATUS_OK;
}

static enum tsl_status add_nodes(struct tsl_onnx_imp *im, const uint32_t *order)
{
    enum tsl_status st = TSL_STATUS_OK;
    char buf[256];
    struct tsl_value **ins = NULL;
    size_t cap = 0;
    for (size_t o = 0; o < im->gp->n_node && st == TSL_STATUS_OK; o++) {
        const Onnx__NodeProto *np = im->gp->node[order[o]];
        struct tsl_onnx_node_in ni = {np, tsl_onnx_node_where(np, buf, sizeof buf), NULL, 0};
        if (np->n_input > UINT32_MAX / 2) {
            st = tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni.where, "too many inputs");
            break;
        }
        if (!tsl_grow((void **)&ins, &cap, np->n_input + 1, sizeof(*ins))) {
            st = tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni.where, "out of memory");
            break;
        }
        for (size_t j = 0; j < np->n_input; j++) {
            ins[j] = NULL;
            if (np->input[j] && *np->input[j]) {
                ins[j] = tsl_graph_find_value(im->g, np->input[j]);
                if (!ins[j]) /* produced by a node whose output was dropped */
                    st = tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni.where,
                                        "input \"%s\" comes from an output tessel does not support",
                                        np->input[j]);
            }
        }
        if (st != TSL_STATUS_OK)
            break;
        ni.ins = ins;
        ni.n_in = (uint32_t)np->n_input;
        bool known;
        const struct tsl_onnx_op_entry *e = tsl_onnx_find_op(np->op_type, im->opset, &known);
        if (!e) /* import.c has already rejected unsupported ops */
            st = tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni.where, "unsupported op %s",
                                np->op_type);
        else
            st = tsl_onnx_import_node(im, &ni, e);
    }
    free(ins);
    return st;
}

static enum tsl_status add_outputs(struct tsl_onnx_imp *im)
{
    for (size_t i = 0; i < im->gp->n_output; i++) {
        const char *n = im->gp->output[i]->name;
        struct tsl_value *v = tsl_graph_find_value(im->g, n);
        if (!v)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, n, "graph output does not exist");
        enum tsl_status st = tsl_graph_add_output(im->g, v);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(im->diag, st, n, "cannot add graph output");
    }
    return TSL_STATUS_OK;
}

/* Build im->g from im->gp.  Called by import.c after model-level checks. */
enum tsl_status tsl_onnx_build_graph(struct tsl_onnx_imp *im);
enum tsl_status tsl_onnx_build_graph(struct tsl_onnx_imp *im)
{
    const Onnx__GraphProto *gp = im->gp;
    size_t total = gp->n_initializer + gp->n_input + gp->n_output + gp->n_value_info;
    for (size_t k = 0; k < gp->n_node; k++)
        total += gp->node[k]->n_output;
    im->onnx_names = nm_new(total);
    im->used = nm_new(total);
    im->vinfo = nm_new(gp->n_value_info + gp->n_output);
    uint32_t *order = malloc((gp->n_node + 1) * sizeof(*order));
    enum tsl_status st;
    if (!im->onnx_names || !im->used || !im->vinfo || !order)
        st = tsl_diag_error(im->diag, TSL_STATUS_NOMEM, im->model_name, "out of memory");
    else
        st = register_names(im);
    if (st == TSL_STATUS_OK)
        st = topo_order(im, order);
    if (st == TSL_STATUS_OK)
        st = add_initializers(im);
    if (st == TSL_STATUS_OK)
        st = add_inputs(im);
    if (st == TSL_STATUS_OK)
        st = add_nodes(im, order);
    if (st == TSL_STATUS_OK)
        st = add_outputs(im);
    if (st == TSL_STATUS_OK)
        st = tsl_onnx_drop_folded_constants(im);
    free(order);
    nm_free(im->onnx_names);
    nm_free(im->used);
    nm_free(im->vinfo);
    im->onnx_names = im->used = im->vinfo = NULL;
    return st;
}
