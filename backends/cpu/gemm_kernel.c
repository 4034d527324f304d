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
 * The whole GEMM (and a batch of independent GEMMs: groups, MatMul batch)
 * is one parallel region (par.c) over (problem, n-group, m-block) items;
 * each thread packs runtime B panels into its own scratch (or, when M is
 * split, a region of its own packs them once into the shared scratch).
 * Every C tile goes through the same sequence of micro-kernel calls, K
 * block by K block, whatever the split, so results do not depend on the
 * thread count.
 *
 * K is cut into blocks of at most 256 and N into groups of up to 8 panels:
 * per K block, a group's B blocks are packed together (L2) and every row
 * tile runs against all of them (its A block stays in L1); partial sums go
 * through C between K blocks (bitwise the same results).
 *
 * Not here: choosing what A, B, C are for an op (lower_gemm.c, lower_conv.c),
 * packing constant operands (gemm_pack.c), im2col panels that need a
 * per-column gather (gemm_gather.c),
 * M blocking for caches (docs/cpu-backend.md, next steps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "tessel/util.h"

/* Software prefetch distance, in floats, of the packed A (weight) stream in
 * the micro-kernel's K loop: 1024 floats = 4 KiB ahead, 128 k-steps of an
 * 8-row panel.  The weights of a whole model (100 MB for ResNet-50) do not
 * stay in cache between runs, and the hardware prefetchers restart at every
 * A block; measured on ResNet-50 at 1 thread (best of 20 runs, three
 * interleaved rounds): 71.5-73.7 ms without, 64.5-66.5 ms with 512-4096
 * floats, 1024 the most consistent. */
#define TSL_CPU_A_PREFETCH 1024

static int nr_of(const struct tsl_cpu_cg *cg)
{
    return cg->tgt->vw * cg->tgt->nv;
}

/* K blocking: K is cut into nkb = ceil(K / TSL_CPU_KC) balanced blocks of
 * at most TSL_CPU_KC, so the block of the B panel a micro-kernel streams
 * (kc x nr floats, 32 KiB for kc = 256, nr = 32) stays in L1 while every row
 * tile of the item uses it.  Partial sums go through C between blocks: the
 * fma chain of every accumulator is the same as without blocking, so the
 * results are bitwise unchanged. */
#define TSL_CPU_KC 256
static int64_t kc_of(int64_t K)
{
    int64_t nkb = (K + TSL_CPU_KC - 1) / TSL_CPU_KC;
    if (nkb <= 1)
        return K;
    int64_t kc = (K + nkb - 1) / nkb;
    return (nkb - 1) * kc < K ? kc : TSL_CPU_KC; /* the last block is never empty */
}

int64_t tsl_cpu_gemm_kc(int64_t K)
{
    return kc_of(K);
}

/* Floats of one pre-packed panel: K x nr, then nr i64 column bases. */
static int64_t shared_slot(const struct tsl_cpu_cg *cg, int64_t K)
{
    return K * nr_of(cg) + 2 * (int64_t)nr_of(cg);
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

/* Element offset of vector j of row r in a C tile: r * ldc + j * vw. */
static LLVMValueRef tile_off(struct tsl_cpu_cg *cg, LLVMValueRef ldc, int r, int j)
{
    return LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, ldc, tsl_cpu_i64(cg, r), ""),
                           tsl_cpu_i64(cg, (int64_t)j * cg->tgt->vw), "");
}

/* Load / store the first `valid` lanes of a C vector at p[off] (the rest of
 * a partial vector is zero / untouched). */
static LLVMValueRef tile_load(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef off, int valid)
{
    if (valid == cg->tgt->vw)
        return vload(cg, p, off);
    LLVMValueRef v = LLVMConstNull(cg->t_vec);
    for (int l = 0; l < valid; l++)
        v = LLVMBuildInsertElement(
            cg->b, v, tsl_cpu_load(cg, p, LLVMBuildNSWAdd(cg->b, off, tsl_cpu_i64(cg, l), "")),
            LLVMConstInt(cg->t_i32, (unsigned)l, 0), "");
    return v;
}

static void tile_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off,
                       int valid)
{
    if (valid == cg->tgt->vw) {
        vstore(cg, v, p, off);
        return;
    }
    for (int l = 0; l < valid; l++)
        tsl_cpu_store(cg,
                      LLVMBuildExtractElement(cg->b, v, LLVMConstInt(cg->t_i32, (unsigned)l, 0), ""),
                      p, LLVMBuildNSWAdd(cg->b, off, tsl_cpu_i64(cg, l), ""));
}

/* Parameters of struct tsl_cpu_uk taken from p for a rows x cols tile. */
static struct tsl_cpu_uk uk_key(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                                int rows, int cols, int kmode)
{
    struct tsl_cpu_uk k;
    memset(&k, 0, sizeof k);
    k.rows = rows, k.cols = cols;
    k.kmode = kmode;
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
           tsl_cpu_act_equal(&x->act, &y->act) && x->has_res == y->has_res &&
           x->kmode == y->kmode;
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
 * Add operand) has C's layout.  K >= 1.  With K blocking (key->kmode) the
 * accumulators start from C's partial sums (middle, last blocks) and all
 * but the last block store them raw, without the epilogue. */
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
    int nvu = (cols + vw - 1) / vw; /* vectors actually needed */
    LLVMValueRef init[16][8];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nvu; j++) {
            int valid = cols - j * vw < vw ? cols - j * vw : vw;
            init[r][j] = key->kmode >= 2 ? tile_load(cg, c, tile_off(cg, ldc, r, j), valid)
                                         : LLVMConstNull(cg->t_vec);
        }
    LLVMBuildBr(cg->b, loop);

    LLVMPositionBuilderAtEnd(cg->b, loop);
    LLVMValueRef k = LLVMBuildPhi(cg->b, cg->t_i64, "k");
    LLVMValueRef zero64 = tsl_cpu_i64(cg, 0);
    LLVMAddIncoming(k, &zero64, &entry, 1);
    LLVMValueRef acc[16][8], phi[16][8];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nvu; j++) {
            phi[r][j] = LLVMBuildPhi(cg->b, cg->t_vec, "acc");
            LLVMAddIncoming(phi[r][j], &init[r][j], &entry, 1);
        }
    LLVMValueRef kb = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef bv[8];
    for (int j = 0; j < nvu; j++)
        bv[j] = vload(cg, bp, LLVMBuildNSWAdd(cg->b, kb, tsl_cpu_i64(cg, j * vw), ""));
    LLVMValueRef ka = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, a_cs), "");
    if (key->a_packed) { /* software prefetch of the weight stream (see TSL_CPU_A_PREFETCH) */
        LLVMValueRef idx = LLVMBuildNSWAdd(cg->b, ka, tsl_cpu_i64(cg, TSL_CPU_A_PREFETCH), "");
        /* not inbounds: the address may lie past the end of the blob, which
         * a prefetch may name (it never faults) but an inbounds GEP may not */
        LLVMValueRef pa = LLVMBuildGEP2(cg->b, cg->t_f32, a, &idx, 1, "");
        LLVMTypeRef i32 = LLVMInt32TypeInContext(cg->ctx);
        LLVMValueRef pargs[4] = {pa, LLVMConstInt(i32, 0, 0) /* read */,
                                 LLVMConstInt(i32, 3, 0) /* keep in all levels */,
                                 LLVMConstInt(i32, 1, 0) /* data */};
        tsl_cpu_intrinsic(cg, "llvm.prefetch", cg->t_pf32, pargs, 4);
    }
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
    if (key->kmode == 1 || key->kmode == 2) { /* partial sums of a K block */
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < nvu; j++) {
                int valid = cols - j * vw < vw ? cols - j * vw : vw;
                tile_store(cg, acc[r][j], c, tile_off(cg, ldc, r, j), valid);
            }
        LLVMBuildRetVoid(cg->b);
        cg->fn = saved_fn;
        LLVMPositionBuilderAtEnd(cg->b, saved_bb);
        return fn;
    }
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
                                int cols, int kmode)
{
    struct tsl_cpu_uk key = uk_key(cg, p, rows, cols, kmode);
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

LLVMValueRef tsl_cpu_koff_at(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef kabs)
{
    LLVMValueRef kp = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, p->koff_off),
                                       LLVMPointerType(cg->t_i32, 0), "");
    LLVMValueRef kv = LLVMBuildLoad2(cg->b, cg->t_i32,
                                     LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, kp, &kabs, 1, ""), "");
    LLVMSetAlignment(kv, 4);
    return kv;
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
                             LLVMValueRef src, LLVMValueRef n0, int cols, LLVMValueRef dst,
                             LLVMValueRef k0, int64_t klen)
{
    const int nr = nr_of(cg);
    bool conv = p->koff_off >= 0;
    if (cols != nr || (conv ? p->conv_sw != 1 || p->conv_ow < nr : p->b_cs != 1))
        return false;
    struct tsl_cpu_loop lk;
    if (!conv) {
        LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "pkf");
        LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
        pack_row_copy(cg, dst, k, src,
                      LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, kabs, tsl_cpu_i64(cg, p->b_rs), ""),
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
    LLVMBuildCondBr(cg->b, fits, copy, blend);
    for (int pass = 0; pass < 2; pass++) {
        LLVMPositionBuilderAtEnd(cg->b, pass == 0 ? copy : blend);
        LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "pkf");
        LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
        LLVMValueRef kv = tsl_cpu_koff_at(cg, p, kabs);
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
                                        LLVMValueRef dst, LLVMValueRef k0, int64_t klen)
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
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "pks2");
    LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
    LLVMValueRef kv = tsl_cpu_koff_at(cg, p, kabs);
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

/* Pack rows [k0, k0 + klen) of the runtime B panel starting at column n0
 * (cols valid) into dst (klen x nr floats; the columns' base offsets, nr
 * i64, are kept at the float* `bases`). */
static void emit_pack_b_raw(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef src,
                            LLVMValueRef n0, int cols, LLVMValueRef dst, LLVMValueRef k0,
                            int64_t klen, LLVMValueRef bases)
{
    const int nr = nr_of(cg);
    if (emit_pack_b_fast(cg, p, src, n0, cols, dst, k0, klen))
        return;
    LLVMBasicBlockRef done = emit_pack_b_s2(cg, p, src, n0, cols, dst, k0, klen);
    if (tsl_cpu_pack_b_gather(cg, p, src, n0, cols, dst, k0, klen)) { /* gemm_gather.c */
        if (done) {
            LLVMBuildBr(cg->b, done);
            LLVMPositionBuilderAtEnd(cg->b, done);
        }
        return;
    }
    /* base[j] for j < cols: offset of column n0 + j in src, kept at `bases` */
    LLVMValueRef basep = LLVMBuildBitCast(cg->b, bases, LLVMPointerType(cg->t_i64, 0), "");
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
    /* columns n0 .. n0+cols-1 adjacent in src (a strided B with unit column
     * stride, a 1x1 / stride-1 unpadded conv): one vector copy per row */
    bool contig = p->koff_off >= 0 ? p->conv_sw == 1 && p->conv_sh * p->conv_pw == p->conv_ow
                                   : p->b_cs == 1;
    LLVMValueRef base0 = NULL;
    if (contig)
        base0 = LLVMBuildLoad2(cg->b, cg->t_i64, basep, "");
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "pk");
    LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
    LLVMValueRef koff;
    if (p->koff_off >= 0) {
        LLVMValueRef kv = tsl_cpu_koff_at(cg, p, kabs);
        koff = LLVMBuildSExt(cg->b, kv, cg->t_i64, "");
    } else {
        koff = LLVMBuildNSWMul(cg->b, kabs, tsl_cpu_i64(cg, p->b_rs), "");
    }
    LLVMValueRef drow = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    if (contig) {
        tsl_cpu_copy_floats(cg, tsl_cpu_gep(cg, dst, drow),
                            tsl_cpu_gep(cg, src, LLVMBuildNSWAdd(cg->b, koff, base0, "")), cols);
    } else {
        LLVMValueRef j2 = tsl_cpu_loop_begin(cg, &lj2, 0, cols, 1, "pj");
        LLVMValueRef bj = LLVMBuildLoad2(
            cg->b, cg->t_i64, LLVMBuildInBoundsGEP2(cg->b, cg->t_i64, basep, &j2, 1, ""), "");
        LLVMSetAlignment(bj, 8);
        LLVMValueRef x = tsl_cpu_load(cg, src, LLVMBuildNSWAdd(cg->b, koff, bj, ""));
        tsl_cpu_store(cg, x, dst, LLVMBuildNSWAdd(cg->b, drow, j2, ""));
        tsl_cpu_loop_end(cg, &lj2);
    }
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
                        LLVMValueRef n0, int cols, LLVMValueRef dst, LLVMValueRef k0,
                        int64_t klen, LLVMValueRef bases)
{
    emit_pack_b_raw(cg, p, src, n0, cols, dst, k0, klen, bases);
    if (!p->b_scale)
        return;
    const int vw = cg->tgt->vw, nv = cg->tgt->nv, nr = vw * nv;
    struct tsl_cpu_loop lk;
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, klen, 1, "sk");
    LLVMValueRef kabs = LLVMBuildNSWAdd(cg->b, k0, k, "");
    LLVMValueRef c = p->b_scale_div > 1
                         ? LLVMBuildSDiv(cg->b, kabs, tsl_cpu_i64(cg, p->b_scale_div), "")
                         : kabs;
    LLVMValueRef sc = splat(cg, tsl_cpu_load(cg, p->b_scale, c));
    LLVMValueRef d = LLVMBuildNSWMul(cg->b, k, tsl_cpu_i64(cg, nr), "");
    for (int j = 0; j < nv; j++) {
        LLVMValueRef at = LLVMBuildNSWAdd(cg->b, d, tsl_cpu_i64(cg, j * vw), "");
        vstore(cg, LLVMBuildFMul(cg->b, vload(cg, dst, at), sc, ""), dst, at);
    }
    tsl_cpu_loop_end(cg, &lk);
}

static void call_uk(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef fn,
                    LLVMValueRef *args, int64_t klen)
{
    args[5] = tsl_cpu_i64(cg, klen);
    args[6] = tsl_cpu_i64(cg, p->ldc);
    LLVMBuildCall2(cg->b, uk_type(cg), fn, args, 7, "");
}

/* What one (problem, n-group, m-block) item of the GEMM region needs. */
struct gemm_item {
    LLVMValueRef a, b, c, bias, res; /* the problem's operands */
    LLVMValueRef slot0;              /* shared B: problem * n_panels (slot of its panel 0) */
    LLVMValueRef shared;             /* B packed before the region (shared scratch), or NULL */
    LLVMValueRef scratch;            /* this thread's B blocks (packed per K block), or NULL */
    LLVMValueRef p_lo, p_hi;         /* n panels [p_lo, p_hi) of the group */
    LLVMValueRef t_lo, t_hi;         /* m tiles [t_lo, t_hi) of the block */
    int64_t n_tiles, n_panels, n_full; /* of the problem; n_full: panels of nr columns */
    int edge_cols;                   /* valid columns of the last panel, 0 if it is full */
};

/* Per-thread B: one K block of nc panels, then nr i64 column bases. */
static int64_t group_floats(const struct tsl_cpu_cg *cg, int64_t K, int64_t nc)
{
    return nc * kc_of(K) * nr_of(cg);
}

/* Block k0 of B panel pi: packed weights, the shared pre-packed slot, or
 * the thread's scratch (which holds the group's current K block). */
static LLVMValueRef b_block(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                           const struct gemm_item *it, LLVMValueRef pi, LLVMValueRef k0,
                           int64_t klen)
{
    const int64_t nr = nr_of(cg);
    LLVMValueRef kofs = LLVMBuildNSWMul(cg->b, k0, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef start;
    if (p->b_packed) { /* K-block-major (tsl_cpu_packed_index): block k0, then panel pi */
        start = LLVMBuildNSWMul(cg->b, pi, tsl_cpu_i64(cg, klen * nr), "");
        kofs = LLVMBuildNSWMul(cg->b, k0, tsl_cpu_i64(cg, it->n_panels * nr), "");
        return tsl_cpu_gep(cg, it->b, LLVMBuildNSWAdd(cg->b, start, kofs, ""));
    }
    if (it->shared) { /* slot problem * n_panels + pi */
        LLVMValueRef slot = LLVMBuildNSWAdd(cg->b, it->slot0, pi, "");
        start = LLVMBuildNSWMul(cg->b, slot, tsl_cpu_i64(cg, shared_slot(cg, p->K)), "");
        return tsl_cpu_gep(cg, it->shared, LLVMBuildNSWAdd(cg->b, start, kofs, ""));
    }
    LLVMValueRef local = LLVMBuildNSWSub(cg->b, pi, it->p_lo, "");
    return tsl_cpu_gep(cg, it->scratch,
                       LLVMBuildNSWMul(cg->b, local, tsl_cpu_i64(cg, kc_of(p->K) * nr), ""));
}

/* min(x, c) for an i64 value and a constant */
static LLVMValueRef min_c(struct tsl_cpu_cg *cg, LLVMValueRef x, int64_t c)
{
    LLVMValueRef cv = tsl_cpu_i64(cg, c);
    return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, x, cv, ""), x, cv, "");
}

/* Run `then` code only when the group holds the last, partial panel:
 * returns the block to continue in (caller positions and branches). */
static LLVMBasicBlockRef if_edge_panel(struct tsl_cpu_cg *cg, const struct gemm_item *it)
{
    LLVMBasicBlockRef edge = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "nedge");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "ndone");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, it->p_hi, tsl_cpu_i64(cg, it->n_panels), ""),
                    edge, done);
    LLVMPositionBuilderAtEnd(cg->b, edge);
    return done;
}

/* Pack K block [k0, k0 + klen) of every panel of the group into the
 * thread's scratch. */
static void emit_pack_group(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                            const struct gemm_item *it, int64_t nc, LLVMValueRef k0, int64_t klen)
{
    const int64_t nr = nr_of(cg), base_at = group_floats(cg, p->K, nc);
    LLVMValueRef bases = tsl_cpu_gep(cg, it->scratch, tsl_cpu_i64(cg, base_at));
    struct tsl_cpu_loop lp;
    LLVMValueRef pi = tsl_cpu_loop_begin_v(cg, &lp, it->p_lo, min_c(cg, it->p_hi, it->n_full), 1, "pp");
    emit_pack_b(cg, p, it->b, LLVMBuildNSWMul(cg->b, pi, tsl_cpu_i64(cg, nr), ""), (int)nr,
                b_block(cg, p, it, pi, k0, klen), k0, klen, bases);
    tsl_cpu_loop_end(cg, &lp);
    if (it->edge_cols) {
        LLVMBasicBlockRef done = if_edge_panel(cg, it);
        LLVMValueRef pe = tsl_cpu_i64(cg, it->n_full);
        emit_pack_b(cg, p, it->b, tsl_cpu_i64(cg, it->n_full * nr), it->edge_cols,
                    b_block(cg, p, it, pe, k0, klen), k0, klen, bases);
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, done);
    }
}

/* The row tile at m0 (rows rows) against every panel of the group, for
 * K block [k0, k0 + klen) in mode kmode. */
static void emit_row(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                     const struct gemm_item *it, LLVMValueRef m0, int rows, LLVMValueRef k0,
                     int64_t klen, int kmode)
{
    const int64_t mr = cg->tgt->mr, nr = nr_of(cg);
    const int64_t a_step = p->a_packed ? klen : p->a_rs; /* per row */
    /* A's K block: packed panels are K-block-major (tsl_cpu_packed_index:
     * block k0 is k0 * Mpad floats in, then its tiles of klen x mr), in
     * place a_cs per k */
    LLVMValueRef at = tsl_cpu_gep(cg, it->a, LLVMBuildNSWAdd(cg->b,
        LLVMBuildNSWMul(cg->b, k0, tsl_cpu_i64(cg, p->a_packed ? it->n_tiles * mr : p->a_cs), ""),
        LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, a_step), ""), ""));
    LLVMValueRef mc = LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, p->ldc), "");
    LLVMValueRef ct = tsl_cpu_gep(cg, it->c, mc);
    LLVMValueRef rt = p->has_res ? tsl_cpu_gep(cg, it->res, mc) : it->res;
    LLVMValueRef bt = it->bias;
    if (p->has_bias)
        bt = tsl_cpu_gep(cg, it->bias, LLVMBuildNSWMul(cg->b, m0, tsl_cpu_i64(cg, p->bias_rs), ""));
    for (int edge = 0; edge < 2; edge++) {
        if (edge && !it->edge_cols)
            break;
        struct tsl_cpu_loop lp;
        LLVMBasicBlockRef done = NULL;
        LLVMValueRef pi;
        if (!edge) {
            pi = tsl_cpu_loop_begin_v(cg, &lp, it->p_lo, min_c(cg, it->p_hi, it->n_full), 1, "np");
        } else {
            done = if_edge_panel(cg, it);
            pi = tsl_cpu_i64(cg, it->n_full);
        }
        LLVMValueRef n0 = LLVMBuildNSWMul(cg->b, pi, tsl_cpu_i64(cg, nr), "");
        LLVMValueRef bn = bt;
        if (p->has_bias && p->bias_cs)
            bn = tsl_cpu_gep(cg, bt, LLVMBuildNSWMul(cg->b, n0, tsl_cpu_i64(cg, p->bias_cs), ""));
        LLVMValueRef args[7] = {at, b_block(cg, p, it, pi, k0, klen), tsl_cpu_gep(cg, ct, n0), bn,
                                p->has_res ? tsl_cpu_gep(cg, rt, n0) : rt, NULL, NULL};
        call_uk(cg, p, get_ukernel(cg, p, rows, edge ? it->edge_cols : (int)nr, kmode), args, klen);
        if (!edge) {
            tsl_cpu_loop_end(cg, &lp);
        } else {
            LLVMBuildBr(cg->b, done);
            LLVMPositionBuilderAtEnd(cg->b, done);
        }
    }
}

/* K block [k0, k0 + klen): pack the group's B block (per-thread path),
 * then every row tile of the item against every panel of the group, so the
 * A tile's block is reused from L1 across the group's panels. */
static void emit_kblock(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                        const struct gemm_item *it, int64_t nc, LLVMValueRef k0, int64_t klen,
                        int kmode)
{
    const int64_t mr = cg->tgt->mr;
    if (it->scratch)
        emit_pack_group(cg, p, it, nc, k0, klen);
    int64_t n_full = p->M / mr, mfull = n_full * mr, mrem = p->M - mfull;
    if (n_full > 0) {
        struct tsl_cpu_loop lm;
        LLVMValueRef t = tsl_cpu_loop_begin_v(cg, &lm, it->t_lo, min_c(cg, it->t_hi, n_full), 1, "m");
        emit_row(cg, p, it, LLVMBuildNSWMul(cg->b, t, tsl_cpu_i64(cg, mr), ""), (int)mr, k0, klen,
                 kmode);
        tsl_cpu_loop_end(cg, &lm);
    }
    if (mrem > 0) { /* the last row tile, in the block that reaches the end */
        LLVMBasicBlockRef edge = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "medge");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "mdone");
        LLVMBuildCondBr(cg->b,
                        LLVMBuildICmp(cg->b, LLVMIntEQ, it->t_hi, tsl_cpu_i64(cg, it->n_tiles), ""),
                        edge, done);
        LLVMPositionBuilderAtEnd(cg->b, edge);
        emit_row(cg, p, it, tsl_cpu_i64(cg, mfull), (int)mrem, k0, klen, kmode);
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, done);
    }
}

/* One item: K block by K block (whole, or first, middle loop, last). */
static void emit_item(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                      const struct gemm_item *it, int64_t nc)
{
    const int64_t kc = kc_of(p->K), nkb = (p->K + kc - 1) / kc;
    if (nkb == 1) {
        emit_kblock(cg, p, it, nc, tsl_cpu_i64(cg, 0), p->K, 0);
        return;
    }
    emit_kblock(cg, p, it, nc, tsl_cpu_i64(cg, 0), kc, 1);
    if (nkb > 2) {
        struct tsl_cpu_loop lk;
        LLVMValueRef kb = tsl_cpu_loop_begin(cg, &lk, 1, nkb - 1, 1, "kb");
        emit_kblock(cg, p, it, nc, LLVMBuildNSWMul(cg->b, kb, tsl_cpu_i64(cg, kc), ""), kc, 2);
        tsl_cpu_loop_end(cg, &lk);
    }
    emit_kblock(cg, p, it, nc, tsl_cpu_i64(cg, (nkb - 1) * kc), p->K - (nkb - 1) * kc, 3);
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* base + idx * stride for a float* base (stride 0: base). */
static LLVMValueRef advance(struct tsl_cpu_cg *cg, LLVMValueRef base, LLVMValueRef idx,
                            int64_t stride)
{
    if (stride == 0)
        return base;
    return tsl_cpu_gep(cg, base, LLVMBuildNSWMul(cg->b, idx, tsl_cpu_i64(cg, stride), ""));
}

/* How the GEMM region is cut: items (problem, n-group, m-block), m-block
 * innermost.  An n-group is nc consecutive panels whose K block is packed
 * together, so each A tile block is reused across nc panels; nc is at most
 * TSL_CPU_NC, and smaller when that leaves fewer than 4 items per thread.
 * M is split into blocks only when the groups alone give fewer than 4
 * items per thread (ResNet's 7x7 layers have 2 panels); then a run-time B
 * is packed once, before, into the shared scratch (shared_b). */
#define TSL_CPU_NC 8
struct gemm_split {
    int64_t batch, n_panels, n_full, n_tiles, nc, n_groups, n_blocks, tb;
    bool shared_b;
    double work_ns; /* cost-model estimate of the whole GEMM */
};

static void gemm_split(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                       struct gemm_split *s)
{
    const int64_t nr = nr_of(cg), mr = cg->tgt->mr;
    s->batch = p->batch > 0 ? p->batch : 1;
    s->work_ns = 2.0 * (double)s->batch * (double)p->M * (double)p->N * (double)p->K / 100.0;
    /* a GEMM too small to be split (par.c's threshold) is cut as for 1 thread */
    const int64_t T = s->work_ns >= cg->min_par_ns ? cg->threads : 1;
    s->n_panels = ceil_div(p->N, nr);
    s->n_full = p->N / nr;
    s->n_tiles = ceil_div(p->M, mr);
    int64_t want = T > 1 ? ceil_div(4 * T, s->batch) : 1; /* groups per problem */
    s->nc = s->n_panels / want;
    if (s->nc > TSL_CPU_NC)
        s->nc = TSL_CPU_NC;
    if (s->nc < 1)
        s->nc = 1;
    s->n_groups = ceil_div(s->n_panels, s->nc);
    if (T > 1 && (s->batch * s->n_groups) % T) {
        /* a multiple of T items balances equal items exactly (98 panels,
         * 2 threads: 14 groups of 7, not 13 of up to 8) */
        int64_t g = ceil_div(ceil_div(s->batch * s->n_groups, T) * T, s->batch);
        int64_t nc = ceil_div(s->n_panels, g);
        if (nc >= 1 && (s->batch * ceil_div(s->n_panels, nc)) % T == 0) {
            s->nc = nc;
            s->n_groups = ceil_div(s->n_panels, nc);
        }
    }
    s->n_blocks = 1;
    int64_t per = s->batch * s->n_groups;
    if (T > 1 && per < 4 * T)
        s->n_blocks = ceil_div(4 * T, per);
    if (s->n_blocks > s->n_tiles)
        s->n_blocks = s->n_tiles;
    s->tb = ceil_div(s->n_tiles, s->n_blocks);
    s->n_blocks = ceil_div(s->n_tiles, s->tb);
    /* several items per panel: pack each panel once, before, not per item */
    s->shared_b = !p->b_packed && s->n_blocks > 1;
}

int64_t tsl_cpu_gemm_scratch(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p)
{
    struct gemm_split s;
    gemm_split(cg, p, &s);
    if (p->b_packed || s.shared_b)
        return 0;
    return (group_floats(cg, p->K, s.nc) + 2 * (int64_t)nr_of(cg)) * (int64_t)sizeof(float);
}

int64_t tsl_cpu_gemm_shared_scratch(const struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p)
{
    struct gemm_split s;
    gemm_split(cg, p, &s);
    return s.shared_b ? s.batch * s.n_panels * shared_slot(cg, p->K) * (int64_t)sizeof(float)
                      : 0;
}

/* The region that packs every panel of every problem into the shared
 * scratch (items: problem x panel, independent). */
static void emit_prepack(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p,
                         const struct gemm_split *s, LLVMValueRef b)
{
    const int64_t nr = nr_of(cg), slot = shared_slot(cg, p->K);
    struct tsl_cpu_par par;
    LLVMValueRef in[2] = {b, p->b_scale};
    tsl_cpu_par_open(cg, &par, s->batch * s->n_panels,
                     (double)(s->batch * s->n_panels * p->K * nr), in, p->b_scale ? 2 : 1);
    struct tsl_cpu_gemm pl = *p; /* the region's copy: values rebound inside it */
    if (p->b_scale)
        pl.b_scale = par.vals[1];
    p = &pl;
    LLVMValueRef item = tsl_cpu_par_loop(cg, &par);
    LLVMValueRef pi = LLVMBuildURem(cg->b, item, tsl_cpu_i64(cg, s->n_panels), "");
    LLVMValueRef q = LLVMBuildUDiv(cg->b, item, tsl_cpu_i64(cg, s->n_panels), "");
    LLVMValueRef src = advance(cg, par.vals[0], q, p->b_bs);
    LLVMValueRef dst = tsl_cpu_gep(cg, tsl_cpu_scratch(cg, p->b_shared_off),
                                   LLVMBuildNSWMul(cg->b, item, tsl_cpu_i64(cg, slot), ""));
    LLVMValueRef n0 = LLVMBuildNSWMul(cg->b, pi, tsl_cpu_i64(cg, nr), "");
    LLVMValueRef bases = tsl_cpu_gep(cg, dst, tsl_cpu_i64(cg, p->K * nr));
    int rem = (int)(p->N - s->n_full * nr);
    if (rem == 0 || s->n_full == 0) {
        emit_pack_b(cg, p, src, n0, rem == 0 ? (int)nr : rem, dst, tsl_cpu_i64(cg, 0), p->K,
                    bases);
    } else {
        LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pfull");
        LLVMBasicBlockRef edge = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pedge");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "pdone");
        LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, pi, tsl_cpu_i64(cg, s->n_full), ""),
                        full, edge);
        LLVMPositionBuilderAtEnd(cg->b, full);
        emit_pack_b(cg, p, src, n0, (int)nr, dst, tsl_cpu_i64(cg, 0), p->K, bases);
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, edge);
        emit_pack_b(cg, p, src, n0, rem, dst, tsl_cpu_i64(cg, 0), p->K, bases);
        LLVMBuildBr(cg->b, done);
        LLVMPositionBuilderAtEnd(cg->b, done);
    }
    tsl_cpu_par_close(cg, &par);
}

void tsl_cpu_gemm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_gemm *p, LLVMValueRef a,
                       LLVMValueRef b, LLVMValueRef c, LLVMValueRef bias, LLVMValueRef res)
{
    const int64_t nr = nr_of(cg);
    if (p->M <= 0 || p->N <= 0)
        return;
    struct gemm_split s;
    gemm_split(cg, p, &s);
    if (s.shared_b)
        emit_prepack(cg, p, &s, b); /* then a barrier: the GEMM reads every panel */
    double work_ns = s.work_ns;
    if (!p->has_bias)
        bias = LLVMConstNull(cg->t_pf32);
    if (!p->has_res)
        res = LLVMConstNull(cg->t_pf32);
    LLVMValueRef in[6] = {a, b, c, bias, res, p->b_scale};
    struct tsl_cpu_par par;
    tsl_cpu_par_open(cg, &par, s.batch * s.n_groups * s.n_blocks, work_ns, in,
                     p->b_scale ? 6 : 5);
    struct tsl_cpu_gemm pl = *p; /* the region's copy: values rebound inside it */
    if (p->b_scale)
        pl.b_scale = par.vals[5];
    p = &pl;
    struct gemm_item it;
    memset(&it, 0, sizeof it);
    it.n_tiles = s.n_tiles;
    it.n_panels = s.n_panels;
    it.n_full = s.n_full;
    it.edge_cols = (int)(p->N - s.n_full * nr);
    if (!p->b_packed && !s.shared_b)
        it.scratch = tsl_cpu_thread_scratch(cg, p->b_scratch_off);
    if (s.shared_b)
        it.shared = tsl_cpu_scratch(cg, p->b_shared_off);
    LLVMValueRef item = tsl_cpu_par_loop(cg, &par);
    LLVMValueRef q = item, blk = tsl_cpu_i64(cg, 0), grp, bi = tsl_cpu_i64(cg, 0);
    if (s.n_blocks > 1) {
        blk = LLVMBuildURem(cg->b, q, tsl_cpu_i64(cg, s.n_blocks), "");
        q = LLVMBuildUDiv(cg->b, q, tsl_cpu_i64(cg, s.n_blocks), "");
    }
    grp = q;
    if (s.batch > 1) {
        grp = LLVMBuildURem(cg->b, q, tsl_cpu_i64(cg, s.n_groups), "");
        bi = LLVMBuildUDiv(cg->b, q, tsl_cpu_i64(cg, s.n_groups), "");
    }
    it.a = advance(cg, par.vals[0], bi, p->a_bs);
    it.b = advance(cg, par.vals[1], bi, p->b_bs);
    it.c = advance(cg, par.vals[2], bi, p->c_bs);
    it.bias = p->has_bias ? advance(cg, par.vals[3], bi, p->bias_bs) : par.vals[3];
    it.res = p->has_res ? advance(cg, par.vals[4], bi, p->res_bs) : par.vals[4];
    it.slot0 = LLVMBuildNSWMul(cg->b, bi, tsl_cpu_i64(cg, s.n_panels), "");
    it.t_lo = LLVMBuildNSWMul(cg->b, blk, tsl_cpu_i64(cg, s.tb), "");
    it.t_hi = min_c(cg, LLVMBuildNSWAdd(cg->b, it.t_lo, tsl_cpu_i64(cg, s.tb), ""), s.n_tiles);
    it.p_lo = LLVMBuildNSWMul(cg->b, grp, tsl_cpu_i64(cg, s.nc), "");
    it.p_hi = min_c(cg, LLVMBuildNSWAdd(cg->b, it.p_lo, tsl_cpu_i64(cg, s.nc), ""), s.n_panels);
    emit_item(cg, p, &it, s.nc);
    tsl_cpu_par_close(cg, &par);
}
