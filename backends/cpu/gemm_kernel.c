/* gemm_kernel.c - the register-tiled GEMM used by Gemm, MatMul and Conv.
 *
 * C = act(alpha * A B + bias) is computed tile by tile: for each nr-wide
 * column panel of B (packed at compile time for weights, or packed at run
 * time into the step's scratch from a strided matrix or an im2col view of a
 * padded image), every mr-row tile of C is produced by a micro-kernel that
 * keeps mr x nv accumulators of type <vw x float> in registers across the
 * whole K loop (phi nodes) and updates them with llvm.fma on a broadcast
 * element of A and nv vectors of the B panel.  The epilogue (alpha, bias,
 * the fused elementwise program of cpu_internal.h) runs on the registers
 * before the single store of each tile.
 * Micro-kernels are specialised for the static edge sizes (rows < mr,
 * columns < nr) so the main loops carry no masks.
 *
 * Not here: choosing what A, B, C are for an op (lower_gemm.c, lower_conv.c),
 * K blocking for caches and threading (docs/cpu-backend.md, next steps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "tessel/util.h"

static int nr_of(const struct tsl_cpu_cg *cg)
{
    return cg->tgt->vw * cg->tgt->nv;
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
            p[(m / mr) * K * mr + k * mr + m % mr] = w[m * a_rs + k * a_cs] * scale;
    enum tsl_status st = tsl_cpu_blob_add(cg, p, (size_t)n * sizeof(float), off_out);
    free(p);
    return st;
}

enum tsl_status tsl_cpu_pack_b(struct tsl_cpu_cg *cg, const float *w, int64_t K, int64_t N,
                               int64_t b_rs, int64_t b_cs, float scale, int64_t *off_out)
{
    int64_t nr = nr_of(cg), panels = (N + nr - 1) / nr, n;
    if (!tsl_mul_i64(panels * nr, K, &n) || n > INT64_MAX / 4)
        return tsl_diag_error(cg->diag, TSL_STATUS_LIMIT, cg->g->name, "packed B too large");
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, cg->g->name, "packing weights");
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++)
            p[(j / nr) * K * nr + k * nr + j % nr] = w[k * b_rs + j * b_cs] * scale;
    enum tsl_status st = tsl_cpu_blob_add(cg, p, (size_t)n * sizeof(float), off_out);
    free(p);
    return st;
}

int64_t tsl_cpu_gemm_scratch(const struct tsl_cpu_cg *cg, int64_t K)
{
    return K * nr_of(cg) * (int64_t)sizeof(float) + (int64_t)nr_of(cg) * 8;
}

static LLVMValueRef splat(struct tsl_cpu_cg *cg, LLVMValueRef s)
{
    unsigned vw = (unsigned)cg->tgt->vw;
    LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(cg->t_vec), s,
                                            LLVMConstInt(cg->t_i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(cg->t_i32, vw));
    return LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(cg->t_vec), mask, "");
}

static LLVMValueRef vload(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef vp = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, idx),
                                       LLVMPointerType(cg->t_vec, 0), "");
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_vec, vp, "");
    LLVMSetAlignment(v, 4);
    return v;
}

static void vstore(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef vp = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, idx),
                                       LLVMPointerType(cg->t_vec, 0), "");
    LLVMValueRef s = LLVMBuildStore(cg->b, v, vp);
    LLVMSetAlignment(s, 4);
}

/* Vector of lanes [0, valid) loaded one by one (rest 0): edge columns. */
static LLVMValueRef vload_partial(struct tsl_cpu_cg *cg, LLVMValueRef p, int64_t base,
                                  int valid)
{
    LLVMValueRef v = LLVMConstNull(cg->t_vec);
    for (int l = 0; l < valid; l++)
        v = LLVMBuildInsertElement(cg->b, v, tsl_cpu_load(cg, p, tsl_cpu_i64(cg, base + l)),
                                   LLVMConstInt(cg->t_i32, (unsigned)l, 0), "");
    return v;
}

/* Parameters of struct tsl_cpu_uk taken from p for a rows x cols tile. */
static struct tsl_cpu_uk uk_key(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                                int rows, int cols)
{
    struct tsl_cpu_uk k;
    memset(&k, 0, sizeof k);
    k.rows = rows, k.cols = cols;
    k.a_packed = p->a_packed;
    k.a_rs = p->a_packed ? 1 : p->a_rs;
    k.a_cs = p->a_packed ? cg->tgt->mr : p->a_cs;
    k.has_bias = p->has_bias;
    k.bias_rs = p->has_bias ? p->bias_rs : 0;
    k.bias_cs = p->has_bias ? p->bias_cs : 0;
    k.alpha = p->alpha;
    k.act = p->act;
    k.has_res = p->has_res;
    return k;
}

static bool uk_same(const struct tsl_cpu_uk *x, const struct tsl_cpu_uk *y)
{
    return x->rows == y->rows && x->cols == y->cols && x->a_packed == y->a_packed &&
           x->has_bias == y->has_bias && x->a_rs == y->a_rs && x->a_cs == y->a_cs &&
           x->bias_rs == y->bias_rs && x->bias_cs == y->bias_cs && x->alpha == y->alpha &&
           tsl_cpu_act_equal(&x->act, &y->act) && x->has_res == y->has_res;
}

static LLVMTypeRef uk_type(struct tsl_cpu_cg *cg)
{
    LLVMTypeRef params[7] = {cg->t_pf32, cg->t_pf32, cg->t_pf32, cg->t_pf32,
                             cg->t_pf32, cg->t_i64,  cg->t_i64};
    return LLVMFunctionType(cg->t_void, params, 7, 0);
}

/* Build the micro-kernel for a tile of k.rows x k.cols (cols <= nr):
 *   void uk(float *a, float *bpanel, float *c, float *bias, float *res,
 *           i64 K, i64 ldc)
 * a/c/bias/res already point at the tile's origin; res (the fused residual
 * Add operand) has C's layout.  K >= 1. */
static LLVMValueRef build_ukernel(struct tsl_cpu_cg *cg, const struct tsl_cpu_uk *key)
{
    const int vw = cg->tgt->vw, nr = vw * cg->tgt->nv, rows = key->rows, cols = key->cols;
    const int64_t a_rs = key->a_rs, a_cs = key->a_cs;
    char name[96];
    snprintf(name, sizeof name, "%s_uk%u_%dx%d", cg->prefix, cg->uniq++, rows, cols);
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, uk_type(cg));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    for (unsigned i = 0; i < 3; i++)
        LLVMAddAttributeAtIndex(fn, i + 1,
                                LLVMCreateEnumAttribute(cg->ctx,
                                                        LLVMGetEnumAttributeKindForName("noalias", 7), 0));
    /* shared by many call sites: keep one copy (compile time, code size) */
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(cg->ctx,
                                                    LLVMGetEnumAttributeKindForName("noinline", 8), 0));

    LLVMValueRef saved_fn = cg->fn;
    LLVMBasicBlockRef saved_bb = LLVMGetInsertBlock(cg->b);
    cg->fn = fn;
    LLVMValueRef a = LLVMGetParam(fn, 0), bp = LLVMGetParam(fn, 1), c = LLVMGetParam(fn, 2),
                 bias = LLVMGetParam(fn, 3), res = LLVMGetParam(fn, 4),
                 kend = LLVMGetParam(fn, 5), ldc = LLVMGetParam(fn, 6);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(cg->ctx, fn, "k");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, fn, "epilogue");
    LLVMPositionBuilderAtEnd(cg->b, entry);
    LLVMBuildBr(cg->b, loop);

    LLVMPositionBuilderAtEnd(cg->b, loop);
    LLVMValueRef k = LLVMBuildPhi(cg->b, cg->t_i64, "k");
    LLVMValueRef zero64 = tsl_cpu_i64(cg, 0);
    LLVMAddIncoming(k, &zero64, &entry, 1);
    int nvu = (cols + vw - 1) / vw; /* vectors actually needed */
    LLVMValueRef acc[16][8], phi[16][8];
    LLVMValueRef vzero = LLVMConstNull(cg->t_vec);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nvu; j++) {
            phi[r][j] = LLVMBuildPhi(cg->b, cg->t_vec, "acc");
            LLVMAddIncoming(phi[r][j], &vzero, &entry, 1);
        }
    LLVMValueRef kb = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef bv[8];
    for (int j = 0; j < nvu; j++)
        bv[j] = vload(cg, bp, LLVMBuildNSWAdd(cg->b, kb, tsl_cpu_i64(cg, j * vw), ""));
    LLVMValueRef ka = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, a_cs), "");
    for (int r = 0; r < rows; r++) {
        LLVMValueRef ai = LLVMBuildNSWAdd(cg->b, ka, tsl_cpu_i64(cg, r * a_rs), "");
        LLVMValueRef as = splat(cg, tsl_cpu_load(cg, a, ai));
        for (int j = 0; j < nvu; j++) {
            LLVMValueRef args[3] = {as, bv[j], phi[r][j]};
            acc[r][j] = tsl_cpu_intrinsic(cg, "llvm.fma", cg->t_vec, args, 3);
        }
    }
    LLVMValueRef kn = LLVMBuildNSWAdd(cg->b, k, tsl_cpu_i64(cg, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
    LLVMAddIncoming(k, &kn, &latch, 1);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nvu; j++)
            LLVMAddIncoming(phi[r][j], &acc[r][j], &latch, 1);
    LLVMValueRef more = LLVMBuildICmp(cg->b, LLVMIntSLT, kn, kend, "");
    LLVMBuildCondBr(cg->b, more, loop, exit);

    LLVMPositionBuilderAtEnd(cg->b, exit);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nvu; j++) {
            int valid = cols - j * vw < vw ? cols - j * vw : vw;
            LLVMValueRef v = acc[r][j];
            if (key->alpha != 1.0f)
                v = LLVMBuildFMul(cg->b, v, splat(cg, tsl_cpu_f32c(cg, key->alpha)), "");
            if (key->has_bias) {
                int64_t bo = r * key->bias_rs + (int64_t)j * vw * key->bias_cs;
                LLVMValueRef bvv;
                if (key->bias_cs == 0)
                    bvv = splat(cg, tsl_cpu_load(cg, bias, tsl_cpu_i64(cg, bo)));
                else if (valid == vw)
                    bvv = vload(cg, bias, tsl_cpu_i64(cg, bo));
                else
                    bvv = vload_partial(cg, bias, bo, valid);
                v = LLVMBuildFAdd(cg->b, v, bvv, "");
            }
            LLVMValueRef co = LLVMBuildNSWAdd(
                cg->b, LLVMBuildNSWMul(cg->b, ldc, tsl_cpu_i64(cg, r), ""),
                tsl_cpu_i64(cg, (int64_t)j * vw), "");
            if (key->has_res) {
                LLVMValueRef rv;
                if (valid == vw) {
                    rv = vload(cg, res, co);
                } else {
                    rv = LLVMConstNull(cg->t_vec);
                    for (int l = 0; l < valid; l++)
                        rv = LLVMBuildInsertElement(
                            cg->b, rv,
                            tsl_cpu_load(cg, res, LLVMBuildNSWAdd(cg->b, co, tsl_cpu_i64(cg, l), "")),
                            LLVMConstInt(cg->t_i32, (unsigned)l, 0), "");
                }
                v = LLVMBuildFAdd(cg->b, v, rv, "");
            }
            v = tsl_cpu_apply_act(cg, &key->act, v);
            if (valid == vw) {
                vstore(cg, v, c, co);
            } else {
                for (int l = 0; l < valid; l++)
                    tsl_cpu_store(cg,
                                  LLVMBuildExtractElement(cg->b, v,
                                                          LLVMConstInt(cg->t_i32, (unsigned)l, 0), ""),
                                  c, LLVMBuildNSWAdd(cg->b, co, tsl_cpu_i64(cg, l), ""));
            }
        }
    LLVMBuildRetVoid(cg->b);

    cg->fn = saved_fn;
    LLVMPositionBuilderAtEnd(cg->b, saved_bb);
    return fn;
}

/* The module's micro-kernel for p's rows x cols tile, built on first use.
 * NULL only when out of memory (then a fresh, unshared kernel is built). */
static LLVMValueRef get_ukernel(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, int rows,
                                int cols)
{
    struct tsl_cpu_uk key = uk_key(cg, p, rows, cols);
    for (uint32_t i = 0; i < cg->n_uks; i++)
        if (uk_same(&cg->uks[i], &key))
            return cg->uks[i].fn;
    key.fn = build_ukernel(cg, &key);
    if (cg->n_uks == cg->cap_uks) {
        uint32_t cap = cg->cap_uks ? 2 * cg->cap_uks : 16;
        struct tsl_cpu_uk *u = realloc(cg->uks, cap * sizeof *u);
        if (!u)
            return key.fn; /* not cached: still correct */
        cg->uks = u;
        cg->cap_uks = cap;
    }
    cg->uks[cg->n_uks++] = key;
    return key.fn;
}

/* Row k of a contiguous panel: nr floats from src[at] (vector moves). */
static void pack_row_copy(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef k,
                          LLVMValueRef src, LLVMValueRef at)
{
    const int nr = nr_of(cg);
    tsl_cpu_copy_floats(cg, tsl_cpu_gep(cg, dst, LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "")),
                        tsl_cpu_gep(cg, src, at), nr);
}

/* Row k of a panel that wraps one output row: lanes j < len from
 * src[at + j], the others from src[at + delta + j] (two vector loads per
 * vector and a lane select). */
static void pack_row_blend(struct tsl_cpu_cg *cg, LLVMValueRef dst, LLVMValueRef k,
                           LLVMValueRef src, LLVMValueRef at, LLVMValueRef delta,
                           LLVMValueRef len)
{
    const int vw = cg->tgt->vw, nv = cg->tgt->nv, nr = vw * nv;
    LLVMTypeRef iv = LLVMVectorType(cg->t_i64, (unsigned)vw);
    LLVMValueRef lenv = LLVMBuildInsertElement(cg->b, LLVMGetUndef(iv), len,
                                               LLVMConstInt(cg->t_i32, 0, 0), "");
    lenv = LLVMBuildShuffleVector(cg->b, lenv, LLVMGetUndef(iv),
                                  LLVMConstNull(LLVMVectorType(cg->t_i32, (unsigned)vw)), "");
    LLVMValueRef d = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef at2 = LLVMBuildNSWAdd(cg->b, at, delta, "");
    for (int j = 0; j < nv; j++) {
        LLVMValueRef lanes[64];
        for (int l = 0; l < vw; l++)
            lanes[l] = tsl_cpu_i64(cg, j * vw + l);
        LLVMValueRef first = LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)vw),
                                           lenv, "");
        LLVMValueRef o = tsl_cpu_i64(cg, j * vw);
        LLVMValueRef v1 = vload(cg, src, LLVMBuildNSWAdd(cg->b, at, o, ""));
        LLVMValueRef v2 = vload(cg, src, LLVMBuildNSWAdd(cg->b, at2, o, ""));
        vstore(cg, LLVMBuildSelect(cg->b, first, v1, v2, ""), dst, LLVMBuildNSWAdd(cg->b, d, o, ""));
    }
}

/* Contiguous fast path of emit_pack_b for a full panel: B with unit column
 * stride (every k row is nr consecutive elements), or the im2col view with
 * column stride 1 and at least nr output columns, where a panel covers the
 * end of one output row and the start of the next at most: k rows are then
 * one copy, or a blend of two runs when the panel wraps (decided per panel
 * at run time; every read stays inside the image: the rows read are rows of
 * the padded image that valid outputs read anyway).  Returns true when it
 * packed the panel (builder after it). */
static bool emit_pack_b_fast(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                             LLVMValueRef src, LLVMValueRef n0, int cols, LLVMValueRef dst)
{
    const int nr = nr_of(cg);
    bool conv = p->koff_off >= 0;
    if (cols != nr || (conv ? p->conv_sw != 1 || p->conv_ow < nr : p->b_cs != 1))
        return false;
    struct tsl_cpu_loop lk;
    if (!conv) {
        LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, p->K, 1, "pkf");
        pack_row_copy(cg, dst, k, src,
                      LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, p->b_rs), ""),
                                      n0, ""));
        tsl_cpu_loop_end(cg, &lk);
        return true;
    }
    LLVMValueRef ow = tsl_cpu_i64(cg, p->conv_ow), rowstep = tsl_cpu_i64(cg, p->conv_sh * p->conv_pw);
    LLVMValueRef ox = LLVMBuildSRem(cg->b, n0, ow, "");
    LLVMValueRef base = LLVMBuildNSWAdd(
        cg->b, LLVMBuildNSWMul(cg->b, LLVMBuildSDiv(cg->b, n0, ow, ""), rowstep, ""), ox, "");
    LLVMValueRef len = LLVMBuildNSWSub(cg->b, ow, ox, ""); /* columns left in the row */
    LLVMValueRef fits = LLVMBuildICmp(cg->b, LLVMIntSGE, len, tsl_cpu_i64(cg, nr), "");
    /* lane j >= len reads the next row: base + j + (rowstep - ow) */
    LLVMValueRef delta = LLVMBuildNSWSub(cg->b, rowstep, ow, "");
    LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pack_copy");
    LLVMBasicBlockRef blend = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pack_blend");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "packed");
    LLVMValueRef kp = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, p->koff_off),
                                       LLVMPointerType(cg->t_i32, 0), "");
    LLVMBuildCondBr(cg->b, fits, copy, blend);
    for (int pass = 0; pass < 2; pass++) {
        LLVMPositionBuilderAtEnd(cg->b, pass == 0 ? copy : blend);
        LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, p->K, 1, "pkf");
        LLVMValueRef kv = LLVMBuildLoad2(cg->b, cg->t_i32,
                                         LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, kp, &k, 1, ""), "");
        LLVMSetAlignment(kv, 4);
        LLVMValueRef at = LLVMBuildNSWAdd(cg->b, LLVMBuildSExt(cg->b, kv, cg->t_i64, ""), base, "");
        if (pass == 0)
            pack_row_copy(cg, dst, k, src, at);
        else
            pack_row_blend(cg, dst, k, src, at, delta, len);
        tsl_cpu_loop_end(cg, &lk);
        LLVMBuildBr(cg->b, done);
    }
    LLVMPositionBuilderAtEnd(cg->b, done);
    return true;
}

/* Stride-2 im2col panel that stays in one output row: each k row is the
 * even elements of 2*nr - 1 consecutive source elements, gathered with two
 * vector loads and a shuffle per vector (no read past the last needed
 * element).  Emits the run-time test; returns the block both paths join
 * (the builder is left in the per-column fallback, which must branch
 * there), or NULL when it does not apply. */
static LLVMBasicBlockRef emit_pack_b_s2(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                                        LLVMValueRef src, LLVMValueRef n0, int cols,
                                        LLVMValueRef dst)
{
    const int vw = cg->tgt->vw, nv = cg->tgt->nv, nr = vw * nv;
    if (cols != nr || p->koff_off < 0 || p->conv_sw != 2 || p->conv_ow < nr || vw > 64)
        return NULL;
    LLVMValueRef ow = tsl_cpu_i64(cg, p->conv_ow);
    LLVMValueRef ox = LLVMBuildSRem(cg->b, n0, ow, "");
    LLVMValueRef base = LLVMBuildNSWAdd(
        cg->b,
        LLVMBuildNSWMul(cg->b, LLVMBuildSDiv(cg->b, n0, ow, ""),
                        tsl_cpu_i64(cg, p->conv_sh * p->conv_pw), ""),
        LLVMBuildNSWMul(cg->b, ox, tsl_cpu_i64(cg, 2), ""), "");
    LLVMValueRef fits = LLVMBuildICmp(cg->b, LLVMIntSLE,
                                      LLVMBuildNSWAdd(cg->b, ox, tsl_cpu_i64(cg, nr), ""), ow, "");
    LLVMValueRef kp = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, p->koff_off),
                                       LLVMPointerType(cg->t_i32, 0), "");
    LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pack_s2");
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pack_gather");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "packed");
    LLVMBuildCondBr(cg->b, fits, fast, slow);
    LLVMPositionBuilderAtEnd(cg->b, fast);
    /* lane l of a vector: element 2l of the run; from the low load when
     * 2l < vw, else from the high load (which starts at vw - 1) */
    LLVMValueRef mask[64];
    for (int l = 0; l < vw; l++)
        mask[l] = LLVMConstInt(cg->t_i32, 2 * l < vw ? (unsigned)(2 * l)
                                                     : (unsigned)(vw + 2 * l - vw + 1), 0);
    LLVMValueRef mv = LLVMConstVector(mask, (unsigned)vw);
    struct tsl_cpu_loop lk;
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, p->K, 1, "pks2");
    LLVMValueRef kv = LLVMBuildLoad2(cg->b, cg->t_i32,
                                     LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, kp, &k, 1, ""), "");
    LLVMSetAlignment(kv, 4);
    LLVMValueRef at = LLVMBuildNSWAdd(cg->b, LLVMBuildSExt(cg->b, kv, cg->t_i64, ""), base, "");
    LLVMValueRef d = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    for (int j = 0; j < nv; j++) {
        LLVMValueRef a0 = LLVMBuildNSWAdd(cg->b, at, tsl_cpu_i64(cg, 2 * j * vw), "");
        LLVMValueRef lo = vload(cg, src, a0);
        LLVMValueRef hi = vload(cg, src, LLVMBuildNSWAdd(cg->b, a0, tsl_cpu_i64(cg, vw - 1), ""));
        vstore(cg, LLVMBuildShuffleVector(cg->b, lo, hi, mv, ""), dst,
               LLVMBuildNSWAdd(cg->b, d, tsl_cpu_i64(cg, j * vw), ""));
    }
    tsl_cpu_loop_end(cg, &lk);
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, slow);
    return done;
}

/* Pack the runtime B panel starting at column n0 (cols valid) into dst. */
static void emit_pack_b_raw(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef src,
                            LLVMValueRef n0, int cols, LLVMValueRef dst)
{
    const int nr = nr_of(cg);
    if (emit_pack_b_fast(cg, p, src, n0, cols, dst))
        return;
    LLVMBasicBlockRef done = emit_pack_b_s2(cg, p, src, n0, cols, dst);
    /* base[j] for j < cols: offset of column n0 + j in src */
    LLVMValueRef basep = LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, dst, tsl_cpu_i64(cg, p->K * nr)),
                                          LLVMPointerType(cg->t_i64, 0), "");
    struct tsl_cpu_loop lj;
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, 0, cols, 1, "pj");
    LLVMValueRef n = LLVMBuildNSWAdd(cg->b, n0, j, "");
    LLVMValueRef base;
    if (p->koff_off >= 0) {
        LLVMValueRef ow = tsl_cpu_i64(cg, p->conv_ow);
        LLVMValueRef oh = LLVMBuildSDiv(cg->b, n, ow, "");
        LLVMValueRef ox = LLVMBuildSRem(cg->b, n, ow, "");
        base = LLVMBuildNSWAdd(
            cg->b, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, p->conv_sh * p->conv_pw), ""),
            LLVMBuildNSWMul(cg->b, ox, tsl_cpu_i64(cg, p->conv_sw), ""), "");
    } else {
        base = LLVMBuildNSWMul(cg->b, n, tsl_cpu_i64(cg, p->b_cs), "");
    }
    LLVMValueRef s = LLVMBuildStore(cg->b, base,
                                    LLVMBuildInBoundsGEP2(cg->b, cg->t_i64, basep, &j, 1, ""));
    LLVMSetAlignment(s, 8);
    tsl_cpu_loop_end(cg, &lj);

    struct tsl_cpu_loop lk, lj2;
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, p->K, 1, "pk");
    LLVMValueRef koff;
    if (p->koff_off >= 0) {
        LLVMValueRef kp = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, p->koff_off),
                                           LLVMPointerType(cg->t_i32, 0), "");
        LLVMValueRef kv = LLVMBuildLoad2(cg->b, cg->t_i32,
                                         LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, kp, &k, 1, ""), "");
        LLVMSetAlignment(kv, 4);
        koff = LLVMBuildSExt(cg->b, kv, cg->t_i64, "");
    } else {
        koff = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, p->b_rs), "");
    }
    LLVMValueRef drow = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef j2 = tsl_cpu_loop_begin(cg, &lj2, 0, cols, 1, "pj");
    LLVMValueRef bj = LLVMBuildLoad2(cg->b, cg->t_i64,
                                     LLVMBuildInBoundsGEP2(cg->b, cg->t_i64, basep, &j2, 1, ""), "");
    LLVMSetAlignment(bj, 8);
    LLVMValueRef x = tsl_cpu_load(cg, src, LLVMBuildNSWAdd(cg->b, koff, bj, ""));
    tsl_cpu_store(cg, x, dst, LLVMBuildNSWAdd(cg->b, drow, j2, ""));
    tsl_cpu_loop_end(cg, &lj2);
    for (int z = cols; z < nr; z++)
        tsl_cpu_store(cg, tsl_cpu_f32c(cg, 0.0), dst,
                      LLVMBuildNSWAdd(cg->b, drow, tsl_cpu_i64(cg, z), ""));
    tsl_cpu_loop_end(cg, &lk);
    if (done) {
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, done);
    }
}

/* Pack the panel, then scale row k by b_scale[k / b_scale_div] when the
 * step folds a squeeze-excite Mul into its B (the panel is in cache). */
static void emit_pack_b(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef src,
                        LLVMValueRef n0, int cols, LLVMValueRef dst)
{
    emit_pack_b_raw(cg, p, src, n0, cols, dst);
    if (!p->b_scale)
        return;
    const int vw = cg->tgt->vw, nv = cg->tgt->nv, nr = vw * nv;
    struct tsl_cpu_loop lk;
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, p->K, 1, "sk");
    LLVMValueRef c = p->b_scale_div > 1 ? LLVMBuildSDiv(cg->b, k, tsl_cpu_i64(cg, p->b_scale_div), "")
                                        : k;
    LLVMValueRef sc = splat(cg, tsl_cpu_load(cg, p->b_scale, c));
    LLVMValueRef d = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    for (int j = 0; j < nv; j++) {
        LLVMValueRef at = LLVMBuildNSWAdd(cg->b, d, tsl_cpu_i64(cg, j * vw), "");
        vstore(cg, LLVMBuildFMul(cg->b, vload(cg, dst, at), sc, ""), dst, at);
    }
    tsl_cpu_loop_end(cg, &lk);
}

static void call_uk(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef fn,
                    LLVMValueRef *args)
{
    args[5] = tsl_cpu_i64(cg, p->K);
    args[6] = tsl_cpu_i64(cg, p->ldc);
    LLVMBuildCall2(cg->b, uk_type(cg), fn, args, 7, "");
}

/* One nr-wide column tile at n0 with `cols` valid columns: all row tiles. */
static void emit_ntile(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef a,
                       LLVMValueRef b, LLVMValueRef c, LLVMValueRef bias, LLVMValueRef res,
                       LLVMValueRef scratch, LLVMValueRef n0, int cols)
{
    const int64_t mr = cg->tgt->mr;
    LLVMValueRef panel;
    if (p->b_packed) {
        LLVMValueRef off = LLVMBuildNSWMul(cg->b, n0, tsl_cpu_i64(cg, p->K), "");
        panel = tsl_cpu_gep(cg, b, off); /* (n0/nr)*K*nr == n0*K */
    } else {
        emit_pack_b(cg, p, b, n0, cols, scratch);
        panel = scratch;
    }
    LLVMValueRef cn = tsl_cpu_gep(cg, c, n0);
    LLVMValueRef rn = p->has_res ? tsl_cpu_gep(cg, res, n0) : res;
    LLVMValueRef bn = bias;
    if (p->has_bias && p->bias_cs)
        bn = tsl_cpu_gep(cg, bias, LLVMBuildNSWMul(cg->b, n0, tsl_cpu_i64(cg, p->bias_cs), ""));
    int64_t mfull = p->M / mr * mr, mrem = p->M - mfull;
    const int64_t a_step = p->a_packed ? p->K : p->a_rs; /* per row */
    if (mfull > 0) {
        LLVMValueRef uk = get_ukernel(cg, p, (int)mr, cols);
        struct tsl_cpu_loop lm;
        LLVMValueRef m0 = tsl_cpu_loop_begin(cg, &lm, 0, mfull, mr, "m");
        LLVMValueRef mc = LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, p->ldc), "");
        LLVMValueRef args[7] = {
            tsl_cpu_gep(cg, a, LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, a_step), "")), panel,
            tsl_cpu_gep(cg, cn, mc),
            p->has_bias
                ? tsl_cpu_gep(cg, bn, LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, p->bias_rs), ""))
                : bn,
            p->has_res ? tsl_cpu_gep(cg, rn, mc) : rn, NULL, NULL};
        call_uk(cg, p, uk, args);
        tsl_cpu_loop_end(cg, &lm);
    }
    if (mrem > 0) {
        LLVMValueRef uk = get_ukernel(cg, p, (int)mrem, cols);
        LLVMValueRef mc = tsl_cpu_i64(cg, mfull * p->ldc);
        LLVMValueRef args[7] = {
            tsl_cpu_gep(cg, a, tsl_cpu_i64(cg, mfull * a_step)), panel, tsl_cpu_gep(cg, cn, mc),
            p->has_bias ? tsl_cpu_gep(cg, bn, tsl_cpu_i64(cg, mfull * p->bias_rs)) : bn,
            p->has_res ? tsl_cpu_gep(cg, rn, mc) : rn, NULL, NULL};
        call_uk(cg, p, uk, args);
    }
}

void tsl_cpu_gemm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef a,
                       LLVMValueRef b, LLVMValueRef c, LLVMValueRef bias, LLVMValueRef res,
                       LLVMValueRef scratch)
{
    const int64_t nr = nr_of(cg);
    int64_t nfull = p->N / nr * nr, nrem = p->N - nfull;
    if (!p->has_bias)
        bias = LLVMConstNull(cg->t_pf32);
    if (!p->has_res)
        res = LLVMConstNull(cg->t_pf32);
    if (nfull > 0) {
        struct tsl_cpu_loop ln;
        LLVMValueRef n0 = tsl_cpu_loop_begin(cg, &ln, 0, nfull, nr, "n");
        emit_ntile(cg, p, a, b, c, bias, res, scratch, n0, (int)nr);
        tsl_cpu_loop_end(cg, &ln);
    }
    if (nrem > 0)
        emit_ntile(cg, p, a, b, c, bias, res, scratch, tsl_cpu_i64(cg, nfull), (int)nrem);
}
