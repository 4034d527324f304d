/* lower_gather_rt.c - Gather and GatherElements with run-time indices (i32
 * or i64, negative ones counting from the end) over any data dtype with an
 * element type.  Gather copies `inner` contiguous elements per index;
 * GatherElements is one loop nest over the indices whose data pointer is
 * moved by index * stride along the axis.
 *
 * An index outside [-dim, dim) is an error in the reference; generated code
 * cannot report one, so it is clamped into range (never an out-of-bounds
 * read).  f32 data with constant indices keeps the compile-time index-table
 * lowering (lower_gather.c): the entries here dispatch to it.
 * Not here: GatherND (constant indices only, lower_gather.c). */
#include <string.h>

#include "lower_ext.h"

static bool table_path(const struct tsl_node *n)
{
    return n->inputs[1] && n->inputs[1]->constant && n->inputs[0] &&
           n->inputs[0]->type.dtype == TSL_DTYPE_F32;
}

static int gather_axis(const struct tsl_node *n)
{
    int64_t a = n->attrs.axis.axis, r = n->inputs[0]->type.shape.rank;
    return (int)(a < 0 ? a + r : a);
}

static enum tsl_status grt_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (table_path(n))
        return tsl_cpu_lower_gather_table.check(cg, st);
    const struct tsl_value *x = n->inputs[0], *ix = n->inputs[1], *y = n->outputs[0];
    if (!x || !ix || !tsl_shape_is_static(&x->type.shape) || !tsl_shape_is_static(&ix->type.shape))
        return tsl_cpu_unsupported(cg, n, "data and indices need static shapes");
    if (!tsl_cpu_elem_type(cg, x->type.dtype) || y->type.dtype != x->type.dtype)
        return tsl_cpu_unsupported(cg, n, "data dtype %s is not lowered",
                                   tsl_dtype_name(x->type.dtype));
    if (ix->type.dtype != TSL_DTYPE_I64 && ix->type.dtype != TSL_DTYPE_I32)
        return tsl_cpu_unsupported(cg, n, "indices must be i32 or i64");
    int r = x->type.shape.rank, axis = gather_axis(n);
    if (axis < 0 || axis >= r || x->type.shape.dims[axis] < 1)
        return tsl_cpu_unsupported(cg, n, "bad axis or empty gathered dim");
    if (n->op == TSL_OP_GATHER_ELEMENTS) {
        if (ix->type.shape.rank != r || !tsl_shape_equal(&ix->type.shape, &y->type.shape))
            return tsl_cpu_unsupported(cg, n, "indices rank/shape must match data/output");
        for (int d = 0; d < r; d++)
            if (d != axis && ix->type.shape.dims[d] > x->type.shape.dims[d])
                return tsl_cpu_unsupported(cg, n, "indices larger than data on dim %d", d);
    } else if (tsl_cpu_numel(y) != tsl_cpu_numel(x) / x->type.shape.dims[axis] *
                                       tsl_cpu_numel(ix)) {
        return tsl_cpu_unsupported(cg, n, "unexpected output size");
    }
    return TSL_STATUS_OK;
}

/* Index value widened to i64, negative wrapped by dim, clamped to [0, dim). */
static LLVMValueRef norm_index(struct tsl_cpu_cg *cg, LLVMValueRef ip, enum tsl_dtype dt,
                               int64_t dim)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, dt);
    LLVMValueRef i = LLVMBuildIntCast2(b, tsl_cpu_typed_load(cg, ty, ip), cg->t_i64, 1, "");
    LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntSLT, i, tsl_cpu_i64(cg, 0), "");
    i = LLVMBuildSelect(b, neg, LLVMBuildAdd(b, i, tsl_cpu_i64(cg, dim), ""), i, "");
    LLVMValueRef lo = LLVMBuildICmp(b, LLVMIntSLT, i, tsl_cpu_i64(cg, 0), "");
    i = LLVMBuildSelect(b, lo, tsl_cpu_i64(cg, 0), i, "");
    LLVMValueRef hi = LLVMBuildICmp(b, LLVMIntSGE, i, tsl_cpu_i64(cg, dim), "");
    return LLVMBuildSelect(b, hi, tsl_cpu_i64(cg, dim - 1), i, "");
}

struct ge_ctx {
    LLVMTypeRef ty;
    enum tsl_dtype idt;
    int64_t dim, stride;
};

static void ge_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *ud)
{
    const struct ge_ctx *c = ud;
    LLVMValueRef i = norm_index(cg, p[1], c->idt, c->dim);
    LLVMValueRef off = LLVMBuildNSWMul(cg->b, i, tsl_cpu_i64(cg, c->stride), "");
    LLVMValueRef src = LLVMBuildInBoundsGEP2(cg->b, c->ty, p[2], &off, 1, "");
    tsl_cpu_typed_store(cg, tsl_cpu_typed_load(cg, c->ty, src), p[0]);
}

static enum tsl_status grt_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (table_path(n))
        return tsl_cpu_lower_gather_table.emit(cg, st);
    const struct tsl_value *x = n->inputs[0], *ix = n->inputs[1], *y = n->outputs[0];
    const struct tsl_shape *xs = &x->type.shape;
    int axis = gather_axis(n);
    int64_t dim = xs->dims[axis], xstr[TSL_MAX_RANK];
    tsl_cpu_strides(xs, xstr);
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, x->type.dtype);
    LLVMTypeRef ity = tsl_cpu_elem_type(cg, ix->type.dtype);
    LLVMValueRef xp, ip, yp;
    TSL_TRY(tsl_cpu_ptr(cg, x, &xp));
    TSL_TRY(tsl_cpu_ptr(cg, ix, &ip));
    TSL_TRY(tsl_cpu_ptr(cg, y, &yp));
    if (n->op == TSL_OP_GATHER_ELEMENTS) {
        const struct tsl_shape *is = &ix->type.shape;
        struct tsl_cpu_nest nest = {.rank = is->rank, .n_ops = 3};
        for (int d = 0; d < is->rank; d++) {
            nest.dims[d] = is->dims[d];
            nest.strides[2][d] = d == axis ? 0 : xstr[d];
        }
        tsl_cpu_strides(is, nest.strides[0]);
        tsl_cpu_strides(is, nest.strides[1]);
        nest.base[0] = yp;
        nest.base[1] = ip;
        nest.base[2] = xp;
        struct ge_ctx c = {ty, ix->type.dtype, dim, xstr[axis]};
        LLVMTypeRef tys[3] = {ty, ity, ty};
        tsl_cpu_nest_coalesce(&nest);
        tsl_cpu_typed_nest_emit(cg, &nest, tys, ge_body, &c);
        return TSL_STATUS_OK;
    }
    int64_t outer = 1, inner = xstr[axis], ni = tsl_cpu_numel(ix), esz = 0;
    for (int d = 0; d < axis; d++)
        outer *= xs->dims[d];
    tsl_dtype_storage_bytes(x->type.dtype, 1, &esz);
    if (outer * ni * inner == 0)
        return TSL_STATUS_OK;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x8 = LLVMBuildBitCast(b, xp, cg->t_pi8, "");
    LLVMValueRef y8 = LLVMBuildBitCast(b, yp, cg->t_pi8, "");
    LLVMValueRef ipt = LLVMBuildBitCast(b, ip, LLVMPointerType(ity, 0), "");
    struct tsl_cpu_loop lo, lj;
    LLVMValueRef o = tsl_cpu_loop_begin(cg, &lo, 0, outer, 1, "o");
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &lj, 0, ni, 1, "j");
    LLVMValueRef i = norm_index(cg, LLVMBuildInBoundsGEP2(b, ity, ipt, &j, 1, ""),
                                ix->type.dtype, dim);
    LLVMValueRef src_row =
        LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, dim), ""), i, "");
    LLVMValueRef row = LLVMBuildNSWMul(b, tsl_cpu_i64(cg, inner * esz), src_row, "");
    LLVMValueRef dst_row = LLVMBuildNSWMul(
        b, tsl_cpu_i64(cg, inner * esz),
        LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, tsl_cpu_i64(cg, ni), ""), j, ""), "");
    LLVMValueRef src = LLVMBuildInBoundsGEP2(b, cg->t_i8, x8, &row, 1, "");
    LLVMValueRef dst = LLVMBuildInBoundsGEP2(b, cg->t_i8, y8, &dst_row, 1, "");
    LLVMBuildMemCpy(b, dst, 1, src, 1, tsl_cpu_i64(cg, inner * esz));
    tsl_cpu_loop_end(cg, &lj);
    tsl_cpu_loop_end(cg, &lo);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_gather_rt = {grt_check, grt_emit, false, true, false};
