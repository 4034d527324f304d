/* lower_convt.c - ConvTranspose (1-D to 3-D, f32): strides, dilations,
 * groups, pads, output_padding, output_shape and auto_pad with the
 * reference's pad rule (explicit output_shape or SAME_*: total padding
 * split with the extra element at the end for SAME_UPPER).
 *
 * A scatter loop nest: the output is set to the bias (or zero), then every
 * input element and kernel tap adds x * w into the output position
 * o = i * stride - pad_begin + k * dilation when it lies inside the output.
 * Weights and bias may be constants or run-time values.  This is the
 * straightforward form (no GEMM); transposed convolutions are rare in the
 * models tessel targets.  Not here: Conv (lower_conv.c). */
#include "lower_ext.h"

struct ct_geo {
    int nsp;
    int64_t N, C, G, cg, mg, M;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
};

static enum tsl_status ct_geo(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                              struct ct_geo *g)
{
    const struct tsl_node *n = st->node;
    const struct tsl_attr_conv_transpose *at = &n->attrs.conv_transpose;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[1]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[2]));
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *ws = &n->inputs[1]->type.shape,
                           *os = &st->out->type.shape;
    g->nsp = xs->rank - 2;
    if (g->nsp < 1 || g->nsp > 3 || ws->rank != xs->rank || os->rank != xs->rank)
        return tsl_cpu_unsupported(cg, n, "only 1-D to 3-D ConvTranspose is lowered");
    g->N = xs->dims[0], g->C = xs->dims[1], g->G = at->group;
    if (g->G < 1 || g->C % g->G || ws->dims[0] != g->C)
        return tsl_cpu_unsupported(cg, n, "channel/group mismatch");
    g->cg = g->C / g->G, g->mg = ws->dims[1], g->M = g->mg * g->G;
    if (os->dims[0] != g->N || os->dims[1] != g->M)
        return tsl_cpu_unsupported(cg, n, "output shape does not match the weights");
    if (n->n_inputs > 2 && n->inputs[2] && tsl_cpu_numel(n->inputs[2]) != g->M)
        return tsl_cpu_unsupported(cg, n, "bias must have %lld elements", (long long)g->M);
    const struct tsl_ints *S = &at->strides, *D = &at->dilations, *P = &at->pads,
                          *OP = &at->output_padding, *OS = &at->output_shape;
    uint32_t ns = (uint32_t)g->nsp;
    if ((S->n && S->n != ns) || (D->n && D->n != ns) || (P->n && P->n != 2 * ns) ||
        (OP->n && OP->n != ns) || (OS->n && OS->n != ns))
        return tsl_cpu_unsupported(cg, n, "attribute lengths do not match the spatial rank");
    for (int d = 0; d < 3; d++) {
        g->in[d] = g->out[d] = g->k[d] = g->s[d] = g->d[d] = 1;
        g->pb[d] = 0;
    }
    for (int d = 0; d < g->nsp; d++) {
        int64_t in = xs->dims[2 + d], k = ws->dims[2 + d];
        int64_t s = S->n ? S->v[d] : 1, dl = D->n ? D->v[d] : 1, opad = OP->n ? OP->v[d] : 0;
        if (s < 1 || dl < 1 || opad < 0 || s > INT32_MAX || dl > INT32_MAX || k < 1)
            return tsl_cpu_unsupported(cg, n, "bad stride/dilation/output_padding");
        int64_t full = s * (in - 1) + opad + (k - 1) * dl + 1, out, pb;
        if (OS->n || at->auto_pad == TSL_auto_pad_SAME_UPPER ||
            at->auto_pad == TSL_auto_pad_SAME_LOWER) {
            out = OS->n ? OS->v[d] : in * s;
            int64_t total = full - out > 0 ? full - out : 0;
            pb = at->auto_pad == TSL_auto_pad_SAME_UPPER ? total / 2 : total - total / 2;
        } else {
            bool use = P->n && at->auto_pad != TSL_auto_pad_VALID;
            pb = use ? P->v[d] : 0;
            out = full - pb - (use ? P->v[d + g->nsp] : 0);
        }
        if (out != os->dims[2 + d])
            return tsl_cpu_unsupported(cg, n, "output size %lld differs from the inferred %lld",
                                       (long long)out, (long long)os->dims[2 + d]);
        g->in[d] = in, g->out[d] = out, g->k[d] = k, g->s[d] = s, g->d[d] = dl, g->pb[d] = pb;
    }
    return TSL_STATUS_OK;
}

static enum tsl_status ct_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct ct_geo g;
    return ct_geo(cg, st, &g);
}

static LLVMValueRef mul(struct tsl_cpu_cg *cg, LLVMValueRef a, int64_t b)
{
    return LLVMBuildNSWMul(cg->b, a, tsl_cpu_i64(cg, b), "");
}
static LLVMValueRef add(struct tsl_cpu_cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(cg->b, a, b, "");
}

static enum tsl_status ct_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    struct ct_geo g;
    TSL_TRY(ct_geo(cg, st, &g));
    LLVMValueRef x, w, y, bias = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &w));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &bias));
    int64_t osz = g.out[0] * g.out[1] * g.out[2], isz = g.in[0] * g.in[1] * g.in[2];
    int64_t ksz = g.k[0] * g.k[1] * g.k[2];
    /* y = bias (or 0) */
    struct tsl_cpu_loop l0, l1;
    LLVMValueRef nm = tsl_cpu_loop_begin(cg, &l0, 0, g.N * g.M, 1, "nm");
    LLVMValueRef bv = bias ? tsl_cpu_load(cg, bias, LLVMBuildSRem(cg->b, nm, tsl_cpu_i64(cg, g.M), ""))
                           : tsl_cpu_f32c(cg, 0.0);
    LLVMValueRef yb = tsl_cpu_gep(cg, y, mul(cg, nm, osz));
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &l1, 0, osz, 1, "j");
    tsl_cpu_store(cg, bv, yb, j);
    tsl_cpu_loop_end(cg, &l1);
    tsl_cpu_loop_end(cg, &l0);
    /* scatter: n, group, ic, i0, i1, i2, m, k0, k1, k2 */
    struct tsl_cpu_loop ln, lg, lc, li[3], lm, lk[3];
    LLVMValueRef vn = tsl_cpu_loop_begin(cg, &ln, 0, g.N, 1, "n");
    LLVMValueRef vg = tsl_cpu_loop_begin(cg, &lg, 0, g.G, 1, "g");
    LLVMValueRef vc = tsl_cpu_loop_begin(cg, &lc, 0, g.cg, 1, "c");
    LLVMValueRef ch = add(cg, mul(cg, vg, g.cg), vc); /* input channel */
    LLVMValueRef xb = tsl_cpu_gep(cg, x, mul(cg, add(cg, mul(cg, vn, g.C), ch), isz));
    LLVMValueRef wb = tsl_cpu_gep(cg, w, mul(cg, ch, g.mg * ksz));
    LLVMValueRef yg = tsl_cpu_gep(cg, y, mul(cg, add(cg, mul(cg, vn, g.M), mul(cg, vg, g.mg)), osz));
    LLVMValueRef vi[3];
    for (int d = 0; d < 3; d++)
        vi[d] = tsl_cpu_loop_begin(cg, &li[d], 0, g.in[d], 1, "i");
    LLVMValueRef xoff = add(cg, mul(cg, add(cg, mul(cg, vi[0], g.in[1]), vi[1]), g.in[2]), vi[2]);
    LLVMValueRef xv = tsl_cpu_load(cg, xb, xoff);
    LLVMValueRef vm = tsl_cpu_loop_begin(cg, &lm, 0, g.mg, 1, "m");
    LLVMValueRef wm = tsl_cpu_gep(cg, wb, mul(cg, vm, ksz));
    LLVMValueRef ym = tsl_cpu_gep(cg, yg, mul(cg, vm, osz));
    LLVMValueRef vk[3], o[3], ok = NULL;
    for (int d = 0; d < 3; d++) {
        vk[d] = tsl_cpu_loop_begin(cg, &lk[d], 0, g.k[d], 1, "k");
        o[d] = add(cg, add(cg, mul(cg, vi[d], g.s[d]), mul(cg, vk[d], g.d[d])),
                   tsl_cpu_i64(cg, -g.pb[d]));
        /* unsigned compare: 0 <= o < out */
        LLVMValueRef in = LLVMBuildICmp(cg->b, LLVMIntULT, o[d], tsl_cpu_i64(cg, g.out[d]), "");
        ok = ok ? LLVMBuildAnd(cg->b, ok, in, "") : in;
    }
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tap");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "skip");
    LLVMBuildCondBr(cg->b, ok, body, next);
    LLVMPositionBuilderAtEnd(cg->b, body);
    LLVMValueRef koff = add(cg, mul(cg, add(cg, mul(cg, vk[0], g.k[1]), vk[1]), g.k[2]), vk[2]);
    LLVMValueRef yoff = add(cg, mul(cg, add(cg, mul(cg, o[0], g.out[1]), o[1]), g.out[2]), o[2]);
    LLVMValueRef prod = LLVMBuildFMul(cg->b, xv, tsl_cpu_load(cg, wm, koff), "");
    tsl_cpu_store(cg, LLVMBuildFAdd(cg->b, tsl_cpu_load(cg, ym, yoff), prod, ""), ym, yoff);
    LLVMBuildBr(cg->b, next);
    LLVMPositionBuilderAtEnd(cg->b, next);
    for (int d = 2; d >= 0; d--)
        tsl_cpu_loop_end(cg, &lk[d]);
    tsl_cpu_loop_end(cg, &lm);
    for (int d = 2; d >= 0; d--)
        tsl_cpu_loop_end(cg, &li[d]);
    tsl_cpu_loop_end(cg, &lc);
    tsl_cpu_loop_end(cg, &lg);
    tsl_cpu_loop_end(cg, &ln);
    if (st->act.kind != TSL_CPU_ACT_NONE) {
        struct tsl_cpu_loop la;
        LLVMValueRef i = tsl_cpu_loop_begin(cg, &la, 0, g.N * g.M * osz, 1, "a");
        tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, tsl_cpu_load(cg, y, i)), y, i);
        tsl_cpu_loop_end(cg, &la);
    }
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_conv_transpose = {ct_check, ct_emit, true,
                                                              false, false};
