/* lower_conv_rt.c - the Conv entry of the lowering table: a Conv whose
 * weight is a constant and that has one or two spatial dims goes to the
 * GEMM/depthwise lowering (lower_conv.c); the others (a weight computed at
 * run time, or three spatial dims) to a direct convolution here: one scalar
 * loop nest (image, output channel, output position, then input channel of
 * the group and kernel taps), the weight read in place, zero padding by
 * masking taps that fall outside the image, then bias, a fused residual and
 * the fused epilogue program.  It runs on the calling thread.  The
 * geometry (tsl_cpu_conv3_geo: spatial dims right-aligned to three, auto_pad
 * resolved) is shared with QLinearConv (lower_qlinear.c).
 *
 * Not here: packing, vectorization, threads (these convolutions come from
 * conformance tests and 3-D models the fast paths do not cover yet). */
#include <string.h>

#include "lower_ext.h"
#include "tessel/util.h"

static bool direct(const struct tsl_node *n)
{
    return !n->inputs[1]->constant || n->inputs[0]->type.shape.rank == 5;
}

enum tsl_status tsl_cpu_conv3_geo(struct tsl_cpu_cg *cg, const struct tsl_node *n,
                                  const struct tsl_value *x, const struct tsl_value *w,
                                  struct tsl_cpu_conv3 *g)
{
    const struct tsl_attr_conv *at = &n->attrs.conv;
    memset(g, 0, sizeof *g);
    const struct tsl_shape *xs = &x->type.shape, *ws = &w->type.shape,
                           *os = &n->outputs[0]->type.shape;
    if (!tsl_shape_is_static(xs) || !tsl_shape_is_static(ws) || !tsl_shape_is_static(os))
        return tsl_cpu_unsupported(cg, n, "static shapes needed");
    int r = xs->rank, sp = r - 2;
    if (r < 3 || r > 5 || ws->rank != r || os->rank != r)
        return tsl_cpu_unsupported(cg, n, "only 1-D to 3-D convolutions are lowered");
    g->N = xs->dims[0], g->C = xs->dims[1], g->OC = os->dims[1], g->G = at->group;
    if (g->G <= 0 || g->C % g->G || g->OC % g->G || ws->dims[0] != g->OC ||
        ws->dims[1] != g->C / g->G)
        return tsl_cpu_unsupported(cg, n, "inconsistent group/weight shape");
    g->Cg = g->C / g->G, g->Mg = g->OC / g->G;
    for (int i = 0; i < 3; i++) {
        int a = i - (3 - sp); /* attribute index of dim i, < 0 when padded */
        g->in[i] = a >= 0 ? xs->dims[2 + a] : 1;
        g->out[i] = a >= 0 ? os->dims[2 + a] : 1;
        g->k[i] = a >= 0 ? ws->dims[2 + a] : 1;
        g->s[i] = a >= 0 && at->strides.n == (uint32_t)sp ? at->strides.v[a] : 1;
        g->d[i] = a >= 0 && at->dilations.n == (uint32_t)sp ? at->dilations.v[a] : 1;
        g->pb[i] = a >= 0 && at->pads.n == 2u * (uint32_t)sp ? at->pads.v[a] : 0;
        if (g->s[i] <= 0 || g->d[i] <= 0 || g->pb[i] < 0)
            return tsl_cpu_unsupported(cg, n, "bad stride/dilation/padding");
        int64_t need = (g->out[i] - 1) * g->s[i] + (g->k[i] - 1) * g->d[i] + 1 - g->in[i];
        if (at->auto_pad == TSL_auto_pad_SAME_UPPER || at->auto_pad == TSL_auto_pad_SAME_LOWER) {
            int64_t t = need > 0 ? need : 0;
            g->pb[i] = at->auto_pad == TSL_auto_pad_SAME_UPPER ? t / 2 : t - t / 2;
        } else if (at->auto_pad == TSL_auto_pad_VALID) {
            g->pb[i] = 0;
        }
    }
    return TSL_STATUS_OK;
}

static enum tsl_status crt_geo(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                               struct tsl_cpu_conv3 *g)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[1]));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[2]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    TSL_TRY(tsl_cpu_conv3_geo(cg, n, n->inputs[0], n->inputs[1], g));
    if (st->pro_x)
        return tsl_cpu_unsupported(cg, n, "squeeze-excite scale folded into a direct convolution");
    return TSL_STATUS_OK;
}

static enum tsl_status crt_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    if (!direct(st->node))
        return tsl_cpu_lower_conv.check(cg, st);
    struct tsl_cpu_conv3 g;
    return crt_geo(cg, st, &g);
}

static LLVMValueRef mul_add(struct tsl_cpu_cg *cg, LLVMValueRef a, int64_t k, LLVMValueRef b)
{
    return LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, a, tsl_cpu_i64(cg, k), ""), b, "");
}

void tsl_cpu_conv3_open_channel(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                                struct tsl_cpu_conv3_nest *t)
{
    t->n = tsl_cpu_loop_begin(cg, &t->ln, 0, g->N, 1, "n");
    t->oc = tsl_cpu_loop_begin(cg, &t->lo, 0, g->OC, 1, "oc");
    t->grp = LLVMBuildSDiv(cg->b, t->oc, tsl_cpu_i64(cg, g->Mg), "");
}

void tsl_cpu_conv3_open_output(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                               struct tsl_cpu_conv3_nest *t)
{
    for (int i = 0; i < 3; i++)
        t->o[i] = tsl_cpu_loop_begin(cg, &t->lp[i], 0, g->out[i], 1, "o");
    t->oi = mul_add(cg, t->n, g->OC, t->oc);
    for (int i = 0; i < 3; i++)
        t->oi = mul_add(cg, t->oi, g->out[i], t->o[i]);
}

void tsl_cpu_conv3_open_taps(struct tsl_cpu_cg *cg, const struct tsl_cpu_conv3 *g,
                             struct tsl_cpu_conv3_nest *t)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef i0 = tsl_cpu_i64(cg, 0);
    t->c = tsl_cpu_loop_begin(cg, &t->lc, 0, g->Cg, 1, "c");
    for (int i = 0; i < 3; i++)
        t->k[i] = tsl_cpu_loop_begin(cg, &t->lk[i], 0, g->k[i], 1, "k");
    /* x[n][grp*Cg + c][pos], pos = o*s - pb + k*d, masked outside the image */
    LLVMValueRef xi = mul_add(cg, t->n, g->C, mul_add(cg, t->grp, g->Cg, t->c));
    LLVMValueRef valid = LLVMConstInt(cg->t_i1, 1, 0);
    for (int i = 0; i < 3; i++) {
        LLVMValueRef pos = LLVMBuildSub(b, mul_add(cg, t->o[i], g->s[i], i0),
                                        tsl_cpu_i64(cg, g->pb[i]), "");
        pos = mul_add(cg, t->k[i], g->d[i], pos);
        LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, pos, i0, ""),
                                       LLVMBuildICmp(b, LLVMIntSLT, pos,
                                                     tsl_cpu_i64(cg, g->in[i]), ""), "");
        valid = LLVMBuildAnd(b, valid, ok, "");
        xi = mul_add(cg, xi, g->in[i], pos);
    }
    t->valid = valid;
    t->xi = LLVMBuildSelect(b, valid, xi, i0, "");
    t->wi = mul_add(cg, t->oc, g->Cg, t->c);
    for (int i = 0; i < 3; i++)
        t->wi = mul_add(cg, t->wi, g->k[i], t->k[i]);
}

void tsl_cpu_conv3_close_taps(struct tsl_cpu_cg *cg, struct tsl_cpu_conv3_nest *t)
{
    for (int i = 2; i >= 0; i--)
        tsl_cpu_loop_end(cg, &t->lk[i]);
    tsl_cpu_loop_end(cg, &t->lc);
}

void tsl_cpu_conv3_close_outputs(struct tsl_cpu_cg *cg, struct tsl_cpu_conv3_nest *t)
{
    for (int i = 2; i >= 0; i--)
        tsl_cpu_loop_end(cg, &t->lp[i]);
    tsl_cpu_loop_end(cg, &t->lo);
    tsl_cpu_loop_end(cg, &t->ln);
}

static enum tsl_status crt_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    if (!direct(n))
        return tsl_cpu_lower_conv.emit(cg, st);
    struct tsl_cpu_conv3 g;
    TSL_TRY(crt_geo(cg, st, &g));
    LLVMBuilderRef b = cg->b;
    LLVMValueRef px, pw, pb = NULL, po, pr = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &px));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &pw));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &pb));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &po));
    if (st->res)
        TSL_TRY(tsl_cpu_ptr(cg, st->res, &pr));
    LLVMValueRef acc = tsl_cpu_entry_alloca(cg, cg->t_f32, "acc");
    LLVMValueRef zero = tsl_cpu_f32c(cg, 0.0);
    struct tsl_cpu_conv3_nest t;
    tsl_cpu_conv3_open_channel(cg, &g, &t);
    tsl_cpu_conv3_open_output(cg, &g, &t);
    LLVMBuildStore(b, pb ? tsl_cpu_load(cg, pb, t.oc) : zero, acc);
    tsl_cpu_conv3_open_taps(cg, &g, &t);
    LLVMValueRef prod = LLVMBuildFMul(b, tsl_cpu_load(cg, px, t.xi), tsl_cpu_load(cg, pw, t.wi), "");
    LLVMValueRef a = LLVMBuildLoad2(b, cg->t_f32, acc, "");
    LLVMBuildStore(b, LLVMBuildFAdd(b, a, LLVMBuildSelect(b, t.valid, prod, zero, ""), ""), acc);
    tsl_cpu_conv3_close_taps(cg, &t);
    LLVMValueRef y = LLVMBuildLoad2(b, cg->t_f32, acc, "");
    if (pr)
        y = LLVMBuildFAdd(b, y, tsl_cpu_load(cg, pr, t.oi), "");
    y = tsl_cpu_apply_act(cg, &st->act, y);
    tsl_cpu_store(cg, y, po, t.oi);
    tsl_cpu_conv3_close_outputs(cg, &t);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_conv_any = {crt_check, crt_emit, true, false, false};
