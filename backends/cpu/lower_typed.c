/* lower_typed.c - elementwise lowerings over any storable dtype: integer and
 * f64 arithmetic (Add Sub Mul Div Max Min Neg Abs), comparisons (bool out),
 * And/Or/Xor/Not, Where with a run-time condition, Cast, and
 * QuantizeLinear/DequantizeLinear at run time.  Each is one loop nest with
 * numpy broadcasting (strides 0 where broadcast, dims coalesced); the body
 * loads every operand in its own element type and stores one element.
 *
 * Pow with an integer or f64 operand (libm pow in double, or exact integer
 * powers) is here too.
 * Clip of integers, f64 and f16 (scalar bounds of the input's dtype).
 * f16 and bf16 values (Cast, arithmetic, Neg/Abs, Clip, comparisons, Where) are
 * stored as i16 bits and computed in f32: loads widen exactly, results are
 * rounded to nearest even with integer bit operations that are those of the
 * reference (ir/const.c), so they match it bit for bit (f32 has more than
 * twice f16's precision, so one f32 operation then rounding equals the
 * reference's double-then-float-then-f16).
 * f32 arithmetic, f32 Neg/Abs, a constant Where condition and Cast /
 * DequantizeLinear of constants keep their existing lowerings: the entries
 * here dispatch on the node, the same way in check() and emit().
 * Semantics follow docs/reference-semantics.md exactly (integer wrap, Div
 * truncating toward zero, Cast through saturating int64, rne quantization).
 * Not here: ArgMax/ArgMin and Split (lower_index.c). */
#include <stdlib.h>
#include <string.h>

#include "lower_ext.h"
#include "tessel/util.h"

LLVMTypeRef tsl_cpu_elem_type(struct tsl_cpu_cg *cg, enum tsl_dtype t)
{
    switch (t) {
    case TSL_DTYPE_F32: return cg->t_f32;
    case TSL_DTYPE_F64: return LLVMDoubleTypeInContext(cg->ctx);
    case TSL_DTYPE_I64: case TSL_DTYPE_U64: return cg->t_i64;
    case TSL_DTYPE_I32: case TSL_DTYPE_U32: return cg->t_i32;
    case TSL_DTYPE_I16: case TSL_DTYPE_U16: return LLVMInt16TypeInContext(cg->ctx);
    case TSL_DTYPE_I8: case TSL_DTYPE_U8: case TSL_DTYPE_BOOL: return cg->t_i8;
    default: return NULL;
    }
}

LLVMValueRef tsl_cpu_typed_load(struct tsl_cpu_cg *cg, LLVMTypeRef ty, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, ty, p, "");
    LLVMSetAlignment(v, 1);
    return v;
}

void tsl_cpu_typed_store(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p)
{
    LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), 1);
}

static bool is_half(enum tsl_dtype t)
{
    return t == TSL_DTYPE_F16 || t == TSL_DTYPE_BF16;
}

/* Storage type of an operand of the typed loop nest: f16/bf16 as i16 bits. */
static LLVMTypeRef ew_type(struct tsl_cpu_cg *cg, enum tsl_dtype t)
{
    return is_half(t) ? LLVMInt16TypeInContext(cg->ctx) : tsl_cpu_elem_type(cg, t);
}

static LLVMValueRef i32c(struct tsl_cpu_cg *cg, uint32_t v)
{
    return LLVMConstInt(cg->t_i32, v, 0);
}

/* f16 or bf16 bits (i16) -> f32, exact. */
static LLVMValueRef half_to_f32(struct tsl_cpu_cg *cg, LLVMValueRef h, enum tsl_dtype dt)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef u = LLVMBuildZExt(b, h, cg->t_i32, "");
    if (dt == TSL_DTYPE_BF16) { /* the top half; a NaN comes out quiet, as in the reference */
        LLVMValueRef x = LLVMBuildShl(b, u, i32c(cg, 16), "");
        LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, x, i32c(cg, 0x7fffffffu), ""),
                                         i32c(cg, 0x7f800000u), "");
        x = LLVMBuildSelect(b, nan, LLVMBuildOr(b, x, i32c(cg, 0x400000u), ""), x, "");
        return LLVMBuildBitCast(b, x, cg->t_f32, "");
    }
    LLVMValueRef sign = LLVMBuildShl(b, LLVMBuildAnd(b, u, i32c(cg, 0x8000), ""), i32c(cg, 16), "");
    LLVMValueRef em = LLVMBuildAnd(b, u, i32c(cg, 0x7fff), "");
    /* normal: exponent rebiased by 127 - 15; inf/NaN: exponent 255, payload
     * kept, NaN quiet (the reference widens through double, which quiets) */
    LLVMValueRef normal = LLVMBuildAdd(b, LLVMBuildShl(b, em, i32c(cg, 13), ""),
                                       i32c(cg, (127u - 15u) << 23), "");
    LLVMValueRef special = LLVMBuildOr(b, LLVMBuildShl(b, LLVMBuildAnd(b, em, i32c(cg, 0x3ff), ""),
                                                       i32c(cg, 13), ""),
                                       i32c(cg, 0x7f800000u), "");
    LLVMValueRef is_nan = LLVMBuildICmp(b, LLVMIntUGT, em, i32c(cg, 0x7c00), "");
    special = LLVMBuildSelect(b, is_nan, LLVMBuildOr(b, special, i32c(cg, 0x400000u), ""),
                              special, "");
    LLVMValueRef is_sp = LLVMBuildICmp(b, LLVMIntUGE, em, i32c(cg, 0x7c00), "");
    LLVMValueRef bits = LLVMBuildSelect(b, is_sp, special, normal, "");
    /* zero and subnormal: em * 2^-24, exact */
    LLVMValueRef sub = LLVMBuildFMul(b, LLVMBuildUIToFP(b, em, cg->t_f32, ""),
                                     tsl_cpu_f32c(cg, 0x1p-24), "");
    LLVMValueRef is_sub = LLVMBuildICmp(b, LLVMIntULT, em, i32c(cg, 0x400), "");
    bits = LLVMBuildSelect(b, is_sub, LLVMBuildBitCast(b, sub, cg->t_i32, ""), bits, "");
    return LLVMBuildBitCast(b, LLVMBuildOr(b, bits, sign, ""), cg->t_f32, "");
}

/* Round half up to even: r + (rem > half || (rem == half && r odd)). */
static LLVMValueRef round_even(struct tsl_cpu_cg *cg, LLVMValueRef r, LLVMValueRef rem,
                               LLVMValueRef half)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, r, i32c(cg, 1), ""),
                                     i32c(cg, 0), "");
    LLVMValueRef up = LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntUGT, rem, half, ""),
                                  LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, rem, half, ""), odd,
                                               ""), "");
    return LLVMBuildAdd(b, r, LLVMBuildZExt(b, up, cg->t_i32, ""), "");
}

/* f32 -> f16 or bf16 bits (i16), rounded to nearest even as ir/const.c does
 * (NaN: quiet, sign kept; overflow: infinity; underflow: signed zero). */
static LLVMValueRef f32_to_half(struct tsl_cpu_cg *cg, LLVMValueRef f, enum tsl_dtype dt)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef i16 = LLVMInt16TypeInContext(cg->ctx);
    LLVMValueRef x = LLVMBuildBitCast(b, f, cg->t_i32, "");
    LLVMValueRef absx = LLVMBuildAnd(b, x, i32c(cg, 0x7fffffffu), "");
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, absx, i32c(cg, 0x7f800000u), "");
    if (dt == TSL_DTYPE_BF16) {
        LLVMValueRef hi = LLVMBuildLShr(b, x, i32c(cg, 16), "");
        LLVMValueRef qnan = LLVMBuildOr(b, hi, i32c(cg, 0x40), "");
        LLVMValueRef r = LLVMBuildAdd(
            b, x, LLVMBuildAdd(b, i32c(cg, 0x7fff), LLVMBuildAnd(b, hi, i32c(cg, 1), ""), ""), "");
        r = LLVMBuildLShr(b, r, i32c(cg, 16), "");
        return LLVMBuildTrunc(b, LLVMBuildSelect(b, nan, qnan, r, ""), i16, "");
    }
    LLVMValueRef s = LLVMBuildAnd(b, LLVMBuildLShr(b, x, i32c(cg, 16), ""), i32c(cg, 0x8000), "");
    LLVMValueRef ex = LLVMBuildAnd(b, LLVMBuildLShr(b, x, i32c(cg, 23), ""), i32c(cg, 0xff), "");
    LLVMValueRef e = LLVMBuildSub(b, ex, i32c(cg, 127 - 15), ""); /* signed */
    LLVMValueRef m = LLVMBuildAnd(b, x, i32c(cg, 0x7fffff), "");
    /* normal */
    LLVMValueRef rn = LLVMBuildOr(b, LLVMBuildShl(b, e, i32c(cg, 10), ""),
                                  LLVMBuildLShr(b, m, i32c(cg, 13), ""), "");
    rn = round_even(cg, rn, LLVMBuildAnd(b, m, i32c(cg, 0x1fff), ""), i32c(cg, 0x1000));
    /* subnormal (-10 <= e <= 0): shift = 14 - e in 14..24 (clamped elsewhere) */
    LLVMValueRef m2 = LLVMBuildOr(b, m, i32c(cg, 0x800000), "");
    LLVMValueRef sh = LLVMBuildSub(b, i32c(cg, 14), e, "");
    LLVMValueRef in_rng = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, sh, i32c(cg, 14), ""),
                                       LLVMBuildICmp(b, LLVMIntSLE, sh, i32c(cg, 24), ""), "");
    sh = LLVMBuildSelect(b, in_rng, sh, i32c(cg, 14), "");
    LLVMValueRef one = i32c(cg, 1);
    LLVMValueRef rs = LLVMBuildLShr(b, m2, sh, "");
    LLVMValueRef rem = LLVMBuildAnd(b, m2, LLVMBuildSub(b, LLVMBuildShl(b, one, sh, ""), one, ""),
                                    "");
    rs = round_even(cg, rs, rem, LLVMBuildShl(b, one, LLVMBuildSub(b, sh, one, ""), ""));
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLE, e, i32c(cg, 0), ""),
                                     LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, e,
                                                                      i32c(cg, -10), ""),
                                                     i32c(cg, 0), rs, ""),
                                     rn, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, e, i32c(cg, 31), ""), i32c(cg, 0x7c00), r,
                        "");
    LLVMValueRef special = LLVMBuildSelect(b, nan, i32c(cg, 0x7e00), i32c(cg, 0x7c00), "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, ex, i32c(cg, 0xff), ""), special, r, "");
    return LLVMBuildTrunc(b, LLVMBuildOr(b, r, s, ""), i16, "");
}

/* ---- which path a node takes ---------------------------------------------- */

static bool is_arith(enum tsl_op op)
{
    return op == TSL_OP_ADD || op == TSL_OP_SUB || op == TSL_OP_MUL || op == TSL_OP_DIV ||
           op == TSL_OP_MAX || op == TSL_OP_MIN;
}

static bool is_cmp(enum tsl_op op)
{
    return op == TSL_OP_EQUAL || op == TSL_OP_GREATER || op == TSL_OP_GREATER_OR_EQUAL ||
           op == TSL_OP_LESS || op == TSL_OP_LESS_OR_EQUAL;
}

static bool all_const(const struct tsl_node *n)
{
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] && !n->inputs[i]->constant)
            return false;
    return true;
}

/* The existing (f32 or compile-time) lowering a node keeps, or NULL. */
static const struct tsl_cpu_lowering *legacy(const struct tsl_node *n)
{
    enum tsl_dtype od = n->outputs[0]->type.dtype;
    switch (n->op) {
    case TSL_OP_NEG: case TSL_OP_ABS:
        return od == TSL_DTYPE_F32 ? &tsl_cpu_lower_unary : NULL;
    case TSL_OP_CLIP:
        return od == TSL_DTYPE_F32 ? &tsl_cpu_lower_clip : NULL;
    case TSL_OP_CAST: case TSL_OP_DEQUANTIZE_LINEAR:
        return all_const(n) ? &tsl_cpu_lower_fold : NULL;
    case TSL_OP_WHERE:
        return n->inputs[0] && n->inputs[0]->constant && od == TSL_DTYPE_F32
                   ? &tsl_cpu_lower_where
                   : NULL;
    case TSL_OP_POW:
        return od == TSL_DTYPE_F32 && n->inputs[1] && n->inputs[1]->type.dtype == TSL_DTYPE_F32
                   ? &tsl_cpu_lower_binary
                   : NULL;
    default:
        return is_arith(n->op) && od == TSL_DTYPE_F32 ? &tsl_cpu_lower_binary : NULL;
    }
}

/* ---- check ------------------------------------------------------------------ */

static bool typed_ok(struct tsl_cpu_cg *cg, const struct tsl_value *v)
{
    return v && ew_type(cg, v->type.dtype) && tsl_shape_is_static(&v->type.shape);
}

/* Strides of operand v broadcast to out; per-axis quantization parameters
 * (1-D of length dims[axis]) run along `axis` when axis >= 0. */
static bool operand_strides(const struct tsl_value *v, const struct tsl_shape *out, int axis,
                            int64_t *s)
{
    if (axis >= 0 && v->type.shape.rank == 1 && tsl_cpu_numel(v) != 1) {
        if (axis >= out->rank || v->type.shape.dims[0] != out->dims[axis])
            return false;
        for (int d = 0; d < out->rank; d++)
            s[d] = d == axis ? 1 : 0;
        return true;
    }
    if (axis >= 0 && tsl_cpu_numel(v) != 1)
        return false;
    return tsl_cpu_bcast_strides(&v->type.shape, out, s);
}

static int quant_axis(const struct tsl_node *n)
{
    if (n->op != TSL_OP_QUANTIZE_LINEAR && n->op != TSL_OP_DEQUANTIZE_LINEAR)
        return -1;
    int64_t a = n->attrs.axis.axis, r = n->inputs[0]->type.shape.rank;
    return (int)(a < 0 ? a + r : a);
}

static enum tsl_status ew_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_cpu_lowering *l = legacy(n);
    if (l)
        return l->check(cg, st);
    if (n->n_inputs + 1 > TSL_CPU_NEST_MAX)
        return tsl_cpu_unsupported(cg, n, "more than %d inputs", TSL_CPU_NEST_MAX - 1);
    const struct tsl_value *out = n->outputs[0];
    if (!typed_ok(cg, out))
        return tsl_cpu_unsupported(cg, n, "output dtype %s is not lowered",
                                   tsl_dtype_name(out->type.dtype));
    int axis = quant_axis(n);
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        int64_t s[TSL_MAX_RANK];
        if (!v && (n->op == TSL_OP_QUANTIZE_LINEAR || n->op == TSL_OP_DEQUANTIZE_LINEAR ||
                   n->op == TSL_OP_CLIP))
            continue;
        if (n->op == TSL_OP_CLIP && i > 0 &&
            (tsl_cpu_numel(v) != 1 || v->type.dtype != n->inputs[0]->type.dtype))
            return tsl_cpu_unsupported(cg, n, "min/max must be scalars of the input's dtype");
        if (!typed_ok(cg, v))
            return tsl_cpu_unsupported(cg, n, "input %u: dtype %s is not lowered", i,
                                       v ? tsl_dtype_name(v->type.dtype) : "(omitted)");
        if (!operand_strides(v, &out->type.shape, i > 0 ? axis : -1, s))
            return tsl_cpu_unsupported(cg, n, "input %u does not broadcast to the output", i);
    }
    enum tsl_dtype in = n->inputs[0]->type.dtype;
    bool halves = is_half(out->type.dtype);
    for (uint32_t i = 0; i < n->n_inputs; i++)
        halves |= n->inputs[i] && is_half(n->inputs[i]->type.dtype);
    if (halves && !(n->op == TSL_OP_CAST || is_arith(n->op) || is_cmp(n->op) ||
                    n->op == TSL_OP_NEG || n->op == TSL_OP_ABS || n->op == TSL_OP_WHERE ||
                    n->op == TSL_OP_CLIP))
        return tsl_cpu_unsupported(cg, n, "f16/bf16 operands are not lowered for this op");
    if (n->op == TSL_OP_CLIP && in == TSL_DTYPE_BOOL)
        return tsl_cpu_unsupported(cg, n, "Clip of bool");
    if (n->op == TSL_OP_POW && (in == TSL_DTYPE_BOOL || n->inputs[1]->type.dtype == TSL_DTYPE_BOOL ||
                                out->type.dtype != in))
        return tsl_cpu_unsupported(cg, n, "Pow of %s", tsl_dtype_name(in));
    if (n->op == TSL_OP_DIV && tsl_dtype_is_float(in) && in != TSL_DTYPE_F64 && !is_half(in))
        return tsl_cpu_unsupported(cg, n, "dtype %s", tsl_dtype_name(in));
    if ((n->op == TSL_OP_AND || n->op == TSL_OP_OR || n->op == TSL_OP_XOR ||
         n->op == TSL_OP_NOT) && in != TSL_DTYPE_BOOL)
        return tsl_cpu_unsupported(cg, n, "logical op on %s", tsl_dtype_name(in));
    if (n->op == TSL_OP_QUANTIZE_LINEAR && (in != TSL_DTYPE_F32 ||
                                            (out->type.dtype != TSL_DTYPE_U8 &&
                                             out->type.dtype != TSL_DTYPE_I8)))
        return tsl_cpu_unsupported(cg, n, "only f32 -> u8/i8 quantization is lowered");
    if (n->op == TSL_OP_DEQUANTIZE_LINEAR &&
        (tsl_dtype_is_float(in) || out->type.dtype != TSL_DTYPE_F32 ||
         n->inputs[1]->type.dtype != TSL_DTYPE_F32))
        return tsl_cpu_unsupported(cg, n, "only integer -> f32 dequantization is lowered");
    return TSL_STATUS_OK;
}

/* ---- emit ----------------------------------------------------------------- */

struct ew_ctx {
    const struct tsl_node *n;
    enum tsl_dtype dt[TSL_CPU_NEST_MAX]; /* [0] output, [1 + i] input i */
    LLVMTypeRef ty[TSL_CPU_NEST_MAX];
    int n_ops;
    int map[TSL_CPU_NEST_MAX]; /* input i -> operand index, -1 when omitted */
    const struct tsl_cpu_act *act; /* fused epilogue (f32 outputs: Pow with an f64 exponent) */
};

static LLVMValueRef konst(LLVMTypeRef ty, int64_t v)
{
    return LLVMConstInt(ty, (unsigned long long)v, 1);
}

/* Cast per docs/reference-semantics.md. */
LLVMValueRef tsl_cpu_cast_value(struct tsl_cpu_cg *cg, LLVMValueRef x, enum tsl_dtype from,
                                enum tsl_dtype to)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef tt = tsl_cpu_elem_type(cg, to);
    bool ff = tsl_dtype_is_float(from), tf = tsl_dtype_is_float(to);
    if (to == TSL_DTYPE_BOOL) {
        LLVMValueRef nz = ff ? LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(LLVMTypeOf(x), 0), "")
                             : LLVMBuildICmp(b, LLVMIntNE, x, konst(LLVMTypeOf(x), 0), "");
        return LLVMBuildZExt(b, nz, tt, "");
    }
    if (ff && tf) {
        if (from == to)
            return x;
        return from == TSL_DTYPE_F64 ? LLVMBuildFPTrunc(b, x, tt, "") : LLVMBuildFPExt(b, x, tt, "");
    }
    bool fs = tsl_dtype_is_signed(from) && from != TSL_DTYPE_BOOL;
    if (!ff && tf)
        return fs ? LLVMBuildSIToFP(b, x, tt, "") : LLVMBuildUIToFP(b, x, tt, "");
    if (ff) {
        LLVMTypeRef ft = LLVMTypeOf(x);
        unsigned id = LLVMLookupIntrinsicID("llvm.fptosi.sat", 15);
        LLVMTypeRef ovl[2] = {cg->t_i64, ft};
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, ovl, 2);
        LLVMValueRef i = LLVMBuildCall2(b, LLVMIntrinsicGetType(cg->ctx, id, ovl, 2), fn, &x, 1, "");
        return tt == cg->t_i64 ? i : LLVMBuildTrunc(b, i, tt, "");
    }
    return LLVMBuildIntCast2(b, x, tt, fs, "");
}

static LLVMValueRef bool_of(struct tsl_cpu_cg *cg, LLVMValueRef x)
{
    return LLVMBuildICmp(cg->b, LLVMIntNE, x, konst(LLVMTypeOf(x), 0), "");
}

static LLVMValueRef arith(struct tsl_cpu_cg *cg, enum tsl_op op, enum tsl_dtype dt, LLVMValueRef a,
                          LLVMValueRef c)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ty = LLVMTypeOf(a);
    bool fl = tsl_dtype_is_float(dt), sg = tsl_dtype_is_signed(dt);
    switch (op) {
    case TSL_OP_ADD: return fl ? LLVMBuildFAdd(b, a, c, "") : LLVMBuildAdd(b, a, c, "");
    case TSL_OP_SUB: return fl ? LLVMBuildFSub(b, a, c, "") : LLVMBuildSub(b, a, c, "");
    case TSL_OP_MUL: return fl ? LLVMBuildFMul(b, a, c, "") : LLVMBuildMul(b, a, c, "");
    case TSL_OP_DIV: {
        if (fl)
            return LLVMBuildFDiv(b, a, c, "");
        /* divisor 0 would be UB: the result is 0 (the reference reports an
         * error there); INT_MIN / -1 wraps to INT_MIN as in the reference */
        LLVMValueRef z = bool_of(cg, c);
        LLVMValueRef safe = LLVMBuildSelect(b, z, c, konst(ty, 1), "");
        LLVMValueRef q;
        if (sg) {
            LLVMValueRef m1 = LLVMBuildICmp(b, LLVMIntEQ, safe, konst(ty, -1), "");
            LLVMValueRef safe2 = LLVMBuildSelect(b, m1, konst(ty, 1), safe, "");
            q = LLVMBuildSDiv(b, a, safe2, "");
            q = LLVMBuildSelect(b, m1, LLVMBuildSub(b, konst(ty, 0), a, ""), q, "");
        } else {
            q = LLVMBuildUDiv(b, a, safe, "");
        }
        return LLVMBuildSelect(b, z, q, konst(ty, 0), "");
    }
    case TSL_OP_MAX: case TSL_OP_MIN: {
        bool mx = op == TSL_OP_MAX;
        if (fl) {
            LLVMValueRef gt = LLVMBuildFCmp(b, mx ? LLVMRealOGT : LLVMRealOLT, a, c, "");
            LLVMValueRef r = LLVMBuildSelect(b, gt, a, c, "");
            LLVMValueRef an = LLVMBuildFCmp(b, LLVMRealUNO, a, a, "");
            return LLVMBuildSelect(b, an, a, r, ""); /* NaN propagates */
        }
        LLVMIntPredicate p = mx ? (sg ? LLVMIntSGT : LLVMIntUGT) : (sg ? LLVMIntSLT : LLVMIntULT);
        return LLVMBuildSelect(b, LLVMBuildICmp(b, p, a, c, ""), a, c, "");
    }
    default: return a;
    }
}

static LLVMValueRef compare(struct tsl_cpu_cg *cg, enum tsl_op op, enum tsl_dtype dt,
                            LLVMValueRef a, LLVMValueRef c)
{
    if (tsl_dtype_is_float(dt)) {
        LLVMRealPredicate p = op == TSL_OP_EQUAL           ? LLVMRealOEQ
                              : op == TSL_OP_GREATER         ? LLVMRealOGT
                              : op == TSL_OP_GREATER_OR_EQUAL ? LLVMRealOGE
                              : op == TSL_OP_LESS            ? LLVMRealOLT
                                                             : LLVMRealOLE;
        return LLVMBuildFCmp(cg->b, p, a, c, "");
    }
    bool sg = tsl_dtype_is_signed(dt) && dt != TSL_DTYPE_BOOL;
    LLVMIntPredicate p = op == TSL_OP_EQUAL             ? LLVMIntEQ
                         : op == TSL_OP_GREATER          ? (sg ? LLVMIntSGT : LLVMIntUGT)
                         : op == TSL_OP_GREATER_OR_EQUAL ? (sg ? LLVMIntSGE : LLVMIntUGE)
                         : op == TSL_OP_LESS             ? (sg ? LLVMIntSLT : LLVMIntULT)
                                                         : (sg ? LLVMIntSLE : LLVMIntULE);
    return LLVMBuildICmp(cg->b, p, a, c, "");
}

static LLVMValueRef quantize(struct tsl_cpu_cg *cg, const struct ew_ctx *c, LLVMValueRef *in)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x = LLVMBuildFDiv(b, in[0], in[1], "");
    x = tsl_cpu_intrinsic(cg, "llvm.roundeven", cg->t_f32, &x, 1);
    LLVMValueRef q = tsl_cpu_cast_value(cg, x, TSL_DTYPE_F32, TSL_DTYPE_I64);
    if (in[2])
        q = LLVMBuildAdd(b, q, LLVMBuildIntCast2(b, in[2], cg->t_i64, c->dt[3] == TSL_DTYPE_I8, ""),
                         "");
    bool s8 = c->dt[0] == TSL_DTYPE_I8;
    LLVMValueRef lo = tsl_cpu_i64(cg, s8 ? -128 : 0), hi = tsl_cpu_i64(cg, s8 ? 127 : 255);
    q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, q, lo, ""), lo, q, "");
    q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, q, hi, ""), hi, q, "");
    return LLVMBuildTrunc(b, q, cg->t_i8, "");
}

static LLVMValueRef dequantize(struct tsl_cpu_cg *cg, const struct ew_ctx *c, LLVMValueRef *in)
{
    LLVMBuilderRef b = cg->b;
    bool sg = tsl_dtype_is_signed(c->dt[1]);
    LLVMValueRef q = LLVMBuildIntCast2(b, in[0], cg->t_i64, sg, "");
    if (in[2])
        q = LLVMBuildSub(b, q, LLVMBuildIntCast2(b, in[2], cg->t_i64, tsl_dtype_is_signed(c->dt[3]),
                                                 ""), "");
    return LLVMBuildFMul(b, LLVMBuildSIToFP(b, q, cg->t_f32, ""), in[1], "");
}

/* Pow as the reference: a float operand (or output) computes libm
 * pow(double, double) and converts like Cast; integer ^ integer is exact
 * square-and-multiply wrapping in 64 bits (a negative exponent gives 0 except
 * for bases 1 and -1), unrolled without branches. */
static LLVMValueRef power(struct tsl_cpu_cg *cg, const struct ew_ctx *c, LLVMValueRef *in)
{
    LLVMBuilderRef b = cg->b;
    enum tsl_dtype xd = c->dt[1], ed = c->dt[2], od = c->dt[0];
    if (tsl_dtype_is_float(xd) || tsl_dtype_is_float(ed)) {
        LLVMTypeRef f64 = LLVMDoubleTypeInContext(cg->ctx);
        LLVMValueRef args[2] = {tsl_cpu_cast_value(cg, in[0], xd, TSL_DTYPE_F64),
                                tsl_cpu_cast_value(cg, in[1], ed, TSL_DTYPE_F64)};
        LLVMTypeRef params[2] = {f64, f64};
        LLVMTypeRef fty = LLVMFunctionType(f64, params, 2, 0);
        LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, "pow");
        if (!fn)
            fn = LLVMAddFunction(cg->mod, "pow", fty);
        return tsl_cpu_cast_value(cg, LLVMBuildCall2(b, fty, fn, args, 2, ""), TSL_DTYPE_F64, od);
    }
    LLVMTypeRef i64 = cg->t_i64;
    LLVMValueRef base = LLVMBuildIntCast2(b, in[0], i64, tsl_dtype_is_signed(xd), "");
    LLVMValueRef e = LLVMBuildIntCast2(b, in[1], i64, tsl_dtype_is_signed(ed), "");
    LLVMValueRef r = tsl_cpu_i64(cg, 1), sq = base, k = e, one = tsl_cpu_i64(cg, 1);
    for (int bit = 0; bit < 63; bit++) {
        LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, k, one, ""),
                                         tsl_cpu_i64(cg, 0), "");
        r = LLVMBuildSelect(b, odd, LLVMBuildMul(b, r, sq, ""), r, "");
        sq = LLVMBuildMul(b, sq, sq, "");
        k = LLVMBuildLShr(b, k, one, "");
    }
    /* e < 0: 1 for base 1, +-1 for base -1 by parity, else 0 */
    LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntSLT, e, tsl_cpu_i64(cg, 0), "");
    LLVMValueRef odd_e = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, e, one, ""),
                                       tsl_cpu_i64(cg, 0), "");
    LLVMValueRef m1 = LLVMBuildSelect(b, odd_e, tsl_cpu_i64(cg, -1), one, "");
    LLVMValueRef nr = LLVMBuildSelect(
        b, LLVMBuildICmp(b, LLVMIntEQ, base, one, ""), one,
        LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, base, tsl_cpu_i64(cg, -1), ""), m1,
                        tsl_cpu_i64(cg, 0), ""),
        "");
    r = LLVMBuildSelect(b, neg, nr, r, "");
    return LLVMBuildTrunc(b, r, c->ty[0], "");
}

static void ew_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *ud)
{
    const struct ew_ctx *c = ud;
    const struct tsl_node *n = c->n;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef in[TSL_CPU_NEST_MAX] = {0};
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (c->map[i] >= 0)
            in[i] = tsl_cpu_typed_load(cg, c->ty[c->map[i]], p[c->map[i]]);
    enum tsl_dtype idt = n->inputs[0]->type.dtype, odt = c->dt[0];
    LLVMTypeRef oty = c->ty[0];
    LLVMValueRef r;
    bool half_out = false;
    if (n->op != TSL_OP_WHERE) { /* Where moves the bits as they are */
        for (uint32_t i = 0; i < n->n_inputs; i++)
            if (in[i] && is_half(c->dt[1 + i]))
                in[i] = half_to_f32(cg, in[i], c->dt[1 + i]);
        if (is_half(idt))
            idt = TSL_DTYPE_F32;
        half_out = is_half(odt);
        if (half_out)
            oty = cg->t_f32;
    }
    if (is_cmp(n->op)) {
        r = LLVMBuildZExt(b, compare(cg, n->op, idt, in[0], in[1]), oty, "");
    } else if (n->op == TSL_OP_AND || n->op == TSL_OP_OR || n->op == TSL_OP_XOR) {
        LLVMValueRef x = bool_of(cg, in[0]), y = bool_of(cg, in[1]);
        r = n->op == TSL_OP_AND ? LLVMBuildAnd(b, x, y, "")
            : n->op == TSL_OP_OR ? LLVMBuildOr(b, x, y, "")
                                 : LLVMBuildXor(b, x, y, "");
        r = LLVMBuildZExt(b, r, oty, "");
    } else if (n->op == TSL_OP_NOT) {
        r = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntEQ, in[0], konst(c->ty[1], 0), ""), oty, "");
    } else if (n->op == TSL_OP_WHERE) {
        r = LLVMBuildSelect(b, bool_of(cg, in[0]), in[1], in[2], "");
    } else if (n->op == TSL_OP_CLIP) { /* the reference's order: max with min, then min with max */
        r = in[0];
        if (in[1])
            r = LLVMBuildSelect(b, compare(cg, TSL_OP_LESS, idt, r, in[1]), in[1], r, "");
        if (in[2])
            r = LLVMBuildSelect(b, compare(cg, TSL_OP_GREATER, idt, r, in[2]), in[2], r, "");
    } else if (n->op == TSL_OP_CAST && half_out) { /* through double then float, as the reference */
        r = tsl_cpu_cast_value(cg, in[0], idt, TSL_DTYPE_F64);
        r = tsl_cpu_cast_value(cg, r, TSL_DTYPE_F64, TSL_DTYPE_F32);
    } else if (n->op == TSL_OP_CAST) {
        r = tsl_cpu_cast_value(cg, in[0], idt, c->dt[0]);
    } else if (n->op == TSL_OP_POW) {
        r = power(cg, c, in);
    } else if (n->op == TSL_OP_QUANTIZE_LINEAR) {
        r = quantize(cg, c, in);
    } else if (n->op == TSL_OP_DEQUANTIZE_LINEAR) {
        r = dequantize(cg, c, in);
    } else if (n->op == TSL_OP_NEG) {
        r = tsl_dtype_is_float(idt) ? LLVMBuildFNeg(b, in[0], "")
                                    : LLVMBuildSub(b, konst(oty, 0), in[0], "");
    } else if (n->op == TSL_OP_ABS) {
        if (tsl_dtype_is_float(idt))
            r = tsl_cpu_intrinsic(cg, "llvm.fabs", oty, in, 1);
        else if (tsl_dtype_is_signed(idt))
            r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, in[0], konst(oty, 0), ""),
                                LLVMBuildSub(b, konst(oty, 0), in[0], ""), in[0], "");
        else
            r = in[0];
    } else {
        r = in[0];
        for (uint32_t i = 1; i < n->n_inputs; i++)
            r = arith(cg, n->op, idt, r, in[i]);
    }
    if (c->act && c->dt[0] == TSL_DTYPE_F32)
        r = tsl_cpu_apply_act(cg, c->act, r);
    if (half_out && !is_cmp(n->op))
        r = f32_to_half(cg, r, odt);
    tsl_cpu_typed_store(cg, r, p[0]);
}

static enum tsl_status ew_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_cpu_lowering *l = legacy(n);
    if (l)
        return l->emit(cg, st);
    const struct tsl_value *out = st->out; /* the last fused node's output */
    const struct tsl_shape *os = &out->type.shape;
    struct ew_ctx c = {.n = n, .n_ops = 1, .act = &st->act};
    struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 1};
    for (int d = 0; d < os->rank; d++)
        nest.dims[d] = os->dims[d];
    tsl_cpu_strides(os, nest.strides[0]);
    TSL_TRY(tsl_cpu_ptr(cg, out, &nest.base[0]));
    c.dt[0] = out->type.dtype;
    c.ty[0] = ew_type(cg, c.dt[0]);
    int axis = quant_axis(n);
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        c.map[i] = -1;
        c.dt[1 + i] = v ? v->type.dtype : TSL_DTYPE_UNDEF;
        if (!v)
            continue;
        int o = nest.n_ops++;
        c.map[i] = o;
        c.ty[o] = ew_type(cg, v->type.dtype);
        operand_strides(v, os, i > 0 ? axis : -1, nest.strides[o]);
        TSL_TRY(tsl_cpu_ptr(cg, v, &nest.base[o]));
    }
    tsl_cpu_nest_coalesce(&nest);
    tsl_cpu_typed_nest_emit(cg, &nest, c.ty, ew_body, &c);
    return TSL_STATUS_OK;
}

/* Add Sub Mul Div Max Min: f32 keeps the vectorized binary lowering (and its
 * fused epilogue, only ever formed on f32 values). */
const struct tsl_cpu_lowering tsl_cpu_lower_arith = {ew_check, ew_emit, true, true, false};
const struct tsl_cpu_lowering tsl_cpu_lower_typed = {ew_check, ew_emit, false, true, false};
