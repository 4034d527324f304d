/* lower_reduce.c - ReduceMean/Max/Min/Sum/Prod/L2/SumSquare over any set of
 * axes (keepdims, empty axes = all dims, noop_with_empty_axes), f32.
 *
 * An outer loop nest runs over the output (kept dims), an inner nest over
 * the reduced dims of the input; the accumulator is a double, as in the
 * reference (docs/reference-semantics.md: floats accumulate in double), so
 * results agree to f32 rounding.  Max/Min propagate NaN like the reference
 * (a NaN, once seen, stays).  Empty reductions give 0 / 1 / -inf / +inf /
 * NaN (mean) like the reference.  Not here: ArgMax/ArgMin (int64 output). */
#include <math.h>

#include "lower_ext.h"

struct red_plan {
    bool red[TSL_MAX_RANK];
    int rank;
    int64_t count; /* elements per output */
};

static enum tsl_status red_plan(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                struct red_plan *p)
{
    const struct tsl_shape *s = &n->inputs[0]->type.shape;
    const struct tsl_attr_reduce *at = &n->attrs.reduce;
    p->rank = s->rank;
    for (int d = 0; d < TSL_MAX_RANK; d++)
        p->red[d] = at->axes.n == 0 && !at->noop_with_empty_axes && d < s->rank;
    for (uint32_t i = 0; i < at->axes.n; i++) {
        int64_t a = at->axes.v[i];
        if (a < -s->rank || a >= s->rank)
            return tsl_cpu_unsupported(cg, n, "axis %lld out of range", (long long)a);
        if (a < 0)
            a += s->rank;
        if (p->red[a])
            return tsl_cpu_unsupported(cg, n, "axis %lld repeated", (long long)a);
        p->red[a] = true;
    }
    p->count = 1;
    for (int d = 0; d < s->rank; d++)
        if (p->red[d])
            p->count *= s->dims[d];
    return TSL_STATUS_OK;
}

static enum tsl_status red_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    struct red_plan p;
    TSL_TRY(red_plan(cg, n, &p));
    int64_t on = tsl_cpu_numel(st->out), in = tsl_cpu_numel(n->inputs[0]);
    if (on * p.count != in && !(on == 0 || in == 0))
        return tsl_cpu_unsupported(cg, n, "output size does not match the reduction");
    return TSL_STATUS_OK;
}

struct red_ud {
    const struct tsl_cpu_step *st;
    const struct red_plan *p;
    struct tsl_cpu_nest inner;
    LLVMValueRef acc;
    LLVMTypeRef f64;
};

static void inner_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct red_ud *ud = vud;
    enum tsl_op op = ud->st->node->op;
    LLVMValueRef x = LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, p[0], tsl_cpu_i64(cg, 0)), ud->f64, "");
    LLVMValueRef a = LLVMBuildLoad2(cg->b, ud->f64, ud->acc, "");
    LLVMValueRef r;
    switch (op) {
    case TSL_OP_REDUCE_MAX:
    case TSL_OP_REDUCE_MIN: {
        /* v > acc || v != v (reference order: NaN sticks once seen) */
        LLVMValueRef better = LLVMBuildFCmp(cg->b, op == TSL_OP_REDUCE_MAX ? LLVMRealOGT : LLVMRealOLT,
                                            x, a, "");
        LLVMValueRef nan = LLVMBuildFCmp(cg->b, LLVMRealUNO, x, x, "");
        r = LLVMBuildSelect(cg->b, LLVMBuildOr(cg->b, better, nan, ""), x, a, "");
        break;
    }
    case TSL_OP_REDUCE_PROD: r = LLVMBuildFMul(cg->b, a, x, ""); break;
    case TSL_OP_REDUCE_L2:
    case TSL_OP_REDUCE_SUM_SQUARE: r = LLVMBuildFAdd(cg->b, a, LLVMBuildFMul(cg->b, x, x, ""), ""); break;
    default: r = LLVMBuildFAdd(cg->b, a, x, ""); break;
    }
    LLVMBuildStore(cg->b, r, ud->acc);
}

static void outer_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *vud)
{
    struct red_ud *ud = vud;
    enum tsl_op op = ud->st->node->op;
    double init = op == TSL_OP_REDUCE_PROD ? 1.0
                  : op == TSL_OP_REDUCE_MAX ? -INFINITY
                  : op == TSL_OP_REDUCE_MIN ? INFINITY : 0.0;
    LLVMBuildStore(cg->b, LLVMConstReal(ud->f64, init), ud->acc);
    struct tsl_cpu_nest in = ud->inner;
    in.base[0] = p[1];
    tsl_cpu_nest_emit(cg, &in, inner_body, ud);
    LLVMValueRef a = LLVMBuildLoad2(cg->b, ud->f64, ud->acc, "");
    if (op == TSL_OP_REDUCE_MEAN)
        a = LLVMBuildFDiv(cg->b, a, LLVMConstReal(ud->f64, (double)ud->p->count), "");
    else if (op == TSL_OP_REDUCE_L2)
        a = tsl_cpu_intrinsic(cg, "llvm.sqrt", ud->f64, &a, 1);
    LLVMValueRef y = LLVMBuildFPTrunc(cg->b, a, cg->t_f32, "");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &ud->st->act, y), p[0], tsl_cpu_i64(cg, 0));
}

static enum tsl_status red_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    struct red_plan p;
    TSL_TRY(red_plan(cg, n, &p));
    const struct tsl_shape *s = &n->inputs[0]->type.shape;
    int64_t ist[TSL_MAX_RANK];
    tsl_cpu_strides(s, ist);
    /* output strides over the input dims (0 on reduced dims) */
    int64_t ost[TSL_MAX_RANK], acc = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        ost[d] = p.red[d] ? 0 : acc;
        acc *= p.red[d] ? 1 : s->dims[d];
    }
    struct tsl_cpu_nest outer = {.rank = s->rank, .n_ops = 2};
    struct red_ud ud = {.st = st, .p = &p, .f64 = LLVMDoubleTypeInContext(cg->ctx)};
    ud.inner.rank = s->rank;
    ud.inner.n_ops = 1;
    for (int d = 0; d < s->rank; d++) {
        outer.dims[d] = p.red[d] ? 1 : s->dims[d];
        outer.strides[0][d] = ost[d];
        outer.strides[1][d] = p.red[d] ? 0 : ist[d];
        ud.inner.dims[d] = p.red[d] ? s->dims[d] : 1;
        ud.inner.strides[0][d] = ist[d];
    }
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &outer.base[0]));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &outer.base[1]));
    if (tsl_cpu_numel(st->out) == 0)
        return TSL_STATUS_OK;
    tsl_cpu_nest_coalesce(&outer);
    tsl_cpu_nest_coalesce(&ud.inner);
    ud.acc = tsl_cpu_entry_alloca(cg, ud.f64, "acc");
    tsl_cpu_nest_emit(cg, &outer, outer_body, &ud);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_reduce = {red_check, red_emit, true, false, false};
