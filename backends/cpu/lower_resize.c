/* lower_resize.c - Resize in linear and cubic modes (every coordinate
 * transformation mode, cubic_coeff_a, exclude_outside, tf_crop_and_resize
 * with its extrapolation value), f32, constant roi/scales/sizes.  Nearest
 * mode goes through the index table (lower_gather.c).
 *
 * Interpolation is separable: output = sum over tap combinations of the
 * product of per-dim weights times the input.  Each dim's 1-D interpolation
 * matrix is obtained at compile time from the reference interpreter (the
 * oracle): the same Resize on a 1-D slice of that dim (other dims size 1,
 * their scale/size 1) applied to each unit vector gives one column; a run on
 * zeros marks the coordinates that extrapolate.  Rows have at most four
 * non-zeros; they become per-dim tables (input offset, weight) in the blob,
 * and the generated nest sums the unrolled tap products. */
#include <stdlib.h>
#include <string.h>

#include "lower_ext.h"
#include "tessel/reference.h"
#include "tessel/util.h"

#define MAX_TAPS 4
#define MAX_COMBOS 64

struct dim_taps {
    int64_t out, k;  /* output length, taps per output coordinate */
    int32_t *off;    /* out*k input offsets (index * input stride) */
    float *w;        /* out*k weights */
    int32_t *extrap; /* out flags (1: extrapolation value) or NULL */
};

static void free_taps(struct dim_taps *t, int r)
{
    for (int d = 0; d < r; d++) {
        free(t[d].off);
        free(t[d].w);
        free(t[d].extrap);
    }
}

/* A copy of constant input i of n as a dense f64/i64 tensor with every
 * entry except dim d set to `other` (scales: 1, sizes: 1). */
static enum tsl_status one_dim_param(struct tsl_cpu_cg *cg, const struct tsl_node *n, uint32_t i,
                                     int d, struct tsl_tensor *t)
{
    const struct tsl_value *v = n->inputs[i];
    void *dense = NULL;
    TSL_TRY(tsl_const_decode(v, &dense, cg->diag));
    t->dtype = v->type.dtype;
    t->shape = v->type.shape;
    t->data = dense;
    int64_t k = tsl_cpu_numel(v);
    for (int64_t j = 0; j < k; j++)
        if (j != d) {
            if (tsl_dtype_is_float(v->type.dtype))
                tsl_dense_set_f64(v->type.dtype, dense, j, 1.0);
            else
                tsl_dense_set_i64(v->type.dtype, dense, j, 1);
        }
    return TSL_STATUS_OK;
}

static enum tsl_status build_dim(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                 const struct tsl_shape *os, int d, int64_t xstride,
                                 struct dim_taps *t)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t in = xs->dims[d], out = os->dims[d];
    memset(t, 0, sizeof *t);
    t->out = out;
    struct tsl_tensor x = {.dtype = TSL_DTYPE_F64, .shape = {.rank = xs->rank}};
    for (int e = 0; e < xs->rank; e++)
        x.shape.dims[e] = e == d ? in : 1;
    struct tsl_tensor prm[4] = {{0}};
    const struct tsl_tensor *over[4] = {&x, NULL, NULL, NULL};
    double *rows_w = calloc((size_t)(out ? out : 1) * MAX_TAPS, sizeof *rows_w);
    int64_t *rows_i = calloc((size_t)(out ? out : 1) * MAX_TAPS, sizeof *rows_i);
    int *cnt = calloc((size_t)(out ? out : 1), sizeof *cnt);
    x.data = calloc((size_t)(in ? in : 1), sizeof(double));
    t->extrap = calloc((size_t)(out ? out : 1), sizeof *t->extrap);
    enum tsl_status st = TSL_STATUS_OK;
    if (!rows_w || !rows_i || !cnt || !x.data || !t->extrap)
        st = tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "resize taps");
    for (uint32_t i = 2; i < 4 && i < n->n_inputs && st == TSL_STATUS_OK; i++)
        if (n->inputs[i] && tsl_cpu_numel(n->inputs[i]) == xs->rank) {
            st = one_dim_param(cg, n, i, d, &prm[i]);
            over[i] = &prm[i];
        }
    /* j = -1: zeros (extrapolation marks); j >= 0: unit vector e_j */
    for (int64_t j = -1; j < in && st == TSL_STATUS_OK; j++) {
        double *xd = x.data;
        memset(xd, 0, (size_t)in * sizeof *xd);
        if (j >= 0)
            xd[j] = 1.0;
        struct tsl_tensor *res = NULL;
        st = tsl_cpu_ref_eval(cg, n, over, NULL, &res);
        if (st != TSL_STATUS_OK)
            break;
        int64_t rn = 0;
        if (res->dtype != TSL_DTYPE_F64 || !tsl_shape_numel(&res->shape, &rn) || rn != out) {
            tsl_tensors_free(res, 1);
            st = tsl_cpu_unsupported(cg, n, "1-D reference resize gave an unexpected shape");
            break;
        }
        const double *y = res->data;
        for (int64_t o = 0; o < out && st == TSL_STATUS_OK; o++) {
            if (j < 0) {
                t->extrap[o] = y[o] != 0.0;
            } else if (!t->extrap[o] && y[o] != 0.0) {
                if (cnt[o] == MAX_TAPS)
                    st = tsl_cpu_unsupported(cg, n, "more than %d taps per coordinate", MAX_TAPS);
                else {
                    rows_i[o * MAX_TAPS + cnt[o]] = j;
                    rows_w[o * MAX_TAPS + cnt[o]++] = y[o];
                }
            }
        }
        tsl_tensors_free(res, 1);
    }
    if (st == TSL_STATUS_OK) {
        t->k = 1;
        for (int64_t o = 0; o < out; o++)
            if (cnt[o] > t->k)
                t->k = cnt[o];
        t->off = calloc((size_t)(out ? out : 1) * (size_t)t->k, sizeof *t->off);
        t->w = calloc((size_t)(out ? out : 1) * (size_t)t->k, sizeof *t->w);
        if (!t->off || !t->w)
            st = tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "resize taps");
    }
    for (int64_t o = 0; o < out && st == TSL_STATUS_OK; o++)
        for (int k = 0; k < cnt[o]; k++) {
            t->off[o * t->k + k] = (int32_t)(rows_i[o * MAX_TAPS + k] * xstride);
            t->w[o * t->k + k] = (float)rows_w[o * MAX_TAPS + k];
        }
    bool any = false;
    for (int64_t o = 0; o < out && st == TSL_STATUS_OK; o++)
        any = any || t->extrap[o];
    if (!any) {
        free(t->extrap);
        t->extrap = NULL;
    }
    for (int i = 2; i < 4; i++)
        free(prm[i].data);
    free(x.data);
    free(rows_w);
    free(rows_i);
    free(cnt);
    return st;
}

static enum tsl_status build_all(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                 const struct tsl_value *out, struct dim_taps *t)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t xst[TSL_MAX_RANK];
    tsl_cpu_strides(xs, xst);
    memset(t, 0, sizeof *t * TSL_MAX_RANK);
    int64_t combos = 1;
    for (int d = 0; d < xs->rank; d++) {
        enum tsl_status st = build_dim(cg, n, &out->type.shape, d, xst[d], &t[d]);
        if (st == TSL_STATUS_OK) {
            combos *= t[d].k;
            if (combos > MAX_COMBOS)
                st = tsl_cpu_unsupported(cg, n, "more than %d tap combinations", MAX_COMBOS);
        }
        if (st != TSL_STATUS_OK) {
            free_taps(t, d + 1);
            return st;
        }
    }
    return TSL_STATUS_OK;
}

static enum tsl_status resize_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (n->attrs.resize.mode == TSL_resize_mode_NEAREST)
        return tsl_cpu_lower_gather_table.check(cg, st);
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    TSL_TRY(tsl_cpu_require_const_inputs(cg, n, 1));
    if (n->inputs[0]->type.shape.rank != st->out->type.shape.rank)
        return tsl_cpu_unsupported(cg, n, "output rank differs from input rank");
    if (tsl_cpu_numel(n->inputs[0]) >= INT32_MAX)
        return tsl_cpu_unsupported(cg, n, "more than 2^31 input elements");
    struct dim_taps t[TSL_MAX_RANK];
    TSL_TRY(build_all(cg, n, st->out, t));
    free_taps(t, n->inputs[0]->type.shape.rank);
    return TSL_STATUS_OK;
}

static LLVMValueRef ld_i32(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef q = LLVMBuildInBoundsGEP2(cg->b, cg->t_i32, p, &idx, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_i32, q, "");
    LLVMSetAlignment(v, 4);
    return LLVMBuildSExt(cg->b, v, cg->t_i64, "");
}

static enum tsl_status resize_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (n->attrs.resize.mode == TSL_resize_mode_NEAREST)
        return tsl_cpu_lower_gather_table.emit(cg, st);
    const struct tsl_shape *os = &st->out->type.shape;
    int r = os->rank;
    struct dim_taps t[TSL_MAX_RANK];
    TSL_TRY(build_all(cg, n, st->out, t));
    LLVMTypeRef pi32 = LLVMPointerType(cg->t_i32, 0);
    LLVMValueRef offp[TSL_MAX_RANK], wp[TSL_MAX_RANK], exf[TSL_MAX_RANK];
    enum tsl_status s = TSL_STATUS_OK;
    for (int d = 0; d < r && s == TSL_STATUS_OK; d++) {
        int64_t a, b, c = -1;
        s = tsl_cpu_blob_add(cg, t[d].off, (size_t)(t[d].out * t[d].k) * 4, &a);
        if (s == TSL_STATUS_OK)
            s = tsl_cpu_blob_add(cg, t[d].w, (size_t)(t[d].out * t[d].k) * 4, &b);
        if (s == TSL_STATUS_OK && t[d].extrap)
            s = tsl_cpu_blob_add(cg, t[d].extrap, (size_t)t[d].out * 4, &c);
        if (s != TSL_STATUS_OK)
            break;
        offp[d] = LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, a), pi32, "");
        wp[d] = tsl_cpu_weight_ptr(cg, b);
        exf[d] = c >= 0 ? LLVMBuildBitCast(cg->b, tsl_cpu_weight_ptr(cg, c), pi32, "") : NULL;
    }
    LLVMValueRef x, y;
    if (s == TSL_STATUS_OK)
        s = tsl_cpu_ptr(cg, n->inputs[0], &x);
    if (s == TSL_STATUS_OK)
        s = tsl_cpu_ptr(cg, st->out, &y);
    if (s != TSL_STATUS_OK || tsl_cpu_numel(st->out) == 0) {
        free_taps(t, r);
        return s;
    }
    int64_t ost[TSL_MAX_RANK];
    tsl_cpu_strides(os, ost);
    struct tsl_cpu_loop loops[TSL_MAX_RANK];
    LLVMValueRef oiv[TSL_MAX_RANK], yoff = tsl_cpu_i64(cg, 0);
    for (int d = 0; d < r; d++) {
        oiv[d] = tsl_cpu_loop_begin(cg, &loops[d], 0, os->dims[d], 1, "o");
        yoff = LLVMBuildNSWAdd(cg->b, yoff,
                               LLVMBuildNSWMul(cg->b, oiv[d], tsl_cpu_i64(cg, ost[d]), ""), "");
    }
    int64_t combos = 1;
    for (int d = 0; d < r; d++)
        combos *= t[d].k;
    LLVMValueRef acc = tsl_cpu_f32c(cg, 0.0);
    for (int64_t cb = 0; cb < combos; cb++) {
        int64_t rem = cb;
        LLVMValueRef off = tsl_cpu_i64(cg, 0), w = NULL;
        for (int d = r - 1; d >= 0; d--) {
            int64_t k = rem % t[d].k;
            rem /= t[d].k;
            LLVMValueRef ti = LLVMBuildNSWAdd(
                cg->b, LLVMBuildNSWMul(cg->b, oiv[d], tsl_cpu_i64(cg, t[d].k), ""),
                tsl_cpu_i64(cg, k), "");
            off = LLVMBuildNSWAdd(cg->b, off, ld_i32(cg, offp[d], ti), "");
            LLVMValueRef wd = tsl_cpu_load(cg, wp[d], ti);
            w = w ? LLVMBuildFMul(cg->b, w, wd, "") : wd;
        }
        acc = LLVMBuildFAdd(cg->b, acc, LLVMBuildFMul(cg->b, w, tsl_cpu_load(cg, x, off), ""), "");
    }
    for (int d = 0; d < r; d++) {
        if (!exf[d])
            continue;
        LLVMValueRef f = LLVMBuildICmp(cg->b, LLVMIntNE, ld_i32(cg, exf[d], oiv[d]),
                                       tsl_cpu_i64(cg, 0), "");
        acc = LLVMBuildSelect(cg->b, f, tsl_cpu_f32c(cg, n->attrs.resize.extrapolation_value),
                              acc, "");
    }
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, acc), y, yoff);
    for (int d = r - 1; d >= 0; d--)
        tsl_cpu_loop_end(cg, &loops[d]);
    free_taps(t, r);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_resize = {resize_check, resize_emit, false,
                                                      false, false};
