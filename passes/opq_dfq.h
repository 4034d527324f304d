/* opq_dfq.h - data-free bias correction for the OPQ pass (passes/ only), in
 * the spirit of DFQ (Nagel et al. 2019): the per-channel mean of the input
 * of every Conv layer is estimated from the graph's own parameters (biases,
 * per-channel affines, BatchNormalization, the weights of the layers
 * upstream) by propagating point estimates of channel means forward through
 * the graph, and after quantization each such layer's bias absorbs the mean
 * of its output error, sum_j (W - What)_oj * E[x_j].  Nothing here reads
 * graph inputs, evaluates a node or runs the model; the estimates are a
 * deterministic function of the constants.  It does not choose bits or
 * write codebooks (opq.c, opq_math.c).  docs/passes-opq.md has the rule and
 * the measurements. */
#ifndef TESSEL_PASSES_OPQ_DFQ_H
#define TESSEL_PASSES_OPQ_DFQ_H

#include <stdint.h>

#include "compress_common.h"
#include "tessel/passes.h"

/* Estimated input means: mean[k] (n_x[k] doubles, owned) for weight k of the
 * tsl_cweights it was computed for, or NULL where no estimate exists. */
struct tsl_opq_dfq {
    uint32_t n;
    double **mean;
    int64_t *n_x;
};

/* Estimate the per-channel mean of input 0 of every Conv layer of ws from
 * the constants of g (g unchanged; call before any weight is replaced).
 * The rules, channel axis 1 throughout:
 *   Conv: E[y_o] = b_o + sum over its input channels j and taps k of
 *     W_ojk * E[x_j] (padding ignored); a Conv reading a graph input gets
 *     b_o alone (zero-mean input), any other unknown input no estimate;
 *   Add/Sub/Mul/Div with a scalar or per-channel constant, Add/Sub of two
 *     estimated values: exact; Mul of two estimated values: the product of
 *     the means (independence);
 *   Clip (constant bounds), HardSigmoid, HardSwish, Sigmoid, and Relu /
 *     LeakyRelu on globally pooled values ([N, C, 1, ...]): the function
 *     of the mean (no spread: the weights do not record it once
 *     BatchNormalization is folded); Relu on feature maps ends an
 *     estimate (measured: cls 8x lost 15 points with it);
 *   BatchNormalization: its affine of the mean; Identity, pools: the mean.
 * Anything else (Gemm, MatMul, Concat, reshapes, graph inputs elsewhere)
 * ends an estimate.  NOMEM / PARSE (undecodable constant) only. */
enum tsl_status tsl_opq_dfq_estimate(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                     struct tsl_opq_dfq *out, struct tsl_diag *diag);
void tsl_opq_dfq_fini(struct tsl_opq_dfq *d);

/* For every layer k with an estimate whose bias can take a correction (a
 * Conv whose weight has one use and whose bias is absent or a constant f32
 * [n_ch] vector), add d_o = sum (W_orig - What)_ojk * E[x_j] to its bias
 * (created when absent), What being the layer's current (quantized) weight
 * and w_orig[k] its original values.  Returns the number of corrected layers
 * in *n_corrected.  NOMEM / PARSE. */
enum tsl_status tsl_opq_dfq_correct(struct tsl_graph *g, const struct tsl_cweights *ws,
                                    const struct tsl_opq_dfq *d, const float *const *w_orig,
                                    uint32_t *n_corrected, struct tsl_diag *diag);

#endif
