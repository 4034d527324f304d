/* cpu.h - the CPU backend: compiles an IR graph with static shapes into native
 * code through the LLVM-C API, runs it in-process (LLJIT) or writes it out as
 * an object, shared library, LLVM IR or assembly plus a C header.
 *
 * Example:
 *     struct tsl_cpu_options o;
 *     tsl_cpu_options_default(&o);
 *     struct tsl_cpu_module *m;
 *     if (tsl_cpu_compile(g, &o, &m, &diag) == TSL_STATUS_OK) {
 *         struct tsl_tensor *outs; uint32_t n;
 *         tsl_cpu_run(m, inputs, n_inputs, &outs, &n, &diag);
 *         tsl_tensors_free(outs, n);
 *         tsl_cpu_emit(m, TSL_CPU_EMIT_SO, "model.so", &diag);
 *         tsl_cpu_module_destroy(m);
 *     }
 *
 * Shapes are compile-time constants: every graph input must have a static
 * shape (bind symbolic dims first with tsl_cpu_bind_shapes).  Weights are
 * packed once, at compile time, into one blob; activations live in one arena
 * planned by liveness.  The generated entry point is
 *     void <name>_run(const void *weights, void *arena,
 *                     void *const *inputs, void *const *outputs,
 *                     struct <name>_pool *pool);
 * (see docs/cpu-backend.md).  An op without a lowering makes compilation fail
 * with an UNSUPPORTED error naming the op and the node.
 *
 * With threads = N > 1 the large loops of each step (GEMM/conv tiles,
 * groups and batches, depthwise channels, pooling planes, big elementwise
 * loops) are split statically over a pool of N threads, the caller
 * included; small steps run on the caller.  Outputs are bitwise identical
 * for every N.  The JIT creates the pool once per module; artifacts carry
 * their own pool (docs/cpu-backend.md, "Threads").
 *
 * Not here: int8 kernels.  No LLVM type appears in this header. */
#ifndef TESSEL_CPU_H
#define TESSEL_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"
#include "tessel/reference.h" /* struct tsl_tensor, tsl_tensors_free */

struct tsl_cpu_options {
    const char *name;     /* symbol prefix ([A-Za-z_][A-Za-z0-9_]*); NULL: "model" */
    int threads;          /* 1..TSL_CPU_MAX_THREADS: threads in total (the caller
                           * included) that steps split their work over */
    int opt_level;        /* 0..3: LLVMRunPasses("default<On>") and codegen level */
    const char *cpu;      /* target CPU override; NULL: the host CPU */
    const char *features; /* target features override ("+avx2,-avx512f"); NULL: host */
    double min_parallel_ns; /* cost model: a loop whose estimated work is below this many
                             * ns runs on the caller only; 0: TSL_CPU_MIN_PARALLEL_NS;
                             * < 0: split every loop of >= 2 items (tests) */
    bool profile;           /* time every step (tsl_cpu_profile); off: no code is added */
    /* Value specialization (tsl_cpu_bind_values): NULL, or g->n_inputs flags;
     * input i with frozen[i] was replaced by a constant holding
     * frozen_values[i] (dense, its dtype and shape), which the module keeps a
     * copy of: tsl_cpu_run then fails with INVALID_ARG when that input's
     * bytes differ.  Both arrays are read only during tsl_cpu_compile. */
    const bool *frozen;
    const struct tsl_tensor *frozen_values;
};

#define TSL_CPU_MIN_PARALLEL_NS 8000.0

#define TSL_CPU_MAX_THREADS 1024

/* name NULL, threads 1, opt_level 3, cpu and features NULL (host),
 * min_parallel_ns 0 (the default threshold), profile off. */
void tsl_cpu_options_default(struct tsl_cpu_options *o);

/* An opaque compiled module: LLVM module, weight blob, arena plan, lazily
 * created JIT and thread pool.  Not safe for concurrent tsl_cpu_run calls
 * (one arena, one pool). */
struct tsl_cpu_module;

/* Compile g (not modified).  Inputs must have static shapes and every value
 * an inferred type (run tsl_infer_shapes first).  Errors: INVALID_ARG (bad
 * options, symbolic shapes), UNSUPPORTED (op or dtype without a lowering,
 * naming the node), INTERNAL (LLVM rejected the module; LLVM's message is in
 * the diagnostic), NOMEM.  On success the caller owns *out. */
enum tsl_status tsl_cpu_compile(const struct tsl_graph *g, const struct tsl_cpu_options *opts,
                                struct tsl_cpu_module **out, struct tsl_diag *diag);

/* As tsl_cpu_compile, for a caller that only destroys g afterwards: the
 * payload of each constant is released (tsl_const_release) as soon as the
 * last step reading it has been generated - its bytes are then packed into
 * the module - so the weights are not held twice while compiling.
 * Constants that are graph outputs are kept.  Whether it succeeds or not,
 * g's constants may have been released: destroy g, do not compile, run or
 * export it again. */
enum tsl_status tsl_cpu_compile_consume(struct tsl_graph *g, const struct tsl_cpu_options *opts,
                                        struct tsl_cpu_module **out, struct tsl_diag *diag);

/* Run the module on n_inputs dense tensors bound to the graph inputs in
 * order (dtype and shape must match exactly; a frozen input's bytes too).  The first call creates the
 * JIT and, for threads > 1, the pool's threads - 1 workers (NOMEM if they
 * cannot be started); tsl_cpu_module_destroy joins them.  On success *outputs_out is a malloc'ed array the caller frees with
 * tsl_tensors_free. */
enum tsl_status tsl_cpu_run(struct tsl_cpu_module *m, const struct tsl_tensor *inputs,
                            uint32_t n_inputs, struct tsl_tensor **outputs_out,
                            uint32_t *n_outputs_out, struct tsl_diag *diag);

enum tsl_cpu_emit_kind {
    TSL_CPU_EMIT_OBJ, /* relocatable object (.o) */
    TSL_CPU_EMIT_SO,  /* shared library, linked with the system `cc -shared` */
    TSL_CPU_EMIT_LL,  /* textual LLVM IR */
    TSL_CPU_EMIT_ASM, /* target assembly */
};

/* Write the module to `path`, and for OBJ and SO also the C header next to
 * it (path with its extension replaced by ".h").  The artifact contains the
 * weights (symbol <name>_weights) and has no dependency on tessel.  On error
 * no partial file is left behind.  IO on file errors, INTERNAL from LLVM. */
enum tsl_status tsl_cpu_emit(struct tsl_cpu_module *m, enum tsl_cpu_emit_kind kind,
                             const char *path, struct tsl_diag *diag);

/* Write only the generated C header for the module to `path`. */
enum tsl_status tsl_cpu_emit_header(const struct tsl_cpu_module *m, const char *path,
                                    struct tsl_diag *diag);

/* Sizes, for reports and the header. */
struct tsl_cpu_module_info {
    int64_t weight_bytes; /* packed weight blob */
    int64_t arena_bytes;  /* activation arena (liveness-planned, incl. scratch) */
    int64_t arena_naive_bytes; /* sum of all buffers without reuse */
    uint32_t n_kernels;   /* steps (one call each) */
    uint32_t n_step_functions; /* distinct step functions: steps whose IR is the same
                                * (apart from their value offsets) share one */
    uint32_t n_fused;     /* nodes fused into a producer's epilogue */
    int threads;          /* threads the module was compiled for */
    uint32_t n_parallel;  /* loops split over the threads (0 when threads is 1) */
    int vector_width;     /* f32 lanes of the GEMM micro-kernel */
    int mr, nr;           /* micro-kernel register tile */
    const char *cpu;      /* target CPU name (owned by the module) */
    /* wall time of tsl_cpu_compile's phases, seconds: scheduling, checks
     * and memory plan; IR of the steps (weight packing included); verify
     * and LLVM optimization; and of the JIT's creation (machine code, at the
     * first tsl_cpu_run; 0 before) */
    double plan_s, codegen_s, opt_s, jit_s;
};
void tsl_cpu_module_info(const struct tsl_cpu_module *m, struct tsl_cpu_module_info *out);

void tsl_cpu_module_destroy(struct tsl_cpu_module *m);

/* Time spent in one step (one generated kernel: a node plus the nodes fused
 * into it), summed over every tsl_cpu_run since compilation. */
struct tsl_cpu_step_profile {
    const char *kernel; /* step function, "<name>_k<i>_<Op>" (owned by the module) */
    const char *node;   /* main node's name, or "<Op>#id" (owned by the module) */
    const char *ops;    /* the step's ops, "Conv+Add+Relu" (owned by the module) */
    double seconds;     /* total over `runs` runs */
    double flops;       /* floating-point operations of one run of the step, 2 x the
                         * multiply-adds of a Conv, ConvTranspose, Gemm or MatMul
                         * (from the node's static shapes); 0 for other ops */
};
/* Per-step times of a module compiled with options.profile: the generated
 * entry reads the CPU's cycle counter (llvm.readcyclecounter) between steps
 * into a slot array at the end of the arena; each tsl_cpu_run adds the
 * deltas, converted to seconds by the wall time of the same runs.  *steps
 * (n_steps entries, in execution order) stays owned by the module and valid
 * until the next tsl_cpu_run or destroy; *runs counts the timed runs.
 * INVALID_ARG when the module was compiled without profiling. */
enum tsl_status tsl_cpu_profile(const struct tsl_cpu_module *m,
                                const struct tsl_cpu_step_profile **steps, uint32_t *n_steps,
                                uint64_t *runs, struct tsl_diag *diag);

/* Forget the runs the profile holds (times and run count back to 0), e.g.
 * after a warm-up run whose first touches of the arena would be counted.
 * INVALID_ARG when the module was compiled without profiling. */
enum tsl_status tsl_cpu_profile_reset(struct tsl_cpu_module *m, struct tsl_diag *diag);

/* True when `op` has a lowering in the CPU backend (dtype f32). */
bool tsl_cpu_has_lowering(enum tsl_op op);

/* Clone g with its inputs' shapes replaced by the given static shapes
 * (n_inputs entries, in g->inputs order, rank must match and known dims must
 * agree) and re-run shape inference.  Run the canonicalization passes
 * afterwards: fold-constants then folds Shape/Size of the now static values
 * and the shape arithmetic that follows.  The caller owns *out. */
enum tsl_status tsl_cpu_bind_shapes(const struct tsl_graph *g, const struct tsl_shape *shapes,
                                    uint32_t n_inputs, struct tsl_graph **out,
                                    struct tsl_diag *diag);

/* Largest input (in elements) tsl_cpu_bind_values freezes. */
#define TSL_CPU_BIND_MAX_ELEMS 64

/* Value specialization, for callers that have the run's input values: bind
 * the shapes of `inputs` (as tsl_cpu_bind_shapes), then freeze every input
 * whose value reaches an operand the backend needs at compile time (the
 * shape of Reshape/Expand, Tile's repeats, Slice's starts/ends/axes/steps,
 * Pad's pads and value, Resize's roi/scales/sizes, TopK's K, the operands of
 * ConstantOfShape and Range), directly or through other nodes (not through
 * Shape/Size): its uses read a new constant holding its value and shapes are
 * inferred again.  Only inputs of at most TSL_CPU_BIND_MAX_ELEMS elements
 * with an integer (8 bits or more), f32 or f64 dtype are frozen; the others
 * stay run-time inputs (and a node needing them stays UNSUPPORTED).  The
 * frozen input stays a graph input, unused, so the signature is unchanged.
 * frozen (NULL or n_inputs entries) receives which inputs were frozen: pass
 * it and `inputs` as options.frozen/frozen_values to tsl_cpu_compile so a
 * run with other values is rejected.  Run the canonicalization passes
 * afterwards, as after tsl_cpu_bind_shapes.  Errors as tsl_cpu_bind_shapes
 * (INVALID_ARG on a count, dtype-less or shape mismatch), NOMEM.  The caller
 * owns *out. */
enum tsl_status tsl_cpu_bind_values(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                                    uint32_t n_inputs, struct tsl_graph **out, bool *frozen,
                                    struct tsl_diag *diag);

/* tsl_cpu_bind_values on g itself, without the clone: what the CLI uses so
 * the weights are not held twice.  Errors as tsl_cpu_bind_values; on error
 * g's types may have changed: destroy it. */
enum tsl_status tsl_cpu_bind_values_in_place(struct tsl_graph *g,
                                             const struct tsl_tensor *inputs, uint32_t n_inputs,
                                             bool *frozen, struct tsl_diag *diag);

/* tsl_cpu_bind_shapes on g itself, without the clone (no second copy of
 * the weights).  Errors as tsl_cpu_bind_shapes; when the shapes are
 * rejected g is unchanged, when shape inference fails g's inputs have the
 * new shapes and its other types are unspecified (destroy it). */
enum tsl_status tsl_cpu_bind_shapes_in_place(struct tsl_graph *g, const struct tsl_shape *shapes,
                                             uint32_t n_inputs, struct tsl_diag *diag);

#endif
