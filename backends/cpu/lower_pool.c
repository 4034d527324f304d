/* lower_pool.c - lowerings of windowed and whole-plane reductions: MaxPool
 * and AveragePool (1-D to 3-D, NCHW / NCDHW, strides, pads, dilations, auto_pad; the output
 * size, ceil_mode included, comes from shape inference), GlobalAveragePool /
 * GlobalMaxPool, and Softmax / LogSoftmax along one axis (max-subtracted).
 *
 * f32 MaxPool in 1-D or 2-D with at most 16 stride phases runs the
 * phase-split kernel (the depthwise convolution's layout, lower_conv.c):
 * the -inf padded plane split by stride phase so every tap is one
 * contiguous vector read, taps folded with the reference's NaN rule.
 * The other cases (AveragePool, 3-D) unroll window taps with a validity
 * mask instead of branches; the count of AveragePool follows
 * count_include_pad.  Pooling planes are split over threads (par.c);
 * Softmax runs on the caller.  MaxPool's Indices output is not lowered. */
#include <math.h>
#include <string.h>

#include "lower_ext.h"

/* A float slot in the function's entry block (promoted to a register by
 * SROA), initialised at the current point. */
static LLVMValueRef slot(struct tsl_cpu_cg *cg, LLVMValueRef init)
{
    LLVMValueRef a = tsl_cpu_entry_alloca(cg, cg->t_f32, "acc");
    LLVMBuildStore(cg->b, init, a);
    return a;
}

static LLVMValueRef get(struct tsl_cpu_cg *cg, LLVMValueRef s)
{
    return LLVMBuildLoad2(cg->b, cg->t_f32, s, "");
}

struct pool_geo {
    int64_t NC, H, W, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
    int64_t D, OD, KD, sd, dd, pf, pk; /* depth (3-D pooling; 1 and 0 otherwise) */
};

static enum tsl_status pool_geo(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                struct pool_geo *g)
{
    const struct tsl_node *n = st->node;
    const struct tsl_attr_pool *at = &n->attrs.pool;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *os = &st->out->type.shape;
    /* 1-D pooling ([N, C, W]) is 2-D pooling with H = KH = 1; 2-D is 3-D
     * with D = KD = 1 */
    bool one = xs->rank == 3 && os->rank == 3 && at->kernel_shape.n == 1;
    bool three = xs->rank == 5 && os->rank == 5 && at->kernel_shape.n == 3;
    if (!one && !three && (xs->rank != 4 || os->rank != 4 || at->kernel_shape.n != 2))
        return tsl_cpu_unsupported(cg, n, "only 1-D to 3-D pooling is lowered");
    memset(g, 0, sizeof *g);
    g->NC = xs->dims[0] * xs->dims[1];
    g->D = g->OD = g->KD = g->sd = g->dd = 1;
    if (three) {
        g->D = xs->dims[2], g->H = xs->dims[3], g->W = xs->dims[4];
        g->OD = os->dims[2], g->OH = os->dims[3], g->OW = os->dims[4];
        g->KD = at->kernel_shape.v[0], g->KH = at->kernel_shape.v[1];
        g->KW = at->kernel_shape.v[2];
        int64_t *sv[3] = {&g->sd, &g->sh, &g->sw}, *dv[3] = {&g->dd, &g->dh, &g->dw};
        int64_t *pv[6] = {&g->pf, &g->pt, &g->pl, &g->pk, &g->pb, &g->pr};
        for (int i = 0; i < 3; i++) {
            *sv[i] = at->strides.n == 3 ? at->strides.v[i] : 1;
            *dv[i] = at->dilations.n == 3 ? at->dilations.v[i] : 1;
        }
        for (int i = 0; i < 6 && at->pads.n == 6; i++)
            *pv[i] = at->pads.v[i];
    } else if (one) {
        g->H = g->OH = g->KH = g->sh = g->dh = 1;
        g->W = xs->dims[2], g->OW = os->dims[2], g->KW = at->kernel_shape.v[0];
        g->sw = at->strides.n == 1 ? at->strides.v[0] : 1;
        g->dw = at->dilations.n == 1 ? at->dilations.v[0] : 1;
        if (at->pads.n == 2)
            g->pl = at->pads.v[0], g->pr = at->pads.v[1];
    } else {
        g->H = xs->dims[2], g->W = xs->dims[3], g->OH = os->dims[2], g->OW = os->dims[3];
        g->KH = at->kernel_shape.v[0], g->KW = at->kernel_shape.v[1];
        g->sh = at->strides.n == 2 ? at->strides.v[0] : 1;
        g->sw = at->strides.n == 2 ? at->strides.v[1] : 1;
        g->dh = at->dilations.n == 2 ? at->dilations.v[0] : 1;
        g->dw = at->dilations.n == 2 ? at->dilations.v[1] : 1;
        if (at->pads.n == 4)
            g->pt = at->pads.v[0], g->pl = at->pads.v[1], g->pb = at->pads.v[2],
            g->pr = at->pads.v[3];
    }
    if (at->auto_pad == TSL_auto_pad_SAME_UPPER || at->auto_pad == TSL_auto_pad_SAME_LOWER) {
        int64_t th = (g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1 - g->H;
        int64_t tw = (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1 - g->W;
        th = th > 0 ? th : 0, tw = tw > 0 ? tw : 0;
        int64_t td = (g->OD - 1) * g->sd + (g->KD - 1) * g->dd + 1 - g->D;
        td = td > 0 ? td : 0;
        bool up = at->auto_pad == TSL_auto_pad_SAME_UPPER;
        g->pt = up ? th / 2 : th - th / 2, g->pl = up ? tw / 2 : tw - tw / 2;
        g->pb = th - g->pt, g->pr = tw - g->pl;
        g->pf = up ? td / 2 : td - td / 2, g->pk = td - g->pf;
    } else if (at->auto_pad == TSL_auto_pad_VALID) {
        g->pt = g->pl = g->pb = g->pr = g->pf = g->pk = 0;
    }
    if (g->KH <= 0 || g->KW <= 0 || g->KD <= 0 || g->KD * g->KH * g->KW > 1024 ||
        g->sh <= 0 || g->sw <= 0 || g->sd <= 0 || g->dh <= 0 || g->dw <= 0 || g->dd <= 0 ||
        os->dims[0] * os->dims[1] != g->NC)
        return tsl_cpu_unsupported(cg, n, "kernel, strides or dilations out of range");
    return TSL_STATUS_OK;
}

/* The phase-split MaxPool kernel (emit_maxpool_flat), the depthwise
 * convolution's layout (lower_conv.c): the -inf padded plane P is split
 * into sh x sw phase planes Q[a][b][i][j] = P[a + sh*i][b + sw*j] of width
 * QW = OW + ((KW-1)*dw)/sw, so output (oh, ow) at flat index q = oh*QW + ow
 * reads tap (ky, kx) at Q[(ky*dh)%sh][(kx*dw)%sw][q + ((ky*dh)/sh)*QW +
 * (kx*dw)/sw]: every tap is a contiguous run over q.  plane: floats per
 * phase (the flat range rounded up to the vector width plus the largest tap
 * offset); fill: the phases' floats rounded up to the vector width (the
 * -inf fill is whole vectors); ext: the flat result, OH x QW rounded up. */
struct mp_geo {
    int64_t QW, plane, fill, ext, nph;
};

/* False when the kernel does not apply (not MaxPool, 3-D, more than 16
 * phases or a very large plane): the tap loop handles those. */
static bool mp_flat_geo(const struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                        const struct pool_geo *g, struct mp_geo *d)
{
    int64_t vw = cg->tgt->vw;
    if (st->node->op != TSL_OP_MAX_POOL || g->D != 1 || g->KD != 1 || g->sh > 16 || g->sw > 16 ||
        g->sh * g->sw > 16 ||
        g->OH <= 0 || g->OW <= 0 || g->OH > ((int64_t)1 << 20) || g->OW > ((int64_t)1 << 20) ||
        g->dh > ((int64_t)1 << 20) || g->dw > ((int64_t)1 << 20))
        return false; /* the bounds keep the offsets below in range */
    d->nph = g->sh * g->sw;
    d->QW = g->OW + ((g->KW - 1) * g->dw) / g->sw;
    int64_t max_off = (((g->KH - 1) * g->dh) / g->sh) * d->QW + ((g->KW - 1) * g->dw) / g->sw;
    if (d->QW > ((int64_t)1 << 22) || max_off > ((int64_t)1 << 26))
        return false;
    d->ext = (g->OH * d->QW + vw - 1) / vw * vw;
    d->plane = d->ext + max_off;
    d->fill = (d->nph * d->plane + vw - 1) / vw * vw;
    return d->fill + d->ext < ((int64_t)1 << 26);
}

static enum tsl_status pool_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct pool_geo g;
    struct mp_geo d;
    TSL_TRY(pool_geo(cg, st, &g));
    /* the flat result only for rows narrower than a vector */
    if (mp_flat_geo(cg, st, &g, &d))
        st->thread_scratch_bytes = (d.fill + (g.OW >= cg->tgt->vw ? 0 : d.ext)) * 4;
    else
        st->thread_scratch_bytes = 0;
    return TSL_STATUS_OK;
}

/* lo <= v < hi on i64 */
static LLVMValueRef in_range(struct tsl_cpu_cg *cg, LLVMValueRef v, int64_t lo, int64_t hi)
{
    return LLVMBuildAnd(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGE, v, tsl_cpu_i64(cg, lo), ""),
                        LLVMBuildICmp(cg->b, LLVMIntSLT, v, tsl_cpu_i64(cg, hi), ""), "");
}

/* The reference's MaxPool step, acc = v if v > acc or v is NaN: the
 * result is the last NaN in tap order, else the first maximal tap (the
 * sign of a zero maximum included).  Scalars or vectors. */
static LLVMValueRef max_takes(struct tsl_cpu_cg *cg, LLVMValueRef v, LLVMValueRef acc)
{
    return LLVMBuildOr(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, v, acc, ""),
                       LLVMBuildFCmp(cg->b, LLVMRealUNO, v, v, ""), "");
}

static LLVMValueRef mp_vptr(struct tsl_cpu_cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    return LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, p, idx), LLVMPointerType(cg->t_vec, 0), "");
}

/* The taps' vectors at flat index q folded in tap order.  The fast fold
 * is select(v > acc, v, acc) alone (one max instruction: the first maximal
 * tap wins, as in the reference, while no NaN is involved); unordered
 * compares of tap pairs flag a NaN in any lane, and only then is the
 * vector folded again with the full rule (max_takes). */
static LLVMValueRef mp_taps(struct tsl_cpu_cg *cg, const LLVMValueRef *tap_p, int64_t T,
                            LLVMValueRef q)
{
    LLVMValueRef v[1024] = {NULL};
    for (int64_t t = 0; t < T; t++) {
        v[t] = LLVMBuildLoad2(cg->b, cg->t_vec, mp_vptr(cg, tap_p[t], q), "");
        LLVMSetAlignment(v[t], 4);
    }
    if (T == 1)
        return v[0];
    /* the first tap against the initial -inf is the tap itself */
    LLVMValueRef acc = v[0], nan = NULL;
    for (int64_t t = 1; t < T; t++)
        acc = LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, v[t], acc, ""), v[t], acc, "");
    for (int64_t t = 0; t < T; t += 2) {
        LLVMValueRef u = LLVMBuildFCmp(cg->b, LLVMRealUNO, v[t], v[t + 1 < T ? t + 1 : t], "");
        nan = nan ? LLVMBuildOr(cg->b, nan, u, "") : u;
    }
    LLVMTypeRef bits = LLVMIntTypeInContext(cg->ctx, (unsigned)cg->tgt->vw);
    LLVMValueRef any = LLVMBuildICmp(cg->b, LLVMIntNE, LLVMBuildBitCast(cg->b, nan, bits, ""),
                                     LLVMConstNull(bits), "");
    LLVMValueRef res = tsl_cpu_entry_alloca(cg, cg->t_vec, "mpacc");
    LLVMBuildStore(cg->b, acc, res);
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "mpnan");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "");
    LLVMBuildCondBr(cg->b, any, slow, done);
    LLVMPositionBuilderAtEnd(cg->b, slow);
    acc = v[0];
    for (int64_t t = 1; t < T; t++)
        acc = LLVMBuildSelect(cg->b, max_takes(cg, v[t], acc), v[t], acc, "");
    LLVMBuildStore(cg->b, acc, res);
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, done);
    return LLVMBuildLoad2(cg->b, cg->t_vec, res, "");
}

/* MaxPool over phase planes: per plane (one region over all planes, each
 * thread in its own scratch), fill the phases, compute the flat OH x QW
 * result with explicit vectors (taps unrolled in the reference's order,
 * fcmp + select per tap).  Rows of at least vw outputs are computed
 * vector by vector straight into the output through the fused epilogue;
 * narrower planes go through the flat OH x QW result, whose OW valid
 * columns of every row are then copied out. */
static enum tsl_status emit_maxpool_flat(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                         const struct pool_geo *g, const struct mp_geo *d)
{
    const struct tsl_node *n = st->node;
    const int64_t vw = cg->tgt->vw, T = g->KH * g->KW;
    struct tsl_cpu_par par;
    tsl_cpu_par_open(cg, &par, g->NC, (double)(g->NC * g->OH * g->OW * T) / 2.0, NULL, 0);
    LLVMValueRef x, y;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    LLVMValueRef p = tsl_cpu_par_loop(cg, &par);
    LLVMValueRef xc = tsl_cpu_gep(cg, x, LLVMBuildNSWMul(cg->b, p, tsl_cpu_i64(cg, g->H * g->W), ""));
    LLVMValueRef yc = tsl_cpu_gep(cg, y, LLVMBuildNSWMul(cg->b, p, tsl_cpu_i64(cg, g->OH * g->OW), ""));
    LLVMValueRef ph = tsl_cpu_thread_scratch(cg, 0);
    LLVMValueRef ext = tsl_cpu_thread_scratch(cg, d->fill * 4);
    /* -inf around the input (padding and the rows/columns past it that
     * ceil_mode windows reach; the reference skips those taps, and -inf
     * never wins its step) */
    tsl_cpu_fill_phases(cg, xc, ph, g->H, g->W, g->pt, g->pl, g->sh, g->sw, d->QW, d->plane,
                        -INFINITY);
    LLVMValueRef tap_p[1024];
    for (int64_t ky = 0, t = 0; ky < g->KH; ky++)
        for (int64_t kx = 0; kx < g->KW; kx++, t++) {
            int64_t oy = ky * g->dh, ox = kx * g->dw;
            int64_t phase = (oy % g->sh) * g->sw + ox % g->sw;
            int64_t off = phase * d->plane + (oy / g->sh) * d->QW + ox / g->sw;
            tap_p[t] = tsl_cpu_gep(cg, ph, tsl_cpu_i64(cg, off));
        }
    struct tsl_cpu_loop lq, lh, lw;
    if (g->OW >= vw) {
        /* rows of whole vectors straight into the output; a partial last
         * vector is recomputed as the row's last vw columns */
        int64_t nb = (g->OW + vw - 1) / vw;
        LLVMValueRef oh = tsl_cpu_loop_begin(cg, &lh, 0, g->OH, 1, "oh");
        LLVMValueRef kb = tsl_cpu_loop_begin(cg, &lw, 0, nb, 1, "owb");
        LLVMValueRef ow = LLVMBuildNSWMul(cg->b, kb, tsl_cpu_i64(cg, vw), "");
        LLVMValueRef last = tsl_cpu_i64(cg, g->OW - vw);
        ow = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, ow, last, ""), last, ow, "");
        LLVMValueRef q = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, d->QW), ""), ow, "");
        LLVMValueRef acc = mp_taps(cg, tap_p, T, q);
        LLVMValueRef yo = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->OW), ""), ow, "");
        LLVMSetAlignment(LLVMBuildStore(cg->b, tsl_cpu_apply_act(cg, &st->act, acc), mp_vptr(cg, yc, yo)), 4);
        tsl_cpu_loop_end(cg, &lw);
        tsl_cpu_loop_end(cg, &lh);
        tsl_cpu_par_close(cg, &par);
        return TSL_STATUS_OK;
    }
    LLVMValueRef q = tsl_cpu_loop_begin(cg, &lq, 0, d->ext, vw, "q");
    LLVMSetAlignment(LLVMBuildStore(cg->b, mp_taps(cg, tap_p, T, q), mp_vptr(cg, ext, q)), 4);
    tsl_cpu_loop_end(cg, &lq);
    LLVMValueRef oh = tsl_cpu_loop_begin(cg, &lh, 0, g->OH, 1, "oh");
    LLVMValueRef erow = tsl_cpu_gep(cg, ext, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, d->QW), ""));
    LLVMValueRef orow = tsl_cpu_gep(cg, yc, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g->OW), ""));
    /* OW < vw valid columns of the row: one masked load and store */
    LLVMValueRef om = tsl_cpu_lane_mask(cg, vw, 1, g->OW);
    tsl_cpu_masked_store(cg, tsl_cpu_apply_act(cg, &st->act,
                                       tsl_cpu_masked_load(cg, cg->t_vec, erow, om, LLVMConstNull(cg->t_vec))),
                 orow, om);
    tsl_cpu_loop_end(cg, &lh);
    tsl_cpu_par_close(cg, &par);
    return TSL_STATUS_OK;
}

static enum tsl_status pool_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct pool_geo g;
    TSL_TRY(pool_geo(cg, st, &g));
    struct mp_geo d;
    if (mp_flat_geo(cg, st, &g, &d))
        return emit_maxpool_flat(cg, st, &g, &d);
    const struct tsl_node *n = st->node;
    bool is_max = n->op == TSL_OP_MAX_POOL;
    bool incl = n->attrs.pool.count_include_pad != 0;
    /* planes are independent: one parallel region over them */
    struct tsl_cpu_par par;
    tsl_cpu_par_open(cg, &par, g.NC,
                     (double)(g.NC * g.OD * g.OH * g.OW * g.KD * g.KH * g.KW) / 2.0, NULL, 0);
    LLVMValueRef x, y;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    struct tsl_cpu_loop ld, lh, lw;
    LLVMValueRef p = tsl_cpu_par_loop(cg, &par);
    LLVMValueRef xp = tsl_cpu_gep(cg, x, LLVMBuildNSWMul(cg->b, p, tsl_cpu_i64(cg, g.D * g.H * g.W), ""));
    LLVMValueRef yp = tsl_cpu_gep(cg, y, LLVMBuildNSWMul(cg->b, p, tsl_cpu_i64(cg, g.OD * g.OH * g.OW), ""));
    LLVMValueRef od = tsl_cpu_loop_begin(cg, &ld, 0, g.OD, 1, "od");
    LLVMValueRef oh = tsl_cpu_loop_begin(cg, &lh, 0, g.OH, 1, "oh");
    LLVMValueRef ow = tsl_cpu_loop_begin(cg, &lw, 0, g.OW, 1, "ow");
    LLVMValueRef ih0 = LLVMBuildNSWSub(cg->b, LLVMBuildNSWMul(cg->b, oh, tsl_cpu_i64(cg, g.sh), ""), tsl_cpu_i64(cg, g.pt), "");
    LLVMValueRef iw0 = LLVMBuildNSWSub(cg->b, LLVMBuildNSWMul(cg->b, ow, tsl_cpu_i64(cg, g.sw), ""), tsl_cpu_i64(cg, g.pl), "");
    LLVMValueRef id0 = LLVMBuildNSWSub(cg->b, LLVMBuildNSWMul(cg->b, od, tsl_cpu_i64(cg, g.sd), ""), tsl_cpu_i64(cg, g.pf), "");
    LLVMValueRef acc = tsl_cpu_f32c(cg, is_max ? -INFINITY : 0.0);
    LLVMValueRef cnt = tsl_cpu_f32c(cg, 0.0);
    for (int64_t kz = 0; kz < g.KD; kz++)
        for (int64_t ky = 0; ky < g.KH; ky++)
            for (int64_t kx = 0; kx < g.KW; kx++) {
                LLVMValueRef iz = LLVMBuildNSWAdd(cg->b, id0, tsl_cpu_i64(cg, kz * g.dd), "");
                LLVMValueRef ih = LLVMBuildNSWAdd(cg->b, ih0, tsl_cpu_i64(cg, ky * g.dh), "");
                LLVMValueRef iw = LLVMBuildNSWAdd(cg->b, iw0, tsl_cpu_i64(cg, kx * g.dw), "");
                LLVMValueRef ok = LLVMBuildAnd(cg->b, in_range(cg, ih, 0, g.H), in_range(cg, iw, 0, g.W), "");
                ok = LLVMBuildAnd(cg->b, ok, in_range(cg, iz, 0, g.D), "");
                LLVMValueRef row = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, iz, tsl_cpu_i64(cg, g.H), ""), ih, "");
                LLVMValueRef idx = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, row, tsl_cpu_i64(cg, g.W), ""), iw, "");
                idx = LLVMBuildSelect(cg->b, ok, idx, tsl_cpu_i64(cg, 0), "");
                LLVMValueRef v = tsl_cpu_load(cg, xp, idx);
                if (is_max) {
                    acc = LLVMBuildSelect(cg->b, LLVMBuildAnd(cg->b, ok, max_takes(cg, v, acc), ""),
                                          v, acc, "");
                } else {
                    acc = LLVMBuildFAdd(cg->b, acc, LLVMBuildSelect(cg->b, ok, v, tsl_cpu_f32c(cg, 0.0), ""), "");
                    LLVMValueRef counted = incl ? LLVMBuildAnd(cg->b, in_range(cg, ih, -g.pt, g.H + g.pb),
                                                               in_range(cg, iw, -g.pl, g.W + g.pr), "")
                                                : ok;
                    if (incl)
                        counted = LLVMBuildAnd(cg->b, counted, in_range(cg, iz, -g.pf, g.D + g.pk), "");
                    cnt = LLVMBuildFAdd(cg->b, cnt, LLVMBuildUIToFP(cg->b, counted, cg->t_f32, ""), "");
                }
            }
    if (!is_max)
        acc = LLVMBuildFDiv(cg->b, acc, cnt, "");
    LLVMValueRef orow = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, od, tsl_cpu_i64(cg, g.OH), ""), oh, "");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, acc), yp,
                  LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, orow, tsl_cpu_i64(cg, g.OW), ""), ow, ""));
    tsl_cpu_loop_end(cg, &lw);
    tsl_cpu_loop_end(cg, &lh);
    tsl_cpu_loop_end(cg, &ld);
    tsl_cpu_par_close(cg, &par);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_pool = {pool_check, pool_emit, true, false, false};

/* ---- global pooling -------------------------------------------------------- */

static enum tsl_status gpool_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    if (n->inputs[0]->type.shape.rank < 3)
        return tsl_cpu_unsupported(cg, n, "input rank must be >= 3");
    return TSL_STATUS_OK;
}

/* Sum (or max) of one plane: vw-lane vector accumulators over the whole
 * vectors (an in-order scalar sum is one dependent add per element), the
 * lanes combined in order, then the scalar tail. */
static LLVMValueRef plane_reduce(struct tsl_cpu_cg *cg, LLVMValueRef xp, int64_t hw, bool is_max)
{
    const int64_t vw = cg->tgt->vw, hv = hw / vw * vw;
    LLVMValueRef init = tsl_cpu_f32c(cg, is_max ? -INFINITY : 0.0);
    LLVMValueRef r = init;
    if (hv > 0) {
        LLVMValueRef lanes[64];
        for (int64_t l = 0; l < vw; l++)
            lanes[l] = init;
        LLVMTypeRef pv = LLVMPointerType(cg->t_vec, 0);
        LLVMValueRef vs = tsl_cpu_entry_alloca(cg, cg->t_vec, "vacc");
        LLVMBuildStore(cg->b, LLVMConstVector(lanes, (unsigned)vw), vs);
        struct tsl_cpu_loop lv;
        LLVMValueRef i = tsl_cpu_loop_begin(cg, &lv, 0, hv, vw, "iv");
        LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->t_vec,
                                        LLVMBuildBitCast(cg->b, tsl_cpu_gep(cg, xp, i), pv, ""), "");
        LLVMSetAlignment(v, 4);
        LLVMValueRef args[2] = {LLVMBuildLoad2(cg->b, cg->t_vec, vs, ""), v};
        LLVMBuildStore(cg->b, is_max ? tsl_cpu_intrinsic(cg, "llvm.maxnum", cg->t_vec, args, 2)
                                     : LLVMBuildFAdd(cg->b, args[0], v, ""), vs);
        tsl_cpu_loop_end(cg, &lv);
        LLVMValueRef acc = LLVMBuildLoad2(cg->b, cg->t_vec, vs, "");
        for (int64_t l = 0; l < vw; l++) {
            LLVMValueRef e = LLVMBuildExtractElement(cg->b, acc, LLVMConstInt(cg->t_i32, (unsigned)l, 0), "");
            LLVMValueRef a2[2] = {r, e};
            r = is_max ? tsl_cpu_intrinsic(cg, "llvm.maxnum", cg->t_f32, a2, 2)
                       : LLVMBuildFAdd(cg->b, r, e, "");
        }
    }
    LLVMValueRef s = slot(cg, r);
    struct tsl_cpu_loop li;
    LLVMValueRef i = tsl_cpu_loop_begin(cg, &li, hv, hw, 1, "i");
    LLVMValueRef v = tsl_cpu_load(cg, xp, i), a = get(cg, s);
    LLVMValueRef args[2] = {a, v};
    LLVMBuildStore(cg->b, is_max ? tsl_cpu_intrinsic(cg, "llvm.maxnum", cg->t_f32, args, 2)
                                 : LLVMBuildFAdd(cg->b, a, v, ""), s);
    tsl_cpu_loop_end(cg, &li);
    return get(cg, s);
}

static enum tsl_status gpool_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t planes = xs->dims[0] * xs->dims[1], hw = tsl_cpu_numel(n->inputs[0]) / (planes ? planes : 1);
    bool is_max = n->op == TSL_OP_GLOBAL_MAX_POOL;
    struct tsl_cpu_par par;
    tsl_cpu_par_open(cg, &par, planes, (double)(planes * hw) / 2.0, NULL, 0);
    LLVMValueRef x, y;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    LLVMValueRef p = tsl_cpu_par_loop(cg, &par);
    LLVMValueRef xp = tsl_cpu_gep(cg, x, LLVMBuildNSWMul(cg->b, p, tsl_cpu_i64(cg, hw), ""));
    LLVMValueRef r = plane_reduce(cg, xp, hw, is_max);
    if (!is_max)
        r = LLVMBuildFMul(cg->b, r, tsl_cpu_f32c(cg, 1.0 / (double)hw), "");
    tsl_cpu_store(cg, tsl_cpu_apply_act(cg, &st->act, r), y, p);
    tsl_cpu_par_close(cg, &par);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_global_pool = {gpool_check, gpool_emit, true,
                                                           false, false};

/* ---- Softmax / LogSoftmax ---------------------------------------------------- */

static enum tsl_status softmax_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    int r = n->inputs[0]->type.shape.rank;
    int64_t ax = n->attrs.axis.axis < 0 ? n->attrs.axis.axis + r : n->attrs.axis.axis;
    if (r == 0 || ax < 0 || ax >= r)
        return tsl_cpu_unsupported(cg, n, "axis out of range");
    return TSL_STATUS_OK;
}

static enum tsl_status softmax_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    const struct tsl_node *n = st->node;
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int r = xs->rank;
    int64_t ax = n->attrs.axis.axis < 0 ? n->attrs.axis.axis + r : n->attrs.axis.axis;
    int64_t outer = 1, A = xs->dims[ax], inner = 1;
    for (int d = 0; d < ax; d++)
        outer *= xs->dims[d];
    for (int d = (int)ax + 1; d < r; d++)
        inner *= xs->dims[d];
    bool logsm = n->op == TSL_OP_LOG_SOFTMAX;
    LLVMValueRef x, y;
    TSL_TRY(tsl_cpu_ptr(cg, n->inputs[0], &x));
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &y));
    struct tsl_cpu_loop lo, li, la;
    LLVMValueRef o = tsl_cpu_loop_begin(cg, &lo, 0, outer, 1, "outer");
    LLVMValueRef in = tsl_cpu_loop_begin(cg, &li, 0, inner, 1, "inner");
    LLVMValueRef base = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, o, tsl_cpu_i64(cg, A * inner), ""), in, "");
    LLVMValueRef xb = tsl_cpu_gep(cg, x, base), yb = tsl_cpu_gep(cg, y, base);
    LLVMValueRef mx = slot(cg, tsl_cpu_f32c(cg, -INFINITY));
    LLVMValueRef a = tsl_cpu_loop_begin(cg, &la, 0, A, 1, "a");
    LLVMValueRef idx = LLVMBuildNSWMul(cg->b, a, tsl_cpu_i64(cg, inner), "");
    LLVMValueRef args[2] = {get(cg, mx), tsl_cpu_load(cg, xb, idx)};
    LLVMBuildStore(cg->b, tsl_cpu_intrinsic(cg, "llvm.maxnum", cg->t_f32, args, 2), mx);
    tsl_cpu_loop_end(cg, &la);
    LLVMValueRef m = get(cg, mx);
    LLVMValueRef sum = slot(cg, tsl_cpu_f32c(cg, 0.0));
    a = tsl_cpu_loop_begin(cg, &la, 0, A, 1, "a");
    idx = LLVMBuildNSWMul(cg->b, a, tsl_cpu_i64(cg, inner), "");
    LLVMValueRef d = LLVMBuildFSub(cg->b, tsl_cpu_load(cg, xb, idx), m, "");
    LLVMValueRef e = tsl_cpu_intrinsic(cg, "llvm.exp", cg->t_f32, &d, 1);
    if (!logsm)
        tsl_cpu_store(cg, e, yb, idx);
    LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, get(cg, sum), e, ""), sum);
    tsl_cpu_loop_end(cg, &la);
    LLVMValueRef s = get(cg, sum);
    LLVMValueRef ls = logsm ? tsl_cpu_intrinsic(cg, "llvm.log", cg->t_f32, &s, 1)
                            : LLVMBuildFDiv(cg->b, tsl_cpu_f32c(cg, 1.0), s, "");
    a = tsl_cpu_loop_begin(cg, &la, 0, A, 1, "a");
    idx = LLVMBuildNSWMul(cg->b, a, tsl_cpu_i64(cg, inner), "");
    LLVMValueRef v = logsm ? LLVMBuildFSub(cg->b, LLVMBuildFSub(cg->b, tsl_cpu_load(cg, xb, idx), m, ""), ls, "")
                           : LLVMBuildFMul(cg->b, tsl_cpu_load(cg, yb, idx), ls, "");
    tsl_cpu_store(cg, v, yb, idx);
    tsl_cpu_loop_end(cg, &la);
    tsl_cpu_loop_end(cg, &li);
    tsl_cpu_loop_end(cg, &lo);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_softmax = {softmax_check, softmax_emit, false,
                                                       false, false};
