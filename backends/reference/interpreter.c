/* interpreter.c - runs a graph on the reference kernels: binds and checks
 * the inputs (dtype, rank, known dims, consistent symbols), decodes each
 * constant once on first use, runs the nodes in list order through the
 * kernel table indexed by enum tsl_op, frees every activation right after
 * its last user and tracks the peak of live activation bytes.
 * Optional hooks see every node's inputs before it runs and may adjust
 * its outputs after (tsl_ref_run_observed; calibration statistics and
 * bias correction).  Kernel arithmetic lives
 * in kernels/; this file never looks inside data. */
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

static const tsl_ref_kernel_fn kernels[TSL_OP_COUNT] = {
    [TSL_OP_ABS] = tsl_ref_unary,
    [TSL_OP_CEIL] = tsl_ref_unary,
    [TSL_OP_COS] = tsl_ref_unary,
    [TSL_OP_ERF] = tsl_ref_unary,
    [TSL_OP_EXP] = tsl_ref_unary,
    [TSL_OP_FLOOR] = tsl_ref_unary,
    [TSL_OP_HARD_SWISH] = tsl_ref_unary,
    [TSL_OP_IDENTITY] = tsl_ref_identity,
    [TSL_OP_LOG] = tsl_ref_unary,
    [TSL_OP_NEG] = tsl_ref_unary,
    [TSL_OP_NOT] = tsl_ref_unary,
    [TSL_OP_RECIPROCAL] = tsl_ref_unary,
    [TSL_OP_RELU] = tsl_ref_unary,
    [TSL_OP_ROUND] = tsl_ref_unary,
    [TSL_OP_SIGMOID] = tsl_ref_unary,
    [TSL_OP_SIGN] = tsl_ref_unary,
    [TSL_OP_SIN] = tsl_ref_unary,
    [TSL_OP_SOFTPLUS] = tsl_ref_unary,
    [TSL_OP_SQRT] = tsl_ref_unary,
    [TSL_OP_TANH] = tsl_ref_unary,
    [TSL_OP_ELU] = tsl_ref_unary,
    [TSL_OP_HARD_SIGMOID] = tsl_ref_unary,
    [TSL_OP_LEAKY_RELU] = tsl_ref_unary,
    [TSL_OP_SELU] = tsl_ref_unary,
    [TSL_OP_CLIP] = tsl_ref_clip,
    [TSL_OP_ADD] = tsl_ref_binary,
    [TSL_OP_SUB] = tsl_ref_binary,
    [TSL_OP_MUL] = tsl_ref_binary,
    [TSL_OP_DIV] = tsl_ref_binary,
    [TSL_OP_POW] = tsl_ref_binary,
    [TSL_OP_PRELU] = tsl_ref_binary,
    [TSL_OP_EQUAL] = tsl_ref_binary,
    [TSL_OP_GREATER] = tsl_ref_binary,
    [TSL_OP_GREATER_OR_EQUAL] = tsl_ref_binary,
    [TSL_OP_LESS] = tsl_ref_binary,
    [TSL_OP_LESS_OR_EQUAL] = tsl_ref_binary,
    [TSL_OP_AND] = tsl_ref_binary,
    [TSL_OP_OR] = tsl_ref_binary,
    [TSL_OP_XOR] = tsl_ref_binary,
    [TSL_OP_MAX] = tsl_ref_variadic,
    [TSL_OP_MIN] = tsl_ref_variadic,
    [TSL_OP_SUM] = tsl_ref_variadic,
    [TSL_OP_MEAN] = tsl_ref_variadic,
    [TSL_OP_WHERE] = tsl_ref_where_op,
    [TSL_OP_CONV] = tsl_ref_conv,
    [TSL_OP_CONV_TRANSPOSE] = tsl_ref_conv_transpose,
    [TSL_OP_GEMM] = tsl_ref_gemm,
    [TSL_OP_MATMUL] = tsl_ref_matmul,
    [TSL_OP_BATCH_NORM] = tsl_ref_batch_norm,
    [TSL_OP_INSTANCE_NORM] = tsl_ref_instance_norm,
    [TSL_OP_LAYER_NORM] = tsl_ref_layer_norm,
    [TSL_OP_SOFTMAX] = tsl_ref_softmax,
    [TSL_OP_LOG_SOFTMAX] = tsl_ref_softmax,
    [TSL_OP_MAX_POOL] = tsl_ref_pool,
    [TSL_OP_AVERAGE_POOL] = tsl_ref_pool,
    [TSL_OP_GLOBAL_AVERAGE_POOL] = tsl_ref_global_pool,
    [TSL_OP_GLOBAL_MAX_POOL] = tsl_ref_global_pool,
    [TSL_OP_REDUCE_MEAN] = tsl_ref_reduce,
    [TSL_OP_REDUCE_MAX] = tsl_ref_reduce,
    [TSL_OP_REDUCE_MIN] = tsl_ref_reduce,
    [TSL_OP_REDUCE_SUM] = tsl_ref_reduce,
    [TSL_OP_REDUCE_PROD] = tsl_ref_reduce,
    [TSL_OP_REDUCE_L2] = tsl_ref_reduce,
    [TSL_OP_REDUCE_SUM_SQUARE] = tsl_ref_reduce,
    [TSL_OP_ARG_MAX] = tsl_ref_arg_reduce,
    [TSL_OP_ARG_MIN] = tsl_ref_arg_reduce,
    [TSL_OP_RESHAPE] = tsl_ref_reshape,
    [TSL_OP_FLATTEN] = tsl_ref_flatten,
    [TSL_OP_TRANSPOSE] = tsl_ref_transpose,
    [TSL_OP_CONCAT] = tsl_ref_concat,
    [TSL_OP_SPLIT] = tsl_ref_split,
    [TSL_OP_SLICE] = tsl_ref_slice,
    [TSL_OP_SQUEEZE] = tsl_ref_squeeze,
    [TSL_OP_UNSQUEEZE] = tsl_ref_unsqueeze,
    [TSL_OP_GATHER] = tsl_ref_gather,
    [TSL_OP_GATHER_ELEMENTS] = tsl_ref_gather_elements,
    [TSL_OP_GATHER_ND] = tsl_ref_gather_nd,
    [TSL_OP_SHAPE] = tsl_ref_shape_op,
    [TSL_OP_SIZE] = tsl_ref_size_op,
    [TSL_OP_CONSTANT_OF_SHAPE] = tsl_ref_constant_of_shape,
    [TSL_OP_CAST] = tsl_ref_cast,
    [TSL_OP_EXPAND] = tsl_ref_expand,
    [TSL_OP_TILE] = tsl_ref_tile,
    [TSL_OP_RANGE] = tsl_ref_range,
    [TSL_OP_RESIZE] = tsl_ref_resize,
    [TSL_OP_PAD] = tsl_ref_pad,
    [TSL_OP_DEPTH_TO_SPACE] = tsl_ref_depth_to_space,
    [TSL_OP_SPACE_TO_DEPTH] = tsl_ref_depth_to_space,
    [TSL_OP_TOPK] = tsl_ref_topk,
    [TSL_OP_NON_ZERO] = tsl_ref_non_zero,
    [TSL_OP_NON_MAX_SUPPRESSION] = tsl_ref_nms,
    [TSL_OP_QUANTIZE_LINEAR] = tsl_ref_quantize,
    [TSL_OP_DEQUANTIZE_LINEAR] = tsl_ref_dequantize,
    [TSL_OP_QLINEAR_CONV] = tsl_ref_qlinear_conv,
    [TSL_OP_QLINEAR_MATMUL] = tsl_ref_qlinear_matmul,
};

bool tsl_ref_has_kernel(enum tsl_op op)
{
    return (unsigned)op < TSL_OP_COUNT && kernels[op] != NULL;
}

/* Per-value run state, indexed by value id. */
struct slot {
    struct tsl_tensor t;
    bool live;     /* t holds the value now */
    bool owned;    /* t.data is ours to free (not a caller input) */
    bool counted;  /* an activation: counted in live bytes */
    bool pinned;   /* a graph output: kept to the end */
    int64_t bytes;
    uint32_t last_use; /* ordinal of the last node reading it */
};

struct run {
    const struct tsl_graph *g;
    struct slot *slots;
    uint32_t n_slots;
    int64_t live_bytes, peak_bytes;
    struct tsl_diag *diag;
};

static void slot_release(struct run *r, struct slot *s)
{
    if (!s->live)
        return;
    if (s->owned)
        free(s->t.data);
    if (s->counted)
        r->live_bytes -= s->bytes;
    memset(&s->t, 0, sizeof s->t);
    s->live = s->owned = s->counted = false;
}

static enum tsl_status bind_input(struct run *r, const struct tsl_value *v,
                                  const struct tsl_tensor *in, int64_t *sym, void *dummy)
{
    const char *where = v->name;
    if (v->type.dtype != TSL_DTYPE_UNDEF && in->dtype != v->type.dtype)
        return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "expected dtype %s, got %s",
                              tsl_dtype_name(v->type.dtype), tsl_dtype_name(in->dtype));
    if (in->shape.rank < 0 || in->shape.rank > TSL_MAX_RANK)
        return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "bad rank %d",
                              in->shape.rank);
    if (v->type.shape.rank >= 0 && in->shape.rank != v->type.shape.rank)
        return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "expected rank %d, got %d",
                              v->type.shape.rank, in->shape.rank);
    int64_t numel = 1, bytes;
    for (int32_t d = 0; d < in->shape.rank; d++) {
        int64_t got = in->shape.dims[d];
        if (got < 0 || !tsl_mul_i64(numel, got, &numel))
            return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "bad dim %d (%lld)",
                                  d, (long long)got);
        if (v->type.shape.rank < 0)
            continue;
        int64_t want = v->type.shape.dims[d];
        if (!TSL_DIM_IS_SYM(want)) {
            if (want != got)
                return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where,
                                      "expected size %lld in dim %d, got %lld", (long long)want,
                                      d, (long long)got);
            continue;
        }
        uint32_t k = TSL_DIM_SYM_INDEX(want);
        if (k >= r->g->n_symbols)
            continue;
        if (sym[k] >= 0 && sym[k] != got)
            return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where,
                                  "dim %d is '%s' = %lld elsewhere, got %lld", d,
                                  r->g->symbols[k], (long long)sym[k], (long long)got);
        sym[k] = got;
    }
    if (!tsl_dtype_storage_bytes(in->dtype, numel, &bytes))
        return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "bad dtype");
    if (!in->data && numel > 0)
        return tsl_diag_error(r->diag, TSL_STATUS_INVALID_ARG, where, "no data");
    struct slot *s = &r->slots[v->id];
    s->t = *in;
    s->t.name = NULL;
    if (!s->t.data)
        s->t.data = dummy;
    s->live = true;
    return TSL_STATUS_OK;
}

static enum tsl_status load_constant(struct run *r, const struct tsl_value *v)
{
    struct slot *s = &r->slots[v->id];
    void *dense;
    TSL_TRY(tsl_const_decode(v, &dense, r->diag));
    s->t.dtype = v->type.dtype;
    s->t.shape = v->type.shape;
    s->t.data = dense;
    s->live = s->owned = true;
    return TSL_STATUS_OK;
}

/* Free the inputs whose last user is node ordinal k, and dead outputs. */
static void release_after(struct run *r, const struct tsl_node *n, uint32_t k)
{
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v)
            continue;
        struct slot *s = &r->slots[v->id];
        if (s->last_use == k && !s->pinned && !v->is_input)
            slot_release(r, s);
    }
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        struct slot *s = &r->slots[n->outputs[i]->id];
        if (n->outputs[i]->n_uses == 0 && !s->pinned)
            slot_release(r, s);
    }
}

static enum tsl_status run_node(struct run *r, const struct tsl_node *n, uint32_t k,
                                const struct tsl_ref_hooks *hooks)
{
    const char *where = tsl_ref_where(n);
    if ((unsigned)n->op >= TSL_OP_COUNT || !kernels[n->op])
        return tsl_diag_error(r->diag, TSL_STATUS_UNSUPPORTED, where,
                              "no reference kernel for this op");
    const struct tsl_tensor *ins_fixed[16];
    struct tsl_tensor outs_fixed[4];
    const struct tsl_tensor **ins = ins_fixed;
    struct tsl_tensor *outs = outs_fixed;
    enum tsl_status st = TSL_STATUS_OK;
    if (n->n_inputs > TSL_ARRAY_LEN(ins_fixed))
        ins = malloc(n->n_inputs * sizeof *ins);
    if (n->n_outputs > TSL_ARRAY_LEN(outs_fixed))
        outs = malloc(n->n_outputs * sizeof *outs);
    if (!ins || !outs) {
        st = tsl_diag_error(r->diag, TSL_STATUS_NOMEM, where, "out of memory");
        goto done;
    }
    memset(outs, 0, n->n_outputs * sizeof *outs);
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        ins[i] = NULL;
        if (!v)
            continue;
        struct slot *s = &r->slots[v->id];
        if (!s->live && v->constant) {
            st = load_constant(r, v);
            if (st != TSL_STATUS_OK)
                goto done;
        }
        if (!s->live) {
            st = tsl_diag_error(r->diag, TSL_STATUS_INTERNAL, where,
                                "input '%s' is not available", v->name);
            goto done;
        }
        if (tsl_ref_elem_size(s->t.dtype) == 0 && n->op != TSL_OP_DEQUANTIZE_LINEAR &&
            n->op != TSL_OP_CAST) {
            st = tsl_diag_error(r->diag, TSL_STATUS_UNSUPPORTED, where,
                                "%s: packed dtype %s input '%s' (only Cast and "
                                "DequantizeLinear read packed types)",
                                tsl_op_name(n->op), tsl_dtype_name(s->t.dtype), v->name);
            goto done;
        }
        ins[i] = &s->t;
    }
    struct tsl_ref_call call = {.node = n, .in = ins, .n_in = n->n_inputs, .out = outs,
                                .n_out = n->n_outputs, .diag = r->diag};
    st = kernels[n->op](&call);
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < n->n_outputs; i++) {
        const struct tsl_value *v = n->outputs[i];
        if (!outs[i].data)
            st = tsl_diag_error(r->diag, TSL_STATUS_INTERNAL, where, "output %u not produced", i);
        else if (v->type.dtype != TSL_DTYPE_UNDEF && v->type.dtype != outs[i].dtype)
            st = tsl_diag_error(r->diag, TSL_STATUS_INTERNAL, where,
                                "%s: output '%s' computed as %s, graph says %s",
                                tsl_op_name(n->op), v->name, tsl_dtype_name(outs[i].dtype),
                                tsl_dtype_name(v->type.dtype));
    }
    if (st == TSL_STATUS_OK && hooks && hooks->after)
        st = hooks->after(hooks->user, n, outs, r->diag);
    if (st != TSL_STATUS_OK) {
        for (uint32_t i = 0; i < n->n_outputs; i++)
            free(outs[i].data);
        goto done;
    }
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        struct slot *s = &r->slots[n->outputs[i]->id];
        slot_release(r, s);
        s->t = outs[i];
        s->t.name = NULL;
        s->bytes = 0;
        tsl_dtype_storage_bytes(s->t.dtype, tsl_ref_numel(&s->t), &s->bytes);
        s->live = s->owned = s->counted = true;
        r->live_bytes += s->bytes;
    }
    if (r->live_bytes > r->peak_bytes)
        r->peak_bytes = r->live_bytes;
    release_after(r, n, k);
done:
    if (ins != ins_fixed)
        free(ins);
    if (outs != outs_fixed)
        free(outs);
    return st;
}

/* The inputs of node n as tensors (NULL where omitted or not live), for an
 * observer; constants are decoded on demand like run_node does. */
static enum tsl_status observe_node(struct run *r, const struct tsl_node *n,
                                    const struct tsl_ref_hooks *h)
{
    const struct tsl_tensor *ins_fixed[16], **ins = ins_fixed;
    if (n->n_inputs > TSL_ARRAY_LEN(ins_fixed) && !(ins = malloc(n->n_inputs * sizeof *ins)))
        return tsl_diag_error(r->diag, TSL_STATUS_NOMEM, tsl_ref_where(n), "out of memory");
    enum tsl_status st = TSL_STATUS_OK;
    for (uint32_t i = 0; i < n->n_inputs && st == TSL_STATUS_OK; i++) {
        const struct tsl_value *v = n->inputs[i];
        ins[i] = NULL;
        if (!v)
            continue;
        struct slot *s = &r->slots[v->id];
        if (!s->live && v->constant)
            st = load_constant(r, v);
        if (st == TSL_STATUS_OK && s->live)
            ins[i] = &s->t;
    }
    if (st == TSL_STATUS_OK)
        st = h->before(h->user, n, ins, r->diag);
    if (ins != ins_fixed)
        free(ins);
    return st;
}

enum tsl_status tsl_ref_run(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                            uint32_t n_inputs, struct tsl_tensor **outputs_out,
                            uint32_t *n_outputs_out, struct tsl_ref_stats *stats,
                            struct tsl_diag *diag)
{
    return tsl_ref_run_observed(g, inputs, n_inputs, NULL, outputs_out, n_outputs_out, stats,
                                diag);
}

enum tsl_status tsl_ref_run_observed(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                                     uint32_t n_inputs, const struct tsl_ref_hooks *hooks,
                                     struct tsl_tensor **outputs_out, uint32_t *n_outputs_out,
                                     struct tsl_ref_stats *stats, struct tsl_diag *diag)
{
    if (!g || !outputs_out || !n_outputs_out || (n_inputs && !inputs))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "tsl_ref_run", "NULL argument");
    const char *gname = g->name ? g->name : "graph";
    *outputs_out = NULL;
    *n_outputs_out = 0;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (n_inputs != g->n_inputs)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, gname,
                              "model has %u input(s), %u given", g->n_inputs, n_inputs);
    struct run r = {.g = g, .diag = diag, .n_slots = g->next_value_id};
    uint64_t dummy = 0;
    int64_t *sym = NULL;
    struct tsl_tensor *outs = NULL;
    enum tsl_status st = TSL_STATUS_OK;
    r.slots = calloc(r.n_slots ? r.n_slots : 1, sizeof *r.slots);
    sym = malloc((g->n_symbols ? g->n_symbols : 1) * sizeof *sym);
    outs = calloc(g->n_outputs ? g->n_outputs : 1, sizeof *outs);
    if (!r.slots || !sym || !outs) {
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, gname, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < g->n_symbols; i++)
        sym[i] = -1;
    for (uint32_t i = 0; i < g->n_values; i++)
        if (g->values[i]->id >= r.n_slots) {
            st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, gname, "value ids out of range");
            goto done;
        }
    for (uint32_t i = 0; i < n_inputs; i++) {
        st = bind_input(&r, g->inputs[i], &inputs[i], sym, &dummy);
        if (st != TSL_STATUS_OK)
            goto done;
    }
    uint32_t k = 0;
    for (const struct tsl_node *n = g->first; n; n = n->next, k++)
        for (uint32_t i = 0; i < n->n_inputs; i++)
            if (n->inputs[i])
                r.slots[n->inputs[i]->id].last_use = k;
    for (uint32_t i = 0; i < g->n_outputs; i++)
        r.slots[g->outputs[i]->id].pinned = true;
    k = 0;
    for (const struct tsl_node *n = g->first; n; n = n->next, k++) {
        if (hooks && hooks->before && (st = observe_node(&r, n, hooks)) != TSL_STATUS_OK)
            goto done;
        st = run_node(&r, n, k, hooks);
        if (st != TSL_STATUS_OK)
            goto done;
        if (stats)
            stats->nodes_run = k + 1;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct tsl_value *v = g->outputs[i];
        struct slot *s = &r.slots[v->id];
        if (!s->live && v->constant) {
            st = load_constant(&r, v);
            if (st != TSL_STATUS_OK)
                goto done;
        }
        if (!s->live) {
            st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, v->name, "output was not computed");
            goto done;
        }
        st = tsl_ref_tensor_copy(&s->t, &outs[i], v->name, diag);
        if (st == TSL_STATUS_OK && !(outs[i].name = tsl_strdup(v->name)))
            st = tsl_diag_error(diag, TSL_STATUS_NOMEM, v->name, "out of memory");
        if (st != TSL_STATUS_OK)
            goto done;
    }
    if (stats) {
        stats->peak_bytes = r.peak_bytes;
        stats->nodes_run = k;
    }
    *outputs_out = outs;
    *n_outputs_out = g->n_outputs;
    outs = NULL;
done:
    if (r.slots)
        for (uint32_t i = 0; i < r.n_slots; i++)
            slot_release(&r, &r.slots[i]);
    free(r.slots);
    free(sym);
    if (outs)
        tsl_tensors_free(outs, g->n_outputs);
    return st;
}

enum tsl_status tsl_ref_eval_node(void *user, const struct tsl_node *n, void **outputs_out,
                                  struct tsl_diag *diag)
{
    (void)user;
    if ((unsigned)n->op >= TSL_OP_COUNT || !kernels[n->op] || n->n_inputs > 16 ||
        n->n_outputs > 4)
        return TSL_STATUS_UNSUPPORTED;
    const char *where = tsl_ref_where(n);
    struct tsl_tensor ins[16];
    const struct tsl_tensor *ins_p[16];
    struct tsl_tensor outs[4];
    memset(ins, 0, sizeof ins);
    memset(outs, 0, sizeof outs);
    enum tsl_status st = TSL_STATUS_OK;
    for (uint32_t i = 0; i < n->n_inputs && st == TSL_STATUS_OK; i++) {
        const struct tsl_value *v = n->inputs[i];
        ins_p[i] = NULL;
        if (!v)
            continue;
        if (!v->constant || tsl_ref_elem_size(v->type.dtype) == 0) {
            st = TSL_STATUS_UNSUPPORTED;
            break;
        }
        st = tsl_const_decode(v, &ins[i].data, diag);
        ins[i].dtype = v->type.dtype;
        ins[i].shape = v->type.shape;
        ins_p[i] = &ins[i];
    }
    if (st == TSL_STATUS_OK) {
        struct tsl_ref_call call = {.node = n, .in = ins_p, .n_in = n->n_inputs, .out = outs,
                                    .n_out = n->n_outputs, .diag = diag};
        st = kernels[n->op](&call);
    }
    /* The result must be exactly what shape inference promised, or folding
     * would change the graph's types: that is a tessel bug, not bad input. */
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < n->n_outputs; i++) {
        const struct tsl_value *v = n->outputs[i];
        if (!outs[i].data || outs[i].dtype != v->type.dtype ||
            !tsl_shape_equal(&outs[i].shape, &v->type.shape))
            st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, where,
                                "%s: evaluated output '%s' disagrees with its inferred type",
                                tsl_op_name(n->op), v->name);
    }
    for (uint32_t i = 0; i < n->n_inputs; i++)
        free(ins[i].data);
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        if (st == TSL_STATUS_OK)
            outputs_out[i] = outs[i].data;
        else
            free(outs[i].data);
    }
    return st;
}

struct calib_bridge {
    tsl_ref_calib_hook_fn before, after;
    void *user;
};

static enum tsl_status calib_before(void *user, const struct tsl_node *n,
                                    const struct tsl_tensor *const *ins, struct tsl_diag *diag)
{
    const struct calib_bridge *b = user;
    if (n->n_inputs == 0 || !ins[0] || ins[0]->dtype != TSL_DTYPE_F32)
        return TSL_STATUS_OK;
    return b->before(b->user, n, ins[0]->data, &ins[0]->shape, diag);
}

static enum tsl_status calib_after(void *user, const struct tsl_node *n, struct tsl_tensor *outs,
                                   struct tsl_diag *diag)
{
    const struct calib_bridge *b = user;
    if (n->n_outputs == 0 || outs[0].dtype != TSL_DTYPE_F32)
        return TSL_STATUS_OK;
    return b->after(b->user, n, outs[0].data, &outs[0].shape, diag);
}

enum tsl_status tsl_ref_calib_run(const struct tsl_graph *g, const float *input,
                                  const struct tsl_shape *shape, tsl_ref_calib_hook_fn before,
                                  tsl_ref_calib_hook_fn after, void *user,
                                  struct tsl_diag *diag)
{
    if (!g || !input || !shape)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "tsl_ref_calib_run", "NULL argument");
    if (g->n_inputs != 1)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, g->name ? g->name : "graph",
                              "calibration needs a model with exactly one input, this one has "
                              "%u",
                              g->n_inputs);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = *shape, .data = (void *)input};
    struct calib_bridge b = {before, after, user};
    struct tsl_ref_hooks h = {before ? calib_before : NULL, after ? calib_after : NULL, &b};
    struct tsl_tensor *outs = NULL;
    uint32_t n_outs = 0;
    enum tsl_status st = tsl_ref_run_observed(g, &in, 1, &h, &outs, &n_outs, NULL, diag);
    if (st == TSL_STATUS_OK)
        tsl_tensors_free(outs, n_outs);
    return st;
}
