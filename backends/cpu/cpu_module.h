/* cpu_module.h - the layout of struct tsl_cpu_module (private to
 * backends/cpu): the optimized LLVM module with its thread-safe context, the
 * lazily created JIT, its thread pool, arena and I/O description.  Also the internal entry
 * points shared by compile.c, plan.c, jit.c and emit.c.
 *
 * No code generation logic here. */
#ifndef TSL_CPU_MODULE_H
#define TSL_CPU_MODULE_H

#include <llvm-c/Orc.h>
#include <llvm-c/LLJIT.h>

#include "cpu_internal.h"
#include "tsl_rt.h"

struct tsl_cpu_io {
    char *name;
    enum tsl_dtype dtype;
    struct tsl_shape shape;
};

typedef void (*tsl_cpu_entry_fn)(const void *weights, void *arena, void *const *inputs,
                                 void *const *outputs, void *pool);

struct tsl_cpu_module {
    struct tsl_cpu_target tgt;
    int opt_level, threads;
    char *prefix;
    LLVMOrcThreadSafeContextRef tsctx;
    LLVMModuleRef mod; /* optimized; never handed to the JIT (it gets a clone) */
    LLVMOrcLLJITRef jit;
    tsl_cpu_entry_fn entry;
    const void *jit_weights;
    const void *ext_weights; /* JIT: bytes <name>_weights resolves to (not owned) */
    void *jit_blob;          /* aligned copy of them when needed (owned) */
    void *arena;
    struct tsl_rt_pool *pool; /* JIT: threads - 1 workers, created with the JIT (owned) */
    int64_t arena_bytes, arena_naive_bytes, weight_bytes;
    uint32_t n_inputs, n_outputs;
    struct tsl_cpu_io *inputs, *outputs;
    uint32_t n_kernels, n_fused, n_parallel;
};

/* Assign a location to every value the steps touch and offsets in the arena
 * to activations and per-step scratch, by liveness (plan.c). */
enum tsl_status tsl_cpu_plan(struct tsl_cpu_cg *cg, struct tsl_cpu_step *steps, uint32_t n_steps,
                             int64_t *arena_bytes, int64_t *naive_bytes);

/* Set "target-cpu"/"target-features", data layout and triple, verify and
 * optimize the module (compile.c). */
enum tsl_status tsl_cpu_optimize(struct tsl_cpu_module *m, struct tsl_diag *diag);

#endif
