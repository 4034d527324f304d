/* gemm.c - the reference backend's cache-blocked SGEMM (GotoBLAS loop
 * order: packed KCxNC panels of B, MCxKC panels of A, a 6x8 register
 * micro-kernel written with GCC vector extensions) and the Gemm and MatMul
 * kernels on top of it.  Non-f32 types use plain triple loops (double
 * accumulation for floats, wrapping int64 for integers).  Convolution's
 * im2col lives in conv.c. */
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

typedef float v4f __attribute__((vector_size(16)));

enum { MR = 6, NR = 8, MC = 120, KC = 256, NC = 1024 };

static inline float at_a(bool ta, const float *A, int64_t lda, int64_t i, int64_t k)
{
    return ta ? A[k * lda + i] : A[i * lda + k];
}

/* Pack rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into MR-row panels. */
static void pack_a(bool ta, const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t k0,
                   int64_t kc, float *dst)
{
    for (int64_t ip = 0; ip < mc; ip += MR) {
        int64_t mr = mc - ip < MR ? mc - ip : MR;
        for (int64_t k = 0; k < kc; k++) {
            for (int64_t r = 0; r < mr; r++)
                dst[r] = at_a(ta, A, lda, i0 + ip + r, k0 + k);
            for (int64_t r = mr; r < MR; r++)
                dst[r] = 0.0f;
            dst += MR;
        }
    }
}

/* Pack rows [k0, k0+kc) x cols [j0, j0+nc) of op(B) into NR-col panels. */
static void pack_b(bool tb, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                   int64_t nc, float *dst)
{
    for (int64_t jp = 0; jp < nc; jp += NR) {
        int64_t nr = nc - jp < NR ? nc - jp : NR;
        for (int64_t k = 0; k < kc; k++) {
            if (!tb && nr == NR) {
                memcpy(dst, B + (k0 + k) * ldb + j0 + jp, NR * sizeof(float));
            } else {
                for (int64_t c = 0; c < nr; c++) {
                    int64_t kk = k0 + k, j = j0 + jp + c;
                    dst[c] = tb ? B[j * ldb + kk] : B[kk * ldb + j];
                }
                for (int64_t c = nr; c < NR; c++)
                    dst[c] = 0.0f;
            }
            dst += NR;
        }
    }
}

/* acc = Apanel(MR x kc) * Bpanel(kc x NR); then C tile (mr x nr) =
 * first ? alpha*acc + beta*C : C + alpha*acc. */
static void micro(int64_t kc, const float *ap, const float *bp, float *C, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta, bool first)
{
    v4f acc[MR][2];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        v4f b0, b1;
        memcpy(&b0, bp, sizeof b0);
        memcpy(&b1, bp + 4, sizeof b1);
        for (int r = 0; r < MR; r++) {
            v4f a = {ap[r], ap[r], ap[r], ap[r]};
            acc[r][0] += a * b0;
            acc[r][1] += a * b1;
        }
        ap += MR;
        bp += NR;
    }
    float t[MR][NR];
    memcpy(t, acc, sizeof t);
    for (int64_t r = 0; r < mr; r++) {
        float *c = C + r * ldc;
        if (!first)
            for (int64_t j = 0; j < nr; j++)
                c[j] += alpha * t[r][j];
        else if (beta == 0.0f)
            for (int64_t j = 0; j < nr; j++)
                c[j] = alpha * t[r][j];
        else
            for (int64_t j = 0; j < nr; j++)
                c[j] = alpha * t[r][j] + beta * c[j];
    }
}

bool tsl_ref_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                   float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return true;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return true;
    }
    float *pa = malloc((size_t)MC * KC * sizeof(float));
    float *pb = malloc((size_t)KC * (NC + NR) * sizeof(float));
    if (!pa || !pb) {
        free(pa);
        free(pb);
        return false;
    }
    for (int64_t jc = 0; jc < N; jc += NC) {
        int64_t nc = N - jc < NC ? N - jc : NC;
        for (int64_t pc = 0; pc < K; pc += KC) {
            int64_t kc = K - pc < KC ? K - pc : KC;
            pack_b(tb, B, ldb, pc, kc, jc, nc, pb);
            for (int64_t ic = 0; ic < M; ic += MC) {
                int64_t mc = M - ic < MC ? M - ic : MC;
                pack_a(ta, A, lda, ic, mc, pc, kc, pa);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int64_t nr = nc - jr < NR ? nc - jr : NR;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        int64_t mr = mc - ir < MR ? mc - ir : MR;
                        micro(kc, pa + ir * kc, pb + jr * kc, C + (ic + ir) * ldc + jc + jr,
                              ldc, mr, nr, alpha, beta, pc == 0);
                    }
                }
            }
        }
    }
    free(pa);
    free(pb);
    return true;
}

/* Generic (non-f32) matrix product into y at offset yo: y = alpha*AB + beta*y. */
static void gemm_generic(const struct tsl_tensor *a, int64_t ao, bool ta,
                         const struct tsl_tensor *b, int64_t bo, bool tb, struct tsl_tensor *y,
                         int64_t yo, int64_t M, int64_t N, int64_t K, double alpha,
                         double beta)
{
    bool fl = tsl_dtype_is_float(y->dtype);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double sf = 0;
            uint64_t si = 0;
            for (int64_t k = 0; k < K; k++) {
                int64_t ia = ao + (ta ? k * M + i : i * K + k);
                int64_t ib = bo + (tb ? j * K + k : k * N + j);
                if (fl)
                    sf += tsl_ref_getf(a, ia) * tsl_ref_getf(b, ib);
                else
                    si += (uint64_t)tsl_ref_geti(a, ia) * (uint64_t)tsl_ref_geti(b, ib);
            }
            int64_t o = yo + i * N + j;
            if (fl)
                tsl_dense_set_f64(y->dtype, y->data, o,
                                  alpha * sf + (beta != 0 ? beta * tsl_ref_getf(y, o) : 0));
            else
                tsl_dense_set_i64(y->dtype, y->data, o,
                                  (int64_t)((uint64_t)(int64_t)alpha * si +
                                            (uint64_t)(int64_t)beta *
                                                (uint64_t)tsl_ref_geti(y, o)));
        }
}

enum tsl_status tsl_ref_gemm(struct tsl_ref_call *c)
{
    const struct tsl_tensor *a, *b, *bias = c->n_in > 2 ? c->in[2] : NULL;
    TSL_TRY(tsl_ref_need(c, 0, &a));
    TSL_TRY(tsl_ref_need(c, 1, &b));
    const struct tsl_attr_gemm *at = &c->node->attrs.gemm;
    if (a->shape.rank != 2 || b->shape.rank != 2)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "A and B must be 2-D, got rank %d and %d",
                            a->shape.rank, b->shape.rank);
    if (a->dtype != b->dtype || (bias && bias->dtype != a->dtype) || a->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "A, B and C must share one numeric dtype");
    bool ta = at->transA != 0, tb = at->transB != 0;
    int64_t M = ta ? a->shape.dims[1] : a->shape.dims[0];
    int64_t K = ta ? a->shape.dims[0] : a->shape.dims[1];
    int64_t Kb = tb ? b->shape.dims[1] : b->shape.dims[0];
    int64_t N = tb ? b->shape.dims[0] : b->shape.dims[1];
    if (K != Kb)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inner dims differ: %lld vs %lld",
                            (long long)K, (long long)Kb);
    int64_t dims[2] = {M, N};
    TSL_TRY(tsl_ref_alloc(c, 0, a->dtype, 2, dims));
    struct tsl_tensor *y = &c->out[0];
    float beta = bias ? at->beta : 0.0f;
    if (bias) {
        struct tsl_shape ys = y->shape, s;
        if (!tsl_ref_broadcast(&bias->shape, &ys, &s) || !tsl_shape_equal(&s, &ys))
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "C does not broadcast to [%lld, %lld]",
                                (long long)M, (long long)N);
        int64_t st[TSL_MAX_RANK];
        tsl_ref_bcast_strides(&bias->shape, &ys, st);
        size_t es = tsl_ref_elem_size(y->dtype);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                memcpy((uint8_t *)y->data + (size_t)(i * N + j) * es,
                       (const uint8_t *)bias->data + (size_t)(i * st[0] + j * st[1]) * es, es);
    }
    if (a->dtype == TSL_DTYPE_F32) {
        if (!tsl_ref_sgemm(ta, tb, M, N, K, at->alpha, a->data, a->shape.dims[1], b->data,
                           b->shape.dims[1], beta, y->data, N))
            return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
    } else {
        gemm_generic(a, 0, ta, b, 0, tb, y, 0, M, N, K, at->alpha, beta);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_matmul(struct tsl_ref_call *c)
{
    const struct tsl_tensor *a, *b;
    TSL_TRY(tsl_ref_need(c, 0, &a));
    TSL_TRY(tsl_ref_need(c, 1, &b));
    if (a->dtype != b->dtype || a->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inputs must share a numeric dtype");
    if (a->shape.rank < 1 || b->shape.rank < 1)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inputs must have rank >= 1");
    /* Promote 1-D operands to matrices, remember to drop the dims after. */
    struct tsl_shape as = a->shape, bs = b->shape;
    bool a1 = as.rank == 1, b1 = bs.rank == 1;
    if (a1) {
        as.rank = 2;
        as.dims[1] = as.dims[0];
        as.dims[0] = 1;
    }
    if (b1) {
        bs.rank = 2;
        bs.dims[1] = 1;
    }
    int64_t M = as.dims[as.rank - 2], K = as.dims[as.rank - 1];
    int64_t Kb = bs.dims[bs.rank - 2], N = bs.dims[bs.rank - 1];
    if (K != Kb)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "inner dims differ: %lld vs %lld",
                            (long long)K, (long long)Kb);
    struct tsl_shape ab = {.rank = as.rank - 2}, bb = {.rank = bs.rank - 2}, batch;
    memcpy(ab.dims, as.dims, sizeof(int64_t) * (size_t)ab.rank);
    memcpy(bb.dims, bs.dims, sizeof(int64_t) * (size_t)bb.rank);
    if (!tsl_ref_broadcast(&ab, &bb, &batch))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "batch dims cannot be broadcast");
    int64_t dims[TSL_MAX_RANK + 2];
    int32_t r = 0;
    for (int32_t d = 0; d < batch.rank; d++)
        dims[r++] = batch.dims[d];
    if (!a1)
        dims[r++] = M;
    if (!b1)
        dims[r++] = N;
    TSL_TRY(tsl_ref_alloc(c, 0, a->dtype, r, dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t sa[TSL_MAX_RANK], sb[TSL_MAX_RANK], nb = 1;
    tsl_ref_bcast_strides(&ab, &batch, sa);
    tsl_ref_bcast_strides(&bb, &batch, sb);
    for (int32_t d = 0; d < batch.rank; d++)
        nb *= batch.dims[d];
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (int32_t d = batch.rank - 1; d >= 0; d--) {
            int64_t ix = rem % batch.dims[d];
            rem /= batch.dims[d];
            oa += ix * sa[d];
            ob += ix * sb[d];
        }
        oa *= M * K;
        ob *= K * N;
        if (a->dtype == TSL_DTYPE_F32) {
            if (!tsl_ref_sgemm(false, false, M, N, K, 1.0f, (const float *)a->data + oa, K,
                               (const float *)b->data + ob, N, 0.0f,
                               (float *)y->data + bi * M * N, N))
                return tsl_ref_fail(c, TSL_STATUS_NOMEM, "out of memory");
        } else {
            gemm_generic(a, oa, false, b, ob, false, y, bi * M * N, M, N, K, 1.0, 0.0);
        }
    }
    return TSL_STATUS_OK;
}
