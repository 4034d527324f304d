/* plan.c - memory planning of the CPU backend: where every value lives
 * (graph input slot, graph output slot, weight blob, activation arena) and
 * the arena layout.  Activation buffers and per-step scratch get an interval
 * of step indices [def, last use]; buffers are placed greedily, largest
 * first, at the lowest 64-byte-aligned offset that does not overlap any
 * already placed buffer whose interval intersects.  The arena size is the
 * high-water mark; the naive size (no reuse) is reported for comparison.
 * A step's scratch is its shared part followed by one per-thread part
 * (packing buffers) for each of the module's threads.
 *
 * A Concat whose output lies in the arena, is concatenated along an axis
 * with only size-1 dims before it (each input is then one contiguous slice
 * of the output) and whose f32 inputs are each written by an earlier step
 * and read by nothing else, is elided: the inputs get no buffer of their
 * own but the bytes of their slice, and the output's interval starts at the
 * first producer, so their steps write the concatenation in place.
 *
 * Constants are placed in the blob lazily by the lowerings (cg.c), not here. */
#include <stdlib.h>
#include <string.h>

#include "cpu_module.h"
#include "tessel/util.h"

struct alias {
    const struct tsl_value *parent; /* NULL: own buffer */
    int64_t delta;                  /* byte offset inside the parent */
};

struct buf {
    int64_t size, off;
    uint32_t first, last; /* step interval */
    struct tsl_cpu_loc *loc; /* where to write the offset (NULL: scratch) */
    struct tsl_cpu_step *step;
};

static int64_t align_up(int64_t x)
{
    return (x + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
}

static int by_size_desc(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int by_off(const void *a, const void *b)
{
    const struct buf *const *x = a, *const *y = b;
    return (*x)->off < (*y)->off ? -1 : (*x)->off > (*y)->off;
}

/* Step s is a Concat that can be elided (see the file comment): record
 * the aliases of its inputs and return the first producer step. */
static bool concat_alias(struct tsl_cpu_cg *cg, struct tsl_cpu_step *steps, uint32_t s,
                         const uint32_t *step_of, struct alias *al, uint32_t *first)
{
    const struct tsl_cpu_step *st = &steps[s];
    const struct tsl_node *n = st->node;
    const struct tsl_value *out = st->out;
    if (n->op != TSL_OP_CONCAT || st->n_fused || out->constant ||
        out->type.dtype != TSL_DTYPE_F32 || cg->locs[out->id].kind != TSL_LOC_NONE)
        return false;
    const struct tsl_shape *os = &out->type.shape;
    int64_t ax = n->attrs.axis.axis < 0 ? n->attrs.axis.axis + os->rank : n->attrs.axis.axis;
    if (ax < 0 || ax >= os->rank)
        return false;
    for (int64_t d = 0; d < ax; d++)
        if (os->dims[d] != 1)
            return false;
    *first = s;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v || v->constant || !v->producer || v->n_uses != 1 || v->n_output_refs ||
            v->type.dtype != TSL_DTYPE_F32 || cg->locs[v->id].kind != TSL_LOC_NONE ||
            v->producer->op == TSL_OP_CONCAT)
            return false;
        uint32_t ps = step_of[v->producer->id];
        if (ps >= s || steps[ps].out != v || steps[ps].node->n_outputs != 1)
            return false;
        if (ps < *first)
            *first = ps;
    }
    int64_t at = 0;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        al[n->inputs[i]->id] = (struct alias){out, at};
        at += tsl_cpu_numel(n->inputs[i]) * 4;
    }
    return true;
}

enum tsl_status tsl_cpu_plan(struct tsl_cpu_cg *cg, struct tsl_cpu_step *steps, uint32_t n_steps,
                             int64_t *arena_bytes, int64_t *naive_bytes)
{
    const struct tsl_graph *g = cg->g;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        struct tsl_cpu_loc *l = &cg->locs[g->inputs[i]->id];
        l->kind = TSL_LOC_INPUT;
        l->index = i;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct tsl_value *v = g->outputs[i];
        struct tsl_cpu_loc *l = &cg->locs[v->id];
        if (l->kind == TSL_LOC_NONE && !v->constant) {
            l->kind = TSL_LOC_OUTPUT;
            l->index = i;
        }
    }
    /* step index of every node (fused nodes map to their step) */
    size_t max_bufs = 1;
    for (uint32_t s = 0; s < n_steps; s++)
        max_bufs += 1 + (steps[s].n_fused ? 1 : steps[s].node->n_outputs);
    uint32_t *step_of = malloc((g->next_node_id + 1) * sizeof *step_of);
    struct buf *bufs = calloc(max_bufs, sizeof *bufs);
    struct buf **placed = calloc(max_bufs, sizeof *placed);
    struct alias *al = calloc(cg->n_locs + 1, sizeof *al);
    uint32_t *first_of = calloc(n_steps + 1, sizeof *first_of); /* elided Concat: 1st producer */
    if (!step_of || !bufs || !placed || !al || !first_of) {
        free(step_of);
        free(bufs);
        free(placed);
        free(al);
        free(first_of);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, g->name, "memory plan");
    }
    for (uint32_t s = 0; s < n_steps; s++) {
        const struct tsl_node *n = steps[s].node;
        step_of[n->id] = s;
        /* fused nodes (residual Add, activation) run inside the step */
        for (uint32_t f = 0; f < steps[s].n_fused; f++)
            step_of[steps[s].fused[f]->id] = s;
    }
    for (uint32_t s = 0; s < n_steps; s++)
        steps[s].elided = concat_alias(cg, steps, s, step_of, al, &first_of[s]);
    size_t nb = 0;
    int64_t naive = 0;
    for (uint32_t s = 0; s < n_steps; s++) {
        /* a fused chain writes its last value; otherwise every output */
        uint32_t n_out = steps[s].n_fused ? 1 : steps[s].node->n_outputs;
        for (uint32_t k = 0; k < n_out; k++) {
            const struct tsl_value *v = steps[s].n_fused ? steps[s].out : steps[s].node->outputs[k];
            if (!v)
                continue;
            struct tsl_cpu_loc *l = &cg->locs[v->id];
            if (l->kind != TSL_LOC_NONE)
                continue;
            if (al[v->id].parent) { /* a slice of an elided Concat's output */
                l->kind = TSL_LOC_ARENA;
                continue;
            }
            int64_t bytes = 0;
            if (!tsl_dtype_storage_bytes(v->type.dtype, tsl_cpu_numel(v), &bytes))
                bytes = 0; /* unreachable: schedule checked every output is storable */
            struct buf *b = &bufs[nb++];
            b->size = align_up(bytes);
            b->first = b->last = s;
            if (steps[s].elided)
                b->first = first_of[s];
            for (uint32_t u = 0; u < v->n_uses; u++) {
                uint32_t us = step_of[v->uses[u].node->id];
                if (us > b->last)
                    b->last = us;
            }
            b->loc = l;
            l->kind = TSL_LOC_ARENA;
        }
        /* shared scratch, then one per-thread part for each thread */
        int64_t per = align_up(steps[s].thread_scratch_bytes), scratch;
        if (!tsl_mul_i64(per, cg->threads, &scratch) ||
            !tsl_add_i64(scratch, align_up(steps[s].scratch_bytes), &scratch)) {
            free(step_of);
            free(bufs);
            free(placed);
            return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, g->name, "scratch too large");
        }
        if (scratch > 0) {
            struct buf *b = &bufs[nb++];
            b->size = scratch;
            b->first = b->last = s;
            b->step = &steps[s];
        }
    }
    for (size_t i = 0; i < nb; i++)
        naive += bufs[i].size;
    qsort(bufs, nb, sizeof *bufs, by_size_desc);
    int64_t top = 0;
    size_t np = 0;
    for (size_t i = 0; i < nb; i++) {
        struct buf *b = &bufs[i];
        /* placed buffers alive at the same time, by offset */
        size_t nc = 0;
        struct buf **live = malloc((np + 1) * sizeof *live);
        if (!live) {
            free(step_of);
            free(bufs);
            free(placed);
            free(al);
            free(first_of);
            return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, g->name, "memory plan");
        }
        for (size_t j = 0; j < np; j++)
            if (placed[j]->first <= b->last && b->first <= placed[j]->last)
                live[nc++] = placed[j];
        qsort(live, nc, sizeof *live, by_off);
        int64_t off = 0;
        for (size_t j = 0; j < nc; j++) {
            if (live[j]->off >= off + b->size)
                break;
            if (live[j]->off + live[j]->size > off)
                off = live[j]->off + live[j]->size;
        }
        free(live);
        b->off = off;
        placed[np++] = b;
        if (off + b->size > top)
            top = off + b->size;
        if (b->loc)
            b->loc->off = off;
        else
            b->step->scratch_off = off;
    }
    for (uint32_t v = 0; v < cg->n_locs; v++)
        if (al[v].parent)
            cg->locs[v].off = cg->locs[al[v].parent->id].off + al[v].delta;
    free(step_of);
    free(bufs);
    free(placed);
    free(al);
    free(first_of);
    *arena_bytes = top;
    *naive_bytes = naive;
    return TSL_STATUS_OK;
}
