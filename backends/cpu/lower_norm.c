/* lower_norm.c - InstanceNormalization and LayerNormalization (inference
 * form, f32), the reference's three-pass formula: mean, population variance
 * of (x - mean), then (x - mean) / sqrt(var + eps) * scale + bias, with the
 * statistics in double like the reference.
 *
 * Both are "G groups of `len` contiguous elements": InstanceNorm has one
 * group per (n, c) with a per-channel scale/bias; LayerNorm one group per
 * index of the leading dims [0, axis) with per-element scale/bias over the
 * tail.  Constant scale/bias are expanded at compile time into the blob;
 * a non-constant one must already have the full per-group/per-element size.
 * Not here: BatchNormalization (lower_elementwise.c). */
#include <stdlib.h>

#include "lower_ext.h"
#include "tessel/util.h"

struct norm_geo {
    int64_t groups, len;
    int64_t ch;        /* InstanceNorm: channels (scale index = group % ch) */
    bool per_element;  /* LayerNorm */
};

static enum tsl_status norm_geo(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                struct norm_geo *g)
{
    const struct tsl_shape *s = &n->inputs[0]->type.shape;
    int64_t axis;
    if (n->op == TSL_OP_INSTANCE_NORM) {
        if (s->rank < 3)
            return tsl_cpu_unsupported(cg, n, "input rank must be >= 3");
        axis = 2;
        g->ch = s->dims[1];
        g->per_element = false;
    } else {
        axis = n->attrs.norm.axis;
        if (axis < -s->rank || axis >= s->rank)
            return tsl_cpu_unsupported(cg, n, "axis %lld out of range", (long long)axis);
        if (axis < 0)
            axis += s->rank;
        g->ch = 1;
        g->per_element = true;
    }
    g->groups = 1;
    g->len = 1;
    for (int d = 0; d < s->rank; d++) {
        if (d < axis)
            g->groups *= s->dims[d];
        else
            g->len *= s->dims[d];
    }
    return TSL_STATUS_OK;
}

static int64_t param_size(const struct norm_geo *g)
{
    return g->per_element ? g->len : g->ch;
}

static enum tsl_status norm_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    struct norm_geo g = {0};
    TSL_TRY(norm_geo(cg, n, &g));
    for (uint32_t i = 1; i < n->n_inputs && i < 3; i++) {
        const struct tsl_value *v = n->inputs[i];
        if (!v) {
            if (n->op == TSL_OP_INSTANCE_NORM || i == 1)
                return tsl_cpu_unsupported(cg, n, "scale%s is required", i == 2 ? "/B" : "");
            continue;
        }
        TSL_TRY(tsl_cpu_require_f32(cg, n, v));
        int64_t k = tsl_cpu_numel(v);
        if (!(k == param_size(&g) || (v->constant && g.per_element && k == 1)))
            return tsl_cpu_unsupported(cg, n, "'%s' has %lld elements, expected %lld", v->name,
                                       (long long)k, (long long)param_size(&g));
    }
    return TSL_STATUS_OK;
}

/* Pointer to the param_size() values of scale/bias input i (constants
 * expanded into the blob when broadcast), or NULL when absent. */
static enum tsl_status param_ptr(struct tsl_cpu_cg *cg, const struct tsl_node *n, uint32_t i,
                                 const struct norm_geo *g, LLVMValueRef *out)
{
    *out = NULL;
    if (i >= n->n_inputs || !n->inputs[i])
        return TSL_STATUS_OK;
    const struct tsl_value *v = n->inputs[i];
    int64_t want = param_size(g);
    if (!v->constant || tsl_cpu_numel(v) == want)
        return tsl_cpu_ptr(cg, v, out);
    float *d = NULL;
    TSL_TRY(tsl_cpu_const_f32(cg, v, &d));
    float *e = malloc((size_t)(want ? want : 1) * sizeof *e);
    if (!e) {
        free(d);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "norm parameters");
    }
    for (int64_t k = 0; k < want; k++)
        e[k] = d[0];
    free(d);
    int64_t off;
    enum tsl_status st = tsl_cpu_blob_add(cg, e, (size_t)want * sizeof *e, &off);
    free(e);
    TSL_TRY(st);
    *out = tsl_cpu_weight_ptr(cg, off);
    return TSL_STATUS_OK;
}

static enum tsl_status norm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    struct norm_geo g = {0};
    TSL_TRY(norm_geo(cg, n, &g));
    LLVMValueRef x, y, sc, bi;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    TSL_TRY(param_ptr(cg, n, 1, &g, &sc));
    TSL_TRY(param_ptr(cg, n, 2, &g, &bi));
    if (g.groups == 0 || g.len == 0)
        return TSL_STATUS_OK;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(cg->ctx);
    LLVMValueRef acc = tsl_cpu_entry_alloca(cg, f64, "acc");
    LLVMValueRef lenf = LLVMConstReal(f64, (double)g.len);
    struct tsl_cpu_loop lg, l1, l2, l3;
    LLVMValueRef grp = tsl_cpu_loop_begin(cg, &lg, 0, g.groups, 1, "grp");
    LLVMValueRef base = LLVMBuildNSWMul(cg->b, grp, tsl_cpu_i64(cg, g.len), "");
    LLVMValueRef xg = tsl_cpu_gep(cg, x, base), yg = tsl_cpu_gep(cg, y, base);
    /* mean */
    LLVMBuildStore(cg->b, LLVMConstReal(f64, 0.0), acc);
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &l1, 0, g.len, 1, "s");
    LLVMValueRef v = LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, xg, i), f64, "");
    LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, f64, acc, ""), v, ""), acc);
    tsl_cpu_loop_end(cg, &l1);
    LLVMValueRef mean = LLVMBuildFDiv(cg->b, LLVMBuildLoad2(cg->b, f64, acc, ""), lenf, "");
    /* variance */
    LLVMBuildStore(cg->b, LLVMConstReal(f64, 0.0), acc);
    i = tsl_cpu_loop_begin(cg, &l2, 0, g.len, 1, "q");
    v = LLVMBuildFSub(cg->b, LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, xg, i), f64, ""), mean, "");
    LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, f64, acc, ""),
                                        LLVMBuildFMul(cg->b, v, v, ""), ""), acc);
    tsl_cpu_loop_end(cg, &l2);
    LLVMValueRef var = LLVMBuildFAdd(
        cg->b, LLVMBuildFDiv(cg->b, LLVMBuildLoad2(cg->b, f64, acc, ""), lenf, ""),
        LLVMConstReal(f64, (double)n->attrs.norm.epsilon), "");
    LLVMValueRef inv = LLVMBuildFDiv(cg->b, LLVMConstReal(f64, 1.0),
                                     tsl_cpu_intrinsic(cg, "llvm.sqrt", f64, &var, 1), "");
    /* per-channel parameter index for InstanceNorm */
    LLVMValueRef chi = g.per_element ? NULL : LLVMBuildSRem(cg->b, grp, tsl_cpu_i64(cg, g.ch), "");
    LLVMValueRef sc_c = NULL, bi_c = NULL;
    if (chi) {
        sc_c = sc ? LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, sc, chi), f64, "") : NULL;
        bi_c = bi ? LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, bi, chi), f64, "") : NULL;
    }
    i = tsl_cpu_loop_begin(cg, &l3, 0, g.len, 1, "o");
    v = LLVMBuildFMul(cg->b,
                      LLVMBuildFSub(cg->b, LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, xg, i), f64, ""),
                                    mean, ""),
                      inv, "");
    LLVMValueRef s_v = chi ? sc_c : sc ? LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, sc, i), f64, "") : NULL;
    LLVMValueRef b_v = chi ? bi_c : bi ? LLVMBuildFPExt(cg->b, tsl_cpu_load(cg, bi, i), f64, "") : NULL;
    if (s_v)
        v = LLVMBuildFMul(cg->b, v, s_v, "");
    if (b_v)
        v = LLVMBuildFAdd(cg->b, v, b_v, "");
    LLVMValueRef out = LLVMBuildFPTrunc(cg->b, v, cg->t_f32, "");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, out), yg, i);
    tsl_cpu_loop_end(cg, &l3);
    tsl_cpu_loop_end(cg, &lg);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_instance_norm = {norm_check, norm_emit, true,
                                                             false, false};
const struct tsl_cpu_lowering tsl_cpu_lower_layer_norm = {norm_check, norm_emit, true,
                                                          false, false};
