/* test_ref_math.c - reference kernels that compute: the kernel table is
 * full, unary/binary elementwise ops (broadcasting, integer semantics,
 * rounding), Gemm/MatMul against a naive product, Conv/ConvTranspose
 * against a direct convolution, pooling, normalization, softmax and
 * reductions.  Expected values are hand-computed or numpy-checked. */
#include <stdio.h>

#include "reference/ref_test_util.h"

static void test_every_op_has_kernel(void **state)
{
    (void)state;
    for (int op = 0; op < TSL_OP_COUNT; op++)
        if (!tsl_ref_has_kernel((enum tsl_op)op))
            fail_msg("no reference kernel for %s", tsl_op_name((enum tsl_op)op));
    assert_false(tsl_ref_has_kernel(TSL_OP_COUNT));
}

static void test_unary(void **state)
{
    (void)state;
    float x[6] = {-2.0f, -0.5f, 0.0f, 0.5f, 1.5f, 2.5f};
    struct tt in = TT(F32, 1, x, 6);
    struct tsl_tensor *o = run_op(TSL_OP_RELU, NULL, 1, &in, 1);
    check_f32(&o[0], (float[]){0, 0, 0, 0.5f, 1.5f, 2.5f}, 6, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_ROUND, NULL, 1, &in, 1); /* half to even */
    check_f32(&o[0], (float[]){-2, -0.0f, 0, 0, 2, 2}, 6, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_SIGMOID, NULL, 1, &in, 1);
    check_f32(&o[0], (float[]){0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.81757448f,
                               0.92414182f}, 6, 1e-6f);
    tsl_tensors_free(o, 1);
    union tsl_attrs a = attrs_of(TSL_OP_LEAKY_RELU);
    a.alpha_beta.alpha = 0.1f;
    o = run_op(TSL_OP_LEAKY_RELU, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){-0.2f, -0.05f, 0, 0.5f, 1.5f, 2.5f}, 6, 1e-7f);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_HARD_SWISH, NULL, 1, &in, 1);
    check_f32(&o[0], (float[]){-0.33333334f, -0.20833333f, 0, 0.29166666f, 1.125f, 2.2916667f},
              6, 1e-6f);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_ELU);
    a.alpha_beta.alpha = 1.0f;
    o = run_op(TSL_OP_ELU, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){-0.86466472f, -0.39346934f, 0, 0.5f, 1.5f, 2.5f}, 6, 1e-6f);
    tsl_tensors_free(o, 1);
    int32_t xi[4] = {-3, 0, 5, INT32_MIN};
    struct tt ini = TT(I32, 1, xi, 4);
    o = run_op(TSL_OP_ABS, NULL, 1, &ini, 1);
    check_bytes(&o[0], TSL_DTYPE_I32, (int32_t[]){3, 0, 5, INT32_MIN}, 16);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_SIGN, NULL, 1, &ini, 1);
    check_bytes(&o[0], TSL_DTYPE_I32, (int32_t[]){-1, 0, 1, -1}, 16);
    tsl_tensors_free(o, 1);
    /* Sigmoid is float-only */
    char msg[256];
    struct tsl_tensor *outs;
    assert_int_equal(run_op_msg(TSL_OP_SIGMOID, NULL, 1, &ini, 1, &outs, msg, sizeof msg),
                     TSL_STATUS_UNSUPPORTED);
    assert_non_null(strstr(msg, "node: Sigmoid:"));
}

static void test_clip_cast(void **state)
{
    (void)state;
    float x[4] = {-2.0f, 0.5f, 3.0f, 9.0f}, lo = 0.0f, hi = 4.0f;
    struct tt ins[3] = {TT(F32, 1, x, 4), TT(F32, 0, &lo), TT_NONE};
    struct tsl_tensor *o = run_op(TSL_OP_CLIP, NULL, 3, ins, 1);
    check_f32(&o[0], (float[]){0, 0.5f, 3, 9}, 4, 0);
    tsl_tensors_free(o, 1);
    ins[2] = TT(F32, 0, &hi);
    o = run_op(TSL_OP_CLIP, NULL, 3, ins, 1);
    check_f32(&o[0], (float[]){0, 0.5f, 3, 4}, 4, 0);
    tsl_tensors_free(o, 1);
    int8_t xi[3] = {-100, 5, 100}, ilo = -10;
    struct tt ins8[2] = {TT(I8, 1, xi, 3), TT(I8, 0, &ilo)};
    o = run_op(TSL_OP_CLIP, NULL, 2, ins8, 1);
    check_bytes(&o[0], TSL_DTYPE_I8, (int8_t[]){-10, 5, 100}, 3);
    tsl_tensors_free(o, 1);

    float c[5] = {-1.7f, 2.9f, 0.0f, 1.0f / 3.0f, 65504.0f};
    struct tt cin = TT(F32, 1, c, 5);
    union tsl_attrs a = attrs_of(TSL_OP_CAST);
    a.cast.to = TSL_DTYPE_I32; /* truncation toward zero */
    o = run_op(TSL_OP_CAST, &a, 1, &cin, 1);
    check_bytes(&o[0], TSL_DTYPE_I32, (int32_t[]){-1, 2, 0, 0, 65504}, 20);
    tsl_tensors_free(o, 1);
    a.cast.to = TSL_DTYPE_F16;
    o = run_op(TSL_OP_CAST, &a, 1, &cin, 1);
    /* -1.7 -> 0xbecd, 2.9 -> 0x41cd, 1/3 -> 0x3555, 65504 -> 0x7bff */
    check_bytes(&o[0], TSL_DTYPE_F16, (uint16_t[]){0xbecd, 0x41cd, 0x0000, 0x3555, 0x7bff}, 10);
    tsl_tensors_free(o, 1);
    a.cast.to = TSL_DTYPE_BOOL;
    o = run_op(TSL_OP_CAST, &a, 1, &cin, 1);
    check_bytes(&o[0], TSL_DTYPE_BOOL, (uint8_t[]){1, 1, 0, 1, 1}, 5);
    tsl_tensors_free(o, 1);
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, col[2] = {2, 3};
    struct tt ins[2] = {TT(F32, 2, a, 2, 3), TT(F32, 1, b, 3)};
    struct tsl_tensor *o = run_op(TSL_OP_ADD, NULL, 2, ins, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], (float[]){11, 22, 33, 14, 25, 36}, 6, 0);
    tsl_tensors_free(o, 1);
    /* [2,1] x [1,3] -> [2,3] */
    struct tt ins2[2] = {TT(F32, 2, col, 2, 1), TT(F32, 2, b, 1, 3)};
    o = run_op(TSL_OP_MUL, NULL, 2, ins2, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], (float[]){20, 40, 60, 30, 60, 90}, 6, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_GREATER, NULL, 2, (struct tt[]){TT(F32, 2, a, 2, 3), TT(F32, 0, &a[2])}, 1);
    check_bytes(&o[0], TSL_DTYPE_BOOL, (uint8_t[]){0, 0, 0, 1, 1, 1}, 6);
    tsl_tensors_free(o, 1);
    /* integer division truncates toward zero; by zero is an error */
    int64_t n[4] = {-7, 7, 7, -7}, d[4] = {2, -2, 2, -2};
    o = run_op(TSL_OP_DIV, NULL, 2, (struct tt[]){TT(I64, 1, n, 4), TT(I64, 1, d, 4)}, 1);
    check_i64(&o[0], (int64_t[]){-3, -3, 3, 3}, 4);
    tsl_tensors_free(o, 1);
    int64_t z = 0;
    char msg[256];
    struct tsl_tensor *outs;
    assert_int_equal(run_op_msg(TSL_OP_DIV, NULL, 2, (struct tt[]){TT(I64, 1, n, 4),
                                                                  TT(I64, 0, &z)},
                                1, &outs, msg, sizeof msg),
                     TSL_STATUS_INVALID_ARG);
    assert_non_null(strstr(msg, "division by zero"));
    /* int8 add wraps */
    int8_t p[2] = {127, -128}, q[2] = {1, -1};
    o = run_op(TSL_OP_ADD, NULL, 2, (struct tt[]){TT(I8, 1, p, 2), TT(I8, 1, q, 2)}, 1);
    check_bytes(&o[0], TSL_DTYPE_I8, (int8_t[]){-128, 127}, 2);
    tsl_tensors_free(o, 1);
    /* incompatible shapes */
    float e[4] = {0};
    assert_int_equal(run_op_msg(TSL_OP_SUB, NULL, 2, (struct tt[]){TT(F32, 1, e, 4),
                                                                  TT(F32, 1, b, 3)},
                                1, &outs, msg, sizeof msg),
                     TSL_STATUS_INVALID_ARG);
    /* Pow with an integer exponent, PRelu with per-channel slope */
    float base[3] = {2, -3, 4};
    int64_t ex[3] = {3, 2, -1};
    o = run_op(TSL_OP_POW, NULL, 2, (struct tt[]){TT(F32, 1, base, 3), TT(I64, 1, ex, 3)}, 1);
    check_f32(&o[0], (float[]){8, 9, 0.25f}, 3, 0);
    tsl_tensors_free(o, 1);
    float px[4] = {-1, 2, -3, 4}, slope[2] = {0.5f, 0.25f};
    o = run_op(TSL_OP_PRELU, NULL, 2,
               (struct tt[]){TT(F32, 3, px, 1, 2, 2), TT(F32, 2, slope, 2, 1)}, 1);
    check_f32(&o[0], (float[]){-0.5f, 2, -0.75f, 4}, 4, 0);
    tsl_tensors_free(o, 1);
    uint8_t ba[4] = {0, 0, 1, 1}, bb[4] = {0, 1, 0, 1};
    o = run_op(TSL_OP_XOR, NULL, 2, (struct tt[]){TT(BOOL, 1, ba, 4), TT(BOOL, 1, bb, 4)}, 1);
    check_bytes(&o[0], TSL_DTYPE_BOOL, (uint8_t[]){0, 1, 1, 0}, 4);
    tsl_tensors_free(o, 1);
}

static void test_variadic_where(void **state)
{
    (void)state;
    float a[3] = {1, 5, 3}, b[1] = {2}, c[6] = {0, 0, 9, 4, 4, 4};
    struct tt ins[3] = {TT(F32, 1, a, 3), TT(F32, 1, b, 1), TT(F32, 2, c, 2, 3)};
    struct tsl_tensor *o = run_op(TSL_OP_MAX, NULL, 3, ins, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], (float[]){2, 5, 9, 4, 5, 4}, 6, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_MEAN, NULL, 3, ins, 1);
    check_f32(&o[0], (float[]){1, 7.0f / 3, 14.0f / 3, 7.0f / 3, 11.0f / 3, 3}, 6, 1e-6f);
    tsl_tensors_free(o, 1);
    uint8_t cond[2] = {1, 0};
    o = run_op(TSL_OP_WHERE, NULL, 3,
               (struct tt[]){TT(BOOL, 2, cond, 2, 1), TT(F32, 1, a, 3), TT(F32, 0, b)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], (float[]){1, 5, 3, 2, 2, 2}, 6, 0);
    tsl_tensors_free(o, 1);
}

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill(float *p, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = frand(&seed);
}

static void test_gemm_matmul(void **state)
{
    (void)state;
    enum { M = 37, N = 29, K = 300 };
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float bias[N], *want = malloc(sizeof(float) * M * N);
    fill(A, M * K, 1);
    fill(B, K * N, 2);
    fill(bias, N, 3);
    /* A stored transposed ([K, M]), B stored as [K, N] */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)A[k * M + i] * B[k * N + j];
            want[i * N + j] = (float)(0.5 * s + 2.0 * bias[j]);
        }
    union tsl_attrs a = attrs_of(TSL_OP_GEMM);
    a.gemm.transA = 1;
    a.gemm.alpha = 0.5f;
    a.gemm.beta = 2.0f;
    struct tt ins[3] = {TT(F32, 2, A, K, M), TT(F32, 2, B, K, N), TT(F32, 1, bias, N)};
    struct tsl_tensor *o = run_op(TSL_OP_GEMM, &a, 3, ins, 1);
    check_shape(&o[0], 2, (int64_t[]){M, N});
    check_f32(&o[0], want, M * N, 1e-4f);
    tsl_tensors_free(o, 1);
    free(want);

    /* batched + broadcast MatMul: [2,1,3,4] x [3,4,5] -> [2,3,3,5] */
    float x[24], y[60];
    fill(x, 24, 4);
    fill(y, 60, 5);
    o = run_op(TSL_OP_MATMUL, NULL, 2,
               (struct tt[]){TT(F32, 4, x, 2, 1, 3, 4), TT(F32, 3, y, 3, 4, 5)}, 1);
    check_shape(&o[0], 4, (int64_t[]){2, 3, 3, 5});
    for (int b0 = 0; b0 < 2; b0++)
        for (int b1 = 0; b1 < 3; b1++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 5; j++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++)
                        s += (double)x[b0 * 12 + i * 4 + k] * y[b1 * 20 + k * 5 + j];
                    float g = ((float *)o[0].data)[((b0 * 3 + b1) * 3 + i) * 5 + j];
                    assert_float_equal(g, s, 1e-5);
                }
    tsl_tensors_free(o, 1);
    /* 1-D operands: [4] x [4,5] -> [5]; [3,4] x [4] -> [3] */
    o = run_op(TSL_OP_MATMUL, NULL, 2, (struct tt[]){TT(F32, 1, x, 4), TT(F32, 2, y, 4, 5)}, 1);
    check_shape(&o[0], 1, (int64_t[]){5});
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_MATMUL, NULL, 2, (struct tt[]){TT(F32, 2, x, 3, 4), TT(F32, 1, y, 4)}, 1);
    check_shape(&o[0], 1, (int64_t[]){3});
    double s0 = 0;
    for (int k = 0; k < 4; k++)
        s0 += (double)x[k] * y[k];
    assert_float_equal(((float *)o[0].data)[0], s0, 1e-6);
    tsl_tensors_free(o, 1);
    int32_t ia[4] = {1, 2, 3, 4}, ib[4] = {5, 6, 7, 8};
    o = run_op(TSL_OP_MATMUL, NULL, 2, (struct tt[]){TT(I32, 2, ia, 2, 2), TT(I32, 2, ib, 2, 2)},
               1);
    check_bytes(&o[0], TSL_DTYPE_I32, (int32_t[]){19, 22, 43, 50}, 16);
    tsl_tensors_free(o, 1);
    free(A);
    free(B);
}

/* Direct 2-D convolution used as the oracle for im2col + GEMM. */
static void conv_direct(const float *x, const float *w, const float *b, float *y, int N, int C,
                        int H, int W, int M, int G, int kh, int kw, int sh, int sw, int dh,
                        int dw, int ph, int pw, int OH, int OW)
{
    int cg = C / G, mg = M / G;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = b ? b[m] : 0;
                    int g = m / mg;
                    for (int c = 0; c < cg; c++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int ih = oh * sh - ph + i * dh, iw = ow * sw - pw + j * dw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                s += (double)x[((n * C + g * cg + c) * H + ih) * W + iw] *
                                     w[((m * cg + c) * kh + i) * kw + j];
                            }
                    y[((n * M + m) * OH + oh) * OW + ow] = (float)s;
                }
}

static void conv_case(int N, int C, int H, int W, int M, int G, int k, int s, int d, int p,
                      enum tsl_auto_pad ap)
{
    int cg = C / G, eff = (k - 1) * d + 1, OH, OW, ph = p, pw = p;
    if (ap == TSL_auto_pad_SAME_UPPER || ap == TSL_auto_pad_SAME_LOWER) {
        OH = (H + s - 1) / s;
        OW = (W + s - 1) / s;
        int th = (OH - 1) * s + eff - H, tw = (OW - 1) * s + eff - W;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        ph = ap == TSL_auto_pad_SAME_UPPER ? th / 2 : th - th / 2;
        pw = ap == TSL_auto_pad_SAME_UPPER ? tw / 2 : tw - tw / 2;
    } else {
        OH = (H + 2 * p - eff) / s + 1;
        OW = (W + 2 * p - eff) / s + 1;
    }
    float *x = malloc(sizeof(float) * N * C * H * W), *w = malloc(sizeof(float) * M * cg * k * k);
    float *b = malloc(sizeof(float) * M), *want = malloc(sizeof(float) * N * M * OH * OW);
    fill(x, N * C * H * W, 7);
    fill(w, M * cg * k * k, 8);
    fill(b, M, 9);
    conv_direct(x, w, b, want, N, C, H, W, M, G, k, k, s, s, d, d, ph, pw, OH, OW);
    union tsl_attrs a = attrs_of(TSL_OP_CONV);
    a.conv.group = G;
    a.conv.auto_pad = ap;
    a.conv.strides = (struct tsl_ints){2, {s, s}};
    a.conv.dilations = (struct tsl_ints){2, {d, d}};
    if (ap == TSL_auto_pad_NOTSET)
        a.conv.pads = (struct tsl_ints){4, {p, p, p, p}};
    struct tt ins[3] = {TT(F32, 4, x, N, C, H, W), TT(F32, 4, w, M, cg, k, k),
                        TT(F32, 1, b, M)};
    struct tsl_tensor *o = run_op(TSL_OP_CONV, &a, 3, ins, 1);
    check_shape(&o[0], 4, (int64_t[]){N, M, OH, OW});
    check_f32(&o[0], want, (int64_t)N * M * OH * OW, 1e-4f);
    tsl_tensors_free(o, 1);
    free(x);
    free(w);
    free(b);
    free(want);
}

static void test_conv(void **state)
{
    (void)state;
    conv_case(1, 3, 8, 8, 4, 1, 3, 1, 1, 1, TSL_auto_pad_NOTSET);
    conv_case(2, 4, 9, 7, 6, 2, 3, 2, 1, 1, TSL_auto_pad_NOTSET);  /* groups, stride */
    conv_case(1, 8, 10, 10, 8, 8, 3, 1, 1, 1, TSL_auto_pad_NOTSET); /* depthwise */
    conv_case(1, 3, 11, 11, 5, 1, 3, 1, 2, 2, TSL_auto_pad_NOTSET); /* dilation */
    conv_case(1, 16, 5, 5, 20, 1, 1, 1, 1, 0, TSL_auto_pad_NOTSET); /* pointwise */
    conv_case(1, 3, 7, 8, 4, 1, 4, 2, 1, 0, TSL_auto_pad_SAME_UPPER);
    conv_case(1, 3, 7, 8, 4, 1, 4, 2, 1, 0, TSL_auto_pad_SAME_LOWER);
    conv_case(1, 300, 6, 6, 130, 1, 3, 1, 1, 1, TSL_auto_pad_NOTSET); /* > one K block */

    /* 1-D convolution, hand-computed: x=[1,2,3,4], w=[1,0,-1], pad 1 */
    float x[4] = {1, 2, 3, 4}, w[3] = {1, 0, -1};
    union tsl_attrs a = attrs_of(TSL_OP_CONV);
    a.conv.pads = (struct tsl_ints){2, {1, 1}};
    struct tsl_tensor *o = run_op(TSL_OP_CONV, &a, 2,
                                  (struct tt[]){TT(F32, 3, x, 1, 1, 4), TT(F32, 3, w, 1, 1, 3)},
                                  1);
    check_f32(&o[0], (float[]){-2, -2, -2, 3}, 4, 0);
    tsl_tensors_free(o, 1);
}

static void test_conv_transpose(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1};
    struct tt ins[2] = {TT(F32, 4, x, 1, 1, 2, 2), TT(F32, 4, w, 1, 1, 2, 2)};
    union tsl_attrs a = attrs_of(TSL_OP_CONV_TRANSPOSE);
    struct tsl_tensor *o = run_op(TSL_OP_CONV_TRANSPOSE, &a, 2, ins, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 3, 3});
    check_f32(&o[0], (float[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9, 0);
    tsl_tensors_free(o, 1);
    a.conv_transpose.strides = (struct tsl_ints){2, {2, 2}};
    o = run_op(TSL_OP_CONV_TRANSPOSE, &a, 2, ins, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 4, 4});
    check_f32(&o[0], (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, 0);
    tsl_tensors_free(o, 1);
    /* pads crop the border: stride 2, pads 1 -> [1,1,2,2] centre */
    a.conv_transpose.pads = (struct tsl_ints){4, {1, 1, 1, 1}};
    o = run_op(TSL_OP_CONV_TRANSPOSE, &a, 2, ins, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 2, 2});
    check_f32(&o[0], (float[]){1, 2, 3, 4}, 4, 0);
    tsl_tensors_free(o, 1);
}

static void test_pool(void **state)
{
    (void)state;
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    struct tt in = TT(F32, 4, x, 1, 1, 4, 4);
    union tsl_attrs a = attrs_of(TSL_OP_MAX_POOL);
    a.pool.kernel_shape = (struct tsl_ints){2, {2, 2}};
    a.pool.strides = (struct tsl_ints){2, {2, 2}};
    struct tsl_tensor *o = run_op(TSL_OP_MAX_POOL, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){6, 8, 14, 16}, 4, 0);
    tsl_tensors_free(o, 1);
    /* dilation 2, stride 1 */
    a.pool.strides = (struct tsl_ints){2, {1, 1}};
    a.pool.dilations = (struct tsl_ints){2, {2, 2}};
    o = run_op(TSL_OP_MAX_POOL, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){11, 12, 15, 16}, 4, 0);
    tsl_tensors_free(o, 1);
    /* ceil_mode on a 3x3 input with k2 s2: 2x2 output */
    struct tt in3 = TT(F32, 4, x, 1, 1, 3, 3);
    a = attrs_of(TSL_OP_MAX_POOL);
    a.pool.kernel_shape = (struct tsl_ints){2, {2, 2}};
    a.pool.strides = (struct tsl_ints){2, {2, 2}};
    a.pool.ceil_mode = 1;
    o = run_op(TSL_OP_MAX_POOL, &a, 1, &in3, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 2, 2});
    check_f32(&o[0], (float[]){5, 6, 8, 9}, 4, 0);
    tsl_tensors_free(o, 1);
    /* AveragePool k3 s1 pads 1 on 3x3 = 1..9: corners exclude / include pad */
    a = attrs_of(TSL_OP_AVERAGE_POOL);
    a.pool.kernel_shape = (struct tsl_ints){2, {3, 3}};
    a.pool.pads = (struct tsl_ints){4, {1, 1, 1, 1}};
    o = run_op(TSL_OP_AVERAGE_POOL, &a, 1, &in3, 1);
    check_f32(&o[0], (float[]){3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7}, 9, 1e-6f);
    tsl_tensors_free(o, 1);
    a.pool.count_include_pad = 1;
    o = run_op(TSL_OP_AVERAGE_POOL, &a, 1, &in3, 1);
    check_f32(&o[0], (float[]){12.0f / 9, 21.0f / 9, 16.0f / 9, 27.0f / 9, 5, 33.0f / 9,
                               24.0f / 9, 39.0f / 9, 28.0f / 9}, 9, 1e-6f);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_GLOBAL_AVERAGE_POOL, NULL, 1, &in, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 1, 1});
    check_f32(&o[0], (float[]){8.5f}, 1, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_GLOBAL_MAX_POOL, NULL, 1, &in, 1);
    check_f32(&o[0], (float[]){16}, 1, 0);
    tsl_tensors_free(o, 1);
}

static void test_norm_softmax(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4}, sc[2] = {1, 2}, bi[2] = {0, 1}, mean[2] = {1, 2}, var[2] = {4, 1};
    union tsl_attrs a = attrs_of(TSL_OP_BATCH_NORM);
    a.batchnorm.epsilon = 0;
    struct tsl_tensor *o = run_op(
        TSL_OP_BATCH_NORM, &a, 5,
        (struct tt[]){TT(F32, 4, x, 1, 2, 2, 1), TT(F32, 1, sc, 2), TT(F32, 1, bi, 2),
                      TT(F32, 1, mean, 2), TT(F32, 1, var, 2)},
        1);
    check_f32(&o[0], (float[]){0, 0.5f, 3, 5}, 4, 1e-6f);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_LAYER_NORM);
    a.norm.axis = -1;
    a.norm.epsilon = 0;
    o = run_op(TSL_OP_LAYER_NORM, &a, 3,
               (struct tt[]){TT(F32, 2, x, 2, 2), TT(F32, 1, sc, 2), TT(F32, 1, bi, 2)}, 1);
    check_f32(&o[0], (float[]){-1, 3, -1, 3}, 4, 1e-6f);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_INSTANCE_NORM);
    a.norm.epsilon = 0;
    o = run_op(TSL_OP_INSTANCE_NORM, &a, 3,
               (struct tt[]){TT(F32, 3, x, 1, 2, 2), TT(F32, 1, sc, 2), TT(F32, 1, bi, 2)}, 1);
    check_f32(&o[0], (float[]){-1, 1, -1, 3}, 4, 1e-6f);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_SOFTMAX);
    a.axis.axis = 0;
    o = run_op(TSL_OP_SOFTMAX, &a, 1, (struct tt[]){TT(F32, 2, x, 2, 2)}, 1);
    check_f32(&o[0], (float[]){0.11920292f, 0.11920292f, 0.88079708f, 0.88079708f}, 4, 1e-6f);
    tsl_tensors_free(o, 1);
    a.axis.axis = -1;
    o = run_op(TSL_OP_LOG_SOFTMAX, &a, 1, (struct tt[]){TT(F32, 2, x, 2, 2)}, 1);
    check_f32(&o[0], (float[]){-1.31326169f, -0.31326169f, -1.31326169f, -0.31326169f}, 4,
              1e-6f);
    tsl_tensors_free(o, 1);
}

static void test_reduce(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    struct tt in = TT(F32, 2, x, 2, 3);
    union tsl_attrs a = attrs_of(TSL_OP_REDUCE_SUM);
    a.reduce.axes = (struct tsl_ints){1, {1}};
    a.reduce.keepdims = 0;
    struct tsl_tensor *o = run_op(TSL_OP_REDUCE_SUM, &a, 1, &in, 1);
    check_shape(&o[0], 1, (int64_t[]){2});
    check_f32(&o[0], (float[]){6, 15}, 2, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_REDUCE_L2, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){3.7416574f, 8.7749644f}, 2, 1e-6f);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_REDUCE_MEAN); /* empty axes: all, keepdims */
    o = run_op(TSL_OP_REDUCE_MEAN, &a, 1, &in, 1);
    check_shape(&o[0], 2, (int64_t[]){1, 1});
    check_f32(&o[0], (float[]){3.5f}, 1, 0);
    tsl_tensors_free(o, 1);
    a.reduce.noop_with_empty_axes = 1;
    o = run_op(TSL_OP_REDUCE_MEAN, &a, 1, &in, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], x, 6, 0);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_REDUCE_MAX);
    a.reduce.axes = (struct tsl_ints){1, {-2}};
    o = run_op(TSL_OP_REDUCE_MAX, &a, 1, &in, 1);
    check_shape(&o[0], 2, (int64_t[]){1, 3});
    check_f32(&o[0], (float[]){4, 5, 6}, 3, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_REDUCE_SUM_SQUARE, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){17, 29, 45}, 3, 0);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_REDUCE_PROD);
    o = run_op(TSL_OP_REDUCE_PROD, &a, 1, &in, 1);
    check_f32(&o[0], (float[]){720}, 1, 0);
    tsl_tensors_free(o, 1);
    int64_t xi[6] = {5, -2, 7, 0, 3, 3};
    a = attrs_of(TSL_OP_REDUCE_MIN);
    a.reduce.axes = (struct tsl_ints){1, {1}};
    o = run_op(TSL_OP_REDUCE_MIN, &a, 1, (struct tt[]){TT(I64, 2, xi, 2, 3)}, 1);
    check_i64(&o[0], (int64_t[]){-2, 0}, 2);
    tsl_tensors_free(o, 1);

    float t[6] = {1, 3, 3, 2, 2, 1};
    struct tt tin = TT(F32, 2, t, 2, 3);
    a = attrs_of(TSL_OP_ARG_MAX);
    a.argreduce.axis = 1;
    a.argreduce.keepdims = 0;
    o = run_op(TSL_OP_ARG_MAX, &a, 1, &tin, 1);
    check_i64(&o[0], (int64_t[]){1, 0}, 2);
    tsl_tensors_free(o, 1);
    a.argreduce.select_last_index = 1;
    o = run_op(TSL_OP_ARG_MAX, &a, 1, &tin, 1);
    check_i64(&o[0], (int64_t[]){2, 1}, 2);
    tsl_tensors_free(o, 1);
    a.argreduce.keepdims = 1;
    o = run_op(TSL_OP_ARG_MIN, &a, 1, &tin, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 1});
    check_i64(&o[0], (int64_t[]){0, 2}, 2);
    tsl_tensors_free(o, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_kernel),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_clip_cast),
        cmocka_unit_test(test_binary_broadcast),
        cmocka_unit_test(test_variadic_where),
        cmocka_unit_test(test_gemm_matmul),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_norm_softmax),
        cmocka_unit_test(test_reduce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
