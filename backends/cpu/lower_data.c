/* lower_data.c - lowerings of data-movement ops: Identity, Reshape, Flatten,
 * Squeeze and Unsqueeze (a row-major copy: the bytes do not change), Transpose
 * (a loop nest over the output with permuted input strides) and Concat (one
 * loop nest per input writing into its slice of the output).
 *
 * Every dtype with an element type (tsl_cpu_elem_type) moves the same way:
 * copies are by bytes, the loop nests load and store whole elements.
 * Copies are real copies into the destination buffer; aliasing reshapes in
 * the memory plan is a later optimization (docs/cpu-backend.md). */
#include "lower_ext.h"

/* v has a static shape and out's dtype, which has an element type. */
static enum tsl_status require_movable(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                       const struct tsl_value *v, const struct tsl_value *out)
{
    if (!v)
        return tsl_cpu_unsupported(cg, n, "omitted input is not supported here");
    if (!tsl_shape_is_static(&v->type.shape))
        return tsl_cpu_unsupported(cg, n, "value '%s' has no static shape", v->name);
    if (v->type.dtype != out->type.dtype || !tsl_cpu_elem_type(cg, v->type.dtype))
        return tsl_cpu_unsupported(cg, n, "value '%s' has dtype %s (output %s)", v->name,
                                   tsl_dtype_name(v->type.dtype), tsl_dtype_name(out->type.dtype));
    return TSL_STATUS_OK;
}

static enum tsl_status copy_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    TSL_TRY(require_movable(cg, st->node, st->node->inputs[0], st->out));
    TSL_TRY(require_movable(cg, st->node, st->out, st->out));
    if (tsl_cpu_numel(st->node->inputs[0]) != tsl_cpu_numel(st->out))
        return tsl_cpu_unsupported(cg, st->node, "element counts differ");
    return TSL_STATUS_OK;
}

static enum tsl_status copy_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    LLVMValueRef src, dst;
    TSL_TRY(tsl_cpu_ptr(cg, st->node->inputs[0], &src));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &dst));
    int64_t bytes = 0;
    tsl_dtype_storage_bytes(st->out->type.dtype, tsl_cpu_numel(st->out), &bytes);
    if (bytes > 0)
        LLVMBuildMemCpy(cg->b, LLVMBuildBitCast(cg->b, dst, cg->t_pi8, ""), 1,
                        LLVMBuildBitCast(cg->b, src, cg->t_pi8, ""), 1, tsl_cpu_i64(cg, bytes));
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_copy = {copy_check, copy_emit, false, true, false};

static void move_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *ud)
{
    LLVMTypeRef ty = ud;
    tsl_cpu_typed_store(cg, tsl_cpu_typed_load(cg, ty, p[1]), p[0]);
}

/* Emit a two-operand (dst, src) move nest of elements of v's dtype. */
static void move_nest(struct tsl_cpu_cg *cg, struct tsl_cpu_nest *nest, const struct tsl_value *v)
{
    LLVMTypeRef ty = tsl_cpu_elem_type(cg, v->type.dtype);
    LLVMTypeRef tys[2] = {ty, ty};
    tsl_cpu_nest_coalesce(nest);
    tsl_cpu_typed_nest_emit(cg, nest, tys, move_body, ty);
}

static enum tsl_status perm_of(struct tsl_cpu_cg *cg, const struct tsl_node *n, int rank,
                               int64_t *perm)
{
    const struct tsl_ints *pv = &n->attrs.transpose.perm;
    bool seen[TSL_MAX_RANK] = {false};
    for (int d = 0; d < rank; d++) {
        perm[d] = pv->n ? pv->v[d] : rank - 1 - d;
        if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
            return tsl_cpu_unsupported(cg, n, "bad perm");
        seen[perm[d]] = true;
    }
    if (pv->n && pv->n != (uint32_t)rank)
        return tsl_cpu_unsupported(cg, n, "perm length differs from rank");
    return TSL_STATUS_OK;
}

static enum tsl_status transpose_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    int64_t perm[TSL_MAX_RANK];
    TSL_TRY(copy_check(cg, st));
    return perm_of(cg, st->node, st->node->inputs[0]->type.shape.rank, perm);
}

static enum tsl_status transpose_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_shape *is = &st->node->inputs[0]->type.shape, *os = &st->out->type.shape;
    int64_t perm[TSL_MAX_RANK], istr[TSL_MAX_RANK];
    TSL_TRY(perm_of(cg, st->node, is->rank, perm));
    struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 2};
    tsl_cpu_strides(is, istr);
    tsl_cpu_strides(os, nest.strides[0]);
    for (int d = 0; d < os->rank; d++) {
        nest.dims[d] = os->dims[d];
        nest.strides[1][d] = istr[perm[d]];
    }
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &nest.base[0]));
    TSL_TRY(tsl_cpu_ptr(cg, st->node->inputs[0], &nest.base[1]));
    move_nest(cg, &nest, st->out);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_transpose = {transpose_check, transpose_emit, false,
                                                         true, false};

static enum tsl_status concat_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(require_movable(cg, n, st->out, st->out));
    int r = st->out->type.shape.rank;
    int64_t ax = n->attrs.axis.axis < 0 ? n->attrs.axis.axis + r : n->attrs.axis.axis;
    if (ax < 0 || ax >= r)
        return tsl_cpu_unsupported(cg, n, "axis out of range");
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        TSL_TRY(require_movable(cg, n, n->inputs[i], st->out));
        if (n->inputs[i]->type.shape.rank != r)
            return tsl_cpu_unsupported(cg, n, "input ranks differ");
    }
    return TSL_STATUS_OK;
}

static enum tsl_status concat_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (st->elided) /* every input was written into its slice (plan.c) */
        return TSL_STATUS_OK;
    const struct tsl_shape *os = &st->out->type.shape;
    int r = os->rank;
    int64_t ax = n->attrs.axis.axis < 0 ? n->attrs.axis.axis + r : n->attrs.axis.axis;
    int64_t ostr[TSL_MAX_RANK], at = 0;
    tsl_cpu_strides(os, ostr);
    LLVMValueRef out;
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &out));
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_shape *is = &n->inputs[i]->type.shape;
        struct tsl_cpu_nest nest = {.rank = r, .n_ops = 2};
        for (int d = 0; d < r; d++) {
            nest.dims[d] = is->dims[d];
            nest.strides[0][d] = ostr[d];
        }
        tsl_cpu_strides(is, nest.strides[1]);
        LLVMTypeRef ty = tsl_cpu_elem_type(cg, st->out->type.dtype);
        LLVMValueRef idx = tsl_cpu_i64(cg, at * ostr[ax]);
        nest.base[0] = LLVMBuildInBoundsGEP2(
            cg->b, ty, LLVMBuildBitCast(cg->b, out, LLVMPointerType(ty, 0), ""), &idx, 1, "");
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[i], &nest.base[1]));
        move_nest(cg, &nest, st->out);
        at += is->dims[ax];
    }
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_concat = {concat_check, concat_emit, false, true,
                                                      false};
