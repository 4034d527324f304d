/* passes.h - the pass manager: named passes from passes.def, pipelines as
 * data ("a,b,c"), verification after every pass (when asked), per-pass
 * timing, and a hook to show the IR after a pass.
 *
 * Example:
 *     struct tsl_pass_context ctx;
 *     tsl_pass_context_init(&ctx, &diag);
 *     ctx.eval_node = my_evaluator;            // enables constant folding
 *     tsl_pass_run_pipeline(g, TSL_PIPELINE_CANONICALIZE, &ctx);
 *
 * The manager never prints: --print-after goes through ctx.after_pass, and
 * timings are left in ctx.timings for the tool to show.  Passes read and
 * rewrite the graph only through the public IR API. */
#ifndef TESSEL_PASSES_H
#define TESSEL_PASSES_H

#include <stdbool.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

enum tsl_pass_id {
#define TSL_PASS(id, name, desc) TSL_PASS_##id,
#include "tessel/passes.def"
#undef TSL_PASS
    TSL_PASS_COUNT
};

/* Every pipeline starts with the canonicalization passes. */
#define TSL_PIPELINE_CANONICALIZE \
    "infer-shapes,remove-noops,fold-constants,fold-batchnorm,dce,infer-shapes"

struct tsl_pass_context;

/* Evaluate node n, whose non-NULL inputs are all constants, and return one
 * dense payload per output (malloc'ed, tsl_dtype_storage_bytes of the
 * output's static type, which the pass has inferred).  Return UNSUPPORTED
 * to leave the node alone.  Provided by the caller (tools/ plugs in the
 * reference backend); passes/ cannot depend on a backend. */
typedef enum tsl_status (*tsl_eval_node_fn)(void *user, const struct tsl_node *n,
                                            void **outputs_out, struct tsl_diag *diag);
/* Called after each pass that ran (for --print-after). */
typedef void (*tsl_after_pass_fn)(void *user, const char *pass, const struct tsl_graph *g);

struct tsl_pass_timing {
    const char *pass;
    double seconds;
};

struct tsl_pass_context {
    struct tsl_diag *diag;
    tsl_eval_node_fn eval_node; /* NULL: fold-constants folds nothing */
    void *eval_user;
    int64_t fold_max_bytes;     /* largest output fold-constants may create */
    bool verify_each;           /* run tsl_verify after every pass */
    tsl_after_pass_fn after_pass;
    void *after_pass_user;
    /* filled by the manager: one entry per pass run (owned, freed by fini) */
    struct tsl_pass_timing *timings;
    uint32_t n_timings, cap_timings;
    /* statistics a pass may bump (nodes removed/folded) */
    int64_t n_changed;
};

void tsl_pass_context_init(struct tsl_pass_context *ctx, struct tsl_diag *diag);
void tsl_pass_context_fini(struct tsl_pass_context *ctx);

/* Pass table access (for listing). */
const char *tsl_pass_name(enum tsl_pass_id id);
const char *tsl_pass_description(enum tsl_pass_id id);
bool tsl_pass_from_name(const char *name, enum tsl_pass_id *out);

/* Check a pipeline string ("a,b,c"; empty entries not allowed) without
 * running it: INVALID_ARG + diagnostic naming the unknown pass. */
enum tsl_status tsl_pass_check_pipeline(const char *pipeline, struct tsl_diag *diag);
/* Run a pipeline; stops at the first failing pass. */
enum tsl_status tsl_pass_run_pipeline(struct tsl_graph *g, const char *pipeline,
                                      struct tsl_pass_context *ctx);
/* Run one pass. */
enum tsl_status tsl_pass_run(struct tsl_graph *g, enum tsl_pass_id id,
                             struct tsl_pass_context *ctx);

/* The passes themselves (generated declarations). */
#define TSL_PASS(id, name, desc) \
    enum tsl_status tsl_pass_##id(struct tsl_graph *g, struct tsl_pass_context *ctx);
#include "tessel/passes.def"
#undef TSL_PASS

#endif
