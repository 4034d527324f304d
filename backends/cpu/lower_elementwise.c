/* lower_elementwise.c - lowerings of elementwise ops: unary math (one
 * formula per op, table indexed by enum tsl_op), binary and variadic ops with
 * numpy broadcasting, Clip, and inference-form
 * BatchNormalization folded at compile time into a per-channel multiply-add
 * (run-time statistics: the same formula per element).  Clip bounds may be
 * run-time scalars.
 * (Selu calls libm's expm1f, like Elu's neighbours call tanhf/erff.)
 *
 * All of them go through the generic loop nest of cg.c: output and inputs
 * get per-dimension strides (0 where broadcast), adjacent dims are coalesced
 * and the innermost loop is left to LLVM's loop vectorizer.  f32 only. */
#include <math.h>
#include <stdlib.h>

#include "cpu_internal.h"

typedef LLVMValueRef (*unary_fn)(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x);

static LLVMValueRef intr1(struct tsl_cpu_cg *cg, const char *name, LLVMValueRef x)
{
    return tsl_cpu_intrinsic(cg, name, cg->t_f32, &x, 1);
}
static LLVMValueRef sel_lt0(struct tsl_cpu_cg *cg, LLVMValueRef x, LLVMValueRef neg)
{
    LLVMValueRef lt = LLVMBuildFCmp(cg->b, LLVMRealOLT, x, tsl_cpu_f32c(cg, 0.0), "");
    return LLVMBuildSelect(cg->b, lt, neg, x, "");
}
static LLVMValueRef clamp01(struct tsl_cpu_cg *cg, LLVMValueRef x)
{
    struct tsl_cpu_act a = tsl_cpu_act_clip(0.0f, 1.0f);
    return tsl_cpu_apply_act(cg, &a, x);
}
static LLVMValueRef u_abs(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.fabs", x); }
static LLVMValueRef u_ceil(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.ceil", x); }
static LLVMValueRef u_floor(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.floor", x); }
static LLVMValueRef u_round(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.roundeven", x); }
static LLVMValueRef u_exp(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.exp", x); }
static LLVMValueRef u_log(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.log", x); }
static LLVMValueRef u_sqrt(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.sqrt", x); }
static LLVMValueRef u_sin(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.sin", x); }
static LLVMValueRef u_cos(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return intr1(cg, "llvm.cos", x); }
static LLVMValueRef u_tanh(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return tsl_cpu_libm(cg, "tanhf", &x, 1); }
static LLVMValueRef u_erf(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return tsl_cpu_libm(cg, "erff", &x, 1); }
static LLVMValueRef u_neg(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return LLVMBuildFNeg(cg->b, x, ""); }
static LLVMValueRef u_recip(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x) { (void)n; return LLVMBuildFDiv(cg->b, tsl_cpu_f32c(cg, 1.0), x, ""); }
static LLVMValueRef u_relu(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    (void)n;
    struct tsl_cpu_act a = tsl_cpu_act_relu();
    return tsl_cpu_apply_act(cg, &a, x);
}
static LLVMValueRef u_sigmoid(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef e = intr1(cg, "llvm.exp", LLVMBuildFNeg(cg->b, x, ""));
    return LLVMBuildFDiv(cg->b, tsl_cpu_f32c(cg, 1.0),
                         LLVMBuildFAdd(cg->b, tsl_cpu_f32c(cg, 1.0), e, ""), "");
}
static LLVMValueRef u_softplus(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef e = intr1(cg, "llvm.exp", x);
    return tsl_cpu_libm(cg, "log1pf", &e, 1);
}
static LLVMValueRef u_sign(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef z = tsl_cpu_f32c(cg, 0.0);
    LLVMValueRef gt = LLVMBuildUIToFP(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, x, z, ""), cg->t_f32, "");
    LLVMValueRef lt = LLVMBuildUIToFP(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, x, z, ""), cg->t_f32, "");
    return LLVMBuildFSub(cg->b, gt, lt, "");
}
static LLVMValueRef u_hard_swish(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef t = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, x, tsl_cpu_f32c(cg, 1.0 / 6.0), ""),
                                   tsl_cpu_f32c(cg, 0.5), "");
    return LLVMBuildFMul(cg->b, x, clamp01(cg, t), "");
}
static LLVMValueRef u_hard_sigmoid(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    LLVMValueRef t = LLVMBuildFAdd(
        cg->b, LLVMBuildFMul(cg->b, x, tsl_cpu_f32c(cg, n->attrs.alpha_beta.alpha), ""),
        tsl_cpu_f32c(cg, n->attrs.alpha_beta.beta), "");
    return clamp01(cg, t);
}
static LLVMValueRef u_leaky_relu(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    return sel_lt0(cg, x, LLVMBuildFMul(cg->b, x, tsl_cpu_f32c(cg, n->attrs.alpha_beta.alpha), ""));
}
static LLVMValueRef u_elu(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    LLVMValueRef em1 = LLVMBuildFSub(cg->b, intr1(cg, "llvm.exp", x), tsl_cpu_f32c(cg, 1.0), "");
    return sel_lt0(cg, x, LLVMBuildFMul(cg->b, em1, tsl_cpu_f32c(cg, n->attrs.alpha_beta.alpha), ""));
}
/* Selu: alpha = ONNX alpha, beta = ONNX gamma (as in the reference). */
static LLVMValueRef u_selu(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef x)
{
    LLVMValueRef em1 = tsl_cpu_libm(cg, "expm1f", &x, 1);
    LLVMValueRef neg = LLVMBuildFMul(cg->b, em1, tsl_cpu_f32c(cg, n->attrs.alpha_beta.alpha), "");
    LLVMValueRef gt = LLVMBuildFCmp(cg->b, LLVMRealOGT, x, tsl_cpu_f32c(cg, 0.0), "");
    return LLVMBuildFMul(cg->b, LLVMBuildSelect(cg->b, gt, x, neg, ""),
                         tsl_cpu_f32c(cg, n->attrs.alpha_beta.beta), "");
}

static const unary_fn unary_table[TSL_OP_COUNT] = {
    [TSL_OP_ABS] = u_abs,           [TSL_OP_CEIL] = u_ceil,
    [TSL_OP_COS] = u_cos,           [TSL_OP_ERF] = u_erf,
    [TSL_OP_EXP] = u_exp,           [TSL_OP_FLOOR] = u_floor,
    [TSL_OP_HARD_SWISH] = u_hard_swish, [TSL_OP_LOG] = u_log,
    [TSL_OP_NEG] = u_neg,           [TSL_OP_RECIPROCAL] = u_recip,
    [TSL_OP_RELU] = u_relu,         [TSL_OP_ROUND] = u_round,
    [TSL_OP_SIGMOID] = u_sigmoid,   [TSL_OP_SIGN] = u_sign,
    [TSL_OP_SIN] = u_sin,           [TSL_OP_SOFTPLUS] = u_softplus,
    [TSL_OP_SQRT] = u_sqrt,         [TSL_OP_TANH] = u_tanh,
    [TSL_OP_ELU] = u_elu,           [TSL_OP_HARD_SIGMOID] = u_hard_sigmoid,
    [TSL_OP_LEAKY_RELU] = u_leaky_relu, [TSL_OP_SELU] = u_selu,
};

/* ---- shared nest set-up --------------------------------------------------- */

struct ew_ud {
    const struct tsl_node *node;
    const struct tsl_cpu_step *st;
    int n_in;
};

static enum tsl_status check_inputs(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st,
                                    uint32_t first, uint32_t count)
{
    const struct tsl_node *n = st->node;
    if (count > TSL_CPU_NEST_MAX - 1)
        return tsl_cpu_unsupported(cg, n, "more than %d inputs", TSL_CPU_NEST_MAX - 1);
    for (uint32_t i = first; i < first + count; i++) {
        TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[i]));
        int64_t s[TSL_MAX_RANK];
        if (!tsl_cpu_bcast_strides(&n->inputs[i]->type.shape, &st->out->type.shape, s))
            return tsl_cpu_unsupported(cg, n, "input '%s' does not broadcast to the output",
                                       n->inputs[i]->name);
    }
    return tsl_cpu_require_f32(cg, n, st->out);
}

/* Nest with op 0 = output, ops 1..count = node inputs [first, first+count). */
static enum tsl_status make_nest(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                 uint32_t first, uint32_t count, struct tsl_cpu_nest *nest)
{
    const struct tsl_shape *os = &st->out->type.shape;
    nest->rank = os->rank;
    for (int d = 0; d < os->rank; d++)
        nest->dims[d] = os->dims[d];
    nest->n_ops = (int)count + 1;
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &nest->base[0]));
    tsl_cpu_strides(os, nest->strides[0]);
    for (uint32_t i = 0; i < count; i++) {
        const struct tsl_value *v = st->node->inputs[first + i];
        TSL_TRY(tsl_cpu_ptr(cg, v, &nest->base[i + 1]));
        tsl_cpu_bcast_strides(&v->type.shape, os, nest->strides[i + 1]);
    }
    tsl_cpu_nest_coalesce(nest);
    return TSL_STATUS_OK;
}

static LLVMValueRef ld(struct tsl_cpu_cg *cg, LLVMValueRef p)
{
    return tsl_cpu_load(cg, p, tsl_cpu_i64(cg, 0));
}
static void st0(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef p)
{
    tsl_cpu_store(cg, v, p, tsl_cpu_i64(cg, 0));
}

/* ---- unary ------------------------------------------------------------- */

static enum tsl_status unary_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    if (!unary_table[st->node->op])
        return tsl_cpu_unsupported(cg, st->node, "no unary formula");
    return check_inputs(cg, st, 0, 1);
}

static void unary_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct ew_ud *ud = vud;
    LLVMValueRef y = unary_table[ud->node->op](cg, ud->node, ld(cg, p[1]));
    st0(cg, tsl_cpu_apply_act(cg, &ud->st->act, y), p[0]);
}

static enum tsl_status unary_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct tsl_cpu_nest nest;
    TSL_TRY(make_nest(cg, st, 0, 1, &nest));
    struct ew_ud ud = {st->node, st, 1};
    tsl_cpu_nest_emit_par(cg, &nest, unary_body, &ud, 0.5);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_unary = {unary_check, unary_emit, true, false, false};

/* ---- binary / variadic -------------------------------------------------- */

static LLVMValueRef combine(struct tsl_cpu_cg *cg, enum tsl_op op, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef args[2] = {a, b};
    switch (op) {
    case TSL_OP_ADD: case TSL_OP_SUM: case TSL_OP_MEAN: return LLVMBuildFAdd(cg->b, a, b, "");
    case TSL_OP_SUB: return LLVMBuildFSub(cg->b, a, b, "");
    case TSL_OP_MUL: return LLVMBuildFMul(cg->b, a, b, "");
    case TSL_OP_DIV: return LLVMBuildFDiv(cg->b, a, b, "");
    case TSL_OP_POW: return tsl_cpu_intrinsic(cg, "llvm.pow", cg->t_f32, args, 2);
    case TSL_OP_MAX: return tsl_cpu_intrinsic(cg, "llvm.maxnum", cg->t_f32, args, 2);
    case TSL_OP_MIN: return tsl_cpu_intrinsic(cg, "llvm.minnum", cg->t_f32, args, 2);
    case TSL_OP_PRELU: return sel_lt0(cg, a, LLVMBuildFMul(cg->b, a, b, ""));
    default: return a;
    }
}

static bool is_binary(enum tsl_op op)
{
    return op == TSL_OP_ADD || op == TSL_OP_SUB || op == TSL_OP_MUL || op == TSL_OP_DIV ||
           op == TSL_OP_POW || op == TSL_OP_MAX || op == TSL_OP_MIN || op == TSL_OP_PRELU ||
           op == TSL_OP_SUM || op == TSL_OP_MEAN;
}

static enum tsl_status binary_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    if (!is_binary(st->node->op))
        return tsl_cpu_unsupported(cg, st->node, "not a lowered arithmetic op");
    return check_inputs(cg, st, 0, st->node->n_inputs);
}

static void binary_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct ew_ud *ud = vud;
    LLVMValueRef acc = ld(cg, p[1]);
    for (int i = 1; i < ud->n_in; i++)
        acc = combine(cg, ud->node->op, acc, ld(cg, p[i + 1]));
    if (ud->node->op == TSL_OP_MEAN)
        acc = LLVMBuildFMul(cg->b, acc, tsl_cpu_f32c(cg, 1.0 / ud->n_in), "");
    st0(cg, tsl_cpu_apply_act(cg, &ud->st->act, acc), p[0]);
}

static enum tsl_status binary_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct tsl_cpu_nest nest;
    TSL_TRY(make_nest(cg, st, 0, st->node->n_inputs, &nest));
    struct ew_ud ud = {st->node, st, (int)st->node->n_inputs};
    tsl_cpu_nest_emit_par(cg, &nest, binary_body, &ud, 0.5);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_binary = {binary_check, binary_emit, true,
                                                      false, false};

/* ---- Clip (standalone) ---------------------------------------------------- */

/* Bounds of a standalone Clip: constants become the clip's a/b; a run-time f32
 * scalar bound (a graph input or activation) is loaded in the step and
 * marked in *rt_lo / *rt_hi (same select order as the reference). */
static enum tsl_status clip_bounds(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                   struct tsl_cpu_act *act, bool *rt_lo, bool *rt_hi)
{
    *act = tsl_cpu_act_clip(-INFINITY, INFINITY);
    *rt_lo = *rt_hi = false;
    for (uint32_t i = 1; i < n->n_inputs && i < 3; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v)
            continue;
        if (v->type.dtype != TSL_DTYPE_F32 || tsl_cpu_numel(v) != 1 ||
            !tsl_shape_is_static(&v->type.shape))
            return tsl_cpu_unsupported(cg, n, "min/max must be f32 scalars");
        if (!v->constant) {
            *(i == 1 ? rt_lo : rt_hi) = true;
            continue;
        }
        float *d;
        TSL_TRY(tsl_cpu_const_f32(cg, v, &d));
        if (i == 1)
            act->op[0].a = d[0];
        else
            act->op[0].b = d[0];
        free(d);
    }
    return TSL_STATUS_OK;
}

static enum tsl_status clip_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct tsl_cpu_act a;
    bool rl, rh;
    TSL_TRY(clip_bounds(cg, st->node, &a, &rl, &rh));
    return check_inputs(cg, st, 0, 1);
}

struct clip_ud {
    struct tsl_cpu_act a;
    LLVMValueRef lo, hi; /* run-time bounds, or NULL */
    const struct tsl_cpu_step *st;
};

static void clip_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct clip_ud *ud = vud;
    LLVMValueRef y = ld(cg, p[1]);
    if (ud->lo || ud->hi) {
        LLVMValueRef lo = ud->lo ? ud->lo : tsl_cpu_f32c(cg, ud->a.op[0].a);
        LLVMValueRef hi = ud->hi ? ud->hi : tsl_cpu_f32c(cg, ud->a.op[0].b);
        y = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, y, lo, ""), lo, y, "");
        y = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, y, hi, ""), hi, y, "");
    } else {
        y = tsl_cpu_apply_act(cg, &ud->a, y);
    }
    st0(cg, tsl_cpu_apply_act(cg, &ud->st->act, y), p[0]);
}

static enum tsl_status clip_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct clip_ud ud = {.st = st};
    bool rl, rh;
    TSL_TRY(clip_bounds(cg, st->node, &ud.a, &rl, &rh));
    for (uint32_t i = 1; i < 3; i++) {
        if (!(i == 1 ? rl : rh))
            continue;
        LLVMValueRef p;
        TSL_TRY(tsl_cpu_ptr(cg, st->node->inputs[i], &p));
        *(i == 1 ? &ud.lo : &ud.hi) = ld(cg, p);
    }
    struct tsl_cpu_nest nest;
    TSL_TRY(make_nest(cg, st, 0, 1, &nest));
    if (ud.lo || ud.hi) /* run-time bounds are values of the step function */
        tsl_cpu_nest_emit(cg, &nest, clip_body, &ud);
    else
        tsl_cpu_nest_emit_par(cg, &nest, clip_body, &ud, 0.25);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_clip = {clip_check, clip_emit, true, false, false};

/* ---- BatchNormalization (inference) --------------------------------------- */

static enum tsl_status bn_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    if (n->inputs[0]->type.shape.rank < 2)
        return tsl_cpu_unsupported(cg, n, "input rank must be >= 2");
    int64_t c = n->inputs[0]->type.shape.dims[1];
    for (uint32_t i = 1; i < 5; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v || v->type.dtype != TSL_DTYPE_F32 || tsl_cpu_numel(v) != c ||
            !tsl_shape_is_static(&v->type.shape))
            return tsl_cpu_unsupported(cg, n, "scale/bias/mean/var must be f32 vectors of %lld",
                                       (long long)c);
    }
    return tsl_cpu_require_f32(cg, n, st->out);
}

static void bn_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct ew_ud *ud = vud;
    LLVMValueRef y = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, ld(cg, p[1]), ld(cg, p[2]), ""),
                                   ld(cg, p[3]), "");
    st0(cg, tsl_cpu_apply_act(cg, &ud->st->act, y), p[0]);
}

/* Run-time statistics: a = scale / sqrt(var + eps), b = bias - mean * a in
 * double (as the reference), y = x * (float)a + (float)b. */
static void bn_rt_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct ew_ud *ud = vud;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(cg->ctx);
    LLVMValueRef v[4];
    for (int i = 0; i < 4; i++)
        v[i] = LLVMBuildFPExt(cg->b, ld(cg, p[2 + i]), f64, "");
    LLVMValueRef var = LLVMBuildFAdd(
        cg->b, v[3], LLVMConstReal(f64, (double)ud->node->attrs.batchnorm.epsilon), "");
    LLVMValueRef a = LLVMBuildFDiv(cg->b, v[0], tsl_cpu_intrinsic(cg, "llvm.sqrt", f64, &var, 1), "");
    LLVMValueRef b = LLVMBuildFSub(cg->b, v[1], LLVMBuildFMul(cg->b, v[2], a, ""), "");
    LLVMValueRef y = LLVMBuildFAdd(
        cg->b, LLVMBuildFMul(cg->b, ld(cg, p[1]), LLVMBuildFPTrunc(cg->b, a, cg->t_f32, ""), ""),
        LLVMBuildFPTrunc(cg->b, b, cg->t_f32, ""), "");
    st0(cg, tsl_cpu_apply_act(cg, &ud->st->act, y), p[0]);
}

static enum tsl_status bn_emit_runtime(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_shape *os = &st->out->type.shape;
    struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 6};
    for (int d = 0; d < os->rank; d++) {
        nest.dims[d] = os->dims[d];
        for (int o = 2; o < 6; o++)
            nest.strides[o][d] = d == 1 ? 1 : 0;
    }
    tsl_cpu_strides(os, nest.strides[0]);
    tsl_cpu_strides(os, nest.strides[1]);
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &nest.base[0]));
    for (uint32_t i = 0; i < 5; i++)
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[i], &nest.base[1 + i]));
    tsl_cpu_nest_coalesce(&nest);
    struct ew_ud ud = {n, st, 1};
    tsl_cpu_nest_emit(cg, &nest, bn_rt_body, &ud);
    return TSL_STATUS_OK;
}

static enum tsl_status bn_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    for (uint32_t i = 1; i < 5; i++)
        if (!n->inputs[i]->constant)
            return bn_emit_runtime(cg, st);
    int64_t c = n->inputs[0]->type.shape.dims[1];
    float *prm[4] = {0};
    float *ab = malloc((size_t)(2 * c + 1) * sizeof *ab);
    enum tsl_status s = ab ? TSL_STATUS_OK
                           : tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "batchnorm");
    for (int i = 0; i < 4 && s == TSL_STATUS_OK; i++)
        s = tsl_cpu_const_f32(cg, n->inputs[i + 1], &prm[i]);
    int64_t off = 0;
    if (s == TSL_STATUS_OK) {
        for (int64_t i = 0; i < c; i++) {
            float a = prm[0][i] / sqrtf(prm[3][i] + n->attrs.batchnorm.epsilon);
            ab[i] = a;
            ab[c + i] = prm[1][i] - prm[2][i] * a;
        }
        s = tsl_cpu_blob_add(cg, ab, (size_t)(2 * c) * sizeof *ab, &off);
    }
    for (int i = 0; i < 4; i++)
        free(prm[i]);
    free(ab);
    TSL_TRY(s);
    const struct tsl_shape *os = &st->out->type.shape;
    struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 4};
    for (int d = 0; d < os->rank; d++) {
        nest.dims[d] = os->dims[d];
        nest.strides[2][d] = nest.strides[3][d] = d == 1 ? 1 : 0;
    }
    tsl_cpu_strides(os, nest.strides[0]);
    tsl_cpu_strides(os, nest.strides[1]);
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &nest.base[0]));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &nest.base[1]));
    nest.base[2] = tsl_cpu_weight_ptr(cg, off);
    nest.base[3] = tsl_cpu_weight_ptr(cg, off + c * 4);
    tsl_cpu_nest_coalesce(&nest);
    struct ew_ud ud = {n, st, 1};
    tsl_cpu_nest_emit(cg, &nest, bn_body, &ud);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_batchnorm = {bn_check, bn_emit, true, false, false};
