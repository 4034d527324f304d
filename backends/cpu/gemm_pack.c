/* gemm_pack.c - compile-time packing of GEMM operands (weights) into the
 * micro-kernel's panel layout: A in mr-row panels, B in nr-column panels,
 * both K-block-major (tsl_cpu_packed_index) so the weight stream is read
 * in address order.  The result is appended to the module's weight blob.
 *
 * Not here: run-time packing of activations (gemm_kernel.c, lower_conv.c),
 * the K block length itself (gemm_kernel.c, tsl_cpu_gemm_kc). */
#include <stdlib.h>

#include "cpu_internal.h"
#include "tessel/util.h"

int64_t tsl_cpu_packed_index(int64_t K, int64_t r, int64_t k, int64_t width, int64_t rows_pad)
{
    int64_t kc = tsl_cpu_gemm_kc(K), kb = k / kc, k0 = kb * kc, klen = K - k0 < kc ? K - k0 : kc;
    return k0 * rows_pad + (r / width) * klen * width + (k - k0) * width + r % width;
}

enum tsl_status tsl_cpu_pack_a(struct tsl_cpu_cg *cg, const float *w, int64_t M, int64_t K,
                               int64_t a_rs, int64_t a_cs, float scale, int64_t *off_out)
{
    int64_t mr = cg->tgt->mr, panels = (M + mr - 1) / mr, n;
    if (!tsl_mul_i64(panels * mr, K, &n) || n > INT64_MAX / 4)
        return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, cg->g->name, "packed A too large");
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "packing weights");
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++)
            p[tsl_cpu_packed_index(K, m, k, mr, panels * mr)] = w[m * a_rs + k * a_cs] * scale;
    enum tsl_status st = tsl_cpu_blob_add(cg, p, (size_t)n * sizeof(float), off_out);
    free(p);
    return st;
}

enum tsl_status tsl_cpu_pack_b(struct tsl_cpu_cg *cg, const float *w, int64_t K, int64_t N,
                               int64_t b_rs, int64_t b_cs, float scale, int64_t *off_out)
{
    int64_t nr = cg->tgt->vw * cg->tgt->nv, panels = (N + nr - 1) / nr, n;
    if (!tsl_mul_i64(panels * nr, K, &n) || n > INT64_MAX / 4)
        return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, cg->g->name, "packed B too large");
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "packing weights");
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++)
            p[tsl_cpu_packed_index(K, j, k, nr, panels * nr)] = w[k * b_rs + j * b_cs] * scale;
    enum tsl_status st = tsl_cpu_blob_add(cg, p, (size_t)n * sizeof(float), off_out);
    free(p);
    return st;
}
