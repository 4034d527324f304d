/* test_cpu_model.c - whole-graph tests of the CPU backend: a small CNN
 * (conv+relu, maxpool, depthwise conv, 1x1 conv, residual add, global
 * average pool, flatten, gemm, softmax) against the reference; AOT emission
 * of .ll/.s/.o/.so + header, with the shared library loaded by dlopen and
 * run without tessel's JIT (on its own pool of 2 and 3 threads, and without
 * a pool); arena reuse by liveness; the error for an op without a lowering;
 * symbolic-dim binding; per-step profiling; Concat written in place by its
 * producers. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static struct tsl_graph *small_cnn(struct rng *r, int64_t batch)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "image", 4, D(batch, 3, 32, 32));
    struct tsl_value *y = h_conv(g, r, "stem", x, 3, 16, 3, 2, 1, true);
    struct tsl_node *mp = h_node(g, TSL_OP_MAX_POOL, "pool", 1, &y);
    mp->attrs.pool.kernel_shape = (struct tsl_ints){2, {2, 2}};
    mp->attrs.pool.strides = (struct tsl_ints){2, {2, 2}};
    struct tsl_value *p = mp->outputs[0];
    struct tsl_value *dw = h_conv(g, r, "dw", p, 16, 16, 3, 1, 16, true);
    struct tsl_value *pw = h_conv(g, r, "pw", dw, 16, 16, 1, 1, 1, false);
    struct tsl_node *add = h_node(g, TSL_OP_ADD, "residual", 2, (struct tsl_value *[]){pw, p});
    struct tsl_value *a = h_node(g, TSL_OP_RELU, "res_relu", 1, &add->outputs[0])->outputs[0];
    struct tsl_value *c3 = h_conv(g, r, "c3", a, 16, 32, 3, 2, 1, true);
    struct tsl_value *gp = h_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &c3)->outputs[0];
    struct tsl_node *fl = h_node(g, TSL_OP_FLATTEN, "flat", 1, &gp);
    fl->attrs.axis.axis = 1;
    struct tsl_value *in[3] = {fl->outputs[0], h_const(g, r, "fc_w", 2, D(10, 32), -0.3f, 0.3f),
                               h_const(g, r, "fc_b", 1, D(10), -0.1f, 0.1f)};
    struct tsl_node *fc = h_node(g, TSL_OP_GEMM, "fc", 3, in);
    fc->attrs.gemm.transB = 1;
    struct tsl_node *sm = h_node(g, TSL_OP_SOFTMAX, "prob", 1, &fc->outputs[0]);
    sm->attrs.axis.axis = -1;
    tsl_graph_add_output(g, sm->outputs[0]);
    tsl_graph_add_output(g, fc->outputs[0]);
    return g;
}

static void test_small_cnn(void **state)
{
    (void)state;
    struct rng r = {0xC0FFEE};
    struct tsl_cpu_module_info info;
    h_check(small_cnn(&r, 2), &r, -1, 1, &info);
    assert_int_equal(info.n_fused, 5); /* stem, dw, c3 relus + residual Add and its relu */
    assert_true(info.arena_bytes > 0);
    assert_true(info.arena_bytes < info.arena_naive_bytes);
    assert_true(info.weight_bytes > 0);
}

static void test_arena_reuse(void **state)
{
    (void)state;
    /* a chain of 6 tanh (not fused) of 64 KiB each: liveness needs two buffers */
    struct rng r = {1};
    struct tsl_graph *g = h_graph();
    struct tsl_value *v = h_input(g, "x", 1, D(16384));
    for (int i = 0; i < 6; i++)
        v = h_node(g, TSL_OP_TANH, NULL, 1, &v)->outputs[0];
    tsl_graph_add_output(g, v);
    struct tsl_cpu_module_info info;
    h_check(g, &r, -1, 1, &info);
    assert_int_equal(info.arena_bytes, 2 * 65536);
    assert_int_equal(info.arena_naive_bytes, 5 * 65536);
    assert_int_equal(info.n_fused, 0);
    /* the same chain of sigmoids is one step: no intermediate buffer at all */
    g = h_graph();
    v = h_input(g, "x", 1, D(16384));
    for (int i = 0; i < 6; i++)
        v = h_node(g, TSL_OP_SIGMOID, NULL, 1, &v)->outputs[0];
    tsl_graph_add_output(g, v);
    h_check(g, &r, -1, 1, &info);
    assert_int_equal(info.n_kernels, 1);
    assert_int_equal(info.n_fused, 5);
    assert_int_equal(info.arena_bytes, 0);
}

static void test_concat_in_place(void **state)
{
    (void)state;
    struct rng r = {2};
    /* Sigmoid and Tanh write their slices of the Concat directly: one 2 KiB
     * buffer instead of 1 + 1 + 2 KiB live at the Concat */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 4, 8, 8));
    struct tsl_value *a = h_node(g, TSL_OP_SIGMOID, "a", 1, &x)->outputs[0];
    struct tsl_value *b = h_node(g, TSL_OP_TANH, "b", 1, &x)->outputs[0];
    struct tsl_node *c = h_node(g, TSL_OP_CONCAT, "cat", 2, (struct tsl_value *[]){a, b});
    c->attrs.axis.axis = 1;
    tsl_graph_add_output(g, h_node(g, TSL_OP_EXP, "e", 1, &c->outputs[0])->outputs[0]);
    struct tsl_cpu_module_info info;
    h_check(g, &r, -1, 1, &info);
    assert_int_equal(info.arena_bytes, 2048);
    /* not in place: an input with another user, and an axis after a dim > 1 */
    for (int k = 0; k < 2; k++) {
        g = h_graph();
        x = h_input(g, "x", 4, D(1, 4, 8, 8));
        a = h_node(g, TSL_OP_SIGMOID, "a", 1, &x)->outputs[0];
        b = h_node(g, TSL_OP_TANH, "b", 1, &x)->outputs[0];
        c = h_node(g, TSL_OP_CONCAT, "cat", 2, (struct tsl_value *[]){a, b});
        c->attrs.axis.axis = k ? 2 : 1;
        tsl_graph_add_output(g, h_node(g, TSL_OP_EXP, "e", 1, &c->outputs[0])->outputs[0]);
        if (!k)
            tsl_graph_add_output(g, h_node(g, TSL_OP_ABS, "abs", 1, &a)->outputs[0]);
        h_check(g, &r, -1, 1, &info);
        assert_int_equal(info.arena_bytes, 4096);
    }
}

static void test_unsupported_op_names_node(void **state)
{
    (void)state;
    /* NonZero's size depends on the data: its output may not feed a node */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(2, 3));
    struct tsl_node *n = h_node(g, TSL_OP_NON_ZERO, "my_nonzero", 1, &x);
    n->outputs[0]->type = tsl_type_make(TSL_DTYPE_I64, 2, D(2, 6)); /* as if bound */
    struct tsl_node *a = h_node(g, TSL_OP_ABS, "abs", 1, &n->outputs[0]);
    a->outputs[0]->type = tsl_type_make(TSL_DTYPE_I64, 2, D(2, 6));
    tsl_graph_add_output(g, a->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_UNSUPPORTED);
    assert_null(m);
    const struct tsl_diag_entry *err = tsl_diag_first_error(&d);
    assert_non_null(err);
    assert_string_equal(err->where, "my_nonzero");
    assert_non_null(strstr(err->message, "NonZero"));
    /* every op of the IR has a lowering */
    for (int op = 0; op < TSL_OP_COUNT; op++)
        assert_true(tsl_cpu_has_lowering((enum tsl_op)op));
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_symbolic_needs_binding(void **state)
{
    (void)state;
    struct tsl_graph *g = h_symbolic_tanh();
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_INVALID_ARG);
    struct tsl_shape s = {.rank = 2, .dims = {3, 8}};
    struct tsl_graph *bound = NULL;
    assert_int_equal(tsl_cpu_bind_shapes(g, &s, 1, &bound, &d), TSL_STATUS_OK);
    assert_int_equal(bound->outputs[0]->type.shape.dims[0], 3);
    struct tsl_shape bad = {.rank = 2, .dims = {3, 9}};
    struct tsl_graph *nope = NULL;
    assert_int_equal(tsl_cpu_bind_shapes(g, &bad, 1, &nope, &d), TSL_STATUS_INVALID_ARG);
    struct rng r = {2};
    h_check(bound, &r, -1, 1, NULL);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

typedef void (*run_fn)(const void *, void *, void *const *, void *const *, void *);
typedef void *(*pool_create_fn)(int);
typedef void (*pool_destroy_fn)(void *);

static bool file_nonempty(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && st.st_size > 0;
}

static void test_emit_and_dlopen(void **state)
{
    (void)state;
    struct rng r = {0xBEEF};
    struct tsl_graph *g = small_cnn(&r, 1);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.name = "cnn";
    o.threads = 2;
    o.min_parallel_ns = -1.0; /* split every loop: the artifact's pool really runs */
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, &o, &m, &d), TSL_STATUS_OK);
    char dir[] = "/tmp/tessel_cpu_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p_ll[128], p_s[128], p_o[128], p_so[128], p_h[128];
    snprintf(p_ll, sizeof p_ll, "%s/cnn.ll", dir);
    snprintf(p_s, sizeof p_s, "%s/cnn.s", dir);
    snprintf(p_o, sizeof p_o, "%s/cnn.o", dir);
    snprintf(p_so, sizeof p_so, "%s/cnn.so", dir);
    snprintf(p_h, sizeof p_h, "%s/cnn.h", dir);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_LL, p_ll, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_ASM, p_s, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_OBJ, p_o, &d), TSL_STATUS_OK);
    assert_true(file_nonempty(p_ll) && file_nonempty(p_s) && file_nonempty(p_o));
    assert_true(file_nonempty(p_h));
    unlink(p_h);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_SO, p_so, &d), TSL_STATUS_OK);
    assert_true(file_nonempty(p_h));
    /* header mentions the entry point and the arena size */
    char buf[8192];
    h_read_text(p_h, buf, sizeof buf);
    assert_non_null(strstr(buf, "void cnn_run(const void *weights, void *arena"));
    assert_non_null(strstr(buf, "struct cnn_pool *cnn_pool_create(int threads);"));
    assert_non_null(strstr(buf, "#define CNN_THREADS 2"));
    assert_non_null(strstr(buf, "#define CNN_ARENA_BYTES"));
    assert_non_null(strstr(buf, "\"image\""));
    /* bad path: error, nothing left behind */
    char p_bad[160];
    snprintf(p_bad, sizeof p_bad, "%s/missing/dir/x.o", dir);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_OBJ, p_bad, &d), TSL_STATUS_IO);

    /* run through the JIT and through the shared library (with its own
     * pool of 2 threads, with a pool of 3 that uses 2, and without a pool):
     * same bits */
    float *img = malloc(3 * 32 * 32 * sizeof *img);
    assert_non_null(img);
    for (int i = 0; i < 3 * 32 * 32; i++)
        img[i] = rng_f(&r, -1, 1);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = img};
    struct tsl_tensor *outs;
    uint32_t nout;
    assert_int_equal(tsl_cpu_run(m, &in, 1, &outs, &nout, &d), TSL_STATUS_OK);
    assert_int_equal(nout, 2);
    void *h = dlopen(p_so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    void *sym = dlsym(h, "cnn_run");
    const void *w = dlsym(h, "cnn_weights");
    void *sym_create = dlsym(h, "cnn_pool_create"), *sym_destroy = dlsym(h, "cnn_pool_destroy");
    assert_non_null(sym);
    assert_non_null(w);
    assert_non_null(sym_create);
    assert_non_null(sym_destroy);
    run_fn fn;
    pool_create_fn pool_create;
    pool_destroy_fn pool_destroy;
    memcpy(&fn, &sym, sizeof fn);
    memcpy(&pool_create, &sym_create, sizeof pool_create);
    memcpy(&pool_destroy, &sym_destroy, sizeof pool_destroy);
    struct tsl_cpu_module_info info;
    tsl_cpu_module_info(m, &info);
    assert_int_equal(info.threads, 2);
    assert_true(info.n_parallel > 0);
    void *arena = aligned_alloc(64, (size_t)info.arena_bytes);
    for (int threads = 0; threads <= 3; threads++) {
        void *pool = threads ? pool_create(threads) : NULL;
        assert_true(pool || !threads);
        float prob[10], logits[10];
        void *ins[1] = {img}, *os[2] = {prob, logits};
        fn(w, arena, ins, os, pool);
        assert_memory_equal(prob, outs[0].data, sizeof prob);
        assert_memory_equal(logits, outs[1].data, sizeof logits);
        pool_destroy(pool);
    }
    free(arena);
    dlclose(h);
    tsl_tensors_free(outs, nout);
    free(img);
    unlink(p_ll);
    unlink(p_s);
    unlink(p_o);
    unlink(p_so);
    unlink(p_h);
    rmdir(dir);
    tsl_cpu_module_destroy(m);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

static void test_generic_target(void **state)
{
    (void)state;
    /* the scalar fallback path (no AVX) must compute the same results */
    struct rng r = {77};
    struct tsl_graph *g = small_cnn(&r, 1);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_cpu_options o;
    const char *feats[3] = {"-avx512f,-avx2", "+avx2,+fma,-avx512f", NULL};
    const int want_vw[3] = {1, 8, 0};
    float *img = malloc(3 * 32 * 32 * sizeof *img);
    assert_non_null(img);
    for (int i = 0; i < 3 * 32 * 32; i++)
        img[i] = rng_f(&r, -1, 1);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = img};
    float first[10];
    for (int k = 0; k < 3; k++) {
        tsl_cpu_options_default(&o);
        o.features = feats[k];
        struct tsl_cpu_module *m = NULL;
        assert_int_equal(tsl_cpu_compile(g, &o, &m, &d), TSL_STATUS_OK);
        struct tsl_cpu_module_info info;
        tsl_cpu_module_info(m, &info);
        if (want_vw[k])
            assert_int_equal(info.vector_width, want_vw[k]);
        struct tsl_tensor *outs;
        uint32_t nout;
        assert_int_equal(tsl_cpu_run(m, &in, 1, &outs, &nout, &d), TSL_STATUS_OK);
        const float *p = outs[0].data;
        for (int i = 0; i < 10; i++) {
            if (k == 0)
                first[i] = p[i];
            else
                assert_true(fabsf(first[i] - p[i]) <= 1e-5f);
        }
        tsl_tensors_free(outs, nout);
        tsl_cpu_module_destroy(m);
    }
    free(img);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

static void test_profile(void **state)
{
    (void)state;
    struct rng r = {5};
    struct tsl_graph *g = small_cnn(&r, 1);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    float *img = malloc(3 * 32 * 32 * sizeof *img);
    assert_non_null(img);
    for (int i = 0; i < 3 * 32 * 32; i++)
        img[i] = rng_f(&r, -1, 1);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = img};
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    struct tsl_cpu_module *plain = NULL, *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, &o, &plain, &d), TSL_STATUS_OK);
    o.profile = true;
    assert_int_equal(tsl_cpu_compile(g, &o, &m, &d), TSL_STATUS_OK);
    const struct tsl_cpu_step_profile *steps;
    uint32_t n;
    uint64_t runs;
    /* without profiling: an error, not an empty profile */
    assert_int_equal(tsl_cpu_profile(plain, &steps, &n, &runs, &d), TSL_STATUS_INVALID_ARG);
    struct tsl_cpu_module_info info, pinfo;
    tsl_cpu_module_info(plain, &info);
    tsl_cpu_module_info(m, &pinfo);
    /* the counters live past the plain arena */
    assert_true(pinfo.arena_bytes >= info.arena_bytes + 8 * ((int64_t)info.n_kernels + 1));
    struct tsl_tensor *a, *b;
    uint32_t na, nb;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(tsl_cpu_run(m, &in, 1, &a, &na, &d), TSL_STATUS_OK);
        tsl_tensors_free(a, na);
    }
    assert_int_equal(tsl_cpu_profile(m, &steps, &n, &runs, &d), TSL_STATUS_OK);
    assert_int_equal(n, info.n_kernels);
    assert_int_equal(runs, 3);
    double total = 0;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(steps[i].seconds >= 0);
        total += steps[i].seconds;
        assert_non_null(strstr(steps[i].kernel, "model_k"));
    }
    assert_true(total > 0);
    assert_string_equal(steps[0].node, "stem");
    assert_string_equal(steps[0].ops, "Conv+Relu");
    /* FLOPs: stem 3->16 3x3 at 16x16 = 2 * 16*16*16 * 27; fc 2 * 10 * 32;
     * MaxPool has none */
    assert_true(steps[0].flops == 2.0 * 16 * 16 * 16 * 27);
    int seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!strcmp(steps[i].node, "fc"))
            assert_true(steps[i].flops == 2.0 * 10 * 32), seen++;
        if (!strcmp(steps[i].node, "pool"))
            assert_true(steps[i].flops == 0.0), seen++;
    }
    assert_int_equal(seen, 2);
    /* reset: no runs, no time; the next run is counted alone */
    assert_int_equal(tsl_cpu_profile_reset(plain, &d), TSL_STATUS_INVALID_ARG);
    assert_int_equal(tsl_cpu_profile_reset(m, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_profile(m, &steps, &n, &runs, &d), TSL_STATUS_OK);
    assert_int_equal(runs, 0);
    for (uint32_t i = 0; i < n; i++)
        assert_true(steps[i].seconds == 0.0);
    assert_int_equal(tsl_cpu_run(m, &in, 1, &a, &na, &d), TSL_STATUS_OK);
    tsl_tensors_free(a, na);
    assert_int_equal(tsl_cpu_profile(m, &steps, &n, &runs, &d), TSL_STATUS_OK);
    assert_int_equal(runs, 1);
    total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += steps[i].seconds;
    assert_true(total > 0);
    /* same results with and without the timers */
    assert_int_equal(tsl_cpu_run(m, &in, 1, &a, &na, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_run(plain, &in, 1, &b, &nb, &d), TSL_STATUS_OK);
    assert_memory_equal(a[0].data, b[0].data, 10 * sizeof(float));
    tsl_tensors_free(a, na);
    tsl_tensors_free(b, nb);
    tsl_cpu_module_destroy(m);
    tsl_cpu_module_destroy(plain);
    free(img);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_cnn),
        cmocka_unit_test(test_arena_reuse),
        cmocka_unit_test(test_concat_in_place),
        cmocka_unit_test(test_unsupported_op_names_node),
        cmocka_unit_test(test_symbolic_needs_binding),
        cmocka_unit_test(test_emit_and_dlopen),
        cmocka_unit_test(test_generic_target),
        cmocka_unit_test(test_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
