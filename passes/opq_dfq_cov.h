/* opq_dfq_cov.h - the cross-channel covariance algebra of the data-free
 * statistics (passes/ only): how a Conv maps the covariance of its input
 * channels to that of its output channels under the tap-correlation model
 * of opq_dfq.c, and the normalisation of a covariance into a correlation.
 * Pure functions of the arrays handed in: no graph, no data, no
 * allocation.  opq_dfq.c carries the correlations through the graph;
 * docs/passes-opq.md ("Data-free GPTQ") has the derivation and the
 * measurements. */
#ifndef TESSEL_PASSES_OPQ_DFQ_COV_H
#define TESSEL_PASSES_OPQ_DFQ_COV_H

#include <stdint.h>

/* Output covariance Sy (n_out x n_out, row-major, overwritten) of a Conv
 * with weight W [n_out, ipg, taps] (f32, row-major), `group` groups
 * (n_out = group * opg, input channels C_in = group * ipg), applied to an
 * input whose channel covariance at one position is Sx (C_in x C_in,
 * row-major).  Two taps of the window are correlated with rho in space:
 * Cov(x_j(p), x_j'(p')) = Sx[j][j'] * (p == p' ? 1 : rho), so
 *   Sy[o][o'] = sum_{j, j'} Sx[j][j'] * ((1 - rho) sum_k W[o][j][k] W[o'][j'][k]
 *                                       + rho * S[o][j] * S[o'][j']),
 * S[o][j] = sum_k W[o][j][k], the sums over the input channels of each
 * output's group.  With Sx diagonal the diagonal of Sy is the per-channel
 * variance rule of opq_dfq.c (channel correlation 0).  The bias does not
 * enter.  tmp needs ipg * opg doubles. */
void tsl_opq_conv_cov(const float *W, int64_t n_out, int64_t ipg, int64_t taps, int64_t group,
                      const double *Sx, double rho, double *Sy, double *tmp);

/* In place: S (n x n covariance, row-major) -> its correlation matrix
 * (diagonal 1; rows and columns of channels with no positive variance are
 * 0 off the diagonal; entries clamped to [-1, 1]). */
void tsl_opq_cov_to_corr(double *S, int64_t n);

#endif
