/* jit.c - in-process execution of a compiled CPU module: the first
 * tsl_cpu_run creates an LLJIT for the host target machine, hands it a clone
 * of the optimized module (the original stays available for tsl_cpu_emit),
 * resolves libm/libc symbols from the process, looks up <name>_run, and
 * allocates the activation arena.  The module holds no weights: each run
 * passes the module's packed blob (one copy in memory) to <name>_run.
 * <name>_parallel, _nonzero and _nms resolve to tessel's tsl_rt_* functions
 * (runtime/); with threads > 1
 * the module's pool (threads - 1 workers) is created here, once, and lives
 * until tsl_cpu_module_destroy.  Each run checks the
 * inputs against the compiled signature, allocates the outputs (a
 * data-dependent output at its largest size), calls the entry function and
 * sets the data-dependent outputs' actual sizes.
 *
 * Not here: code generation (compile.c), files (emit.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu_module.h"
#include "tessel/util.h"

/* Define <name>_parallel, <name>_nonzero and <name>_nms as tessel's own
 * tsl_rt_* functions (runtime/tsl_pool.c, runtime/tsl_select.c) in the
 * JIT's main dylib. */
static enum tsl_status define_symbols(struct tsl_cpu_module *m, LLVMOrcLLJITRef jit,
                                      struct tsl_diag *diag)
{
    static const char *const names[3] = {"parallel", "nonzero", "nms"};
    const LLVMOrcExecutorAddress addrs[3] = {
        (LLVMOrcExecutorAddress)(uintptr_t)tsl_rt_parallel,
        (LLVMOrcExecutorAddress)(uintptr_t)tsl_rt_nonzero,
        (LLVMOrcExecutorAddress)(uintptr_t)tsl_rt_nms};
    LLVMJITCSymbolMapPair pairs[3];
    for (int i = 0; i < 3; i++) {
        char name[112];
        snprintf(name, sizeof name, "%s_%s", m->prefix, names[i]);
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, name);
        pairs[i].Sym.Address = addrs[i];
        pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported |
                                          LLVMJITSymbolGenericFlagsCallable;
        pairs[i].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, 3);
    LLVMErrorRef err = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu);
    if (err)
        return tsl_cpu_llvm_error(diag, err, m->prefix, "defining the JIT's symbols failed");
    return TSL_STATUS_OK;
}

static enum tsl_status create_jit(struct tsl_cpu_module *m, struct tsl_diag *diag)
{
    LLVMTargetMachineRef tm;
    TSL_TRY(tsl_cpu_target_machine(&m->tgt, m->opt_level, &tm, diag));
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    /* takes ownership of tm */
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
        builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    LLVMOrcLLJITRef jit;
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&jit, builder); /* consumes builder */
    if (err)
        return tsl_cpu_llvm_error(diag, err, m->prefix, "creating the JIT failed");
    m->jit = jit;
    LLVMOrcDefinitionGeneratorRef gen;
    err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL);
    if (err)
        return tsl_cpu_llvm_error(diag, err, m->prefix, "process symbol lookup failed");
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
    LLVMModuleRef clone = LLVMCloneModule(m->mod);
    if (!clone)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix, "cloning the module");
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(clone, m->tsctx);
    enum tsl_status st = define_symbols(m, jit, diag);
    if (st != TSL_STATUS_OK) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return st;
    }
    err = LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm);
    if (err) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return tsl_cpu_llvm_error(diag, err, m->prefix, "adding the module to the JIT failed");
    }
    char name[96];
    LLVMOrcExecutorAddress run_addr = 0;
    snprintf(name, sizeof name, "%s_run", m->prefix);
    err = LLVMOrcLLJITLookup(jit, &run_addr, name);
    if (err)
        return tsl_cpu_llvm_error(diag, err, m->prefix, "JIT compilation failed");
    size_t arena = (size_t)(m->arena_bytes > 0 ? m->arena_bytes : TSL_CPU_ALIGN);
    m->arena = aligned_alloc(TSL_CPU_ALIGN, arena);
    if (!m->arena)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix, "arena of %zu bytes", arena);
    if (m->threads > 1) {
        m->pool = tsl_rt_pool_create(m->threads);
        if (!m->pool)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix,
                                  "cannot start a pool of %d threads", m->threads);
    }
    /* the JIT's address of the entry becomes a function pointer */
    m->entry = (tsl_cpu_entry_fn)(uintptr_t)run_addr;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_run(struct tsl_cpu_module *m, const struct tsl_tensor *inputs,
                            uint32_t n_inputs, struct tsl_tensor **outputs_out,
                            uint32_t *n_outputs_out, struct tsl_diag *diag)
{
    if (!m || !outputs_out || !n_outputs_out || (n_inputs && !inputs))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL argument");
    if (n_inputs != m->n_inputs)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, m->prefix,
                              "%u inputs given, the model has %u", n_inputs, m->n_inputs);
    for (uint32_t i = 0; i < n_inputs; i++) {
        const struct tsl_cpu_io *io = &m->inputs[i];
        if (inputs[i].dtype != io->dtype || !tsl_shape_equal(&inputs[i].shape, &io->shape) ||
            !inputs[i].data)
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, io->name,
                                  "input does not match the compiled dtype/shape");
        if (io->frozen && memcmp(io->frozen, inputs[i].data, (size_t)io->frozen_bytes) != 0)
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, io->name,
                                  "the module was specialized to another value of this "
                                  "input (tsl_cpu_bind_values): compile it again");
    }
    if (!m->entry) {
        double t0 = tsl_cpu_seconds();
        enum tsl_status st = create_jit(m, diag);
        m->jit_s = tsl_cpu_seconds() - t0;
        if (st != TSL_STATUS_OK) {
            if (m->jit)
                LLVMOrcDisposeLLJIT(m->jit);
            m->jit = NULL;
            free(m->arena);
            m->arena = NULL;
            tsl_rt_pool_destroy(m->pool);
            m->pool = NULL;
            return st;
        }
    }
    void **in = calloc(n_inputs + 1, sizeof *in);
    void **outp = calloc(m->n_outputs + 1, sizeof *outp);
    struct tsl_tensor *outs = calloc(m->n_outputs + 1, sizeof *outs);
    if (!in || !outp || !outs)
        goto nomem;
    for (uint32_t i = 0; i < n_inputs; i++)
        in[i] = inputs[i].data;
    for (uint32_t i = 0; i < m->n_outputs; i++) {
        const struct tsl_cpu_io *io = &m->outputs[i];
        int64_t numel, bytes;
        if (!tsl_shape_numel(&io->shape, &numel) ||
            !tsl_dtype_storage_bytes(io->dtype, numel, &bytes))
            goto nomem;
        outs[i].dtype = io->dtype;
        outs[i].shape = io->shape;
        outs[i].name = tsl_strdup(io->name);
        outs[i].data = malloc((size_t)(bytes > 0 ? bytes : 1));
        outp[i] = outs[i].data;
        if (!outs[i].name || !outs[i].data)
            goto nomem;
    }
    if (m->prof) {
        struct timespec t0, t1;
        timespec_get(&t0, TIME_UTC); /* C11; profiling only */
        m->entry(m->weights, m->arena, in, outp, m->pool);
        timespec_get(&t1, TIME_UTC);
        tsl_cpu_profile_add_run(m, (double)(t1.tv_sec - t0.tv_sec) +
                                       1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    } else {
        m->entry(m->weights, m->arena, in, outp, m->pool);
    }
    /* data-dependent outputs: the run wrote the size of their axis */
    for (uint32_t i = 0; i < m->n_outputs; i++)
        if (m->outputs[i].dyn_axis >= 0)
            memcpy(&outs[i].shape.dims[m->outputs[i].dyn_axis],
                   (const char *)m->arena + m->dims_off + 8 * (int64_t)i, sizeof(int64_t));
    free(in);
    free(outp);
    *outputs_out = outs;
    *n_outputs_out = m->n_outputs;
    return TSL_STATUS_OK;
nomem:
    free(in);
    free(outp);
    if (outs)
        tsl_tensors_free(outs, m->n_outputs);
    return tsl_diag_error(diag, TSL_STATUS_NOMEM, m->prefix, "run buffers");
}
