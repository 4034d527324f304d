/* specialize.c - value specialization (tsl_cpu_bind_values): when the
 * caller has the values a run will use, graph inputs that feed an operand
 * the CPU backend needs at compile time (a Reshape's shape, Slice's
 * starts/ends/axes/steps, Resize's scales...) are frozen: the bound graph
 * reads a constant holding the input's value instead of the input, and
 * shapes are inferred again, so the lowerings see constants and static
 * shapes.  The input itself stays in the graph (unused), so the module keeps
 * the original signature; tsl_cpu_compile records the frozen values
 * (options.frozen) and tsl_cpu_run rejects other values.
 *
 * Which operands are compile-time operands is one table (by op, a bit per
 * input); an input is frozen when it reaches such an operand through any
 * chain of nodes other than Shape/Size (which read only the shape), and it
 * is small (at most TSL_CPU_BIND_MAX_ELEMS elements) with an integer, f32
 * or f64 dtype.  Not here: shape binding itself (compile.c), constant
 * folding (the caller runs the canonicalization pipeline afterwards), ops
 * whose output size depends on the data (NonZero, NonMaxSuppression: their
 * data operand is not a compile-time operand, they stay unsupported). */
#include <stdlib.h>
#include <string.h>

#include "tessel/cpu.h"
#include "tessel/shape.h"
#include "tessel/util.h"

/* Inputs (bit i = input i) whose value determines the output shape or that
 * the op's lowering reads at compile time. */
static const uint8_t compile_time_operands[TSL_OP_COUNT] = {
    [TSL_OP_RESHAPE] = 1u << 1,
    [TSL_OP_EXPAND] = 1u << 1,
    [TSL_OP_TILE] = 1u << 1,
    [TSL_OP_SLICE] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4, /* starts ends axes steps */
    [TSL_OP_PAD] = 1u << 1 | 1u << 2,                       /* pads, constant value */
    [TSL_OP_RESIZE] = 1u << 1 | 1u << 2 | 1u << 3,          /* roi scales sizes */
    [TSL_OP_TOPK] = 1u << 1,                                /* K */
    [TSL_OP_CONSTANT_OF_SHAPE] = 1u << 0,
    [TSL_OP_RANGE] = 1u << 0 | 1u << 1 | 1u << 2, /* start limit delta */
};

static bool freezable(const struct tsl_value *v, const struct tsl_tensor *t)
{
    enum tsl_dtype dt = t->dtype;
    int64_t numel;
    if (dt != v->type.dtype || !t->data || !tsl_shape_numel(&t->shape, &numel))
        return false;
    if (numel > TSL_CPU_BIND_MAX_ELEMS)
        return false;
    return dt == TSL_DTYPE_F32 || dt == TSL_DTYPE_F64 ||
           (!tsl_dtype_is_float(dt) && dt != TSL_DTYPE_BOOL && tsl_dtype_bits(dt) >= 8);
}

/* needed[v->id]: v's value reaches a compile-time operand.  Nodes are
 * visited consumers first (reverse topological order). */
static void mark_needed(const struct tsl_graph *g, bool *needed)
{
    for (const struct tsl_node *n = g->last; n; n = n->prev) {
        bool out_needed = false;
        for (uint32_t o = 0; o < n->n_outputs; o++)
            out_needed |= needed[n->outputs[o]->id];
        if (n->op == TSL_OP_SHAPE || n->op == TSL_OP_SIZE)
            out_needed = false; /* reads only the (already bound) shape */
        uint8_t mask = n->op < TSL_OP_COUNT ? compile_time_operands[n->op] : 0;
        for (uint32_t i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] && (out_needed || (i < 8 && (mask >> i) & 1u)))
                needed[n->inputs[i]->id] = true;
    }
}

enum tsl_status tsl_cpu_bind_values_in_place(struct tsl_graph *g,
                                             const struct tsl_tensor *inputs, uint32_t n_inputs,
                                             bool *frozen, struct tsl_diag *diag)
{
    if (!g || (n_inputs && !inputs))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL argument");
    if (n_inputs != g->n_inputs)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, g->name,
                              "%u inputs given, the graph has %u inputs", n_inputs, g->n_inputs);
    struct tsl_shape *shapes = calloc(n_inputs + 1, sizeof *shapes);
    if (!shapes)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "binding values");
    for (uint32_t i = 0; i < n_inputs; i++)
        shapes[i] = inputs[i].shape;
    enum tsl_status st = tsl_cpu_bind_shapes_in_place(g, shapes, n_inputs, diag);
    free(shapes);
    if (st != TSL_STATUS_OK)
        return st;
    uint32_t max_id = 0;
    for (uint32_t i = 0; i < g->n_values; i++)
        if (g->values[i]->id > max_id)
            max_id = g->values[i]->id;
    bool *needed = calloc((size_t)max_id + 1, sizeof *needed);
    if (!needed)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "binding values");
    mark_needed(g, needed);
    uint32_t n_frozen = 0;
    for (uint32_t i = 0; i < n_inputs && st == TSL_STATUS_OK; i++) {
        struct tsl_value *v = g->inputs[i];
        bool f = needed[v->id] && v->n_uses > 0 && freezable(v, &inputs[i]);
        if (frozen)
            frozen[i] = f;
        if (!f)
            continue;
        char *name = tsl_graph_unique_value_name(g, v->name);
        struct tsl_value *k = NULL;
        struct tsl_type t = v->type;
        st = name ? tsl_graph_add_dense_constant(g, name, &t, inputs[i].data, &k)
                  : TSL_STATUS_NOMEM;
        free(name);
        if (st != TSL_STATUS_OK) {
            st = tsl_diag_error(diag, st, v->name, "freezing the input to a constant");
            break;
        }
        tsl_value_replace_all_uses(v, k);
        n_frozen++;
    }
    free(needed);
    if (st == TSL_STATUS_OK && n_frozen)
        st = tsl_infer_shapes(g, diag);
    return st;
}

enum tsl_status tsl_cpu_bind_values(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                                    uint32_t n_inputs, struct tsl_graph **out, bool *frozen,
                                    struct tsl_diag *diag)
{
    if (!g || !out)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL argument");
    *out = NULL;
    struct tsl_graph *c;
    if (tsl_graph_clone(g, &c) != TSL_STATUS_OK)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "cloning the graph");
    enum tsl_status st = tsl_cpu_bind_values_in_place(c, inputs, n_inputs, frozen, diag);
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(c);
        return st;
    }
    *out = c;
    return TSL_STATUS_OK;
}
