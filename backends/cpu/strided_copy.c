/* strided_copy.c - the stride-phase layouts of the depthwise convolution
 * (lower_conv.c) and MaxPool (lower_pool.c): the phase planes filled from
 * one unpadded image (tsl_cpu_fill_phases: the image's elements, a pad
 * value around them), the strided row copy they use, and the masked
 * vector loads/stores both files need.
 *
 * The strided copy dst[j] = src[j * sw], j in [jlo, jhi): vectors of vw
 * outputs come from one masked wide load of sw * vw source floats in which
 * only every sw-th lane (the needed elements) is enabled, one shuffle
 * picking those lanes and one vector store; the partial last vector uses a
 * masked store.  No element outside [jlo * sw, (jhi - 1) * sw] is read, so
 * a row never reads past its end.  Strides above 4 (wide vectors of more
 * than 64 lanes) and the scalar target keep the element loop.
 *
 * Not here: what the phase planes are for (the taps, the callers). */
#include <math.h>
#include <string.h>

#include "lower_ext.h"

static LLVMValueRef masked_op(struct tsl_cpu_cg *cg, const char *name, LLVMTypeRef vt,
                              LLVMValueRef *args, unsigned n)
{
    LLVMTypeRef ov[2] = {vt, LLVMPointerType(vt, 0)};
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, ov, 2),
                          LLVMGetIntrinsicDeclaration(cg->mod, id, ov, 2), args, n, "");
}

LLVMValueRef tsl_cpu_masked_load(struct tsl_cpu_cg *cg, LLVMTypeRef vt, LLVMValueRef p,
                                 LLVMValueRef mask, LLVMValueRef passthru)
{
    LLVMValueRef a[4] = {LLVMBuildBitCast(cg->b, p, LLVMPointerType(vt, 0), ""),
                         LLVMConstInt(cg->t_i32, 4, 0), mask, passthru};
    return masked_op(cg, "llvm.masked.load", vt, a, 4);
}

void tsl_cpu_masked_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask)
{
    LLVMTypeRef vt = LLVMTypeOf(v);
    LLVMValueRef a[4] = {v, LLVMBuildBitCast(cg->b, p, LLVMPointerType(vt, 0), ""),
                         LLVMConstInt(cg->t_i32, 4, 0), mask};
    masked_op(cg, "llvm.masked.store", vt, a, 4);
}

LLVMValueRef tsl_cpu_lane_mask(struct tsl_cpu_cg *cg, int64_t n, int64_t step, int64_t len)
{
    LLVMValueRef m[256];
    for (int64_t e = 0; e < n && e < 256; e++)
        m[e] = LLVMConstInt(cg->t_i1, e % step == 0 && e / step < len, 0);
    return LLVMConstVector(m, (unsigned)(n < 256 ? n : 256));
}

/* dst[j .. j + len) = src[j*sw], src[(j+1)*sw], ... for a run-time j */
static void copy_chunk(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef j,
                       int64_t sw, int64_t len)
{
    const int64_t vw = cg->tgt->vw;
    LLVMTypeRef wide = LLVMVectorType(cg->t_f32, (unsigned)(sw * vw));
    LLVMValueRef pick[64];
    for (int64_t l = 0; l < vw; l++)
        pick[l] = LLVMConstInt(cg->t_i32, (unsigned long long)(l * sw), 0);
    LLVMValueRef w = tsl_cpu_masked_load(
        cg, wide, tsl_cpu_gep(cg, src, LLVMBuildNSWMul(cg->b, j, tsl_cpu_i64(cg, sw), "")),
        tsl_cpu_lane_mask(cg, sw * vw, sw, len), LLVMGetUndef(wide));
    LLVMValueRef v = LLVMBuildShuffleVector(cg->b, w, LLVMGetUndef(wide),
                                            LLVMConstVector(pick, (unsigned)vw), "");
    LLVMValueRef dp = tsl_cpu_gep(cg, dst, j);
    if (len == vw) {
        LLVMSetAlignment(LLVMBuildStore(cg->b, v, LLVMBuildBitCast(cg->b, dp,
                                                                   LLVMPointerType(cg->t_vec, 0), "")),
                         4);
        return;
    }
    tsl_cpu_masked_store(cg, v, dp, tsl_cpu_lane_mask(cg, vw, 1, len));
}

void tsl_cpu_copy_strided(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef src,
                          int64_t jlo, int64_t jhi, int64_t sw)
{
    const int64_t vw = cg->tgt->vw;
    struct tsl_cpu_loop lj;
    if (jhi <= jlo)
        return;
    if (vw < 2 || sw < 2 || sw > 4 || vw > 64) {
        LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, jlo, jhi, 1, "scj");
        tsl_cpu_store(cg, tsl_cpu_load(cg, src, LLVMBuildNSWMul(cg->b, j, tsl_cpu_i64(cg, sw), "")),
                      dst, j);
        tsl_cpu_loop_end(cg, &lj);
        return;
    }
    int64_t full = (jhi - jlo) / vw * vw;
    if (full > 0) {
        LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, jlo, jlo + full, vw, "scv");
        copy_chunk(cg, dst, src, j, sw, vw);
        tsl_cpu_loop_end(cg, &lj);
    }
    if (jlo + full < jhi)
        copy_chunk(cg, dst, src, tsl_cpu_i64(cg, jlo + full), sw, jhi - jlo - full);
}

/* p[0 .. n) = pad: a memset for +0, else vector stores of the splat and a
 * scalar rest. */
static void fill_const(struct tsl_cpu_cg *cg, LLVMValueRef p, int64_t n, float pad)
{
    if (n <= 0)
        return;
    if (pad == 0.0f && !signbit(pad)) {
        LLVMBuildMemSet(cg->b, LLVMBuildBitCast(cg->b, p, cg->t_pi8, ""),
                        LLVMConstInt(cg->t_i8, 0, 0), tsl_cpu_i64(cg, n * 4), 4);
        return;
    }
    const int64_t vw = cg->tgt->vw, nv = n / vw * vw;
    LLVMValueRef lanes[64];
    for (int64_t l = 0; l < vw; l++)
        lanes[l] = tsl_cpu_f32c(cg, pad);
    LLVMValueRef splat = LLVMConstVector(lanes, (unsigned)vw);
    struct tsl_cpu_loop lf;
    if (nv > 0) {
        LLVMValueRef f = tsl_cpu_loop_begin(cg, &lf, 0, nv, vw, "fill");
        LLVMValueRef vp = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, f),
                                           LLVMPointerType(cg->t_vec, 0), "");
        LLVMSetAlignment(LLVMBuildStore(cg->b, splat, vp), 4);
        tsl_cpu_loop_end(cg, &lf);
    }
    for (int64_t k = nv; k < n; k++)
        tsl_cpu_store(cg, tsl_cpu_f32c(cg, pad), p, tsl_cpu_i64(cg, k));
}

void tsl_cpu_fill_phases(struct tsl_cpu_cg *cg, LLVMValueRef x, LLVMValueRef ph, int64_t H,
                         int64_t W, int64_t pt, int64_t pl, int64_t sh, int64_t sw, int64_t qw,
                         int64_t plane, float pad)
{
    int64_t rows = plane / qw;
    for (int64_t a = 0; a < sh; a++)
        for (int64_t b = 0; b < sw; b++) {
            struct tsl_cpu_phase pr = tsl_cpu_phase_range(H, W, pt, pl, sh, sw, a, b, rows, qw);
            LLVMValueRef q = tsl_cpu_gep(cg, ph, tsl_cpu_i64(cg, (a * sw + b) * plane));
            if (pr.ilo >= pr.ihi || pr.jlo >= pr.jhi) {
                fill_const(cg, q, plane, pad);
                continue;
            }
            /* rows above and below the image, and the plane's tail */
            fill_const(cg, q, pr.ilo * qw, pad);
            fill_const(cg, tsl_cpu_gep(cg, q, tsl_cpu_i64(cg, pr.ihi * qw)), plane - pr.ihi * qw,
                       pad);
            struct tsl_cpu_loop li;
            LLVMValueRef i = tsl_cpu_loop_begin(cg, &li, pr.ilo, pr.ihi, 1, "phi");
            /* source row a + sh*i - pt, column b + sw*j - pl */
            LLVMValueRef srow = tsl_cpu_gep(
                cg, x,
                LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, i, tsl_cpu_i64(cg, sh * W), ""),
                                tsl_cpu_i64(cg, (a - pt) * W + b - pl), ""));
            LLVMValueRef drow = tsl_cpu_gep(cg, q, LLVMBuildNSWMul(cg->b, i, tsl_cpu_i64(cg, qw), ""));
            fill_const(cg, drow, pr.jlo, pad); /* left and right padding */
            fill_const(cg, tsl_cpu_gep(cg, drow, tsl_cpu_i64(cg, pr.jhi)), qw - pr.jhi, pad);
            if (sw == 1)
                tsl_cpu_copy_floats(cg, tsl_cpu_gep(cg, drow, tsl_cpu_i64(cg, pr.jlo)),
                                    tsl_cpu_gep(cg, srow, tsl_cpu_i64(cg, pr.jlo)), pr.jhi - pr.jlo);
            else
                tsl_cpu_copy_strided(cg, drow, srow, pr.jlo, pr.jhi, sw);
            tsl_cpu_loop_end(cg, &li);
        }
}
