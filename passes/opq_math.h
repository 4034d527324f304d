/* opq_math.h - the numeric core of the OPQ pass (passes/ only): Laplace fit,
 * the global pruning threshold from the Lagrange condition, per-layer
 * distortion tables of the shared-codebook quantizer, and the Lagrangian bit
 * allocation that hits a bit budget.  Everything here is a pure function of
 * the weights handed in; nothing touches a graph, reads data or allocates
 * beyond what the caller frees with tsl_opq_layer_fini.  docs/passes-opq.md
 * derives the math. */
#ifndef TESSEL_PASSES_OPQ_MATH_H
#define TESSEL_PASSES_OPQ_MATH_H

#include <stdbool.h>
#include <stdint.h>

#define TSL_OPQ_MAX_BITS 8

/* One compressible weight tensor.  Element i belongs to output channel
 * (i / inner) % n_ch. */
struct tsl_opq_layer {
    /* input (caller-owned w) */
    const float *w;
    int64_t n, n_ch, inner;
    const float *xw;     /* n per-element importances (caller-owned), or NULL
                            for 1: D counts xw_i * (w_i - q_i)^2 (--calib) */
    bool fixed;          /* kept layer: never pruned (and B >= min_B) */
    int min_B;           /* least bits the allocation may give (< 1: 1) */
    bool huffman;        /* indices are Huffman-coded (TSL_CODING_HUFFMAN):
                            bits[B] is the coded size at clip 1 */
    /* derived once (owned) */
    double laplace_b;    /* ML Laplace scale: mean |w| */
    float *scale;        /* n_ch channel scales s_c = max |w| over channel c */
    float *a;            /* n: normalized magnitude |w| / s_c in [0, 1] */
    float *abs_sorted;   /* n: |w| ascending (for exact quantile thresholds) */
    uint8_t *keep;       /* ceil(n/8): keep-mask at prune_thr (bit set = kept) */
    double weight;       /* distortion weight of this layer in the objective */
    /* per pruning target (tsl_opq_tables) */
    double prune_thr;    /* |w| < prune_thr is pruned (0: none) */
    bool masked;         /* prune_thr prunes something: a mask is stored and
                            the codebook is sign-magnitude (no zero code) */
    int64_t mask_bits;   /* coded size of the mask (tsl_mask_coding), 0 if none */
    int64_t kept;        /* entries kept (n when not masked) */
    double D[TSL_OPQ_MAX_BITS + 1];     /* absolute squared error at B bits
                                           (importance-weighted with xw) */
    double clip[TSL_OPQ_MAX_BITS + 1];  /* clip (normalized units) at B bits: the
                                           best one, or 1 when huffman */
    int64_t bits[TSL_OPQ_MAX_BITS + 1]; /* stored bits of the payload at B bits */
    /* allocation */
    int B;
};

/* Fill the derived fields (scales, normalized magnitudes, sorted |w|,
 * Laplace b).  False on out-of-memory. */
bool tsl_opq_layer_prepare(struct tsl_opq_layer *L);
void tsl_opq_layer_fini(struct tsl_opq_layer *L);

/* Codes of the B-bit quantizer.  Unmasked (midtread): B = 1 is {-c, +c};
 * B >= 2 is the symmetric grid k*c/K, k = -K..K, K = 2^(B-1) - 1 (zero
 * included, one index spare).  Masked (sign-magnitude, pruned entries are
 * not coded so no zero code): +-k*c/K, k = 1..K, K = 2^(B-1), all 2^B
 * indices used (tsl_cw_uniform_codebook's layout, ascending). */
uint32_t tsl_opq_n_codes(int B, bool masked);
int64_t tsl_opq_levels(int B, bool masked); /* K (0 for unmasked B = 1) */
/* Stored bits of a B-bit payload with `kept` coded entries: packed indices
 * of the kept entries, codebook, channel scales and mask_bits of sparsity
 * pattern (exactly what tsl_const_stored_bits counts for it). */
int64_t tsl_opq_payload_bits(int64_t kept, int64_t n_ch, int B, bool masked, int64_t mask_bits);
/* The same with Huffman-coded indices whose code lengths come from the
 * counts of the kept entries on each code (tsl_codebook_huffman_bits). */
int64_t tsl_opq_payload_bits_huffman(const uint64_t *counts, int64_t n_ch, int B, bool masked,
                                     int64_t mask_bits);

/* Global magnitude threshold t with sum_i N_i (1 - exp(-t / b_i)) = P sum N_i
 * over the non-fixed layers (Laplace model; bisection).  0 when P <= 0. */
double tsl_opq_laplace_threshold(const struct tsl_opq_layer *layers, uint32_t n, double P);
/* Predicted pruned fraction of a layer at threshold t: 1 - exp(-t / b). */
double tsl_opq_laplace_pruned(double b, double t);
/* Empirical threshold of layer L pruning fraction p of its weights (exact
 * quantile of |w|). */
double tsl_opq_quantile_threshold(const struct tsl_opq_layer *L, double p);

/* Fill L->keep, L->masked, L->kept, L->mask_bits and L->D, L->clip, L->bits
 * for B = 1..8 with pruning at L->prune_thr (pruned entries cost their
 * squared value and no index bits). */
void tsl_opq_tables(struct tsl_opq_layer *L);

/* Quantize one normalized magnitude-with-sign value x (= w / s_c) at B bits
 * and clip c: returns the code index in 0..n_codes-1. */
uint32_t tsl_opq_quantize(double x, int B, double clip, bool masked);
/* Value of code idx (normalized units). */
double tsl_opq_code_value(uint32_t idx, int B, double clip, bool masked);

/* Choose L->B for every layer minimizing sum weight_i * D_i(B_i) with
 * sum bits_i(B_i) <= budget: bisection on the Lagrange multiplier, then a
 * greedy fill of the remaining slack.  Layer i gets at least
 * max(1, min_B) bits.  False when even the smallest allocation exceeds the
 * budget (*min_bits_out says how small it gets). */
bool tsl_opq_allocate(struct tsl_opq_layer *layers, uint32_t n, int64_t budget,
                      int64_t *min_bits_out);
/* sum weight_i * D_i(B_i) and sum bits_i(B_i) of the current allocation. */
double tsl_opq_total_distortion(const struct tsl_opq_layer *layers, uint32_t n);
int64_t tsl_opq_total_bits(const struct tsl_opq_layer *layers, uint32_t n);

#endif
