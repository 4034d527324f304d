/* test_cpu_conv_oc.c - differential tests of the output-channel-vectorized
 * convolution (lower_conv.c, "oc" path: weights packed as B, pixels
 * broadcast, the tile stored transposed into NCHW) against the reference
 * interpreter, with the harness's tolerance.
 *
 * Each case is a Conv (+ Relu, or + residual Add + Relu) that the cost
 * model puts on the oc path on AVX-512 and AVX2 (strided, output rows
 * shorter than a panel): 1x1, padded 3x3 and 5x5, odd channel counts,
 * groups, several K blocks (first, middle, last kernels), partial pixel
 * tiles and partial channel panels, batch 2; and two that must stay on the
 * im2col path.  Every case runs on the host target, AVX2 and scalar (which
 * never takes the path), checks how many convolutions took it
 * (module info n_conv_oc), and checks that 2 threads with every loop split
 * give bitwise the outputs of 1 thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

struct oc_case {
    const char *name;
    int64_t n, c, h, oc, k, s, grp;
    bool res;           /* Conv + Add(residual input) + Relu, else Conv + Relu */
    bool avx512, avx2;  /* the oc path is expected on that target */
};

static const struct oc_case cases[] = {
    /* stride 2 to 7x7: 49 pixels, 64 columns of 32 (16) vs 56 (54) rows of 8 (6) */
    {"k3_s2_7x7", 1, 24, 13, 32, 3, 2, 1, false, true, true},
    {"k1_s2_res_b2", 2, 40, 13, 64, 1, 2, 1, true, true, true},
    {"k1_s2_odd_c", 1, 33, 14, 64, 1, 2, 1, false, true, true},
    {"k3_s2_pad", 1, 17, 13, 96, 3, 2, 1, false, true, true},
    {"groups_kblocks", 1, 128, 13, 64, 3, 2, 2, true, true, true}, /* K = 576: 3 blocks */
    {"k5_kblocks_res", 1, 64, 13, 32, 5, 2, 1, true, true, true},  /* K = 1600: 7 blocks */
    /* 9 pixels, 36 channels: a 1-row (3-row) edge tile and a 4-channel edge panel */
    {"edges_b2", 2, 8, 5, 36, 3, 2, 1, true, true, true},
    {"10x10_res", 1, 20, 19, 32, 3, 2, 1, true, true, true}, /* 13 tiles of 8: a 4-row edge */
    /* stride 1 (vector im2col copies) and rows of a full panel stay */
    {"s1_7x7_stays", 1, 24, 7, 32, 3, 1, 1, false, false, false},
    {"s2_long_rows_stays", 1, 8, 80, 32, 3, 2, 1, false, false, false}, /* OW = 40 */
};

static struct tsl_graph *oc_graph(const struct oc_case *t)
{
    struct rng r = {0x0C0C + (uint64_t)t->c * 131 + (uint64_t)t->oc};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(t->n, t->c, t->h, t->h));
    struct tsl_value *y = h_conv(g, &r, "conv", x, t->c, t->oc, t->k, t->s, t->grp, !t->res);
    if (t->res) {
        int64_t oh = (t->h + 2 * (t->k / 2) - t->k) / t->s + 1;
        struct tsl_value *rin = h_input(g, "r", 4, D(t->n, t->oc, oh, oh));
        struct tsl_value *a = h_node(g, TSL_OP_ADD, "res", 2, (struct tsl_value *[]){y, rin})->outputs[0];
        y = h_node(g, TSL_OP_RELU, "res_relu", 1, &a)->outputs[0];
    }
    tsl_graph_add_output(g, y);
    return g;
}

static void test_vs_reference(void **state)
{
    (void)state;
    const char *feats[3] = {NULL, "+avx2,+fma,-avx512f", "-avx512f,-avx2"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int f = 0; f < 3; f++) {
            const struct oc_case *t = &cases[i];
            struct rng r = {0xDA7A + i};
            struct tsl_cpu_options o;
            tsl_cpu_options_default(&o);
            o.features = feats[f];
            struct tsl_cpu_module_info info;
            h_check_opts(oc_graph(t), &r, -1, 1, &o, &info);
            bool want = info.vector_width == 16 ? t->avx512 : info.vector_width == 8 ? t->avx2 : false;
            if (info.n_conv_oc != (want ? 1u : 0u))
                fail_msg("%s (vector width %d): n_conv_oc %u, expected %d", t->name,
                         info.vector_width, info.n_conv_oc, want);
            assert_int_equal(info.n_fused, t->res ? 2 : 1); /* the epilogue stays fused */
        }
}

/* Outputs of g compiled for `threads` (every loop split when threads > 1). */
static struct tsl_tensor *run(const struct tsl_graph *g, int threads, const struct tsl_tensor *in,
                              uint32_t n_in, uint32_t *n_out)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.threads = threads;
    o.min_parallel_ns = threads > 1 ? -1.0 : 0.0;
    struct tsl_cpu_module *m = NULL;
    if (tsl_cpu_compile(g, &o, &m, &d) != TSL_STATUS_OK)
        fail_msg("compile: %s", tsl_diag_first_error(&d) ? tsl_diag_first_error(&d)->message : "");
    struct tsl_cpu_module_info info;
    tsl_cpu_module_info(m, &info);
    if (threads > 1)
        assert_true(info.n_parallel > 0);
    struct tsl_tensor *out = NULL;
    assert_int_equal(tsl_cpu_run(m, in, n_in, &out, n_out, &d), TSL_STATUS_OK);
    tsl_cpu_module_destroy(m);
    tsl_diag_fini(&d);
    return out;
}

static void test_threads_bitwise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tsl_graph *g = oc_graph(&cases[i]);
        struct tsl_diag d;
        tsl_diag_init(&d);
        assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
        struct tsl_tensor in[2];
        struct rng r = {77 + i};
        for (uint32_t k = 0; k < g->n_inputs; k++) {
            int64_t n = 0;
            assert_true(tsl_shape_numel(&g->inputs[k]->type.shape, &n));
            float *p = malloc((size_t)n * sizeof *p);
            assert_non_null(p);
            for (int64_t e = 0; e < n; e++)
                p[e] = rng_f(&r, -1, 1);
            in[k] = (struct tsl_tensor){.dtype = TSL_DTYPE_F32, .shape = g->inputs[k]->type.shape,
                                        .data = p};
        }
        uint32_t n1, n2;
        struct tsl_tensor *one = run(g, 1, in, g->n_inputs, &n1);
        struct tsl_tensor *two = run(g, 2, in, g->n_inputs, &n2);
        assert_int_equal(n1, 1);
        assert_int_equal(n2, 1);
        int64_t n = 0;
        assert_true(tsl_shape_numel(&one[0].shape, &n));
        if (memcmp(one[0].data, two[0].data, (size_t)n * sizeof(float)))
            fail_msg("%s: 2 threads differ from 1", cases[i].name);
        tsl_tensors_free(one, n1);
        tsl_tensors_free(two, n2);
        for (uint32_t k = 0; k < g->n_inputs; k++)
            free(in[k].data);
        tsl_graph_destroy(g);
        tsl_diag_fini(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vs_reference),
        cmocka_unit_test(test_threads_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
