/* gemm_gather.c - run-time im2col B panels packed with vector gathers.
 *
 * A conv's B panel (K x nr floats, see gemm_kernel.c) is element
 * src[koff[k] + base(n)] of the (padded) image for k in the K block and the
 * panel's columns n.  When the nr columns are not one contiguous run per k
 * row (output rows narrower than the panel: ResNet's 14x14 and 7x7 layers,
 * SqueezeNet's 13x13 ones; stride-2 panels that wrap to the next output
 * row), this packs each k row as nv masked gathers (`llvm.masked.gather`,
 * vgatherdps on AVX-512/AVX2) whose i32 index vector is the column bases,
 * computed once per panel, plus koff[k]; lanes past the panel's valid
 * columns are masked off and stored as 0.  The indices are in-image offsets,
 * which fit in i32 (lower_conv.c rejects a group image over INT32_MAX
 * elements).  Same values as the per-column loop it replaces, so results are
 * bitwise unchanged.
 *
 * Not here: the contiguous and in-row stride-2 vector paths and the scalar
 * per-column fallback (gemm_kernel.c), the koff table (lower_conv.c). */
#include "cpu_internal.h"

bool tsl_cpu_pack_b_gather(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef src,
                           LLVMValueRef n0, int cols, LLVMValueRef dst, LLVMValueRef k0,
                           int64_t klen)
{
    const int vw = cg->tgt->vw, nv = cg->tgt->nv, nr = vw * nv;
    if (p->koff_off < 0 || vw < 8 || vw > 64 || nv > 16 || cols < 1 || cols > nr)
        return false;
    LLVMTypeRef iv = LLVMVectorType(cg->t_i32, (unsigned)vw);
    LLVMTypeRef pv = LLVMVectorType(cg->t_pf32, (unsigned)vw);
    LLVMTypeRef ov[2] = {cg->t_vec, pv};
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.gather", 18);
    LLVMValueRef gfn = LLVMGetIntrinsicDeclaration(cg->mod, id, ov, 2);
    LLVMTypeRef gty = LLVMIntrinsicGetType(cg->ctx, id, ov, 2);

    /* column bases of vector j, lane l: n = n0 + j*vw + l,
     * base = (n / ow) * sh * pw + (n % ow) * sw (i32: in-image offsets) */
    LLVMValueRef n0v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(LLVMVectorType(cg->t_i64,
                                                                                 (unsigned)vw)),
                                              n0, LLVMConstInt(cg->t_i32, 0, 0), "");
    n0v = LLVMBuildShuffleVector(cg->b, n0v, LLVMGetUndef(LLVMTypeOf(n0v)),
                                 LLVMConstNull(iv), "");
    LLVMValueRef basev[16], maskv[16];
    LLVMValueRef c_ow[64], c_row[64], c_sw[64];
    for (int l = 0; l < vw; l++) {
        c_ow[l] = tsl_cpu_i64(cg, p->conv_ow);
        c_row[l] = tsl_cpu_i64(cg, p->conv_sh * p->conv_pw);
        c_sw[l] = tsl_cpu_i64(cg, p->conv_sw);
    }
    LLVMValueRef vow = LLVMConstVector(c_ow, (unsigned)vw);
    LLVMValueRef vrow = LLVMConstVector(c_row, (unsigned)vw);
    LLVMValueRef vsw = LLVMConstVector(c_sw, (unsigned)vw);
    for (int j = 0; j < nv; j++) {
        LLVMValueRef lane[64], on[64];
        for (int l = 0; l < vw; l++) {
            lane[l] = tsl_cpu_i64(cg, j * vw + l);
            on[l] = LLVMConstInt(cg->t_i1, j * vw + l < cols, 0);
        }
        LLVMValueRef n = LLVMBuildNSWAdd(cg->b, n0v, LLVMConstVector(lane, (unsigned)vw), "");
        LLVMValueRef b = LLVMBuildNSWAdd(
            cg->b, LLVMBuildNSWMul(cg->b, LLVMBuildSDiv(cg->b, n, vow, ""), vrow, ""),
            LLVMBuildNSWMul(cg->b, LLVMBuildSRem(cg->b, n, vow, ""), vsw, ""), "");
        basev[j] = LLVMBuildTrunc(cg->b, b, iv, "");
        maskv[j] = LLVMConstVector(on, (unsigned)vw);
    }
    struct tsl_cpu_loop lk;
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "pkg");
    LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
    LLVMValueRef kv = tsl_cpu_koff_at(cg, p, kabs);
    LLVMValueRef ks = LLVMBuildInsertElement(cg->b, LLVMGetUndef(iv), kv,
                                             LLVMConstInt(cg->t_i32, 0, 0), "");
    ks = LLVMBuildShuffleVector(cg->b, ks, LLVMGetUndef(iv), LLVMConstNull(iv), "");
    LLVMValueRef drow = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef zero = LLVMConstNull(cg->t_vec);
    for (int j = 0; j < nv; j++) {
        LLVMValueRef d = LLVMBuildNSWAdd(cg->b, drow, tsl_cpu_i64(cg, j * vw), "");
        LLVMValueRef vp = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, dst, d),
                                           LLVMPointerType(cg->t_vec, 0), "");
        LLVMValueRef v = zero;
        if (j * vw < cols) {
            LLVMValueRef idx = LLVMBuildNSWAdd(cg->b, basev[j], ks, "");
            LLVMValueRef ptrs = LLVMBuildInBoundsGEP2(cg->b, cg->t_f32, src, &idx, 1, "");
            LLVMValueRef args[4] = {ptrs, LLVMConstInt(cg->t_i32, 4, 0), maskv[j], zero};
            v = LLVMBuildCall2(cg->b, gty, gfn, args, 4, "");
        }
        LLVMValueRef s = LLVMBuildStore(cg->b, v, vp);
        LLVMSetAlignment(s, 4);
    }
    tsl_cpu_loop_end(cg, &lk);
    return true;
}
