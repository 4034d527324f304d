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
    "infer-shapes,remove-noops,fold-constants,fold-batchnorm,fold-conv-affine,dce,infer-shapes"

struct tsl_pass_context;

/* Evaluate node n, whose non-NULL inputs are all constants, and return one
 * dense payload per output (malloc'ed, tsl_dtype_storage_bytes of the
 * output's static type, which the pass has inferred).  Return UNSUPPORTED
 * to leave the node alone.  Provided by the caller (tools/ plugs in the
 * reference backend); passes/ cannot depend on a backend. */
typedef enum tsl_status (*tsl_eval_node_fn)(void *user, const struct tsl_node *n,
                                            void **outputs_out, struct tsl_diag *diag);
/* Hook of a tsl_calib_run_fn: x is input 0 (`before` hook) or output 0
 * (`after` hook, which may modify it in place) of node n, as dense f32
 * data of static shape *shape, valid during the call only.  Returning
 * non-OK stops the run. */
typedef enum tsl_status (*tsl_calib_hook_fn)(void *user, const struct tsl_node *n, float *x,
                                             const struct tsl_shape *shape,
                                             struct tsl_diag *diag);
/* Run g (exactly one input; the graph is not modified) on the f32 batch
 * `input` of shape *shape, calling `before` before every node whose input 0
 * is f32 and `after` after every node whose output 0 is f32 (either may be
 * NULL).  Provided by the caller for `--calib` (tools/ plugs in the
 * reference backend's tsl_ref_calib_run); passes/ cannot depend on a
 * backend. */
typedef enum tsl_status (*tsl_calib_run_fn)(const struct tsl_graph *g, const float *input,
                                            const struct tsl_shape *shape,
                                            tsl_calib_hook_fn before, tsl_calib_hook_fn after,
                                            void *user, struct tsl_diag *diag);
/* Called after each pass that ran (for --print-after). */
typedef void (*tsl_after_pass_fn)(void *user, const char *pass, const struct tsl_graph *g);

/* Compression settings, read by the compression passes (prune, codebook,
 * opq).  Zero values mean "off". */
enum tsl_prune_kind {
    TSL_PRUNE_UNSTRUCTURED = 0,
    TSL_PRUNE_CHANNEL,   /* whole output channels */
    TSL_PRUNE_2_4,       /* 2 of every 4 consecutive weights along the input dim */
};
struct tsl_compress_options {
    double prune_sparsity;          /* --prune S, in [0,1) */
    enum tsl_prune_kind prune_kind;
    bool prune_per_layer;           /* per-layer thresholds instead of one global */
    bool keep_first_last;           /* leave the first and last weight layers alone (default on) */
    int codebook_bits;              /* --codebook BITS, 1..8 */
    bool codebook_kmeans;           /* k-means codebook instead of uniform */
    double opq_rate;                /* --opq RATE: target compression vs fp32 */
    const char *calib_path;         /* --calib FILE.npy: calibration batch for opq
                                       (activation-weighted allocation and bias
                                       correction, docs/passes-opq.md); NULL: the
                                       pass is data-free */
    enum tsl_index_coding index_coding; /* --index-coding: how the opq and
                                       codebook payloads store their indices
                                       (the rate counts the stored form) */
};

/* One compressed layer, as reported in --report JSON. */
struct tsl_layer_report {
    char *name;             /* the weight constant's name (owned) */
    char *op;               /* consuming op, e.g. "Conv" (owned) */
    int64_t n_weights;
    double sparsity;        /* fraction of weights pruned */
    int bits;               /* bits per kept weight index (32 if not quantized) */
    double step;            /* quantization step (0 if not uniform) */
    int64_t original_bits;  /* 32 * n_weights */
    int64_t stored_bits;    /* tsl_const_stored_bits of the new payload */
};

struct tsl_pass_timing {
    const char *pass;
    double seconds;
};

struct tsl_pass_context {
    struct tsl_diag *diag;
    tsl_eval_node_fn eval_node; /* NULL: fold-constants folds nothing */
    void *eval_user;
    tsl_calib_run_fn calib_run; /* runs the model for --calib; NULL: opq rejects --calib */
    int64_t fold_max_bytes;     /* largest output fold-constants may create */
    bool verify_each;           /* run tsl_verify after every pass */
    tsl_after_pass_fn after_pass;
    void *after_pass_user;
    /* filled by the manager: one entry per pass run (owned, freed by fini) */
    struct tsl_pass_timing *timings;
    uint32_t n_timings, cap_timings;
    /* statistics a pass may bump (nodes removed/folded) */
    int64_t n_changed;
    /* compression */
    struct tsl_compress_options compress;
    struct tsl_layer_report *layers; /* appended by compression passes (owned) */
    uint32_t n_layers, cap_layers;
};

/* Append (or update, matched by name) a layer record; strings are copied. */
enum tsl_status tsl_pass_report_layer(struct tsl_pass_context *ctx,
                                      const struct tsl_layer_report *r);

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
