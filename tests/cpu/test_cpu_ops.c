/* test_cpu_ops.c - differential tests of every CPU lowering against the
 * reference interpreter: unary and binary elementwise ops with random
 * broadcast shapes, Gemm (transposes, alpha/beta, bias shapes, constant or
 * activation operands, beta != 1 on a run-time C), MatMul with batches, Conv with random shapes,
 * strides, pads, dilations and groups (depthwise included, fused Relu/Clip),
 * pooling (1-D to 3-D), Softmax and data movement.  All random cases are seeded. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static void unary_case(enum tsl_op op, float lo, float hi, float alpha, float beta)
{
    struct rng r = {0x1234 + op};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 3, D(2, 3, 37));
    struct tsl_node *n = h_node(g, op, "u", 1, &x);
    if (tsl_op_info(op)->attr_kind == TSL_ATTRKIND_alpha_beta) {
        n->attrs.alpha_beta.alpha = alpha;
        n->attrs.alpha_beta.beta = beta;
    }
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, lo, hi, NULL);
}

static void test_unary(void **state)
{
    (void)state;
    const enum tsl_op any[] = {TSL_OP_ABS, TSL_OP_CEIL, TSL_OP_COS, TSL_OP_ERF, TSL_OP_EXP,
                               TSL_OP_FLOOR, TSL_OP_HARD_SWISH, TSL_OP_NEG, TSL_OP_RELU,
                               TSL_OP_SIGMOID, TSL_OP_SIGN, TSL_OP_SIN, TSL_OP_SOFTPLUS,
                               TSL_OP_TANH, TSL_OP_ROUND};
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++)
        unary_case(any[i], -3.0f, 3.0f, 0, 0);
    unary_case(TSL_OP_LOG, 0.1f, 4.0f, 0, 0);
    unary_case(TSL_OP_SQRT, 0.0f, 4.0f, 0, 0);
    unary_case(TSL_OP_RECIPROCAL, 0.5f, 4.0f, 0, 0);
    unary_case(TSL_OP_LEAKY_RELU, -3.0f, 3.0f, 0.1f, 0);
    unary_case(TSL_OP_ELU, -3.0f, 3.0f, 1.0f, 0);
    unary_case(TSL_OP_HARD_SIGMOID, -5.0f, 5.0f, 0.2f, 0.5f);
}

static void test_clip(void **state)
{
    (void)state;
    struct rng r = {7};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(5, 33));
    struct tsl_value *in[3] = {x, h_scalar(g, "lo", -0.5f), h_scalar(g, "hi", 0.75f)};
    struct tsl_node *n = h_node(g, TSL_OP_CLIP, "clip", 3, in);
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -2, 2, NULL);
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    const enum tsl_op ops[] = {TSL_OP_ADD, TSL_OP_SUB, TSL_OP_MUL, TSL_OP_DIV, TSL_OP_MAX,
                               TSL_OP_MIN, TSL_OP_PRELU, TSL_OP_POW};
    struct rng r = {99};
    for (int it = 0; it < 24; it++) {
        enum tsl_op op = ops[it % 8];
        int rank = (int)rng_int(&r, 1, 4);
        int64_t od[4], ad[4], bd[4];
        for (int d = 0; d < rank; d++)
            od[d] = rng_int(&r, 1, 6);
        int rb = (int)rng_int(&r, 1, rank);
        for (int d = 0; d < rank; d++)
            ad[d] = rng_u32(&r) % 3 == 0 ? 1 : od[d];
        for (int d = 0; d < rb; d++)
            bd[d] = rng_u32(&r) % 3 == 0 ? 1 : od[rank - rb + d];
        if (op == TSL_OP_PRELU) /* slope broadcasts to x, x has the full shape */
            memcpy(ad, od, sizeof od);
        struct tsl_graph *g = h_graph();
        struct tsl_value *a = h_input(g, "a", rank, ad);
        struct tsl_value *b = it % 2 ? h_input(g, "b", rb, bd)
                                     : h_const(g, &r, "b", rb, bd, 0.5f, 2.0f);
        struct tsl_node *n = h_node(g, op, "bin", 2, (struct tsl_value *[]){a, b});
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, op == TSL_OP_POW ? 0.1f : -2.0f, 2.0f, NULL);
    }
}

static void test_variadic(void **state)
{
    (void)state;
    struct rng r = {5};
    const enum tsl_op ops[] = {TSL_OP_SUM, TSL_OP_MEAN, TSL_OP_MAX, TSL_OP_MIN};
    for (int i = 0; i < 4; i++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[3] = {h_input(g, "a", 2, D(3, 8)), h_input(g, "b", 1, D(8)),
                                   h_input(g, "c", 2, D(3, 1))};
        struct tsl_node *n = h_node(g, ops[i], "v", 3, in);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void test_gemm_random(void **state)
{
    (void)state;
    struct rng r = {2024};
    for (int it = 0; it < 24; it++) {
        int64_t M = rng_int(&r, 1, 40), N = rng_int(&r, 1, 70), K = rng_int(&r, 1, 50);
        int ta = (int)rng_int(&r, 0, 1), tb = (int)rng_int(&r, 0, 1);
        int mode = it % 3; /* 0: const B, 1: const A, 2: both activations */
        struct tsl_graph *g = h_graph();
        const int64_t *as = ta ? D(K, M) : D(M, K);
        const int64_t *bs = tb ? D(N, K) : D(K, N);
        struct tsl_value *a = mode == 1 ? h_const(g, &r, "A", 2, as, -1, 1) : h_input(g, "a", 2, as);
        struct tsl_value *b = mode == 0 ? h_const(g, &r, "B", 2, bs, -1, 1) : h_input(g, "b", 2, bs);
        struct tsl_value *in[3] = {a, b, NULL};
        int nin = 2;
        int cmode = (int)rng_int(&r, 0, 4);
        if (cmode == 1)
            in[2] = h_const(g, &r, "C", 1, D(N), -1, 1);
        else if (cmode == 2)
            in[2] = h_const(g, &r, "C", 2, D(M, 1), -1, 1);
        else if (cmode == 3)
            in[2] = h_input(g, "c", 2, D(M, N));
        else if (cmode == 4)
            in[2] = h_scalar(g, "C", 0.25f);
        if (in[2])
            nin = 3;
        struct tsl_node *n = h_node(g, TSL_OP_GEMM, "gemm", nin, in);
        n->attrs.gemm.transA = ta;
        n->attrs.gemm.transB = tb;
        n->attrs.gemm.alpha = it % 4 == 0 ? 0.5f : 1.0f;
        n->attrs.gemm.beta = (cmode == 3 || it % 5) ? 1.0f : 2.0f;
        struct tsl_value *y = n->outputs[0];
        if (it % 2) {
            struct tsl_node *rl = h_node(g, TSL_OP_RELU, "relu", 1, &y);
            y = rl->outputs[0];
        }
        tsl_graph_add_output(g, y);
        struct tsl_cpu_module_info info;
        h_check(g, &r, -1, 1, &info);
        assert_int_equal(info.n_fused, it % 2);
    }
}

/* beta != 1 with a run-time C of every broadcast shape: C is scaled into the
 * step's scratch before the GEMM (also under threads, where the GEMM has
 * its own shared scratch before it). */
static void test_gemm_runtime_c_beta(void **state)
{
    (void)state;
    struct rng r = {2025};
    for (int it = 0; it < 8; it++) {
        int64_t M = rng_int(&r, 1, 30), N = rng_int(&r, 1, 50), K = rng_int(&r, 1, 40);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[3] = {h_input(g, "a", 2, D(M, K)),
                                   it % 2 ? h_const(g, &r, "B", 2, D(K, N), -1, 1)
                                          : h_input(g, "b", 2, D(K, N)),
                                   NULL};
        static const int cr[4] = {2, 1, 2, 0};
        const int64_t *cd[4] = {D(M, N), D(N), D(M, 1), NULL};
        in[2] = h_input(g, "c", cr[it % 4], cd[it % 4]);
        struct tsl_node *n = h_node(g, TSL_OP_GEMM, "gemm", 3, in);
        n->attrs.gemm.alpha = 0.75f;
        n->attrs.gemm.beta = it < 4 ? 2.0f : -0.5f;
        tsl_graph_add_output(g, n->outputs[0]);
        struct tsl_cpu_options o;
        tsl_cpu_options_default(&o);
        o.threads = 1 + it % 3;
        o.min_parallel_ns = -1;
        h_check_opts(g, &r, -1, 1, &o, NULL);
    }
}

/* K above the micro-kernel's K block (256): two, three and more blocks, the
 * middle-block loop, every A/B/C form, edge rows and columns. */
static void test_gemm_kblocks(void **state)
{
    (void)state;
    struct rng r = {4242};
    const int64_t shapes[5][3] = {{19, 45, 700}, {10, 33, 300}, {17, 40, 600}, {8, 32, 1100},
                                  {3, 5, 257}};
    for (int it = 0; it < 5; it++) {
        int64_t M = shapes[it][0], N = shapes[it][1], K = shapes[it][2];
        int ta = it == 1, tb = it == 1 || it == 3;
        struct tsl_graph *g = h_graph();
        const int64_t *as = ta ? D(K, M) : D(M, K);
        const int64_t *bs = tb ? D(N, K) : D(K, N);
        struct tsl_value *a = it == 2 ? h_const(g, &r, "A", 2, as, -1, 1) : h_input(g, "a", 2, as);
        struct tsl_value *b = it == 0 || it == 3 ? h_const(g, &r, "B", 2, bs, -1, 1)
                                                 : h_input(g, "b", 2, bs);
        struct tsl_value *in[3] = {a, b, h_const(g, &r, "C", 1, D(N), -1, 1)};
        struct tsl_node *n = h_node(g, TSL_OP_GEMM, "gemm", 3, in);
        n->attrs.gemm.transA = ta;
        n->attrs.gemm.transB = tb;
        n->attrs.gemm.alpha = it == 3 ? 0.5f : 1.0f;
        n->attrs.gemm.beta = 1.0f;
        struct tsl_value *y = n->outputs[0];
        if (it % 2 == 0)
            y = h_node(g, TSL_OP_RELU, "relu", 1, &y)->outputs[0];
        tsl_graph_add_output(g, y);
        h_check(g, &r, -1, 1, NULL);
    }
    /* batched MatMul with a run-time B of K = 513 (three blocks) */
    struct tsl_graph *g = h_graph();
    struct tsl_value *a = h_input(g, "a", 3, D(2, 9, 513)), *b = h_input(g, "b", 3, D(2, 513, 20));
    tsl_graph_add_output(g, h_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){a, b})->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_matmul_batched(void **state)
{
    (void)state;
    struct rng r = {31337};
    for (int it = 0; it < 8; it++) {
        int64_t B = rng_int(&r, 1, 3), M = rng_int(&r, 1, 20), N = rng_int(&r, 1, 40),
                K = rng_int(&r, 1, 30);
        struct tsl_graph *g = h_graph();
        struct tsl_value *a = h_input(g, "a", 3, D(B, M, K));
        struct tsl_value *b;
        if (it % 3 == 0)
            b = h_const(g, &r, "W", 2, D(K, N), -1, 1);
        else if (it % 3 == 1)
            b = h_input(g, "b", 3, D(B, K, N));
        else
            b = h_input(g, "b", 2, D(K, N));
        struct tsl_node *n = h_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){a, b});
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void conv_case(struct rng *r, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                      int64_t kh, int64_t kw, int64_t s, int64_t p, int64_t dl, int64_t grp,
                      bool bias, int act)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(N, C, H, W));
    struct tsl_value *in[3] = {x, h_const(g, r, "w", 4, D(OC, C / grp, kh, kw), -1, 1),
                               bias ? h_const(g, r, "bias", 1, D(OC), -1, 1) : NULL};
    struct tsl_node *n = h_node(g, TSL_OP_CONV, "conv", bias ? 3 : 2, in);
    struct tsl_attr_conv *a = &n->attrs.conv;
    a->group = grp;
    a->kernel_shape = (struct tsl_ints){2, {kh, kw}};
    a->strides = (struct tsl_ints){2, {s, s}};
    a->dilations = (struct tsl_ints){2, {dl, dl}};
    a->pads = (struct tsl_ints){4, {p, p, p, p}};
    struct tsl_value *y = n->outputs[0];
    if (act == 1)
        y = h_node(g, TSL_OP_RELU, "relu", 1, &y)->outputs[0];
    else if (act == 2)
        y = h_node(g, TSL_OP_CLIP, "relu6", 3,
                   (struct tsl_value *[]){y, h_scalar(g, "z", 0.0f), h_scalar(g, "six", 0.5f)})
                ->outputs[0];
    tsl_graph_add_output(g, y);
    struct tsl_cpu_module_info info;
    h_check(g, r, -1, 1, &info);
    assert_int_equal(info.n_fused, act ? 1 : 0);
}

static void test_conv_random(void **state)
{
    (void)state;
    struct rng r = {777};
    for (int it = 0; it < 30; it++) {
        int64_t grp = it % 5 == 0 ? rng_int(&r, 2, 3) : 1;
        int64_t C = grp * rng_int(&r, 1, 6), OC = grp * rng_int(&r, 1, 12);
        int64_t kh = rng_int(&r, 1, 3), kw = rng_int(&r, 1, 3);
        int64_t dl = rng_int(&r, 1, 2), s = rng_int(&r, 1, 2), p = rng_int(&r, 0, 2);
        int64_t H = rng_int(&r, (kh - 1) * dl + 1, 12), W = rng_int(&r, (kw - 1) * dl + 1, 40);
        conv_case(&r, rng_int(&r, 1, 2), C, H, W, OC, kh, kw, s, p, dl, grp, it % 2 == 0,
                  it % 3);
    }
    /* exact micro-kernel tile multiples and a 1x1 conv reading the input in place */
    conv_case(&r, 1, 16, 8, 8, 16, 1, 1, 1, 0, 1, 1, true, 0);
    conv_case(&r, 1, 8, 7, 9, 24, 3, 3, 1, 1, 1, 1, true, 1);
    /* K = Cg*kh*kw above the K block: 576 (3 blocks), grouped 360 (2 blocks) */
    conv_case(&r, 1, 64, 6, 7, 20, 3, 3, 1, 1, 1, 1, true, 1);
    conv_case(&r, 2, 80, 5, 5, 18, 3, 3, 2, 1, 1, 2, false, 2);
    /* wide rows: the contiguous im2col panel copy (a panel within one output
     * row) mixed with panels that wrap a row, dilated, and a wide 1x1 */
    conv_case(&r, 2, 5, 4, 70, 9, 3, 3, 1, 1, 1, 1, true, 0);
    conv_case(&r, 1, 3, 6, 64, 4, 3, 3, 1, 2, 2, 1, false, 1);
    conv_case(&r, 1, 8, 4, 48, 16, 1, 1, 1, 0, 1, 1, true, 0);
    /* stride 2 with wide rows: the shuffled stride-2 panel copy and the
     * gather for panels that wrap (a ResNet-like 7x7 stem too) */
    conv_case(&r, 1, 3, 5, 72, 6, 3, 3, 2, 1, 1, 1, true, 1);
    conv_case(&r, 1, 3, 4, 128, 8, 7, 7, 2, 3, 1, 1, false, 0);
    /* one output position per image (squeeze-excite FCs): the GEMV path,
     * batched, with a stride that skips the rest of a 3x3 input */
    conv_case(&r, 3, 40, 1, 1, 45, 1, 1, 1, 0, 1, 1, true, 1);
    conv_case(&r, 2, 20, 3, 3, 70, 1, 1, 3, 0, 1, 1, false, 2);
}

static void test_conv_depthwise(void **state)
{
    (void)state;
    struct rng r = {4242};
    for (int it = 0; it < 10; it++) {
        int64_t C = rng_int(&r, 2, 12), k = rng_int(&r, 1, 2) * 2 + 1;
        int64_t s = rng_int(&r, 1, 2), p = rng_int(&r, 0, k / 2), dl = it % 4 == 3 ? 2 : 1;
        int64_t H = rng_int(&r, (k - 1) * dl + 1, 15), W = rng_int(&r, (k - 1) * dl + 1, 21);
        conv_case(&r, rng_int(&r, 1, 2), C, H, W, C, k, k, s, p, dl, C, it % 2 == 0, it % 3);
    }
    /* rows wide enough for whole vectors of the strided phase copy
     * (strided_copy.c) plus a partial one, at strides 2 and 3 */
    conv_case(&r, 1, 3, 9, 75, 3, 3, 3, 2, 1, 1, 3, false, 0);
    conv_case(&r, 1, 2, 8, 100, 2, 3, 3, 3, 1, 1, 2, true, 1);
}

static void test_conv1d_and_autopad(void **state)
{
    (void)state;
    struct rng r = {11};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 3, D(2, 3, 17));
    struct tsl_value *in[2] = {x, h_const(g, &r, "w", 3, D(5, 3, 3), -1, 1)};
    struct tsl_node *n = h_node(g, TSL_OP_CONV, "conv1d", 2, in);
    n->attrs.conv.kernel_shape = (struct tsl_ints){1, {3}};
    n->attrs.conv.strides = (struct tsl_ints){1, {2}};
    n->attrs.conv.auto_pad = TSL_auto_pad_SAME_UPPER;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_pool(void **state)
{
    (void)state;
    struct rng r = {8};
    for (int it = 0; it < 12; it++) {
        struct tsl_graph *g = h_graph();
        int64_t k = rng_int(&r, 1, 3), s = rng_int(&r, 1, 2), p = rng_int(&r, 0, k / 2);
        struct tsl_value *x = h_input(g, "x", 4, D(1, rng_int(&r, 1, 4), rng_int(&r, k, 11),
                                                   rng_int(&r, k, 13)));
        enum tsl_op op = it % 2 ? TSL_OP_MAX_POOL : TSL_OP_AVERAGE_POOL;
        struct tsl_node *n = h_node(g, op, "pool", 1, &x);
        n->attrs.pool.kernel_shape = (struct tsl_ints){2, {k, k}};
        n->attrs.pool.strides = (struct tsl_ints){2, {s, s}};
        n->attrs.pool.pads = (struct tsl_ints){4, {p, p, p, p}};
        n->attrs.pool.count_include_pad = it % 4 == 0;
        /* ceil_mode is left out: ir/shape and the reference disagree on the
         * window that starts in the end padding (reported to their owners) */
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
    for (int it = 0; it < 8; it++) { /* 3-D windows: strides, pads, dilations, SAME */
        struct tsl_graph *g = h_graph();
        int64_t k[3], s[3], p[6], dl[3], dims[5] = {rng_int(&r, 1, 2), rng_int(&r, 1, 3)};
        for (int i = 0; i < 3; i++) {
            k[i] = rng_int(&r, 1, 3), s[i] = rng_int(&r, 1, 2), dl[i] = rng_int(&r, 1, 2);
            p[i] = rng_int(&r, 0, k[i] / 2), p[3 + i] = rng_int(&r, 0, k[i] / 2);
            dims[2 + i] = rng_int(&r, (k[i] - 1) * dl[i] + 1, 7);
        }
        struct tsl_value *x = h_input(g, "x", 5, dims);
        enum tsl_op op = it % 2 ? TSL_OP_MAX_POOL : TSL_OP_AVERAGE_POOL;
        struct tsl_node *n = h_node(g, op, "pool3", 1, &x);
        n->attrs.pool.kernel_shape = (struct tsl_ints){3, {k[0], k[1], k[2]}};
        n->attrs.pool.strides = (struct tsl_ints){3, {s[0], s[1], s[2]}};
        if (it == 6) {
            n->attrs.pool.auto_pad = TSL_auto_pad_SAME_UPPER;
        } else {
            n->attrs.pool.pads = (struct tsl_ints){6, {p[0], p[1], p[2], p[3], p[4], p[5]}};
            if (op == TSL_OP_MAX_POOL)
                n->attrs.pool.dilations = (struct tsl_ints){3, {dl[0], dl[1], dl[2]}};
        }
        n->attrs.pool.count_include_pad = it % 4 == 0;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
    for (int gm = 0; gm < 4; gm++) {
        /* 21 and 400 elements per plane: vector accumulators plus a tail */
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 4, gm < 2 ? D(2, 5, 7, 3) : D(1, 3, 20, 20));
        struct tsl_node *n = h_node(g, gm % 2 ? TSL_OP_GLOBAL_MAX_POOL : TSL_OP_GLOBAL_AVERAGE_POOL,
                                    "gp", 1, &x);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void test_softmax(void **state)
{
    (void)state;
    struct rng r = {3};
    for (int ax = -3; ax < 3; ax++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 3, D(3, 4, 10));
        struct tsl_node *n = h_node(g, ax % 2 ? TSL_OP_SOFTMAX : TSL_OP_LOG_SOFTMAX, "sm", 1, &x);
        n->attrs.axis.axis = ax;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -4, 4, NULL);
    }
}

static void test_data_movement(void **state)
{
    (void)state;
    struct rng r = {21};
    struct tsl_graph *g = h_graph();
    struct tsl_value *a = h_input(g, "a", 3, D(2, 3, 4));
    struct tsl_value *b = h_input(g, "b", 3, D(2, 5, 4));
    struct tsl_node *cat = h_node(g, TSL_OP_CONCAT, "cat", 2, (struct tsl_value *[]){a, b});
    cat->attrs.axis.axis = 1;
    struct tsl_node *tr = h_node(g, TSL_OP_TRANSPOSE, "tr", 1, &cat->outputs[0]);
    tr->attrs.transpose.perm = (struct tsl_ints){3, {2, 0, 1}};
    struct tsl_node *rs = h_node(g, TSL_OP_RESHAPE, "rs", 2,
                                 (struct tsl_value *[]){tr->outputs[0], h_i64(g, "shp", 2, D(8, -1))});
    struct tsl_node *fl = h_node(g, TSL_OP_FLATTEN, "fl", 1, &cat->outputs[0]);
    fl->attrs.axis.axis = 1;
    tsl_graph_add_output(g, rs->outputs[0]);
    tsl_graph_add_output(g, fl->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_batchnorm(void **state)
{
    (void)state;
    struct rng r = {13};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(2, 6, 5, 5));
    struct tsl_value *in[5] = {x, h_const(g, &r, "s", 1, D(6), 0.5f, 2),
                               h_const(g, &r, "b", 1, D(6), -1, 1),
                               h_const(g, &r, "m", 1, D(6), -1, 1),
                               h_const(g, &r, "v", 1, D(6), 0.5f, 2)};
    struct tsl_node *n = h_node(g, TSL_OP_BATCH_NORM, "bn", 5, in);
    n->attrs.batchnorm.epsilon = 1e-5f;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),           cmocka_unit_test(test_clip),
        cmocka_unit_test(test_binary_broadcast), cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_gemm_random),     cmocka_unit_test(test_gemm_runtime_c_beta),
        cmocka_unit_test(test_gemm_kblocks),
        cmocka_unit_test(test_matmul_batched),
        cmocka_unit_test(test_conv_random),     cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv1d_and_autopad), cmocka_unit_test(test_pool),
        cmocka_unit_test(test_softmax),         cmocka_unit_test(test_data_movement),
        cmocka_unit_test(test_batchnorm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
