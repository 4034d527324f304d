/* opq_dfq_cov.c - cross-channel covariance algebra of the data-free
 * statistics (opq_dfq_cov.h): a Conv's output channel covariance from its
 * input's under the tap-correlation model, and covariance -> correlation.
 * It does not walk graphs, estimate means or choose bits (opq_dfq.c,
 * opq.c). */
#include <math.h>

#include "opq_dfq_cov.h"

void tsl_opq_conv_cov(const float *W, int64_t n_out, int64_t ipg, int64_t taps, int64_t group,
                      const double *Sx, double rho, double *Sy, double *tmp)
{
    int64_t opg = n_out / group, C_in = group * ipg;
    for (int64_t i = 0; i < n_out * n_out; i++)
        Sy[i] = 0;
    /* one pair of groups (g, h) at a time: Sy[g-block][h-block] +=
     * sum_k c_k A_k T B_kᵀ with T = Sx[g-inputs][h-inputs], A_k / B_k the
     * tap-k (or tap-summed) slices of the two groups' weights */
    for (int64_t g = 0; g < group; g++)
        for (int64_t h = 0; h < group; h++)
            for (int64_t k = -1; k < taps; k++) { /* k = -1: the tap sums S */
                double c = k < 0 ? rho : 1 - rho;
                if (c == 0)
                    continue;
                /* tmp[j][o'] = sum_j' T[j][j'] * B[o'][j'] */
                for (int64_t j = 0; j < ipg; j++) {
                    const double *trow = Sx + (g * ipg + j) * C_in + h * ipg;
                    for (int64_t ob = 0; ob < opg; ob++) {
                        const float *wb = W + ((h * opg + ob) * ipg) * taps;
                        double s = 0;
                        for (int64_t jb = 0; jb < ipg; jb++) {
                            double b = 0;
                            if (k < 0)
                                for (int64_t t = 0; t < taps; t++)
                                    b += wb[jb * taps + t];
                            else
                                b = wb[jb * taps + k];
                            s += trow[jb] * b;
                        }
                        tmp[j * opg + ob] = s;
                    }
                }
                /* Sy[o][o'] += c * sum_j A[o][j] * tmp[j][o'] */
                for (int64_t oa = 0; oa < opg; oa++) {
                    const float *wa = W + ((g * opg + oa) * ipg) * taps;
                    double *yrow = Sy + (g * opg + oa) * n_out + h * opg;
                    for (int64_t j = 0; j < ipg; j++) {
                        double a = 0;
                        if (k < 0)
                            for (int64_t t = 0; t < taps; t++)
                                a += wa[j * taps + t];
                        else
                            a = wa[j * taps + k];
                        if (a == 0)
                            continue;
                        a *= c;
                        const double *tr = tmp + j * opg;
                        for (int64_t ob = 0; ob < opg; ob++)
                            yrow[ob] += a * tr[ob];
                    }
                }
            }
}

void tsl_opq_cov_to_corr(double *S, int64_t n)
{
    for (int64_t a = 0; a < n; a++) {
        double va = S[a * n + a];
        for (int64_t b = 0; b < n; b++) {
            if (b == a)
                continue;
            double vb = S[b * n + b], r = 0;
            if (va > 0 && vb > 0 && isfinite(va) && isfinite(vb))
                r = S[a * n + b] / sqrt(va * vb);
            if (!isfinite(r))
                r = 0;
            S[a * n + b] = r < -1 ? -1 : r > 1 ? 1 : r;
        }
    }
    for (int64_t a = 0; a < n; a++)
        S[a * n + a] = 1;
}
