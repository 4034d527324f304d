/* lower_conv.c - lowering of Conv (1-D and 2-D, NCHW, any stride, dilation,
 * padding, auto_pad and group) with a constant weight.
 *
 * General and grouped convolution is a GEMM per (image, group): A is the
 * weight, packed at compile time into mr-row panels (all groups contiguous),
 * B is the im2col view of the zero-padded image, packed nr columns at a time
 * at run time through a compile-time table koff[k] (k = channel, ky, kx) and
 * the column base (oy*sh*PW + ox*sw); bias and the fused program run in the
 * micro-kernel epilogue, and so does a fused residual Add (step->res, same
 * layout as the output); a squeeze-excite Mul folded by the scheduler
 * (step->pro_x, pro_scale) reads x and scales the packed B rows by se[c].
 * A 1x1/stride-1/unpadded conv reads the input in place.  A 1x1 convolution with a single output position per image
 * (squeeze-excite) is a GEMM over the images with the weight packed as B.
 * Depthwise convolution (group == C == OC) has its own kernel: per
 * channel the zero-padded image is split into stride phases so that every
 * tap reads a contiguous run of one flat index over all output rows, taps
 * unrolled with the channel's weights splatted, explicit vectors and
 * llvm.fma (strides above 16 phases keep the older row kernel: one padded
 * plane, taps unrolled, the output row loop left to the loop vectorizer).
 *
 * Not here: blocked NCHWc layouts and Winograd (docs/cpu-backend.md). */
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "lower_ext.h"
#include "tessel/util.h"

struct conv_geo {
    int64_t N, C, H, W, OC, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, PH, PW, G, Cg, Mg;
    bool padded, depthwise;
};

static enum tsl_status conv_geo(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                struct conv_geo *g)
{
    const struct tsl_node *n = st->node;
    const struct tsl_attr_conv *at = &n->attrs.conv;
    memset(g, 0, sizeof *g);
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[1]));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[2]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *ws = &n->inputs[1]->type.shape,
                           *os = &n->outputs[0]->type.shape;
    int r = xs->rank;
    if ((r != 3 && r != 4) || ws->rank != r || os->rank != r)
        return tsl_cpu_unsupported(cg, n, "only 1-D and 2-D convolutions are lowered");
    if (!n->inputs[1]->constant)
        return tsl_cpu_unsupported(cg, n, "the weight must be a constant");
    int sp = r - 2; /* spatial dims */
    g->N = xs->dims[0], g->C = xs->dims[1];
    g->H = sp == 2 ? xs->dims[2] : 1, g->W = xs->dims[r - 1];
    g->OC = os->dims[1], g->OH = sp == 2 ? os->dims[2] : 1, g->OW = os->dims[r - 1];
    g->KH = sp == 2 ? ws->dims[2] : 1, g->KW = ws->dims[r - 1];
    g->G = at->group;
    int64_t s[2] = {1, 1}, d[2] = {1, 1}, pb[4] = {0, 0, 0, 0};
    for (int i = 0; i < sp; i++) {
        if (at->strides.n == (uint32_t)sp)
            s[i] = at->strides.v[i];
        if (at->dilations.n == (uint32_t)sp)
            d[i] = at->dilations.v[i];
        if (at->pads.n == 2u * (uint32_t)sp)
            pb[i] = at->pads.v[i], pb[2 + i] = at->pads.v[sp + i];
    }
    if (sp == 1) { /* move the only spatial dim to W */
        s[1] = s[0], d[1] = d[0], pb[1] = pb[0], pb[3] = pb[2];
        s[0] = d[0] = 1, pb[0] = pb[2] = 0;
    }
    g->sh = s[0], g->sw = s[1], g->dh = d[0], g->dw = d[1];
    if (g->G <= 0 || g->C % g->G || g->OC % g->G || ws->dims[1] != g->C / g->G ||
        ws->dims[0] != g->OC || g->sh <= 0 || g->sw <= 0 || g->dh <= 0 || g->dw <= 0)
        return tsl_cpu_unsupported(cg, n, "inconsistent group/stride/dilation/weight shape");
    int64_t need_h = (g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1;
    int64_t need_w = (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1;
    if (at->auto_pad == TSL_auto_pad_SAME_UPPER || at->auto_pad == TSL_auto_pad_SAME_LOWER) {
        int64_t th = need_h - g->H > 0 ? need_h - g->H : 0;
        int64_t tw = need_w - g->W > 0 ? need_w - g->W : 0;
        bool up = at->auto_pad == TSL_auto_pad_SAME_UPPER;
        pb[0] = up ? th / 2 : th - th / 2;
        pb[1] = up ? tw / 2 : tw - tw / 2;
        pb[2] = th - pb[0];
        pb[3] = tw - pb[1];
    } else if (at->auto_pad == TSL_auto_pad_VALID) {
        memset(pb, 0, sizeof pb);
    }
    for (int i = 0; i < 4; i++)
        if (pb[i] < 0)
            return tsl_cpu_unsupported(cg, n, "negative padding");
    g->pt = pb[0], g->pl = pb[1];
    g->PH = g->H + pb[0] + pb[2];
    g->PW = g->W + pb[1] + pb[3];
    if (g->PH < need_h)
        g->PH = need_h;
    if (g->PW < need_w)
        g->PW = need_w;
    g->padded = g->PH != g->H || g->PW != g->W || g->pt || g->pl;
    g->Cg = g->C / g->G;
    g->Mg = g->OC / g->G;
    g->depthwise = g->G == g->C && g->OC == g->C && g->G > 1;
    int64_t plane;
    if (!tsl_mul_i64(g->PH, g->PW, &plane) || !tsl_mul_i64(plane, g->Cg, &plane) ||
        plane > INT32_MAX)
        return tsl_cpu_unsupported(cg, n, "padded image too large");
    if (g->depthwise && g->KH * g->KW > 256)
        return tsl_cpu_unsupported(cg, n, "depthwise kernel larger than 256 taps");
    return TSL_STATUS_OK;
}

/* The phase-split depthwise kernel (emit_depthwise_flat): the padded plane
 * P is split into sh x sw phase planes Q[a][b][i][j] = P[a + sh*i][b + sw*j]
 * of width QW = OW + ((KW-1)*dw)/sw, so output (oh, ow) at flat index
 * q = oh*QW + ow reads Q[(ky*dh)%sh][(kx*dw)%sw][q + ((ky*dh)/sh)*QW +
 * (kx*dw)/sw]: every tap is a contiguous run over q, whatever the stride.
 * plane: floats per phase (the flat range rounded up to the vector width
 * plus the largest tap offset, so vector reads stay inside); ext: the flat
 * result, OH x QW rounded up. */
struct dw_geo {
    int64_t QW, plane, ext, nph, max_off;
};

static bool dw_flat_geo(const struct tsl_cpu_cg *cg, const struct conv_geo *g, struct dw_geo *d)
{
    int64_t vw = cg->tgt->vw;
    d->nph = g->sh * g->sw;
    d->QW = g->OW + ((g->KW - 1) * g->dw) / g->sw;
    d->max_off = (((g->KH - 1) * g->dh) / g->sh) * d->QW + ((g->KW - 1) * g->dw) / g->sw;
    d->ext = (g->OH * d->QW + vw - 1) / vw * vw;
    d->plane = d->ext + d->max_off;
    /* bounded work per channel; very large strides keep the row kernel */
    return d->nph <= 16 && d->nph * d->plane + d->ext < ((int64_t)1 << 26);
}

static int64_t align64(int64_t x)
{
    return (x + TSL_CPU_ALIGN - 1) / TSL_CPU_ALIGN * TSL_CPU_ALIGN;
}

/* A 1x1 convolution with one output position per image (squeeze-excite's
 * FC layers on a [N, C, 1, 1] pooled input): a GEMM with the images as
 * rows, y[n][oc] = sum_c x[n][c] W[oc][c], the weight packed as B at
 * compile time so every weight is read once, in order, with vector loads
 * over the output channels (instead of OC/mr row tiles of a 1-column
 * panel). */
static bool conv_is_gemv(const struct conv_geo *g)
{
    return g->G == 1 && g->KH == 1 && g->KW == 1 && g->OH * g->OW == 1 && !g->padded;
}

static enum tsl_status emit_gemv_conv(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                      const struct conv_geo *g)
{
    const struct tsl_node *n = st->node;
    float *w = NULL;
    int64_t b_off;
    TSL_TRY(tsl_cpu_const_f32(cg, n->inputs[1], &w));
    enum tsl_status s = tsl_cpu_pack_b(cg, w, g->C, g->OC, 1, g->C, 1.0f, &b_off);
    free(w);
    TSL_TRY(s);
    struct tsl_cpu_gemm p = {.M = g->N, .N = g->OC, .K = g->C, .alpha = 1.0f,
                             .a_rs = g->C * g->H * g->W, .a_cs = g->H * g->W, .b_packed = true,
                             .koff_off = -1, .ldc = g->OC, .bias_rs = 0, .bias_cs = 1,
                             .act = st->act};
    LLVMValueRef x, y, bias = NULL, res = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    if (st->res) {
        p.has_res = true;
        TSL_TRY(tsl_cpu_ptr(cg, st->res, &res));
    }
    if (n->n_inputs > 2 && n->inputs[2]) {
        p.has_bias = true;
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &bias));
    }
    tsl_cpu_gemm_emit(cg, &p, x, tsl_cpu_weight_ptr(cg, b_off), y, bias, res);
    return TSL_STATUS_OK;
}

static enum tsl_status conv_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct conv_geo g;
    TSL_TRY(conv_geo(cg, st, &g));
    struct dw_geo d;
    if (st->pro_x && (conv_is_gemv(&g) || g.depthwise))
        return tsl_cpu_unsupported(cg, st->node, "a folded input scale needs the GEMM path");
    if (conv_is_gemv(&g)) {
        st->scratch_bytes = 0;
    } else if (g.depthwise && dw_flat_geo(cg, &g, &d)) {
        st->thread_scratch_bytes = (d.nph * d.plane + d.ext) * 4; /* per thread */
    } else if (g.depthwise) {
        st->thread_scratch_bytes = g.padded ? g.PH * g.PW * 4 : 0; /* one padded plane */
    } else {
        /* shared: the padded image, then B packed once when threads share
         * panels; per thread: a B panel block otherwise */
        struct tsl_cpu_gemm p = {.M = g.Mg, .N = g.OH * g.OW, .K = g.Cg * g.KH * g.KW,
                                 .batch = g.G};
        int64_t shared_b = tsl_cpu_gemm_shared_scratch(cg, &p);
        st->scratch_bytes = (g.padded ? align64(g.C * g.PH * g.PW * 4) : 0) + shared_b;
        st->thread_scratch_bytes = tsl_cpu_gemm_scratch(cg, &p);
    }
    return TSL_STATUS_OK;
}

/* Zero one padded plane dst (PH x PW) and copy the src plane's rows into
 * its interior. */
static void emit_pad(struct tsl_cpu_cg *cg, const struct conv_geo *g, LLVMValueRef src,
                     LLVMValueRef dst)
{
    LLVMValueRef d8 = LLVMBuildBitCast(cg->b, dst, cg->t_pi8, "");
    LLVMBuildMemSet(cg->b, d8, LLVMConstInt(cg->t_i8, 0, 0), tsl_cpu_i64(cg, g->PH * g->PW * 4),
                    4);
    struct tsl_cpu_loop lh;
    LLVMValueRef h = tsl_cpu_loop_begin(cg, &lh, 0, g->H, 1, "ph");
    LLVMValueRef so = LLVMBuildNSWMul(cg->b, h, tsl_cpu_i64(cg, g->W), "");
    LLVMValueRef dh = LLVMBuildNSWAdd(cg->b, h, tsl_cpu_i64(cg, g->pt), "");
    LLVMValueRef dof = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, dh, tsl_cpu_i64(cg, g->PW), ""),
                                       tsl_cpu_i64(cg, g->pl), "");
    tsl_cpu_copy_floats(cg, tsl_cpu_gep(cg, dst, dof), tsl_cpu_gep(cg, src, so), g->W);
    tsl_cpu_loop_end(cg, &lh);
}

static enum tsl_status emit_gemm_conv(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                      const struct conv_geo *g)
{
    const struct tsl_node *n = st->node;
    const int64_t mr = cg->tgt->mr, K = g->Cg * g->KH * g->KW;
    /* packed weights, all groups, uniform panel size */
    int64_t per_group = (g->Mg + mr - 1) / mr * mr * K;
    float *w = NULL;
    TSL_TRY(tsl_cpu_const_f32(cg, n->inputs[1], &w));
    float *pk = calloc((size_t)(per_group * g->G + 1), sizeof *pk);
    int32_t *koff = malloc((size_t)(K + 1) * sizeof *koff);
    if (!pk || !koff) {
        free(w);
        free(pk);
        free(koff);
        return tsl_diag_error(cg->diag, TSL_STATUS_NOMEM, n->name, "packing conv weights");
    }
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t m = 0; m < g->Mg; m++)
            for (int64_t k = 0; k < K; k++)
                pk[gi * per_group + tsl_cpu_packed_index(K, m, k, mr, (g->Mg + mr - 1) / mr * mr)] =
                    w[(gi * g->Mg + m) * K + k];
    for (int64_t c = 0, k = 0; c < g->Cg; c++)
        for (int64_t y = 0; y < g->KH; y++)
            for (int64_t x = 0; x < g->KW; x++, k++)
                koff[k] = (int32_t)(c * g->PH * g->PW + y * g->dh * g->PW + x * g->dw);
    int64_t w_off = 0, k_off = 0;
    enum tsl_status s = tsl_cpu_blob_add(cg, pk, (size_t)(per_group * g->G) * 4, &w_off);
    if (s == TSL_STATUS_OK)
        s = tsl_cpu_blob_add(cg, koff, (size_t)K * 4, &k_off);
    free(w);
    free(pk);
    free(koff);
    TSL_TRY(s);

    struct tsl_cpu_gemm p = {
        .M = g->Mg, .N = g->OH * g->OW, .K = K, .alpha = 1.0f, .a_packed = true,
        .koff_off = k_off, .conv_ow = g->OW, .conv_sh = g->sh, .conv_sw = g->sw,
        .conv_pw = g->PW, .ldc = g->OH * g->OW, .bias_rs = 1, .bias_cs = 0, .act = st->act};
    LLVMValueRef x, y, bias = NULL, res = NULL, scale = NULL;
    /* a folded squeeze-excite Mul: read x, scale B rows by se[channel] */
    TSL_TRY(tsl_cpu_ptr(cg, st->pro_x ? st->pro_x : n->inputs[0], &x));
    if (st->pro_scale)
        TSL_TRY(tsl_cpu_ptr(cg, st->pro_scale, &scale));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    if (st->res) {
        p.has_res = true;
        TSL_TRY(tsl_cpu_ptr(cg, st->res, &res));
    }
    if (n->n_inputs > 2 && n->inputs[2]) {
        p.has_bias = true;
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &bias));
    }
    LLVMValueRef wp = tsl_cpu_weight_ptr(cg, w_off);
    p.batch = g->G; /* the groups are independent GEMMs of one region */
    p.a_bs = per_group;
    p.b_bs = g->Cg * g->PH * g->PW;
    p.c_bs = g->Mg * g->OH * g->OW;
    p.bias_bs = g->Mg;
    p.res_bs = g->Mg * g->OH * g->OW;
    p.b_shared_off = g->padded ? align64(g->C * g->PH * g->PW * 4) : 0; /* after the image */

    struct tsl_cpu_loop lb;
    LLVMValueRef b = tsl_cpu_loop_begin(cg, &lb, 0, g->N, 1, "img");
    LLVMValueRef xi = tsl_cpu_gep(cg, x, LLVMBuildNSWMul(cg->b, b, tsl_cpu_i64(cg, g->C * g->H * g->W), ""));
    LLVMValueRef yi = tsl_cpu_gep(cg, y, LLVMBuildNSWMul(cg->b, b, tsl_cpu_i64(cg, g->OC * g->OH * g->OW), ""));
    LLVMValueRef src = xi;
    if (scale) { /* se is [N, C, 1, 1]; the scheduler only folds group-1 convs */
        p.b_scale = tsl_cpu_gep(cg, scale, LLVMBuildNSWMul(cg->b, b, tsl_cpu_i64(cg, g->C), ""));
        p.b_scale_div = g->KH * g->KW;
    }
    if (g->padded) {
        /* one region pads the image's channels into the shared scratch, the
         * next (after the barrier) runs the GEMMs on it */
        struct tsl_cpu_par par;
        tsl_cpu_par_open(cg, &par, g->C, (double)(g->C * g->PH * g->PW) / 2.0, &xi, 1);
        LLVMValueRef c = tsl_cpu_par_loop(cg, &par);
        emit_pad(cg, g, tsl_cpu_gep(cg, par.vals[0], LLVMBuildNSWMul(cg->b, c, tsl_cpu_i64(cg, g->H * g->W), "")),
                 tsl_cpu_gep(cg, tsl_cpu_scratch(cg, 0), LLVMBuildNSWMul(cg->b, c, tsl_cpu_i64(cg, g->PH * g->PW), "")));
        tsl_cpu_par_close(cg, &par);
        src = tsl_cpu_scratch(cg, 0);
    }
    LLVMValueRef ri = NULL;
    if (p.has_res)
        ri = tsl_cpu_gep(cg, res, LLVMBuildNSWMul(cg->b, b, tsl_cpu_i64(cg, g->OC * g->OH * g->OW), ""));
    tsl_cpu_gemm_emit(cg, &p, wp, src, yi, bias, ri);
    tsl_cpu_loop_end(cg, &lb);
    return TSL_STATUS_OK;
}

/* One (image, channel) plane of a depthwise convolution, inside the
 * region over all N x C planes. */
struct dw_plane {
    struct tsl_cpu_par par;
    LLVMValueRef c;          /* channel */
    LLVMValueRef xc, yc, rc; /* input, output and residual (or NULL) planes */
    LLVMValueRef wc, bias;   /* the channel's KH*KW weights; bias (or NULL) */
};

/* Open the region over the planes (each thread works in its own scratch),
 * bind the operands inside it and start the plane loop; the caller emits
 * the plane and closes p->par. */
static enum tsl_status dw_begin(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                const struct conv_geo *g, struct dw_plane *p)
{
    const struct tsl_node *n = st->node;
    const int64_t T = g->KH * g->KW;
    tsl_cpu_par_open(cg, &p->par, g->N * g->C,
                     2.0 * (double)(T * g->N * g->C * g->OH * g->OW) / 8.0, NULL, 0);
    LLVMValueRef x, y, w, res = NULL;
    p->bias = NULL;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[1], &w));
    if (st->res)
        TSL_TRY(tsl_cpu_ptr(cg, st->res, &res));
    if (n->n_inputs > 2 && n->inputs[2])
        TSL_TRY(tsl_cpu_ptr(cg, n->inputs[2], &p->bias));
    LLVMValueRef bc = tsl_cpu_par_loop(cg, &p->par); /* b * C + c */
    LLVMValueRef out_off = LLVMBuildNSWMul(cg->b, bc, tsl_cpu_i64(cg, g->OH * g->OW), "");
    p->c = LLVMBuildURem(cg->b, bc, tsl_cpu_i64(cg, g->C), "");
    p->xc = tsl_cpu_gep(cg, x, LLVMBuildNSWMul(cg->b, bc, tsl_cpu_i64(cg, g->H * g->W), ""));
    p->yc = tsl_cpu_gep(cg, y, out_off);
    p->rc = res ? tsl_cpu_gep(cg, res, out_off) : NULL;
    p->wc = tsl_cpu_gep(cg, w, LLVMBuildNSWMul(cg->b, p->c, tsl_cpu_i64(cg, T), ""));
    return TSL_STATUS_OK;
}

static enum tsl_status emit_depthwise(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                      const struct conv_geo *g)
{
    const int64_t T = g->KH * g->KW;
    struct dw_plane dp; /* each thread pads into its own plane of scratch */
    TSL_TRY(dw_begin(cg, st, g, &dp));
    LLVMValueRef c = dp.c, yc = dp.yc, rc = dp.rc, wc = dp.wc, bias = dp.bias;
    struct tsl_cpu_loop lh, lw;
    LLVMValueRef plane = dp.xc;
    if (g->padded) {
        plane = tsl_cpu_thread_scratch(cg, 0);
        emit_pad(cg, g, dp.xc, plane);
    }
    LLVMValueRef taps[256];
    for (int64_t t = 0; t < T; t++)
        taps[t] = tsl_cpu_load(cg, wc, tsl_cpu_i64(cg, t));
    LLVMValueRef b0 = bias ? tsl_cpu_load(cg, bias, c) : tsl_cpu_f32c(cg, 0.0);
    LLVMValueRef oh = tsl_cpu_loop_begin(cg, &lh, 0, g->OH, 1, "oh");
    LLVMValueRef row = tsl_cpu_gep(cg, plane, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->sh * g->PW), ""));
    LLVMValueRef orow = tsl_cpu_gep(cg, yc, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->OW), ""));
    LLVMValueRef ow = tsl_cpu_loop_begin(cg, &lw, 0, g->OW, 1, "ow");
    LLVMValueRef base = LLVMBuildNSWMul(cg->b, ow, tsl_cpu_i64(cg, g->sw), "");
    LLVMValueRef acc = b0;
    for (int64_t ky = 0, t = 0; ky < g->KH; ky++)
        for (int64_t kx = 0; kx < g->KW; kx++, t++) {
            LLVMValueRef idx = LLVMBuildNSWAdd(cg->b, base, tsl_cpu_i64(cg, ky * g->dh * g->PW + kx * g->dw), "");
            LLVMValueRef args[3] = {taps[t], tsl_cpu_load(cg, row, idx), acc};
            acc = tsl_cpu_intrinsic(cg, "llvm.fmuladd", cg->t_f32, args, 3);
        }
    if (rc) {
        LLVMValueRef ro = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->OW), ""), ow, "");
        acc = LLVMBuildFAdd(cg->b, acc, tsl_cpu_load(cg, rc, ro), "");
    }
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, acc), orow, ow);
    tsl_cpu_loop_end(cg, &lw);
    tsl_cpu_loop_end(cg, &lh);
    tsl_cpu_par_close(cg, &dp.par);
    return TSL_STATUS_OK;
}

static LLVMValueRef dw_splat(struct tsl_cpu_cg *cg, LLVMValueRef s)
{
    LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(cg->t_vec), s,
                                            LLVMConstInt(cg->t_i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(cg->t_i32, (unsigned)cg->tgt->vw));
    return LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(cg->t_vec), mask, "");
}

static LLVMValueRef dw_vptr(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    return LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, idx), LLVMPointerType(cg->t_vec, 0), "");
}

/* n zero floats at p[at] (nothing for n <= 0). */
/* Depthwise convolution over phase planes: per channel, fill the phases,
 * compute the flat OH x QW result with explicit vectors (one accumulator,
 * taps unrolled with their weights splatted once per channel, llvm.fma),
 * then copy the OW valid columns of every row out through the residual and
 * the fused epilogue. */
static enum tsl_status emit_depthwise_flat(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                           const struct conv_geo *g, const struct dw_geo *d)
{
    const int64_t T = g->KH * g->KW, vw = cg->tgt->vw;
    struct dw_plane dp; /* each thread fills its own phase planes and flat result */
    TSL_TRY(dw_begin(cg, st, g, &dp));
    LLVMValueRef c = dp.c, yc = dp.yc, rc = dp.rc, wc = dp.wc, bias = dp.bias;
    LLVMValueRef ph = tsl_cpu_thread_scratch(cg, 0);
    LLVMValueRef ext = tsl_cpu_thread_scratch(cg, d->nph * d->plane * 4);
    struct tsl_cpu_loop lq, lh, lw;
    /* zeros around the image (only there: the interior is written once) */
    tsl_cpu_fill_phases(cg, dp.xc, ph, g->H, g->W, g->pt, g->pl, g->sh, g->sw, d->QW, d->plane,
                        0.0f);
    LLVMValueRef taps[256], tap_p[256];
    for (int64_t ky = 0, t = 0; ky < g->KH; ky++)
        for (int64_t kx = 0; kx < g->KW; kx++, t++) {
            int64_t oy = ky * g->dh, ox = kx * g->dw;
            int64_t phase = (oy % g->sh) * g->sw + ox % g->sw;
            int64_t off = phase * d->plane + (oy / g->sh) * d->QW + ox / g->sw;
            taps[t] = dw_splat(cg, tsl_cpu_load(cg, wc, tsl_cpu_i64(cg, t)));
            tap_p[t] = tsl_cpu_gep(cg, ph, tsl_cpu_i64(cg, off));
        }
    LLVMValueRef b0 = dw_splat(cg, bias ? tsl_cpu_load(cg, bias, c) : tsl_cpu_f32c(cg, 0.0));
    LLVMValueRef q = tsl_cpu_loop_begin(cg, &lq, 0, d->ext, vw, "q");
    LLVMValueRef acc = b0;
    for (int64_t t = 0; t < T; t++) {
        LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_vec, dw_vptr(cg, tap_p[t], q), "");
        LLVMSetAlignment(v, 4);
        LLVMValueRef args[3] = {taps[t], v, acc};
        acc = tsl_cpu_intrinsic(cg, "llvm.fma", cg->t_vec, args, 3);
    }
    LLVMValueRef sv = LLVMBuildStore(cg->b, acc, dw_vptr(cg, ext, q));
    LLVMSetAlignment(sv, 4);
    tsl_cpu_loop_end(cg, &lq);
    LLVMValueRef oh = tsl_cpu_loop_begin(cg, &lh, 0, g->OH, 1, "oh");
    LLVMValueRef erow = tsl_cpu_gep(cg, ext, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, d->QW), ""));
    LLVMValueRef ro = LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->OW), "");
    LLVMValueRef orow = tsl_cpu_gep(cg, yc, ro);
    LLVMValueRef rrow = rc ? tsl_cpu_gep(cg, rc, ro) : NULL;
    LLVMValueRef ow = tsl_cpu_loop_begin(cg, &lw, 0, g->OW, 1, "ow");
    LLVMValueRef v = tsl_cpu_load(cg, erow, ow);
    if (rrow)
        v = LLVMBuildFAdd(cg->b, v, tsl_cpu_load(cg, rrow, ow), "");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, v), orow, ow);
    tsl_cpu_loop_end(cg, &lw);
    tsl_cpu_loop_end(cg, &lh);
    tsl_cpu_par_close(cg, &dp.par);
    return TSL_STATUS_OK;
}

static enum tsl_status conv_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct conv_geo g;
    TSL_TRY(conv_geo(cg, st, &g));
    struct dw_geo d;
    if (conv_is_gemv(&g))
        return emit_gemv_conv(cg, st, &g);
    if (g.depthwise && dw_flat_geo(cg, &g, &d))
        return emit_depthwise_flat(cg, st, &g, &d);
    return g.depthwise ? emit_depthwise(cg, st, &g) : emit_gemm_conv(cg, st, &g);
}

const struct tsl_cpu_lowering tsl_cpu_lower_conv = {conv_check, conv_emit, true, false, false};
