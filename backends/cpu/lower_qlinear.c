/* lower_qlinear.c - QLinearMatMul and QLinearConv, bit-exact with the reference's contract
 * (docs/reference-semantics.md): acc = sum_k (a - za)(b - zb) in wrapping
 * int32, M = (sa *f32 sb) /f32 sy, y = sat(rne((f32)acc *f32 M) + zy).
 * Scales and zero points are read at run time (per tensor, b's per column).
 * Batch dims of a and b broadcast (numpy rules) to the output's; the
 * per-batch matrix offsets are compile-time tables in the weight blob.
 *
 * QLinearConv: acc = bias[m] + sum (x - zx)(w - zw[m]) over the window (taps
 * in the padding skipped), M[m] = (sx *f32 sw[m]) /f32 sy, requantized the
 * same way; 1-D to 3-D, groups, strides, dilations, pads, auto_pad (the
 * geometry of the direct convolution, lower_conv_rt.c).
 *
 * Scalar loops: correct and exact, not fast (no VNNI kernel yet).
 * Not here: Quantize/DequantizeLinear (lower_typed.c). */
#include <stdlib.h>

#include "lower_ext.h"

static bool is_q8(enum tsl_dtype t)
{
    return t == TSL_DTYPE_U8 || t == TSL_DTYPE_I8;
}

static bool scalar_f32(const struct tsl_value *v, int64_t n)
{
    return v && v->type.dtype == TSL_DTYPE_F32 && tsl_shape_is_static(&v->type.shape) &&
           (tsl_cpu_numel(v) == 1 || tsl_cpu_numel(v) == n);
}

/* The batch (leading) dims of a, b and y as shapes of their own. */
static bool batch_shapes(const struct tsl_value *a, const struct tsl_value *b,
                         const struct tsl_value *y, struct tsl_shape *ab, struct tsl_shape *bb,
                         struct tsl_shape *yb)
{
    const struct tsl_value *v[3] = {a, b, y};
    struct tsl_shape *o[3] = {ab, bb, yb};
    for (int i = 0; i < 3; i++) {
        *o[i] = v[i]->type.shape;
        o[i]->rank -= 2;
    }
    return yb->rank >= ab->rank && yb->rank >= bb->rank;
}

static enum tsl_status qmm_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (n->n_inputs != 8)
        return tsl_cpu_unsupported(cg, n, "expects 8 inputs");
    for (uint32_t i = 0; i < 8; i++)
        if (!n->inputs[i] || !tsl_shape_is_static(&n->inputs[i]->type.shape))
            return tsl_cpu_unsupported(cg, n, "input %u needs a static shape", i);
    const struct tsl_value *a = n->inputs[0], *b = n->inputs[3], *y = n->outputs[0];
    const struct tsl_shape *as = &a->type.shape, *bs = &b->type.shape;
    if (!is_q8(a->type.dtype) || !is_q8(b->type.dtype) || !is_q8(n->inputs[7]->type.dtype) ||
        n->inputs[2]->type.dtype != a->type.dtype || n->inputs[5]->type.dtype != b->type.dtype ||
        y->type.dtype != n->inputs[7]->type.dtype)
        return tsl_cpu_unsupported(cg, n, "operands must be u8/i8 with matching zero points");
    const struct tsl_shape *ys = &y->type.shape;
    struct tsl_shape ab, bb, yb;
    if (as->rank < 2 || bs->rank < 2 || ys->rank < 2 ||
        as->dims[as->rank - 1] != bs->dims[bs->rank - 2] || !batch_shapes(a, b, y, &ab, &bb, &yb))
        return tsl_cpu_unsupported(cg, n, "a [.., M, K] and b [.., K, N] must broadcast to y");
    int64_t sa[TSL_MAX_RANK], sb[TSL_MAX_RANK];
    int64_t M = as->dims[as->rank - 2], N = bs->dims[bs->rank - 1];
    if (!tsl_cpu_bcast_strides(&ab, &yb, sa) || !tsl_cpu_bcast_strides(&bb, &yb, sb) ||
        ys->dims[ys->rank - 2] != M || ys->dims[ys->rank - 1] != N)
        return tsl_cpu_unsupported(cg, n, "batch dims do not broadcast to the output");
    if (!scalar_f32(n->inputs[1], 1) || !scalar_f32(n->inputs[4], N) ||
        !scalar_f32(n->inputs[6], 1) || tsl_cpu_numel(n->inputs[2]) != 1 ||
        tsl_cpu_numel(n->inputs[5]) != tsl_cpu_numel(n->inputs[4]) ||
        tsl_cpu_numel(n->inputs[7]) != 1)
        return tsl_cpu_unsupported(cg, n, "scales must be f32, per tensor (b: or per column)");
    return TSL_STATUS_OK;
}

/* Element idx of v (typed), widened to i32 (signed per dtype). */
static LLVMValueRef load_i32(struct tsl_cpu_cg *cg, LLVMValueRef base, enum tsl_dtype dt,
                             LLVMValueRef idx)
{
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, dt);
    LLVMValueRef p = LLVMBuildBitCast(cg->b, base, LLVMPointerType(ty, 0), "");
    p = LLVMBuildInBoundsGEP2(cg->b, ty, p, &idx, 1, "");
    return LLVMBuildIntCast2(cg->b, tsl_cpu_typed_load(cg, ty, p), cg->t_i32,
                             dt == TSL_DTYPE_I8, "");
}

static LLVMValueRef load_f32(struct tsl_cpu_cg *cg, LLVMValueRef base, LLVMValueRef idx)
{
    return tsl_cpu_typed_load(cg, cg->t_f32, LLVMBuildInBoundsGEP2(cg->b, cg->t_f32, base, &idx,
                                                                   1, ""));
}

/* sat(rne((f32)acc * mult) + zy) to u8/i8 (ydt), as an i8 value. */
static LLVMValueRef requant(struct tsl_cpu_cg *cg, LLVMValueRef acc, LLVMValueRef mult,
                            LLVMValueRef zy, enum tsl_dtype ydt)
{
    LLVMBuilderRef bd = cg->b;
    LLVMValueRef v = LLVMBuildFMul(bd, LLVMBuildSIToFP(bd, acc, cg->t_f32, ""), mult, "");
    v = tsl_cpu_intrinsic(cg, "llvm.roundeven", cg->t_f32, &v, 1);
    LLVMValueRef q = LLVMBuildAdd(bd, tsl_cpu_cast_value(cg, v, TSL_DTYPE_F32, TSL_DTYPE_I64), zy,
                                  "");
    bool s8 = ydt == TSL_DTYPE_I8;
    LLVMValueRef lo = tsl_cpu_i64(cg, s8 ? -128 : 0), hi = tsl_cpu_i64(cg, s8 ? 127 : 255);
    q = LLVMBuildSelect(bd, LLVMBuildICmp(bd, LLVMIntSLT, q, lo, ""), lo, q, "");
    q = LLVMBuildSelect(bd, LLVMBuildICmp(bd, LLVMIntSGT, q, hi, ""), hi, q, "");
    return LLVMBuildTrunc(bd, q, cg->t_i8, "");
}

static enum tsl_status qmm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *a = n->inputs[0], *b = n->inputs[3], *y = n->outputs[0];
    const struct tsl_shape *as = &a->type.shape, *bs = &b->type.shape;
    int64_t M = as->dims[as->rank - 2], K = as->dims[as->rank - 1], N = bs->dims[bs->rank - 1];
    struct tsl_shape ab, bb, yb;
    int64_t bsa[TSL_MAX_RANK], bsb[TSL_MAX_RANK], ys[TSL_MAX_RANK];
    batch_shapes(a, b, y, &ab, &bb, &yb);
    tsl_cpu_bcast_strides(&ab, &yb, bsa);
    tsl_cpu_bcast_strides(&bb, &yb, bsb);
    tsl_cpu_strides(&yb, ys);
    int64_t nbt = M > 0 && N > 0 ? tsl_cpu_numel(y) / (M * N) : 0;
    /* per-batch element offsets of a's and b's matrices */
    int64_t *tab = calloc((size_t)(2 * nbt + 1), sizeof *tab);
    if (!tab)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "qlinear tables");
    for (int64_t t = 0; t < nbt; t++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < yb.rank; d++) {
            int64_t ix = t / ys[d] % yb.dims[d];
            oa += ix * bsa[d];
            ob += ix * bsb[d];
        }
        tab[2 * t] = oa * M * K;
        tab[2 * t + 1] = ob * K * N;
    }
    int64_t toff;
    enum tsl_status ts = tsl_cpu_blob_add(cg, tab, (size_t)(2 * nbt) * sizeof *tab, &toff);
    free(tab);
    TSL_TRY(ts);
    bool per_col = tsl_cpu_numel(n->inputs[4]) != 1;
    LLVMValueRef p[8], yp;
    for (uint32_t i = 0; i < 8; i++)
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[i], &p[i]));
    TSL_TRY(tsl_cpu_ptr(cg, y, &yp));
    LLVMBuilderRef bd = cg->b;
    LLVMValueRef z = tsl_cpu_i64(cg, 0);
    enum tsl_dtype adt = a->type.dtype, bdt = b->type.dtype, ydt = y->type.dtype;
    LLVMValueRef sa = load_f32(cg, p[1], z), sy = load_f32(cg, p[6], z);
    LLVMValueRef za = load_i32(cg, p[2], adt, z);
    LLVMValueRef zy = LLVMBuildIntCast2(bd, load_i32(cg, p[7], ydt, z), cg->t_i64, 1, "");
    LLVMValueRef acc = tsl_cpu_entry_alloca(cg, cg->t_i32, "acc");
    LLVMValueRef tp = LLVMBuildBitCast(bd, tsl_cpu_weight_ptr(cg, toff),
                                       LLVMPointerType(cg->t_i64, 0), "");
    struct tsl_cpu_loop lt, li, lj, lk;
    LLVMValueRef t = tsl_cpu_loop_begin(cg, &lt, 0, nbt, 1, "t");
    LLVMValueRef t2 = LLVMBuildNSWMul(bd, t, tsl_cpu_i64(cg, 2), "");
    LLVMValueRef t2b = LLVMBuildNSWAdd(bd, t2, tsl_cpu_i64(cg, 1), "");
    LLVMValueRef oa = tsl_cpu_typed_load(cg, cg->t_i64,
                                         LLVMBuildInBoundsGEP2(bd, cg->t_i64, tp, &t2, 1, ""));
    LLVMValueRef ob = tsl_cpu_typed_load(cg, cg->t_i64,
                                         LLVMBuildInBoundsGEP2(bd, cg->t_i64, tp, &t2b, 1, ""));
    LLVMValueRef oy = LLVMBuildNSWMul(bd, t, tsl_cpu_i64(cg, M * N), "");
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &li, 0, M, 1, "i");
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, 0, N, 1, "j");
    LLVMValueRef cj = per_col ? j : z;
    LLVMValueRef zb = load_i32(cg, p[5], bdt, cj);
    LLVMBuildStore(bd, LLVMConstInt(cg->t_i32, 0, 0), acc);
    LLVMValueRef k = tsl_cpu_loop_begin(cg, &lk, 0, K, 1, "k");
    LLVMValueRef ai = LLVMBuildNSWAdd(bd, LLVMBuildNSWMul(bd, i, tsl_cpu_i64(cg, K), ""), k, "");
    LLVMValueRef bi = LLVMBuildNSWAdd(bd, LLVMBuildNSWMul(bd, k, tsl_cpu_i64(cg, N), ""), j, "");
    ai = LLVMBuildNSWAdd(bd, ai, oa, "");
    bi = LLVMBuildNSWAdd(bd, bi, ob, "");
    LLVMValueRef da = LLVMBuildSub(bd, load_i32(cg, p[0], adt, ai), za, "");
    LLVMValueRef db = LLVMBuildSub(bd, load_i32(cg, p[3], bdt, bi), zb, "");
    LLVMValueRef sum = LLVMBuildAdd(bd, LLVMBuildLoad2(bd, cg->t_i32, acc, ""),
                                    LLVMBuildMul(bd, da, db, ""), ""); /* wraps */
    LLVMBuildStore(bd, sum, acc);
    tsl_cpu_loop_end(cg, &lk);
    LLVMValueRef mult = LLVMBuildFDiv(bd, LLVMBuildFMul(bd, sa, load_f32(cg, p[4], cj), ""), sy, "");
    LLVMValueRef q = requant(cg, LLVMBuildLoad2(bd, cg->t_i32, acc, ""), mult, zy, ydt);
    LLVMValueRef yi = LLVMBuildNSWAdd(bd, LLVMBuildNSWMul(bd, i, tsl_cpu_i64(cg, N), ""), j, "");
    yi = LLVMBuildNSWAdd(bd, yi, oy, "");
    LLVMValueRef yq = LLVMBuildBitCast(bd, yp, cg->t_pi8, "");
    tsl_cpu_typed_store(cg, q, LLVMBuildInBoundsGEP2(bd, cg->t_i8, yq, &yi, 1, ""));
    tsl_cpu_loop_end(cg, &lj);
    tsl_cpu_loop_end(cg, &li);
    tsl_cpu_loop_end(cg, &lt);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_qlinear_matmul = {qmm_check, qmm_emit, false, true,
                                                              false};

/* ---- QLinearConv ------------------------------------------------------------ */

static enum tsl_status qconv_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (n->n_inputs < 8)
        return tsl_cpu_unsupported(cg, n, "expects 8 or 9 inputs");
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if ((i < 8 && !n->inputs[i]) ||
            (n->inputs[i] && !tsl_shape_is_static(&n->inputs[i]->type.shape)))
            return tsl_cpu_unsupported(cg, n, "input %u needs a static shape", i);
    const struct tsl_value *x = n->inputs[0], *w = n->inputs[3], *y = n->outputs[0];
    const struct tsl_value *bias = n->n_inputs > 8 ? n->inputs[8] : NULL;
    if (!is_q8(x->type.dtype) || !is_q8(w->type.dtype) || !is_q8(y->type.dtype) ||
        n->inputs[2]->type.dtype != x->type.dtype || n->inputs[5]->type.dtype != w->type.dtype ||
        n->inputs[7]->type.dtype != y->type.dtype)
        return tsl_cpu_unsupported(cg, n, "operands must be u8/i8 with matching zero points");
    struct tsl_cpu_conv3 g;
    TSL_TRY(tsl_cpu_conv3_geo(cg, n, x, w, &g));
    if (!scalar_f32(n->inputs[1], 1) || !scalar_f32(n->inputs[4], g.OC) ||
        !scalar_f32(n->inputs[6], 1) || tsl_cpu_numel(n->inputs[2]) != 1 ||
        tsl_cpu_numel(n->inputs[5]) != tsl_cpu_numel(n->inputs[4]) ||
        tsl_cpu_numel(n->inputs[7]) != 1)
        return tsl_cpu_unsupported(cg, n, "scales must be f32, per tensor (w: or per channel)");
    if (bias && (bias->type.dtype != TSL_DTYPE_I32 || tsl_cpu_numel(bias) != g.OC))
        return tsl_cpu_unsupported(cg, n, "bias must be i32 [M]");
    return TSL_STATUS_OK;
}

static enum tsl_status qconv_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0], *w = n->inputs[3], *y = n->outputs[0];
    const struct tsl_value *bias = n->n_inputs > 8 ? n->inputs[8] : NULL;
    struct tsl_cpu_conv3 g;
    TSL_TRY(tsl_cpu_conv3_geo(cg, n, x, w, &g));
    LLVMValueRef p[9] = {0}, yp;
    for (uint32_t i = 0; i < n->n_inputs && i < 9; i++)
        if (n->inputs[i])
            TSL_TRY(tsl_cpu_ptr(cg, n->inputs[i], &p[i]));
    TSL_TRY(tsl_cpu_ptr(cg, y, &yp));
    LLVMBuilderRef bd = cg->b;
    enum tsl_dtype xdt = x->type.dtype, wdt = w->type.dtype, ydt = y->type.dtype;
    bool per_ch = tsl_cpu_numel(n->inputs[4]) != 1;
    LLVMValueRef i0 = tsl_cpu_i64(cg, 0), zero32 = LLVMConstInt(cg->t_i32, 0, 0);
    LLVMValueRef sx = load_f32(cg, p[1], i0), sy = load_f32(cg, p[6], i0);
    LLVMValueRef zx = load_i32(cg, p[2], xdt, i0);
    LLVMValueRef zy = LLVMBuildIntCast2(bd, load_i32(cg, p[7], ydt, i0), cg->t_i64, 1, "");
    LLVMValueRef acc = tsl_cpu_entry_alloca(cg, cg->t_i32, "acc");
    struct tsl_cpu_conv3_nest t;
    tsl_cpu_conv3_open_channel(cg, &g, &t);
    LLVMValueRef cw = per_ch ? t.oc : i0;
    LLVMValueRef zw = load_i32(cg, p[5], wdt, cw);
    LLVMValueRef mult = LLVMBuildFDiv(bd, LLVMBuildFMul(bd, sx, load_f32(cg, p[4], cw), ""), sy, "");
    tsl_cpu_conv3_open_output(cg, &g, &t);
    LLVMBuildStore(bd, bias ? load_i32(cg, p[8], TSL_DTYPE_I32, t.oc) : zero32, acc);
    tsl_cpu_conv3_open_taps(cg, &g, &t);
    LLVMValueRef dx = LLVMBuildSub(bd, load_i32(cg, p[0], xdt, t.xi), zx, "");
    LLVMValueRef dw = LLVMBuildSub(bd, load_i32(cg, p[3], wdt, t.wi), zw, "");
    LLVMValueRef prod = LLVMBuildSelect(bd, t.valid, LLVMBuildMul(bd, dx, dw, ""), zero32, "");
    LLVMBuildStore(bd, LLVMBuildAdd(bd, LLVMBuildLoad2(bd, cg->t_i32, acc, ""), prod, ""), acc);
    tsl_cpu_conv3_close_taps(cg, &t);
    LLVMValueRef q = requant(cg, LLVMBuildLoad2(bd, cg->t_i32, acc, ""), mult, zy, ydt);
    LLVMValueRef yq = LLVMBuildBitCast(bd, yp, cg->t_pi8, "");
    tsl_cpu_typed_store(cg, q, LLVMBuildInBoundsGEP2(bd, cg->t_i8, yq, &t.oi, 1, ""));
    tsl_cpu_conv3_close_outputs(cg, &t);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_qlinear_conv = {qconv_check, qconv_emit, false, true,
                                                            false};
