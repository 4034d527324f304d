/* strided_copy.c - the strided row copy of the stride-phase layouts:
 * dst[j] = src[j * sw] for j in [jlo, jhi), as the depthwise convolution
 * fills its phase planes (lower_conv.c).  Vectors of vw outputs come from
 * one masked wide load of sw * vw source floats in which only every sw-th
 * lane (the needed elements) is enabled, one shuffle picking those lanes
 * and one vector store; the partial last vector uses a masked store.  No
 * element outside [jlo * sw, (jhi - 1) * sw] is read, so a row never reads
 * past its end.  Strides above 4 (wide vectors of more than 64 lanes) and
 * the scalar target keep the element loop.
 *
 * Not here: what is copied where (the callers), MaxPool's own phase fill
 * (lower_pool.c). */
#include <string.h>

#include "lower_ext.h"

static LLVMValueRef masked_op(struct tsl_cpu_cg *cg, const char *name, LLVMTypeRef vt,
                              LLVMValueRef *args, unsigned n, bool returns)
{
    LLVMTypeRef ov[2] = {vt, LLVMPointerType(vt, 0)};
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef r = LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, ov, 2),
                                    LLVMGetIntrinsicDeclaration(cg->mod, id, ov, 2), args, n, "");
    return returns ? r : NULL;
}

/* <n x i1>: lane e on iff e % step == 0 and e / step < len */
static LLVMValueRef lanes_on(struct tsl_cpu_cg *cg, int64_t n, int64_t step, int64_t len)
{
    LLVMValueRef m[256];
    for (int64_t e = 0; e < n; e++)
        m[e] = LLVMConstInt(cg->t_i1, e % step == 0 && e / step < len, 0);
    return LLVMConstVector(m, (unsigned)n);
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
    LLVMValueRef sp = LLVMBuildBitCast(
        cg->b, tsl_cpu_gep(cg, src, LLVMBuildNSWMul(cg->b, j, tsl_cpu_i64(cg, sw), "")),
        LLVMPointerType(wide, 0), "");
    LLVMValueRef la[4] = {sp, LLVMConstInt(cg->t_i32, 4, 0), lanes_on(cg, sw * vw, sw, len),
                          LLVMGetUndef(wide)};
    LLVMValueRef w = masked_op(cg, "llvm.masked.load", wide, la, 4, true);
    LLVMValueRef v = LLVMBuildShuffleVector(cg->b, w, LLVMGetUndef(wide),
                                            LLVMConstVector(pick, (unsigned)vw), "");
    LLVMValueRef dp = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, dst, j),
                                       LLVMPointerType(cg->t_vec, 0), "");
    if (len == vw) {
        LLVMSetAlignment(LLVMBuildStore(cg->b, v, dp), 4);
        return;
    }
    LLVMValueRef sa[4] = {v, dp, LLVMConstInt(cg->t_i32, 4, 0), lanes_on(cg, vw, 1, len)};
    masked_op(cg, "llvm.masked.store", cg->t_vec, sa, 4, false);
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
