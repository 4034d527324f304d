/* lower_fold.c - ops lowered by compile-time evaluation, and Where.
 *
 * Fold: a node whose inputs are all constants (ConstantOfShape, Range, Cast
 * or DequantizeLinear of a constant, Shape/Size...) is evaluated once by the
 * reference interpreter (tsl_ref_eval_node, the oracle, so results match it
 * bit for bit) and its f32 result is placed in the weight blob; the step
 * copies it into the output buffer.  A Cast f32 -> f32 of a run-time value
 * is a copy.  Shape and Size of a run-time value depend only on its static
 * shape, so they fold too (the value's data is never read).
 *
 * Where: select(cond, X, Y) with numpy broadcasting where cond is a
 * constant; the condition is expanded at compile time into an f32 0/1 mask
 * in the blob and the step is one loop nest.  A run-time (bool) condition
 * and non-f32 data go through the typed lowering (lower_typed.c), which
 * dispatches here for the constant-condition f32 case. */
#include <stdlib.h>
#include <string.h>

#include "lower_ext.h"
#include "tessel/reference.h"
#include "tessel/util.h"

static bool shape_only(const struct tsl_node *n)
{
    return n->op == TSL_OP_SHAPE || n->op == TSL_OP_SIZE;
}

static bool is_f32_copy_cast(const struct tsl_node *n, const struct tsl_value *out)
{
    return n->op == TSL_OP_CAST && n->inputs[0] && !n->inputs[0]->constant &&
           n->inputs[0]->type.dtype == TSL_DTYPE_F32 && out->type.dtype == TSL_DTYPE_F32;
}

/* Evaluate n into a malloc'ed dense buffer of out's dtype. */
static enum tsl_status fold_eval(struct tsl_cpu_cg *cg, const struct tsl_node *n, void **data)
{
    if (shape_only(n)) {
        /* evaluate on a zero-filled stand-in of the (static) input */
        const struct tsl_value *x = n->inputs[0];
        int64_t bytes = 0;
        if (!tsl_shape_is_static(&x->type.shape) ||
            !tsl_dtype_storage_bytes(x->type.dtype, tsl_cpu_numel(x), &bytes))
            return tsl_cpu_unsupported(cg, n, "input needs a static shape");
        struct tsl_tensor in = {.dtype = x->type.dtype, .shape = x->type.shape};
        in.data = calloc(1, (size_t)(bytes ? bytes : 1));
        if (!in.data)
            return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "fold");
        struct tsl_tensor *res = NULL;
        const struct tsl_tensor *over[1] = {&in};
        enum tsl_status st = tsl_cpu_ref_eval(cg, n, over, NULL, &res);
        free(in.data);
        TSL_TRY(st);
        *data = res->data;
        res->data = NULL;
        tsl_tensors_free(res, 1);
        return TSL_STATUS_OK;
    }
    TSL_TRY(tsl_cpu_require_const_inputs(cg, n, 0));
    void *outs[1] = {NULL};
    enum tsl_status st = tsl_ref_eval_node(NULL, n, outs, cg->diag);
    if (st == TSL_STATUS_UNSUPPORTED && !tsl_diag_first_error(cg->diag))
        return tsl_cpu_unsupported(cg, n, "cannot be evaluated at compile time");
    TSL_TRY(st);
    *data = outs[0];
    return TSL_STATUS_OK;
}

static enum tsl_status fold_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (is_f32_copy_cast(n, st->out))
        return tsl_cpu_require_f32(cg, n, n->inputs[0]);
    if (!shape_only(n))
        TSL_TRY(tsl_cpu_require_const_inputs(cg, n, 0));
    if (!tsl_shape_is_static(&st->out->type.shape))
        return tsl_cpu_unsupported(cg, n, "output has no static shape");
    return TSL_STATUS_OK;
}

static enum tsl_status fold_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    LLVMValueRef dst, src;
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &dst));
    if (is_f32_copy_cast(n, st->out)) {
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &src));
        tsl_cpu_copy_floats(cg, dst, src, tsl_cpu_numel(st->out));
        return TSL_STATUS_OK;
    }
    void *data = NULL;
    TSL_TRY(fold_eval(cg, n, &data));
    int64_t bytes = 0, off = 0;
    tsl_dtype_storage_bytes(st->out->type.dtype, tsl_cpu_numel(st->out), &bytes);
    enum tsl_status s = tsl_cpu_blob_add(cg, data, (size_t)bytes, &off);
    free(data);
    TSL_TRY(s);
    if (bytes > 0) {
        LLVMValueRef d = LLVMBuildBitCast(cg->b, dst, cg->t_pi8, "");
        LLVMValueRef w = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, off), cg->t_pi8, "");
        LLVMBuildMemCpy(cg->b, d, 4, w, 4, tsl_cpu_i64(cg, bytes));
    }
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_fold = {fold_check, fold_emit, false, true, false};

/* ---- Where with a constant condition ------------------------------------- */

static enum tsl_status where_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *c = n->inputs[0];
    if (!c || !c->constant)
        return tsl_cpu_unsupported(cg, n, "condition must be a constant (bool values are "
                                          "not planned yet)");
    for (uint32_t i = 1; i < 3; i++) {
        TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[i]));
        int64_t s[TSL_MAX_RANK];
        if (!tsl_cpu_bcast_strides(&n->inputs[i]->type.shape, &st->out->type.shape, s))
            return tsl_cpu_unsupported(cg, n, "input %u does not broadcast", i);
    }
    int64_t s[TSL_MAX_RANK];
    if (!tsl_cpu_bcast_strides(&c->type.shape, &st->out->type.shape, s))
        return tsl_cpu_unsupported(cg, n, "condition does not broadcast");
    return tsl_cpu_require_f32(cg, n, st->out);
}

static void where_body(struct tsl_cpu_cg *cg, LLVMValueRef *p, void *ud)
{
    (void)ud;
    LLVMValueRef z = tsl_cpu_i64(cg, 0);
    LLVMValueRef m = LLVMBuildFCmp(cg->b, LLVMRealUNE, tsl_cpu_load(cg, p[1], z),
                                   tsl_cpu_f32c(cg, 0.0), "");
    LLVMValueRef v = LLVMBuildSelect(cg->b, m, tsl_cpu_load(cg, p[2], z),
                                     tsl_cpu_load(cg, p[3], z), "");
    tsl_cpu_store(cg, v, p[0], z);
}

static enum tsl_status where_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *c = n->inputs[0];
    int64_t cn = tsl_cpu_numel(c);
    void *dense = NULL;
    TSL_TRY(tsl_const_decode(c, &dense, cg->diag));
    float *mask = malloc((size_t)(cn ? cn : 1) * sizeof *mask);
    if (!mask) {
        free(dense);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "where mask");
    }
    for (int64_t i = 0; i < cn; i++)
        mask[i] = tsl_dense_get_i64(c->type.dtype, dense, i) != 0 ? 1.0f : 0.0f;
    free(dense);
    int64_t off;
    enum tsl_status s = tsl_cpu_blob_add(cg, mask, (size_t)cn * sizeof *mask, &off);
    free(mask);
    TSL_TRY(s);
    const struct tsl_shape *os = &st->out->type.shape;
    struct tsl_cpu_nest nest = {.rank = os->rank, .n_ops = 4};
    for (int d = 0; d < os->rank; d++)
        nest.dims[d] = os->dims[d];
    tsl_cpu_strides(os, nest.strides[0]);
    tsl_cpu_bcast_strides(&c->type.shape, os, nest.strides[1]);
    tsl_cpu_bcast_strides(&n->inputs[1]->type.shape, os, nest.strides[2]);
    tsl_cpu_bcast_strides(&n->inputs[2]->type.shape, os, nest.strides[3]);
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &nest.base[0]));
    nest.base[1] = tsl_cpu_weight_ptr(cg, off);
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &nest.base[2]));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &nest.base[3]));
    tsl_cpu_nest_coalesce(&nest);
    tsl_cpu_nest_emit(cg, &nest, where_body, NULL);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_where = {where_check, where_emit, false, false, false};
