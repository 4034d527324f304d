/* fold_conv_affine.c - folds a per-output-channel (or scalar) constant Mul,
 * Add or Sub that follows a Conv or ConvTranspose into its weights and bias,
 * when the producer's output has no other user and is no graph output:
 *     Mul(y, s) / Mul(s, y):  W' = W * s[c], b' = b * s[c]
 *     Add(y, t) / Add(t, y):  b' = b + t[c]
 *     Sub(y, t):              b' = b - t[c]      (t - y is left alone)
 * `s`/`t` must be an f32 constant that broadcasts along the output channel
 * only: every dim 1 except the one aligned with the channel axis, which is
 * 1 or C (scalars included).  Mul needs the weight's channel layout (Conv,
 * ConvTranspose with group 1); Add/Sub only touch the bias, so any group.
 * The product is computed in double and rounded once, like fold-batchnorm;
 * the folded node takes over the Mul/Add output's name.  Runs to a fixed
 * point in one sweep (Conv -> Mul -> Add folds both).  Models exported from
 * PaddlePaddle (PP-OCR's learnable affine blocks, a ConvTranspose followed
 * by its bias as a separate Add) are where this shows up.
 *
 * Not here: Gemm/MatMul (the channel is the last axis there), Div (x / s
 * and x * (1/s) round differently). */
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "tessel/shape.h"
#include "tessel/util.h"

/* Per-channel values of constant t for output y ([N, C, ...]); NULL when t
 * does not broadcast along the channel only.  *n_out = C. */
static float *channel_values(const struct tsl_value *t, const struct tsl_value *y, int64_t *n_out)
{
    const struct tsl_shape *ts = &t->type.shape, *ys = &y->type.shape;
    if (!tsl_shape_is_static(ts) || !tsl_shape_is_static(ys) || ys->rank < 2 ||
        ts->rank > ys->rank)
        return NULL;
    int64_t C = ys->dims[1];
    int off = ys->rank - ts->rank;
    for (int32_t d = 0; d < ts->rank; d++) {
        int64_t td = ts->dims[d];
        if (td != 1 && !(d + off == 1 && td == C))
            return NULL;
    }
    int64_t n = 0;
    float *v = tsl_rewrite_const_f32(t, &n);
    if (!v)
        return NULL;
    if (n != 1 && n != C) {
        free(v);
        return NULL;
    }
    float *c = malloc((size_t)C * sizeof *c);
    if (c)
        for (int64_t i = 0; i < C; i++)
            c[i] = v[n == 1 ? 0 : i];
    free(v);
    *n_out = C;
    return c;
}

/* Fold node u (Mul/Add/Sub) into prod; *done when u was erased. */
static enum tsl_status fold_one(struct tsl_graph *g, struct tsl_node *u, struct tsl_node *prod,
                                const struct tsl_value *t, bool *done)
{
    *done = false;
    int64_t C = 0, wn = 0, bn = 0;
    float *s = channel_values(t, prod->outputs[0], &C);
    if (!s)
        return TSL_STATUS_OK;
    bool mul = u->op == TSL_OP_MUL;
    struct tsl_rewrite_wlayout wl = {0, 0, 0};
    const struct tsl_value *bias_v = prod->n_inputs > 2 ? prod->inputs[2] : NULL;
    float *w = mul ? tsl_rewrite_const_f32(prod->inputs[1], &wn) : NULL;
    float *b = bias_v ? tsl_rewrite_const_f32(bias_v, &bn) : NULL;
    float *nb = malloc((size_t)C * sizeof *nb);
    bool ok = nb && (!bias_v || (b && bn == C)) &&
              (!mul || (w && tsl_rewrite_weight_layout(prod, &wl) && wl.n_ch == C &&
                        wl.outer * wl.n_ch * wl.inner == wn));
    enum tsl_status st = TSL_STATUS_OK;
    if (ok) {
        for (int64_t c = 0; c < C; c++) {
            double bc = b ? (double)b[c] : 0.0;
            nb[c] = (float)(mul ? bc * s[c] : u->op == TSL_OP_ADD ? bc + s[c] : bc - s[c]);
        }
        struct tsl_value *nw = NULL, *nbv = NULL;
        if (mul) {
            for (int64_t i = 0; i < wn; i++)
                w[i] = (float)((double)w[i] * s[(i / wl.inner) % wl.n_ch]);
            const struct tsl_shape *ws = &prod->inputs[1]->type.shape;
            st = tsl_rewrite_add_f32_const(g, prod->inputs[1]->name, ws->rank, ws->dims, w, &nw);
        }
        if (st == TSL_STATUS_OK)
            st = tsl_rewrite_add_f32_const(g, bias_v ? bias_v->name : "affine_folded_bias", 1, &C,
                                           nb, &nbv);
        if (st == TSL_STATUS_OK) {
            if (nw)
                tsl_node_set_input(prod, 1, nw);
            if (prod->n_inputs > 2)
                tsl_node_set_input(prod, 2, nbv);
            else
                st = tsl_node_append_input(prod, nbv);
        }
    }
    free(s);
    free(w);
    free(b);
    free(nb);
    if (st != TSL_STATUS_OK || !ok)
        return st;
    *done = tsl_rewrite_forward(g, u, prod->outputs[0], &st);
    return st;
}

enum tsl_status tsl_pass_fold_conv_affine(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    for (struct tsl_node *n = g->first, *next; n; n = next) {
        next = n->next;
        if ((n->op != TSL_OP_MUL && n->op != TSL_OP_ADD && n->op != TSL_OP_SUB) ||
            n->n_inputs != 2 || n->n_outputs != 1 || !n->inputs[0] || !n->inputs[1])
            continue;
        for (int side = 0; side < 2; side++) {
            const struct tsl_value *y = n->inputs[side], *t = n->inputs[1 - side];
            struct tsl_node *prod = y->producer;
            if (!prod || !t->constant || (n->op == TSL_OP_SUB && side != 0) ||
                (prod->op != TSL_OP_CONV && prod->op != TSL_OP_CONV_TRANSPOSE) ||
                prod->n_outputs != 1 || y->n_uses != 1 || y->n_output_refs ||
                y->type.dtype != TSL_DTYPE_F32 || !prod->inputs[1] || !prod->inputs[1]->constant ||
                !tsl_shape_equal(&n->outputs[0]->type.shape, &y->type.shape))
                continue;
            bool done;
            TSL_TRY(fold_one(g, n, prod, t, &done));
            if (done)
                ctx->n_changed++;
            break;
        }
    }
    return TSL_STATUS_OK;
}
