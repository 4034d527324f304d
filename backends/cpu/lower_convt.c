/* lower_convt.c - ConvTranspose (1-D to 3-D, f32): strides, dilations,
 * groups, pads, output_padding, output_shape and auto_pad with the
 * reference's pad rule (explicit output_shape or SAME_*: total padding
 * split with the extra element at the end for SAME_UPPER).
 *
 * A constant weight (the usual case) goes through the GEMM of
 * gemm_kernel.c, per image and group: col[(m, k), i] = sum_c W[c, m, k] *
 * x[c, i] (A = W^T packed at compile time, B = the input image read in
 * place, C = a column buffer in the step's scratch), then col2im: the
 * output is set to the bias and every tap k adds its column rows at
 * o = i * stride - pad_begin + k * dilation, over the input range of i that
 * lands inside the output (computed at compile time per tap, so the loops
 * carry no bounds tests).  PP-OCRv4 det's 2x2/stride-2 upsampling went from
 * 152 ms to a few ms this way.
 *
 * A run-time weight uses the scatter loop nest: the output is set to the
 * bias (or zero), then every input element and kernel tap adds x * w into
 * the output position when it lies inside the output.
 * Not here: Conv (lower_conv.c). */
#include <stdlib.h>

#include "lower_ext.h"
#include "tessel/util.h"

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

/* The GEMM path: a constant weight, at most 64 taps (col2im is unrolled
 * per tap) and a column buffer below 1 GiB. */
static bool ct_use_gemm(const struct tsl_cpu_step *st, const struct ct_geo *g)
{
    int64_t ksz = g->k[0] * g->k[1] * g->k[2], isz = g->in[0] * g->in[1] * g->in[2], col;
    return st->node->inputs[1]->constant && ksz <= 64 &&
           tsl_mul_i64(g->mg * ksz, isz, &col) && col < ((int64_t)1 << 28);
}

static int64_t col_bytes(const struct ct_geo *g)
{
    int64_t b = g->mg * g->k[0] * g->k[1] * g->k[2] * g->in[0] * g->in[1] * g->in[2] * 4;
    return (b + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
}

static enum tsl_status ct_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct ct_geo g;
    TSL_TRY(ct_geo(cg, st, &g));
    st->scratch_bytes = st->thread_scratch_bytes = 0;
    if (ct_use_gemm(st, &g)) {
        /* the column buffer, then B packed once when threads share panels;
         * per thread: a B panel block otherwise (the same problem as
         * ct_emit_gemm's) */
        struct tsl_cpu_gemm p = {.M = g.mg * g.k[0] * g.k[1] * g.k[2],
                                 .N = g.in[0] * g.in[1] * g.in[2], .K = g.cg};
        st->scratch_bytes = col_bytes(&g) + tsl_cpu_gemm_shared_scratch(cg, &p);
        st->thread_scratch_bytes = tsl_cpu_gemm_scratch(cg, &p);
    }
    return TSL_STATUS_OK;
}

static LLVMValueRef mul(struct tsl_cpu_cg *cg, LLVMValueRef a, int64_t b)
{
    return LLVMBuildNSWMul(cg->b, a, tsl_cpu_i64(cg, b), "");
}
static LLVMValueRef add(struct tsl_cpu_cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(cg->b, a, b, "");
}

/* Input range [lo, hi) of dim d whose tap k lands inside the output. */
static void tap_range(const struct ct_geo *g, int d, int64_t k, int64_t *lo, int64_t *hi)
{
    int64_t base = k * g->d[d] - g->pb[d]; /* o = i * s + base */
    *lo = -tsl_cpu_floor_div(base, g->s[d]);       /* ceil(-base / s) */
    *hi = -tsl_cpu_floor_div(base - g->out[d], g->s[d]);
    if (*lo < 0)
        *lo = 0;
    if (*hi > g->in[d])
        *hi = g->in[d];
}

/* y[m][o] += col[m][i] for tap (k0, k1, k2) of one image and group. */
static void emit_col2im_tap(struct tsl_cpu_cg *cg, const struct ct_geo *g, LLVMValueRef col,
                            LLVMValueRef yg, const int64_t *k, int64_t tap)
{
    int64_t lo[3], hi[3], osz = g->out[0] * g->out[1] * g->out[2];
    int64_t isz = g->in[0] * g->in[1] * g->in[2], ksz = g->k[0] * g->k[1] * g->k[2];
    for (int d = 0; d < 3; d++) {
        tap_range(g, d, k[d], &lo[d], &hi[d]);
        if (lo[d] >= hi[d])
            return;
    }
    struct tsl_cpu_loop lm, li[3];
    LLVMValueRef vm = tsl_cpu_loop_begin(cg, &lm, 0, g->mg, 1, "m");
    LLVMValueRef cm = tsl_cpu_gep(cg, col, mul(cg, add(cg, mul(cg, vm, ksz), tsl_cpu_i64(cg, tap)), isz));
    LLVMValueRef ym = tsl_cpu_gep(cg, yg, mul(cg, vm, osz));
    LLVMValueRef vi[3];
    for (int d = 0; d < 3; d++)
        vi[d] = tsl_cpu_loop_begin(cg, &li[d], lo[d], hi[d], 1, "i");
    LLVMValueRef o[3];
    for (int d = 0; d < 3; d++)
        o[d] = add(cg, mul(cg, vi[d], g->s[d]), tsl_cpu_i64(cg, k[d] * g->d[d] - g->pb[d]));
    LLVMValueRef yoff = add(cg, mul(cg, add(cg, mul(cg, o[0], g->out[1]), o[1]), g->out[2]), o[2]);
    LLVMValueRef xoff = add(cg, mul(cg, add(cg, mul(cg, vi[0], g->in[1]), vi[1]), g->in[2]), vi[2]);
    tsl_cpu_store(cg, LLVMBuildFAdd(cg->b, tsl_cpu_load(cg, ym, yoff), tsl_cpu_load(cg, cm, xoff), ""),
                  ym, yoff);
    for (int d = 2; d >= 0; d--)
        tsl_cpu_loop_end(cg, &li[d]);
    tsl_cpu_loop_end(cg, &lm);
}

static void emit_bias_fill(struct tsl_cpu_cg *cg, const struct ct_geo *g, LLVMValueRef y,
                           LLVMValueRef bias)
{
    int64_t osz = g->out[0] * g->out[1] * g->out[2];
    struct tsl_cpu_loop l0, l1;
    LLVMValueRef nm = tsl_cpu_loop_begin(cg, &l0, 0, g->N * g->M, 1, "nm");
    LLVMValueRef bv = bias ? tsl_cpu_load(cg, bias, LLVMBuildSRem(cg->b, nm, tsl_cpu_i64(cg, g->M), ""))
                           : tsl_cpu_f32c(cg, 0.0);
    LLVMValueRef yb = tsl_cpu_gep(cg, y, mul(cg, nm, osz));
    LLVMValueRef j = tsl_cpu_loop_begin(cg, &l1, 0, osz, 1, "j");
    tsl_cpu_store(cg, bv, yb, j);
    tsl_cpu_loop_end(cg, &l1);
    tsl_cpu_loop_end(cg, &l0);
}

static void emit_act(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st, const struct ct_geo *g,
                     LLVMValueRef y)
{
    if (tsl_cpu_act_none(&st->act))
        return;
    struct tsl_cpu_loop la;
    int64_t total = g->N * g->M * g->out[0] * g->out[1] * g->out[2];
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &la, 0, total, 1, "a");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, tsl_cpu_load(cg, y, i)), y, i);
    tsl_cpu_loop_end(cg, &la);
}

static enum tsl_status ct_emit_gemm(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                    const struct ct_geo *g)
{
    const struct tsl_node *n = st->node;
    int64_t ksz = g->k[0] * g->k[1] * g->k[2], isz = g->in[0] * g->in[1] * g->in[2];
    int64_t osz = g->out[0] * g->out[1] * g->out[2], Mp = g->mg * ksz;
    /* A of group gi: element (m', c) = w[(gi*cg + c) * Mp + m'] */
    float *w = NULL;
    TSL_TRY(tsl_cpu_const_f32(cg, n->inputs[1], &w));
    int64_t a_off = 0, prev = -1, stride = 0;
    enum tsl_status s = TSL_STATUS_OK;
    for (int64_t gi = 0; gi < g->G && s == TSL_STATUS_OK; gi++) {
        int64_t off;
        s = tsl_cpu_pack_a(cg, w + gi * g->cg * Mp, Mp, g->cg, 1, Mp, 1.0f, &off);
        if (s != TSL_STATUS_OK)
            break;
        if (gi == 0)
            a_off = off;
        else if (gi == 1)
            stride = off - prev;
        else if (off - prev != stride)
            s = tsl_diag_error(cg->diag, TSL_STATUS_INTERNAL, n->name, "packed groups not evenly spaced");
        prev = off;
    }
    free(w);
    TSL_TRY(s);
    LLVMValueRef x, y, bias = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &bias));
    struct tsl_cpu_gemm p = {.M = Mp, .N = isz, .K = g->cg, .alpha = 1.0f, .a_packed = true,
                             .b_rs = isz, .b_cs = 1, .koff_off = -1, .ldc = isz};
    p.b_shared_off = col_bytes(g); /* after the column buffer */
    LLVMValueRef col = tsl_cpu_scratch(cg, 0);
    LLVMValueRef wp = tsl_cpu_weight_ptr(cg, a_off);
    emit_bias_fill(cg, g, y, bias);
    struct tsl_cpu_loop ln, lg;
    LLVMValueRef vn = tsl_cpu_loop_begin(cg, &ln, 0, g->N, 1, "n");
    LLVMValueRef vg = tsl_cpu_loop_begin(cg, &lg, 0, g->G, 1, "g");
    LLVMValueRef xg = tsl_cpu_gep(cg, x, mul(cg, add(cg, mul(cg, vn, g->C), mul(cg, vg, g->cg)), isz));
    LLVMValueRef yg = tsl_cpu_gep(cg, y, mul(cg, add(cg, mul(cg, vn, g->M), mul(cg, vg, g->mg)), osz));
    LLVMValueRef ag = tsl_cpu_gep(cg, wp, mul(cg, vg, stride / 4));
    tsl_cpu_gemm_emit(cg, &p, ag, xg, col, NULL, NULL);
    int64_t k[3], tap = 0;
    for (k[0] = 0; k[0] < g->k[0]; k[0]++)
        for (k[1] = 0; k[1] < g->k[1]; k[1]++)
            for (k[2] = 0; k[2] < g->k[2]; k[2]++, tap++)
                emit_col2im_tap(cg, g, col, yg, k, tap);
    tsl_cpu_loop_end(cg, &lg);
    tsl_cpu_loop_end(cg, &ln);
    emit_act(cg, st, g, y);
    return TSL_STATUS_OK;
}

static enum tsl_status ct_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    struct ct_geo g;
    TSL_TRY(ct_geo(cg, st, &g));
    if (ct_use_gemm(st, &g))
        return ct_emit_gemm(cg, st, &g);
    LLVMValueRef x, w, y, bias = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &w));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &bias));
    int64_t osz = g.out[0] * g.out[1] * g.out[2], isz = g.in[0] * g.in[1] * g.in[2];
    int64_t ksz = g.k[0] * g.k[1] * g.k[2];
    emit_bias_fill(cg, &g, y, bias); /* y = bias (or 0) */
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
    emit_act(cg, st, &g, y);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_conv_transpose = {ct_check, ct_emit, true,
                                                              false, false};
