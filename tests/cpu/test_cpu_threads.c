/* test_cpu_threads.c - the CPU backend's thread pool in generated code:
 * outputs of --threads 1, 2 and 3 must be bitwise identical (every split is
 * over independent output items).  A graph with every split kind (3x3 conv
 * with padding, grouped conv, depthwise conv, 1x1 conv with a residual,
 * max/average pooling, global pooling, elementwise unary/binary, MatMul with
 * a constant and with a batched run-time B, Gemm) is compiled with the cost
 * model forced to split every loop and with the default threshold, checked
 * against the reference once, and compared across thread counts; the same
 * for a real model from models/ (mobilenet_v2, then resnet18; skipped when
 * neither file is present). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/npy.h"
#include "tessel/onnx.h"
#include "tessel/passes.h"
#include "tessel/reference.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static struct tsl_value *pool(struct tsl_graph *g, enum tsl_op op, struct tsl_value *x,
                              int64_t k, int64_t s, int64_t p)
{
    struct tsl_node *n = h_node(g, op, NULL, 1, &x);
    n->attrs.pool.kernel_shape = (struct tsl_ints){2, {k, k}};
    n->attrs.pool.strides = (struct tsl_ints){2, {s, s}};
    n->attrs.pool.pads = (struct tsl_ints){4, {p, p, p, p}};
    return n->outputs[0];
}

static struct tsl_graph *mixed_graph(struct rng *r)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(2, 8, 20, 20));
    struct tsl_value *yb = h_input(g, "yb", 3, D(2, 40, 20));
    struct tsl_value *c1 = h_conv(g, r, "c1", x, 8, 40, 3, 1, 1, true);   /* M, N edges */
    struct tsl_value *c2 = h_conv(g, r, "c2", c1, 40, 40, 3, 1, 4, true); /* grouped */
    struct tsl_value *dw = h_conv(g, r, "dw", c2, 40, 40, 3, 1, 40, true);
    struct tsl_value *pw = h_conv(g, r, "pw", dw, 40, 40, 1, 1, 1, false);
    struct tsl_node *add = h_node(g, TSL_OP_ADD, "res", 2, (struct tsl_value *[]){pw, c2});
    struct tsl_value *a = h_node(g, TSL_OP_RELU, NULL, 1, &add->outputs[0])->outputs[0];
    struct tsl_value *c3 = h_conv(g, r, "c3", a, 40, 40, 3, 1, 1, true); /* K = 360: 2 K blocks */
    struct tsl_value *mp = pool(g, TSL_OP_MAX_POOL, c3, 3, 2, 1);    /* [2,40,10,10] */
    struct tsl_value *ap = pool(g, TSL_OP_AVERAGE_POOL, mp, 2, 1, 0); /* [2,40,9,9] */
    struct tsl_value *sg = h_node(g, TSL_OP_SIGMOID, NULL, 1, &ap)->outputs[0];
    struct tsl_value *mul = h_node(g, TSL_OP_MUL, NULL, 2, (struct tsl_value *[]){ap, sg})->outputs[0];
    struct tsl_node *rs = h_node(g, TSL_OP_RESHAPE, NULL, 2,
                                 (struct tsl_value *[]){mul, h_i64(g, "shape", 3, D(2, 40, 81))});
    struct tsl_value *m1 = h_node(g, TSL_OP_MATMUL, "mm_const", 2,
                                  (struct tsl_value *[]){rs->outputs[0],
                                                         h_const(g, r, "B", 2, D(81, 40), -0.2f, 0.2f)})
                               ->outputs[0]; /* [2,40,40], batch folded into M */
    struct tsl_value *m2 = h_node(g, TSL_OP_MATMUL, "mm_rt", 2, (struct tsl_value *[]){m1, yb})
                               ->outputs[0]; /* [2,40,20], batched run-time B */
    struct tsl_value *gp = h_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, NULL, 1, &mp)->outputs[0];
    struct tsl_node *fl = h_node(g, TSL_OP_FLATTEN, NULL, 1, &gp);
    fl->attrs.axis.axis = 1;
    struct tsl_value *in[3] = {fl->outputs[0], h_const(g, r, "fc_w", 2, D(10, 40), -0.3f, 0.3f),
                               h_const(g, r, "fc_b", 1, D(10), -0.1f, 0.1f)};
    struct tsl_node *fc = h_node(g, TSL_OP_GEMM, "fc", 3, in);
    fc->attrs.gemm.transB = 1;
    tsl_graph_add_output(g, m2);
    tsl_graph_add_output(g, fc->outputs[0]);
    tsl_graph_add_output(g, a);
    return g;
}

/* Compile g for `threads` (min_ns: cost-model threshold option), run it on
 * ins, return its outputs; *n_par = loops split. */
static struct tsl_tensor *run_cpu(const struct tsl_graph *g, int threads, double min_ns,
                                  const struct tsl_tensor *ins, uint32_t n_ins, uint32_t *n_out,
                                  uint32_t *n_par)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.threads = threads;
    o.min_parallel_ns = min_ns;
    struct tsl_cpu_module *m = NULL;
    enum tsl_status st = tsl_cpu_compile(g, &o, &m, &d);
    if (st != TSL_STATUS_OK)
        fail_msg("compile: %s", tsl_diag_first_error(&d) ? tsl_diag_first_error(&d)->message : "");
    struct tsl_cpu_module_info info;
    tsl_cpu_module_info(m, &info);
    assert_int_equal(info.threads, threads);
    *n_par = info.n_parallel;
    struct tsl_tensor *outs = NULL;
    /* twice: the second run reuses the pool and the arena */
    for (int rep = 0; rep < 2; rep++) {
        if (outs)
            tsl_tensors_free(outs, *n_out);
        assert_int_equal(tsl_cpu_run(m, ins, n_ins, &outs, n_out, &d), TSL_STATUS_OK);
    }
    tsl_cpu_module_destroy(m);
    tsl_diag_fini(&d);
    return outs;
}

static size_t tensor_bytes(const struct tsl_tensor *t)
{
    int64_t n = 0, b = 0;
    assert_true(tsl_shape_numel(&t->shape, &n));
    assert_true(tsl_dtype_storage_bytes(t->dtype, n, &b));
    return (size_t)b;
}

/* Outputs of threads 2 and 3 (forced split, and default threshold when
 * check_default) equal those of threads 1, byte for byte. */
static void compare_threads(const struct tsl_graph *g, const struct tsl_tensor *ins,
                            uint32_t n_ins, bool check_default, const struct tsl_tensor **ref1)
{
    uint32_t n1, np;
    struct tsl_tensor *one = run_cpu(g, 1, 0.0, ins, n_ins, &n1, &np);
    assert_int_equal(np, 0);
    const double thresholds[2] = {-1.0, 0.0};
    for (int t = 2; t <= 3; t++)
        for (int k = 0; k < (check_default ? 2 : 1); k++) {
            uint32_t n;
            struct tsl_tensor *o = run_cpu(g, t, thresholds[k], ins, n_ins, &n, &np);
            if (thresholds[k] < 0)
                assert_true(np > 0); /* the forced split did split */
            assert_int_equal(n, n1);
            for (uint32_t i = 0; i < n; i++) {
                assert_int_equal(tensor_bytes(&o[i]), tensor_bytes(&one[i]));
                assert_memory_equal(o[i].data, one[i].data, tensor_bytes(&one[i]));
            }
            tsl_tensors_free(o, n);
        }
    if (ref1)
        *ref1 = one;
    else
        tsl_tensors_free(one, n1);
}

static void test_mixed_graph(void **state)
{
    (void)state;
    struct rng r = {0x7A11};
    struct tsl_graph *g = mixed_graph(&r);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_tensor ins[2];
    for (uint32_t i = 0; i < 2; i++) {
        const struct tsl_value *v = g->inputs[i];
        int64_t n = 0;
        assert_true(tsl_shape_numel(&v->type.shape, &n));
        float *p = malloc((size_t)n * sizeof *p);
        assert_non_null(p);
        for (int64_t k = 0; k < n; k++)
            p[k] = rng_f(&r, -1, 1);
        ins[i] = (struct tsl_tensor){.dtype = TSL_DTYPE_F32, .shape = v->type.shape, .data = p};
    }
    const struct tsl_tensor *one = NULL;
    compare_threads(g, ins, 2, true, &one);
    /* and the single-thread result is right */
    struct tsl_tensor *ref;
    uint32_t nref;
    struct tsl_ref_stats rs;
    assert_int_equal(tsl_ref_run(g, ins, 2, &ref, &nref, &rs, &d), TSL_STATUS_OK);
    for (uint32_t i = 0; i < nref; i++) {
        const float *a = one[i].data, *b = ref[i].data;
        size_t n = tensor_bytes(&ref[i]) / 4;
        for (size_t k = 0; k < n; k++)
            assert_true(fabsf(a[k] - b[k]) <= 1e-4f * (fabsf(b[k]) + 1.0f));
    }
    tsl_tensors_free(ref, nref);
    tsl_tensors_free((struct tsl_tensor *)one, g->n_outputs);
    free(ins[0].data);
    free(ins[1].data);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

static void test_real_model(void **state)
{
    (void)state;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    static const char *const names[] = {"mobilenet_v2", "resnet18"};
    char model[4096] = "", input[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !model[0]; i++) {
        snprintf(model, sizeof model, "%s/models/%s.onnx", src ? src : ".", names[i]);
        snprintf(input, sizeof input, "%s/models/%s.input.npy", src ? src : ".", names[i]);
        if (access(model, R_OK) != 0 || access(input, R_OK) != 0)
            model[0] = 0;
    }
    if (!model[0]) {
        printf("test_real_model: no models/mobilenet_v2 or models/resnet18: skipped\n");
        skip();
    }
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_npy x;
    assert_int_equal(tsl_npy_read_file(input, &x, &d), TSL_STATUS_OK);
    assert_int_equal(x.type, TSL_NPY_F32);
    struct tsl_graph *g0, *g;
    assert_int_equal(tsl_onnx_import_file(model, NULL, &g0, &d), TSL_STATUS_OK);
    struct tsl_shape shp = {.rank = x.rank};
    for (int32_t i = 0; i < x.rank; i++)
        shp.dims[i] = x.dims[i];
    assert_int_equal(tsl_cpu_bind_shapes(g0, &shp, 1, &g, &d), TSL_STATUS_OK);
    tsl_graph_destroy(g0);
    struct tsl_pass_context pc;
    tsl_pass_context_init(&pc, &d);
    pc.eval_node = tsl_ref_eval_node;
    assert_int_equal(tsl_pass_run_pipeline(g, TSL_PIPELINE_CANONICALIZE, &pc), TSL_STATUS_OK);
    tsl_pass_context_fini(&pc);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = shp, .data = x.data};
    compare_threads(g, &in, 1, false, NULL);
    tsl_graph_destroy(g);
    free(x.data);
    tsl_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_graph),
        cmocka_unit_test(test_real_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
