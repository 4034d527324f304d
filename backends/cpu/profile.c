/* profile.c - optional per-step timing of a CPU module (options.profile).
 *
 * When profiling is on, the generated <name>_run stores the CPU's cycle
 * counter (llvm.readcyclecounter: rdtsc on x86) into counter 0 of a small
 * u64 array at the end of the arena before the first step and into counter
 * i + 1 after step i.  After each run the host adds the deltas per step and
 * the run's wall time; the seconds reported are ticks scaled by
 * wall time / total ticks, so no counter frequency is assumed.  A module
 * compiled without profiling has no counter code and no array.
 *
 * Each step also gets its floating-point operation count (2 x multiply-adds
 * of its Conv/ConvTranspose/Gemm/MatMul, from the static shapes), so the
 * CLI can print GFLOP/s per step.
 *
 * Not here: deciding the steps (compile.c), printing (tools/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_module.h"
#include "tessel/util.h"

/* 2 x multiply-adds of one run of a contraction node (shapes are static in
 * a compiled module); 0 for every other op. */
static double step_flops(const struct tsl_node *n)
{
    if (n->n_inputs < 2 || !n->inputs[0] || !n->inputs[1] || n->n_outputs < 1)
        return 0.0;
    const struct tsl_shape *a = &n->inputs[0]->type.shape, *w = &n->inputs[1]->type.shape;
    double out = (double)tsl_cpu_numel(n->outputs[0]), k = 1.0;
    switch (n->op) { /* the four contractions, not a dispatch over every op */
    case TSL_OP_CONV: /* out x (C/G x kernel taps): the weight's dims after the first */
        for (int i = 1; i < w->rank; i++)
            k *= (double)w->dims[i];
        return 2.0 * out * k;
    case TSL_OP_CONV_TRANSPOSE: /* every input element times OC/G x taps */
        if (a->rank < 2 || a->dims[1] <= 0)
            return 0.0;
        return 2.0 * (double)tsl_cpu_numel(n->inputs[0]) *
               ((double)tsl_cpu_numel(n->inputs[1]) / (double)a->dims[1]);
    case TSL_OP_GEMM:
        if (a->rank != 2)
            return 0.0;
        return 2.0 * out * (double)a->dims[n->attrs.gemm.transA ? 0 : 1];
    case TSL_OP_MATMUL:
        if (a->rank < 1)
            return 0.0;
        return 2.0 * out * (double)a->dims[a->rank - 1];
    default:
        return 0.0;
    }
}

enum tsl_status tsl_cpu_profile_init(struct tsl_cpu_module *m, const struct tsl_cpu_step *steps,
                                     uint32_t n, struct tsl_diag *diag)
{
    m->prof = calloc(n + 1, sizeof *m->prof);
    m->prof_ticks = calloc(n + 1, sizeof *m->prof_ticks);
    if (!m->prof || !m->prof_ticks)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix, "profile");
    for (uint32_t i = 0; i < n; i++) {
        const struct tsl_cpu_step *s = &steps[i];
        char where[64], ops[160];
        int len = snprintf(ops, sizeof ops, "%s", tsl_op_name(s->node->op));
        for (uint32_t f = 0; f < s->n_fused && len > 0 && (size_t)len < sizeof ops; f++)
            len += snprintf(ops + len, sizeof ops - (size_t)len, "+%s",
                            tsl_op_name(s->fused[f]->op));
        m->prof[i].kernel = tsl_asprintf("%s_k%u_%s", m->prefix, i, tsl_op_name(s->node->op));
        m->prof[i].node = tsl_strdup(tsl_cpu_node_where(s->node, where, sizeof where));
        m->prof[i].ops = tsl_strdup(ops);
        m->prof[i].flops = step_flops(s->node);
        if (!m->prof[i].kernel || !m->prof[i].node || !m->prof[i].ops)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix, "profile");
    }
    return TSL_STATUS_OK;
}

void tsl_cpu_profile_emit_tick(struct tsl_cpu_cg *cg, int64_t prof_off, uint32_t slot)
{
    unsigned id = LLVMLookupIntrinsicID("llvm.readcyclecounter", strlen("llvm.readcyclecounter"));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, NULL, 0);
    LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, NULL, 0);
    LLVMValueRef t = LLVMBuildCall2(cg->b, fty, fn, NULL, 0, "tick");
    LLVMValueRef idx = tsl_cpu_i64(cg, prof_off + 8 * (int64_t)slot);
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, cg->t_i8, cg->p_arena, &idx, 1, "");
    p = LLVMBuildBitCast(cg->b, p, LLVMPointerType(cg->t_i64, 0), "");
    /* volatile: the counters are read by the host, never by the module */
    LLVMValueRef s = LLVMBuildStore(cg->b, t, p);
    LLVMSetVolatile(s, 1);
    LLVMSetAlignment(s, 8);
}

void tsl_cpu_profile_add_run(struct tsl_cpu_module *m, double wall_s)
{
    if (!m->prof)
        return;
    const uint64_t *c = (const uint64_t *)(const void *)((const char *)m->arena + m->prof_off);
    for (uint32_t i = 0; i < m->n_kernels; i++)
        m->prof_ticks[i] += c[i + 1] - c[i];
    m->prof_total_ticks += c[m->n_kernels] - c[0];
    m->prof_wall_s += wall_s;
    m->prof_runs++;
    double scale = m->prof_total_ticks ? m->prof_wall_s / (double)m->prof_total_ticks : 0.0;
    for (uint32_t i = 0; i < m->n_kernels; i++)
        m->prof[i].seconds = (double)m->prof_ticks[i] * scale;
}

void tsl_cpu_profile_free(struct tsl_cpu_module *m)
{
    if (m->prof)
        for (uint32_t i = 0; i < m->n_kernels; i++) {
            free((char *)m->prof[i].kernel);
            free((char *)m->prof[i].node);
            free((char *)m->prof[i].ops);
        }
    free(m->prof);
    free(m->prof_ticks);
    m->prof = NULL;
    m->prof_ticks = NULL;
}

enum tsl_status tsl_cpu_profile(const struct tsl_cpu_module *m,
                                const struct tsl_cpu_step_profile **steps, uint32_t *n_steps,
                                uint64_t *runs, struct tsl_diag *diag)
{
    if (!m || !steps || !n_steps || !runs)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL argument");
    if (!m->prof)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, m->prefix,
                              "the module was compiled without profiling");
    *steps = m->prof;
    *n_steps = m->n_kernels;
    *runs = m->prof_runs;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_profile_reset(struct tsl_cpu_module *m, struct tsl_diag *diag)
{
    if (!m)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL argument");
    if (!m->prof)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, m->prefix,
                              "the module was compiled without profiling");
    for (uint32_t i = 0; i < m->n_kernels; i++) {
        m->prof_ticks[i] = 0;
        m->prof[i].seconds = 0.0;
    }
    m->prof_total_ticks = 0;
    m->prof_wall_s = 0.0;
    m->prof_runs = 0;
    return TSL_STATUS_OK;
}
