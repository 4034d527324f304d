/* par.c - parallel regions in generated code.  A region is a loop over
 * independent items; when it is worth splitting (threads > 1, at least two
 * items, estimated work >= the threshold, TSL_CPU_MIN_PARALLEL_NS by
 * default: a region costs a few microseconds) its body becomes an internal
 * task function
 *     void task(i8 *frame, i64 begin, i64 end, i64 tid)
 * and the step function stores its own arguments (weights, arena, inputs,
 * outputs) plus the region's values in a frame on its stack and calls
 *     <prefix>_parallel(pool, task, frame, n_items, threads)
 * (runtime/tsl_pool.c: contiguous chunks of items taken by threads
 * 0 .. threads-1, so the per-thread scratch exists; returns when all are
 * done, so consecutive regions are separated by a barrier).
 * Inside the task, cg's step arguments (the step's offset table included)
 * are rebound to the frame's copies and cg->p_tid to the thread index, so
 * tsl_cpu_ptr and tsl_cpu_thread_scratch work unchanged.  Small regions stay an ordinary loop on the caller.
 *
 * Not here: the pool itself (runtime/), what a lowering splits (lower_*.c,
 * gemm_kernel.c). */
#include <stdio.h>
#include <string.h>

#include "cpu_internal.h"

enum { SLOT_W, SLOT_A, SLOT_IN, SLOT_OUT, SLOT_OFFS, SLOT_VALS };

/* Pointer or integer value as an i8* frame slot, and back. */
static LLVMValueRef to_slot(struct tsl_cpu_cg *cg, LLVMValueRef v)
{
    if (LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMPointerTypeKind)
        return LLVMBuildBitCast(cg->b, v, cg->t_pi8, "");
    return LLVMBuildIntToPtr(cg->b, v, cg->t_pi8, "");
}

static LLVMValueRef from_slot(struct tsl_cpu_cg *cg, LLVMValueRef s, LLVMTypeRef ty)
{
    if (LLVMGetTypeKind(ty) == LLVMPointerTypeKind)
        return LLVMBuildBitCast(cg->b, s, ty, "");
    return LLVMBuildPtrToInt(cg->b, s, ty, "");
}

static LLVMValueRef runtime_fn(struct tsl_cpu_cg *cg, LLVMTypeRef *fty)
{
    char name[96];
    snprintf(name, sizeof name, "%s_parallel", cg->prefix);
    LLVMTypeRef params[5] = {cg->t_pi8, LLVMPointerType(cg->t_task, 0), cg->t_pi8, cg->t_i64,
                             cg->t_i64};
    *fty = LLVMFunctionType(cg->t_void, params, 5, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
    if (!fn)
        fn = LLVMAddFunction(cg->mod, name, *fty);
    return fn;
}

void tsl_cpu_par_open(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par, int64_t n_items,
                      double work_ns, const LLVMValueRef *vals, int n_vals)
{
    memset(par, 0, sizeof *par);
    par->n_items = n_items;
    par->n_vals = n_vals < TSL_CPU_PAR_VALS ? n_vals : TSL_CPU_PAR_VALS;
    for (int i = 0; i < par->n_vals; i++)
        par->vals[i] = vals[i];
    par->parallel = cg->threads > 1 && !cg->in_task && n_items >= 2 &&
                    work_ns >= cg->min_par_ns && n_vals <= TSL_CPU_PAR_VALS;
    if (!par->parallel)
        return;
    cg->n_par++;
    /* frame in the step function: its arguments, then the values */
    LLVMTypeRef fty = LLVMArrayType(cg->t_pi8, (unsigned)(SLOT_VALS + par->n_vals));
    par->frame = tsl_cpu_entry_alloca(cg, fty, "frame");
    LLVMValueRef outer[SLOT_VALS + TSL_CPU_PAR_VALS] = {
        cg->p_weights, cg->p_arena, cg->p_inputs, cg->p_outputs,
        cg->p_offs ? cg->p_offs : LLVMConstNull(LLVMPointerType(cg->t_i64, 0))};
    for (int i = 0; i < par->n_vals; i++)
        outer[SLOT_VALS + i] = vals[i];
    LLVMValueRef zero = LLVMConstInt(cg->t_i32, 0, 0);
    for (int i = 0; i < SLOT_VALS + par->n_vals; i++) {
        LLVMValueRef idx[2] = {zero, LLVMConstInt(cg->t_i32, (unsigned)i, 0)};
        LLVMValueRef sp = LLVMBuildInBoundsGEP2(cg->b, fty, par->frame, idx, 2, "");
        LLVMSetAlignment(LLVMBuildStore(cg->b, to_slot(cg, outer[i]), sp), 8);
    }
    /* the task function */
    char name[128];
    snprintf(name, sizeof name, "%s_task%u", cg->prefix, cg->uniq++);
    par->task = LLVMAddFunction(cg->mod, name, cg->t_task);
    LLVMSetLinkage(par->task, LLVMInternalLinkage);
    par->saved[0] = cg->fn, par->saved[1] = cg->p_weights, par->saved[2] = cg->p_arena;
    par->saved[3] = cg->p_inputs, par->saved[4] = cg->p_outputs, par->saved[5] = cg->p_pool;
    par->saved[6] = cg->p_tid, par->saved[7] = cg->p_offs;
    par->saved_n_rptrs = cg->n_rptrs, par->saved_rptr_start = cg->rptr_start;
    cg->rptr_start = cg->n_rptrs; /* the task builds its own pointers */
    par->saved_bb = LLVMGetInsertBlock(cg->b);
    par->saved_in_task = cg->in_task;
    cg->fn = par->task;
    cg->in_task = true;
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, par->task, "entry"));
    LLVMValueRef fp = LLVMBuildBitCast(cg->b, LLVMGetParam(par->task, 0),
                                       LLVMPointerType(cg->t_pi8, 0), "");
    LLVMValueRef in_task[SLOT_VALS + TSL_CPU_PAR_VALS];
    for (int i = 0; i < SLOT_VALS + par->n_vals; i++) {
        LLVMValueRef idx = tsl_cpu_i64(cg, i);
        LLVMValueRef l = LLVMBuildLoad2(cg->b, cg->t_pi8,
                                        LLVMBuildInBoundsGEP2(cg->b, cg->t_pi8, fp, &idx, 1, ""), "");
        LLVMSetAlignment(l, 8);
        in_task[i] = from_slot(cg, l, LLVMTypeOf(outer[i]));
    }
    cg->p_weights = in_task[SLOT_W];
    cg->p_arena = in_task[SLOT_A];
    cg->p_inputs = in_task[SLOT_IN];
    cg->p_outputs = in_task[SLOT_OUT];
    cg->p_pool = NULL;
    cg->p_offs = par->saved[7] ? in_task[SLOT_OFFS] : NULL;
    cg->p_tid = LLVMGetParam(par->task, 3);
    for (int i = 0; i < par->n_vals; i++)
        par->vals[i] = in_task[SLOT_VALS + i];
    /* the entry block keeps the frame loads and the table's pointers
     * (tsl_cpu_reloc_ptr); the region's code starts in the next block */
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, par->task, "body");
    LLVMBuildBr(cg->b, body);
    LLVMPositionBuilderAtEnd(cg->b, body);
}

LLVMValueRef tsl_cpu_par_loop(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par)
{
    if (!par->parallel)
        return tsl_cpu_loop_begin(cg, &par->loop, 0, par->n_items, 1, "item");
    return tsl_cpu_loop_begin_v(cg, &par->loop, LLVMGetParam(par->task, 1),
                                LLVMGetParam(par->task, 2), 1, "item");
}

void tsl_cpu_par_close(struct tsl_cpu_cg *cg, struct tsl_cpu_par *par)
{
    tsl_cpu_loop_end(cg, &par->loop);
    if (!par->parallel)
        return;
    LLVMBuildRetVoid(cg->b);
    cg->fn = par->saved[0], cg->p_weights = par->saved[1], cg->p_arena = par->saved[2];
    cg->p_inputs = par->saved[3], cg->p_outputs = par->saved[4], cg->p_pool = par->saved[5];
    cg->p_tid = par->saved[6], cg->p_offs = par->saved[7];
    cg->n_rptrs = par->saved_n_rptrs, cg->rptr_start = par->saved_rptr_start;
    cg->in_task = par->saved_in_task;
    LLVMPositionBuilderAtEnd(cg->b, par->saved_bb);
    LLVMTypeRef fty;
    LLVMValueRef rt = runtime_fn(cg, &fty);
    LLVMValueRef args[5] = {cg->p_pool, par->task,
                            LLVMBuildBitCast(cg->b, par->frame, cg->t_pi8, ""),
                            tsl_cpu_i64(cg, par->n_items), tsl_cpu_i64(cg, cg->threads)};
    LLVMBuildCall2(cg->b, fty, rt, args, 5, "");
}

void tsl_cpu_nest_emit_par(struct tsl_cpu_cg *cg, const struct tsl_cpu_nest *n,
                           tsl_cpu_nest_body body, void *ud, double ns_per_elem)
{
    if (n->rank < 1) {
        tsl_cpu_nest_emit(cg, n, body, ud);
        return;
    }
    double numel = 1.0;
    for (int d = 0; d < n->rank; d++)
        numel *= (double)n->dims[d];
    struct tsl_cpu_par par;
    tsl_cpu_par_open(cg, &par, n->dims[0], numel * ns_per_elem, n->base, n->n_ops);
    LLVMValueRef item = tsl_cpu_par_loop(cg, &par);
    struct tsl_cpu_nest inner = *n;
    inner.rank = n->rank - 1;
    for (int o = 0; o < n->n_ops; o++) {
        inner.base[o] = tsl_cpu_gep(cg, par.vals[o],
                                    LLVMBuildNSWMul(cg->b, item, tsl_cpu_i64(cg, n->strides[o][0]), ""));
        for (int d = 0; d < inner.rank; d++)
            inner.strides[o][d] = n->strides[o][d + 1];
    }
    for (int d = 0; d < inner.rank; d++)
        inner.dims[d] = n->dims[d + 1];
    tsl_cpu_nest_emit(cg, &inner, body, ud);
    tsl_cpu_par_close(cg, &par);
}
