/* test_ref_data.c - reference kernels that move, select or quantize data:
 * shape ops, Slice (negative steps, clamping), Pad modes, gathers, Resize
 * modes, TopK ties, NonZero, NonMaxSuppression (ONNX test cases),
 * quantization rounding ties and saturation, QLinear*, plus interpreter
 * behaviour: input checks, symbolic dims, constants and peak memory. */
#include <stdio.h>

#include "reference/ref_test_util.h"

static const float iota16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void test_reshape_family(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t shp[2] = {0, -1};
    struct tsl_tensor *o = run_op(TSL_OP_RESHAPE, NULL, 2,
                                  (struct tt[]){TT(F32, 3, x, 2, 3, 1), TT(I64, 1, shp, 2)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    tsl_tensors_free(o, 1);
    int64_t bad[2] = {-1, -1};
    struct tsl_tensor *outs;
    char msg[256];
    assert_int_equal(run_op_msg(TSL_OP_RESHAPE, NULL, 2,
                                (struct tt[]){TT(F32, 2, x, 2, 3), TT(I64, 1, bad, 2)}, 1, &outs,
                                msg, sizeof msg),
                     TSL_STATUS_INVALID_ARG);
    union tsl_attrs a = attrs_of(TSL_OP_FLATTEN);
    a.axis.axis = 2;
    o = run_op(TSL_OP_FLATTEN, &a, 1, (struct tt[]){TT(F32, 3, x, 1, 2, 3)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_TRANSPOSE, NULL, 1, (struct tt[]){TT(F32, 2, x, 2, 3)}, 1);
    check_shape(&o[0], 2, (int64_t[]){3, 2});
    check_f32(&o[0], (float[]){1, 4, 2, 5, 3, 6}, 6, 0);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_SQUEEZE);
    o = run_op(TSL_OP_SQUEEZE, &a, 1, (struct tt[]){TT(F32, 3, x, 1, 3, 1)}, 1);
    check_shape(&o[0], 1, (int64_t[]){3});
    tsl_tensors_free(o, 1);
    a.axes.axes = (struct tsl_ints){1, {-1}};
    o = run_op(TSL_OP_SQUEEZE, &a, 1, (struct tt[]){TT(F32, 3, x, 1, 3, 1)}, 1);
    check_shape(&o[0], 2, (int64_t[]){1, 3});
    tsl_tensors_free(o, 1);
    a.axes.axes = (struct tsl_ints){2, {0, -1}};
    o = run_op(TSL_OP_UNSQUEEZE, &a, 1, (struct tt[]){TT(F32, 1, x, 3)}, 1);
    check_shape(&o[0], 3, (int64_t[]){1, 3, 1});
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_SHAPE);
    a.shape.start = 1;
    o = run_op(TSL_OP_SHAPE, &a, 1, (struct tt[]){TT(F32, 3, x, 1, 2, 3)}, 1);
    check_i64(&o[0], (int64_t[]){2, 3}, 2);
    tsl_tensors_free(o, 1);
    a.shape.start = 0;
    a.shape.end = -1;
    o = run_op(TSL_OP_SHAPE, &a, 1, (struct tt[]){TT(F32, 3, x, 1, 2, 3)}, 1);
    check_i64(&o[0], (int64_t[]){1, 2}, 2);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_SIZE, NULL, 1, (struct tt[]){TT(F32, 3, x, 1, 2, 3)}, 1);
    check_shape(&o[0], 0, NULL);
    check_i64(&o[0], (int64_t[]){6}, 1);
    tsl_tensors_free(o, 1);
    a = attrs_of(TSL_OP_CONSTANT_OF_SHAPE);
    a.constant_of_shape.value = (struct tsl_scalar){.dtype = TSL_DTYPE_I64, .i = 7};
    int64_t cs[2] = {2, 2};
    o = run_op(TSL_OP_CONSTANT_OF_SHAPE, &a, 1, (struct tt[]){TT(I64, 1, cs, 2)}, 1);
    check_i64(&o[0], (int64_t[]){7, 7, 7, 7}, 4);
    tsl_tensors_free(o, 1);
    float r3[3] = {1.0f, 2.0f, 0.3f};
    o = run_op(TSL_OP_RANGE, NULL, 3,
               (struct tt[]){TT(F32, 0, &r3[0]), TT(F32, 0, &r3[1]), TT(F32, 0, &r3[2])}, 1);
    check_f32(&o[0], (float[]){1, 1.3f, 1.6f, 1.9f}, 4, 1e-6f);
    tsl_tensors_free(o, 1);
    int64_t ri[3] = {10, 4, -3};
    o = run_op(TSL_OP_RANGE, NULL, 3,
               (struct tt[]){TT(I64, 0, &ri[0]), TT(I64, 0, &ri[1]), TT(I64, 0, &ri[2])}, 1);
    check_i64(&o[0], (int64_t[]){10, 7}, 2);
    tsl_tensors_free(o, 1);
}

static void test_concat_split_tile(void **state)
{
    (void)state;
    float a2[2] = {1, 2}, b4[4] = {3, 4, 5, 6};
    union tsl_attrs a = attrs_of(TSL_OP_CONCAT);
    a.axis.axis = -1;
    struct tsl_tensor *o = run_op(TSL_OP_CONCAT, &a, 2,
                                  (struct tt[]){TT(F32, 2, a2, 2, 1), TT(F32, 2, b4, 2, 2)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_f32(&o[0], (float[]){1, 3, 4, 2, 5, 6}, 6, 0);
    tsl_tensors_free(o, 1);
    float x[6] = {0, 1, 2, 3, 4, 5};
    a = attrs_of(TSL_OP_SPLIT);
    o = run_op(TSL_OP_SPLIT, &a, 1, (struct tt[]){TT(F32, 1, x, 6)}, 3);
    check_f32(&o[1], (float[]){2, 3}, 2, 0);
    check_f32(&o[2], (float[]){4, 5}, 2, 0);
    tsl_tensors_free(o, 3);
    a.split.split = (struct tsl_ints){2, {1, 5}};
    o = run_op(TSL_OP_SPLIT, &a, 1, (struct tt[]){TT(F32, 1, x, 6)}, 2);
    check_shape(&o[1], 1, (int64_t[]){5});
    check_f32(&o[1], (float[]){1, 2, 3, 4, 5}, 5, 0);
    tsl_tensors_free(o, 2);
    int64_t rep[1] = {3}, shp[2] = {2, 2};
    o = run_op(TSL_OP_TILE, NULL, 2, (struct tt[]){TT(F32, 1, a2, 2), TT(I64, 1, rep, 1)}, 1);
    check_f32(&o[0], (float[]){1, 2, 1, 2, 1, 2}, 6, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_EXPAND, NULL, 2, (struct tt[]){TT(F32, 2, a2, 2, 1), TT(I64, 1, shp, 2)},
               1);
    check_f32(&o[0], (float[]){1, 1, 2, 2}, 4, 0);
    tsl_tensors_free(o, 1);
}

static void slice_case(const struct tt *x, int64_t s, int64_t e, int64_t ax, int64_t st,
                       const float *want, int64_t n)
{
    struct tsl_tensor *o = run_op(TSL_OP_SLICE, NULL, 5,
                                  (struct tt[]){*x, TT(I64, 1, &s, 1), TT(I64, 1, &e, 1),
                                                TT(I64, 1, &ax, 1), TT(I64, 1, &st, 1)},
                                  1);
    int64_t numel = 1;
    for (int32_t d = 0; d < o[0].shape.rank; d++)
        numel *= o[0].shape.dims[d];
    assert_int_equal(numel, n);
    check_f32(&o[0], want, n, 0);
    tsl_tensors_free(o, 1);
}

static void test_slice(void **state)
{
    (void)state;
    float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct tt v = TT(F32, 1, x, 10);
    slice_case(&v, 8, 1, 0, -2, (float[]){8, 6, 4, 2}, 4);
    slice_case(&v, -1, INT64_MIN, 0, -1, (float[]){9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 10);
    slice_case(&v, -100, 100, 0, 3, (float[]){0, 3, 6, 9}, 4);
    slice_case(&v, 100, -100, 0, -4, (float[]){9, 5, 1}, 3);
    slice_case(&v, 5, 2, 0, 1, NULL, 0);
    struct tt m = TT(F32, 2, x, 2, 5);
    slice_case(&m, 1, 4, -1, 2, (float[]){1, 3, 6, 8}, 4);
    /* starts/ends only (axes, steps omitted) */
    int64_t s = 2, e = -1;
    struct tsl_tensor *o = run_op(TSL_OP_SLICE, NULL, 3,
                                  (struct tt[]){v, TT(I64, 1, &s, 1), TT(I64, 1, &e, 1)}, 1);
    check_f32(&o[0], (float[]){2, 3, 4, 5, 6, 7, 8}, 7, 0);
    tsl_tensors_free(o, 1);
}

static void test_pad(void **state)
{
    (void)state;
    float x[3] = {1, 2, 3}, nine = 9;
    int64_t pads[2] = {2, 2}, neg[2] = {-1, 1};
    union tsl_attrs a = attrs_of(TSL_OP_PAD);
    struct tsl_tensor *o = run_op(
        TSL_OP_PAD, &a, 3,
        (struct tt[]){TT(F32, 1, x, 3), TT(I64, 1, pads, 2), TT(F32, 0, &nine)}, 1);
    check_f32(&o[0], (float[]){9, 9, 1, 2, 3, 9, 9}, 7, 0);
    tsl_tensors_free(o, 1);
    o = run_op(TSL_OP_PAD, &a, 2, (struct tt[]){TT(F32, 1, x, 3), TT(I64, 1, neg, 2)}, 1);
    check_f32(&o[0], (float[]){2, 3, 0}, 3, 0);
    tsl_tensors_free(o, 1);
    a.pad.mode = TSL_pad_mode_REFLECT;
    o = run_op(TSL_OP_PAD, &a, 2, (struct tt[]){TT(F32, 1, x, 3), TT(I64, 1, pads, 2)}, 1);
    check_f32(&o[0], (float[]){3, 2, 1, 2, 3, 2, 1}, 7, 0);
    tsl_tensors_free(o, 1);
    a.pad.mode = TSL_pad_mode_EDGE;
    o = run_op(TSL_OP_PAD, &a, 2, (struct tt[]){TT(F32, 1, x, 3), TT(I64, 1, pads, 2)}, 1);
    check_f32(&o[0], (float[]){1, 1, 1, 2, 3, 3, 3}, 7, 0);
    tsl_tensors_free(o, 1);
    /* 2-D reflect: pads [1, 0, 0, 1] on [[1,2],[3,4]] */
    float m[4] = {1, 2, 3, 4};
    int64_t p2[4] = {1, 0, 0, 1};
    a.pad.mode = TSL_pad_mode_REFLECT;
    o = run_op(TSL_OP_PAD, &a, 2, (struct tt[]){TT(F32, 2, m, 2, 2), TT(I64, 1, p2, 4)}, 1);
    check_shape(&o[0], 2, (int64_t[]){3, 3});
    check_f32(&o[0], (float[]){3, 4, 3, 1, 2, 1, 3, 4, 3}, 9, 0);
    tsl_tensors_free(o, 1);
}

static void test_gather(void **state)
{
    (void)state;
    float d[6] = {1, 2, 3, 4, 5, 6};
    int64_t idx[2] = {0, -1}, one = 1, big = 3;
    union tsl_attrs a = attrs_of(TSL_OP_GATHER);
    struct tsl_tensor *o = run_op(TSL_OP_GATHER, &a, 2,
                                  (struct tt[]){TT(F32, 2, d, 3, 2), TT(I64, 2, idx, 1, 2)}, 1);
    check_shape(&o[0], 3, (int64_t[]){1, 2, 2});
    check_f32(&o[0], (float[]){1, 2, 5, 6}, 4, 0);
    tsl_tensors_free(o, 1);
    a.axis.axis = 1;
    o = run_op(TSL_OP_GATHER, &a, 2, (struct tt[]){TT(F32, 2, d, 3, 2), TT(I64, 0, &one)}, 1);
    check_shape(&o[0], 1, (int64_t[]){3});
    check_f32(&o[0], (float[]){2, 4, 6}, 3, 0);
    tsl_tensors_free(o, 1);
    struct tsl_tensor *outs;
    char msg[256];
    a.axis.axis = 0;
    assert_int_equal(run_op_msg(TSL_OP_GATHER, &a, 2,
                                (struct tt[]){TT(F32, 2, d, 3, 2), TT(I64, 0, &big)}, 1, &outs,
                                msg, sizeof msg),
                     TSL_STATUS_INVALID_ARG);
    assert_non_null(strstr(msg, "index 3 out of range"));
    float e[4] = {1, 2, 3, 4};
    int64_t ei[4] = {0, 0, 1, 0};
    a.axis.axis = 1;
    o = run_op(TSL_OP_GATHER_ELEMENTS, &a, 2,
               (struct tt[]){TT(F32, 2, e, 2, 2), TT(I64, 2, ei, 2, 2)}, 1);
    check_f32(&o[0], (float[]){1, 1, 4, 3}, 4, 0);
    tsl_tensors_free(o, 1);
    float nd[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t ndi[2] = {1, 0};
    a = attrs_of(TSL_OP_GATHER_ND);
    a.gathernd.batch_dims = 1;
    o = run_op(TSL_OP_GATHER_ND, &a, 2,
               (struct tt[]){TT(F32, 3, nd, 2, 2, 2), TT(I64, 2, ndi, 2, 1)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 2});
    check_f32(&o[0], (float[]){2, 3, 4, 5}, 4, 0);
    tsl_tensors_free(o, 1);
    int64_t ndi2[4] = {0, 0, 1, 1};
    a.gathernd.batch_dims = 0;
    o = run_op(TSL_OP_GATHER_ND, &a, 2,
               (struct tt[]){TT(F32, 2, nd, 2, 2), TT(I64, 2, ndi2, 2, 2)}, 1);
    check_f32(&o[0], (float[]){0, 3}, 2, 0);
    tsl_tensors_free(o, 1);
}

static void test_depth_space(void **state)
{
    (void)state;
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    union tsl_attrs a = attrs_of(TSL_OP_DEPTH_TO_SPACE);
    a.depth_to_space.blocksize = 2;
    struct tsl_tensor *o = run_op(TSL_OP_DEPTH_TO_SPACE, &a, 1,
                                  (struct tt[]){TT(F32, 4, x, 1, 8, 1, 1)}, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 2, 2, 2});
    check_f32(&o[0], (float[]){0, 2, 4, 6, 1, 3, 5, 7}, 8, 0);
    float dcr[8];
    memcpy(dcr, o[0].data, sizeof dcr);
    tsl_tensors_free(o, 1);
    a.depth_to_space.mode = TSL_dts_mode_CRD;
    o = run_op(TSL_OP_DEPTH_TO_SPACE, &a, 1, (struct tt[]){TT(F32, 4, x, 1, 8, 1, 1)}, 1);
    check_f32(&o[0], x, 8, 0);
    tsl_tensors_free(o, 1);
    a.depth_to_space.mode = TSL_dts_mode_DCR;
    o = run_op(TSL_OP_SPACE_TO_DEPTH, &a, 1, (struct tt[]){TT(F32, 4, dcr, 1, 2, 2, 2)}, 1);
    check_shape(&o[0], 4, (int64_t[]){1, 8, 1, 1});
    check_f32(&o[0], x, 8, 0);
    tsl_tensors_free(o, 1);
}

static struct tsl_tensor *resize(const union tsl_attrs *a, const struct tt *x, const float *roi,
                                 const float *scales, const int64_t *sizes)
{
    struct tt ins[4] = {*x, roi ? TT(F32, 1, roi, 8) : TT_NONE,
                        scales ? TT(F32, 1, scales, 4) : TT_NONE,
                        sizes ? TT(I64, 1, sizes, 4) : TT_NONE};
    return run_op(TSL_OP_RESIZE, a, 4, ins, 1);
}

static void test_resize(void **state)
{
    (void)state;
    struct tt x22 = TT(F32, 4, iota16, 1, 1, 2, 2);
    union tsl_attrs a = attrs_of(TSL_OP_RESIZE);
    struct tsl_tensor *o = resize(&a, &x22, NULL, (float[]){1, 1, 2, 3}, NULL);
    check_shape(&o[0], 4, (int64_t[]){1, 1, 4, 6});
    check_f32(&o[0], (float[]){1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                               3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}, 24, 0);
    tsl_tensors_free(o, 1);
    a.resize.mode = TSL_resize_mode_LINEAR;
    o = resize(&a, &x22, NULL, (float[]){1, 1, 2, 2}, NULL);
    check_f32(&o[0], (float[]){1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                               2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4}, 16, 1e-6f);
    tsl_tensors_free(o, 1);
    a.resize.coordinate_transformation_mode = TSL_coord_mode_ALIGN_CORNERS;
    o = resize(&a, &x22, NULL, (float[]){1, 1, 2, 2}, NULL);
    check_f32(&o[0], (float[]){1, 4.0f / 3, 5.0f / 3, 2, 5.0f / 3, 2, 7.0f / 3, 8.0f / 3,
                               7.0f / 3, 8.0f / 3, 3, 10.0f / 3, 3, 10.0f / 3, 11.0f / 3, 4},
              16, 1e-6f);
    tsl_tensors_free(o, 1);
    /* cubic, half_pixel, A = -0.75 on 4x4 (ONNX test values) */
    struct tt x44 = TT(F32, 4, iota16, 1, 1, 4, 4);
    a = attrs_of(TSL_OP_RESIZE);
    a.resize.mode = TSL_resize_mode_CUBIC;
    o = resize(&a, &x44, NULL, (float[]){1, 1, 2, 2}, NULL);
    check_f32(&o[0], (float[]){0.47265625f, 0.76953125f}, 2, 1e-6f);
    tsl_tensors_free(o, 1);
    /* tf_crop_and_resize with roi, sizes, linear */
    a = attrs_of(TSL_OP_RESIZE);
    a.resize.mode = TSL_resize_mode_LINEAR;
    a.resize.coordinate_transformation_mode = TSL_coord_mode_TF_CROP_AND_RESIZE;
    o = resize(&a, &x44, (float[]){0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f}, NULL,
               (int64_t[]){1, 1, 3, 3});
    check_f32(&o[0], (float[]){7.6f, 7.9f, 8.2f, 8.8f, 9.1f, 9.4f, 10, 10.3f, 10.6f}, 9, 1e-5f);
    tsl_tensors_free(o, 1);
    a.resize.extrapolation_value = 10;
    o = resize(&a, &x44, (float[]){0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f}, NULL,
               (int64_t[]){1, 1, 3, 3});
    check_f32(&o[0], (float[]){7.6f, 10, 10, 12.4f, 10, 10, 10, 10, 10}, 9, 1e-5f);
    tsl_tensors_free(o, 1);
    /* nearest modes when downsampling 4 -> 3 (half_pixel: 0.17, 1.5, 2.83) */
    struct tt x14 = TT(F32, 4, iota16, 1, 1, 1, 4);
    static const float want[4][3] = {{1, 2, 4}, {1, 3, 4}, {1, 2, 3}, {2, 3, 4}};
    for (int m = 0; m < 4; m++) {
        a = attrs_of(TSL_OP_RESIZE);
        a.resize.nearest_mode = (enum tsl_nearest_mode)m;
        o = resize(&a, &x14, NULL, NULL, (int64_t[]){1, 1, 1, 3});
        check_f32(&o[0], want[m], 3, 0);
        tsl_tensors_free(o, 1);
    }
    a = attrs_of(TSL_OP_RESIZE);
    a.resize.coordinate_transformation_mode = TSL_coord_mode_ASYMMETRIC;
    a.resize.nearest_mode = TSL_nearest_mode_FLOOR;
    o = resize(&a, &x14, NULL, (float[]){1, 1, 1, 2}, NULL);
    check_f32(&o[0], (float[]){1, 1, 2, 2, 3, 3, 4, 4}, 8, 0);
    tsl_tensors_free(o, 1);
}

static void test_topk_nonzero(void **state)
{
    (void)state;
    float x[4] = {3, 1, 3, 2};
    int64_t k = 2;
    union tsl_attrs a = attrs_of(TSL_OP_TOPK);
    struct tsl_tensor *o = run_op(TSL_OP_TOPK, &a, 2,
                                  (struct tt[]){TT(F32, 2, x, 1, 4), TT(I64, 1, &k, 1)}, 2);
    check_f32(&o[0], (float[]){3, 3}, 2, 0);
    check_i64(&o[1], (int64_t[]){0, 2}, 2);
    tsl_tensors_free(o, 2);
    a.topk.largest = 0;
    k = 3;
    o = run_op(TSL_OP_TOPK, &a, 2, (struct tt[]){TT(F32, 2, x, 1, 4), TT(I64, 1, &k, 1)}, 2);
    check_f32(&o[0], (float[]){1, 2, 3}, 3, 0);
    check_i64(&o[1], (int64_t[]){1, 3, 0}, 3);
    tsl_tensors_free(o, 2);
    float nz[4] = {1, 0, 1, 1};
    o = run_op(TSL_OP_NON_ZERO, NULL, 1, (struct tt[]){TT(F32, 2, nz, 2, 2)}, 1);
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_i64(&o[0], (int64_t[]){0, 1, 1, 0, 0, 1}, 6);
    tsl_tensors_free(o, 1);
}

static const float nms_boxes[24] = {0, 0,   1, 1,   0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                                    0, 10,  1, 11,  0, 10.1f, 1, 11.1f, 0, 100,   1, 101};
static const float nms_scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

static struct tsl_tensor *nms(const union tsl_attrs *a, const float *boxes, const float *scores,
                              int64_t nbox, int64_t ncls, int64_t max_out, float iou,
                              const float *score_th)
{
    struct tt ins[5] = {TT(F32, 3, boxes, 1, nbox, 4), TT(F32, 3, scores, 1, ncls, nbox),
                        TT(I64, 1, &max_out, 1), TT(F32, 1, &iou, 1),
                        score_th ? TT(F32, 1, score_th, 1) : TT_NONE};
    return run_op(TSL_OP_NON_MAX_SUPPRESSION, a, 5, ins, 1);
}

static void test_nms(void **state)
{
    (void)state;
    union tsl_attrs a = attrs_of(TSL_OP_NON_MAX_SUPPRESSION);
    float zero = 0.0f, th = 0.4f;
    struct tsl_tensor *o = nms(&a, nms_boxes, nms_scores, 6, 1, 3, 0.5f, &zero);
    check_shape(&o[0], 2, (int64_t[]){3, 3});
    check_i64(&o[0], (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 5}, 9);
    tsl_tensors_free(o, 1);
    o = nms(&a, nms_boxes, nms_scores, 6, 1, 2, 0.5f, &zero); /* limit output */
    check_i64(&o[0], (int64_t[]){0, 0, 3, 0, 0, 0}, 6);
    tsl_tensors_free(o, 1);
    o = nms(&a, nms_boxes, nms_scores, 6, 1, 3, 0.5f, &th); /* score threshold */
    check_shape(&o[0], 2, (int64_t[]){2, 3});
    check_i64(&o[0], (int64_t[]){0, 0, 3, 0, 0, 0}, 6);
    tsl_tensors_free(o, 1);
    o = nms(&a, nms_boxes, nms_scores, 6, 1, 0, 0.5f, NULL); /* max 0: nothing */
    check_shape(&o[0], 2, (int64_t[]){0, 3});
    tsl_tensors_free(o, 1);
    float center[24] = {0.5f, 0.5f,  1, 1, 0.5f, 0.6f,  1, 1, 0.5f, 0.4f,   1, 1,
                        0.5f, 10.5f, 1, 1, 0.5f, 10.6f, 1, 1, 0.5f, 100.5f, 1, 1};
    a.nms.center_point_box = 1;
    o = nms(&a, center, nms_scores, 6, 1, 3, 0.5f, &zero);
    check_i64(&o[0], (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 5}, 9);
    tsl_tensors_free(o, 1);
    a.nms.center_point_box = 0;
    float two[12];
    memcpy(two, nms_scores, sizeof nms_scores);
    memcpy(two + 6, nms_scores, sizeof nms_scores);
    o = nms(&a, nms_boxes, two, 6, 2, 2, 0.5f, &zero); /* two classes */
    check_i64(&o[0], (int64_t[]){0, 0, 3, 0, 0, 0, 0, 1, 3, 0, 1, 0}, 12);
    tsl_tensors_free(o, 1);
    float same[40], same_s[10];
    for (int i = 0; i < 10; i++) {
        same[4 * i] = same[4 * i + 1] = 0;
        same[4 * i + 2] = same[4 * i + 3] = 1;
        same_s[i] = 0.9f;
    }
    o = nms(&a, same, same_s, 10, 1, 3, 0.5f, &zero); /* identical boxes: lowest index */
    check_shape(&o[0], 2, (int64_t[]){1, 3});
    check_i64(&o[0], (int64_t[]){0, 0, 0}, 3);
    tsl_tensors_free(o, 1);
}

static void test_quant(void **state)
{
    (void)state;
    float x[7] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300, -300}, one = 1;
    int8_t z8 = 0;
    union tsl_attrs a = attrs_of(TSL_OP_QUANTIZE_LINEAR);
    a.axis.axis = 1;
    struct tsl_tensor *o = run_op(
        TSL_OP_QUANTIZE_LINEAR, &a, 3,
        (struct tt[]){TT(F32, 1, x, 7), TT(F32, 0, &one), TT(I8, 0, &z8)}, 1);
    check_bytes(&o[0], TSL_DTYPE_I8, (int8_t[]){0, 2, 2, 0, -2, 127, -128}, 7);
    tsl_tensors_free(o, 1);
    uint8_t z128 = 128;
    o = run_op(TSL_OP_QUANTIZE_LINEAR, &a, 3,
               (struct tt[]){TT(F32, 1, x, 7), TT(F32, 0, &one), TT(U8, 0, &z128)}, 1);
    check_bytes(&o[0], TSL_DTYPE_U8, (uint8_t[]){128, 130, 130, 128, 126, 255, 0}, 7);
    tsl_tensors_free(o, 1);
    /* per-axis (axis 0): rows scaled by 1 and 2, zero points 0 and 1 */
    float m[4] = {1, 2, 3, 5}, sc[2] = {1, 2};
    uint8_t zp[2] = {0, 1};
    a.axis.axis = 0;
    o = run_op(TSL_OP_QUANTIZE_LINEAR, &a, 3,
               (struct tt[]){TT(F32, 2, m, 2, 2), TT(F32, 1, sc, 2), TT(U8, 1, zp, 2)}, 1);
    check_bytes(&o[0], TSL_DTYPE_U8, (uint8_t[]){1, 2, 3, 3}, 4);
    tsl_tensors_free(o, 1);
    uint8_t q[3] = {0, 128, 255};
    float half = 0.5f;
    o = run_op(TSL_OP_DEQUANTIZE_LINEAR, &a, 3,
               (struct tt[]){TT(U8, 1, q, 3), TT(F32, 0, &half), TT(U8, 0, &z128)}, 1);
    check_f32(&o[0], (float[]){-64, 0, 63.5f}, 3, 0);
    tsl_tensors_free(o, 1);
}

static void test_qlinear(void **state)
{
    (void)state;
    uint8_t qa[8] = {208, 236, 0, 238, 3, 214, 255, 29};
    uint8_t qb[12] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
    float sa = 0.0066f, sb = 0.00705f, sy = 0.0107f;
    uint8_t za = 113, zb = 114, zy = 118;
    struct tsl_tensor *o = run_op(
        TSL_OP_QLINEAR_MATMUL, NULL, 8,
        (struct tt[]){TT(U8, 2, qa, 2, 4), TT(F32, 0, &sa), TT(U8, 0, &za), TT(U8, 2, qb, 4, 3),
                      TT(F32, 0, &sb), TT(U8, 0, &zb), TT(F32, 0, &sy), TT(U8, 0, &zy)},
        1);
    check_bytes(&o[0], TSL_DTYPE_U8, (uint8_t[]){168, 115, 255, 1, 66, 151}, 6);
    tsl_tensors_free(o, 1);
    /* QLinearConv 1x1: acc = (x-10)*(3-1) (+3); M = 0.5*1/8 = 0.0625, ties to even */
    uint8_t x[4] = {10, 20, 30, 40}, w = 3, zx = 10, zw = 1, zo = 5;
    float sx = 0.5f, sw = 1.0f, so = 8.0f;
    int32_t bias = 3;
    union tsl_attrs a = attrs_of(TSL_OP_QLINEAR_CONV);
    struct tt ins[9] = {TT(U8, 4, x, 1, 1, 2, 2), TT(F32, 0, &sx),     TT(U8, 0, &zx),
                        TT(U8, 4, &w, 1, 1, 1, 1), TT(F32, 1, &sw, 1), TT(U8, 1, &zw, 1),
                        TT(F32, 0, &so),           TT(U8, 0, &zo),     TT_NONE};
    o = run_op(TSL_OP_QLINEAR_CONV, &a, 9, ins, 1);
    check_bytes(&o[0], TSL_DTYPE_U8, (uint8_t[]){5, 6, 7, 9}, 4);
    tsl_tensors_free(o, 1);
    ins[8] = TT(I32, 1, &bias, 1);
    o = run_op(TSL_OP_QLINEAR_CONV, &a, 9, ins, 1);
    check_bytes(&o[0], TSL_DTYPE_U8, (uint8_t[]){5, 6, 8, 9}, 4);
    tsl_tensors_free(o, 1);
}

/* x -> Relu -> Relu -> Relu -> y, plus a constant added at the end. */
static void test_interpreter(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("chain", &g), TSL_STATUS_OK);
    uint32_t sym;
    assert_int_equal(tsl_graph_symbol(g, "N", &sym), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){TSL_DIM_SYM(sym), 250});
    struct tsl_value *x, *x2, *c, *cur;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_input(g, "x2", &t, &x2), TSL_STATUS_OK);
    float cval[250];
    for (int i = 0; i < 250; i++)
        cval[i] = (float)i;
    struct tsl_type ct = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){250});
    assert_int_equal(tsl_graph_add_dense_constant(g, "c", &ct, cval, &c), TSL_STATUS_OK);
    cur = x;
    for (int i = 0; i < 3; i++) {
        struct tsl_node *n;
        char name[8];
        snprintf(name, sizeof name, "r%d", i);
        assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, name, 1, &cur, 1, &n, NULL),
                         TSL_STATUS_OK);
        cur = n->outputs[0];
    }
    struct tsl_node *add;
    struct tsl_value *ai[2] = {cur, c};
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_ADD, "add", 2, ai, 1, &add, NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, add->outputs[0]), TSL_STATUS_OK);
    float xin[1000];
    for (int i = 0; i < 1000; i++)
        xin[i] = (float)(i % 7) - 3;
    struct tsl_tensor ins[2] = {
        {.dtype = TSL_DTYPE_F32, .shape = {2, {4, 250}}, .data = xin},
        {.dtype = TSL_DTYPE_F32, .shape = {2, {4, 250}}, .data = xin},
    };
    struct tsl_tensor *outs;
    uint32_t n_outs;
    struct tsl_ref_stats st;
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_ref_run(g, ins, 2, &outs, &n_outs, &st, &d), TSL_STATUS_OK);
    assert_int_equal(n_outs, 1);
    assert_string_equal(outs[0].name, "add_out0");
    for (int i = 0; i < 1000; i++) {
        float want = (xin[i] > 0 ? xin[i] : 0) + (float)(i % 250);
        assert_float_equal(((float *)outs[0].data)[i], want, 0);
    }
    /* two 4000-byte activations live at once at most, then the output */
    assert_int_equal(st.peak_bytes, 8000);
    assert_int_equal(st.nodes_run, 4);
    tsl_tensors_free(outs, n_outs);
    /* the symbol N must be bound consistently */
    ins[1].shape.dims[0] = 3;
    assert_int_equal(tsl_ref_run(g, ins, 2, &outs, &n_outs, &st, &d), TSL_STATUS_INVALID_ARG);
    assert_string_equal(tsl_diag_first_error(&d)->where, "x2");
    assert_non_null(strstr(tsl_diag_first_error(&d)->message, "'N' = 4"));
    tsl_diag_clear(&d);
    ins[1].shape.dims[0] = 4;
    ins[1].dtype = TSL_DTYPE_I32;
    assert_int_equal(tsl_ref_run(g, ins, 2, &outs, &n_outs, &st, &d), TSL_STATUS_INVALID_ARG);
    assert_string_equal(tsl_diag_first_error(&d)->message, "expected dtype f32, got i32");
    tsl_diag_clear(&d);
    ins[1].dtype = TSL_DTYPE_F32;
    ins[1].shape.rank = 1;
    assert_int_equal(tsl_ref_run(g, ins, 2, &outs, &n_outs, &st, &d), TSL_STATUS_INVALID_ARG);
    assert_string_equal(tsl_diag_first_error(&d)->message, "expected rank 2, got 1");
    tsl_diag_clear(&d);
    assert_int_equal(tsl_ref_run(g, ins, 1, &outs, &n_outs, &st, &d), TSL_STATUS_INVALID_ARG);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape_family),
        cmocka_unit_test(test_concat_split_tile),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_topk_nonzero),
        cmocka_unit_test(test_nms),
        cmocka_unit_test(test_quant),
        cmocka_unit_test(test_qlinear),
        cmocka_unit_test(test_interpreter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
