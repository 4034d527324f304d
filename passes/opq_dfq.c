/* opq_dfq.c - data-free activation statistics of the OPQ pass (opq_dfq.h):
 * per-channel activation means AND variances propagated forward through
 * the graph from its constants (Conv biases and weights, per-channel
 * affines, BatchNormalization, activations), starting from a zero-mean,
 * unit-variance model input (opq.c weights each layer's errors by the
 * estimated E[x^2]), and the bias update sum_j (W - What)_oj * E[x_j] of
 * every Conv layer whose input is estimated.  A value is carried
 * as a function of one Gaussian variable per channel, sampled on a fixed
 * grid (so an elementwise chain such as x * Clip(x + 3, 0, 6) / 6 keeps the
 * dependence of its two factors, and E[f(z)] includes the spread of z:
 * no Jensen error for a Gaussian z).  It never reads graph inputs,
 * evaluates nodes or runs the model, and it does not choose bits or write
 * codebooks (opq.c, opq_math.c).  docs/passes-opq.md measures how good the
 * estimates are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opq_calib.h"
#include "opq_dfq.h"
#include "tessel/util.h"

/* The fixed quadrature: GRID_K equally spaced points xi_k on
 * [-GRID_HALF, GRID_HALF] standard deviations, weighted by the normal
 * density (normalized; the points are scaled so that the grid's variance
 * is exactly 1).  Smooth functions come out to about 1e-6; a kink (Relu,
 * Clip) costs O(h^2) with h = 0.125, about 1e-4 of the spread. */
#define GRID_K 81
#define GRID_HALF 5.0

/* Model input assumed by the estimate: every channel zero-mean with this
 * variance (a normalized image; docs/passes-opq.md). */
static const double input_var = TSL_OPQ_DFQ_INPUT_VAR;

/* Correlations assumed between the inputs a Conv sums: between the taps
 * of one input channel (spatial neighbours; also an AveragePool window),
 * and between different input channels.  0 means independent, Var[y] =
 * sum W^2 Var[x]; docs/passes-opq.md compares the choices. */
static const double tap_correlation = TSL_OPQ_DFQ_TAP_CORR;
static const double channel_correlation = TSL_OPQ_DFQ_CHANNEL_CORR;

/* Relu and LeakyRelu on feature maps (not globally pooled): estimated
 * (true) or an end of the estimate (false).  docs/passes-opq.md has the
 * measurements: with them estimated, cls gains on the validation lines but
 * the digits CNN (Relu after every Conv, a [0, 1] pixel input far from the
 * assumed zero-mean one) loses 1.7 points at 16x. */
static const bool relu_on_feature_maps = false;

/* A per-channel estimate (channel axis 1) of one value: channel c is
 * f_c(z_c) for Gaussian z_c of the value `src`, sampled at the grid:
 * q[c * GRID_K + k] = f_c(xi_k).  Values with the same src are functions of
 * the same z (their product is taken sample by sample). */
struct est {
    int64_t C;
    double *q;     /* C * GRID_K samples, or NULL: unknown */
    uint32_t src;  /* value id of the Gaussian root */
    uint32_t left; /* uses not yet propagated; freed at 0 */
};

struct prop {
    const struct tsl_graph *g;
    struct est *e; /* indexed by value id */
    uint32_t n;
    double xi[GRID_K], wt[GRID_K];
    struct tsl_diag *diag;
};

static void grid_init(struct prop *p)
{
    double s = 0;
    for (int k = 0; k < GRID_K; k++) {
        p->xi[k] = -GRID_HALF + 2 * GRID_HALF * k / (GRID_K - 1);
        p->wt[k] = exp(-0.5 * p->xi[k] * p->xi[k]);
        s += p->wt[k];
    }
    double v = 0;
    for (int k = 0; k < GRID_K; k++) {
        p->wt[k] /= s;
        v += p->wt[k] * p->xi[k] * p->xi[k];
    }
    for (int k = 0; k < GRID_K; k++)
        p->xi[k] /= sqrt(v);
}

/* Mean and variance of channel c. */
static void moments(const struct prop *p, const struct est *e, int64_t c, double *m, double *v)
{
    const double *q = e->q + c * GRID_K;
    double s = 0, s2 = 0;
    for (int k = 0; k < GRID_K; k++)
        s += p->wt[k] * q[k];
    for (int k = 0; k < GRID_K; k++)
        s2 += p->wt[k] * (q[k] - s) * (q[k] - s);
    *m = s;
    *v = s2;
}

/* q (C * GRID_K) of Gaussian channels with means m and variances v. */
static void gaussian(const struct prop *p, double *q, int64_t C, const double *m, const double *v)
{
    for (int64_t c = 0; c < C; c++) {
        double sd = v[c] > 0 ? sqrt(v[c]) : 0;
        for (int k = 0; k < GRID_K; k++)
            q[c * GRID_K + k] = m[c] + sd * p->xi[k];
    }
}

static const struct est *est_of(const struct prop *p, const struct tsl_value *v)
{
    return v && v->id < p->n && p->e[v->id].q ? &p->e[v->id] : NULL;
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

/* Variance factor of a sum of n terms with pairwise correlation rho, each
 * of unit variance and weight a_i: (1 - rho) sum a_i^2 + rho (sum a_i)^2. */
static double corr_sum(double sum_sq, double sum, double rho)
{
    return (1 - rho) * sum_sq + rho * sum * sum;
}

/* Output moments of a Conv node from its input estimate a, or from the
 * model input (a == NULL: zero mean, input_var); writes q (n_out * GRID_K). */
static enum tsl_status conv_est(const struct prop *p, const struct tsl_node *n,
                                const struct est *a, int64_t C_in, double *q, int64_t n_out)
{
    const struct tsl_value *w = n->inputs[1], *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const struct tsl_shape *ws = &w->type.shape;
    int64_t group = n->attrs.conv.group, numel, c_in_w;
    if (!tsl_shape_numel(ws, &numel) || ws->rank < 3 || ws->dims[0] != n_out || group < 1 ||
        n_out % group || !tsl_mul_i64(ws->dims[1], group, &c_in_w) || c_in_w != C_in ||
        !w->constant || w->type.dtype != TSL_DTYPE_F32)
        return TSL_STATUS_UNSUPPORTED;
    int64_t ipg = ws->dims[1], taps = numel / (n_out * ipg), opg = n_out / group;
    enum tsl_status st = TSL_STATUS_OK;
    double *m = calloc((size_t)n_out, sizeof *m), *v = calloc((size_t)n_out, sizeof *v);
    double *xm = malloc((size_t)C_in * sizeof *xm), *xv = malloc((size_t)C_in * sizeof *xv);
    double *bv = NULL;
    float *W = NULL;
    if (!m || !v || !xm || !xv)
        st = TSL_STATUS_NOMEM;
    else if (b && !const_per_channel(b, 2, n_out, &bv, p->diag, &st) && st == TSL_STATUS_OK)
        st = TSL_STATUS_UNSUPPORTED;
    if (st == TSL_STATUS_OK)
        st = tsl_const_decode(w, (void **)&W, p->diag);
    for (int64_t j = 0; st == TSL_STATUS_OK && j < C_in; j++) {
        if (a)
            moments(p, a, j, &xm[j], &xv[j]);
        else {
            xm[j] = 0;
            xv[j] = input_var;
        }
    }
    for (int64_t o = 0; st == TSL_STATUS_OK && o < n_out; o++) {
        int64_t base = (o / opg) * ipg;
        double mean = bv ? bv[o] : 0, sd_sum = 0, var_sum = 0; /* sd_sum: signed */
        for (int64_t j = 0; j < ipg; j++) {
            const float *row = W + (o * ipg + j) * taps;
            double s = 0, s2 = 0;
            for (int64_t k = 0; k < taps; k++) {
                s += row[k];
                s2 += (double)row[k] * row[k];
            }
            mean += s * xm[base + j];
            double vj = corr_sum(s2, s, tap_correlation) * xv[base + j];
            var_sum += vj;
            sd_sum += (s < 0 ? -1 : 1) * sqrt(vj);
        }
        m[o] = mean;
        v[o] = corr_sum(var_sum, sd_sum, channel_correlation);
    }
    if (st == TSL_STATUS_OK)
        gaussian(p, q, n_out, m, v);
    free(W);
    free(bv);
    free(m);
    free(v);
    free(xm);
    free(xv);
    return st;
}

/* Add/Sub/Mul/Div: an estimate with a constant, two estimates of the same
 * root (sample by sample), or two of different roots (independent: the
 * moments combine, and the result is a new Gaussian root). */
static enum tsl_status binary_est(const struct prop *p, const struct tsl_node *n, double *q,
                                  int64_t C, uint32_t *src)
{
    if (n->n_inputs != 2)
        return TSL_STATUS_UNSUPPORTED;
    int32_t r = n->outputs[0]->type.shape.rank;
    enum tsl_status st = TSL_STATUS_OK;
    const struct est *e[2] = {NULL, NULL};
    double *cv[2] = {NULL, NULL};
    for (int i = 0; i < 2 && st == TSL_STATUS_OK; i++) {
        e[i] = est_of(p, n->inputs[i]);
        if (e[i] && e[i]->C != C)
            e[i] = NULL;
        if (!e[i])
            const_per_channel(n->inputs[i], r, C, &cv[i], p->diag, &st);
    }
    /* one side estimated, the other estimated or a constant; E[1/x] is not
     * 1/E[x], so a divisor must be a constant */
    bool ok = st == TSL_STATUS_OK && (e[0] || cv[0]) && (e[1] || cv[1]) && (e[0] || e[1]) &&
              !(n->op == TSL_OP_DIV && !cv[1]);
    bool joint = ok && e[0] && e[1] && e[0]->src != e[1]->src;
    double *m = NULL, *v = NULL;
    if (joint && (!(m = malloc((size_t)C * sizeof *m)) || !(v = malloc((size_t)C * sizeof *v)))) {
        st = TSL_STATUS_NOMEM;
        ok = false;
    }
    for (int64_t c = 0; ok && c < C; c++) {
        if (joint) {
            double m0, v0, m1, v1;
            moments(p, e[0], c, &m0, &v0);
            moments(p, e[1], c, &m1, &v1);
            m[c] = n->op == TSL_OP_ADD ? m0 + m1 : n->op == TSL_OP_SUB ? m0 - m1 : m0 * m1;
            v[c] = n->op == TSL_OP_MUL ? (v0 + m0 * m0) * (v1 + m1 * m1) - m0 * m0 * m1 * m1
                                       : v0 + v1;
            ok = isfinite(m[c]) && isfinite(v[c]);
            continue;
        }
        for (int k = 0; ok && k < GRID_K; k++) {
            double l = e[0] ? e[0]->q[c * GRID_K + k] : cv[0][c];
            double h = e[1] ? e[1]->q[c * GRID_K + k] : cv[1][c];
            double y = n->op == TSL_OP_ADD   ? l + h
                       : n->op == TSL_OP_SUB ? l - h
                       : n->op == TSL_OP_MUL ? l * h
                                             : (h != 0 ? l / h : NAN);
            q[c * GRID_K + k] = y;
            ok = isfinite(y);
        }
    }
    if (ok && joint) {
        gaussian(p, q, C, m, v);
        *src = n->outputs[0]->id;
    } else if (ok)
        *src = e[0] ? e[0]->src : e[1]->src;
    free(m);
    free(v);
    free(cv[0]);
    free(cv[1]);
    if (st != TSL_STATUS_OK)
        return st;
    return ok ? TSL_STATUS_OK : TSL_STATUS_UNSUPPORTED;
}

/* Product of the pool kernel's extents, or 0. */
static int64_t pool_size(const struct tsl_node *n)
{
    int64_t s = 1;
    for (uint32_t i = 0; i < n->attrs.pool.kernel_shape.n; i++)
        if (!tsl_mul_i64(s, n->attrs.pool.kernel_shape.v[i], &s) || s < 1)
            return 0;
    return n->attrs.pool.kernel_shape.n ? s : 0;
}

/* Estimate of node n's output 0 into q (C * GRID_K doubles, allocated) and
 * its root into *src; UNSUPPORTED when there is none. */
static enum tsl_status node_est(const struct prop *p, const struct tsl_node *n, double *q,
                                int64_t C, uint32_t *src)
{
    const struct tsl_value *x = n->n_inputs ? n->inputs[0] : NULL;
    const struct est *a = est_of(p, x);
    enum tsl_status st = TSL_STATUS_OK;
    *src = n->outputs[0]->id;
    switch (n->op) {
    case TSL_OP_CONV:
        if (n->n_inputs < 2 || !x || (!a && !x->is_input))
            return TSL_STATUS_UNSUPPORTED;
        return conv_est(p, n, a, a ? a->C : channels(x), q, C);
    case TSL_OP_ADD:
    case TSL_OP_SUB:
    case TSL_OP_MUL:
    case TSL_OP_DIV:
        return binary_est(p, n, q, C, src);
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
    case TSL_OP_GLOBAL_AVERAGE_POOL:
    case TSL_OP_AVERAGE_POOL: {
        /* mean kept; the spread shrinks with the window (global: only the
         * spread across samples is left, taken as 0) */
        int64_t ks = n->op == TSL_OP_AVERAGE_POOL ? pool_size(n) : 0;
        if (n->op == TSL_OP_AVERAGE_POOL && ks == 0)
            return TSL_STATUS_UNSUPPORTED;
        double *m = malloc((size_t)C * sizeof *m), *v = malloc((size_t)C * sizeof *v);
        if (!m || !v) {
            free(m);
            free(v);
            return TSL_STATUS_NOMEM;
        }
        double f = ks ? corr_sum(1.0 / (double)ks, 1.0, tap_correlation) : 0.0;
        for (int64_t c = 0; c < C; c++) {
            moments(p, a, c, &m[c], &v[c]);
            v[c] *= f;
        }
        gaussian(p, q, C, m, v);
        free(m);
        free(v);
        return TSL_STATUS_OK;
    }
    case TSL_OP_RELU:
    case TSL_OP_LEAKY_RELU:
        if (!relu_on_feature_maps && !pooled(n->outputs[0]))
            return TSL_STATUS_UNSUPPORTED;
        break;
    case TSL_OP_HARD_SIGMOID:
    case TSL_OP_HARD_SWISH:
    case TSL_OP_SIGMOID:
    case TSL_OP_IDENTITY:
    case TSL_OP_MAX_POOL: /* approximated by its input */
        break;
    default:
        return TSL_STATUS_UNSUPPORTED;
    }
    *src = a->src;
    for (int64_t c = 0; c < C; c++) {
        for (int k = 0; k < GRID_K; k++) {
            double z = a->q[c * GRID_K + k], y = z;
            switch (n->op) {
            case TSL_OP_RELU: y = z > 0 ? z : 0; break;
            case TSL_OP_LEAKY_RELU: y = z > 0 ? z : alpha * z; break;
            case TSL_OP_CLIP: y = clampd(z, lo, hi); break;
            case TSL_OP_HARD_SIGMOID: y = clampd(alpha * z + beta, 0, 1); break;
            case TSL_OP_HARD_SWISH: y = z * clampd(z / 6 + 0.5, 0, 1); break;
            case TSL_OP_SIGMOID: y = 1 / (1 + exp(-z)); break;
            case TSL_OP_BATCH_NORM:
                y = bn[0][c] * (z - bn[2][c]) / sqrt(bn[3][c] + n->attrs.batchnorm.epsilon) +
                    bn[1][c];
                break;
            default: break;
            }
            q[c * GRID_K + k] = y;
        }
    }
    for (int k = 0; k < 4; k++)
        free(bn[k]);
    return TSL_STATUS_OK;
}

/* Index in ws of the weight node n reads (its input 1), or ws->n. */
static uint32_t layer_of(const struct tsl_cweights *ws, const struct tsl_node *n)
{
    for (uint32_t k = 0; k < ws->n; k++)
        if (ws->w[k].node == n)
            return k;
    return ws->n;
}

/* Record the input moments of Conv layer k from estimate a. */
static enum tsl_status record(const struct prop *p, const struct est *a, uint32_t k,
                              struct tsl_opq_dfq *out)
{
    if (!(out->mean[k] = malloc((size_t)a->C * sizeof **out->mean)) ||
        !(out->var[k] = malloc((size_t)a->C * sizeof **out->var)))
        return TSL_STATUS_NOMEM;
    for (int64_t c = 0; c < a->C; c++)
        moments(p, a, c, &out->mean[k][c], &out->var[k][c]);
    out->n_x[k] = a->C;
    return TSL_STATUS_OK;
}

/* One node: its estimate, the moments of a layer it is, and the release of
 * input estimates it was the last user of. */
static enum tsl_status visit(struct prop *p, const struct tsl_node *n,
                             const struct tsl_cweights *ws, struct tsl_opq_dfq *out)
{
    enum tsl_status st = TSL_STATUS_OK;
    if (n->op == TSL_OP_CONV && n->n_inputs > 0) {
        const struct est *a = est_of(p, n->inputs[0]);
        uint32_t k = layer_of(ws, n);
        if (a && k < ws->n)
            st = record(p, a, k, out);
    }
    const struct tsl_value *y = n->n_outputs ? n->outputs[0] : NULL;
    int64_t C = y ? channels(y) : 0;
    if (st == TSL_STATUS_OK && C > 0 && y->id < p->n) {
        int64_t nq;
        double *q = NULL;
        if (!tsl_mul_i64(C, GRID_K, &nq) || !(q = malloc((size_t)nq * sizeof *q)))
            return TSL_STATUS_NOMEM;
        uint32_t src = y->id;
        enum tsl_status s = node_est(p, n, q, C, &src);
        if (s == TSL_STATUS_OK && y->n_uses > 0) {
            p->e[y->id] = (struct est){.C = C, .q = q, .src = src, .left = y->n_uses};
            q = NULL;
        } else if (s != TSL_STATUS_UNSUPPORTED)
            st = s;
        free(q);
    }
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *v = n->inputs[i];
        struct est *e = v && v->id < p->n && p->e[v->id].q ? &p->e[v->id] : NULL;
        if (e && --e->left == 0) {
            free(e->q);
            e->q = NULL;
        }
    }
    return st;
}

enum tsl_status tsl_opq_dfq_estimate(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                     struct tsl_opq_dfq *out, struct tsl_diag *diag)
{
    memset(out, 0, sizeof *out);
    struct prop p = {.g = g, .n = g->next_value_id, .diag = diag};
    grid_init(&p);
    p.e = calloc(p.n ? p.n : 1, sizeof *p.e);
    out->n = ws->n;
    out->mean = calloc(ws->n ? ws->n : 1, sizeof *out->mean);
    out->var = calloc(ws->n ? ws->n : 1, sizeof *out->var);
    out->n_x = calloc(ws->n ? ws->n : 1, sizeof *out->n_x);
    enum tsl_status st =
        p.e && out->mean && out->var && out->n_x ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
    for (const struct tsl_node *n = g->first; n && st == TSL_STATUS_OK; n = n->next)
        st = visit(&p, n, ws, out);
    for (uint32_t i = 0; p.e && i < p.n; i++)
        free(p.e[i].q);
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
    for (uint32_t k = 0; d->mean && k < d->n; k++) {
        free(d->mean[k]);
        if (d->var)
            free(d->var[k]);
    }
    free(d->mean);
    free(d->var);
    free(d->n_x);
    d->mean = NULL;
    d->var = NULL;
    d->n_x = NULL;
    d->n = 0;
}

/* The Conv of cw takes a bias correction: one use of the weight, bias
 * absent or a constant f32 [n_ch] vector. */
bool tsl_opq_dfq_correctable(const struct tsl_cweight *cw)
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
        if (!d->mean[k] || !w_orig[k] || !tsl_opq_dfq_correctable(cw))
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

enum tsl_status tsl_opq_dfq_cov(const struct tsl_opq_dfq *d, uint32_t k, double **out)
{
    *out = NULL;
    if (k >= d->n || !d->mean[k])
        return TSL_STATUS_OK;
    int64_t C = d->n_x[k], nn;
    if (!tsl_mul_i64(C, C, &nn))
        return TSL_STATUS_NOMEM;
    double *H = malloc((size_t)(nn ? nn : 1) * sizeof *H);
    if (!H)
        return TSL_STATUS_NOMEM;
    const double *m = d->mean[k], *v = d->var[k];
    for (int64_t a = 0; a < C; a++)
        for (int64_t b = 0; b < C; b++)
            H[a * C + b] = m[a] * m[b] + (a == b ? v[a] : 0.0);
    *out = H;
    return TSL_STATUS_OK;
}
