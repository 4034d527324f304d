/* lower_gemm.c - lowerings of Gemm and MatMul onto the register-tiled GEMM
 * of gemm_kernel.c.
 *
 * Gemm: a constant B (the usual weight) is packed at compile time into the
 * micro-kernel's nr-column panels with alpha folded in; otherwise a
 * constant A is packed into mr-row panels; an activation B is packed panel by
 * panel at run time.  C (bias) is added in the epilogue with its broadcast
 * strides (scalar, [N], [M,1], [M,N]); a constant C is pre-scaled by beta,
 * a run-time C with beta != 1 is scaled into the step's scratch first.
 * MatMul: numpy batching, where each operand's batch is either the full
 * output batch or broadcast; a 2-D constant B with a contiguous A collapses
 * the batch into M.  Following elementwise nodes are fused by the scheduler
 * (fuse.c) and run in the micro-kernel's epilogue. */
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

struct gplan {
    struct tsl_cpu_gemm p;
    int64_t batch, a_bs, b_bs, c_bs; /* batch count and element strides */
    const struct tsl_value *a, *b, *bias;
    bool pack_b_const, pack_a_const, scale_c_rt; /* scale_c_rt: beta * C at run time */
    float bias_scale;
};

static enum tsl_status gemm_plan(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                 struct gplan *gp)
{
    const struct tsl_node *n = st->node;
    const struct tsl_attr_gemm *at = &n->attrs.gemm;
    memset(gp, 0, sizeof *gp);
    for (uint32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] || i < 2)
            TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[i]));
    const struct tsl_shape *as = &n->inputs[0]->type.shape, *bs = &n->inputs[1]->type.shape;
    if (as->rank != 2 || bs->rank != 2)
        return tsl_cpu_unsupported(cg, n, "A and B must be 2-D");
    int64_t M = at->transA ? as->dims[1] : as->dims[0];
    int64_t K = at->transA ? as->dims[0] : as->dims[1];
    int64_t Kb = at->transB ? bs->dims[1] : bs->dims[0];
    int64_t N = at->transB ? bs->dims[0] : bs->dims[1];
    if (K != Kb || K <= 0)
        return tsl_cpu_unsupported(cg, n, "inner dimensions %lld and %lld", (long long)K,
                                   (long long)Kb);
    struct tsl_cpu_gemm *p = &gp->p;
    p->M = M, p->N = N, p->K = K, p->ldc = N, p->alpha = at->alpha, p->act = st->act;
    p->koff_off = -1;
    gp->batch = 1;
    gp->a = n->inputs[0];
    gp->b = n->inputs[1];
    p->a_rs = at->transA ? 1 : K;
    p->a_cs = at->transA ? M : 1;
    p->b_rs = at->transB ? 1 : N;
    p->b_cs = at->transB ? K : 1;
    if (gp->b->constant) {
        gp->pack_b_const = true;
        p->b_packed = true;
    } else if (gp->a->constant) {
        gp->pack_a_const = true;
        p->a_packed = true;
    }
    const struct tsl_value *c = n->n_inputs > 2 ? n->inputs[2] : NULL;
    if (c && at->beta != 0.0f) {
        struct tsl_shape mn = {.rank = 2, .dims = {M, N}};
        int64_t s[TSL_MAX_RANK];
        if (!tsl_cpu_bcast_strides(&c->type.shape, &mn, s))
            return tsl_cpu_unsupported(cg, n, "C does not broadcast to [%lld, %lld]",
                                       (long long)M, (long long)N);
        gp->scale_c_rt = !c->constant && at->beta != 1.0f;
        p->has_bias = true;
        p->bias_rs = s[0];
        p->bias_cs = s[1];
        gp->bias = c;
        gp->bias_scale = at->beta;
    }
    return TSL_STATUS_OK;
}

static enum tsl_status matmul_plan(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                   struct gplan *gp)
{
    const struct tsl_node *n = st->node;
    memset(gp, 0, sizeof *gp);
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[0]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, n->inputs[1]));
    TSL_TRY(tsl_cpu_require_f32(cg, n, st->out));
    struct tsl_shape as = n->inputs[0]->type.shape, bs = n->inputs[1]->type.shape;
    if (as.rank == 0 || bs.rank == 0)
        return tsl_cpu_unsupported(cg, n, "scalar operands");
    if (as.rank == 1) { /* [K] -> [1, K] */
        as.dims[1] = as.dims[0], as.dims[0] = 1, as.rank = 2;
    }
    if (bs.rank == 1) { /* [K] -> [K, 1] */
        bs.dims[1] = 1, bs.rank = 2;
    }
    int64_t M = as.dims[as.rank - 2], K = as.dims[as.rank - 1];
    int64_t N = bs.dims[bs.rank - 1];
    if (bs.dims[bs.rank - 2] != K || K <= 0)
        return tsl_cpu_unsupported(cg, n, "inner dimensions do not match");
    int64_t nb_a = 1, nb_b = 1;
    for (int d = 0; d < as.rank - 2; d++)
        nb_a *= as.dims[d];
    for (int d = 0; d < bs.rank - 2; d++)
        nb_b *= bs.dims[d];
    int64_t nb = nb_a > nb_b ? nb_a : nb_b;
    if ((nb_a != nb && nb_a != 1) || (nb_b != nb && nb_b != 1) ||
        tsl_cpu_numel(st->out) != nb * M * N)
        return tsl_cpu_unsupported(cg, n, "batch broadcasting other than full/none");
    struct tsl_cpu_gemm *p = &gp->p;
    p->M = M, p->N = N, p->K = K, p->ldc = N, p->alpha = 1.0f, p->act = st->act;
    p->koff_off = -1;
    p->a_rs = K, p->a_cs = 1, p->b_rs = N, p->b_cs = 1;
    gp->a = n->inputs[0];
    gp->b = n->inputs[1];
    gp->batch = nb;
    gp->a_bs = nb_a == 1 ? 0 : M * K;
    gp->b_bs = nb_b == 1 ? 0 : K * N;
    gp->c_bs = M * N;
    if (gp->b_bs == 0 && gp->a_bs != 0) { /* shared B: fold the batch into M */
        p->M = M * nb;
        gp->batch = 1;
    }
    if (gp->b->constant && gp->b_bs == 0) {
        gp->pack_b_const = true;
        p->b_packed = true;
    }
    return TSL_STATUS_OK;
}

static enum tsl_status plan_for(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st,
                                struct gplan *gp)
{
    return st->node->op == TSL_OP_GEMM ? gemm_plan(cg, st, gp) : matmul_plan(cg, st, gp);
}

static enum tsl_status mm_check(struct tsl_cpu_cg *cg, struct tsl_cpu_step *st)
{
    struct gplan gp;
    TSL_TRY(plan_for(cg, st, &gp));
    gp.p.batch = gp.batch;
    /* a run-time B is packed per thread and panel, or once into the shared
     * scratch when several threads share a panel (few panels) */
    st->scratch_bytes = tsl_cpu_gemm_shared_scratch(cg, &gp.p);
    if (gp.scale_c_rt) /* beta * C after the GEMM's part, 64-byte aligned */
        st->scratch_bytes = (st->scratch_bytes + 63) / 64 * 64 + tsl_cpu_numel(gp.bias) * 4;
    st->thread_scratch_bytes = tsl_cpu_gemm_scratch(cg, &gp.p);
    return TSL_STATUS_OK;
}

static enum tsl_status mm_emit(struct tsl_cpu_cg *cg, const struct tsl_cpu_step *st)
{
    struct gplan gp;
    TSL_TRY(plan_for(cg, st, &gp));
    struct tsl_cpu_gemm *p = &gp.p;
    LLVMValueRef a, b, c, bias = NULL;
    float *w = NULL;
    int64_t off;
    if (gp.pack_b_const) {
        TSL_TRY(tsl_cpu_const_f32(cg, gp.b, &w));
        enum tsl_status s = tsl_cpu_pack_b(cg, w, p->K, p->N, p->b_rs, p->b_cs, p->alpha, &off);
        free(w);
        TSL_TRY(s);
        p->alpha = 1.0f;
        b = tsl_cpu_weight_ptr(cg, off);
    } else {
        TSL_TRY(tsl_cpu_ptr(cg, gp.b, &b));
    }
    if (gp.pack_a_const) {
        TSL_TRY(tsl_cpu_const_f32(cg, gp.a, &w));
        enum tsl_status s = tsl_cpu_pack_a(cg, w, p->M, p->K, p->a_rs, p->a_cs, p->alpha, &off);
        free(w);
        TSL_TRY(s);
        p->alpha = 1.0f;
        a = tsl_cpu_weight_ptr(cg, off);
    } else {
        TSL_TRY(tsl_cpu_ptr(cg, gp.a, &a));
    }
    if (p->has_bias) {
        if (gp.scale_c_rt) {
            p->batch = gp.batch;
            int64_t off_c = (tsl_cpu_gemm_shared_scratch(cg, p) + 63) / 64 * 64;
            LLVMValueRef src;
            TSL_TRY(tsl_cpu_ptr(cg, gp.bias, &src));
            bias = tsl_cpu_scratch(cg, off_c);
            struct tsl_cpu_loop l;
            LLVMValueRef i = tsl_cpu_loop_begin(cg, &l, 0, tsl_cpu_numel(gp.bias), 1, "c");
            LLVMValueRef v = LLVMBuildFMul(cg->b, tsl_cpu_load(cg, src, i),
                                           tsl_cpu_f32c(cg, gp.bias_scale), "");
            tsl_cpu_store(cg, v, bias, i);
            tsl_cpu_loop_end(cg, &l);
        } else if (gp.bias->constant && gp.bias_scale != 1.0f) {
            TSL_TRY(tsl_cpu_const_f32(cg, gp.bias, &w));
            int64_t nb = tsl_cpu_numel(gp.bias);
            for (int64_t i = 0; i < nb; i++)
                w[i] *= gp.bias_scale;
            enum tsl_status s = tsl_cpu_blob_add(cg, w, (size_t)nb * 4, &off);
            free(w);
            TSL_TRY(s);
            bias = tsl_cpu_weight_ptr(cg, off);
        } else {
            TSL_TRY(tsl_cpu_ptr(cg, gp.bias, &bias));
        }
    }
    TSL_TRY(tsl_cpu_ptr(cg, st->out, &c));
    /* the batch is one parallel region with the GEMM's tiles */
    p->batch = gp.batch;
    p->a_bs = gp.a_bs, p->b_bs = gp.b_bs, p->c_bs = gp.c_bs;
    tsl_cpu_gemm_emit(cg, p, a, b, c, bias, NULL);
    return TSL_STATUS_OK;
}

const struct tsl_cpu_lowering tsl_cpu_lower_gemm = {mm_check, mm_emit, true, false, false};
const struct tsl_cpu_lowering tsl_cpu_lower_matmul = {mm_check, mm_emit, true, false, false};
