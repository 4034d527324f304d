/* fold_batchnorm.c - folds an inference-mode BatchNormalization into the
 * Conv, ConvTranspose (group 1) or Gemm that feeds it, when that producer's
 * output has no other user and all weights and BN parameters are f32
 * constants:
 *     s[c]  = scale[c] / sqrt(var[c] + eps)
 *     W'    = W * s[c]              (per output channel c)
 *     b'[c] = (b[c] - mean[c]) * s[c] + B[c]
 * The folded weights are new dense constants (the old ones die to DCE if
 * unused); the producer takes over the BN output's name.  Arithmetic is in
 * double, then rounded once to f32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "tessel/util.h"

struct bn_params {
    float *scale, *bias, *mean, *var;
    int64_t n;
};

static void bn_free(struct bn_params *p)
{
    free(p->scale);
    free(p->bias);
    free(p->mean);
    free(p->var);
}

static bool bn_load(const struct tsl_node *bn, struct bn_params *p)
{
    memset(p, 0, sizeof *p);
    int64_t n[4];
    p->scale = tsl_rewrite_const_f32(bn->inputs[1], &n[0]);
    p->bias = tsl_rewrite_const_f32(bn->inputs[2], &n[1]);
    p->mean = tsl_rewrite_const_f32(bn->inputs[3], &n[2]);
    p->var = tsl_rewrite_const_f32(bn->inputs[4], &n[3]);
    if (!p->scale || !p->bias || !p->mean || !p->var || n[0] != n[1] || n[0] != n[2] ||
        n[0] != n[3]) {
        bn_free(p);
        return false;
    }
    p->n = n[0];
    return true;
}

static enum tsl_status fold_one(struct tsl_graph *g, struct tsl_node *bn, struct tsl_node *prod,
                                bool *done)
{
    *done = false;
    struct tsl_rewrite_wlayout wl;
    struct bn_params p;
    if (!tsl_rewrite_weight_layout(prod, &wl) || !bn_load(bn, &p))
        return TSL_STATUS_OK;
    int64_t wn = 0, bn_ = 0;
    float *w = tsl_rewrite_const_f32(prod->inputs[1], &wn);
    const struct tsl_value *bias_v = prod->n_inputs > 2 ? prod->inputs[2] : NULL;
    float *b = bias_v ? tsl_rewrite_const_f32(bias_v, &bn_) : NULL;
    float *nb = malloc((size_t)(p.n ? p.n : 1) * sizeof *nb);
    bool ok = w && wl.n_ch == p.n && (!bias_v || (b && bn_ == p.n)) && nb;
    /* Gemm: alpha scales A*B, beta scales C; fold both. */
    double alpha = prod->op == TSL_OP_GEMM ? prod->attrs.gemm.alpha : 1.0;
    double beta = prod->op == TSL_OP_GEMM ? prod->attrs.gemm.beta : 1.0;
    if (ok && bias_v && prod->op == TSL_OP_GEMM && bias_v->type.shape.rank != 1)
        ok = false;
    enum tsl_status st = TSL_STATUS_OK;
    if (ok) {
        const float eps = bn->attrs.batchnorm.epsilon;
        double *s = malloc((size_t)p.n * sizeof *s);
        if (!s) {
            st = TSL_STATUS_NOMEM;
        } else {
            for (int64_t c = 0; c < p.n; c++)
                s[c] = (double)p.scale[c] / sqrt((double)p.var[c] + (double)eps);
            for (int64_t i = 0; i < wn; i++)
                w[i] = (float)((double)w[i] * alpha * s[(i / wl.inner) % wl.n_ch]);
            for (int64_t c = 0; c < p.n; c++)
                nb[c] = (float)(((b ? (double)b[c] * beta : 0.0) - p.mean[c]) * s[c] + p.bias[c]);
            free(s);
            struct tsl_value *nw, *nbv;
            const struct tsl_shape *ws = &prod->inputs[1]->type.shape;
            st = tsl_rewrite_add_f32_const(g, prod->inputs[1]->name, ws->rank, ws->dims, w, &nw);
            if (st == TSL_STATUS_OK)
                st = tsl_rewrite_add_f32_const(g, bias_v ? bias_v->name : "bn_folded_bias", 1, &p.n, nb,
                                   &nbv);
            if (st == TSL_STATUS_OK) {
                tsl_node_set_input(prod, 1, nw);
                if (prod->n_inputs > 2)
                    tsl_node_set_input(prod, 2, nbv);
                else
                    st = tsl_node_append_input(prod, nbv);
            }
            if (st == TSL_STATUS_OK && ok && prod->op == TSL_OP_GEMM) {
                prod->attrs.gemm.alpha = 1.0f;
                prod->attrs.gemm.beta = 1.0f;
            }
        }
    }
    free(w);
    free(b);
    free(nb);
    bn_free(&p);
    if (st != TSL_STATUS_OK || !ok)
        return st;
    bool fwd = tsl_rewrite_forward(g, bn, prod->outputs[0], &st);
    *done = fwd;
    return st;
}

enum tsl_status tsl_pass_fold_batchnorm(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    for (struct tsl_node *n = g->first, *next; n; n = next) {
        next = n->next;
        if (n->op != TSL_OP_BATCH_NORM || !n->inputs[0] || !n->inputs[0]->producer)
            continue;
        struct tsl_node *prod = n->inputs[0]->producer;
        const struct tsl_value *mid = prod->outputs[0];
        if (mid->n_uses != 1 || mid->n_output_refs || prod->n_outputs != 1)
            continue;
        if (prod->op != TSL_OP_CONV && prod->op != TSL_OP_CONV_TRANSPOSE &&
            prod->op != TSL_OP_GEMM)
            continue;
        bool done;
        TSL_TRY(fold_one(g, n, prod, &done));
        if (done)
            ctx->n_changed++;
    }
    return TSL_STATUS_OK;
}
