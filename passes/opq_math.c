/* opq_math.c - the numeric core of the OPQ pass: Laplace fit and global
 * pruning threshold, distortion tables of the one-codebook-per-layer
 * quantizer over channel-normalized weights, and the Lagrangian bit
 * allocation.  Pure functions of the weights; no graph, no data, no
 * printing.  The graph side (which tensors, payload writing, reports) is in
 * opq.c; the derivation is in docs/passes-opq.md. */
#include "opq_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/ir.h"

/* Clip fractions (of the channel maximum, i.e. normalized units) tried for
 * every B >= 2; the one with the least squared error wins. */
static const double clip_candidates[] = {1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7,
                                         0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3};

/* With Huffman-coded indices the clip is 1 (the channel maximum): a wide
 * grid costs little there (the outer codes are rare, so short), and
 * clipping the largest weights of a row gives them same-signed errors that
 * a mean-dominated input adds up into an output offset (docs/passes-opq.md).
 * Measured on rec 8x, validation lines val / val2 / bold, with every clip
 * of clip_candidates at or above a floor as an option of its own: floor
 * 0.9 4.28 / 4.89 / 4.25% CER, 0.95 2.91 / 3.08 / 2.83%, 1.0 3.21 / 2.54 /
 * 2.65%. */
static const double huffman_clip = 1.0;

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

bool tsl_opq_layer_prepare(struct tsl_opq_layer *L)
{
    L->scale = calloc((size_t)L->n_ch, sizeof *L->scale);
    L->a = malloc((size_t)L->n * sizeof *L->a);
    L->abs_sorted = malloc((size_t)L->n * sizeof *L->abs_sorted);
    L->keep = malloc((size_t)(L->n / 8 + 1));
    if (!L->scale || !L->a || !L->abs_sorted || !L->keep)
        return false;
    double sum = 0;
    for (int64_t i = 0; i < L->n; i++) {
        float m = fabsf(L->w[i]);
        int64_t c = (i / L->inner) % L->n_ch;
        if (m > L->scale[c])
            L->scale[c] = m;
        L->abs_sorted[i] = m;
        sum += m;
    }
    for (int64_t i = 0; i < L->n; i++) {
        float s = L->scale[(i / L->inner) % L->n_ch];
        L->a[i] = s > 0 ? fabsf(L->w[i]) / s : 0.0f;
    }
    qsort(L->abs_sorted, (size_t)L->n, sizeof *L->abs_sorted, cmp_float);
    L->laplace_b = L->n ? sum / (double)L->n : 0;
    return true;
}

void tsl_opq_layer_fini(struct tsl_opq_layer *L)
{
    free(L->scale);
    free(L->a);
    free(L->abs_sorted);
    free(L->keep);
    L->scale = L->a = L->abs_sorted = NULL;
    L->keep = NULL;
}

int64_t tsl_opq_levels(int B, bool masked)
{
    if (masked)
        return (int64_t)1 << (B - 1);
    return B <= 1 ? 0 : ((int64_t)1 << (B - 1)) - 1;
}

uint32_t tsl_opq_n_codes(int B, bool masked)
{
    if (masked)
        return 1u << B;
    return B <= 1 ? 2u : (uint32_t)(2 * tsl_opq_levels(B, false) + 1);
}

int64_t tsl_opq_payload_bits(int64_t kept, int64_t n_ch, int B, bool masked, int64_t mask_bits)
{
    return (kept * B + 7) / 8 * 8 + (int64_t)tsl_opq_n_codes(B, masked) * 32 + n_ch * 32 +
           (masked ? mask_bits : 0);
}

int64_t tsl_opq_payload_bits_huffman(const uint64_t *counts, int64_t n_ch, int B, bool masked,
                                     int64_t mask_bits)
{
    uint32_t n_codes = tsl_opq_n_codes(B, masked);
    return tsl_codebook_huffman_bits(counts, n_codes) + (int64_t)n_codes * 32 + n_ch * 32 +
           (masked ? mask_bits : 0);
}

double tsl_opq_laplace_pruned(double b, double t)
{
    if (t <= 0)
        return 0;
    if (b <= 0)
        return 1;
    return 1 - exp(-t / b);
}

double tsl_opq_laplace_threshold(const struct tsl_opq_layer *layers, uint32_t n, double P)
{
    if (P <= 0)
        return 0;
    if (P > 0.999)
        P = 0.999;
    double total = 0, bmax = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!layers[i].fixed) {
            total += (double)layers[i].n;
            if (layers[i].laplace_b > bmax)
                bmax = layers[i].laplace_b;
        }
    if (total <= 0 || bmax <= 0)
        return 0;
    double lo = 0, hi = bmax;
    for (int it = 0; it < 200; it++) { /* grow until the target is bracketed */
        double f = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!layers[i].fixed)
                f += (double)layers[i].n * tsl_opq_laplace_pruned(layers[i].laplace_b, hi);
        if (f >= P * total)
            break;
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi), f = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!layers[i].fixed)
                f += (double)layers[i].n * tsl_opq_laplace_pruned(layers[i].laplace_b, mid);
        if (f < P * total)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

double tsl_opq_quantile_threshold(const struct tsl_opq_layer *L, double p)
{
    if (p <= 0 || L->n == 0)
        return 0;
    int64_t k = (int64_t)floor(p * (double)L->n + 0.5);
    if (k <= 0)
        return 0;
    if (k >= L->n)
        return INFINITY;
    return L->abs_sorted[k];
}

/* Index of level m (>= 1 when masked) with the given sign on a B >= 2 grid
 * of K levels: unmasked codes -K..K at indices 0..2K, masked codes -K..-1,
 * 1..K at indices 0..2K-1. */
static uint32_t code_index(bool negative, int64_t m, int64_t K, bool masked)
{
    return (uint32_t)(negative ? K - m : K - (masked ? 1 : 0) + m);
}

uint32_t tsl_opq_quantize(double x, int B, double clip, bool masked)
{
    if (B <= 1)
        return x >= 0 ? 1u : 0u;
    int64_t K = tsl_opq_levels(B, masked);
    double step = clip / (double)K, m = step > 0 ? floor(fabs(x) / step + 0.5) : 0;
    if (m > (double)K)
        m = (double)K;
    if (masked && m < 1)
        m = 1;
    return code_index(x < 0, (int64_t)m, K, masked);
}

double tsl_opq_code_value(uint32_t idx, int B, double clip, bool masked)
{
    if (B <= 1)
        return idx ? clip : -clip;
    int64_t K = tsl_opq_levels(B, masked), k = (int64_t)idx;
    if (masked)
        return (double)(k < K ? k - K : k - K + 1) * (clip / (double)K);
    return (double)(k - K) * (clip / (double)K);
}

/* Squared error (absolute units) of the B-bit grid with clip c, pruning
 * below L->prune_thr; with counts (2^B entries, zeroed by the caller) also
 * the number of kept entries on each code. */
static double grid_error(const struct tsl_opq_layer *L, int B, double c, uint64_t *counts)
{
    int64_t K = tsl_opq_levels(B, L->masked);
    double lo = L->masked ? 1.0 : 0.0;
    double step = c / (double)K, inv = 1.0 / step, err = 0;
    int64_t per = L->n_ch * L->inner, outer = per ? L->n / per : 0, i = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < L->n_ch; ch++) {
            double s = L->scale[ch], s2 = s * s, e = 0;
            for (int64_t k = 0; k < L->inner; k++, i++) {
                double a = L->a[i], xw = L->xw ? L->xw[i] : 1.0;
                if ((double)fabsf(L->w[i]) < L->prune_thr) {
                    e += xw * a * a;
                    continue;
                }
                double m = floor(a * inv + 0.5);
                if (m > (double)K)
                    m = (double)K;
                if (m < lo)
                    m = lo;
                double d = a - m * step;
                e += xw * d * d;
                if (counts)
                    counts[code_index(L->w[i] < 0, (int64_t)m, K, L->masked)]++;
            }
            err += s2 * e;
        }
    return err;
}

/* The keep-mask at L->prune_thr and its coded size. */
static void build_mask(struct tsl_opq_layer *L)
{
    memset(L->keep, 0, (size_t)(L->n / 8 + 1));
    int64_t kept = 0;
    for (int64_t i = 0; i < L->n; i++)
        if (!((double)fabsf(L->w[i]) < L->prune_thr)) {
            L->keep[i / 8] |= (uint8_t)(1u << (i % 8));
            kept++;
        }
    L->kept = kept;
    L->masked = kept < L->n;
    L->mask_bits = 0;
    if (L->masked) {
        struct tsl_mask_coding mc;
        tsl_mask_coding(L->keep, L->n, &mc);
        L->mask_bits = mc.bytes * 8;
    }
}

void tsl_opq_tables(struct tsl_opq_layer *L)
{
    build_mask(L);
    /* B = 1: {-c, +c} on the kept entries; the optimal c is the
     * s^2-weighted mean of their normalized magnitudes.  Pruned entries cost
     * their square. */
    double sw = 0, swa = 0;
    int64_t per = L->n_ch * L->inner, outer = per ? L->n / per : 0, i = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < L->n_ch; ch++) {
            double s2 = (double)L->scale[ch] * L->scale[ch];
            for (int64_t k = 0; k < L->inner; k++, i++) {
                if ((double)fabsf(L->w[i]) < L->prune_thr)
                    continue;
                double xw = L->xw ? L->xw[i] : 1.0;
                sw += s2 * xw;
                swa += s2 * xw * L->a[i];
            }
        }
    double c1 = sw > 0 ? swa / sw : 1, e1 = 0;
    i = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < L->n_ch; ch++) {
            double s2 = (double)L->scale[ch] * L->scale[ch];
            for (int64_t k = 0; k < L->inner; k++, i++) {
                double d = (double)fabsf(L->w[i]) < L->prune_thr ? L->a[i] : L->a[i] - c1;
                e1 += s2 * (L->xw ? L->xw[i] : 1.0) * d * d;
            }
        }
    L->D[1] = e1;
    L->clip[1] = c1 > 0 ? c1 : 1;
    L->bits[1] = tsl_opq_payload_bits(L->kept, L->n_ch, 1, L->masked, L->mask_bits);
    for (int B = 2; B <= TSL_OPQ_MAX_BITS; B++) {
        if (L->huffman) {
            uint64_t counts[1u << TSL_OPQ_MAX_BITS] = {0};
            L->D[B] = grid_error(L, B, huffman_clip, counts);
            L->clip[B] = huffman_clip;
            L->bits[B] = tsl_opq_payload_bits_huffman(counts, L->n_ch, B, L->masked, L->mask_bits);
            continue;
        }
        double best = INFINITY, best_c = 1;
        for (size_t k = 0; k < sizeof clip_candidates / sizeof *clip_candidates; k++) {
            double e = grid_error(L, B, clip_candidates[k], NULL);
            if (e < best) {
                best = e;
                best_c = clip_candidates[k];
            }
        }
        L->D[B] = best;
        L->clip[B] = best_c;
        L->bits[B] = tsl_opq_payload_bits(L->kept, L->n_ch, B, L->masked, L->mask_bits);
    }
    L->D[0] = L->D[1];
    L->clip[0] = L->clip[1];
    L->bits[0] = L->bits[1];
}

static int min_bits_of(const struct tsl_opq_layer *L)
{
    return L->min_B < 1 ? 1 : L->min_B > TSL_OPQ_MAX_BITS ? TSL_OPQ_MAX_BITS : L->min_B;
}

/* B minimizing weight*D + lambda*bits (ties: more bits). */
static int choose_bits(const struct tsl_opq_layer *L, double lambda)
{
    int best = TSL_OPQ_MAX_BITS;
    double best_cost = INFINITY;
    for (int B = TSL_OPQ_MAX_BITS; B >= min_bits_of(L); B--) {
        double cost = L->weight * L->D[B] + lambda * (double)L->bits[B];
        if (cost < best_cost) {
            best_cost = cost;
            best = B;
        }
    }
    return best;
}

static int64_t bits_at(struct tsl_opq_layer *layers, uint32_t n, double lambda)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        layers[i].B = choose_bits(&layers[i], lambda);
        total += layers[i].bits[layers[i].B];
    }
    return total;
}

int64_t tsl_opq_total_bits(const struct tsl_opq_layer *layers, uint32_t n)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += layers[i].bits[layers[i].B];
    return total;
}

double tsl_opq_total_distortion(const struct tsl_opq_layer *layers, uint32_t n)
{
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += layers[i].weight * layers[i].D[layers[i].B];
    return total;
}

bool tsl_opq_allocate(struct tsl_opq_layer *layers, uint32_t n, int64_t budget,
                      int64_t *min_bits_out)
{
    int64_t min_bits = 0;
    for (uint32_t i = 0; i < n; i++)
        min_bits += layers[i].bits[min_bits_of(&layers[i])];
    *min_bits_out = min_bits;
    if (min_bits > budget)
        return false;
    if (bits_at(layers, n, 0) <= budget)
        return true; /* everything at 8 bits already fits */
    double lo = 0, hi = 1e-30;
    for (int it = 0; it < 400 && bits_at(layers, n, hi) > budget; it++) {
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi)
            break;
        if (bits_at(layers, n, mid) > budget)
            lo = mid;
        else
            hi = mid;
    }
    int64_t used = bits_at(layers, n, hi);
    if (used > budget) { /* cannot happen past the min_bits check; stay safe */
        for (uint32_t i = 0; i < n; i++)
            layers[i].B = min_bits_of(&layers[i]);
        used = min_bits;
    }
    /* Greedy fill of the slack the discrete choice left: best distortion
     * drop per extra bit first. */
    for (;;) {
        double best_gain = 0;
        uint32_t best_i = n;
        int best_B = 0;
        for (uint32_t i = 0; i < n; i++) {
            struct tsl_opq_layer *L = &layers[i];
            for (int B = L->B + 1; B <= TSL_OPQ_MAX_BITS; B++) {
                int64_t extra = L->bits[B] - L->bits[L->B];
                if (extra <= 0 || used + extra > budget)
                    continue;
                double gain = L->weight * (L->D[L->B] - L->D[B]) / (double)extra;
                if (gain > best_gain) {
                    best_gain = gain;
                    best_i = i;
                    best_B = B;
                }
            }
        }
        if (best_i == n)
            break;
        used += layers[best_i].bits[best_B] - layers[best_i].bits[layers[best_i].B];
        layers[best_i].B = best_B;
    }
    return true;
}
