/* cpu_module.h - the layout of struct tsl_cpu_module (private to
 * backends/cpu): the optimized LLVM module with its thread-safe context, the
 * lazily created JIT, its thread pool, arena, packed weights and I/O
 * description.  Also the internal entry
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
    void *frozen; /* inputs: the bytes the module was specialized to, or NULL */
    int64_t frozen_bytes;
    int dyn_axis; /* outputs: the axis whose size the run decides (shape holds its
                   * upper bound; the run writes the size to the arena at
                   * dims_off + 8 * index), or -1 */
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
    /* the packed weight blob, weight_bytes long, 64-byte aligned inside
     * weights_raw (owned; NULL when there are no weights).  The JIT passes
     * it to <name>_run as is; tsl_cpu_emit wraps it into the constant
     * <name>_weights of the artifact.  The LLVM module does not hold it. */
    const uint8_t *weights;
    uint8_t *weights_raw;
    void *arena;
    struct tsl_rt_pool *pool; /* JIT: threads - 1 workers, created with the JIT (owned) */
    int64_t arena_bytes, arena_naive_bytes, weight_bytes;
    uint32_t n_inputs, n_outputs;
    struct tsl_cpu_io *inputs, *outputs;
    uint32_t n_kernels, n_fused, n_parallel;
    uint32_t n_step_fns; /* distinct step functions (steps with the same IR share one) */
    double plan_s, codegen_s, opt_s, jit_s; /* phase times (tsl_cpu_module_info) */
    int64_t dims_off; /* arena offset of one i64 per output (sizes of data-dependent
                       * axes), or -1 when no output is data-dependent */

    /* per-step profiling (options.profile; prof is NULL otherwise) */
    int64_t prof_off;                  /* arena offset of n_kernels + 1 u64 counters */
    struct tsl_cpu_step_profile *prof; /* n_kernels entries, strings owned */
    uint64_t *prof_ticks;              /* counter ticks per step, summed over runs */
    uint64_t prof_runs, prof_total_ticks;
    double prof_wall_s;                /* wall time of the profiled runs */
};

/* Assign a location to every value the steps touch and offsets in the arena
 * to activations and per-step scratch, by liveness (plan.c). */
enum tsl_status tsl_cpu_plan(struct tsl_cpu_cg *cg, struct tsl_cpu_step *steps, uint32_t n_steps,
                             int64_t *arena_bytes, int64_t *naive_bytes);

/* Profiling (profile.c).  init: labels and tick sums for the n steps
 * (m->n_kernels == n); emit_tick: store llvm.readcyclecounter into counter
 * `slot` of the arena (builder positioned in <name>_run); add_run: add the
 * deltas the last run wrote and its wall time `wall_s` (no-op without
 * profiling); free: release it all (destroy). */
enum tsl_status tsl_cpu_profile_init(struct tsl_cpu_module *m, const struct tsl_cpu_step *steps,
                                     uint32_t n, struct tsl_diag *diag);
void tsl_cpu_profile_emit_tick(struct tsl_cpu_cg *cg, int64_t prof_off, uint32_t slot);
void tsl_cpu_profile_add_run(struct tsl_cpu_module *m, double wall_s);
void tsl_cpu_profile_free(struct tsl_cpu_module *m);

/* Wall-clock seconds (C11 timespec_get), for the phase times (compile.c). */
double tsl_cpu_seconds(void);

/* Add the constant global <name>_weights holding m's weight blob (aligned
 * to TSL_CPU_ALIGN, external linkage) to `mod`, a clone of m->mod in m's
 * context, for emission.  The initializer is an LLVM constant: a copy of
 * the blob that lives as long as the context (emit.c). */
enum tsl_status tsl_cpu_add_weights_global(const struct tsl_cpu_module *m, LLVMModuleRef mod,
                                           struct tsl_diag *diag);

/* Set "target-cpu"/"target-features", data layout and triple, verify and
 * optimize the module (compile.c). */
enum tsl_status tsl_cpu_optimize(struct tsl_cpu_module *m, struct tsl_diag *diag);

#endif
