/* test_cpu_fuse.c - differential tests of the CPU backend's epilogue fusion
 * (backends/cpu/fuse.c): every pattern is built with random weights and
 * inputs, compiled, run and compared with the reference interpreter
 * (harness.h tolerance), and the number of fused nodes / generated kernels
 * is checked so a pattern that silently stops fusing fails too.
 *
 * Patterns: Conv -> HardSigmoid / HardSwish / LeakyRelu; x * HardSigmoid(x)
 * and PP-OCR's x * Clip(x + 3, 0, 6) / 6 after a Conv, a depthwise Conv and a
 * residual Add; SiLU x * Sigmoid(x) after a Gemm; scalar Mul/Add/Relu after
 * a MatMul; reversed operands (c - x, c / x) and Max/Min after an Add;
 * ConvTranspose (GEMM path) -> Add -> Sigmoid; and the cases that must stop
 * the chain: an intermediate that is a graph output or has a user outside
 * the chain, a per-channel (non-scalar) operand, a broadcasting Mul; the
 * squeeze-excite Mul folded into the next Conv's B packing; and a mixed
 * block on the AVX2 and scalar targets. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "harness.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static struct tsl_value *conv(struct tsl_graph *g, struct rng *r, const char *name,
                              struct tsl_value *x, int64_t c, int64_t oc, int64_t k, int64_t grp)
{
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s_w", name);
    snprintf(bn, sizeof bn, "%s_b", name);
    float sc = 2.0f / sqrtf((float)(c / grp * k * k));
    struct tsl_value *in[3] = {x, h_const(g, r, wn, 4, D(oc, c / grp, k, k), -sc, sc),
                               h_const(g, r, bn, 1, D(oc), -0.5f, 0.5f)};
    struct tsl_node *n = h_node(g, TSL_OP_CONV, name, 3, in);
    n->attrs.conv.group = grp;
    n->attrs.conv.kernel_shape = (struct tsl_ints){2, {k, k}};
    n->attrs.conv.strides = (struct tsl_ints){2, {1, 1}};
    n->attrs.conv.pads = (struct tsl_ints){4, {k / 2, k / 2, k / 2, k / 2}};
    return n->outputs[0];
}

static struct tsl_value *un(struct tsl_graph *g, enum tsl_op op, struct tsl_value *x, float a,
                            float b)
{
    struct tsl_node *n = h_node(g, op, NULL, 1, &x);
    n->attrs.alpha_beta.alpha = a;
    n->attrs.alpha_beta.beta = b;
    return n->outputs[0];
}

static struct tsl_value *bin(struct tsl_graph *g, enum tsl_op op, struct tsl_value *x,
                             struct tsl_value *y)
{
    return h_node(g, op, NULL, 2, (struct tsl_value *[]){x, y})->outputs[0];
}

/* PP-OCR's decomposed hard-swish: x * Clip(x + 3, 0, 6) / 6 */
static struct tsl_value *ocr_hswish(struct tsl_graph *g, struct tsl_value *x, const char *tag)
{
    char n[64];
    snprintf(n, sizeof n, "%s_3", tag);
    struct tsl_value *t = bin(g, TSL_OP_ADD, x, h_scalar(g, n, 3.0f));
    snprintf(n, sizeof n, "%s_lo", tag);
    struct tsl_value *lo = h_scalar(g, n, 0.0f);
    snprintf(n, sizeof n, "%s_hi", tag);
    struct tsl_value *hi = h_scalar(g, n, 6.0f);
    t = h_node(g, TSL_OP_CLIP, NULL, 3, (struct tsl_value *[]){t, lo, hi})->outputs[0];
    t = bin(g, TSL_OP_MUL, x, t);
    snprintf(n, sizeof n, "%s_6", tag);
    return bin(g, TSL_OP_DIV, t, h_scalar(g, n, 6.0f));
}

static void check(struct tsl_graph *g, struct rng *r, uint32_t want_fused, uint32_t want_kernels)
{
    struct tsl_cpu_module_info info;
    h_check(g, r, -4, 4, &info);
    assert_int_equal(info.n_fused, want_fused);
    assert_int_equal(info.n_kernels, want_kernels);
}

static void test_conv_activations(void **state)
{
    (void)state;
    struct rng r = {0xF05E};
    const enum tsl_op ops[3] = {TSL_OP_HARD_SIGMOID, TSL_OP_HARD_SWISH, TSL_OP_LEAKY_RELU};
    const float alpha[3] = {0.2f, 0.0f, 0.1f}, beta[3] = {0.5f, 0.0f, 0.0f};
    for (int i = 0; i < 3; i++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 4, D(2, 5, 9, 11));
        struct tsl_value *y = un(g, ops[i], conv(g, &r, "c", x, 5, 19, 3, 1), alpha[i], beta[i]);
        tsl_graph_add_output(g, y);
        check(g, &r, 1, 1);
    }
}

static void test_hswish_forms(void **state)
{
    (void)state;
    struct rng r = {0xA11};
    /* x * HardSigmoid(x) after a Conv (MobileNetV3's export) */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 6, 12, 12));
    struct tsl_value *c = conv(g, &r, "c", x, 6, 33, 3, 1);
    tsl_graph_add_output(g, bin(g, TSL_OP_MUL, c, un(g, TSL_OP_HARD_SIGMOID, c, 1.0f / 6, 0.5f)));
    check(g, &r, 2, 1);
    /* PP-OCR's form after a Conv, a depthwise Conv, and a Conv with a residual */
    g = h_graph();
    x = h_input(g, "x", 4, D(1, 8, 10, 13));
    c = ocr_hswish(g, conv(g, &r, "c1", x, 8, 8, 3, 1), "a");
    c = ocr_hswish(g, conv(g, &r, "dw", c, 8, 8, 5, 8), "b");
    struct tsl_value *res = bin(g, TSL_OP_ADD, conv(g, &r, "c2", c, 8, 8, 1, 1), c);
    tsl_graph_add_output(g, ocr_hswish(g, res, "c"));
    check(g, &r, 4 + 4 + 5, 3);
}

static void test_gemm_chains(void **state)
{
    (void)state;
    struct rng r = {0x6E};
    /* SiLU after a Gemm: Sigmoid then Mul(x, s) */
    struct tsl_graph *g = h_graph();
    struct tsl_value *a = h_input(g, "a", 2, D(13, 40));
    struct tsl_value *in[3] = {a, h_const(g, &r, "w", 2, D(40, 37), -0.3f, 0.3f),
                               h_const(g, &r, "b", 1, D(37), -0.5f, 0.5f)};
    struct tsl_value *y = h_node(g, TSL_OP_GEMM, "fc", 3, in)->outputs[0];
    tsl_graph_add_output(g, bin(g, TSL_OP_MUL, un(g, TSL_OP_SIGMOID, y, 0, 0), y));
    check(g, &r, 2, 1);
    /* scalar affine + Relu after a MatMul (learnable affine blocks) */
    g = h_graph();
    a = h_input(g, "a", 3, D(2, 7, 24));
    y = bin(g, TSL_OP_MATMUL, a, h_const(g, &r, "w", 2, D(24, 50), -0.3f, 0.3f));
    y = bin(g, TSL_OP_ADD, h_scalar(g, "beta", 0.25f),
            bin(g, TSL_OP_MUL, y, h_scalar(g, "gamma", 1.5f)));
    tsl_graph_add_output(g, un(g, TSL_OP_RELU, y, 0, 0));
    check(g, &r, 3, 1);
}

static void test_long_chain(void **state)
{
    (void)state;
    struct rng r = {0x10C};
    /* PP-OCR's block: Conv, scalar affine, hard-swish, scalar affine: 8 ops */
    for (int extra = 0; extra < 2; extra++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 4, D(1, 8, 6, 35));
        struct tsl_value *y = conv(g, &r, "c", x, 8, 12, 3, 1);
        y = bin(g, TSL_OP_ADD, bin(g, TSL_OP_MUL, y, h_scalar(g, "s1", 0.75f)), h_scalar(g, "t1", 0.1f));
        y = ocr_hswish(g, y, "h");
        y = bin(g, TSL_OP_ADD, bin(g, TSL_OP_MUL, h_scalar(g, "s2", 1.25f), y), h_scalar(g, "t2", -0.2f));
        if (extra) /* a ninth op does not fit: it starts the next step */
            y = un(g, TSL_OP_RELU, y, 0, 0);
        tsl_graph_add_output(g, y);
        check(g, &r, 8, 1 + (uint32_t)extra);
    }
}

static void test_elementwise_chain(void **state)
{
    (void)state;
    struct rng r = {0xE1};
    /* Add -> (2 - x) -> (3 / x) -> Max(x, -1) -> Min(0.5, x): reversed operands */
    struct tsl_graph *g = h_graph();
    struct tsl_value *a = h_input(g, "a", 3, D(3, 4, 21)), *b = h_input(g, "b", 3, D(3, 4, 21));
    struct tsl_value *y = bin(g, TSL_OP_ADD, a, b);
    y = bin(g, TSL_OP_SUB, h_scalar(g, "two", 2.0f), y);
    y = bin(g, TSL_OP_DIV, h_scalar(g, "three", 3.0f), y);
    y = bin(g, TSL_OP_MAX, y, h_scalar(g, "m1", -1.0f));
    y = bin(g, TSL_OP_MIN, h_scalar(g, "half", 0.5f), y);
    tsl_graph_add_output(g, y);
    check(g, &r, 4, 1);
}

/* A producer on the typed path (Pow with an f64 exponent) applies the fused
 * program too. */
static void test_typed_producer(void **state)
{
    (void)state;
    struct rng r = {0x90};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(5, 33));
    struct tsl_value *e = h_input(g, "e", 2, D(5, 33));
    e->type.dtype = TSL_DTYPE_F64;
    x = bin(g, TSL_OP_ADD, un(g, TSL_OP_ABS, x, 0, 0), h_scalar(g, "half", 0.5f));
    struct tsl_value *y = bin(g, TSL_OP_POW, x, e);
    y = bin(g, TSL_OP_SUB, y, h_scalar(g, "one", 1.0f));
    tsl_graph_add_output(g, un(g, TSL_OP_RELU, y, 0, 0));
    check(g, &r, 3, 2); /* Abs+Add; Pow+Sub+Relu */
}

static void test_conv_transpose_head(void **state)
{
    (void)state;
    struct rng r = {0xC7};
    /* PP-OCR det head: 2x2 stride-2 ConvTranspose, bias, Add scalar, Sigmoid */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 6, 9, 7));
    struct tsl_value *in[3] = {x, h_const(g, &r, "w", 4, D(6, 3, 2, 2), -1, 1),
                               h_const(g, &r, "b", 1, D(3), -1, 1)};
    struct tsl_node *n = h_node(g, TSL_OP_CONV_TRANSPOSE, "up", 3, in);
    n->attrs.conv_transpose.strides = (struct tsl_ints){2, {2, 2}};
    struct tsl_value *y = bin(g, TSL_OP_ADD, n->outputs[0], h_scalar(g, "c", 0.5f));
    tsl_graph_add_output(g, un(g, TSL_OP_SIGMOID, y, 0, 0));
    check(g, &r, 2, 1);
}

static void test_chain_stops(void **state)
{
    (void)state;
    struct rng r = {0x570};
    /* an intermediate that is a graph output ends the chain before its user */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 4, 8, 8));
    struct tsl_value *c = conv(g, &r, "c", x, 4, 8, 3, 1);
    struct tsl_value *s = un(g, TSL_OP_SIGMOID, c, 0, 0);
    tsl_graph_add_output(g, s);
    tsl_graph_add_output(g, bin(g, TSL_OP_MUL, s, h_scalar(g, "k", 2.0f)));
    check(g, &r, 1, 2); /* Conv+Sigmoid, then Mul */
    /* an intermediate with a user outside the chain (a Relu in another branch) */
    g = h_graph();
    x = h_input(g, "x", 4, D(1, 4, 8, 8));
    c = conv(g, &r, "c", x, 4, 8, 3, 1);
    s = un(g, TSL_OP_HARD_SIGMOID, c, 0.2f, 0.5f);
    struct tsl_value *m = bin(g, TSL_OP_MUL, c, s);
    tsl_graph_add_output(g, bin(g, TSL_OP_ADD, m, un(g, TSL_OP_TANH, s, 0, 0)));
    check(g, &r, 0, 5); /* c is read by the Mul, s by the Tanh: nothing fuses */
    /* a per-channel operand and a broadcasting Mul (squeeze-excite) are not fused */
    g = h_graph();
    x = h_input(g, "x", 4, D(1, 4, 8, 8));
    c = conv(g, &r, "c", x, 4, 8, 3, 1);
    c = bin(g, TSL_OP_MUL, c, h_const(g, &r, "pc", 3, D(8, 1, 1), -1, 1));
    struct tsl_value *se = h_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &c)->outputs[0];
    se = un(g, TSL_OP_HARD_SIGMOID, conv(g, &r, "fc", se, 8, 8, 1, 1), 0.2f, 0.5f);
    tsl_graph_add_output(g, bin(g, TSL_OP_MUL, c, se));
    check(g, &r, 1, 5); /* Conv; Mul; GAP; Conv+HardSigmoid; Mul */
    /* a residual Add into the squeeze-excite FC (the GEMV path) */
    g = h_graph();
    x = h_input(g, "x", 4, D(2, 8, 5, 5));
    se = h_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &x)->outputs[0];
    c = bin(g, TSL_OP_ADD, conv(g, &r, "fc", se, 8, 8, 1, 1), se);
    tsl_graph_add_output(g, un(g, TSL_OP_RELU, c, 0, 0));
    check(g, &r, 2, 2); /* GAP; Conv+Add+Relu */
}

/* Squeeze-excite: Mul(x, se[N,C,1,1]) folded into the B packing of the
 * Conv that reads it (3x3 padded and 1x1, batch 1 and 2, both operand
 * orders); not folded when the Conv has one output position. */
static void test_se_scale(void **state)
{
    (void)state;
    struct rng r = {0x5E};
    for (int k = 0; k < 3; k++) {
        int64_t batch = k == 2 ? 2 : 1, ks = k == 1 ? 1 : 3;
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 4, D(batch, 8, 9, 40));
        struct tsl_value *se = h_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &x)->outputs[0];
        se = un(g, TSL_OP_HARD_SIGMOID, conv(g, &r, "fc", se, 8, 8, 1, 1), 0.2f, 0.5f);
        struct tsl_value *m = k == 1 ? bin(g, TSL_OP_MUL, se, x) : bin(g, TSL_OP_MUL, x, se);
        tsl_graph_add_output(g, conv(g, &r, "proj", m, 8, 12, ks, 1));
        check(g, &r, 2, 3); /* GAP; fc+HardSigmoid; proj+Mul */
    }
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 8, 1, 1));
    struct tsl_value *m = bin(g, TSL_OP_MUL, x, h_input(g, "s", 4, D(1, 8, 1, 1)));
    tsl_graph_add_output(g, conv(g, &r, "fc", m, 8, 5, 1, 1));
    check(g, &r, 0, 2); /* the GEMV path keeps the Mul */
}

/* The fused programs, the depthwise phase kernel and the vector panel
 * copies on the AVX2 (8 lanes) and scalar (<1 x float>) targets too. */
static struct tsl_graph *mixed_block(struct rng *r)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 6, 9, 40));
    struct tsl_value *c = ocr_hswish(g, conv(g, r, "c1", x, 6, 10, 3, 1), "a");
    struct tsl_value *dw = conv(g, r, "dw", c, 10, 10, 5, 10);
    dw = bin(g, TSL_OP_MUL, dw, un(g, TSL_OP_HARD_SIGMOID, dw, 0.2f, 0.5f));
    struct tsl_value *s = conv(g, r, "c2", dw, 10, 7, 1, 1);
    tsl_graph_add_output(g, bin(g, TSL_OP_MUL, s, un(g, TSL_OP_SIGMOID, s, 0, 0)));
    return g;
}

static void test_fallback_targets(void **state)
{
    (void)state;
    const char *feats[3] = {NULL, "+avx2,+fma,-avx512f", "-avx512f,-avx2"};
    const int vw[3] = {0, 8, 1};
    for (int k = 0; k < 3; k++) {
        struct rng r = {0xFA11};
        struct tsl_cpu_options o;
        tsl_cpu_options_default(&o);
        o.features = feats[k];
        struct tsl_cpu_module_info info;
        h_check_opts(mixed_block(&r), &r, -4, 4, &o, &info);
        assert_int_equal(info.n_fused, 4 + 2 + 2);
        if (vw[k])
            assert_int_equal(info.vector_width, vw[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_activations), cmocka_unit_test(test_hswish_forms),
        cmocka_unit_test(test_gemm_chains),      cmocka_unit_test(test_elementwise_chain),
        cmocka_unit_test(test_long_chain),       cmocka_unit_test(test_fallback_targets),
        cmocka_unit_test(test_se_scale),         cmocka_unit_test(test_typed_producer),
        cmocka_unit_test(test_conv_transpose_head), cmocka_unit_test(test_chain_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
