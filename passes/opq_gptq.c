/* opq_gptq.c - error-compensating rounding of one allocated OPQ layer with
 * calibration statistics (--calib only): the GPTQ / optimal-brain-
 * quantization recipe (Frantar et al., 2022).  For a layer whose weight is
 * an [out, in] matrix over the input channels, with H = E[x x^T] of its
 * input, the input columns are quantized in order and the rounding error of
 * each column is spread over the columns not yet quantized along the rows
 * of the upper Cholesky factor of H^-1, which minimizes the layer's output
 * error E||(W - Q) x||^2 column by column.  The quantizer itself (bits,
 * clip, channel scales, keep-mask) is the one the allocation chose; only
 * which code each weight gets changes.  No graph access; opq.c calls it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opq_gptq.h"

/* Relative damping added to the diagonal of H (times its mean diagonal):
 * keeps the Cholesky factorization well conditioned when input channels
 * are (nearly) dependent or dead.  The GPTQ paper uses 0.01; on PP-OCRv4
 * rec at 8x 0.001 was better on both validation sets (docs/passes-opq.md). */
static const double gptq_damp = 0.001;

/* Quantize the input columns in order of decreasing E[x_i^2] (GPTQ's
 * "act-order") instead of index order (measured in docs/passes-opq.md). */
static const bool act_order = true;

/* In-place lower Cholesky factor of the n x n symmetric positive-definite A
 * (row-major; the upper triangle is left undefined).  False if not SPD. */
static bool cholesky_lower(double *A, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (int64_t k = 0; k < j; k++)
            d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0))
            return false;
        d = sqrt(d);
        A[j * n + j] = d;
        for (int64_t i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (int64_t k = 0; k < j; k++)
                s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    return true;
}

/* U with H^-1 = U^T U (upper, row-major n x n) from H (destroyed). */
static bool inverse_upper_factor(double *H, int64_t n, double *U)
{
    if (!cholesky_lower(H, n)) /* H = L L^T */
        return false;
    /* Linv = L^-1 (lower), into U's storage first */
    double *Li = U;
    memset(Li, 0, (size_t)(n * n) * sizeof *Li);
    for (int64_t j = 0; j < n; j++) {
        Li[j * n + j] = 1.0 / H[j * n + j];
        for (int64_t i = j + 1; i < n; i++) {
            double s = 0;
            for (int64_t k = j; k < i; k++)
                s -= H[i * n + k] * Li[k * n + j];
            Li[i * n + j] = s / H[i * n + i];
        }
    }
    /* H^-1 = Linv^T Linv, into H */
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = a; b < n; b++) {
            double s = 0;
            for (int64_t k = b; k < n; k++)
                s += Li[k * n + a] * Li[k * n + b];
            H[a * n + b] = H[b * n + a] = s;
        }
    /* H^-1 = U^T U: U^T is the lower Cholesky factor of H^-1 */
    if (!cholesky_lower(H, n))
        return false;
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = 0; b < n; b++)
            U[a * n + b] = b >= a ? H[b * n + a] : 0.0;
    return true;
}

/* The value weight w of output channel o quantizes to (0 when pruned). */
static double quantize_one(const struct tsl_opq_layer *L, int64_t idx, int64_t o, double w)
{
    if (L->masked && !((L->keep[idx / 8] >> (idx % 8)) & 1))
        return 0.0;
    double s = L->scale[o];
    if (!(s > 0))
        return 0.0;
    uint32_t code = tsl_opq_quantize(w / s, L->B, L->clip[L->B], L->masked);
    return s * tsl_opq_code_value(code, L->B, L->clip[L->B], L->masked);
}

enum tsl_status tsl_opq_gptq(const struct tsl_cweight *cw, const struct tsl_opq_layer *L,
                             const double *cov, float *out)
{
    int64_t I = cw->in_dim, O = cw->n_ch;
    double *H = malloc((size_t)(I * I) * sizeof *H);
    double *U = malloc((size_t)(I * I) * sizeof *U);
    double *W = malloc((size_t)(O * I) * sizeof *W); /* [O][I] working copy */
    if (!H || !U || !W) {
        free(H);
        free(U);
        free(W);
        return TSL_STATUS_NOMEM;
    }
    memcpy(H, cov, (size_t)(I * I) * sizeof *H);
    double mean_diag = 0;
    for (int64_t i = 0; i < I; i++)
        mean_diag += H[i * I + i] / (double)I;
    if (!(mean_diag > 0))
        mean_diag = 1;
    for (int64_t i = 0; i < I; i++) {
        if (!(H[i * I + i] > 0)) /* dead input channel: its weights do not matter */
            H[i * I + i] = mean_diag;
        H[i * I + i] += gptq_damp * mean_diag;
    }
    /* Column order: decreasing E[x_i^2] ("act-order"): the columns that
     * matter most are quantized first, while the most columns are left to
     * absorb their error.  H and W are permuted alike. */
    int64_t *perm = malloc((size_t)I * sizeof *perm);
    double *Hp = malloc((size_t)(I * I) * sizeof *Hp);
    if (!perm || !Hp) {
        free(perm);
        free(Hp);
        free(H);
        free(U);
        free(W);
        return TSL_STATUS_NOMEM;
    }
    for (int64_t i = 0; i < I; i++)
        perm[i] = i;
    if (act_order)
        for (int64_t i = 1; i < I; i++) { /* stable insertion sort, descending */
            int64_t p = perm[i], k = i;
            for (; k > 0 && H[perm[k - 1] * I + perm[k - 1]] < H[p * I + p]; k--)
                perm[k] = perm[k - 1];
            perm[k] = p;
        }
    for (int64_t a = 0; a < I; a++)
        for (int64_t b = 0; b < I; b++)
            Hp[a * I + b] = H[perm[a] * I + perm[b]];
    memcpy(H, Hp, (size_t)(I * I) * sizeof *H);
    free(Hp);
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            W[o * I + i] = L->w[o * cw->inner + perm[i] * cw->in_stride];
    bool ok = inverse_upper_factor(H, I, U);
    for (int64_t j = 0; j < I; j++)
        for (int64_t o = 0; o < O; o++) {
            int64_t idx = o * cw->inner + perm[j] * cw->in_stride;
            double w = W[o * I + j], q = quantize_one(L, idx, o, w);
            W[o * I + j] = q;
            if (!ok)
                continue; /* plain rounding when H is not usable */
            double e = (w - q) / U[j * I + j];
            const double *u = U + j * I;
            double *row = W + o * I;
            for (int64_t k = j + 1; k < I; k++)
                row[k] -= e * u[k];
        }
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            out[o * cw->inner + perm[i] * cw->in_stride] = (float)W[o * I + i];
    free(perm);
    free(H);
    free(U);
    free(W);
    return TSL_STATUS_OK;
}
