/* test_opq_calib.c - unit tests of the opq pass with --calib
 * (passes/opq_calib.c): calibration data changes the bit allocation when
 * one layer's input has a dominant channel that multiplies small weights;
 * bias correction keeps the per-channel output mean of a linear chain
 * (Conv without bias, MatMul, Gemm with C) equal to the fp32 model's on the
 * calibration batch, which it visibly is not without correction; bad
 * calibration files and a missing runner fail cleanly and leave the graph
 * alone; without --calib the runner is never called; GPTQ rounding stays
 * on the grid and beats plain rounding on correlated inputs; without
 * --calib, the data-free bias correction (input means estimated from the
 * preceding bias, opq_dfq.c) lowers a layer's output mean error.  The rest
 * of the data-free behaviour is covered by test_opq.c. */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../passes/opq_calib.h"
#include "../../passes/opq_gptq.h"
#include "tessel/ir.h"
#include "tessel/npy.h"
#include "tessel/passes.h"
#include "tessel/reference.h"
#include "tessel/verify.h"

#include "opq_graph.h"

static double lcg_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

/* Laplace(0, b) weights; every weight of input column 0 (axis in_axis
 * position 0, stride in_stride, in_dim columns) multiplied by col0. */
static struct tsl_value *add_weight(struct tsl_graph *g, const char *name, int32_t rank,
                                    const int64_t *dims, double b, double col0,
                                    int64_t in_stride, int64_t in_dim, uint64_t seed)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    int64_t n;
    assert_true(tsl_shape_numel(&t.shape, &n));
    float *w = malloc((size_t)n * sizeof *w);
    assert_non_null(w);
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        double u = lcg_uniform(&s) - 0.5;
        double v = -b * (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u));
        w[i] = (float)((i / in_stride) % in_dim == 0 ? v * col0 : v);
    }
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, w, &v), TSL_STATUS_OK);
    free(w);
    return v;
}

/* x[4,64,4,4] -> Conv a (64x64 1x1, input column 0 scaled by col0) -> Relu
 * -> Conv b (64x64 1x1) -> y. */
static struct tsl_graph *make_two_convs(double col0)
{
    struct tsl_value *x, *h;
    struct tsl_graph *g = new_graph("two", 4, (int64_t[]){4, 64, 4, 4}, &x);
    struct tsl_value *wa = add_weight(g, "wa", 4, (int64_t[]){64, 64, 1, 1}, 0.1, col0, 1, 64, 1);
    struct tsl_value *wb = add_weight(g, "wb", 4, (int64_t[]){64, 64, 1, 1}, 0.1, 1.0, 1, 64, 2);
    h = add_node(g, TSL_OP_CONV, "a", 2, (struct tsl_value *[]){x, wa}, NULL);
    h = add_node(g, TSL_OP_RELU, "r", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "b", 2, (struct tsl_value *[]){h, wb}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    return g;
}

/* x[8,16] -> Conv-free linear chain: MatMul(w1 [16,24]) -> Gemm(w2 [24,12],
 * C [12]) -> y[8,12]; and a rank-4 variant with a bias-less Conv first. */
static struct tsl_graph *make_linear_chain(void)
{
    struct tsl_value *x, *h;
    struct tsl_graph *g = new_graph("lin", 4, (int64_t[]){6, 16, 3, 3}, &x);
    struct tsl_value *w0 = add_weight(g, "w0", 4, (int64_t[]){16, 16, 1, 1}, 0.2, 1.0, 1, 16, 7);
    struct tsl_value *w1 = add_weight(g, "w1", 2, (int64_t[]){16, 24}, 0.2, 1.0, 24, 16, 8);
    struct tsl_value *w2 = add_weight(g, "w2", 2, (int64_t[]){24, 12}, 0.2, 1.0, 12, 24, 9);
    float cvals[12];
    for (int i = 0; i < 12; i++)
        cvals[i] = 0.1f * (float)i - 0.5f;
    struct tsl_type tc = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){12});
    struct tsl_value *c;
    assert_int_equal(tsl_graph_add_dense_constant(g, "c", &tc, cvals, &c), TSL_STATUS_OK);
    struct tsl_node *gemm;
    h = add_node(g, TSL_OP_CONV, "conv", 2, (struct tsl_value *[]){x, w0}, NULL);
    h = add_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &h, NULL);
    struct tsl_node *flat;
    h = add_node(g, TSL_OP_FLATTEN, "flat", 1, &h, &flat);
    flat->attrs.axis.axis = 1;
    h = add_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){h, w1}, NULL);
    h = add_node(g, TSL_OP_GEMM, "gemm", 3, (struct tsl_value *[]){h, w2, c}, &gemm);
    gemm->attrs.gemm.alpha = 0.5f;
    gemm->attrs.gemm.beta = 2.0f;
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    return g;
}

/* Calibration batch of `shape`: channel (axis 1) c has mean mean0 + c/8
 * and std 1, channel 0 std std0. */
static float *make_batch(const struct tsl_shape *shape, double mean0, double std0, int64_t *n)
{
    assert_true(tsl_shape_numel(shape, n));
    float *x = malloc((size_t)*n * sizeof *x);
    assert_non_null(x);
    int64_t inner = 1;
    for (int32_t d = 2; d < shape->rank; d++)
        inner *= shape->dims[d];
    uint64_t s = 99;
    for (int64_t i = 0; i < *n; i++) {
        int64_t c = (i / inner) % shape->dims[1];
        double u = (lcg_uniform(&s) - 0.5) * sqrt(12.0);
        x[i] = (float)(mean0 + (double)c / 8 + u * (c == 0 ? std0 : 1.0));
    }
    return x;
}

static void write_npy(const char *path, const float *x, const struct tsl_shape *shape)
{
    struct tsl_npy a = {.type = TSL_NPY_F32, .rank = shape->rank, .data = (void *)x};
    int64_t n;
    assert_true(tsl_shape_numel(shape, &n));
    for (int32_t d = 0; d < shape->rank; d++)
        a.dims[d] = shape->dims[d];
    a.data_bytes = (size_t)n * sizeof(float);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_npy_write_file(path, &a, &d), TSL_STATUS_OK);
    tsl_diag_fini(&d);
}

static char *temp_path(const char *name)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    size_t len = strlen(dir) + strlen(name) + 32;
    char *p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/tsl_opq_calib_%ld_%s", dir, (long)getpid(), name);
    return p;
}

static enum tsl_status run_opq(struct tsl_graph *g, double rate, const char *calib,
                               struct tsl_diag *d, struct tsl_pass_context *ctx)
{
    tsl_pass_context_init(ctx, d);
    ctx->calib_run = tsl_ref_calib_run;
    ctx->compress.opq_rate = rate;
    ctx->compress.keep_first_last = false;
    ctx->compress.calib_path = calib;
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("opq", &id));
    return tsl_pass_run(g, id, ctx);
}

static int bits_of(const struct tsl_pass_context *ctx, const char *name)
{
    for (uint32_t i = 0; i < ctx->n_layers; i++)
        if (!strcmp(ctx->layers[i].name, name))
            return ctx->layers[i].bits;
    fail_msg("no report for %s", name);
    return -1;
}

/* Run g and ref on batch x (shape s) through the reference backend. */
static void run_both(const struct tsl_graph *g, const struct tsl_graph *ref, const float *x,
                     const struct tsl_shape *s, struct tsl_tensor **o1, uint32_t *n1,
                     struct tsl_tensor **o2, uint32_t *n2)
{
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = *s, .data = (void *)x};
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_ref_run(g, &in, 1, o1, n1, NULL, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_ref_run(ref, &in, 1, o2, n2, NULL, &d), TSL_STATUS_OK);
    tsl_diag_fini(&d);
}

/* Squared distance between the outputs of g and ref on batch x. */
static double output_sq_error(const struct tsl_graph *g, const struct tsl_graph *ref,
                              const float *x, const struct tsl_shape *s)
{
    struct tsl_tensor *o1, *o2;
    uint32_t n1, n2;
    run_both(g, ref, x, s, &o1, &n1, &o2, &n2);
    int64_t n;
    assert_true(tsl_shape_numel(&o1[0].shape, &n));
    const float *y1 = o1[0].data, *y2 = o2[0].data;
    double e = 0;
    for (int64_t i = 0; i < n; i++)
        e += ((double)y1[i] - y2[i]) * ((double)y1[i] - y2[i]);
    tsl_tensors_free(o1, n1);
    tsl_tensors_free(o2, n2);
    return e;
}

static void test_calib_changes_allocation(void **state)
{
    (void)state;
    /* Column 0 of layer a is 8x smaller than the rest, so data-free it
     * hardly counts; the calibration input makes channel 0 dominant (std
     * 30 vs 1), so a's output error is mostly that column's.  The
     * calibrated allocation must differ from the data-free one and give a
     * smaller output error on the calibration batch at the same rate. */
    struct tsl_graph *ref = make_two_convs(1.0 / 8);
    struct tsl_graph *g0 = make_two_convs(1.0 / 8), *g1 = make_two_convs(1.0 / 8);
    const struct tsl_shape *s = &ref->inputs[0]->type.shape;
    int64_t n;
    float *x = make_batch(s, 0.0, 30.0, &n);
    char *path = temp_path("alloc.npy");
    write_npy(path, x, s);
    struct tsl_diag d0, d1;
    tsl_diag_init(&d0);
    tsl_diag_init(&d1);
    struct tsl_pass_context c0, c1;
    assert_int_equal(run_opq(g0, 8.0, NULL, &d0, &c0), TSL_STATUS_OK);
    assert_int_equal(run_opq(g1, 8.0, path, &d1, &c1), TSL_STATUS_OK);
    int a0 = bits_of(&c0, "wa"), b0 = bits_of(&c0, "wb");
    int a1 = bits_of(&c1, "wa"), b1 = bits_of(&c1, "wb");
    double e0 = output_sq_error(g0, ref, x, s), e1 = output_sq_error(g1, ref, x, s);
    print_message("data-free a=%d b=%d error %g; calib a=%d b=%d error %g\n", a0, b0, e0, a1,
                  b1, e1);
    assert_true(a0 != a1 || b0 != b1);
    assert_true(e1 < e0);
    tsl_pass_context_fini(&c0);
    tsl_pass_context_fini(&c1);
    tsl_diag_fini(&d0);
    tsl_diag_fini(&d1);
    tsl_graph_destroy(ref);
    tsl_graph_destroy(g0);
    tsl_graph_destroy(g1);
    remove(path);
    free(path);
    free(x);
}

/* Per-output-column mean of the only output of g on batch x. */
static double *output_means(const struct tsl_graph *g, const float *x, const struct tsl_shape *s,
                            int64_t *n_cols)
{
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = *s, .data = (void *)x};
    struct tsl_tensor *outs;
    uint32_t n_outs;
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_ref_run(g, &in, 1, &outs, &n_outs, NULL, &d), TSL_STATUS_OK);
    tsl_diag_fini(&d);
    assert_int_equal(outs[0].shape.rank, 2);
    int64_t rows = outs[0].shape.dims[0], cols = outs[0].shape.dims[1];
    double *m = calloc((size_t)cols, sizeof *m);
    assert_non_null(m);
    const float *y = outs[0].data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            m[c] += y[r * cols + c] / (double)rows;
    tsl_tensors_free(outs, n_outs);
    *n_cols = cols;
    return m;
}

static void test_bias_correction_keeps_output_mean(void **state)
{
    (void)state;
    struct tsl_graph *ref = make_linear_chain(), *plain = make_linear_chain(),
                     *cal = make_linear_chain();
    const struct tsl_shape *s = &ref->inputs[0]->type.shape;
    int64_t n, cols;
    float *x = make_batch(s, 3.0, 1.0, &n); /* large common mean: strong mean shift */
    char *path = temp_path("bias.npy");
    write_npy(path, x, s);
    struct tsl_diag d0, d1;
    tsl_diag_init(&d0);
    tsl_diag_init(&d1);
    struct tsl_pass_context c0, c1;
    assert_int_equal(run_opq(plain, 10.0, NULL, &d0, &c0), TSL_STATUS_OK);
    enum tsl_status st = run_opq(cal, 10.0, path, &d1, &c1);
    if (st != TSL_STATUS_OK)
        print_message("opq: %s: %s\n", tsl_diag_first_error(&d1)->where,
                      tsl_diag_first_error(&d1)->message);
    assert_int_equal(st, TSL_STATUS_OK);
    /* the Conv got a bias input, the MatMul an Add after it, Gemm's C changed */
    struct tsl_node *conv = tsl_graph_find_node(cal, "conv");
    assert_non_null(conv);
    assert_int_equal(conv->n_inputs, 3);
    assert_non_null(conv->inputs[2]);
    assert_true(conv->inputs[2]->constant != NULL);
    struct tsl_node *mm = tsl_graph_find_node(cal, "mm");
    assert_int_equal(mm->outputs[0]->n_uses, 1);
    assert_int_equal(mm->outputs[0]->uses[0].node->op, TSL_OP_ADD);
    struct tsl_diag dv;
    tsl_diag_init(&dv);
    enum tsl_status vst = tsl_verify(cal, &dv);
    if (vst != TSL_STATUS_OK)
        print_message("verify: %s: %s\n", tsl_diag_first_error(&dv)->where,
                      tsl_diag_first_error(&dv)->message);
    assert_int_equal(vst, TSL_STATUS_OK);
    tsl_diag_fini(&dv);

    double *m_ref = output_means(ref, x, s, &cols);
    double *m_plain = output_means(plain, x, s, &cols);
    double *m_cal = output_means(cal, x, s, &cols);
    double err_plain = 0, err_cal = 0, scale = 0;
    for (int64_t c = 0; c < cols; c++) {
        err_plain = fmax(err_plain, fabs(m_plain[c] - m_ref[c]));
        err_cal = fmax(err_cal, fabs(m_cal[c] - m_ref[c]));
        scale = fmax(scale, fabs(m_ref[c]));
    }
    print_message("max |mean shift|: uncorrected %g, corrected %g (output scale %g)\n",
                  err_plain, err_cal, scale);
    /* linear chain: the corrected mean is exact up to float rounding */
    assert_true(err_cal <= 1e-4 * (scale + 1));
    assert_true(err_plain > 100 * err_cal && err_plain > 1e-3 * scale);
    free(m_ref);
    free(m_plain);
    free(m_cal);
    tsl_pass_context_fini(&c0);
    tsl_pass_context_fini(&c1);
    tsl_diag_fini(&d0);
    tsl_diag_fini(&d1);
    tsl_graph_destroy(ref);
    tsl_graph_destroy(plain);
    tsl_graph_destroy(cal);
    remove(path);
    free(path);
    free(x);
}

/* A bad --calib must fail with `status` and a message containing `msg`,
 * leaving every weight dense. */
static void expect_bad_calib(const char *path, bool with_runner, enum tsl_status status,
                             const char *msg)
{
    struct tsl_graph *g = make_two_convs(1.0);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &d);
    c.calib_run = with_runner ? tsl_ref_calib_run : NULL;
    c.compress.opq_rate = 6.0;
    c.compress.keep_first_last = false;
    c.compress.calib_path = path;
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("opq", &id));
    assert_int_equal(tsl_pass_run(g, id, &c), status);
    const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
    assert_non_null(e);
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", e->where, e->message);
    print_message("%s\n", line);
    assert_non_null(strstr(line, msg));
    assert_int_equal(tsl_graph_find_value(g, "wa")->constant->encoding, TSL_ENC_DENSE);
    assert_int_equal(tsl_graph_find_value(g, "wb")->constant->encoding, TSL_ENC_DENSE);
    assert_int_equal(c.n_layers, 0);
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_bad_calib_is_clear_error(void **state)
{
    (void)state;
    char *missing = temp_path("missing.npy");
    expect_bad_calib(missing, true, TSL_STATUS_IO, missing);
    free(missing);

    char *garbage = temp_path("garbage.npy");
    FILE *f = fopen(garbage, "wb");
    assert_non_null(f);
    fputs("this is not a numpy file", f);
    fclose(f);
    expect_bad_calib(garbage, true, TSL_STATUS_PARSE, garbage);
    remove(garbage);
    free(garbage);

    /* wrong dtype: int32 */
    char *ints = temp_path("ints.npy");
    int32_t iv[4] = {1, 2, 3, 4};
    struct tsl_npy a = {.type = TSL_NPY_I32, .rank = 1, .dims = {4}, .data = iv,
                        .data_bytes = sizeof iv};
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_npy_write_file(ints, &a, &d), TSL_STATUS_OK);
    tsl_diag_fini(&d);
    expect_bad_calib(ints, true, TSL_STATUS_INVALID_ARG, "float32");
    remove(ints);
    free(ints);

    /* wrong shape: 8 channels where the model takes 16 */
    char *shape = temp_path("shape.npy");
    struct tsl_shape s = {.rank = 4, .dims = {4, 8, 4, 4}};
    int64_t n;
    float *x = make_batch(&s, 0.0, 1.0, &n);
    write_npy(shape, x, &s);
    expect_bad_calib(shape, true, TSL_STATUS_INVALID_ARG, "expected size 64");
    /* no runner */
    expect_bad_calib(shape, false, TSL_STATUS_UNSUPPORTED, "runner");
    remove(shape);
    free(shape);
    free(x);
}

static enum tsl_status runner_must_not_run(const struct tsl_graph *g, const float *input,
                                           const struct tsl_shape *shape,
                                           tsl_calib_hook_fn before, tsl_calib_hook_fn after,
                                           void *user, struct tsl_diag *diag)
{
    (void)g, (void)input, (void)shape, (void)before, (void)after, (void)user, (void)diag;
    fail_msg("opq ran the model without --calib");
    return TSL_STATUS_INTERNAL;
}

static void test_no_calib_never_runs_model(void **state)
{
    (void)state;
    struct tsl_graph *g = make_two_convs(1.0);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &d);
    c.calib_run = runner_must_not_run;
    c.compress.opq_rate = 6.0;
    c.compress.keep_first_last = false;
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("opq", &id));
    assert_int_equal(tsl_pass_run(g, id, &c), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_find_node(g, "a")->n_inputs, 2); /* no bias added */
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

/* GPTQ rounding on its own: every value it writes is a code of the
 * allocated grid, and with strongly correlated inputs its output error
 * tr((W - Q) H (W - Q)^T) is well below that of plain rounding. */
static void test_gptq_rounding_beats_plain(void **state)
{
    (void)state;
    enum { O = 8, I = 32 };
    struct tsl_value *x;
    struct tsl_graph *g = new_graph("gptq", 2, (int64_t[]){4, I}, &x);
    struct tsl_value *w = add_weight(g, "w", 2, (int64_t[]){I, O}, 0.3, 1.0, O, I, 5);
    add_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){x, w}, NULL);
    struct tsl_cweights ws;
    assert_int_equal(tsl_cw_find(g, &ws, NULL), TSL_STATUS_OK);
    assert_int_equal(ws.n, 1);
    const struct tsl_cweight *cw = &ws.w[0];
    assert_true(tsl_opq_gptq_fits(cw));
    const float *wv = cw->value->constant->data;
    struct tsl_opq_layer L = {.w = wv, .n = cw->numel, .n_ch = cw->n_ch, .inner = cw->inner};
    assert_true(tsl_opq_layer_prepare(&L));
    L.prune_thr = 0;
    tsl_opq_tables(&L);
    L.B = 3;
    /* H = A A^T with A having a strong common component: correlated inputs */
    static double A[I][I], H[I * I];
    uint64_t s = 3;
    for (int i = 0; i < I; i++)
        for (int j = 0; j < I; j++)
            A[i][j] = (lcg_uniform(&s) - 0.5) + (j == 0 ? 3.0 : 0.0) + (i == j ? 1.0 : 0.0);
    for (int i = 0; i < I; i++)
        for (int j = 0; j < I; j++) {
            double t = 0;
            for (int k = 0; k < I; k++)
                t += A[i][k] * A[j][k];
            H[i * I + j] = t;
        }
    float q_gptq[O * I], q_plain[O * I];
    assert_int_equal(tsl_opq_gptq(cw, &L, H, q_gptq), TSL_STATUS_OK);
    double e_gptq = 0, e_plain = 0;
    for (int64_t k = 0; k < cw->numel; k++) {
        int64_t o = k % O; /* [I, O]: output channel is the last axis */
        double sc = L.scale[o];
        uint32_t code = tsl_opq_quantize(wv[k] / sc, L.B, L.clip[L.B], L.masked);
        q_plain[k] = (float)(sc * tsl_opq_code_value(code, L.B, L.clip[L.B], L.masked));
        /* on the grid: re-quantizing gives the value back */
        uint32_t c2 = tsl_opq_quantize(q_gptq[k] / sc, L.B, L.clip[L.B], L.masked);
        assert_float_equal(q_gptq[k], sc * tsl_opq_code_value(c2, L.B, L.clip[L.B], L.masked),
                           1e-6 * sc);
    }
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int j = 0; j < I; j++) {
                double dg_i = (double)wv[i * O + o] - q_gptq[i * O + o];
                double dg_j = (double)wv[j * O + o] - q_gptq[j * O + o];
                double dp_i = (double)wv[i * O + o] - q_plain[i * O + o];
                double dp_j = (double)wv[j * O + o] - q_plain[j * O + o];
                e_gptq += dg_i * H[i * I + j] * dg_j;
                e_plain += dp_i * H[i * I + j] * dp_j;
            }
    print_message("output error: plain rounding %g, GPTQ %g\n", e_plain, e_gptq);
    assert_true(e_gptq < 0.5 * e_plain);
    tsl_opq_layer_fini(&L);
    tsl_cw_fini(&ws);
    tsl_graph_destroy(g);
}

/* x[4,8,6,6] -> Conv p (16x8 3x3, bias 1.5 + c/8: a large positive
 * pre-activation mean) -> HardSwish -> Conv q (16x16 1x1, no bias) -> y.  q's
 * input is dominated by its mean, which the data-free pass estimates from
 * p's bias and weights. */
static struct tsl_graph *make_biased_pair(void)
{
    struct tsl_value *x, *h, *bp;
    struct tsl_graph *g = new_graph("pair", 4, (int64_t[]){4, 8, 6, 6}, &x);
    struct tsl_value *wp = add_weight(g, "wp", 4, (int64_t[]){16, 8, 3, 3}, 0.05, 1.0, 9, 8, 11);
    struct tsl_value *wq = add_weight(g, "wq", 4, (int64_t[]){16, 16, 1, 1}, 0.2, 1.0, 1, 16, 12);
    float b[16];
    for (int i = 0; i < 16; i++)
        b[i] = 1.5f + (float)i / 8;
    struct tsl_type tb = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){16});
    assert_int_equal(tsl_graph_add_dense_constant(g, "bp", &tb, b, &bp), TSL_STATUS_OK);
    h = add_node(g, TSL_OP_CONV, "p", 3, (struct tsl_value *[]){x, wp, bp}, NULL);
    h = add_node(g, TSL_OP_HARD_SWISH, "act", 1, &h, NULL);
    h = add_node(g, TSL_OP_CONV, "q", 2, (struct tsl_value *[]){h, wq}, NULL);
    assert_int_equal(tsl_graph_add_output(g, h), TSL_STATUS_OK);
    return g;
}

/* Mean over the batch and positions of (y_g - y_ref) per channel, squared
 * and summed over channels. */
static double mean_error_sq(const struct tsl_graph *g, const struct tsl_graph *ref,
                            const float *x, const struct tsl_shape *s)
{
    struct tsl_tensor *o1, *o2;
    uint32_t n1, n2;
    run_both(g, ref, x, s, &o1, &n1, &o2, &n2);
    int64_t n, C = o1[0].shape.dims[1], inner = o1[0].shape.dims[2] * o1[0].shape.dims[3];
    assert_true(tsl_shape_numel(&o1[0].shape, &n));
    const float *y1 = o1[0].data, *y2 = o2[0].data;
    double m[16] = {0}, e = 0;
    assert_true(C <= 16);
    for (int64_t i = 0; i < n; i++)
        m[(i / inner) % C] += ((double)y1[i] - y2[i]) / (double)(n / C);
    for (int64_t c = 0; c < C; c++)
        e += m[c] * m[c];
    tsl_tensors_free(o1, n1);
    tsl_tensors_free(o2, n2);
    return e;
}

static void test_data_free_bias_correction(void **state)
{
    (void)state;
    /* Without --calib the pass estimates E[x] of q's input as HardSwish(p's bias
     * + p's weights times the zero input mean) and folds (W - What) E[x]
     * into q's bias (created: q had none).  Measured on a batch the pass
     * never sees, the per-channel output mean error must be well below the
     * same quantized weights without that bias. */
    struct tsl_graph *ref = make_biased_pair(), *g = make_biased_pair();
    const struct tsl_shape *s = &ref->inputs[0]->type.shape;
    int64_t n;
    float *x = make_batch(s, -0.4375, 1.0, &n); /* channel means -0.44 .. 0.44 */
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context c;
    tsl_pass_context_init(&c, &d);
    c.calib_run = runner_must_not_run;
    c.compress.opq_rate = 10.0;
    c.compress.keep_first_last = false;
    /* infer-shapes first, as every pipeline does */
    assert_int_equal(tsl_pass_run_pipeline(g, "infer-shapes,opq", &c), TSL_STATUS_OK);
    struct tsl_node *q = tsl_graph_find_node(g, "q");
    assert_int_equal(q->n_inputs, 3);
    assert_non_null(q->inputs[2]);
    assert_non_null(q->inputs[2]->constant);
    /* the same graph without the correction: q's bias set to zero */
    struct tsl_graph *none;
    assert_int_equal(tsl_graph_clone(g, &none), TSL_STATUS_OK);
    struct tsl_node *qn = tsl_graph_find_node(none, "q");
    float *corr;
    assert_int_equal(tsl_const_decode(qn->inputs[2], (void **)&corr, &d), TSL_STATUS_OK);
    double corr_sq = 0;
    for (int i = 0; i < 16; i++)
        corr_sq += (double)corr[i] * corr[i];
    free(corr);
    float zeros[16] = {0};
    struct tsl_value *z;
    assert_int_equal(tsl_graph_add_dense_constant(none, "zero_bias", &qn->inputs[2]->type, zeros,
                                                  &z),
                     TSL_STATUS_OK);
    tsl_node_set_input(qn, 2, z);
    double e_corr = mean_error_sq(g, ref, x, s), e_none = mean_error_sq(none, ref, x, s);
    print_message("bits p=%d q=%d; output mean error^2: corrected %g, uncorrected %g "
                  "(correction^2 %g)\n",
                  bits_of(&c, "wp"), bits_of(&c, "wq"), e_corr, e_none, corr_sq);
    assert_true(corr_sq > 0);
    assert_true(e_corr < 0.25 * e_none);
    tsl_pass_context_fini(&c);
    tsl_diag_fini(&d);
    tsl_graph_destroy(none);
    tsl_graph_destroy(ref);
    tsl_graph_destroy(g);
    free(x);
}

/* With Huffman-coded indices only layers at grids of at most 5 bits take
 * the data-free correction (dfq_bias_max_bits_huffman in opq.c): q gets a
 * bias at 10x (a coarse grid) and none at 2.5x (a fine one). */
static void test_huffman_bias_correction_cap(void **state)
{
    (void)state;
    static const double rates[] = {10.0, 2.5};
    for (int r = 0; r < 2; r++) {
        struct tsl_graph *g = make_biased_pair();
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_pass_context c;
        tsl_pass_context_init(&c, &d);
        c.calib_run = runner_must_not_run;
        c.compress.opq_rate = rates[r];
        c.compress.keep_first_last = false;
        c.compress.index_coding = TSL_CODING_HUFFMAN;
        /* infer-shapes first, as every pipeline does */
        assert_int_equal(tsl_pass_run_pipeline(g, "infer-shapes,opq", &c), TSL_STATUS_OK);
        struct tsl_node *q = tsl_graph_find_node(g, "q");
        bool has_bias = q->n_inputs == 3 && q->inputs[2];
        print_message("rate %gx: q at %d bits, bias %s\n", rates[r], bits_of(&c, "wq"),
                      has_bias ? "added" : "none");
        if (r == 0) {
            assert_true(bits_of(&c, "wq") <= 5);
            assert_true(has_bias);
        } else {
            assert_true(bits_of(&c, "wq") > 5);
            assert_false(has_bias);
        }
        tsl_pass_context_fini(&c);
        tsl_diag_fini(&d);
        tsl_graph_destroy(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calib_changes_allocation),
        cmocka_unit_test(test_bias_correction_keeps_output_mean),
        cmocka_unit_test(test_bad_calib_is_clear_error),
        cmocka_unit_test(test_no_calib_never_runs_model),
        cmocka_unit_test(test_gptq_rounding_beats_plain),
        cmocka_unit_test(test_data_free_bias_correction),
        cmocka_unit_test(test_huffman_bias_correction_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
