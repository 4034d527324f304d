/* gemm_trans.c - transposed C tiles of the GEMM micro-kernel (c_trans).
 *
 * The output-channel-vectorized convolution (lower_conv.c) computes
 * C[pixel][oc] with the output channels along the vector lanes, but its
 * output is NCHW: element (m, n) of the tile lives at c[n * ldc + m].  The
 * micro-kernel keeps its accumulators as row vectors (one <vw x float> per
 * row and vector of columns); these helpers turn them into one
 * <rows x float> vector per column (a log2(rows) tree of two-input
 * interleave shuffles, then one subvector extract per column) for the
 * epilogue, and keep the partial sums between K blocks in the tile's
 * footprint of C without a transpose (raw: any fixed bijection will do,
 * they are only read back by the next block's kernel).  The arithmetic of the epilogue is
 * unchanged (the same operations on the same elements), only where lanes
 * live differs.
 *
 * Not here: the micro-kernel itself and the epilogue's arithmetic
 * (gemm_kernel.c), choosing the transposed form (lower_conv.c). */
#include "cpu_internal.h"

static int pow2_ge(int n)
{
    int p = 1;
    while (p < n)
        p *= 2;
    return p;
}

/* shufflevector(a, b, mask) with mask[i] < 0 as undef. */
static LLVMValueRef shuffle(struct tsl_cpu_cg *cg, LLVMValueRef a, LLVMValueRef b,
                            const int *mask, int n)
{
    LLVMValueRef m[256];
    for (int i = 0; i < n; i++)
        m[i] = mask[i] < 0 ? LLVMGetUndef(cg->t_i32) : LLVMConstInt(cg->t_i32, (unsigned)mask[i], 0);
    return LLVMBuildShuffleVector(cg->b, a, b, LLVMConstVector(m, (unsigned)n), "");
}

static LLVMTypeRef fvec(struct tsl_cpu_cg *cg, int n)
{
    return LLVMVectorType(cg->t_f32, (unsigned)n);
}

void tsl_cpu_tile_to_cols(struct tsl_cpu_cg *cg, LLVMValueRef rv[][8], int rows, int cols,
                          LLVMValueRef *col)
{
    const int vw = cg->tgt->vw, P = pow2_ge(rows);
    for (int j = 0; j * vw < cols; j++) {
        LLVMValueRef lv[16];
        for (int r = 0; r < P; r++)
            lv[r] = r < rows ? rv[r][j] : LLVMGetUndef(cg->t_vec);
        /* level s: interleave groups of s lanes of two vectors of len lanes;
         * after the last level column l is lanes [P*l, P*l + P) */
        int len = vw;
        for (int cnt = P, s = 1; cnt > 1; cnt /= 2, s *= 2, len *= 2) {
            int mask[256];
            for (int g = 0; g < len / s; g++)
                for (int e = 0; e < s; e++) {
                    mask[2 * g * s + e] = g * s + e;
                    mask[2 * g * s + s + e] = len + g * s + e;
                }
            for (int i = 0; i < cnt / 2; i++)
                lv[i] = shuffle(cg, lv[2 * i], lv[2 * i + 1], mask, 2 * len);
        }
        for (int l = 0; l < vw && j * vw + l < cols; l++) {
            int mask[16];
            for (int e = 0; e < rows; e++)
                mask[e] = P * l + e;
            col[j * vw + l] = shuffle(cg, lv[0], LLVMGetUndef(fvec(cg, len)), mask, rows);
        }
    }
}

static LLVMValueRef col_ptr(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef off, int rows)
{
    return LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, off), LLVMPointerType(fvec(cg, rows), 0), "");
}

LLVMValueRef tsl_cpu_col_load(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef off, int rows)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, fvec(cg, rows), col_ptr(cg, p, off, rows), "");
    LLVMSetAlignment(v, 4);
    return v;
}

void tsl_cpu_col_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off,
                       int rows)
{
    LLVMValueRef s = LLVMBuildStore(cg->b, v, col_ptr(cg, p, off, rows));
    LLVMSetAlignment(s, 4);
}

/* A <n x float> from lanes src[i][lane[i]] (NULL src: undef lane): one
 * shufflevector when the lanes come from at most two vectors, else an
 * insertelement chain. */
static LLVMValueRef gather_lanes(struct tsl_cpu_cg *cg, LLVMValueRef *src, const int *lane, int n)
{
    LLVMValueRef s0 = NULL, s1 = NULL;
    bool two = true;
    for (int i = 0; i < n; i++) {
        if (!src[i] || src[i] == s0 || src[i] == s1)
            continue;
        if (!s0)
            s0 = src[i];
        else if (!s1)
            s1 = src[i];
        else
            two = false;
    }
    if (!s0)
        return LLVMGetUndef(fvec(cg, n));
    if (two) {
        int w = (int)LLVMGetVectorSize(LLVMTypeOf(s0)), mask[256];
        for (int i = 0; i < n; i++)
            mask[i] = !src[i] ? -1 : src[i] == s0 ? lane[i] : w + lane[i];
        return shuffle(cg, s0, s1 ? s1 : LLVMGetUndef(LLVMTypeOf(s0)), mask, n);
    }
    LLVMValueRef v = LLVMGetUndef(fvec(cg, n));
    for (int i = 0; i < n; i++)
        if (src[i])
            v = LLVMBuildInsertElement(
                cg->b, v,
                LLVMBuildExtractElement(cg->b, src[i], LLVMConstInt(cg->t_i32, (unsigned)lane[i], 0), ""),
                LLVMConstInt(cg->t_i32, (unsigned)i, 0), "");
    return v;
}

void tsl_cpu_tile_store_raw(struct tsl_cpu_cg *cg, LLVMValueRef rv[][8], int rows, int cols,
                            LLVMValueRef c, LLVMValueRef ldc)
{
    const int vw = cg->tgt->vw;
    for (int s = 0; s < cols; s++) {
        LLVMValueRef src[16];
        int lane[16];
        for (int i = 0; i < rows; i++) {
            int e = s * rows + i, n = e % cols;
            src[i] = rv[e / cols][n / vw];
            lane[i] = n % vw;
        }
        tsl_cpu_col_store(cg, gather_lanes(cg, src, lane, rows), c,
                          LLVMBuildNSWMul(cg->b, ldc, tsl_cpu_i64(cg, s), ""), rows);
    }
}

void tsl_cpu_tile_load_raw(struct tsl_cpu_cg *cg, int rows, int cols, LLVMValueRef c,
                           LLVMValueRef ldc, LLVMValueRef rv[][8])
{
    const int vw = cg->tgt->vw;
    LLVMValueRef seg[64];
    for (int s = 0; s < cols; s++)
        seg[s] = tsl_cpu_col_load(cg, c, LLVMBuildNSWMul(cg->b, ldc, tsl_cpu_i64(cg, s), ""), rows);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j * vw < cols; j++) {
            LLVMValueRef src[64];
            int lane[64];
            for (int l = 0; l < vw; l++) {
                int n = j * vw + l, e = r * cols + n;
                src[l] = n < cols ? seg[e / rows] : NULL;
                lane[l] = e % rows;
            }
            rv[r][j] = gather_lanes(cg, src, lane, vw);
        }
}
