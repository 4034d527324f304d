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

/* Pack rows x K elements, element (r, k) at w[r * rs + k * ks] times scale,
 * into width-row panels (tsl_cpu_packed_index) appended to the blob. */
static enum tsl_status pack_panels(struct tsl_cpu_cg *cg, const float *w, int64_t rows, int64_t K,
                                   int64_t rs, int64_t ks, int64_t width, float scale,
                                   const char *what, int64_t *off_out)
{
    int64_t panels = (rows + width - 1) / width, n;
    if (!tsl_mul_i64(panels * width, K, &n) || n > INT64_MAX / 4)
        return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, cg->g->name, "%s too large", what);
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "packing weights");
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < K; k++)
            p[tsl_cpu_packed_index(K, r, k, width, panels * width)] = w[r * rs + k * ks] * scale;
    enum tsl_status st = tsl_cpu_blob_add(cg, p, (size_t)n * sizeof(float), off_out);
    free(p);
    return st;
}

enum tsl_status tsl_cpu_pack_a(struct tsl_cpu_cg *cg, const float *w, int64_t M, int64_t K,
                               int64_t a_rs, int64_t a_cs, float scale, int64_t *off_out)
{
    return pack_panels(cg, w, M, K, a_rs, a_cs, cg->tgt->mr, scale, "packed A", off_out);
}

enum tsl_status tsl_cpu_pack_b(struct tsl_cpu_cg *cg, const float *w, int64_t K, int64_t N,
                               int64_t b_rs, int64_t b_cs, float scale, int64_t *off_out)
{
    return pack_panels(cg, w, N, K, b_cs, b_rs, (int64_t)cg->tgt->vw * cg->tgt->nv, scale,
                       "packed B", off_out);
}
