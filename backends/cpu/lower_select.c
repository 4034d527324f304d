/* lower_select.c - NonZero and NonMaxSuppression, the ops whose output size
 * depends on the data.  Such an output must be a graph output that no other
 * node reads: the caller's buffer is sized for the largest result
 * (tsl_cpu_dynamic_bound: NonZero [rank, numel], NMS [B * C * min(N,
 * max_output_boxes_per_class if constant), 3]), the step calls the
 * selection in runtime/tsl_select.c (<prefix>_nonzero, <prefix>_nms: plain
 * C, linked into tessel for the JIT and compiled into every artifact) and
 * stores the size of the data-dependent axis in the arena at
 * cg->dims_off + 8 * output index, where tsl_cpu_run and the artifact's
 * header (<name>_output_dim) read it back.
 *
 * Not here: the selections themselves (runtime/), a data-dependent value
 * feeding other nodes (rejected by compile.c's graph check). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lower_ext.h"
#include "tessel/util.h"

static bool static_shape(const struct tsl_value *v)
{
    return v && tsl_shape_is_static(&v->type.shape);
}

static const struct tsl_value *opt_input(const struct tsl_node *n, uint32_t k)
{
    return n->n_inputs > k ? n->inputs[k] : NULL;
}

/* NMS's max_output_boxes_per_class when it is a constant, else -1. */
static int64_t const_max_out(const struct tsl_node *n)
{
    const struct tsl_value *v = opt_input(n, 2);
    if (!v)
        return 0;
    if (!v->constant || v->type.dtype != TSL_DTYPE_I64 || !static_shape(v))
        return -1;
    if (tsl_cpu_numel(v) == 0)
        return 0;
    int64_t *d = NULL;
    struct tsl_diag dg;
    tsl_diag_init(&dg);
    enum tsl_status st = tsl_const_decode(v, (void **)&d, &dg);
    tsl_diag_fini(&dg);
    if (st != TSL_STATUS_OK || !d) {
        free(d);
        return -1;
    }
    int64_t r = d[0];
    free(d);
    return r < 0 ? 0 : r; /* a negative count selects nothing */
}

bool tsl_cpu_dynamic_bound(const struct tsl_value *v, struct tsl_shape *max, int *axis)
{
    const struct tsl_node *n = v ? v->producer : NULL;
    if (!n || n->outputs[0] != v)
        return false;
    if (n->op == TSL_OP_NON_ZERO) {
        const struct tsl_value *x = n->inputs[0];
        if (!static_shape(x))
            return false;
        *max = (struct tsl_shape){.rank = 2};
        max->dims[0] = x->type.shape.rank;
        max->dims[1] = tsl_cpu_numel(x);
        *axis = 1;
        return true;
    }
    if (n->op == TSL_OP_NON_MAX_SUPPRESSION) {
        const struct tsl_value *b = n->inputs[0], *s = n->inputs[1];
        if (!static_shape(b) || !static_shape(s) || b->type.shape.rank != 3 ||
            s->type.shape.rank != 3)
            return false;
        int64_t B = b->type.shape.dims[0], N = b->type.shape.dims[1], C = s->type.shape.dims[1];
        int64_t mo = const_max_out(n), cap;
        if (mo < 0 || mo > N)
            mo = N;
        if (!tsl_mul_i64(B, C, &cap) || !tsl_mul_i64(cap, mo, &cap) || cap > INT64_MAX / 24)
            return false;
        *max = (struct tsl_shape){.rank = 2, .dims = {cap, 3}};
        *axis = 0;
        return true;
    }
    return false;
}

/* The output must be a graph output that no node reads (its size is only
 * known after the run). */
static enum tsl_status check_output(struct tsl_cpu_cg *cg, const struct tsl_node *n)
{
    const struct tsl_value *y = n->outputs[0];
    if (y->n_uses || !y->n_output_refs)
        return tsl_cpu_unsupported(cg, n,
                                   "%s has a data-dependent output size: the cpu backend "
                                   "needs its output to be a graph output no node reads",
                                   tsl_op_name(n->op));
    return TSL_STATUS_OK;
}

/* The output's slot among the graph outputs (compile.c made it one). */
static enum tsl_status out_slot(struct tsl_cpu_cg *cg, const struct tsl_node *n, uint32_t *slot)
{
    const struct tsl_cpu_loc *l = &cg->locs[n->outputs[0]->id];
    if (l->kind != TSL_LOC_OUTPUT || cg->dims_off < 0)
        return tsl_cpu_unsupported(cg, n, "%s output must be a graph output",
                                   tsl_op_name(n->op));
    *slot = l->index;
    return TSL_STATUS_OK;
}

/* Store the run's size of the data-dependent axis for output `slot`. */
static void store_dim(struct tsl_cpu_cg *cg, uint32_t slot, LLVMValueRef count)
{
    LLVMValueRef p = LLVMBuildBitCast(cg->b,
                                      tsl_cpu_reloc_ptr(cg, false, cg->dims_off + 8 * (int64_t)slot),
                                      LLVMPointerType(cg->t_i64, 0), "");
    LLVMSetAlignment(LLVMBuildStore(cg->b, count, p), 8);
}

/* The runtime function <prefix>_<name> of type ty, declared on first use. */
static LLVMValueRef runtime_fn(struct tsl_cpu_cg *cg, const char *name, LLVMTypeRef ty)
{
    char full[112];
    snprintf(full, sizeof full, "%s_%s", cg->prefix, name);
    LLVMValueRef f = LLVMGetNamedFunction(cg->mod, full);
    return f ? f : LLVMAddFunction(cg->mod, full, ty);
}

static LLVMValueRef as_type(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMTypeRef elem)
{
    return LLVMBuildBitCast(cg->b, p, LLVMPointerType(elem, 0), "");
}

/* ---- NonZero ------------------------------------------------------------- */

/* runtime/tsl_select.c's element kinds */
enum { SEL_F32, SEL_F64, SEL_F16, SEL_BF16, SEL_BYTES };

static int nz_kind(enum tsl_dtype dt)
{
    return dt == TSL_DTYPE_F32    ? SEL_F32
           : dt == TSL_DTYPE_F64  ? SEL_F64
           : dt == TSL_DTYPE_F16  ? SEL_F16
           : dt == TSL_DTYPE_BF16 ? SEL_BF16
                                  : SEL_BYTES;
}

static enum tsl_status nz_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    int64_t es = 0;
    if (!static_shape(x) || !tsl_dtype_storage_bytes(x->type.dtype, 1, &es) || es < 1 ||
        (nz_kind(x->type.dtype) == SEL_BYTES && tsl_dtype_is_float(x->type.dtype)))
        return tsl_cpu_unsupported(cg, n, "NonZero of %s", tsl_dtype_name(x->type.dtype));
    if (n->outputs[0]->type.dtype != TSL_DTYPE_I64)
        return tsl_cpu_unsupported(cg, n, "NonZero output must be int64");
    return check_output(cg, n);
}

static enum tsl_status nz_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *x = n->inputs[0];
    uint32_t slot = 0;
    TSL_TRY(out_slot(cg, n, &slot));
    int64_t es = 0, rank = x->type.shape.rank, off;
    tsl_dtype_storage_bytes(x->type.dtype, 1, &es);
    int64_t dims[TSL_MAX_RANK + 1] = {1};
    for (int64_t d = 0; d < rank; d++)
        dims[d] = x->type.shape.dims[d];
    TSL_TRY(tsl_cpu_blob_add(cg, dims, sizeof(int64_t) * (size_t)(rank ? rank : 1), &off));
    LLVMValueRef xp, yp;
    TSL_TRY(tsl_cpu_ptr(cg, x, &xp));
    TSL_TRY(tsl_cpu_ptr(cg, n->outputs[0], &yp));
    LLVMTypeRef pi64 = LLVMPointerType(cg->t_i64, 0);
    LLVMTypeRef params[6] = {cg->t_pi8, cg->t_i64, cg->t_i64, pi64, cg->t_i64, pi64};
    LLVMTypeRef fty = LLVMFunctionType(cg->t_i64, params, 6, 0);
    LLVMValueRef args[6] = {as_type(cg, xp, cg->t_i8), tsl_cpu_i64(cg, nz_kind(x->type.dtype)),
                            tsl_cpu_i64(cg, es), as_type(cg, tsl_cpu_weight_ptr(cg, off), cg->t_i64),
                            tsl_cpu_i64(cg, rank), as_type(cg, yp, cg->t_i64)};
    LLVMValueRef count = LLVMBuildCall2(cg->b, fty, runtime_fn(cg, "nonzero", fty), args, 6, "");
    store_dim(cg, slot, count);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_non_zero = {nz_check, nz_emit, false, true, false};

/* ---- NonMaxSuppression ----------------------------------------------------- */

static enum tsl_status nms_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_value *b = n->inputs[0], *s = n->inputs[1];
    if (!static_shape(b) || !static_shape(s) || b->type.dtype != TSL_DTYPE_F32 ||
        s->type.dtype != TSL_DTYPE_F32)
        return tsl_cpu_unsupported(cg, n, "NonMaxSuppression needs static f32 boxes and scores");
    const struct tsl_shape *bs = &b->type.shape, *ss = &s->type.shape;
    if (bs->rank != 3 || bs->dims[2] != 4 || ss->rank != 3 || ss->dims[0] != bs->dims[0] ||
        ss->dims[2] != bs->dims[1])
        return tsl_cpu_unsupported(cg, n, "boxes must be [B, N, 4] and scores [B, C, N]");
    const struct tsl_value *mo = opt_input(n, 2);
    if (mo && (mo->type.dtype != TSL_DTYPE_I64 || !static_shape(mo)))
        return tsl_cpu_unsupported(cg, n, "max_output_boxes_per_class must be a static int64");
    for (uint32_t k = 3; k <= 4; k++) {
        const struct tsl_value *t = opt_input(n, k);
        if (t && (t->type.dtype != TSL_DTYPE_F32 || !static_shape(t) || tsl_cpu_numel(t) < 1))
            return tsl_cpu_unsupported(cg, n, "%s must be a non-empty f32 tensor",
                                       k == 3 ? "iou_threshold" : "score_threshold");
    }
    if (n->outputs[0]->type.dtype != TSL_DTYPE_I64)
        return tsl_cpu_unsupported(cg, n, "NonMaxSuppression output must be int64");
    TSL_TRY(check_output(cg, n));
    /* work space of tsl_rt_nms: N items (16 B), N boxes (32 B), N kept (8 B) */
    if (!tsl_mul_i64(bs->dims[1] > 0 ? bs->dims[1] : 1, 56, &st->scratch_bytes))
        return tsl_cpu_unsupported(cg, n, "too many boxes");
    return TSL_STATUS_OK;
}

/* Element 0 of optional input k as ty (i64 or f32 widened to double), or
 * the default. */
static enum tsl_status nms_param(struct tsl_cpu_cg *cg, const struct tsl_node *n, uint32_t k,
                                 LLVMValueRef dflt, LLVMValueRef *out)
{
    const struct tsl_value *v = opt_input(n, k);
    *out = dflt;
    if (!v || tsl_cpu_numel(v) < 1)
        return TSL_STATUS_OK;
    LLVMValueRef p;
    TSL_TRY(tsl_cpu_ptr(cg, v, &p));
    if (k == 2) {
        LLVMValueRef l = LLVMBuildLoad2(cg->b, cg->t_i64, as_type(cg, p, cg->t_i64), "");
        LLVMSetAlignment(l, 8);
        *out = l;
    } else {
        LLVMValueRef l = LLVMBuildLoad2(cg->b, cg->t_f32, p, "");
        LLVMSetAlignment(l, 4);
        *out = LLVMBuildFPExt(cg->b, l, LLVMDoubleTypeInContext(cg->ctx), "");
    }
    return TSL_STATUS_OK;
}

static enum tsl_status nms_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    uint32_t slot = 0;
    TSL_TRY(out_slot(cg, n, &slot));
    const struct tsl_shape *bs = &n->inputs[0]->type.shape, *ss = &n->inputs[1]->type.shape;
    LLVMTypeRef t_f64 = LLVMDoubleTypeInContext(cg->ctx), pi64 = LLVMPointerType(cg->t_i64, 0);
    LLVMValueRef bp, sp, yp, mo, iou, sth;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &bp));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &sp));
    TSL_TRY(tsl_cpu_ptr(cg, n->outputs[0], &yp));
    TSL_TRY(nms_param(cg, n, 2, tsl_cpu_i64(cg, 0), &mo));
    TSL_TRY(nms_param(cg, n, 3, LLVMConstReal(t_f64, 0.0), &iou));
    TSL_TRY(nms_param(cg, n, 4, LLVMConstReal(t_f64, 0.0), &sth));
    int64_t flags = (opt_input(n, 4) ? 1 : 0) | (n->attrs.nms.center_point_box ? 2 : 0);
    LLVMTypeRef params[11] = {cg->t_pf32, cg->t_pf32, cg->t_i64, cg->t_i64, cg->t_i64, cg->t_i64,
                              t_f64,      t_f64,      cg->t_i64, cg->t_pi8, pi64};
    LLVMTypeRef fty = LLVMFunctionType(cg->t_i64, params, 11, 0);
    LLVMValueRef args[11] = {bp,
                             sp,
                             tsl_cpu_i64(cg, bs->dims[0]),
                             tsl_cpu_i64(cg, bs->dims[1]),
                             tsl_cpu_i64(cg, ss->dims[1]),
                             mo,
                             iou,
                             sth,
                             tsl_cpu_i64(cg, flags),
                             as_type(cg, tsl_cpu_scratch(cg, 0), cg->t_i8),
                             as_type(cg, yp, cg->t_i64)};
    LLVMValueRef count = LLVMBuildCall2(cg->b, fty, runtime_fn(cg, "nms", fty), args, 11, "");
    store_dim(cg, slot, count);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_nms = {nms_check, nms_emit, false, true, false};
