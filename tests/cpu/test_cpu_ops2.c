/* test_cpu_ops2.c - differential tests (cpu vs the reference interpreter,
 * tolerance and its reason in harness.h) of the lowerings added for full op
 * coverage: reductions, Instance/LayerNorm, Selu, the compile-time index
 * tables (Slice, Pad in every mode, Tile, Expand, Gather, GatherElements,
 * GatherND, DepthToSpace, SpaceToDepth, nearest Resize), linear and cubic
 * Resize in every coordinate mode, compile-time folds (ConstantOfShape,
 * DequantizeLinear of a constant, f32 Cast) and
 * Where with a constant condition, Clip with run-time bounds,
 * BatchNormalization with run-time statistics, 1-D pooling and
 * ConvTranspose (groups, strides, dilations, pads, output_padding,
 * auto_pad, fused Relu), the direct Conv (run-time weight and bias, 1-D to
 * 3-D, groups, strides, dilations, pads, auto_pad, fused residual and
 * Relu).  Shapes and parameters are drawn from
 * seeded generators, so every run checks the same cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/passes.h"
#include "tessel/shape.h"
#include "tessel/util.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static struct tsl_value *typed_const(struct tsl_graph *g, const char *name, enum tsl_dtype dt,
                                     int rank, const int64_t *dims, const void *data)
{
    struct tsl_type t = tsl_type_make(dt, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, data, &v), TSL_STATUS_OK);
    return v;
}

static void random_shape(struct rng *r, int rank, int64_t lo, int64_t hi, int64_t *dims)
{
    for (int d = 0; d < rank; d++)
        dims[d] = rng_int(r, lo, hi);
}

static void test_reduce(void **state)
{
    (void)state;
    const enum tsl_op ops[] = {TSL_OP_REDUCE_MEAN, TSL_OP_REDUCE_MAX, TSL_OP_REDUCE_MIN,
                               TSL_OP_REDUCE_SUM, TSL_OP_REDUCE_PROD, TSL_OP_REDUCE_L2,
                               TSL_OP_REDUCE_SUM_SQUARE};
    struct rng r = {0xBEEF};
    for (size_t k = 0; k < TSL_ARRAY_LEN(ops); k++)
        for (int it = 0; it < 6; it++) {
            int rank = (int)rng_int(&r, 1, 4);
            int64_t dims[4];
            random_shape(&r, rank, 1, 7, dims);
            struct tsl_graph *g = h_graph();
            struct tsl_value *x = h_input(g, "x", rank, dims);
            struct tsl_node *n = h_node(g, ops[k], "red", 1, &x);
            struct tsl_attr_reduce *a = &n->attrs.reduce;
            a->keepdims = rng_int(&r, 0, 1);
            if (it == 5) {
                a->axes.n = 0; /* all dims */
            } else {
                for (int d = 0; d < rank; d++)
                    if (rng_int(&r, 0, 1))
                        a->axes.v[a->axes.n++] = rng_int(&r, 0, 1) ? d : d - rank;
                if (a->axes.n == 0)
                    a->axes.v[a->axes.n++] = rank - 1;
            }
            tsl_graph_add_output(g, n->outputs[0]);
            /* Prod over many values: keep them near 1 */
            float lo = ops[k] == TSL_OP_REDUCE_PROD ? 0.8f : -2.0f;
            h_check(g, &r, lo, ops[k] == TSL_OP_REDUCE_PROD ? 1.2f : 2.0f, NULL);
        }
    /* noop_with_empty_axes: identity */
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(3, 5));
    struct tsl_node *n = h_node(g, TSL_OP_REDUCE_SUM, "red", 1, &x);
    n->attrs.reduce.noop_with_empty_axes = 1;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_norms(void **state)
{
    (void)state;
    struct rng r = {0x5EED};
    for (int it = 0; it < 4; it++) {
        int64_t dims[4] = {rng_int(&r, 1, 3), rng_int(&r, 1, 5), rng_int(&r, 1, 9),
                           rng_int(&r, 2, 9)};
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[3] = {h_input(g, "x", 4, dims),
                                   h_const(g, &r, "s", 1, D(dims[1]), -1, 1),
                                   h_const(g, &r, "b", 1, D(dims[1]), -1, 1)};
        struct tsl_node *n = h_node(g, TSL_OP_INSTANCE_NORM, "in", 3, in);
        n->attrs.norm.epsilon = 1e-3f;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -3, 3, NULL);
    }
    for (int it = 0; it < 6; it++) {
        int rank = (int)rng_int(&r, 2, 4);
        int64_t dims[4];
        random_shape(&r, rank, 1, 8, dims);
        int axis = (int)rng_int(&r, 0, rank - 1);
        int64_t tail[4];
        int tr = rank - axis;
        for (int d = 0; d < tr; d++)
            tail[d] = dims[axis + d];
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", rank, dims);
        struct tsl_value *s = it % 3 == 2 ? h_input(g, "s", tr, tail)
                                          : h_const(g, &r, "s", tr, tail, -1, 1);
        struct tsl_value *b = it % 2 ? h_scalar(g, "b", 0.25f) : h_const(g, &r, "b", tr, tail, -1, 1);
        struct tsl_value *in[3] = {x, s, b};
        struct tsl_node *n = h_node(g, TSL_OP_LAYER_NORM, "ln", it == 4 ? 2 : 3, in);
        n->attrs.norm.axis = it % 2 ? axis - rank : axis;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -3, 3, NULL);
    }
}

static void test_selu_where(void **state)
{
    (void)state;
    struct rng r = {77};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(4, 33));
    struct tsl_node *n = h_node(g, TSL_OP_SELU, "selu", 1, &x);
    n->attrs.alpha_beta.alpha = 1.6732632f;
    n->attrs.alpha_beta.beta = 1.0507010f;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -4, 4, NULL);

    g = h_graph();
    uint8_t cond[5] = {1, 0, 0, 1, 1};
    struct tsl_value *in[3] = {typed_const(g, "c", TSL_DTYPE_BOOL, 2, D(1, 5), cond),
                               h_input(g, "x", 3, D(2, 3, 5)), h_input(g, "y", 2, D(3, 1))};
    n = h_node(g, TSL_OP_WHERE, "w", 3, in);
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_slice(void **state)
{
    (void)state;
    struct rng r = {0x511CE};
    for (int it = 0; it < 25; it++) {
        int rank = (int)rng_int(&r, 1, 4);
        int64_t dims[4], st[4], en[4], ax[4], sp[4];
        random_shape(&r, rank, 1, 9, dims);
        int na = 0;
        for (int d = 0; d < rank; d++) {
            if (!rng_int(&r, 0, 2) && d != rank - 1)
                continue;
            ax[na] = rng_int(&r, 0, 1) ? d : d - rank;
            sp[na] = rng_int(&r, 0, 3) ? rng_int(&r, 1, 3) : -rng_int(&r, 1, 2);
            st[na] = rng_int(&r, -dims[d] - 2, dims[d] + 2);
            en[na] = rng_int(&r, 0, 5) ? rng_int(&r, -dims[d] - 2, dims[d] + 2)
                                       : (sp[na] > 0 ? INT64_MAX : INT64_MIN);
            na++;
        }
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[5] = {h_input(g, "x", rank, dims), h_i64(g, "st", na, st),
                                   h_i64(g, "en", na, en), h_i64(g, "ax", na, ax),
                                   h_i64(g, "sp", na, sp)};
        struct tsl_node *n = h_node(g, TSL_OP_SLICE, "sl", 5, in);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void test_pad(void **state)
{
    (void)state;
    struct rng r = {0xBAD};
    const enum tsl_pad_mode modes[] = {TSL_pad_mode_CONSTANT, TSL_pad_mode_REFLECT,
                                       TSL_pad_mode_EDGE};
    for (size_t m = 0; m < TSL_ARRAY_LEN(modes); m++)
        for (int it = 0; it < 6; it++) {
            int rank = (int)rng_int(&r, 1, 4);
            int64_t dims[4], pads[8];
            random_shape(&r, rank, 2, 6, dims);
            for (int d = 0; d < rank; d++) {
                int64_t lim = modes[m] == TSL_pad_mode_REFLECT ? dims[d] - 1 : 3;
                pads[d] = rng_int(&r, modes[m] == TSL_pad_mode_CONSTANT ? -1 : 0, lim);
                pads[rank + d] = rng_int(&r, 0, lim);
            }
            struct tsl_graph *g = h_graph();
            struct tsl_value *in[3] = {h_input(g, "x", rank, dims), h_i64(g, "p", 2 * rank, pads),
                                       h_scalar(g, "v", 2.5f)};
            struct tsl_node *n = h_node(g, TSL_OP_PAD, "pad", it % 2 ? 3 : 2, in);
            n->attrs.pad.mode = modes[m];
            tsl_graph_add_output(g, n->outputs[0]);
            h_check(g, &r, -1, 1, NULL);
        }
}

static void test_tile_expand(void **state)
{
    (void)state;
    struct rng r = {0x711E};
    for (int it = 0; it < 8; it++) {
        int rank = (int)rng_int(&r, 1, 4);
        int64_t dims[4], reps[4];
        random_shape(&r, rank, 1, 5, dims);
        random_shape(&r, rank, 1, 3, reps);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[2] = {h_input(g, "x", rank, dims), h_i64(g, "r", rank, reps)};
        struct tsl_node *n = h_node(g, TSL_OP_TILE, "tile", 2, in);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
    for (int it = 0; it < 8; it++) {
        int64_t dims[3], shp[4];
        random_shape(&r, 3, 1, 4, dims);
        for (int d = 0; d < 3; d++)
            if (rng_int(&r, 0, 1))
                dims[d] = 1;
        shp[0] = rng_int(&r, 1, 3);
        for (int d = 0; d < 3; d++)
            shp[d + 1] = dims[d] == 1 ? rng_int(&r, 1, 4) : (rng_int(&r, 0, 1) ? 1 : dims[d]);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[2] = {h_input(g, "x", 3, dims), h_i64(g, "s", 4, shp)};
        struct tsl_node *n = h_node(g, TSL_OP_EXPAND, "exp", 2, in);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void test_gathers(void **state)
{
    (void)state;
    struct rng r = {0x6A7};
    for (int it = 0; it < 10; it++) {
        int rank = (int)rng_int(&r, 1, 3);
        int64_t dims[3];
        random_shape(&r, rank, 1, 6, dims);
        int axis = (int)rng_int(&r, 0, rank - 1);
        int64_t idx[6];
        int ir = (int)rng_int(&r, 0, 2);
        int64_t idims[2] = {2, 3}, ni = ir == 0 ? 1 : ir == 1 ? 2 : 6;
        for (int64_t k = 0; k < ni; k++)
            idx[k] = rng_int(&r, -dims[axis], dims[axis] - 1);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[2] = {
            h_input(g, "x", rank, dims),
            typed_const(g, "i", TSL_DTYPE_I64, ir, ir == 1 ? D(2) : idims, idx)};
        struct tsl_node *n = h_node(g, TSL_OP_GATHER, "ga", 2, in);
        n->attrs.axis.axis = axis;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
    for (int it = 0; it < 6; it++) {
        int64_t dims[3], idims[3];
        random_shape(&r, 3, 1, 5, dims);
        int axis = (int)rng_int(&r, 0, 2);
        int64_t idx[125], n_i = 1;
        for (int d = 0; d < 3; d++) {
            idims[d] = d == axis ? rng_int(&r, 1, 4) : rng_int(&r, 1, dims[d]);
            n_i *= idims[d];
        }
        for (int64_t k = 0; k < n_i; k++)
            idx[k] = rng_int(&r, -dims[axis], dims[axis] - 1);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[2] = {h_input(g, "x", 3, dims),
                                   typed_const(g, "i", TSL_DTYPE_I64, 3, idims, idx)};
        struct tsl_node *n = h_node(g, TSL_OP_GATHER_ELEMENTS, "ge", 2, in);
        n->attrs.axis.axis = axis;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
    /* GatherND: data [3,4,5], indices [2,2] (pairs) and [2,1] with batch_dims 1 */
    struct tsl_graph *g = h_graph();
    int64_t nd[4] = {2, 3, 0, -1};
    struct tsl_value *in[2] = {h_input(g, "x", 3, D(3, 4, 5)),
                               typed_const(g, "i", TSL_DTYPE_I64, 2, D(2, 2), nd)};
    struct tsl_node *n = h_node(g, TSL_OP_GATHER_ND, "gnd", 2, in);
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
    g = h_graph();
    int64_t nb[3] = {1, 3, 0};
    in[0] = h_input(g, "x", 3, D(3, 4, 5));
    in[1] = typed_const(g, "i", TSL_DTYPE_I64, 2, D(3, 1), nb);
    n = h_node(g, TSL_OP_GATHER_ND, "gnd", 2, in);
    n->attrs.gathernd.batch_dims = 1;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

static void test_depth_space(void **state)
{
    (void)state;
    struct rng r = {0xD25};
    for (int it = 0; it < 6; it++) {
        int64_t bs = rng_int(&r, 2, 3);
        struct tsl_graph *g = h_graph();
        struct tsl_value *x =
            h_input(g, "x", 4, D(rng_int(&r, 1, 2), bs * bs * rng_int(&r, 1, 3), 3, 2));
        struct tsl_node *n = h_node(g, TSL_OP_DEPTH_TO_SPACE, "d2s", 1, &x);
        n->attrs.depth_to_space.blocksize = bs;
        n->attrs.depth_to_space.mode = it % 2 ? TSL_dts_mode_CRD : TSL_dts_mode_DCR;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
        g = h_graph();
        x = h_input(g, "x", 4, D(1, rng_int(&r, 1, 3), bs * 2, bs * 3));
        n = h_node(g, TSL_OP_SPACE_TO_DEPTH, "s2d", 1, &x);
        n->attrs.depth_to_space.blocksize = bs;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void resize_case(struct rng *r, enum tsl_resize_mode mode, enum tsl_coord_mode cm,
                        int it)
{
    int64_t dims[4] = {1, rng_int(r, 1, 2), rng_int(r, 1, 7), rng_int(r, 2, 7)};
    float scales[4] = {1, 1, 0.5f * (float)rng_int(r, 1, 7), 0.5f * (float)rng_int(r, 1, 7)};
    int64_t sizes[4] = {dims[0], dims[1], rng_int(r, 1, 12), rng_int(r, 1, 12)};
    float roi[8] = {0, 0, 0.1f, 0.2f, 1, 1, 0.8f, 1.1f};
    struct tsl_graph *g = h_graph();
    bool by_size = it % 2;
    struct tsl_value *in[4] = {h_input(g, "x", 4, dims),
                               typed_const(g, "roi", TSL_DTYPE_F32, 1, D(8), roi),
                               typed_const(g, "sc", TSL_DTYPE_F32, 1, D(by_size ? 0 : 4), scales),
                               by_size ? h_i64(g, "sz", 4, sizes) : NULL};
    struct tsl_node *n = h_node(g, TSL_OP_RESIZE, "rs", by_size ? 4 : 3, in);
    struct tsl_attr_resize *a = &n->attrs.resize;
    a->mode = mode;
    a->coordinate_transformation_mode = cm;
    a->nearest_mode = (enum tsl_nearest_mode)(it % 4);
    a->exclude_outside = it % 3 == 1;
    a->extrapolation_value = it % 2 ? 0.0f : -7.0f;
    a->cubic_coeff_a = it % 2 ? -0.75f : -0.5f;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, r, -1, 1, NULL);
}

static void test_resize(void **state)
{
    (void)state;
    struct rng r = {0x2E5};
    for (int m = 0; m < 3; m++)
        for (int cm = 0; cm <= TSL_coord_mode_TF_HALF_PIXEL_FOR_NN; cm++)
            for (int it = 0; it < 4; it++)
                resize_case(&r, (enum tsl_resize_mode)m, (enum tsl_coord_mode)cm, it);
}

static void test_folds(void **state)
{
    (void)state;
    struct rng r = {0xF01D};
    /* ConstantOfShape feeds arithmetic on an input; Shape of a static
     * activation feeds ConstantOfShape (folded from the static shape) */
    struct tsl_graph *g = h_graph();
    struct tsl_node *cs = h_node(g, TSL_OP_CONSTANT_OF_SHAPE, "cos", 1,
                                 (struct tsl_value *[]){h_i64(g, "shp", 2, D(3, 4))});
    cs->attrs.constant_of_shape.value = (struct tsl_scalar){.dtype = TSL_DTYPE_F32, .f = 1.5};
    struct tsl_value *x = h_input(g, "x", 2, D(3, 4));
    struct tsl_node *a1 = h_node(g, TSL_OP_ADD, "a1", 2, (struct tsl_value *[]){x, cs->outputs[0]});
    tsl_graph_add_output(g, a1->outputs[0]);
    h_check(g, &r, -1, 1, NULL);

    /* DequantizeLinear of constant int8 weights into a MatMul; f32 Cast */
    g = h_graph();
    int8_t q[12];
    for (int k = 0; k < 12; k++)
        q[k] = (int8_t)rng_int(&r, -128, 127);
    float s = 0.05f;
    int8_t zp = 3;
    struct tsl_value *dq_in[3] = {typed_const(g, "q", TSL_DTYPE_I8, 2, D(4, 3), q),
                                  typed_const(g, "s", TSL_DTYPE_F32, 0, NULL, &s),
                                  typed_const(g, "z", TSL_DTYPE_I8, 0, NULL, &zp)};
    struct tsl_node *dq = h_node(g, TSL_OP_DEQUANTIZE_LINEAR, "dq", 3, dq_in);
    x = h_input(g, "x", 2, D(2, 4));
    struct tsl_node *c = h_node(g, TSL_OP_CAST, "cast", 1, &x);
    c->attrs.cast.to = TSL_DTYPE_F32;
    struct tsl_node *mm =
        h_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){c->outputs[0], dq->outputs[0]});
    tsl_graph_add_output(g, mm->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

/* A dtype without an element type in the backend (packed i4) fails
 * cleanly, naming the node. */
static void test_non_f32_output_rejected(void **state)
{
    (void)state;
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(3, 4));
    struct tsl_node *n = h_node(g, TSL_OP_CAST, "to_i4", 1, &x);
    n->attrs.cast.to = TSL_DTYPE_I4;
    tsl_graph_add_output(g, n->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_UNSUPPORTED);
    assert_null(m);
    const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
    assert_non_null(e);
    assert_string_equal(e->where, "to_i4");
    assert_non_null(strstr(e->message, "i4"));
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_runtime_params(void **state)
{
    (void)state;
    struct rng r = {0xC11};
    /* Clip with run-time min and constant max; BatchNorm with inputs */
    struct tsl_graph *g = h_graph();
    struct tsl_value *in[3] = {h_input(g, "x", 3, D(2, 3, 9)),
                               h_input(g, "lo", 0, NULL), h_scalar(g, "hi", 0.5f)};
    struct tsl_node *n = h_node(g, TSL_OP_CLIP, "clip", 3, in);
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
    g = h_graph();
    struct tsl_value *bn[5] = {h_input(g, "x", 4, D(2, 5, 3, 4)), h_input(g, "s", 1, D(5)),
                               h_input(g, "b", 1, D(5)), h_input(g, "m", 1, D(5)),
                               h_const(g, &r, "v", 1, D(5), 0.5f, 2.0f)};
    n = h_node(g, TSL_OP_BATCH_NORM, "bn", 5, bn);
    n->attrs.batchnorm.epsilon = 1e-3f;
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, 0.1f, 1, NULL);
    /* 1-D pooling */
    for (int op = 0; op < 2; op++) {
        g = h_graph();
        struct tsl_value *x = h_input(g, "x", 3, D(2, 3, 11));
        n = h_node(g, op ? TSL_OP_MAX_POOL : TSL_OP_AVERAGE_POOL, "pool", 1, &x);
        struct tsl_attr_pool *a = &n->attrs.pool;
        a->kernel_shape.n = 1, a->kernel_shape.v[0] = 3;
        a->strides.n = 1, a->strides.v[0] = 2;
        a->pads.n = 2, a->pads.v[0] = 1, a->pads.v[1] = 1;
        a->count_include_pad = op == 0;
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -1, 1, NULL);
    }
}

static void test_conv_transpose(void **state)
{
    (void)state;
    struct rng r = {0xC7};
    for (int it = 0; it < 12; it++) {
        int nsp = (int)rng_int(&r, 1, 3);
        int64_t G = rng_int(&r, 1, 2), cg = rng_int(&r, 1, 3), mg = rng_int(&r, 1, 3);
        int64_t xd[5] = {rng_int(&r, 1, 2), G * cg}, wd[5] = {G * cg, mg};
        for (int d = 0; d < nsp; d++) {
            xd[2 + d] = rng_int(&r, 1, nsp == 3 ? 3 : 5);
            wd[2 + d] = rng_int(&r, 1, 3);
        }
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[3] = {h_input(g, "x", 2 + nsp, xd),
                                   it % 3 ? h_const(g, &r, "w", 2 + nsp, wd, -1, 1)
                                          : h_input(g, "w", 2 + nsp, wd),
                                   h_const(g, &r, "b", 1, D(G * mg), -1, 1)};
        struct tsl_node *n = h_node(g, TSL_OP_CONV_TRANSPOSE, "ct", it % 2 ? 3 : 2, in);
        struct tsl_attr_conv_transpose *a = &n->attrs.conv_transpose;
        a->group = G;
        a->strides.n = a->dilations.n = (uint32_t)nsp;
        for (int d = 0; d < nsp; d++) {
            a->strides.v[d] = rng_int(&r, 1, 3);
            a->dilations.v[d] = rng_int(&r, 1, 2);
        }
        if (it % 4 == 1) {
            a->auto_pad = it % 8 == 1 ? TSL_auto_pad_SAME_UPPER : TSL_auto_pad_SAME_LOWER;
        } else {
            a->pads.n = 2 * (uint32_t)nsp;
            a->output_padding.n = (uint32_t)nsp;
            for (int d = 0; d < nsp; d++) {
                a->output_padding.v[d] = rng_int(&r, 0, a->strides.v[d] - 1);
                int64_t full = a->strides.v[d] * (xd[2 + d] - 1) + a->output_padding.v[d] +
                               (wd[2 + d] - 1) * a->dilations.v[d] + 1;
                a->pads.v[d] = full > 1 ? rng_int(&r, 0, 1) : 0;
                a->pads.v[nsp + d] = full > 2 ? rng_int(&r, 0, 1) : 0;
            }
        }
        struct tsl_value *out = n->outputs[0];
        if (it % 5 == 4)
            out = h_node(g, TSL_OP_RELU, "relu", 1, &out)->outputs[0];
        tsl_graph_add_output(g, out);
        h_check(g, &r, -1, 1, NULL);
    }
}

/* Shape of a static activation folds to a constant that feeds Reshape. */
static void test_fold_shapes(void **state)
{
    (void)state;
    struct rng r = {0x5A};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 3, D(2, 3, 4)), *y = h_input(g, "y", 1, D(12));
    struct tsl_node *sh = h_node(g, TSL_OP_SHAPE, "shape", 1, &x);
    sh->attrs.shape.start = -2; /* [3, 4] */
    struct tsl_node *sz = h_node(g, TSL_OP_SIZE, "size", 1, &x); /* unused: erased */
    struct tsl_node *rs = h_node(g, TSL_OP_RESHAPE, "rs", 2,
                                 (struct tsl_value *[]){y, sh->outputs[0]});
    struct tsl_node *add = h_node(g, TSL_OP_ADD, "add", 2,
                                  (struct tsl_value *[]){rs->outputs[0], x});
    tsl_graph_add_output(g, add->outputs[0]);
    (void)sz;
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    /* fold-constants folds Shape/Size of static values from their types
     * (no evaluator given), dce drops the unused Size constant */
    struct tsl_pass_context pc;
    tsl_pass_context_init(&pc, &d);
    assert_int_equal(tsl_pass_run_pipeline(g, "fold-constants", &pc), TSL_STATUS_OK);
    assert_int_equal(pc.n_changed, 2);
    assert_int_equal(tsl_pass_run_pipeline(g, "dce", &pc), TSL_STATUS_OK);
    tsl_pass_context_fini(&pc);
    const struct tsl_value *k = rs->inputs[1];
    assert_true(k->constant != NULL);
    void *dense = NULL;
    assert_int_equal(tsl_const_decode(k, &dense, &d), TSL_STATUS_OK);
    assert_int_equal(((int64_t *)dense)[0], 3);
    assert_int_equal(((int64_t *)dense)[1], 4);
    free(dense);
    for (const struct tsl_node *n = g->first; n; n = n->next)
        assert_true(n->op != TSL_OP_SHAPE && n->op != TSL_OP_SIZE);
    tsl_diag_fini(&d);
    h_check(g, &r, -1, 1, NULL);
}

/* Conv whose weight (and bias) are graph inputs, or with 3 spatial dims:
 * the direct convolution of lower_conv_rt.c, with a residual Add and a
 * Relu fused into it on some cases. */
static void test_conv_direct(void **state)
{
    (void)state;
    struct rng r = {41};
    for (int it = 0; it < 18; it++) {
        int sp = 1 + it % 3;
        int64_t grp = rng_int(&r, 1, 2), C = grp * rng_int(&r, 1, 3), OC = grp * rng_int(&r, 1, 3);
        int64_t N = rng_int(&r, 1, 2);
        int64_t xd[5] = {N, C}, wd[5] = {OC, C / grp};
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[3];
        for (int i = 0; i < sp; i++) {
            xd[2 + i] = rng_int(&r, 3, 7);
            wd[2 + i] = rng_int(&r, 1, 3);
        }
        in[0] = h_input(g, "x", 2 + sp, xd);
        in[1] = it % 4 == 3 && sp == 3 ? h_const(g, &r, "w", 2 + sp, wd, -1, 1)
                                       : h_input(g, "w", 2 + sp, wd);
        in[2] = it % 2 ? h_input(g, "b", 1, D(OC)) : NULL;
        struct tsl_node *n = h_node(g, TSL_OP_CONV, "conv", in[2] ? 3 : 2, in);
        h_conv_attrs(&r, &n->attrs.conv, sp, grp, 2,
                     it % 5 != 4  ? TSL_auto_pad_NOTSET
                     : it % 2 ? TSL_auto_pad_SAME_UPPER
                              : TSL_auto_pad_SAME_LOWER);
        struct tsl_value *y = n->outputs[0];
        if (it % 3 == 0) { /* residual: Conv + Add(y, y0) + Relu in one step */
            struct tsl_diag d;
            tsl_diag_init(&d);
            assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
            tsl_diag_fini(&d);
            struct tsl_value *res = h_input(g, "res", y->type.shape.rank, y->type.shape.dims);
            struct tsl_node *add = h_node(g, TSL_OP_ADD, "add", 2, (struct tsl_value *[]){y, res});
            y = h_node(g, TSL_OP_RELU, "relu", 1, &add->outputs[0])->outputs[0];
        }
        tsl_graph_add_output(g, y);
        struct tsl_cpu_module_info info;
        h_check(g, &r, -1, 1, &info);
        assert_int_equal(info.n_fused, it % 3 == 0 ? 2 : 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce),       cmocka_unit_test(test_norms),
        cmocka_unit_test(test_selu_where),   cmocka_unit_test(test_slice),
        cmocka_unit_test(test_pad),          cmocka_unit_test(test_tile_expand),
        cmocka_unit_test(test_gathers),      cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_resize),       cmocka_unit_test(test_folds),
        cmocka_unit_test(test_runtime_params), cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_fold_shapes),     cmocka_unit_test(test_non_f32_output_rejected),
        cmocka_unit_test(test_conv_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
