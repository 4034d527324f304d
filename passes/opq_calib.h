/* opq_calib.h - the optional calibration side of the OPQ pass (passes/
 * only), used when `--calib FILE.npy` is given: activation statistics of
 * every compressible layer (per-channel input mean and variance, output
 * means, and E[x x^T] for GPTQ), collected by running the model once on the
 * calibration batch through ctx->calib_run; the per-weight importance they
 * give the allocation; and sequential bias correction of the quantized
 * model in a second run.  Without --calib nothing here is called and the
 * pass stays data-free.  docs/passes-opq.md has the rules and the
 * measurements. */
#ifndef TESSEL_PASSES_OPQ_CALIB_H
#define TESSEL_PASSES_OPQ_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "compress_common.h"
#include "tessel/passes.h"

/* Statistics of the input x (input 0) of one compressible layer, per channel
 * of x along its contraction axis (Conv/ConvTranspose: axis 1, Gemm: K,
 * MatMul: the last axis).  n_x == 0 when the layer was never observed or
 * its input does not match its weight (then it gets no calibration). */
struct tsl_opq_calib_layer {
    int64_t n_x;   /* channels of x */
    int64_t group; /* Conv group count (1 otherwise) */
    int64_t count; /* observations per channel (batch times other axes) */
    double *mean;  /* n_x: E[x_c] over the batch and every other axis (owned) */
    double *var;   /* n_x: Var[x_c] (owned) */
    int64_t n_y;   /* output channels observed (the weight's n_ch), 0: none */
    double *y_mean; /* n_ch: fp32 E[y_o] of the layer's output (owned) */
    double *cov;   /* n_x * n_x: E[x x^T] over sampled positions, for layers
                      whose weight is a plain [out, in] matrix (tsl_opq_gptq_fits),
                      else NULL (owned) */
};

/* True when layer cw's weight is an [out, in] matrix over x's channels (1x1
 * Conv with group 1, Gemm, MatMul with a rank-2 weight) small enough for
 * error-compensating quantization (in <= TSL_OPQ_GPTQ_MAX_IN: the GPTQ
 * factorization is O(in^3)).  E[x x^T] is kept for such layers in node
 * order until TSL_OPQ_COV_BUDGET bytes are used; later ones round to
 * nearest. */
#define TSL_OPQ_GPTQ_MAX_IN 1024
#define TSL_OPQ_COV_BUDGET ((int64_t)256 << 20)
bool tsl_opq_gptq_fits(const struct tsl_cweight *cw);

/* One entry per weight of the tsl_cweights it was collected for. */
struct tsl_opq_calib {
    uint32_t n;
    struct tsl_opq_calib_layer *layers; /* owned */
};

/* Read ctx->compress.calib_path (an f32 .npy batch in the layout of the
 * model's only input), run g once through ctx->calib_run and collect the
 * input and output statistics of every weight of ws from its consuming node
 * (the first one when shared).  The graph is not modified.  Errors (diagnostic names the
 * file or the model): unreadable or malformed file, not f32, wrong rank or
 * dims (from the runner), not exactly one model input, no runner, a
 * non-finite activation -> INVALID_ARG / PARSE / IO / UNSUPPORTED. */
enum tsl_status tsl_opq_calib_collect(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                      struct tsl_pass_context *ctx, struct tsl_opq_calib *out);
void tsl_opq_calib_fini(struct tsl_opq_calib *c);

/* Per-element importance of the weights of cw (numel floats, malloc'ed into
 * *out): the second moment of the input channel the element multiplies,
 * Var[x_c] when `centered` (the layer's bias is corrected, so only the
 * fluctuating part of x carries the error) else E[x_c^2].  NOMEM only. */
enum tsl_status tsl_opq_calib_importance(const struct tsl_cweight *cw,
                                         const struct tsl_opq_calib_layer *cl, bool centered,
                                         float **out);

/* True when tsl_opq_bias_correct can correct the layer of cw (input and
 * output statistics present; Conv, Gemm with beta != 0 and a C that is
 * absent or a constant broadcast along rows, or MatMul with a rank-2
 * weight; not ConvTranspose; the weight has one consumer). */
bool tsl_opq_bias_correctable(const struct tsl_cweight *cw, const struct tsl_opq_calib_layer *cl);

/* Sequential bias correction of the (already quantized) layers k with
 * marked[k]: runs g once on the calibration batch; right after each marked
 * layer runs, its output is shifted per channel by d[o] = E_fp[y_o] -
 * E_q[y_o] (the fp32 means in cal, the quantized model's means on the same
 * batch), so every later layer sees the corrected activations, and d is
 * added to the layer's bias afterwards.  This is empirical bias correction
 * with the mean error accumulated upstream included.  The bias is written
 * as a new constant (Conv input 2 / Gemm C scaled by 1/beta, created when
 * absent; for MatMul an Add node inserted after it); an old bias constant
 * left without uses is erased and its name reused.  Errors as
 * tsl_opq_calib_collect, NOMEM. */
enum tsl_status tsl_opq_bias_correct(struct tsl_graph *g, const struct tsl_cweights *ws,
                                     const struct tsl_opq_calib *cal, const bool *marked,
                                     struct tsl_pass_context *ctx);

/* Add d[o] (n_ch values) to the bias of layer cw where tsl_opq_bias_correct
 * would put its correction (Conv input 2, Gemm C scaled by 1/beta, created
 * when absent; for MatMul a new Add node after it).  The caller checks that
 * the layer qualifies (tsl_opq_bias_correctable's structural conditions).
 * Used by the data-free correction (opq_dfq.c) too.  NOMEM / PARSE. */
enum tsl_status tsl_opq_bias_add(struct tsl_graph *g, const struct tsl_cweight *cw,
                                 const double *d, struct tsl_diag *diag);

#endif
