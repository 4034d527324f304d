/* opq_dfq.h - data-free activation statistics for the OPQ pass (passes/
 * only), in the spirit of DFQ (Nagel et al. 2019): the per-channel mean and
 * variance of the input of every Conv layer are estimated from the graph's
 * own parameters (biases, per-channel affines, BatchNormalization, the
 * weights of the layers upstream) by propagating them forward through the
 * graph from an assumed model input; the pass weights each layer's errors
 * by the estimated E[x^2] and, after quantization, each such layer's bias
 * absorbs the mean of its output error, sum_j (W - What)_oj * E[x_j].
 * Nothing here reads graph inputs, evaluates a node or runs the model; the
 * estimates are a deterministic function of the constants.  It does not
 * choose bits or write codebooks (opq.c, opq_math.c).  docs/passes-opq.md
 * has the rules and the measurements. */
#ifndef TESSEL_PASSES_OPQ_DFQ_H
#define TESSEL_PASSES_OPQ_DFQ_H

#include <stdint.h>

#include "compress_common.h"
#include "tessel/passes.h"

/* Estimated input moments: mean[k] and var[k] (n_x[k] doubles each, owned)
 * for weight k of the tsl_cweights it was computed for, or NULL where no
 * estimate exists. */
struct tsl_opq_dfq {
    uint32_t n;
    double **mean;
    double **var;
    int64_t *n_x;
};

/* The assumptions of the estimate (docs/passes-opq.md): every channel of
 * the model input is zero-mean with variance TSL_OPQ_DFQ_INPUT_VAR; the
 * taps of one input channel in a Conv window (and an AveragePool window)
 * are correlated with TSL_OPQ_DFQ_TAP_CORR, different input channels with
 * TSL_OPQ_DFQ_CHANNEL_CORR. */
#define TSL_OPQ_DFQ_INPUT_VAR 1.0
#define TSL_OPQ_DFQ_TAP_CORR 0.5
#define TSL_OPQ_DFQ_CHANNEL_CORR 0.0

/* Estimate the per-channel mean and variance of input 0 of every Conv
 * layer of ws from the constants of g (g unchanged; call before any weight
 * is replaced).  Each channel of a value is carried as a function of one
 * Gaussian variable, sampled on a fixed grid; the rules, channel axis 1
 * throughout:
 *   Conv: a new Gaussian with E[y_o] = b_o + sum_jk W_ojk E[x_j] and
 *     Var[y_o] from the Var[x_j] with the correlations above (padding
 *     ignored); a Conv reading a graph input sees TSL_OPQ_DFQ_INPUT_VAR
 *     and zero mean, any other unknown input gives no estimate;
 *   Add/Sub/Mul/Div with a scalar or per-channel constant, and Add/Sub/Mul
 *     of two values of the same Gaussian (x * Clip(x + 3, 0, 6)): sample
 *     by sample, exact; Add/Sub/Mul of two values of different Gaussians:
 *     independent (moments combine), a new Gaussian; a divisor must be a
 *     constant;
 *   Clip (constant bounds), HardSigmoid, HardSwish, Sigmoid,
 *     BatchNormalization, Identity, and Relu / LeakyRelu on globally
 *     pooled values ([N, C, 1, ...]): the function applied to the samples
 *     (so E[f(z)] and Var[f(z)] include the spread of z); Relu on feature
 *     maps ends an estimate (measured: digits 16x lost 1.7 points with
 *     it); MaxPool: its input;
 *   AveragePool: mean kept, variance times the window's correlation
 *     factor; GlobalAveragePool: mean kept, variance 0 (the spread across
 *     samples is not modelled).
 * Anything else (Gemm, MatMul, Concat, reshapes, graph inputs elsewhere)
 * ends an estimate.  NOMEM / PARSE (undecodable constant) only. */
enum tsl_status tsl_opq_dfq_estimate(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                     struct tsl_opq_dfq *out, struct tsl_diag *diag);
void tsl_opq_dfq_fini(struct tsl_opq_dfq *d);

/* True when the Conv of cw takes a data-free bias correction: one use of
 * the weight, bias absent or a constant f32 [n_ch] vector. */
bool tsl_opq_dfq_correctable(const struct tsl_cweight *cw);

/* For every layer k with an estimate whose bias can take a correction (a
 * Conv whose weight has one use and whose bias is absent or a constant f32
 * [n_ch] vector) and a non-NULL w_orig[k] (NULL: leave layer k alone),
 * add d_o = sum_jk (W_orig - What)_ojk E[x_j] to its bias (created when
 * absent), What being the layer's current (quantized) weight and w_orig[k]
 * its original values.  Returns the number of corrected layers in
 * *n_corrected.  NOMEM / PARSE. */
enum tsl_status tsl_opq_dfq_correct(struct tsl_graph *g, const struct tsl_cweights *ws,
                                    const struct tsl_opq_dfq *d, const float *const *w_orig,
                                    uint32_t *n_corrected, struct tsl_diag *diag);

/* Data-free second-moment matrix of the input of layer k for GPTQ rounding
 * (opq_gptq.c): H = diag(Var[x]) + E[x] E[x]^T from the estimate of k
 * (n_x[k] x n_x[k] doubles, row-major, malloc'ed into *out; the caller
 * frees it).  The input channels are taken as independent, so the only
 * off-diagonal term is the mean's: error-compensating rounding against it
 * keeps each output row's mean error sum_j (W - What)_oj E[x_j] small
 * while it rounds.  *out is NULL when k has no estimate.  The caller
 * checks that the layer is an [out, in] matrix over those channels
 * (tsl_opq_gptq_fits).  NOMEM only. */
enum tsl_status tsl_opq_dfq_cov(const struct tsl_opq_dfq *d, uint32_t k, double **out);

#endif
