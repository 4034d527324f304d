/* test_opq_dfq.c - unit tests of the data-free moment estimates of the opq
 * pass (passes/opq_dfq.c), checked against closed forms on tiny graphs: a
 * Conv of the model input (zero mean, TSL_OPQ_DFQ_INPUT_VAR) followed by
 * Relu on a pooled-shape value gives the rectified-Gaussian mean and
 * variance (on a feature map it ends the estimate); a 3x3 Conv sums its
 * taps with TSL_OPQ_DFQ_TAP_CORR; a hardswish written as x * Clip(x + 3, 0,
 * 6) / 6 gets exactly the estimate of the HardSwish op (its two factors are
 * one variable, not independent ones), and both match E[hardswish(z)]
 * integrated numerically; a product of two different Conv outputs follows
 * the independence rule; a layer whose estimated input is exactly zero
 * (Relu of a negative pooled value) is not starved to 1 bit by the
 * importance weighting.  Data-free GPTQ: the H of tsl_opq_dfq_cov is
 * diag(Var) + E[x]E[x]^T of the estimate (and absent for a layer reading the
 * model input); GPTQ against such an H keeps every row's mean error
 * (W - What) E[x] well below plain rounding's; in the pass, a layer
 * reading a feature map is GPTQ-rounded and one reading a globally pooled
 * value (variance 0) is rounded to nearest; with Huffman-coded indices such
 * a pooled-input layer gets at least 5 bits where the same layer reading a
 * feature map gets 4.  The pass-level behaviour (bias correction, no
 * input read) is in test_opq_calib.c and test_opq.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../passes/opq_dfq.h"
#include "../../passes/opq_gptq.h"
#include "../../passes/opq_math.h"
#include "tessel/ir.h"
#include "tessel/passes.h"

#include "opq_graph.h"

static struct tsl_value *add_const(struct tsl_graph *g, const char *name, int32_t rank,
                                   const int64_t *dims, const float *vals)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, vals, &v), TSL_STATUS_OK);
    return v;
}

static const float w_a[3 * 2] = {0.8f, -0.5f, 0.3f, 0.4f, -1.2f, 0.7f};
static const float b_a[3] = {0.5f, -0.2f, 1.0f};
static const float w_b[2 * 3] = {0.1f, 0.2f, 0.3f, -0.3f, 0.2f, 0.1f};

/* x[1,2,hw,hw] -> Conv a (3x2 1x1, bias b_a) -> `act` -> Conv b (2x3 1x1). */
static struct tsl_graph *make_chain(enum tsl_op act, int64_t hw)
{
    struct tsl_value *x, *h;
    struct tsl_graph *g = new_graph("chain", 4, (int64_t[]){1, 2, hw, hw}, &x);
    struct tsl_value *wa = add_const(g, "wa", 4, (int64_t[]){3, 2, 1, 1}, w_a);
    struct tsl_value *ba = add_const(g, "ba", 1, (int64_t[]){3}, b_a);
    struct tsl_value *wb = add_const(g, "wb", 4, (int64_t[]){2, 3, 1, 1}, w_b);
    h = add_node(g, TSL_OP_CONV, "a", 3, (struct tsl_value *[]){x, wa, ba}, NULL);
    h = add_node(g, act, "act", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){h, wb}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    return g;
}

/* Shapes inferred, compressible weights found, moments estimated. */
static void estimate(struct tsl_graph *g, struct tsl_cweights *ws, struct tsl_opq_dfq *d)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &diag);
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("infer-shapes", &id));
    assert_int_equal(tsl_pass_run(g, id, &c), TSL_STATUS_OK);
    assert_int_equal(tsl_cw_find(g, ws, &diag), TSL_STATUS_OK);
    assert_int_equal(tsl_opq_dfq_estimate(g, ws, d, &diag), TSL_STATUS_OK);
    assert_int_equal(d->n, ws->n);
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&diag);
}

/* Index of the weight named `name` in ws. */
static uint32_t layer(const struct tsl_cweights *ws, const char *name)
{
    for (uint32_t k = 0; k < ws->n; k++)
        if (!strcmp(ws->w[k].value->name, name))
            return k;
    fail_msg("no layer %s", name);
    return 0;
}

static double phi(double t)
{
    return exp(-0.5 * t * t) / 2.5066282746310002; /* sqrt(2 pi) */
}

static double Phi(double t)
{
    return 0.5 * erfc(-t / sqrt(2));
}

/* |got - want| <= rel * max(|want|, scale). */
static void assert_close(double got, double want, double rel, double scale)
{
    double tol = rel * (fabs(want) > scale ? fabs(want) : scale);
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.9g, want %.9g (tolerance %.3g)", got, want, tol);
}

static void test_relu_moments_closed_form(void **state)
{
    (void)state;
    /* a's output channel o is Gaussian: mean b_a[o], variance sum_j
     * w_a[o][j]^2 * input variance (1x1: taps play no role; different input
     * channels independent).  Relu of N(mu, s^2): E = mu Phi(mu/s) + s
     * phi(mu/s), E[r^2] = (mu^2 + s^2) Phi(mu/s) + mu s phi(mu/s). */
    struct tsl_graph *g = make_chain(TSL_OP_RELU, 1); /* [N, C, 1, 1]: Relu estimated */
    struct tsl_cweights ws;
    struct tsl_opq_dfq d;
    estimate(g, &ws, &d);
    uint32_t kb = layer(&ws, "wb"), ka = layer(&ws, "wa");
    assert_null(d.mean[ka]); /* a reads the model input: nothing to record */
    assert_non_null(d.mean[kb]);
    assert_int_equal(d.n_x[kb], 3);
    for (int o = 0; o < 3; o++) {
        double mu = b_a[o], s2 = 0;
        for (int j = 0; j < 2; j++)
            s2 += (double)w_a[o * 2 + j] * w_a[o * 2 + j] * TSL_OPQ_DFQ_INPUT_VAR;
        double s = sqrt(s2), t = mu / s;
        double e1 = mu * Phi(t) + s * phi(t), e2 = (mu * mu + s2) * Phi(t) + mu * s * phi(t);
        print_message("channel %d: mean %.6f (closed form %.6f), var %.6f (%.6f)\n", o,
                      d.mean[kb][o], e1, d.var[kb][o], e2 - e1 * e1);
        /* the grid's kink error is O(h^2) of the spread s, h = s/8 */
        assert_close(d.mean[kb][o], e1, 2e-3, s);
        assert_close(d.var[kb][o], e2 - e1 * e1, 2e-3, s2);
    }
    tsl_opq_dfq_fini(&d);
    tsl_cw_fini(&ws);
    tsl_graph_destroy(g);
    /* the same Relu on a 5x5 feature map: no estimate for b */
    g = make_chain(TSL_OP_RELU, 5);
    estimate(g, &ws, &d);
    assert_null(d.mean[layer(&ws, "wb")]);
    tsl_opq_dfq_fini(&d);
    tsl_cw_fini(&ws);
    tsl_graph_destroy(g);
}

/* hardswish(z) = z * clamp(z/6 + 1/2, 0, 1). */
static double hswish(double z)
{
    double c = z / 6 + 0.5;
    return z * (c < 0 ? 0 : c > 1 ? 1 : c);
}

/* E[f(z)] and E[f(z)^2] for z ~ N(mu, s^2) by the midpoint rule on
 * [-12 s, 12 s] with 200001 points (independent of the pass's grid). */
static void integrate(double (*f)(double), double mu, double s, double *e1, double *e2)
{
    const int n = 200001;
    double h = 24.0 / n, a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        double t = -12 + (i + 0.5) * h, y = f(mu + s * t), p = phi(t) * h;
        a += p * y;
        b += p * y * y;
    }
    *e1 = a;
    *e2 = b;
}

/* x[1,2,5,5] -> Conv a -> (h + 3) -> Clip(0, 6) -> h * that -> / 6 -> Conv b:
 * the decomposed hardswish exporters emit (PP-OCR). */
static struct tsl_graph *make_decomposed_hardswish(void)
{
    struct tsl_value *x, *h, *t;
    struct tsl_graph *g = new_graph("dec", 4, (int64_t[]){1, 2, 5, 5}, &x);
    struct tsl_value *wa = add_const(g, "wa", 4, (int64_t[]){3, 2, 1, 1}, w_a);
    struct tsl_value *ba = add_const(g, "ba", 1, (int64_t[]){3}, b_a);
    struct tsl_value *wb = add_const(g, "wb", 4, (int64_t[]){2, 3, 1, 1}, w_b);
    struct tsl_value *three = add_const(g, "three", 0, NULL, (float[]){3.0f});
    struct tsl_value *zero = add_const(g, "zero", 0, NULL, (float[]){0.0f});
    struct tsl_value *six = add_const(g, "six", 0, NULL, (float[]){6.0f});
    h = add_node(g, TSL_OP_CONV, "a", 3, (struct tsl_value *[]){x, wa, ba}, NULL);
    t = add_node(g, TSL_OP_ADD, "add3", 2, (struct tsl_value *[]){h, three}, NULL);
    t = add_node(g, TSL_OP_CLIP, "clip", 3, (struct tsl_value *[]){t, zero, six}, NULL);
    t = add_node(g, TSL_OP_MUL, "mul", 2, (struct tsl_value *[]){h, t}, NULL);
    t = add_node(g, TSL_OP_DIV, "div6", 2, (struct tsl_value *[]){t, six}, NULL);
    t = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){t, wb}, NULL);
    assert_int_equal(tsl_graph_add_output(g, t), TSL_STATUS_OK);
    return g;
}

static void test_decomposed_hardswish_is_one_variable(void **state)
{
    (void)state;
    struct tsl_graph *gf = make_chain(TSL_OP_HARD_SWISH, 5), *gd = make_decomposed_hardswish();
    struct tsl_cweights wf, wd;
    struct tsl_opq_dfq df, dd;
    estimate(gf, &wf, &df);
    estimate(gd, &wd, &dd);
    uint32_t kf = layer(&wf, "wb"), kd = layer(&wd, "wb");
    assert_non_null(df.mean[kf]);
    assert_non_null(dd.mean[kd]);
    for (int o = 0; o < 3; o++) {
        double s2 = 0;
        for (int j = 0; j < 2; j++)
            s2 += (double)w_a[o * 2 + j] * w_a[o * 2 + j] * TSL_OPQ_DFQ_INPUT_VAR;
        double e1, e2;
        integrate(hswish, b_a[o], sqrt(s2), &e1, &e2);
        print_message("channel %d: fused %.6f / %.6f, decomposed %.6f / %.6f, integral %.6f / "
                      "%.6f\n",
                      o, df.mean[kf][o], df.var[kf][o], dd.mean[kd][o], dd.var[kd][o], e1,
                      e2 - e1 * e1);
        /* the same function of the same variable, up to rounding */
        assert_close(dd.mean[kd][o], df.mean[kf][o], 1e-9, 1e-9);
        assert_close(dd.var[kd][o], df.var[kf][o], 1e-9, 1e-9);
        assert_close(df.mean[kf][o], e1, 2e-3, sqrt(s2));
        assert_close(df.var[kf][o], e2 - e1 * e1, 2e-3, s2);
    }
    tsl_opq_dfq_fini(&df);
    tsl_opq_dfq_fini(&dd);
    tsl_cw_fini(&wf);
    tsl_cw_fini(&wd);
    tsl_graph_destroy(gf);
    tsl_graph_destroy(gd);
}

static void test_conv_taps_and_independent_product(void **state)
{
    (void)state;
    /* x[1,1,6,6] -> Conv p (2x1 3x3, bias bp) and Conv r (2x1 1x1, bias br),
     * both of x; Mul(p, r) -> Conv b (1x2 1x1).  p_o ~ N(bp_o, v_o) with
     * v_o = ((1 - rho) sum_k W^2 + rho (sum_k W)^2) * input variance; r_o ~
     * N(br_o, wr_o^2 * input variance); the product of two different
     * Conv outputs is taken as independent: mean mp * mr, variance
     * (vp + mp^2)(vr + mr^2) - mp^2 mr^2. */
    struct tsl_value *x, *p, *r, *h;
    struct tsl_graph *g = new_graph("prod", 4, (int64_t[]){1, 1, 6, 6}, &x);
    float wp[18], bp[2] = {0.4f, -1.1f}, wr[2] = {0.9f, -0.6f}, br[2] = {1.5f, 0.25f};
    for (int i = 0; i < 18; i++)
        wp[i] = 0.05f * (float)(i % 7) - 0.12f;
    struct tsl_value *cwp = add_const(g, "wp", 4, (int64_t[]){2, 1, 3, 3}, wp);
    struct tsl_value *cbp = add_const(g, "bp", 1, (int64_t[]){2}, bp);
    struct tsl_value *cwr = add_const(g, "wr", 4, (int64_t[]){2, 1, 1, 1}, wr);
    struct tsl_value *cbr = add_const(g, "br", 1, (int64_t[]){2}, br);
    struct tsl_value *wb = add_const(g, "wb", 4, (int64_t[]){1, 2, 1, 1}, (float[]){1.0f, 1.0f});
    struct tsl_node *pn;
    p = add_node(g, TSL_OP_CONV, "p", 3, (struct tsl_value *[]){x, cwp, cbp}, &pn);
    pn->attrs.conv.pads.n = 4;
    for (int i = 0; i < 4; i++)
        pn->attrs.conv.pads.v[i] = 1;
    r = add_node(g, TSL_OP_CONV, "r", 3, (struct tsl_value *[]){x, cwr, cbr}, NULL);
    h = add_node(g, TSL_OP_MUL, "mul", 2, (struct tsl_value *[]){p, r}, NULL);
    h = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){h, wb}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    struct tsl_cweights ws;
    struct tsl_opq_dfq d;
    estimate(g, &ws, &d);
    uint32_t kb = layer(&ws, "wb");
    assert_non_null(d.mean[kb]);
    const double rho = TSL_OPQ_DFQ_TAP_CORR, iv = TSL_OPQ_DFQ_INPUT_VAR;
    for (int o = 0; o < 2; o++) {
        double s = 0, s2 = 0;
        for (int k = 0; k < 9; k++) {
            s += wp[o * 9 + k];
            s2 += (double)wp[o * 9 + k] * wp[o * 9 + k];
        }
        double mp = bp[o], vp = ((1 - rho) * s2 + rho * s * s) * iv;
        double mr = br[o], vr = (double)wr[o] * wr[o] * iv;
        double m = mp * mr, v = (vp + mp * mp) * (vr + mr * mr) - mp * mp * mr * mr;
        print_message("channel %d: mean %.6f (%.6f), var %.6f (%.6f)\n", o, d.mean[kb][o], m,
                      d.var[kb][o], v);
        assert_close(d.mean[kb][o], m, 1e-9, 1e-9);
        assert_close(d.var[kb][o], v, 1e-9, 1e-9);
    }
    tsl_opq_dfq_fini(&d);
    tsl_cw_fini(&ws);
    tsl_graph_destroy(g);
}

static int bits_of(const struct tsl_pass_context *ctx, const char *name)
{
    for (uint32_t i = 0; i < ctx->n_layers; i++)
        if (!strcmp(ctx->layers[i].name, name))
            return ctx->layers[i].bits;
    fail_msg("no report for %s", name);
    return -1;
}

static void test_zero_input_estimate_keeps_layer_unweighted(void **state)
{
    (void)state;
    /* x[1,8,4,4] -> Conv p -> GlobalAveragePool -> Conv a (8x8 1x1, bias -5: the
     * pooled pre-activation is N(-5, small)) -> Relu (estimated: pooled;
     * E[x^2] is 0 to double precision) -> Conv b -> Conv c.  b's
     * importances are all zero; weighting by them would make every error
     * of b free and give it the least bits.  It must be allocated like
     * the layer of the same size and weight scale next to it. */
    struct tsl_value *x, *h;
    struct tsl_graph *g = new_graph("zero", 4, (int64_t[]){1, 8, 4, 4}, &x);
    float w[4][64], ba[8];
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < 64; i++)
            w[l][i] = 0.01f * (float)((i * 37 + l * 11) % 23) - 0.11f;
    for (int i = 0; i < 8; i++)
        ba[i] = -5.0f;
    struct tsl_value *wa = add_const(g, "wa", 4, (int64_t[]){8, 8, 1, 1}, w[0]);
    struct tsl_value *cba = add_const(g, "ba", 1, (int64_t[]){8}, ba);
    struct tsl_value *wb = add_const(g, "wb", 4, (int64_t[]){8, 8, 1, 1}, w[1]);
    struct tsl_value *wc = add_const(g, "wc", 4, (int64_t[]){8, 8, 1, 1}, w[2]);
    struct tsl_value *wp = add_const(g, "wp", 4, (int64_t[]){8, 8, 1, 1}, w[3]);
    h = add_node(g, TSL_OP_CONV, "p", 2, (struct tsl_value *[]){x, wp}, NULL);
    h = add_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "a", 3, (struct tsl_value *[]){h, wa, cba}, NULL);
    h = add_node(g, TSL_OP_RELU, "r", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){h, wb}, NULL);
    h = add_node(g, TSL_OP_CONV, "c", 2, (struct tsl_value *[]){h, wc}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    struct tsl_cweights ws;
    struct tsl_opq_dfq d;
    estimate(g, &ws, &d);
    uint32_t kb = layer(&ws, "wb");
    assert_non_null(d.mean[kb]);
    for (int c = 0; c < 8; c++)
        assert_true(d.mean[kb][c] * d.mean[kb][c] + d.var[kb][c] == 0.0);
    tsl_opq_dfq_fini(&d);
    tsl_cw_fini(&ws);
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &diag);
    c.compress.opq_rate = 3.0; /* tiny layers: the scales cost 32 bits per 8 weights */
    c.compress.keep_first_last = false;
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("opq", &id));
    assert_int_equal(tsl_pass_run(g, id, &c), TSL_STATUS_OK);
    print_message("bits a=%d b=%d c=%d\n", bits_of(&c, "wa"), bits_of(&c, "wb"),
                  bits_of(&c, "wc"));
    assert_true(bits_of(&c, "wb") > 1);
    assert_true(bits_of(&c, "wb") >= bits_of(&c, "wa") - 1);
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&diag);
    tsl_graph_destroy(g);
}

static void test_dfq_cov_closed_form(void **state)
{
    (void)state;
    struct tsl_graph *g = make_chain(TSL_OP_HARD_SWISH, 4);
    struct tsl_cweights ws;
    struct tsl_opq_dfq d;
    estimate(g, &ws, &d);
    uint32_t ka = layer(&ws, "wa"), kb = layer(&ws, "wb");
    double *H = (double *)1;
    assert_int_equal(tsl_opq_dfq_cov(&d, ka, &H), TSL_STATUS_OK);
    assert_null(H); /* a reads the model input: no estimate */
    assert_int_equal(tsl_opq_dfq_cov(&d, kb, &H), TSL_STATUS_OK);
    assert_non_null(H);
    assert_int_equal(d.n_x[kb], 3);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double want = d.mean[kb][a] * d.mean[kb][b] + (a == b ? d.var[kb][a] : 0.0);
            assert_true(H[a * 3 + b] == want);
        }
    assert_true(d.var[kb][0] > 0 && d.mean[kb][0] != 0);
    free(H);
    tsl_opq_dfq_fini(&d);
    tsl_cw_fini(&ws);
    tsl_graph_destroy(g);
}

/* Deterministic pseudo-random weights in [-1, 1). */
static float lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffffff) / (float)0x800000 - 1.0f;
}

static void test_gptq_mean_term_keeps_row_mean_error(void **state)
{
    (void)state;
    /* [O, I] = [6, 32] at 3 bits; H = diag(v) + mu mu^T with a mean that
     * dominates (as in PP-OCR's mean-dominated inputs): GPTQ must cut the
     * per-row mean error sum_j (W - Q)_oj mu_j well below nearest
     * rounding's, and every value it returns must be on the layer's grid. */
    enum { O = 6, I = 32 };
    float w[O * I], q[O * I];
    double H[I * I], mu[I], v[I];
    uint32_t seed = 12345;
    for (int i = 0; i < O * I; i++)
        w[i] = 0.3f * lcg(&seed);
    for (int j = 0; j < I; j++) {
        mu[j] = 0.2 + 0.05 * (j % 7);
        v[j] = 0.01 * (1 + j % 3);
    }
    for (int a = 0; a < I; a++)
        for (int b = 0; b < I; b++)
            H[a * I + b] = mu[a] * mu[b] + (a == b ? v[a] : 0.0);
    struct tsl_opq_layer L = {.w = w, .n = O * I, .n_ch = O, .inner = I, .min_B = 1};
    assert_true(tsl_opq_layer_prepare(&L));
    L.prune_thr = 0;
    tsl_opq_tables(&L);
    L.B = 3;
    struct tsl_cweight cw = {.numel = O * I, .n_ch = O, .inner = I, .in_dim = I, .in_stride = 1};
    assert_int_equal(tsl_opq_gptq(&cw, &L, H, q), TSL_STATUS_OK);
    double clip = L.clip[3], e_rtn = 0, e_gptq = 0;
    for (int o = 0; o < O; o++) {
        double s = L.scale[o], m_rtn = 0, m_gptq = 0;
        for (int j = 0; j < I; j++) {
            double x = w[o * I + j] / s;
            double r = s * tsl_opq_code_value(tsl_opq_quantize(x, 3, clip, false), 3, clip, false);
            double g = q[o * I + j];
            double on_grid =
                s * tsl_opq_code_value(tsl_opq_quantize(g / s, 3, clip, false), 3, clip, false);
            assert_true(fabs(g - on_grid) <= 1e-6 * s);
            m_rtn += (w[o * I + j] - r) * mu[j];
            m_gptq += (w[o * I + j] - g) * mu[j];
        }
        e_rtn += fabs(m_rtn);
        e_gptq += fabs(m_gptq);
    }
    print_message("sum |row mean error|: nearest %g, gptq %g\n", e_rtn, e_gptq);
    assert_true(e_gptq < 0.25 * e_rtn);
    tsl_opq_layer_fini(&L);
}

/* x[1,C,4,4] -> Conv p (CxC 1x1, bias 1) -> [GlobalAveragePool] ->
 * HardSwish -> Conv b (C/2 x C 1x1), seeded weights; *wb_out gets b's
 * weights (C/2 * C, caller frees). */
static struct tsl_graph *make_gate(bool pooled, int C, float **wb_out)
{
    struct tsl_value *x, *h;
    struct tsl_graph *g = new_graph("gate", 4, (int64_t[]){1, C, 4, 4}, &x);
    float *wp = malloc((size_t)(C * C) * sizeof *wp), *bp = malloc((size_t)C * sizeof *bp);
    float *wb = malloc((size_t)(C / 2 * C) * sizeof *wb);
    assert_true(wp && bp && wb);
    uint32_t seed = 777;
    for (int i = 0; i < C * C; i++)
        wp[i] = 0.25f * lcg(&seed);
    for (int i = 0; i < C; i++)
        bp[i] = 1.0f;
    for (int i = 0; i < C / 2 * C; i++)
        wb[i] = 0.5f * lcg(&seed);
    struct tsl_value *cwp = add_const(g, "wp", 4, (int64_t[]){C, C, 1, 1}, wp);
    struct tsl_value *cbp = add_const(g, "bp", 1, (int64_t[]){C}, bp);
    struct tsl_value *cwb = add_const(g, "wb", 4, (int64_t[]){C / 2, C, 1, 1}, wb);
    h = add_node(g, TSL_OP_CONV, "p", 3, (struct tsl_value *[]){x, cwp, cbp}, NULL);
    if (pooled)
        h = add_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &h, NULL);
    h = add_node(g, TSL_OP_HARD_SWISH, "hs", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){h, cwb}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    free(wp);
    free(bp);
    *wb_out = wb;
    return g;
}

/* Conv b of a gate graph after the pass. */
static const struct tsl_value *weight_of_b(const struct tsl_graph *g)
{
    for (const struct tsl_node *n = g->first; n; n = n->next)
        if (!strcmp(n->name, "b"))
            return n->inputs[1];
    fail();
    return NULL;
}

/* make_gate(pooled, 16) with opq at 5x without keep-first-last (b gets at
 * most 5 bits, where data-free GPTQ applies).  Returns how many of b's
 * decoded weights are not the nearest code. */
static int not_nearest_of_b(bool pooled)
{
    float *wb = NULL;
    struct tsl_graph *g = make_gate(pooled, 16, &wb);
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &diag);
    c.compress.opq_rate = 5.0;
    c.compress.keep_first_last = false;
    /* infer-shapes first, as every pipeline does */
    assert_int_equal(tsl_pass_run_pipeline(g, "infer-shapes,opq", &c), TSL_STATUS_OK);
    const struct tsl_value *vb = weight_of_b(g);
    const struct tsl_const *k = vb->constant;
    assert_int_equal(k->encoding, TSL_ENC_CODEBOOK);
    assert_true(k->index_bits <= 5);
    float *dec = NULL;
    assert_int_equal(tsl_const_decode(vb, (void **)&dec, &diag), TSL_STATUS_OK);
    int off = 0;
    for (int i = 0; i < 128; i++) {
        if (k->mask && !((k->mask[i / 8] >> (i % 8)) & 1))
            continue; /* pruned */
        double s = k->channel_scale[i / 16], xn = wb[i] / s, best = INFINITY;
        for (uint32_t m = 0; m < k->n_codes; m++)
            best = fmin(best, fabs(xn - k->codebook[m]));
        if (fabs(xn - dec[i] / s) > best + 1e-6)
            off++;
    }
    free(dec);
    free(wb);
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&diag);
    tsl_graph_destroy(g);
    return off;
}

/* Index bits of b in make_gate(pooled, 64) after data-free opq at `rate`
 * with Huffman-coded indices, without keep-first-last. */
static int huffman_bits_of_b(bool pooled, double rate)
{
    float *wb = NULL;
    struct tsl_graph *g = make_gate(pooled, 64, &wb);
    free(wb);
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &diag);
    c.compress.opq_rate = rate;
    c.compress.keep_first_last = false;
    c.compress.index_coding = TSL_CODING_HUFFMAN;
    assert_int_equal(tsl_pass_run_pipeline(g, "infer-shapes,opq", &c), TSL_STATUS_OK);
    const struct tsl_const *k = weight_of_b(g)->constant;
    assert_int_equal(k->encoding, TSL_ENC_CODEBOOK);
    int bits = k->index_bits;
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&diag);
    tsl_graph_destroy(g);
    return bits;
}

/* With Huffman-coded indices a layer reading a globally pooled value (a
 * squeeze-excite gate: its error is an offset that only an estimated-mean
 * bias correction could remove) gets at least 5 bits, where the same layer
 * reading a feature map is allocated fewer. */
static void test_huffman_pooled_input_floor(void **state)
{
    (void)state;
    int fm = huffman_bits_of_b(false, 10), pooled = huffman_bits_of_b(true, 10);
    print_message("b at 10x: feature map %d bits, pooled %d bits\n", fm, pooled);
    assert_true(fm < 5);
    assert_true(pooled >= 5);
}

static void test_dfq_gptq_only_on_feature_map_inputs(void **state)
{
    (void)state;
    int fm = not_nearest_of_b(false), pooled = not_nearest_of_b(true);
    print_message("not nearest: feature map %d, pooled %d\n", fm, pooled);
    assert_true(fm > 0);
    assert_int_equal(pooled, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_moments_closed_form),
        cmocka_unit_test(test_decomposed_hardswish_is_one_variable),
        cmocka_unit_test(test_conv_taps_and_independent_product),
        cmocka_unit_test(test_zero_input_estimate_keeps_layer_unweighted),
        cmocka_unit_test(test_dfq_cov_closed_form),
        cmocka_unit_test(test_gptq_mean_term_keeps_row_mean_error),
        cmocka_unit_test(test_dfq_gptq_only_on_feature_map_inputs),
        cmocka_unit_test(test_huffman_pooled_input_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
