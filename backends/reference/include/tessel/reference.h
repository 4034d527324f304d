/* reference.h - the reference interpreter: runs an IR graph with plain,
 * obviously-correct C kernels.  It is the oracle every other backend is
 * tested against, and its integer kernels define tessel's bit-exact
 * semantics (docs/reference-semantics.md).
 *
 * Example:
 *     struct tsl_tensor in = {...};           // dense, static shape
 *     struct tsl_tensor *outs; uint32_t n_outs;
 *     struct tsl_ref_stats st;
 *     if (tsl_ref_run(g, &in, 1, &outs, &n_outs, &st, &diag) == TSL_STATUS_OK) {
 *         ... outs[i] matches g->outputs[i] ...
 *         tsl_tensors_free(outs, n_outs);
 *     }
 *
 * Inputs are bound to g->inputs in order; symbolic dims are bound from the
 * given shapes (a symbol used twice must get the same size).  Output shapes
 * are computed at run time, so data-dependent shapes (NonZero, NMS, Reshape
 * of computed shapes) work.  Activations are freed right after their last
 * use; st->peak_bytes is the high-water mark of live activation memory.
 * The graph is not modified.  Not thread-safe per graph only in the sense
 * that callers must not mutate g while running. */
#ifndef TESSEL_REFERENCE_H
#define TESSEL_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

/* A dense tensor with a static shape.  `data` holds
 * tsl_dtype_storage_bytes(dtype, numel) bytes, row-major. */
struct tsl_tensor {
    enum tsl_dtype dtype;
    struct tsl_shape shape;
    void *data;
    char *name; /* may be NULL */
};

struct tsl_ref_stats {
    int64_t peak_bytes;   /* peak live activation bytes (inputs and constants excluded) */
    int64_t nodes_run;
};

/* Run g on n_inputs tensors (bound to g->inputs in order, dtype and rank
 * must match, known dims must match).  On success *outputs_out is a
 * malloc'ed array of g->n_outputs tensors the caller frees with
 * tsl_tensors_free.  Errors name the input or node and what was expected. */
enum tsl_status tsl_ref_run(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                            uint32_t n_inputs, struct tsl_tensor **outputs_out,
                            uint32_t *n_outputs_out, struct tsl_ref_stats *stats,
                            struct tsl_diag *diag);

/* Hooks of tsl_ref_run_observed.  `before` is called before node n runs,
 * with its inputs (ins[i] NULL where the input is omitted); `after` right
 * after it ran, with its outputs, which it may modify in place (values
 * only: dtype and shape must stay).  The tensors are the interpreter's and
 * valid during the call only.  A status other than OK stops the run and is
 * returned.  Either hook may be NULL. */
typedef enum tsl_status (*tsl_ref_before_fn)(void *user, const struct tsl_node *n,
                                             const struct tsl_tensor *const *ins,
                                             struct tsl_diag *diag);
typedef enum tsl_status (*tsl_ref_after_fn)(void *user, const struct tsl_node *n,
                                            struct tsl_tensor *outs, struct tsl_diag *diag);
struct tsl_ref_hooks {
    tsl_ref_before_fn before;
    tsl_ref_after_fn after;
    void *user;
};
/* tsl_ref_run with hooks (NULL: plain tsl_ref_run). */
enum tsl_status tsl_ref_run_observed(const struct tsl_graph *g, const struct tsl_tensor *inputs,
                                     uint32_t n_inputs, const struct tsl_ref_hooks *hooks,
                                     struct tsl_tensor **outputs_out, uint32_t *n_outputs_out,
                                     struct tsl_ref_stats *stats, struct tsl_diag *diag);

/* Hook of tsl_ref_calib_run: x is input 0 (before) or output 0 (after) of
 * node n as dense f32 data of static shape *shape; `after` may modify it in
 * place. */
typedef enum tsl_status (*tsl_ref_calib_hook_fn)(void *user, const struct tsl_node *n, float *x,
                                                 const struct tsl_shape *shape,
                                                 struct tsl_diag *diag);
/* Run g, which must have exactly one input, on the f32 batch `input` of
 * shape *shape; call `before` before every node whose input 0 is f32 and
 * `after` after every node whose output 0 is f32 (either may be NULL); the
 * graph outputs are discarded.  Same signature as the pass manager's
 * tsl_calib_run_fn (passes.h), so tools/ can plug it into a pass context
 * for `--calib`.  Errors as tsl_ref_run (wrong rank or dims name the
 * input). */
enum tsl_status tsl_ref_calib_run(const struct tsl_graph *g, const float *input,
                                  const struct tsl_shape *shape, tsl_ref_calib_hook_fn before,
                                  tsl_ref_calib_hook_fn after, void *user,
                                  struct tsl_diag *diag);

/* Free t's data and name (t itself is the caller's); NULL is a no-op. */
void tsl_tensor_fini(struct tsl_tensor *t);
/* tsl_tensor_fini on each of n tensors, then free(ts). */
void tsl_tensors_free(struct tsl_tensor *ts, uint32_t n);

/* True when the reference backend has a kernel for op (every op in ops.def
 * does; the unit tests assert it). */
bool tsl_ref_has_kernel(enum tsl_op op);

/* Evaluate node n whose non-NULL inputs are all constants (for constant
 * folding; the signature is the pass manager's tsl_eval_node_fn, `user` is
 * unused).  outputs_out[i] receives a malloc'ed dense buffer matching the
 * output's inferred static type.  UNSUPPORTED (no diagnostic) when the node
 * cannot be evaluated here; INTERNAL if the result disagrees with the
 * inferred type. */
enum tsl_status tsl_ref_eval_node(void *user, const struct tsl_node *n, void **outputs_out,
                                  struct tsl_diag *diag);

#endif
