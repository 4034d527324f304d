/* lower_index.c - lowerings that produce indices or several outputs, over
 * any storable dtype: ArgMax/ArgMin (i64 out, select_last_index), Split
 * (one buffer per output, sizes from the attribute or equal parts) and TopK
 * (values + i64 indices; ties lower index first, NaN ranks above every
 * number, always sorted, as the reference).
 *
 * ArgMax/ArgMin and TopK are scalar loops over (outer, inner) rows; TopK is
 * a K-pass selection with a per-row "taken" mask in the step's scratch
 * (O(K * len) per row).  Not here: elementwise typed ops (lower_typed.c). */
#include <stdlib.h>
#include <string.h>

#include "lower_ext.h"
#include "tessel/util.h"

/* outer/len/inner of a static shape split at axis. */
static void split_dims(const struct tsl_shape *s, int axis, int64_t *outer, int64_t *len,
                       int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= s->dims[d];
    for (int d = axis + 1; d < s->rank; d++)
        *inner *= s->dims[d];
    *len = s->dims[axis];
}

static bool norm_axis(int64_t a, int rank, int *out)
{
    if (a < -rank || a >= rank)
        return false;
    *out = (int)(a < 0 ? a + rank : a);
    return true;
}

static LLVMValueRef elem_ptr(struct tsl_cpu_cg *cg, LLVMTypeRef ty, LLVMValueRef base,
                             LLVMValueRef idx)
{
    LLVMValueRef p = LLVMBuildBitCast(cg->b, base, LLVMPointerType(ty, 0), "");
    return LLVMBuildInBoundsGEP2(cg->b, ty, p, &idx, 1, "");
}

/* Strictly-before predicate of the reference's orderings: `gt` true asks
 * "a ranks above b" in descending order.  Floats: NaN above every number
 * (ranks) or as the reference's double comparison (plain). */
static LLVMValueRef ranks_before(struct tsl_cpu_cg *cg, enum tsl_dtype dt, LLVMValueRef a,
                                 LLVMValueRef b, bool gt, bool nan_high)
{
    LLVMBuilderRef bd = cg->b;
    if (tsl_dtype_is_float(dt)) {
        LLVMValueRef c = LLVMBuildFCmp(bd, gt ? LLVMRealOGT : LLVMRealOLT, a, b, "");
        if (!nan_high)
            return c;
        LLVMValueRef na = LLVMBuildFCmp(bd, LLVMRealUNO, a, a, "");
        LLVMValueRef nb = LLVMBuildFCmp(bd, LLVMRealUNO, b, b, "");
        LLVMValueRef nan_wins = gt ? LLVMBuildAnd(bd, na, LLVMBuildNot(bd, nb, ""), "")
                                   : LLVMBuildAnd(bd, nb, LLVMBuildNot(bd, na, ""), "");
        return LLVMBuildOr(bd, c, nan_wins, "");
    }
    /* the reference compares integers as int64: unsigned narrower types
     * zero-extend, u64 compares signed */
    bool sg = tsl_dtype_is_signed(dt) || dt == TSL_DTYPE_U64;
    LLVMIntPredicate p = gt ? (sg ? LLVMIntSGT : LLVMIntUGT) : (sg ? LLVMIntSLT : LLVMIntULT);
    return LLVMBuildICmp(bd, p, a, b, "");
}

static bool rankable(struct tsl_cpu_cg *cg, enum tsl_dtype dt)
{
    return dt != TSL_DTYPE_BOOL && tsl_cpu_elem_type(cg, dt) != NULL;
}

/* ---- ArgMax / ArgMin ------------------------------------------------------ */

static enum tsl_status arg_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    int axis = 0;
    if (!x || !tsl_shape_is_static(&x->type.shape) || !rankable(cg, x->type.dtype))
        return tsl_cpu_unsupported(cg, n, "input needs a static shape and a numeric dtype");
    if (!norm_axis(n->attrs.argreduce.axis, x->type.shape.rank, &axis) ||
        x->type.shape.dims[axis] < 1)
        return tsl_cpu_unsupported(cg, n, "bad axis or empty reduced dim");
    if (n->outputs[0]->type.dtype != TSL_DTYPE_I64 ||
        tsl_cpu_numel(n->outputs[0]) != tsl_cpu_numel(x) / x->type.shape.dims[axis])
        return tsl_cpu_unsupported(cg, n, "output must be i64 with the reduced shape");
    return TSL_STATUS_OK;
}

static enum tsl_status arg_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    enum tsl_dtype dt = x->type.dtype;
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, dt);
    int axis = 0;
    norm_axis(n->attrs.argreduce.axis, x->type.shape.rank, &axis);
    int64_t outer, len, inner;
    split_dims(&x->type.shape, axis, &outer, &len, &inner);
    bool is_max = n->op == TSL_OP_ARG_MAX, last = n->attrs.argreduce.select_last_index != 0;
    LLVMValueRef xp, yp;
    TSL_TRY(tsl_cpu_ptr(cg, x, &xp));
    TSL_TRY(tsl_cpu_ptr(cg, n->outputs[0], &yp));
    LLVMValueRef best_i = tsl_cpu_entry_alloca(cg, cg->t_i64, "bi");
    LLVMValueRef best_v = tsl_cpu_entry_alloca(cg, ty, "bv");
    LLVMBuilderRef b = cg->b;
    struct tsl_cpu_loop lo, li, lk;
    LLVMValueRef o = tsl_cpu_loop_begin(cg, &lo, 0, outer, 1, "o");
    LLVMValueRef in = tsl_cpu_loop_begin(cg, &li, 0, inner, 1, "in");
    LLVMValueRef base = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, len * inner), ""),
                                        in, "");
    LLVMBuildStore(b, tsl_cpu_i64(cg, 0), best_i);
    LLVMBuildStore(b, tsl_cpu_typed_load(cg, ty, elem_ptr(cg, ty, xp, base)), best_v);
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &lk, 1, len, 1, "k");
    LLVMValueRef xi = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, i, tsl_cpu_i64(cg, inner), ""), "");
    LLVMValueRef a = tsl_cpu_typed_load(cg, ty, elem_ptr(cg, ty, xp, xi));
    LLVMValueRef bv = LLVMBuildLoad2(b, ty, best_v, "");
    /* reference: cmp > 0 moves; cmp == 0 moves with select_last_index */
    LLVMValueRef better = ranks_before(cg, dt, a, bv, is_max, false);
    LLVMValueRef move = better;
    if (last) {
        LLVMValueRef worse = ranks_before(cg, dt, a, bv, !is_max, false);
        move = LLVMBuildNot(b, worse, "");
    }
    LLVMBuildStore(b, LLVMBuildSelect(b, move, i, LLVMBuildLoad2(b, cg->t_i64, best_i, ""), ""),
                   best_i);
    LLVMBuildStore(b, LLVMBuildSelect(b, move, a, bv, ""), best_v);
    tsl_cpu_loop_end(cg, &lk);
    LLVMValueRef yo = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, inner), ""), in, "");
    tsl_cpu_typed_store(cg, LLVMBuildLoad2(b, cg->t_i64, best_i, ""),
                        elem_ptr(cg, cg->t_i64, yp, yo));
    tsl_cpu_loop_end(cg, &li);
    tsl_cpu_loop_end(cg, &lo);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_argreduce = {arg_check, arg_emit, false, true, false};

/* ---- Split ------------------------------------------------------------------ */

/* Start of output k along the axis, from the attribute or equal parts. */
static bool split_starts(const struct tsl_node *n, int axis, int64_t *starts)
{
    const struct tsl_ints *sz = &n->attrs.split.split;
    int64_t dim = n->inputs[0]->type.shape.dims[axis], acc = 0;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        const struct tsl_value *v = n->outputs[k];
        if (!v || v->type.shape.rank != n->inputs[0]->type.shape.rank)
            return false;
        if (sz->n && (sz->n != n->n_outputs || sz->v[k] != v->type.shape.dims[axis]))
            return false;
        starts[k] = acc;
        acc += v->type.shape.dims[axis];
    }
    return acc == dim;
}

static enum tsl_status split_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    int axis = 0;
    if (!x || !tsl_shape_is_static(&x->type.shape) || !tsl_cpu_elem_type(cg, x->type.dtype))
        return tsl_cpu_unsupported(cg, n, "input needs a static shape and a byte-sized dtype");
    if (!norm_axis(n->attrs.split.axis, x->type.shape.rank, &axis))
        return tsl_cpu_unsupported(cg, n, "bad axis");
    int64_t *starts = calloc(n->n_outputs + 1, sizeof *starts);
    if (!starts)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "split");
    bool ok = split_starts(n, axis, starts);
    free(starts);
    if (!ok)
        return tsl_cpu_unsupported(cg, n, "output shapes do not partition the input");
    for (uint32_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k]->type.dtype != x->type.dtype)
            return tsl_cpu_unsupported(cg, n, "output %u dtype differs from the input", k);
    return TSL_STATUS_OK;
}

static void copy_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *ud)
{
    LLVMTypeRef ty = ud;
    tsl_cpu_typed_store(cg, tsl_cpu_typed_load(cg, ty, p[1]), p[0]);
}

static enum tsl_status split_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, x->type.dtype);
    int axis = 0;
    norm_axis(n->attrs.split.axis, x->type.shape.rank, &axis);
    int64_t *starts = calloc(n->n_outputs + 1, sizeof *starts);
    if (!starts)
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "split");
    split_starts(n, axis, starts);
    int64_t xs[TSL_MAX_RANK];
    tsl_cpu_strides(&x->type.shape, xs);
    LLVMValueRef xp;
    enum tsl_status s = tsl_cpu_ptr(cg, x, &xp);
    for (uint32_t k = 0; k < n->n_outputs && s == TSL_STATUS_OK; k++) {
        const struct tsl_shape *os = &n->outputs[k]->type.shape;
        struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 2};
        for (int d = 0; d < os->rank; d++) {
            nest.dims[d] = os->dims[d];
            nest.strides[1][d] = xs[d];
        }
        tsl_cpu_strides(os, nest.strides[0]);
        s = tsl_cpu_ptr(cg, n->outputs[k], &nest.base[0]);
        if (s != TSL_STATUS_OK)
            break;
        nest.base[1] = elem_ptr(cg, ty, xp, tsl_cpu_i64(cg, starts[k] * xs[axis]));
        LLVMTypeRef tys[2] = {ty, ty};
        tsl_cpu_nest_coalesce(&nest);
        tsl_cpu_typed_nest_emit(cg, &nest, tys, copy_body, ty);
    }
    free(starts);
    return s;
}

const struct tsl_cpu_lowering tsl_cpu_lower_split = {split_check, split_emit, false, true, true};

/* ---- TopK ------------------------------------------------------------------- */

static enum tsl_status topk_k(struct tsl_cpu_cg *cg, const struct tsl_node *n, int64_t *k)
{
    const struct tsl_value *kv = n->inputs[1];
    if (!kv || !kv->constant || tsl_cpu_numel(kv) != 1 || tsl_dtype_is_float(kv->type.dtype))
        return tsl_cpu_unsupported(cg, n, "K must be a constant integer");
    void *d = NULL;
    TSL_TRY(tsl_const_decode(kv, &d, cg->diag));
    *k = tsl_dense_get_i64(kv->type.dtype, d, 0);
    free(d);
    return TSL_STATUS_OK;
}

static enum tsl_status topk_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    int axis = 0;
    int64_t k, outer, len, inner;
    if (!x || !tsl_shape_is_static(&x->type.shape) || !rankable(cg, x->type.dtype))
        return tsl_cpu_unsupported(cg, n, "input needs a static shape and a numeric dtype");
    if (!norm_axis(n->attrs.topk.axis, x->type.shape.rank, &axis))
        return tsl_cpu_unsupported(cg, n, "bad axis");
    TSL_TRY(topk_k(cg, n, &k));
    split_dims(&x->type.shape, axis, &outer, &len, &inner);
    if (k < 0 || k > len || !n->outputs[0] || !n->outputs[1] ||
        n->outputs[0]->type.dtype != x->type.dtype || n->outputs[1]->type.dtype != TSL_DTYPE_I64 ||
        tsl_cpu_numel(n->outputs[0]) != outer * k * inner ||
        tsl_cpu_numel(n->outputs[1]) != outer * k * inner)
        return tsl_cpu_unsupported(cg, n, "K out of range or unexpected output types");
    st->scratch_bytes = len;
    return TSL_STATUS_OK;
}

static enum tsl_status topk_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    enum tsl_dtype dt = x->type.dtype;
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, dt);
    int axis = 0;
    int64_t k, outer, len, inner;
    norm_axis(n->attrs.topk.axis, x->type.shape.rank, &axis);
    TSL_TRY(topk_k(cg, n, &k));
    split_dims(&x->type.shape, axis, &outer, &len, &inner);
    bool largest = n->attrs.topk.largest != 0;
    LLVMValueRef xp, vp, ip;
    TSL_TRY(tsl_cpu_ptr(cg, x, &xp));
    TSL_TRY(tsl_cpu_ptr(cg, n->outputs[0], &vp));
    TSL_TRY(tsl_cpu_ptr(cg, n->outputs[1], &ip));
    LLVMValueRef taken = LLVMBuildBitCast(cg->b, tsl_cpu_scratch(cg, 0), cg->t_pi8, "");
    LLVMValueRef best_i = tsl_cpu_entry_alloca(cg, cg->t_i64, "bi");
    LLVMValueRef best_v = tsl_cpu_entry_alloca(cg, ty, "bv");
    LLVMBuilderRef b = cg->b;
    struct tsl_cpu_loop lo, li, lj, lk;
    LLVMValueRef o = tsl_cpu_loop_begin(cg, &lo, 0, outer, 1, "o");
    LLVMValueRef in = tsl_cpu_loop_begin(cg, &li, 0, inner, 1, "in");
    LLVMValueRef base = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, len * inner), ""),
                                        in, "");
    LLVMValueRef obase = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, k * inner), ""),
                                         in, "");
    if (len > 0)
        LLVMBuildMemSet(b, taken, LLVMConstInt(cg->t_i8, 0, 0), tsl_cpu_i64(cg, len), 1);
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, 0, k, 1, "j");
    LLVMBuildStore(b, tsl_cpu_i64(cg, -1), best_i);
    LLVMBuildStore(b, LLVMConstNull(ty), best_v);
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &lk, 0, len, 1, "k");
    LLVMValueRef xi = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, i, tsl_cpu_i64(cg, inner), ""), "");
    LLVMValueRef a = tsl_cpu_typed_load(cg, ty, elem_ptr(cg, ty, xp, xi));
    LLVMValueRef t = tsl_cpu_typed_load(cg, cg->t_i8, elem_ptr(cg, cg->t_i8, taken, i));
    LLVMValueRef bi = LLVMBuildLoad2(b, cg->t_i64, best_i, "");
    LLVMValueRef bv = LLVMBuildLoad2(b, ty, best_v, "");
    LLVMValueRef none = LLVMBuildICmp(b, LLVMIntSLT, bi, tsl_cpu_i64(cg, 0), "");
    LLVMValueRef better = LLVMBuildOr(b, none, ranks_before(cg, dt, a, bv, largest, true), "");
    LLVMValueRef free_ = LLVMBuildICmp(b, LLVMIntEQ, t, LLVMConstInt(cg->t_i8, 0, 0), "");
    LLVMValueRef move = LLVMBuildAnd(b, free_, better, "");
    LLVMBuildStore(b, LLVMBuildSelect(b, move, i, bi, ""), best_i);
    LLVMBuildStore(b, LLVMBuildSelect(b, move, a, bv, ""), best_v);
    tsl_cpu_loop_end(cg, &lk);
    bi = LLVMBuildLoad2(b, cg->t_i64, best_i, "");
    tsl_cpu_typed_store(cg, LLVMConstInt(cg->t_i8, 1, 0), elem_ptr(cg, cg->t_i8, taken, bi));
    LLVMValueRef yo = LLVMBuildNSWAdd(b, obase, LLVMBuildNSWMul(b, j, tsl_cpu_i64(cg, inner), ""), "");
    tsl_cpu_typed_store(cg, LLVMBuildLoad2(b, ty, best_v, ""), elem_ptr(cg, ty, vp, yo));
    tsl_cpu_typed_store(cg, bi, elem_ptr(cg, cg->t_i64, ip, yo));
    tsl_cpu_loop_end(cg, &lj);
    tsl_cpu_loop_end(cg, &li);
    tsl_cpu_loop_end(cg, &lo);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_topk = {topk_check, topk_emit, false, true, true};
