/* lower_gather_rt.c - Gather, GatherElements and GatherND with run-time
 * indices (i32 or i64, negative ones counting from the end) over any data
 * dtype with an element type.  Gather copies `inner` contiguous elements per
 * index; GatherElements is one loop nest over the indices whose data pointer
 * is moved by index * stride along the axis; GatherND computes each index
 * tuple's offset (batch_dims leading dims shared) and copies the slice.
 *
 * An index outside [-dim, dim) is an error in the reference; generated code
 * cannot report one, so it is clamped into range (never an out-of-bounds
 * read).  f32 data with constant indices keeps the compile-time index-table
 * lowering (lower_gather.c), and so does GatherND with constant indices (any
 * dtype): the entries here dispatch to it. */
#include <string.h>

#include "lower_ext.h"

static bool table_path(const struct tsl_node *n)
{
    return n->inputs[1] && n->inputs[1]->constant && n->inputs[0] &&
           (n->inputs[0]->type.dtype == TSL_DTYPE_F32 || n->op == TSL_OP_GATHER_ND);
}

/* GatherND: data [batch..., rest...], indices [batch..., tuples..., k]. */
struct gnd_geo {
    int64_t nb, nt, k, inner, bstride; /* batches, tuples per batch, tuple length,
                                        * elements per slice, data elements per batch */
    int64_t dims[TSL_MAX_RANK], strides[TSL_MAX_RANK]; /* of the k indexed data dims */
};

static bool gnd_geo(const struct tsl_node *n, struct gnd_geo *g)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *is = &n->inputs[1]->type.shape;
    int64_t b = n->attrs.gathernd.batch_dims, xstr[TSL_MAX_RANK];
    if (is->rank < 1 || b < 0 || b >= is->rank || b >= xs->rank)
        return false;
    g->k = is->dims[is->rank - 1];
    if (g->k < 1 || b + g->k > xs->rank)
        return false;
    tsl_cpu_strides(xs, xstr);
    g->nb = 1, g->nt = 1, g->inner = 1;
    for (int64_t d = 0; d < b; d++) {
        if (is->dims[d] != xs->dims[d])
            return false;
        g->nb *= xs->dims[d];
    }
    for (int64_t d = b; d < is->rank - 1; d++)
        g->nt *= is->dims[d];
    for (int64_t d = b + g->k; d < xs->rank; d++)
        g->inner *= xs->dims[d];
    g->bstride = b > 0 ? xstr[b - 1] : tsl_cpu_numel(n->inputs[0]);
    for (int64_t j = 0; j < g->k; j++) {
        g->dims[j] = xs->dims[b + j];
        g->strides[j] = xstr[b + j];
        if (g->dims[j] < 1)
            return false;
    }
    return true;
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
    if (n->op == TSL_OP_GATHER_ND) {
        struct gnd_geo g;
        if (!gnd_geo(n, &g) || tsl_cpu_numel(y) != g.nb * g.nt * g.inner)
            return tsl_cpu_unsupported(cg, n, "indices/batch_dims do not fit the data");
        return TSL_STATUS_OK;
    }
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

/* GatherND: per (batch, tuple) the slice at sum_j norm(idx[j]) * stride[j]
 * is copied by bytes. */
static void emit_gather_nd(struct tsl_cpu_cg *cg, const struct tsl_node *n, LLVMValueRef xp,
                           LLVMValueRef ip, LLVMValueRef yp)
{
    struct gnd_geo g;
    gnd_geo(n, &g); /* checked */
    enum tsl_dtype idt = n->inputs[1]->type.dtype;
    LLVMTypeRef ity = tsl_cpu_elem_type(cg, idt);
    int64_t esz = 0;
    tsl_dtype_storage_bytes(n->inputs[0]->type.dtype, 1, &esz);
    if (g.nb * g.nt * g.inner == 0)
        return;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x8 = LLVMBuildBitCast(b, xp, cg->t_pi8, "");
    LLVMValueRef y8 = LLVMBuildBitCast(b, yp, cg->t_pi8, "");
    LLVMValueRef ipt = LLVMBuildBitCast(b, ip, LLVMPointerType(ity, 0), "");
    struct tsl_cpu_loop lb, lt;
    LLVMValueRef bb = tsl_cpu_loop_begin(cg, &lb, 0, g.nb, 1, "b");
    LLVMValueRef t = tsl_cpu_loop_begin(cg, &lt, 0, g.nt, 1, "t");
    LLVMValueRef row = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bb, tsl_cpu_i64(cg, g.nt), ""), t, "");
    LLVMValueRef off = LLVMBuildNSWMul(b, bb, tsl_cpu_i64(cg, g.bstride), "");
    for (int64_t j = 0; j < g.k; j++) {
        LLVMValueRef at = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, row, tsl_cpu_i64(cg, g.k), ""),
                                          tsl_cpu_i64(cg, j), "");
        LLVMValueRef i = norm_index(cg, LLVMBuildInBoundsGEP2(b, ity, ipt, &at, 1, ""), idt,
                                    g.dims[j]);
        off = LLVMBuildNSWAdd(b, off, LLVMBuildNSWMul(b, i, tsl_cpu_i64(cg, g.strides[j]), ""),
                              "");
    }
    LLVMValueRef so = LLVMBuildNSWMul(b, off, tsl_cpu_i64(cg, esz), "");
    LLVMValueRef dso = LLVMBuildNSWMul(b, row, tsl_cpu_i64(cg, g.inner * esz), "");
    LLVMBuildMemCpy(b, LLVMBuildInBoundsGEP2(b, cg->t_i8, y8, &dso, 1, ""), 1,
                    LLVMBuildInBoundsGEP2(b, cg->t_i8, x8, &so, 1, ""), 1,
                    tsl_cpu_i64(cg, g.inner * esz));
    tsl_cpu_loop_end(cg, &lt);
    tsl_cpu_loop_end(cg, &lb);
}

static enum tsl_status grt_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (table_path(n))
        return tsl_cpu_lower_gather_table.emit(cg, st);
    const struct tsl_value *x = n->inputs[0], *ix = n->inputs[1], *y = n->outputs[0];
    if (n->op == TSL_OP_GATHER_ND) {
        LLVMValueRef xp, ip, yp;
        TSL_TRY(tsl_cpu_ptr(cg, x, &xp));
        TSL_TRY(tsl_cpu_ptr(cg, ix, &ip));
        TSL_TRY(tsl_cpu_ptr(cg, y, &yp));
        emit_gather_nd(cg, n, xp, ip, yp);
        return TSL_STATUS_OK;
    }
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
