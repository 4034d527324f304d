/* opq_dfq.c - data-free bias correction of the OPQ pass (opq_dfq.h): point
 * estimates of per-channel activation means propagated forward through the
 * graph from its constants (Conv biases and weights, per-channel affines,
 * BatchNormalization, activations applied to the mean), and the bias update
 * sum_j (W - What)_oj * E[x_j] of every Conv layer whose input mean is
 * estimated.  It never reads graph inputs, evaluates nodes or runs the
 * model, and it does not choose bits or write codebooks (opq.c,
 * opq_math.c).  The spread of pre-activations is not modelled (folded
 * BatchNormalization no longer records it), so means after a nonlinearity
 * are f(E[z]); docs/passes-opq.md measures how good that is. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opq_calib.h"
#include "opq_dfq.h"
#include "tessel/util.h"

/* A per-channel estimate (channel axis 1) of one value. */
struct est {
    int64_t C;
    double *m; /* C means, or NULL: unknown */
};

struct prop {
    const struct tsl_graph *g;
    struct est *e; /* indexed by value id */
    uint32_t n;
    struct tsl_diag *diag;
};

static const struct est *est_of(const struct prop *p, const struct tsl_value *v)
{
    return v && v->id < p->n && p->e[v->id].m ? &p->e[v->id] : NULL;
}

/* Channels along axis 1 of a value (rank >= 2, static dim), else 0. */
static int64_t channels(const struct tsl_value *v)
{
    const struct tsl_shape *s = &v->type.shape;
    return s->rank >= 2 && s->dims[1] > 0 ? s->dims[1] : 0;
}

/* Per-channel view of constant c broadcast against a rank-r value with C
 * channels on axis 1: *vals gets C doubles (malloc'ed).  False when c is
 * not a constant, not f32, or varies along another axis. */
static bool const_per_channel(const struct tsl_value *c, int32_t r, int64_t C, double **vals,
                              struct tsl_diag *diag, enum tsl_status *st)
{
    *vals = NULL;
    if (!c || !c->constant || c->type.dtype != TSL_DTYPE_F32 ||
        !tsl_shape_is_static(&c->type.shape))
        return false;
    const struct tsl_shape *s = &c->type.shape;
    int64_t numel;
    if (!tsl_shape_numel(s, &numel) || numel < 1 || s->rank > r)
        return false;
    bool per_ch = false;
    if (numel != 1) {
        int32_t ch = s->rank - (r - 1); /* dim of c aligned with axis 1 */
        if (ch < 0 || s->dims[ch] != C)
            return false;
        for (int32_t d = 0; d < s->rank; d++)
            if (d != ch && s->dims[d] != 1)
                return false;
        per_ch = true;
    }
    float *raw = NULL;
    if ((*st = tsl_const_decode(c, (void **)&raw, diag)) != TSL_STATUS_OK)
        return false;
    double *out = malloc((size_t)C * sizeof *out);
    if (!out) {
        free(raw);
        *st = TSL_STATUS_NOMEM;
        return false;
    }
    for (int64_t i = 0; i < C; i++)
        out[i] = raw[per_ch ? i : 0];
    free(raw);
    *vals = out;
    return true;
}

/* A scalar f32 constant (Clip bounds), or false. */
static bool const_scalar(const struct tsl_value *c, double *x, struct tsl_diag *diag,
                         enum tsl_status *st)
{
    double *v = NULL;
    if (!const_per_channel(c, 1, 1, &v, diag, st))
        return false;
    int64_t numel;
    bool ok = tsl_shape_numel(&c->type.shape, &numel) && numel == 1;
    *x = v[0];
    free(v);
    return ok;
}

/* Every axis after the channel axis has extent 1 (a globally pooled
 * value). */
static bool pooled(const struct tsl_value *v)
{
    const struct tsl_shape *s = &v->type.shape;
    for (int32_t d = 2; d < s->rank; d++)
        if (s->dims[d] != 1)
            return false;
    return true;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Output means of a Conv node from its input means m (C_in) or NULL (zero
 * input mean); y gets n_out values. */
static enum tsl_status conv_means(const struct tsl_node *n, const double *m, int64_t C_in,
                                  double *y, int64_t n_out, struct tsl_diag *diag)
{
    const struct tsl_value *w = n->inputs[1], *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const struct tsl_shape *ws = &w->type.shape;
    int64_t group = n->attrs.conv.group, numel, c_in_w;
    if (!tsl_shape_numel(ws, &numel) || ws->rank < 3 || ws->dims[0] != n_out || group < 1 ||
        n_out % group || !tsl_mul_i64(ws->dims[1], group, &c_in_w) || c_in_w != C_in)
        return TSL_STATUS_UNSUPPORTED;
    int64_t ipg = ws->dims[1], taps = numel / (n_out * ipg), opg = n_out / group;
    for (int64_t o = 0; o < n_out; o++)
        y[o] = 0;
    if (b) {
        double *bv = NULL;
        enum tsl_status st = TSL_STATUS_OK;
        if (!const_per_channel(b, 2, n_out, &bv, diag, &st))
            return st != TSL_STATUS_OK ? st : TSL_STATUS_UNSUPPORTED;
        memcpy(y, bv, (size_t)n_out * sizeof *y);
        free(bv);
    }
    if (!m)
        return TSL_STATUS_OK;
    if (!w->constant || w->type.dtype != TSL_DTYPE_F32)
        return TSL_STATUS_UNSUPPORTED;
    float *W = NULL;
    TSL_TRY(tsl_const_decode(w, (void **)&W, diag));
    for (int64_t o = 0; o < n_out; o++) {
        int64_t base = (o / opg) * ipg;
        double acc = 0;
        for (int64_t j = 0; j < ipg; j++) {
            const float *row = W + (o * ipg + j) * taps;
            double s = 0;
            for (int64_t k = 0; k < taps; k++)
                s += row[k];
            acc += s * m[base + j];
        }
        y[o] += acc;
    }
    free(W);
    return TSL_STATUS_OK;
}

/* Estimate of node n's output 0 into out (C doubles, already allocated);
 * UNSUPPORTED when there is none. */
static enum tsl_status node_means(const struct prop *p, const struct tsl_node *n, double *out,
                                  int64_t C)
{
    const struct tsl_value *x = n->n_inputs ? n->inputs[0] : NULL;
    const struct est *a = est_of(p, x);
    int32_t r = n->outputs[0]->type.shape.rank;
    enum tsl_status st = TSL_STATUS_OK;
    switch (n->op) {
    case TSL_OP_CONV:
        if (n->n_inputs < 2 || !x)
            return TSL_STATUS_UNSUPPORTED;
        if (!a && !x->is_input)
            return TSL_STATUS_UNSUPPORTED;
        return conv_means(n, a ? a->m : NULL, a ? a->C : channels(x), out, C, p->diag);
    case TSL_OP_ADD:
    case TSL_OP_SUB:
    case TSL_OP_MUL:
    case TSL_OP_DIV: {
        if (n->n_inputs != 2)
            return TSL_STATUS_UNSUPPORTED;
        double *v[2] = {NULL, NULL};
        bool own[2] = {false, false};
        for (int i = 0; i < 2 && st == TSL_STATUS_OK; i++) {
            const struct est *e = est_of(p, n->inputs[i]);
            if (e && e->C == C)
                v[i] = e->m;
            else
                own[i] = const_per_channel(n->inputs[i], r, C, &v[i], p->diag, &st);
        }
        /* one side estimated, the other estimated or a constant; E[1/x]
         * is not 1/E[x] */
        bool ok = st == TSL_STATUS_OK && v[0] && v[1] && !(own[0] && own[1]) &&
                  !(n->op == TSL_OP_DIV && !own[1]);
        for (int64_t c = 0; ok && c < C; c++) {
            double l = v[0][c], q = v[1][c];
            out[c] = n->op == TSL_OP_ADD ? l + q
                     : n->op == TSL_OP_SUB ? l - q
                     : n->op == TSL_OP_MUL ? l * q
                                           : (q != 0 ? l / q : NAN);
            ok = isfinite(out[c]);
        }
        for (int i = 0; i < 2; i++)
            if (own[i])
                free(v[i]);
        if (st != TSL_STATUS_OK)
            return st;
        return ok ? TSL_STATUS_OK : TSL_STATUS_UNSUPPORTED;
    }
    default:
        break;
    }
    if (!a || a->C != C)
        return TSL_STATUS_UNSUPPORTED;
    double lo = -INFINITY, hi = INFINITY, alpha = n->attrs.alpha_beta.alpha,
           beta = n->attrs.alpha_beta.beta;
    double *bn[4] = {NULL, NULL, NULL, NULL};
    switch (n->op) {
    case TSL_OP_CLIP:
        if ((n->n_inputs > 1 && n->inputs[1] && !const_scalar(n->inputs[1], &lo, p->diag, &st)) ||
            (n->n_inputs > 2 && n->inputs[2] && !const_scalar(n->inputs[2], &hi, p->diag, &st)))
            return st != TSL_STATUS_OK ? st : TSL_STATUS_UNSUPPORTED;
        break;
    case TSL_OP_BATCH_NORM:
        for (int i = 0; i < 4; i++)
            if (!const_per_channel(n->inputs[i + 1], 2, C, &bn[i], p->diag, &st)) {
                for (int k = 0; k < 4; k++)
                    free(bn[k]);
                return st != TSL_STATUS_OK ? st : TSL_STATUS_UNSUPPORTED;
            }
        break;
    case TSL_OP_RELU:
    case TSL_OP_LEAKY_RELU:
        /* Relu(E[z]) is far from E[Relu(z)] when the spread of z is
         * comparable to its mean, which it is on feature maps; after
         * global pooling ([N, C, 1, ...]) only the spread across samples
         * is left, and the point estimate holds (squeeze-excite). */
        if (!pooled(n->outputs[0]))
            return TSL_STATUS_UNSUPPORTED;
        break;
    case TSL_OP_HARD_SIGMOID:
    case TSL_OP_HARD_SWISH:
    case TSL_OP_SIGMOID:
    case TSL_OP_IDENTITY:
    case TSL_OP_GLOBAL_AVERAGE_POOL:
    case TSL_OP_AVERAGE_POOL:
    case TSL_OP_MAX_POOL:
        break;
    default:
        return TSL_STATUS_UNSUPPORTED;
    }
    for (int64_t c = 0; c < C; c++) {
        double m = a->m[c];
        switch (n->op) {
        case TSL_OP_RELU: m = m > 0 ? m : 0; break;
        case TSL_OP_LEAKY_RELU: m = m > 0 ? m : alpha * m; break;
        case TSL_OP_CLIP: m = clampd(m, lo, hi); break;
        case TSL_OP_HARD_SIGMOID: m = clampd(alpha * m + beta, 0, 1); break;
        case TSL_OP_HARD_SWISH: m = m * clampd(m / 6 + 0.5, 0, 1); break;
        case TSL_OP_SIGMOID: m = 1 / (1 + exp(-m)); break;
        case TSL_OP_BATCH_NORM:
            m = bn[0][c] * (m - bn[2][c]) / sqrt(bn[3][c] + n->attrs.batchnorm.epsilon) +
                bn[1][c];
            break;
        default: break;
        }
        out[c] = m;
    }
    for (int k = 0; k < 4; k++)
        free(bn[k]);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_opq_dfq_estimate(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                     struct tsl_opq_dfq *out, struct tsl_diag *diag)
{
    memset(out, 0, sizeof *out);
    struct prop p = {.g = g, .n = g->next_value_id, .diag = diag};
    p.e = calloc(p.n ? p.n : 1, sizeof *p.e);
    out->n = ws->n;
    out->mean = calloc(ws->n ? ws->n : 1, sizeof *out->mean);
    out->n_x = calloc(ws->n ? ws->n : 1, sizeof *out->n_x);
    enum tsl_status st = p.e && out->mean && out->n_x ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
    for (const struct tsl_node *n = g->first; n && st == TSL_STATUS_OK; n = n->next) {
        const struct tsl_value *y = n->outputs[0];
        int64_t C = channels(y);
        if (C == 0 || y->id >= p.n)
            continue;
        double *m = malloc((size_t)C * sizeof *m);
        if (!m) {
            st = TSL_STATUS_NOMEM;
            break;
        }
        enum tsl_status s = node_means(&p, n, m, C);
        if (s == TSL_STATUS_OK) {
            p.e[y->id].C = C;
            p.e[y->id].m = m;
        } else {
            free(m);
            if (s != TSL_STATUS_UNSUPPORTED)
                st = s;
        }
    }
    for (uint32_t k = 0; st == TSL_STATUS_OK && k < ws->n; k++) {
        const struct tsl_node *n = ws->w[k].node;
        const struct est *a = n->op == TSL_OP_CONV ? est_of(&p, n->inputs[0]) : NULL;
        if (!a)
            continue;
        if (!(out->mean[k] = malloc((size_t)a->C * sizeof **out->mean))) {
            st = TSL_STATUS_NOMEM;
            break;
        }
        memcpy(out->mean[k], a->m, (size_t)a->C * sizeof *a->m);
        out->n_x[k] = a->C;
    }
    for (uint32_t i = 0; p.e && i < p.n; i++)
        free(p.e[i].m);
    free(p.e);
    if (st != TSL_STATUS_OK) {
        tsl_opq_dfq_fini(out);
        if (st == TSL_STATUS_NOMEM)
            return tsl_diag_error(diag, st, "opq", "out of memory");
    }
    return st;
}

void tsl_opq_dfq_fini(struct tsl_opq_dfq *d)
{
    for (uint32_t k = 0; d->mean && k < d->n; k++)
        free(d->mean[k]);
    free(d->mean);
    free(d->n_x);
    d->mean = NULL;
    d->n_x = NULL;
    d->n = 0;
}

/* The Conv of cw takes a bias correction: one use of the weight, bias
 * absent or a constant f32 [n_ch] vector. */
static bool correctable(const struct tsl_cweight *cw)
{
    const struct tsl_node *n = cw->node;
    const struct tsl_value *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    if (n->op != TSL_OP_CONV || cw->value->n_uses != 1)
        return false;
    return !b || (b->constant && b->type.dtype == TSL_DTYPE_F32 && b->type.shape.rank == 1 &&
                  b->type.shape.dims[0] == cw->n_ch);
}

enum tsl_status tsl_opq_dfq_correct(struct tsl_graph *g, const struct tsl_cweights *ws,
                                    const struct tsl_opq_dfq *d, const float *const *w_orig,
                                    uint32_t *n_corrected, struct tsl_diag *diag)
{
    *n_corrected = 0;
    for (uint32_t k = 0; k < ws->n && k < d->n; k++) {
        const struct tsl_cweight *cw = &ws->w[k];
        if (!d->mean[k] || !correctable(cw))
            continue;
        int64_t group = cw->node->attrs.conv.group;
        if (group < 1 || cw->n_ch % group || d->n_x[k] != cw->in_dim * group)
            continue;
        float *q = NULL;
        uint8_t *mask = NULL;
        TSL_TRY(tsl_cw_load(cw, &q, &mask, diag));
        free(mask);
        double *delta = calloc((size_t)cw->n_ch, sizeof *delta);
        if (!delta) {
            free(q);
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, "opq", "out of memory");
        }
        int64_t opg = cw->n_ch / group;
        for (int64_t i = 0; i < cw->numel; i++) {
            int64_t o = tsl_cw_channel(cw, i), j = (i / cw->in_stride) % cw->in_dim;
            double m = d->mean[k][(o / opg) * cw->in_dim + j];
            delta[o] += ((double)w_orig[k][i] - (double)q[i]) * m;
        }
        free(q);
        enum tsl_status st = tsl_opq_bias_add(g, cw, delta, diag);
        free(delta);
        TSL_TRY(st);
        (*n_corrected)++;
    }
    return TSL_STATUS_OK;
}
