/* compress_common.h - building blocks shared by the weight-compression passes
 * (prune, codebook, opq) and the packed container (passes/ only).
 *
 * What is here:
 *   - finding the compressible weights: the f32 constant weight (input 1) of
 *     Conv, ConvTranspose, Gemm and MatMul, with its output-channel axis and
 *     input (reduction) axis, and whether it belongs to the first or the last
 *     compressible layer in node order;
 *   - loading a weight as f32 values plus its current keep-mask, whatever its
 *     encoding, and replacing its payload (same name, same type);
 *   - magnitude masks with an exact count (quickselect, deterministic ties);
 *   - per-channel normalization scales;
 *   - uniform sign-magnitude codebooks and 1-D k-means (Lloyd) codebooks with
 *     a fixed initialization and a fixed number of iterations;
 *   - bit packing (LSB first, the IR's layout for indices and masks).
 * What is not here: choosing sparsities or bit widths (the passes do), the
 * container format (packed.h).  Nothing here prints; errors go to the diag.
 *
 * Typical use in a pass:
 *     struct tsl_cweights ws;
 *     TSL_TRY(tsl_cw_find(g, &ws, ctx->diag));
 *     for (uint32_t i = 0; i < ws.n; i++) {
 *         if (tsl_cw_skip(&ws.w[i], &ctx->compress)) continue;
 *         float *w; uint8_t *mask;
 *         tsl_cw_load(&ws.w[i], &w, &mask, ctx->diag);
 *         ... build a struct tsl_const *c ...
 *         tsl_cw_replace(g, &ws.w[i], c, ctx->diag);   // takes c
 *     }
 *     tsl_cw_fini(&ws); */
#ifndef TESSEL_PASSES_COMPRESS_COMMON_H
#define TESSEL_PASSES_COMPRESS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "tessel/passes.h"

/* One compressible weight.  Element i of the row-major weight lies in output
 * channel (i / inner) % n_ch; along the input axis its coordinate is
 * (i / in_stride) % in_dim. */
struct tsl_cweight {
    struct tsl_value *value; /* the f32 constant (updated by tsl_cw_replace) */
    struct tsl_node *node;   /* its first consumer (the layer) */
    int32_t ch_axis;         /* output-channel axis: Conv 0, ConvTranspose 1,
                                Gemm transB ? 0 : 1, MatMul rank-1 */
    int32_t in_axis;         /* input axis: Conv 1, ConvTranspose 0,
                                Gemm transB ? 1 : 0, MatMul rank-2 */
    int64_t numel;
    int64_t n_ch, inner;     /* channel layout (see above) */
    int64_t in_dim, in_stride;
    bool first, last;        /* first / last compressible layer in node order */
};

struct tsl_cweights {
    struct tsl_cweight *w; /* malloc'ed, in node order */
    uint32_t n;
};

/* Collect the compressible weights of g: input 1 of Conv (rank >= 3),
 * ConvTranspose (rank >= 3), Gemm (rank 2) and MatMul (rank >= 2) when it is
 * an f32 constant with a static shape and every use of it is the weight input
 * of such a layer with the same channel axis.  A weight appears once even if
 * shared.  ws is empty (n == 0) when there are none.  NOMEM only. */
enum tsl_status tsl_cw_find(struct tsl_graph *g, struct tsl_cweights *ws, struct tsl_diag *diag);
void tsl_cw_fini(struct tsl_cweights *ws);

/* True when the options say to leave w alone (keep_first_last and w is the
 * first or last layer). */
bool tsl_cw_skip(const struct tsl_cweight *w, const struct tsl_compress_options *o);

/* Number of weights in ws that tsl_cw_skip does not skip. */
uint32_t tsl_cw_count_active(const struct tsl_cweights *ws, const struct tsl_compress_options *o);

/* The error a compression pass reports when nothing is left to compress
 * (INVALID_ARG naming the pass; mentions --no-keep-first-last when layers
 * were skipped). */
enum tsl_status tsl_cw_none_error(const struct tsl_cweights *ws, const char *pass,
                                  struct tsl_diag *diag);

/* Append a layer report (bits 32, step 0, stored bits of the current
 * payload, sparsity of its current mask) for every weight of ws that
 * tsl_cw_skip skips and that has no report yet, so that reports list every
 * compressible weight.  NOMEM only. */
enum tsl_status tsl_cw_report_skipped(const struct tsl_cweights *ws, struct tsl_pass_context *ctx);

/* Decode w into *vals_out (numel f32, malloc'ed) and its keep-mask into
 * *mask_out (ceil(numel/8) bytes, bit set = kept; malloc'ed) when the payload
 * has one (MASKED, or CODEBOOK with a mask), else *mask_out = NULL.  Pruned
 * entries read as 0.  PARSE/NOMEM with a diagnostic naming the weight. */
enum tsl_status tsl_cw_load(const struct tsl_cweight *w, float **vals_out, uint8_t **mask_out,
                            struct tsl_diag *diag);

/* Give w->value's name, type and uses to a new constant with payload c
 * (taken on success and on failure), erase the old constant and point
 * w->value at the new one. */
enum tsl_status tsl_cw_replace(struct tsl_graph *g, struct tsl_cweight *w, struct tsl_const *c,
                               struct tsl_diag *diag);

/* A MASKED payload from values and a keep-mask (both copied; entries not
 * kept are stored as +0).  NULL on OOM. */
struct tsl_const *tsl_cw_masked_const(const float *vals, const uint8_t *mask, int64_t numel);

/* Output channel of element i / coordinate along the input axis. */
static inline int64_t tsl_cw_channel(const struct tsl_cweight *w, int64_t i)
{
    return (i / w->inner) % w->n_ch;
}

/* ---- masks and magnitudes ---- */

static inline bool tsl_bit_get(const uint8_t *bits, int64_t i)
{
    return (bits[i / 8] >> (i % 8)) & 1;
}
static inline void tsl_bit_put(uint8_t *bits, int64_t i, bool v)
{
    if (v)
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}
/* Bytes of a bitset of n bits. */
static inline int64_t tsl_bitset_bytes(int64_t n)
{
    return n / 8 + (n % 8 != 0);
}

/* Magnitude used for ranking: |x|, with NaN ranked as +inf (never pruned
 * first). */
float tsl_cw_magnitude(float x);

/* The k-th smallest (0-based, 0 <= k < n) of a[0..n), by quickselect with a
 * median-of-three pivot; reorders a.  Deterministic. */
float tsl_cw_kth_smallest(float *a, int64_t n, int64_t k);

/* ---- normalization and codebooks ---- */

/* Per-channel scale s[c] = max |w| over the kept entries of channel c (mask
 * NULL = all kept); a channel with no non-zero kept entry gets 1.  Dividing by
 * it maps every kept weight into [-1, 1]. */
void tsl_cw_channel_max_scales(const struct tsl_cweight *w, const float *vals,
                               const uint8_t *mask, float *scales);

/* The uniform sign-magnitude codebook of `bits` bits (1..8): 2^bits codes,
 * ascending: -K*step, ..., -step, step, ..., K*step with K = 2^(bits-1).  No
 * zero code (pruned weights are masked, not coded).  codes has 2^bits room. */
void tsl_cw_uniform_codebook(int bits, double step, float *codes);

/* The uniform mid-tread codebook of `bits` bits (2..8) for weights that are
 * NOT masked: 2^bits codes, ascending, -(K-1)*step .. (K-1)*step with
 * K = 2^(bits-1) and step = 1/(K-1), so 0 is a code (without it every
 * near-zero weight would move to +-step); the last code repeats (K-1)*step.
 * Returns the step. */
double tsl_cw_midtread_codebook(int bits, float *codes);

/* Index of the code nearest to x in ascending codes[0..n) (ties: lower). */
uint32_t tsl_cw_nearest(const float *codes, uint32_t n, float x);

/* 1-D k-means (Lloyd) of x[0..nx) into n codes, refining the ascending codes
 * given in `codes` (the initialization, e.g. the uniform codebook) for
 * `iters` iterations; an empty cluster keeps its code.  Codes stay
 * ascending.  NOMEM only. */
enum tsl_status tsl_cw_kmeans(const float *x, int64_t nx, float *codes, uint32_t n, int iters);

/* ---- bit packing (LSB first; value i occupies bits [i*bits, (i+1)*bits)) ---- */

void tsl_bits_write(uint8_t *p, int64_t i, unsigned bits, uint32_t v);
uint32_t tsl_bits_read(const uint8_t *p, int64_t i, unsigned bits);

#endif
