/* opq_gptq.h - error-compensating rounding of an allocated OPQ layer from
 * its input's second moments (passes/ only; used with --calib).  The
 * derivation and measured effect are in docs/passes-opq.md. */
#ifndef TESSEL_PASSES_OPQ_GPTQ_H
#define TESSEL_PASSES_OPQ_GPTQ_H

#include "compress_common.h"
#include "opq_math.h"

/* Quantize layer L (its allocated B, clip, channel scales and keep-mask;
 * L->w the original weights) column by column over the input channels,
 * compensating each column's rounding error in the columns not yet
 * quantized (GPTQ), with cov = E[x x^T] (in_dim x in_dim) of the layer's
 * input.  Writes numel on-grid values (pruned entries 0) to out, in the
 * weight's layout.  cw must satisfy tsl_opq_gptq_fits.  When cov is not
 * positive definite even after damping, falls back to plain rounding.
 * NOMEM only. */
enum tsl_status tsl_opq_gptq(const struct tsl_cweight *cw, const struct tsl_opq_layer *L,
                             const double *cov, float *out);

#endif
