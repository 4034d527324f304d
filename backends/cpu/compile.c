/* compile.c - tsl_cpu_compile: schedules the graph into steps (fusing a
 * residual Add into a Conv, a squeeze-excite scale Mul into the Conv that
 * reads it, and the elementwise chain after a producer into its epilogue
 * through fuse.c),
 * checks every step against the lowering table, plans memory, builds one
 * internal LLVM function per step plus the exported entry
 *     void <name>_run(const void *w, void *arena, void *const *in, void *const *out,
 *                     struct <name>_pool *pool)
 * (steps split their loops over the pool's threads through par.c), then
 * verifies and optimizes the module with LLVMRunPasses("default<On>") for
 * the target machine.  The packed weight blob stays a malloc'ed buffer of
 * the module: the JIT passes it to the entry, emission (emit.c) adds it as
 * the constant <name>_weights to the artifact.
 *
 * With options.profile the entry also stores a cycle counter between steps
 * (profile.c).
 * tsl_cpu_compile_consume additionally releases each graph constant's
 * payload once the last step reading it is generated.
 * Also the small public helpers (options, info, destroy, bind_shapes).
 * Not here: JIT and run (jit.c), emission to files (emit.c), op lowerings. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "cpu_module.h"
#include "tessel/shape.h"
#include "tessel/util.h"

double tsl_cpu_seconds(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void tsl_cpu_options_default(struct tsl_cpu_options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->opt_level = 3;
}

bool tsl_cpu_has_lowering(enum tsl_op op)
{
    return op < TSL_OP_COUNT && tsl_cpu_lowering_for(op) != NULL;
}

static bool valid_ident(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return strlen(s) < 64;
}

static bool same_static_shape(const struct tsl_value *a, const struct tsl_value *b)
{
    if (!tsl_shape_is_static(&a->type.shape) || a->type.shape.rank != b->type.shape.rank)
        return false;
    for (int32_t d = 0; d < a->type.shape.rank; d++)
        if (a->type.shape.dims[d] != b->type.shape.dims[d])
            return false;
    return true;
}

/* Residual Add that can be fused after `v`'s producer (a Conv): v's only
 * user is Add(v, r) or Add(r, v) with r of exactly v's shape (no
 * broadcasting), f32, already computed when the producer runs (a graph
 * input, a constant, or the output of a node scheduled earlier: `done`). */
static const struct tsl_node *fusable_residual(const struct tsl_value *v, const bool *done,
                                               const struct tsl_value **res)
{
    if (v->n_uses != 1 || v->n_output_refs != 0)
        return NULL;
    const struct tsl_node *u = v->uses[0].node;
    if (u->op != TSL_OP_ADD || u->n_inputs != 2 || u->n_outputs != 1 || !u->inputs[0] ||
        !u->inputs[1] || u->inputs[0] == u->inputs[1])
        return NULL;
    const struct tsl_value *r = u->inputs[v->uses[0].index == 0 ? 1 : 0];
    if (r->type.dtype != TSL_DTYPE_F32 || u->outputs[0]->type.dtype != TSL_DTYPE_F32 ||
        !same_static_shape(r, v) || !same_static_shape(u->outputs[0], v))
        return NULL;
    if (r->producer && !done[r->producer->id])
        return NULL;
    *res = r;
    return u;
}

/* A squeeze-excite scale Mul(x, se) (either order; se [N, C, 1, 1], x
 * [N, C, H, W], f32) whose only user is input 0 of a 2-D group-1 Conv with
 * a constant weight and more than one output position: that Conv packs
 * x * se[c] into its B panels, so the Mul needs no step.  Returns the Conv
 * (and x, se), or NULL. */
static const struct tsl_node *se_scale_user(const struct tsl_node *mul, const struct tsl_value **x,
                                            const struct tsl_value **se)
{
    if (!mul || mul->op != TSL_OP_MUL || mul->n_inputs != 2 || mul->n_outputs != 1 ||
        !mul->inputs[0] || !mul->inputs[1] || mul->inputs[0] == mul->inputs[1])
        return NULL;
    const struct tsl_value *o = mul->outputs[0];
    if (o->n_uses != 1 || o->n_output_refs || o->type.dtype != TSL_DTYPE_F32 ||
        o->type.shape.rank != 4 || !tsl_shape_is_static(&o->type.shape))
        return NULL;
    const struct tsl_node *u = o->uses[0].node;
    if (u->op != TSL_OP_CONV || o->uses[0].index != 0 || u->attrs.conv.group != 1 ||
        u->n_inputs < 2 || !u->inputs[1] || !u->inputs[1]->constant ||
        u->outputs[0]->type.shape.rank != 4 ||
        u->outputs[0]->type.shape.dims[2] * u->outputs[0]->type.shape.dims[3] <= 1)
        return NULL;
    for (int side = 0; side < 2; side++) {
        const struct tsl_value *a = mul->inputs[side], *b = mul->inputs[1 - side];
        const struct tsl_shape *as = &a->type.shape, *bs = &b->type.shape;
        if (a->type.dtype != TSL_DTYPE_F32 || b->type.dtype != TSL_DTYPE_F32 ||
            !tsl_shape_equal(as, &o->type.shape) || bs->rank != 4 ||
            !tsl_shape_is_static(bs) || bs->dims[0] != as->dims[0] ||
            bs->dims[1] != as->dims[1] || bs->dims[2] != 1 || bs->dims[3] != 1)
            continue;
        *x = a;
        *se = b;
        return u;
    }
    return NULL;
}

/* A static-shaped value whose dtype has a byte size (graph I/O, buffers). */
static bool storable(const struct tsl_value *v)
{
    int64_t bytes;
    return v->type.dtype != TSL_DTYPE_UNDEF && tsl_shape_is_static(&v->type.shape) &&
           tsl_dtype_storage_bytes(v->type.dtype, tsl_cpu_numel(v), &bytes);
}

/* Every output a step writes must be storable; lowerings without any_dtype
 * produce f32 only. */
static enum tsl_status check_step_outputs(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *s,
                                          const struct tsl_cpu_lowering *low)
{
    const struct tsl_node *nd = s->node;
    uint32_t n_out = s->n_fused ? 1 : nd->n_outputs;
    for (uint32_t k = 0; k < n_out; k++) {
        const struct tsl_value *v = s->n_fused ? s->out : nd->outputs[k];
        if (!v)
            continue;
        if (!low->any_dtype && v->type.dtype != TSL_DTYPE_F32)
            return tsl_cpu_require_f32(cg, nd, v);
        struct tsl_shape mx;
        int ax;
        if (!storable(v) && !tsl_cpu_dynamic_bound(v, &mx, &ax))
            return tsl_cpu_unsupported(cg, nd, "output '%s' (%s) has no static shape or size",
                                       v->name, tsl_dtype_name(v->type.dtype));
    }
    return TSL_STATUS_OK;
}

static enum tsl_status schedule(struct tsl_cpu_cg *cg, struct tsl_cpu_step **out, uint32_t *n_out,
                                uint32_t *n_fused)
{
    const struct tsl_graph *g = cg->g;
    struct tsl_cpu_step *steps = calloc(g->n_nodes + 1, sizeof *steps);
    bool *skip = calloc(g->next_node_id + 1, sizeof *skip);
    bool *done = calloc(g->next_node_id + 1, sizeof *done); /* producers already scheduled */
    if (!steps || !skip || !done) {
        free(steps);
        free(skip);
        free(done);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, g->name, "schedule");
    }
    uint32_t n = 0;
    *n_fused = 0;
    enum tsl_status st = TSL_STATUS_OK;
    for (const struct tsl_node *nd = g->first; nd; nd = nd->next) {
        if (skip[nd->id])
            continue;
        const struct tsl_value *px, *pse;
        if (se_scale_user(nd, &px, &pse)) { /* runs inside its Conv's step */
            skip[nd->id] = true;
            continue;
        }
        const struct tsl_cpu_lowering *low = tsl_cpu_lowering_for(nd->op);
        if (!low) {
            st = tsl_cpu_unsupported(cg, nd, "no lowering for this op");
            break;
        }
        if (nd->n_outputs != 1 && !(low->multi_output && nd->n_outputs > 1)) {
            st = tsl_cpu_unsupported(cg, nd, "this op is lowered with one output only");
            break;
        }
        struct tsl_cpu_step *s = &steps[n++];
        s->node = nd;
        s->out = nd->outputs[0];
        const struct tsl_node *f;
        if (nd->op == TSL_OP_CONV && (f = fusable_residual(nd->outputs[0], done, &s->res))) {
            s->out = f->outputs[0];
            s->fused[s->n_fused++] = f;
            skip[f->id] = true;
            (*n_fused)++;
        }
        if (low->epilogue) {
            uint32_t first = s->n_fused;
            *n_fused += tsl_cpu_fuse_epilogue(s, skip);
            for (uint32_t k = first; k < s->n_fused; k++)
                skip[s->fused[k]->id] = true;
        }
        const struct tsl_node *mul = nd->op == TSL_OP_CONV ? nd->inputs[0]->producer : NULL;
        if (mul && skip[mul->id] && se_scale_user(mul, &px, &pse) == nd) {
            s->pro_x = px;
            s->pro_scale = pse;
            s->fused[s->n_fused++] = mul;
            (*n_fused)++;
        }
        done[nd->id] = true;
        for (uint32_t k = 0; k < s->n_fused; k++)
            done[s->fused[k]->id] = true;
        cg->step = s;
        st = low->check(cg, s);
        if (st != TSL_STATUS_OK)
            break;
        st = check_step_outputs(cg, s, low);
        if (st != TSL_STATUS_OK)
            break;
    }
    cg->step = NULL;
    free(skip);
    free(done);
    if (st != TSL_STATUS_OK) {
        free(steps);
        return st;
    }
    *out = steps;
    *n_out = n;
    return TSL_STATUS_OK;
}

static void init_types(struct tsl_cpu_cg *cg)
{
    cg->t_void = LLVMVoidTypeInContext(cg->ctx);
    cg->t_f32 = LLVMFloatTypeInContext(cg->ctx);
    cg->t_i1 = LLVMInt1TypeInContext(cg->ctx);
    cg->t_i8 = LLVMInt8TypeInContext(cg->ctx);
    cg->t_i32 = LLVMInt32TypeInContext(cg->ctx);
    cg->t_i64 = LLVMInt64TypeInContext(cg->ctx);
    cg->t_pi8 = LLVMPointerType(cg->t_i8, 0);
    cg->t_pf32 = LLVMPointerType(cg->t_f32, 0);
    cg->t_ppi8 = LLVMPointerType(cg->t_pi8, 0);
    cg->t_vec = LLVMVectorType(cg->t_f32, (unsigned)cg->tgt->vw);
    /* (weights, arena, inputs, outputs, pool) */
    LLVMTypeRef params[5] = {cg->t_pi8, cg->t_pi8, cg->t_ppi8, cg->t_ppi8, cg->t_pi8};
    cg->t_step = LLVMFunctionType(cg->t_void, params, 5, 0);
    /* a step: the same, then its offset table (reloc.c) */
    LLVMTypeRef kparams[6] = {cg->t_pi8, cg->t_pi8, cg->t_ppi8, cg->t_ppi8, cg->t_pi8,
                              LLVMPointerType(cg->t_i64, 0)};
    cg->t_kern = LLVMFunctionType(cg->t_void, kparams, 6, 0);
    LLVMTypeRef tparams[4] = {cg->t_pi8, cg->t_i64, cg->t_i64, cg->t_i64};
    cg->t_task = LLVMFunctionType(cg->t_void, tparams, 4, 0);
}

static void bind_params(struct tsl_cpu_cg *cg, LLVMValueRef fn)
{
    cg->fn = fn;
    cg->p_weights = LLVMGetParam(fn, 0);
    cg->p_arena = LLVMGetParam(fn, 1);
    cg->p_inputs = LLVMGetParam(fn, 2);
    cg->p_outputs = LLVMGetParam(fn, 3);
    cg->p_pool = LLVMGetParam(fn, 4);
    cg->p_offs = LLVMCountParams(fn) > 5 ? LLVMGetParam(fn, 5) : NULL;
    cg->p_tid = tsl_cpu_i64(cg, 0);
    cg->in_task = false;
    cg->n_rptrs = cg->rptr_start = 0;
    /* the entry block holds allocas and the table's pointers (reloc.c);
     * the code starts in the next block */
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, fn, "body");
    LLVMBuildBr(cg->b, body);
    LLVMPositionBuilderAtEnd(cg->b, body);
}

/* Constant inputs of step s's nodes (main node and fused ones): add `d` to
 * left[id] of each; with release, a constant whose count drops to 0 and
 * that is not a graph output gives its payload back (compile_consume). */
static void count_const_uses(const struct tsl_cpu_step *s, uint32_t *left, int d, bool release)
{
    for (uint32_t k = 0; k <= s->n_fused; k++) {
        const struct tsl_node *nd = k == 0 ? s->node : s->fused[k - 1];
        for (uint32_t j = 0; j < nd->n_inputs; j++) {
            struct tsl_value *v = nd->inputs[j];
            if (!v || !v->constant)
                continue;
            left[v->id] = (uint32_t)((int64_t)left[v->id] + d);
            if (release && left[v->id] == 0 && v->n_output_refs == 0)
                tsl_const_release(v->constant);
        }
    }
}

/* prof_off >= 0: profiling counters at that arena offset (profile.c).
 * release: free each constant's payload after the last step reading it. */
static enum tsl_status emit_steps(struct tsl_cpu_cg *cg, struct tsl_cpu_step *steps, uint32_t n,
                                  int64_t prof_off, bool release, uint32_t *n_fns)
{
    uint32_t *left = NULL;
    if (release) {
        left = calloc(cg->n_locs, sizeof *left);
        if (!left)
            return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "codegen");
        for (uint32_t i = 0; i < n; i++)
            count_const_uses(&steps[i], left, 1, false);
    }
    /* fns[i]: the function step i calls (maybe another step's), tabs[i] its table */
    LLVMValueRef *fns = calloc(2 * (size_t)n + 1, sizeof *fns), *tabs = fns ? fns + n : NULL;
    struct tsl_cpu_dedup *dd = tsl_cpu_dedup_new();
    enum tsl_status st = TSL_STATUS_OK;
    if (!fns || !dd)
        st = tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "codegen");
    *n_fns = 0;
    for (uint32_t i = 0; st == TSL_STATUS_OK && i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s_k%u_%s", cg->prefix, i, tsl_op_name(steps[i].node->op));
        LLVMValueRef before = LLVMGetLastFunction(cg->mod);
        LLVMValueRef fn = LLVMAddFunction(cg->mod, name, cg->t_kern);
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        /* one call per run: inlining every step into the entry only makes
         * one huge function that O3 optimizes in superlinear time */
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(cg->ctx,
                                                        LLVMGetEnumAttributeKindForName("noinline", 8),
                                                        0));
        bind_params(cg, fn);
        cg->step = &steps[i];
        cg->n_relocs = 0;
        st = tsl_cpu_lowering_for(steps[i].node->op)->emit(cg, &steps[i]);
        if (st != TSL_STATUS_OK)
            break;
        LLVMBuildRetVoid(cg->b);
        if (cg->reloc_nomem)
            break;
        fns[i] = tsl_cpu_dedup_step(cg, dd, fn, before);
        tabs[i] = tsl_cpu_reloc_table(cg, i);
        if (!fns[i] || !tabs[i]) {
            cg->reloc_nomem = true;
            break;
        }
        if (fns[i] == fn)
            ++*n_fns;
        if (left)
            count_const_uses(&steps[i], left, -1, true);
    }
    if (st == TSL_STATUS_OK && cg->reloc_nomem)
        st = tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "codegen");
    free(left);
    tsl_cpu_dedup_free(dd);
    cg->step = NULL;
    if (st != TSL_STATUS_OK) {
        free(fns);
        return st;
    }
    char name[96];
    snprintf(name, sizeof name, "%s_run", cg->prefix);
    LLVMValueRef entry = LLVMAddFunction(cg->mod, name, cg->t_step);
    bind_params(cg, entry);
    LLVMValueRef args[6] = {cg->p_weights, cg->p_arena, cg->p_inputs, cg->p_outputs,
                            cg->p_pool, NULL};
    if (prof_off >= 0)
        tsl_cpu_profile_emit_tick(cg, prof_off, 0);
    for (uint32_t i = 0; i < n; i++) {
        args[5] = tabs[i];
        LLVMBuildCall2(cg->b, cg->t_kern, fns[i], args, 6, "");
        if (prof_off >= 0)
            tsl_cpu_profile_emit_tick(cg, prof_off, i + 1);
    }
    free(fns);
    /* outputs that are inputs, constants or listed twice are copied */
    for (uint32_t i = 0; i < cg->g->n_outputs; i++) {
        const struct tsl_value *v = cg->g->outputs[i];
        const struct tsl_cpu_loc *l = &cg->locs[v->id];
        if (l->kind == TSL_LOC_OUTPUT && l->index == i)
            continue;
        LLVMValueRef src, dst;
        TSL_TRY(tsl_cpu_ptr(cg, v, &src));
        LLVMValueRef idx = tsl_cpu_i64(cg, i);
        LLVMValueRef pp = LLVMBuildInBoundsGEP2(cg->b, cg->t_pi8, cg->p_outputs, &idx, 1, "");
        LLVMValueRef p = LLVMBuildLoad2(cg->b, cg->t_pi8, pp, "");
        LLVMSetAlignment(p, 8);
        dst = LLVMBuildBitCast(cg->b, p, cg->t_pi8, "");
        int64_t bytes = 0;
        tsl_dtype_storage_bytes(v->type.dtype, tsl_cpu_numel(v), &bytes);
        if (bytes > 0)
            LLVMBuildMemCpy(cg->b, dst, 1, LLVMBuildBitCast(cg->b, src, cg->t_pi8, ""), 1,
                            tsl_cpu_i64(cg, bytes));
    }
    LLVMBuildRetVoid(cg->b);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_optimize(struct tsl_cpu_module *m, struct tsl_diag *diag)
{
    for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f))
            continue;
        LLVMAddTargetDependentFunctionAttr(f, "target-cpu", m->tgt.cpu);
        LLVMAddTargetDependentFunctionAttr(f, "target-features", m->tgt.features);
    }
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        enum tsl_status st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, m->prefix,
                                            "generated LLVM IR is invalid: %.400s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return st;
    }
    LLVMDisposeMessage(msg);
    LLVMTargetMachineRef tm;
    TSL_TRY(tsl_cpu_target_machine(&m->tgt, m->opt_level, &tm, diag));
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m->mod, dl);
    LLVMDisposeTargetData(dl);
    LLVMSetTarget(m->mod, m->tgt.triple);
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", m->opt_level);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    LLVMErrorRef err = LLVMRunPasses(m->mod, pipeline, tm, po);
    LLVMDisposePassBuilderOptions(po);
    LLVMDisposeTargetMachine(tm);
    if (err)
        return tsl_cpu_llvm_error(diag, err, m->prefix, "LLVM optimization failed");
    return TSL_STATUS_OK;
}

static enum tsl_status copy_io(struct tsl_cpu_io **out, struct tsl_value *const *vals, uint32_t n,
                               bool outputs)
{
    *out = calloc(n + 1, sizeof **out);
    if (!*out)
        return TSL_STATUS_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        (*out)[i].name = tsl_strdup(vals[i]->name);
        (*out)[i].dtype = vals[i]->type.dtype;
        (*out)[i].shape = vals[i]->type.shape;
        (*out)[i].dyn_axis = -1;
        if (outputs && !tsl_cpu_dynamic_bound(vals[i], &(*out)[i].shape, &(*out)[i].dyn_axis))
            (*out)[i].dyn_axis = -1;
        if (!(*out)[i].name)
            return TSL_STATUS_NOMEM;
    }
    return TSL_STATUS_OK;
}

/* Keep a copy of the values the graph was specialized to (tsl_cpu_bind_values). */
static enum tsl_status copy_frozen(struct tsl_cpu_module *m, const struct tsl_cpu_options *o,
                                   struct tsl_diag *diag)
{
    for (uint32_t i = 0; i < m->n_inputs; i++) {
        struct tsl_cpu_io *io = &m->inputs[i];
        if (!o->frozen[i])
            continue;
        const struct tsl_tensor *t = o->frozen_values ? &o->frozen_values[i] : NULL;
        int64_t numel, bytes;
        if (!t || !t->data || t->dtype != io->dtype || !tsl_shape_equal(&t->shape, &io->shape) ||
            !tsl_shape_numel(&io->shape, &numel) ||
            !tsl_dtype_storage_bytes(io->dtype, numel, &bytes))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, io->name,
                                  "frozen value does not match the input's dtype/shape");
        io->frozen = malloc(bytes > 0 ? (size_t)bytes : 1);
        if (!io->frozen)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, io->name, "frozen value");
        memcpy(io->frozen, t->data, (size_t)bytes);
        io->frozen_bytes = bytes;
    }
    return TSL_STATUS_OK;
}

static enum tsl_status check_graph(const struct tsl_graph *g, const struct tsl_cpu_options *o,
                                   struct tsl_diag *diag)
{
    if (o->threads < 1 || o->threads > TSL_CPU_MAX_THREADS || o->opt_level < 0 ||
        o->opt_level > 3)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu",
                              "bad options (threads %d, opt level %d)", o->threads, o->opt_level);
    if (o->name && !valid_ident(o->name))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu",
                              "module name '%s' is not a C identifier", o->name);
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const struct tsl_value *v = g->inputs[i];
        if (!tsl_shape_is_static(&v->type.shape))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, v->name,
                                  "input shape must be static for the cpu backend "
                                  "(bind symbolic dims first)");
        if (!storable(v))
            return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, v->name,
                                  "cpu backend: input dtype %s has no storage size",
                                  tsl_dtype_name(v->type.dtype));
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct tsl_value *v = g->outputs[i];
        struct tsl_shape mx;
        int ax;
        if (tsl_cpu_dynamic_bound(v, &mx, &ax)) {
            /* written once, in place, by its step (lower_select.c) */
            bool twice = v->n_uses > 0;
            for (uint32_t j = 0; j < g->n_outputs && !twice; j++)
                twice = j != i && g->outputs[j] == v;
            for (uint32_t j = 0; j < g->n_inputs && !twice; j++)
                twice = g->inputs[j] == v;
            if (twice)
                return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, v->name,
                                      "cpu backend: an output whose size depends on the data "
                                      "(%s) must be a graph output used by no other node and "
                                      "listed once", tsl_op_name(v->producer->op));
            continue;
        }
        if (!tsl_shape_is_static(&v->type.shape) || !storable(v))
            return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, v->name,
                                  "cpu backend: output must have a static shape and a "
                                  "storable dtype");
    }
    return TSL_STATUS_OK;
}

static enum tsl_status compile_graph(const struct tsl_graph *g, const struct tsl_cpu_options *opts,
                                     bool release, struct tsl_cpu_module **out,
                                     struct tsl_diag *diag)
{
    struct tsl_cpu_options defo;
    if (!opts) {
        tsl_cpu_options_default(&defo);
        opts = &defo;
    }
    if (!g || !out)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL graph or output");
    *out = NULL;
    TSL_TRY(check_graph(g, opts, diag));
    struct tsl_cpu_module *m = calloc(1, sizeof *m);
    if (!m)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "cpu module");
    m->opt_level = opts->opt_level;
    m->threads = opts->threads;
    m->prefix = tsl_strdup(opts->name ? opts->name : "model");
    enum tsl_status st = tsl_cpu_target_init(&m->tgt, opts, diag);
    if (st != TSL_STATUS_OK) {
        tsl_cpu_module_destroy(m);
        return st;
    }
    struct tsl_cpu_cg cg;
    memset(&cg, 0, sizeof cg);
    cg.g = g;
    cg.diag = diag;
    cg.tgt = &m->tgt;
    cg.prefix = m->prefix;
    cg.threads = m->threads;
    cg.min_par_ns = opts->min_parallel_ns == 0.0 ? TSL_CPU_MIN_PARALLEL_NS
                    : opts->min_parallel_ns < 0.0 ? 0.0
                                                  : opts->min_parallel_ns;
    cg.n_locs = g->next_value_id + 1;
    cg.locs = calloc(cg.n_locs, sizeof *cg.locs);
    struct tsl_cpu_step *steps = NULL;
    uint32_t n_steps = 0;
    if (!m->prefix || !cg.locs) {
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "cpu module");
        goto done;
    }
    m->tsctx = LLVMOrcCreateNewThreadSafeContext();
    cg.ctx = LLVMOrcThreadSafeContextGetContext(m->tsctx);
    cg.mod = LLVMModuleCreateWithNameInContext(m->prefix, cg.ctx);
    m->mod = cg.mod;
    cg.b = LLVMCreateBuilderInContext(cg.ctx);
    init_types(&cg);
    double t0 = tsl_cpu_seconds();
    st = schedule(&cg, &steps, &n_steps, &m->n_fused);
    if (st != TSL_STATUS_OK)
        goto done;
    m->n_kernels = n_steps;
    st = tsl_cpu_plan(&cg, steps, n_steps, &m->arena_bytes, &m->arena_naive_bytes);
    if (st != TSL_STATUS_OK)
        goto done;
    /* one i64 per output for the sizes of data-dependent outputs */
    m->dims_off = cg.dims_off = -1;
    for (uint32_t i = 0; i < g->n_outputs && m->dims_off < 0; i++) {
        struct tsl_shape mx;
        int ax;
        if (tsl_cpu_dynamic_bound(g->outputs[i], &mx, &ax)) {
            m->dims_off = cg.dims_off =
                (m->arena_bytes + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
            m->arena_bytes = m->dims_off + (8 * (int64_t)g->n_outputs + TSL_CPU_ALIGN - 1) /
                                               TSL_CPU_ALIGN * TSL_CPU_ALIGN;
        }
    }
    m->prof_off = -1;
    if (opts->profile) { /* n_steps + 1 counters after everything else */
        m->prof_off = (m->arena_bytes + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
        m->arena_bytes = m->prof_off + (8 * ((int64_t)n_steps + 1) + TSL_CPU_ALIGN - 1) /
                                           TSL_CPU_ALIGN * TSL_CPU_ALIGN;
        st = tsl_cpu_profile_init(m, steps, n_steps, diag);
        if (st != TSL_STATUS_OK)
            goto done;
    }
    double t1 = tsl_cpu_seconds();
    m->plan_s = t1 - t0;
    st = emit_steps(&cg, steps, n_steps, m->prof_off, release, &m->n_step_fns);
    m->n_parallel = cg.n_par;
    /* the module owns the blob from here on (not an LLVM constant: see
     * cpu_module.h) */
    m->weights_raw = cg.blob_raw;
    m->weights = cg.blob;
    m->weight_bytes = (int64_t)cg.blob_len;
    cg.blob_raw = cg.blob = NULL;
    double t2 = tsl_cpu_seconds();
    m->codegen_s = t2 - t1;
    if (st == TSL_STATUS_OK)
        st = tsl_cpu_optimize(m, diag);
    m->opt_s = tsl_cpu_seconds() - t2;
    if (st == TSL_STATUS_OK && (copy_io(&m->inputs, g->inputs, g->n_inputs, false) != TSL_STATUS_OK ||
                                copy_io(&m->outputs, g->outputs, g->n_outputs, true) != TSL_STATUS_OK))
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "cpu module");
    m->n_inputs = g->n_inputs;
    m->n_outputs = g->n_outputs;
    if (st == TSL_STATUS_OK && opts->frozen)
        st = copy_frozen(m, opts, diag);
done:
    if (cg.b)
        LLVMDisposeBuilder(cg.b);
    free(cg.blob_raw);
    free(cg.locs);
    free(cg.uks);
    free(cg.relocs);
    free(cg.rptrs);
    free(steps);
    if (st != TSL_STATUS_OK) {
        tsl_cpu_module_destroy(m);
        return st;
    }
    *out = m;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_compile(const struct tsl_graph *g, const struct tsl_cpu_options *opts,
                                struct tsl_cpu_module **out, struct tsl_diag *diag)
{
    return compile_graph(g, opts, false, out, diag);
}

enum tsl_status tsl_cpu_compile_consume(struct tsl_graph *g, const struct tsl_cpu_options *opts,
                                        struct tsl_cpu_module **out, struct tsl_diag *diag)
{
    return compile_graph(g, opts, true, out, diag);
}

void tsl_cpu_module_info(const struct tsl_cpu_module *m, struct tsl_cpu_module_info *out)
{
    memset(out, 0, sizeof *out);
    out->weight_bytes = m->weight_bytes;
    out->arena_bytes = m->arena_bytes;
    out->arena_naive_bytes = m->arena_naive_bytes;
    out->n_kernels = m->n_kernels;
    out->n_step_functions = m->n_step_fns;
    out->n_fused = m->n_fused;
    out->threads = m->threads;
    out->n_parallel = m->n_parallel;
    out->vector_width = m->tgt.vw;
    out->mr = m->tgt.mr;
    out->nr = m->tgt.vw * m->tgt.nv;
    out->cpu = m->tgt.cpu;
    out->plan_s = m->plan_s;
    out->codegen_s = m->codegen_s;
    out->opt_s = m->opt_s;
    out->jit_s = m->jit_s;
}

static void free_io(struct tsl_cpu_io *io, uint32_t n)
{
    if (!io)
        return;
    for (uint32_t i = 0; i < n; i++) {
        free(io[i].name);
        free(io[i].frozen);
    }
    free(io);
}

void tsl_cpu_module_destroy(struct tsl_cpu_module *m)
{
    if (!m)
        return;
    tsl_rt_pool_destroy(m->pool); /* joins the workers before the code goes */
    m->pool = NULL;
    if (m->jit)
        LLVMOrcDisposeLLJIT(m->jit);
    if (m->mod)
        LLVMDisposeModule(m->mod);
    if (m->tsctx)
        LLVMOrcDisposeThreadSafeContext(m->tsctx);
    free(m->arena);
    free(m->weights_raw);
    tsl_cpu_profile_free(m);
    free_io(m->inputs, m->n_inputs);
    free_io(m->outputs, m->n_outputs);
    tsl_cpu_target_fini(&m->tgt);
    free(m->prefix);
    free(m);
}

static enum tsl_status check_bound_shapes(const struct tsl_graph *g,
                                          const struct tsl_shape *shapes, uint32_t n_inputs,
                                          struct tsl_diag *diag)
{
    if (n_inputs != g->n_inputs)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, g->name,
                              "%u input shapes given, the graph has %u inputs", n_inputs,
                              g->n_inputs);
    for (uint32_t i = 0; i < n_inputs; i++) {
        const struct tsl_shape *want = &g->inputs[i]->type.shape, *got = &shapes[i];
        if (!tsl_shape_is_static(got) || (want->rank >= 0 && want->rank != got->rank))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, g->inputs[i]->name,
                                  "bound shape must be static with rank %d", want->rank);
        for (int32_t d = 0; d < want->rank; d++)
            if (!TSL_DIM_IS_SYM(want->dims[d]) && want->dims[d] != got->dims[d])
                return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, g->inputs[i]->name,
                                      "dim %d is %lld, bound to %lld", d,
                                      (long long)want->dims[d], (long long)got->dims[d]);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_bind_shapes_in_place(struct tsl_graph *g, const struct tsl_shape *shapes,
                                             uint32_t n_inputs, struct tsl_diag *diag)
{
    TSL_TRY(check_bound_shapes(g, shapes, n_inputs, diag));
    for (uint32_t i = 0; i < n_inputs; i++)
        g->inputs[i]->type.shape = shapes[i];
    return tsl_infer_shapes(g, diag);
}

enum tsl_status tsl_cpu_bind_shapes(const struct tsl_graph *g, const struct tsl_shape *shapes,
                                    uint32_t n_inputs, struct tsl_graph **out,
                                    struct tsl_diag *diag)
{
    TSL_TRY(check_bound_shapes(g, shapes, n_inputs, diag));
    struct tsl_graph *c;
    if (tsl_graph_clone(g, &c) != TSL_STATUS_OK)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, g->name, "cloning the graph");
    enum tsl_status st = tsl_cpu_bind_shapes_in_place(c, shapes, n_inputs, diag);
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(c);
        return st;
    }
    *out = c;
    return TSL_STATUS_OK;
}
