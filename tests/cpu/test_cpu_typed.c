/* test_cpu_typed.c - differential tests of the CPU backend's typed and
 * multi-output lowerings against the reference interpreter: comparisons,
 * And/Or/Xor/Not, Where with a run-time condition, the Cast matrix over
 * f32/f64/i64/i32/i8/u8/bool, integer and f64 arithmetic, ArgMax/ArgMin,
 * Split, TopK and QuantizeLinear/DequantizeLinear; f16/bf16 Cast and Max/Min
 * over every f16 bit pattern and random f32/f64 bit patterns; Clip of
 * integers; run-time GatherND; the index tables on non-f32 data; QLinearConv.  Integer and bool
 * outputs must match bit for bit (harness.c); graph inputs and outputs are
 * of the tested dtypes, so I/O by bytes is exercised too.
 *
 * Shapes, broadcast patterns and data are seeded random.  Not here: the f32
 * lowerings (test_cpu_ops.c, test_cpu_ops2.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
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

static struct tsl_node *multi_node(struct tsl_graph *g, enum tsl_op op, const char *name,
                                   int n_in, struct tsl_value *const *in, int n_out)
{
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, name, (uint32_t)n_in, in, (uint32_t)n_out, &n,
                                        NULL),
                     TSL_STATUS_OK);
    return n;
}

/* A random shape and a broadcast partner: some dims 1, some leading dims dropped. */
static void bcast_pair(struct rng *r, int *ra, int64_t *a, int *rb, int64_t *b)
{
    *ra = (int)rng_int(r, 1, 4);
    for (int d = 0; d < *ra; d++)
        a[d] = rng_int(r, 1, 5);
    int drop = (int)rng_int(r, 0, *ra - 1);
    *rb = *ra - drop;
    for (int d = 0; d < *rb; d++)
        b[d] = rng_int(r, 0, 2) == 0 ? 1 : a[d + drop];
}

static const enum tsl_dtype num_types[] = {TSL_DTYPE_F32, TSL_DTYPE_F64, TSL_DTYPE_I64,
                                           TSL_DTYPE_I32, TSL_DTYPE_I8,  TSL_DTYPE_U8};
#define N_NUM (sizeof num_types / sizeof num_types[0])

static void test_compare(void **state)
{
    (void)state;
    static const enum tsl_op ops[] = {TSL_OP_EQUAL, TSL_OP_GREATER, TSL_OP_GREATER_OR_EQUAL,
                                      TSL_OP_LESS, TSL_OP_LESS_OR_EQUAL};
    struct rng r = {11};
    for (size_t o = 0; o < 5; o++)
        for (size_t t = 0; t < N_NUM; t++) {
            int ra, rb;
            int64_t a[4], b[4];
            bcast_pair(&r, &ra, a, &rb, b);
            struct tsl_graph *g = h_graph();
            struct tsl_value *in[2] = {h_typed_input(g, "a", num_types[t], ra, a),
                                       h_typed_input(g, "b", num_types[t], rb, b)};
            if (o & 1) { /* swap operands: broadcasting on the left */
                struct tsl_value *x = in[0];
                in[0] = in[1];
                in[1] = x;
            }
            struct tsl_node *n = h_node(g, ops[o], "cmp", 2, in);
            tsl_graph_add_output(g, n->outputs[0]);
            /* small integer range so equal pairs are frequent */
            h_check(g, &r, -3, 3, NULL);
        }
}

static void test_logic(void **state)
{
    (void)state;
    static const enum tsl_op ops[] = {TSL_OP_AND, TSL_OP_OR, TSL_OP_XOR};
    struct rng r = {12};
    for (size_t o = 0; o < 3; o++) {
        int ra, rb;
        int64_t a[4], b[4];
        bcast_pair(&r, &ra, a, &rb, b);
        struct tsl_graph *g = h_graph();
        struct tsl_value *in[2] = {h_typed_input(g, "a", TSL_DTYPE_BOOL, ra, a),
                                   h_typed_input(g, "b", TSL_DTYPE_BOOL, rb, b)};
        struct tsl_node *n = h_node(g, ops[o], "logic", 2, in);
        struct tsl_node *m = h_node(g, TSL_OP_NOT, "not", 1, &n->outputs[0]);
        tsl_graph_add_output(g, n->outputs[0]);
        tsl_graph_add_output(g, m->outputs[0]);
        h_check(g, &r, 0, 1, NULL);
    }
}

/* Where(Greater(a, b), x, y): a run-time bool condition, f32 and i64 data. */
static void test_where_runtime(void **state)
{
    (void)state;
    struct rng r = {13};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_I64, TSL_DTYPE_U8};
    for (size_t t = 0; t < 3; t++)
        for (int rep = 0; rep < 2; rep++) {
            int ra, rb;
            int64_t a[4], b[4];
            bcast_pair(&r, &ra, a, &rb, b);
            struct tsl_graph *g = h_graph();
            struct tsl_value *c_in[2] = {h_typed_input(g, "a", dts[t], ra, a),
                                         h_typed_input(g, "b", dts[t], rb, b)};
            struct tsl_node *c = h_node(g, TSL_OP_GREATER, "gt", 2, c_in);
            struct tsl_value *w_in[3] = {c->outputs[0], h_typed_input(g, "x", dts[t], rb, b),
                                         h_typed_input(g, "y", dts[t], ra, a)};
            struct tsl_node *w = h_node(g, TSL_OP_WHERE, "where", 3, w_in);
            tsl_graph_add_output(g, w->outputs[0]);
            h_check(g, &r, -50, 50, NULL);
        }
}

static void test_cast_matrix(void **state)
{
    (void)state;
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_F64, TSL_DTYPE_I64,
                                         TSL_DTYPE_I32, TSL_DTYPE_I8,  TSL_DTYPE_U8,
                                         TSL_DTYPE_BOOL};
    struct rng r = {14};
    for (size_t f = 0; f < 7; f++)
        for (size_t t = 0; t < 7; t++) {
            struct tsl_graph *g = h_graph();
            struct tsl_value *x = h_typed_input(g, "x", dts[f], 2, D(3, 7));
            struct tsl_node *n = h_node(g, TSL_OP_CAST, "cast", 1, &x);
            n->attrs.cast.to = dts[t];
            tsl_graph_add_output(g, n->outputs[0]);
            /* beyond the i8/u8 ranges: wrap after truncation, negative to unsigned */
            h_check(g, &r, -300, 300, NULL);
        }
    /* huge floats saturate at the int64 range before wrapping */
    struct tsl_graph *g = h_graph();
    float big[4] = {3e19f, -3e19f, 1e10f, -2.5f};
    struct tsl_value *c = typed_const(g, "big", TSL_DTYPE_F32, 1, D(4), big);
    struct tsl_value *x = h_input(g, "x", 1, D(4));
    struct tsl_node *add = h_node(g, TSL_OP_ADD, "add", 2, (struct tsl_value *[]){x, c});
    struct tsl_node *n = h_node(g, TSL_OP_CAST, "cast", 1, &add->outputs[0]);
    n->attrs.cast.to = TSL_DTYPE_I32;
    struct tsl_node *n2 = h_node(g, TSL_OP_CAST, "cast64", 1, &add->outputs[0]);
    n2->attrs.cast.to = TSL_DTYPE_I64;
    tsl_graph_add_output(g, n->outputs[0]);
    tsl_graph_add_output(g, n2->outputs[0]);
    h_check(g, &r, 0, 0, NULL);
}

static void test_int_arith(void **state)
{
    (void)state;
    static const enum tsl_op ops[] = {TSL_OP_ADD, TSL_OP_SUB, TSL_OP_MUL, TSL_OP_DIV,
                                      TSL_OP_MAX, TSL_OP_MIN};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_I64, TSL_DTYPE_I32, TSL_DTYPE_I8,
                                         TSL_DTYPE_U8, TSL_DTYPE_F64};
    struct rng r = {15};
    for (size_t o = 0; o < 6; o++)
        for (size_t t = 0; t < 5; t++) {
            int ra, rb;
            int64_t a[4], b[4];
            bcast_pair(&r, &ra, a, &rb, b);
            struct tsl_graph *g = h_graph();
            struct tsl_value *x = h_typed_input(g, "a", dts[t], ra, a);
            struct tsl_value *y = h_typed_input(g, "b", dts[t], rb, b);
            if (ops[o] == TSL_OP_DIV) {
                /* divisor Max(b, 1): never zero (the reference rejects it) */
                uint8_t one[8] = {0};
                if (dts[t] == TSL_DTYPE_F64) {
                    double d1 = 1.0;
                    memcpy(one, &d1, 8);
                } else {
                    tsl_dense_set_i64(dts[t], one, 0, 1);
                }
                struct tsl_value *c1 = typed_const(g, "one", dts[t], 0, NULL, one);
                y = h_node(g, TSL_OP_MAX, "nz", 2, (struct tsl_value *[]){y, c1})->outputs[0];
            }
            struct tsl_node *n = h_node(g, ops[o], "op", 2, (struct tsl_value *[]){x, y});
            struct tsl_node *neg = h_node(g, TSL_OP_NEG, "neg", 1, &n->outputs[0]);
            struct tsl_node *ab = h_node(g, TSL_OP_ABS, "abs", 1, &neg->outputs[0]);
            tsl_graph_add_output(g, n->outputs[0]);
            if (dts[t] != TSL_DTYPE_U8) /* ONNX Neg has no unsigned types */
                tsl_graph_add_output(g, ab->outputs[0]);
            /* i8 products and sums overflow and wrap */
            h_check(g, &r, -100, 100, NULL);
        }
}

static void test_argreduce(void **state)
{
    (void)state;
    struct rng r = {16};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_I32, TSL_DTYPE_U8};
    for (int rep = 0; rep < 24; rep++) {
        int rank = (int)rng_int(&r, 1, 4);
        int64_t dims[4];
        for (int d = 0; d < rank; d++)
            dims[d] = rng_int(&r, 1, 6);
        enum tsl_dtype dt = dts[rep % 3];
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", dt, rank, dims);
        struct tsl_node *n =
            h_node(g, rep & 1 ? TSL_OP_ARG_MIN : TSL_OP_ARG_MAX, "arg", 1, &x);
        n->attrs.argreduce.axis = rng_int(&r, -rank, rank - 1);
        n->attrs.argreduce.keepdims = rng_int(&r, 0, 1);
        n->attrs.argreduce.select_last_index = (rep >> 1) & 1;
        tsl_graph_add_output(g, n->outputs[0]);
        /* integers in [-3, 3]: many ties, so select_last_index matters */
        h_check(g, &r, -3, 3, NULL);
    }
}

static void test_split(void **state)
{
    (void)state;
    struct rng r = {17};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_I64, TSL_DTYPE_BOOL};
    for (int rep = 0; rep < 9; rep++) {
        int rank = (int)rng_int(&r, 1, 3);
        int64_t dims[3];
        for (int d = 0; d < rank; d++)
            dims[d] = rng_int(&r, 2, 7);
        int axis = (int)rng_int(&r, 0, rank - 1);
        int n_out = (int)rng_int(&r, 2, 3);
        if (rep % 3 != 2) /* equal parts: shape inference wants a multiple */
            dims[axis] = n_out * rng_int(&r, 1, 3);
        else if (dims[axis] < n_out)
            dims[axis] = n_out;
        enum tsl_dtype dt = dts[rep % 3];
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", dt, rank, dims);
        struct tsl_node *n = multi_node(g, TSL_OP_SPLIT, "split", 1, &x, n_out);
        n->attrs.split.axis = axis - (rep & 1 ? rank : 0);
        if (rep % 3 == 2) { /* explicit sizes: 1, 1, ..., rest */
            n->attrs.split.split.n = (uint32_t)n_out;
            for (int k = 0; k < n_out; k++)
                n->attrs.split.split.v[k] = k < n_out - 1 ? 1 : dims[axis] - (n_out - 1);
        }
        for (int k = 0; k < n_out; k++)
            tsl_graph_add_output(g, n->outputs[k]);
        if (dt == TSL_DTYPE_F32) { /* an output also consumed by a further step */
            struct tsl_node *e = h_node(g, TSL_OP_EXP, "exp", 1, &n->outputs[1]);
            tsl_graph_add_output(g, e->outputs[0]);
        }
        h_check(g, &r, -5, 5, NULL);
    }
}

static void test_topk(void **state)
{
    (void)state;
    struct rng r = {18};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_I32, TSL_DTYPE_I64};
    for (int rep = 0; rep < 12; rep++) {
        int rank = (int)rng_int(&r, 1, 3);
        int64_t dims[3];
        for (int d = 0; d < rank; d++)
            dims[d] = rng_int(&r, 1, 7);
        int axis = (int)rng_int(&r, 0, rank - 1);
        int64_t k = rng_int(&r, 0, dims[axis]);
        enum tsl_dtype dt = dts[rep % 3];
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", dt, rank, dims);
        struct tsl_value *kv = h_i64(g, "k", 1, &k);
        struct tsl_node *n = multi_node(g, TSL_OP_TOPK, "topk", 2,
                                        (struct tsl_value *[]){x, kv}, 2);
        n->attrs.topk.axis = axis - (rep & 1 ? rank : 0);
        n->attrs.topk.largest = (rep >> 1) & 1;
        tsl_graph_add_output(g, n->outputs[0]);
        tsl_graph_add_output(g, n->outputs[1]);
        h_check(g, &r, -2, 2, NULL); /* ties: lower index first */
    }
}

/* TopK ranks NaN above every number; Max/Min propagate NaN in f64. */
static void test_topk_nan(void **state)
{
    (void)state;
    struct rng r = {19};
    for (int largest = 0; largest < 2; largest++) {
        struct tsl_graph *g = h_graph();
        float v[6] = {1.0f, NAN, -2.0f, 1.0f, NAN, 0.5f};
        struct tsl_value *c = typed_const(g, "c", TSL_DTYPE_F32, 1, D(6), v);
        struct tsl_value *x = h_input(g, "x", 1, D(6));
        struct tsl_node *add = h_node(g, TSL_OP_ADD, "add", 2, (struct tsl_value *[]){x, c});
        int64_t k = 5;
        struct tsl_node *n = multi_node(
            g, TSL_OP_TOPK, "topk", 2, (struct tsl_value *[]){add->outputs[0], h_i64(g, "k", 1, &k)},
            2);
        n->attrs.topk.largest = largest;
        tsl_graph_add_output(g, n->outputs[0]);
        tsl_graph_add_output(g, n->outputs[1]);
        h_check(g, &r, 0, 0, NULL);
    }
}

/* QuantizeLinear (per tensor u8, per axis i8) then DequantizeLinear, at run time. */
static void test_quantize(void **state)
{
    (void)state;
    struct rng r = {20};
    for (int per_axis = 0; per_axis < 2; per_axis++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_input(g, "x", 3, D(2, 3, 5));
        struct tsl_value *s, *z;
        if (per_axis) {
            float sv[3] = {0.05f, 0.1f, 0.02f};
            int8_t zv[3] = {0, -3, 5};
            s = typed_const(g, "s", TSL_DTYPE_F32, 1, D(3), sv);
            z = typed_const(g, "z", TSL_DTYPE_I8, 1, D(3), zv);
        } else {
            float sv = 0.04f;
            uint8_t zv = 128;
            s = typed_const(g, "s", TSL_DTYPE_F32, 0, NULL, &sv);
            z = typed_const(g, "z", TSL_DTYPE_U8, 0, NULL, &zv);
        }
        struct tsl_node *q = h_node(g, TSL_OP_QUANTIZE_LINEAR, "q", 3,
                                    (struct tsl_value *[]){x, s, z});
        struct tsl_node *dq = h_node(g, TSL_OP_DEQUANTIZE_LINEAR, "dq", 3,
                                     (struct tsl_value *[]){q->outputs[0], s, z});
        q->attrs.axis.axis = 1;
        dq->attrs.axis.axis = 1;
        tsl_graph_add_output(g, q->outputs[0]);
        tsl_graph_add_output(g, dq->outputs[0]);
        /* beyond the representable range: saturation; many exact halves */
        h_check(g, &r, -8, 8, NULL);
    }
}

/* QLinearMatMul with run-time operands: per-tensor and per-column b scales,
 * batch dims on a, b or both (broadcast), u8 and i8; bit-exact. */
static void test_qlinear_matmul(void **state)
{
    (void)state;
    struct rng r = {22};
    for (int rep = 0; rep < 4; rep++) {
        enum tsl_dtype at = rep & 1 ? TSL_DTYPE_I8 : TSL_DTYPE_U8;
        enum tsl_dtype bt = rep & 2 ? TSL_DTYPE_I8 : TSL_DTYPE_U8;
        int64_t K = rng_int(&r, 1, 9), N = rng_int(&r, 1, 7), M = rng_int(&r, 1, 5);
        int64_t nb = rep >= 2 ? N : 1;
        struct tsl_graph *g = h_graph();
        /* batch: none, a only, b only (broadcast a), both */
        struct tsl_value *a = rep & 1 ? h_typed_input(g, "a", at, 3, D(2, M, K))
                                      : h_typed_input(g, "a", at, 2, D(M, K));
        struct tsl_value *b = rep >= 2 ? h_typed_input(g, "b", bt, 3, D(2, K, N))
                                       : h_typed_input(g, "b", bt, 2, D(K, N));
        float sa = 0.02f, sy = 0.05f, sb[8];
        uint8_t za[1], zb[8], zy[1];
        for (int64_t j = 0; j < nb; j++) {
            sb[j] = rng_f(&r, 0.01f, 0.2f);
            tsl_dense_set_i64(bt, zb, j, rng_int(&r, -5, 5) + (bt == TSL_DTYPE_U8 ? 128 : 0));
        }
        tsl_dense_set_i64(at, za, 0, at == TSL_DTYPE_U8 ? 120 : -3);
        enum tsl_dtype yt = rep & 1 ? TSL_DTYPE_U8 : TSL_DTYPE_I8;
        tsl_dense_set_i64(yt, zy, 0, yt == TSL_DTYPE_U8 ? 128 : 2);
        struct tsl_value *in[8] = {
            a,
            typed_const(g, "sa", TSL_DTYPE_F32, 0, NULL, &sa),
            typed_const(g, "za", at, 0, NULL, za),
            b,
            typed_const(g, "sb", TSL_DTYPE_F32, nb > 1 ? 1 : 0, D(nb), sb),
            typed_const(g, "zb", bt, nb > 1 ? 1 : 0, D(nb), zb),
            typed_const(g, "sy", TSL_DTYPE_F32, 0, NULL, &sy),
            typed_const(g, "zy", yt, 0, NULL, zy),
        };
        struct tsl_node *n = h_node(g, TSL_OP_QLINEAR_MATMUL, "qmm", 8, in);
        tsl_graph_add_output(g, n->outputs[0]);
        /* the full 8-bit range: saturation on both ends */
        h_check(g, &r, -128, 255, NULL);
    }
}

/* QLinearConv: u8/i8 data and weights (run-time or constant), per-tensor or
 * per-channel weight scales, optional i32 bias, 1-D to 3-D, groups,
 * strides, dilations, pads; bit-exact against the reference. */
static void test_qlinear_conv(void **state)
{
    (void)state;
    struct rng r = {26};
    for (int rep = 0; rep < 12; rep++) {
        enum tsl_dtype xt = rep & 1 ? TSL_DTYPE_I8 : TSL_DTYPE_U8;
        enum tsl_dtype wt = rep & 2 ? TSL_DTYPE_I8 : TSL_DTYPE_U8;
        enum tsl_dtype yt = rep & 4 ? TSL_DTYPE_I8 : TSL_DTYPE_U8;
        int sp = 1 + rep % 3;
        int64_t grp = rng_int(&r, 1, 2), C = grp * rng_int(&r, 1, 3), M = grp * rng_int(&r, 1, 3);
        int64_t xd[5] = {rng_int(&r, 1, 2), C}, wd[5] = {M, C / grp};
        for (int i = 0; i < sp; i++) {
            xd[2 + i] = rng_int(&r, 3, 6);
            wd[2 + i] = rng_int(&r, 1, 3);
        }
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", xt, 2 + sp, xd);
        struct tsl_value *w = h_typed_input(g, "w", wt, 2 + sp, wd);
        int64_t nw = rep % 2 ? M : 1;
        float sx = 0.03f, sy = 0.07f, sw[6];
        uint8_t zx[1], zw[6], zy[1];
        int32_t bias[6];
        for (int64_t j = 0; j < M; j++)
            bias[j] = (int32_t)rng_int(&r, -300, 300);
        for (int64_t j = 0; j < nw; j++) {
            sw[j] = rng_f(&r, 0.01f, 0.1f);
            tsl_dense_set_i64(wt, zw, j, rng_int(&r, -5, 5) + (wt == TSL_DTYPE_U8 ? 128 : 0));
        }
        tsl_dense_set_i64(xt, zx, 0, xt == TSL_DTYPE_U8 ? 120 : -3);
        tsl_dense_set_i64(yt, zy, 0, yt == TSL_DTYPE_U8 ? 128 : 2);
        struct tsl_value *in[9] = {
            x,
            typed_const(g, "sx", TSL_DTYPE_F32, 0, NULL, &sx),
            typed_const(g, "zx", xt, 0, NULL, zx),
            w,
            typed_const(g, "sw", TSL_DTYPE_F32, nw > 1 ? 1 : 0, D(nw), sw),
            typed_const(g, "zw", wt, nw > 1 ? 1 : 0, D(nw), zw),
            typed_const(g, "sy", TSL_DTYPE_F32, 0, NULL, &sy),
            typed_const(g, "zy", yt, 0, NULL, zy),
            typed_const(g, "bias", TSL_DTYPE_I32, 1, D(M), bias),
        };
        struct tsl_node *n = h_node(g, TSL_OP_QLINEAR_CONV, "qc", rep % 3 ? 9 : 8, in);
        h_conv_attrs(&r, &n->attrs.conv, sp, grp, 1,
                     rep == 11 ? TSL_auto_pad_SAME_LOWER : TSL_auto_pad_NOTSET);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -128, 255, NULL);
    }
}

/* Gather / GatherElements with run-time i64/i32 indices (negative ones
 * included) over f32 and i64 data. */
static void test_gather_runtime(void **state)
{
    (void)state;
    struct rng r = {23};
    for (int rep = 0; rep < 12; rep++) {
        bool elems = rep & 1;
        enum tsl_dtype ddt = rep & 2 ? TSL_DTYPE_I64 : TSL_DTYPE_F32;
        enum tsl_dtype idt = rep & 4 ? TSL_DTYPE_I32 : TSL_DTYPE_I64;
        int rank = (int)rng_int(&r, 1, 3);
        int64_t dims[3], idims[3];
        for (int d = 0; d < rank; d++)
            dims[d] = rng_int(&r, 2, 5);
        int axis = (int)rng_int(&r, 0, rank - 1);
        int irank = elems ? rank : (int)rng_int(&r, 0, 2);
        for (int d = 0; d < irank; d++)
            idims[d] = elems && d != axis ? rng_int(&r, 1, dims[d]) : rng_int(&r, 1, 4);
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", ddt, rank, dims);
        /* indices in [-dim, dim): Abs of a small input, minus dim on odd reps */
        struct tsl_value *iv = h_typed_input(g, "i", idt, irank, idims);
        uint8_t m[8] = {0};
        tsl_dense_set_i64(idt, m, 0, dims[axis]);
        struct tsl_node *ab = h_node(g, TSL_OP_ABS, "abs", 1, &iv);
        struct tsl_node *md = h_node(g, TSL_OP_MIN, "min", 2,
                                     (struct tsl_value *[]){ab->outputs[0],
                                                            typed_const(g, "dm", idt, 0, NULL, m)});
        struct tsl_value *ix = md->outputs[0]; /* in [0, dim] */
        tsl_dense_set_i64(idt, m, 0, rep & 8 ? dims[axis] : 1);
        ix = h_node(g, TSL_OP_SUB, "sub", 2,
                    (struct tsl_value *[]){ix, typed_const(g, "one", idt, 0, NULL, m)})
                 ->outputs[0];
        struct tsl_node *n = h_node(g, elems ? TSL_OP_GATHER_ELEMENTS : TSL_OP_GATHER, "gather",
                                    2, (struct tsl_value *[]){x, ix});
        n->attrs.axis.axis = axis - (rep & 2 ? rank : 0);
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -6, 6, NULL);
    }
}

/* One constant feeding two inputs of a compile-time-evaluated node (Slice
 * starts == steps, as in ONNX's expanded NegativeLogLikelihoodLoss). */
static void test_shared_const_inputs(void **state)
{
    (void)state;
    struct rng r = {24};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(4, 5));
    int64_t one = 1, four = 4, zero = 0;
    struct tsl_value *c1 = h_i64(g, "one", 1, &one);
    struct tsl_node *n = h_node(g, TSL_OP_SLICE, "slice", 5,
                                (struct tsl_value *[]){x, c1, h_i64(g, "four", 1, &four),
                                                       h_i64(g, "zero", 1, &zero), c1});
    tsl_graph_add_output(g, n->outputs[0]);
    h_check(g, &r, -1, 1, NULL);
}

/* Pow with integer and mixed operand dtypes (exact integer powers, wrap,
 * negative exponents; libm pow in double for a float operand). */
static void test_pow_types(void **state)
{
    (void)state;
    static const enum tsl_dtype pairs[][2] = {
        {TSL_DTYPE_I32, TSL_DTYPE_I32}, {TSL_DTYPE_I64, TSL_DTYPE_I64},
        {TSL_DTYPE_F32, TSL_DTYPE_I32}, {TSL_DTYPE_F32, TSL_DTYPE_I64},
        {TSL_DTYPE_I32, TSL_DTYPE_F32}, {TSL_DTYPE_I64, TSL_DTYPE_F32},
        {TSL_DTYPE_I8, TSL_DTYPE_I64},  {TSL_DTYPE_F64, TSL_DTYPE_I32}};
    struct rng r = {25};
    for (size_t t = 0; t < sizeof pairs / sizeof pairs[0]; t++) {
        int ra, rb;
        int64_t a[4], b[4];
        bcast_pair(&r, &ra, a, &rb, b);
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", pairs[t][0], ra, a);
        struct tsl_value *y = h_typed_input(g, "y", pairs[t][1], rb, b);
        struct tsl_node *n = h_node(g, TSL_OP_POW, "pow", 2, (struct tsl_value *[]){x, y});
        tsl_graph_add_output(g, n->outputs[0]);
        h_check(g, &r, -3, 9, NULL); /* 9^9 overflows i8/i32: wraps */
    }
}

/* Data movement of non-f32 values: Transpose, Concat, Unsqueeze, Reshape. */
static void test_typed_movement(void **state)
{
    (void)state;
    struct rng r = {21};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_I64, TSL_DTYPE_BOOL, TSL_DTYPE_F64,
                                         TSL_DTYPE_I8};
    for (size_t t = 0; t < 4; t++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *a = h_typed_input(g, "a", dts[t], 3, D(2, 3, 4));
        struct tsl_value *b = h_typed_input(g, "b", dts[t], 3, D(2, 5, 4));
        struct tsl_node *tr = h_node(g, TSL_OP_TRANSPOSE, "tr", 1, &a);
        tr->attrs.transpose.perm.n = 3;
        tr->attrs.transpose.perm.v[0] = 0;
        tr->attrs.transpose.perm.v[1] = 2;
        tr->attrs.transpose.perm.v[2] = 1;
        struct tsl_node *cat = h_node(g, TSL_OP_CONCAT, "cat", 2, (struct tsl_value *[]){a, b});
        cat->attrs.axis.axis = -2;
        int64_t shape[2] = {8, -1};
        struct tsl_node *un = h_node(g, TSL_OP_UNSQUEEZE, "un", 1, &tr->outputs[0]);
        un->attrs.axes.axes.n = 1;
        un->attrs.axes.axes.v[0] = 0;
        struct tsl_node *rs = h_node(g, TSL_OP_RESHAPE, "rs", 2,
                                     (struct tsl_value *[]){cat->outputs[0], h_i64(g, "sh", 2, shape)});
        tsl_graph_add_output(g, un->outputs[0]);
        tsl_graph_add_output(g, rs->outputs[0]);
        h_check(g, &r, -100, 100, NULL);
    }
}

/* GatherND with run-time indices (values in [-3, 2], every indexed dim >= 3,
 * so negative ones wrap and none is out of range): tuples of 1 to 3 indices,
 * batch_dims 0 and 1, several data dtypes (indices are i64 in ONNX). */
static void test_gather_nd_runtime(void **state)
{
    (void)state;
    struct rng r = {25};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_F32, TSL_DTYPE_I32, TSL_DTYPE_I64,
                                         TSL_DTYPE_U8};
    static const struct {
        int ir;
        int64_t idims[3], b;
    } cases[] = {{2, {2, 2}, 0}, {3, {3, 2, 1}, 0}, {2, {4, 3}, 0}, {3, {3, 2, 1}, 1},
                 {2, {3, 2}, 1}, {1, {2}, 0}};
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            struct tsl_graph *g = h_graph();
            struct tsl_value *x = h_typed_input(g, "x", dts[t], 3, D(3, 4, 5));
            struct tsl_value *ix = h_typed_input(g, "ix", TSL_DTYPE_I64, cases[c].ir,
                                               cases[c].idims);
            struct tsl_node *n = h_node(g, TSL_OP_GATHER_ND, "gnd", 2,
                                        (struct tsl_value *[]){x, ix});
            n->attrs.gathernd.batch_dims = cases[c].b;
            tsl_graph_add_output(g, n->outputs[0]);
            h_check(g, &r, -3, 2, NULL);
        }
}

/* Clip of non-f32 data: constant or run-time scalar bounds, either omitted,
 * min above max (the reference's order decides). */
static void test_clip_typed(void **state)
{
    (void)state;
    struct rng r = {24};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_I8, TSL_DTYPE_U8, TSL_DTYPE_I32,
                                         TSL_DTYPE_I64, TSL_DTYPE_F64, TSL_DTYPE_F16};
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", dts[t], 2, D(5, 7));
        uint64_t lo = 0, hi = 0, hi2 = 0;
        tsl_dense_set_i64(dts[t], &lo, 0, 10);
        tsl_dense_set_i64(dts[t], &hi, 0, 60);
        tsl_dense_set_i64(dts[t], &hi2, 0, 5);
        struct tsl_value *clo = typed_const(g, "lo", dts[t], 0, NULL, &lo);
        struct tsl_value *chi = typed_const(g, "hi", dts[t], 0, NULL, &hi);
        struct tsl_value *chi2 = typed_const(g, "hi2", dts[t], 0, NULL, &hi2);
        struct tsl_value *rlo = h_typed_input(g, "rlo", dts[t], 0, NULL);
        struct tsl_value *const cases[5][2] = {{clo, chi}, {NULL, chi}, {clo, NULL},
                                               {rlo, chi}, {clo, chi2}};
        for (int c = 0; c < 5; c++) {
            char nm[16];
            snprintf(nm, sizeof nm, "clip%d", c);
            struct tsl_node *n = h_node(g, TSL_OP_CLIP, nm, 3,
                                        (struct tsl_value *[]){x, cases[c][0], cases[c][1]});
            tsl_graph_add_output(g, n->outputs[0]);
        }
        h_check(g, &r, -100, 100, NULL);
    }
}

/* The compile-time index tables (lower_gather.c) on non-f32 data: Pad in
 * each mode (a typed pad value), Slice, Tile and GatherND, copied by bytes. */
static void test_typed_tables(void **state)
{
    (void)state;
    struct rng r = {23};
    static const enum tsl_dtype dts[] = {TSL_DTYPE_I32, TSL_DTYPE_I64, TSL_DTYPE_U8,
                                         TSL_DTYPE_F64, TSL_DTYPE_BOOL, TSL_DTYPE_I16,
                                         TSL_DTYPE_F16};
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", dts[t], 2, D(3, 4));
        uint64_t pv = 0;
        tsl_dense_set_i64(dts[t], &pv, 0, 1);
        struct tsl_value *val = typed_const(g, "val", dts[t], 0, NULL, &pv);
        for (int mode = 0; mode < 3; mode++) {
            static const char *nm[3] = {"pad_c", "pad_r", "pad_e"};
            struct tsl_value *pads = h_i64(g, nm[mode], 4, D(1, 2, 2, 0));
            struct tsl_value *in[3] = {x, pads, val};
            struct tsl_node *p = h_node(g, TSL_OP_PAD, nm[mode], mode == 0 ? 3 : 2, in);
            p->attrs.pad.mode = mode == 0   ? TSL_pad_mode_CONSTANT
                                : mode == 1 ? TSL_pad_mode_REFLECT
                                            : TSL_pad_mode_EDGE;
            tsl_graph_add_output(g, p->outputs[0]);
        }
        struct tsl_node *sl2 = h_node(g, TSL_OP_SLICE, "sl2", 5,
                                      (struct tsl_value *[]){x, h_i64(g, "st2", 1, D(3)),
                                                             h_i64(g, "en2", 1, D(0)),
                                                             h_i64(g, "ax2", 1, D(1)),
                                                             h_i64(g, "sp2", 1, D(-2))});
        struct tsl_node *ti =
            h_node(g, TSL_OP_TILE, "ti", 2, (struct tsl_value *[]){x, h_i64(g, "rep", 2, D(2, 3))});
        struct tsl_node *gn = h_node(g, TSL_OP_GATHER_ND, "gn", 2,
                                     (struct tsl_value *[]){x, typed_const(g, "ix", TSL_DTYPE_I64, 2,
                                                                           D(2, 2), D(2, 1, 0, 3))});
        gn->attrs.gathernd.batch_dims = 0;
        tsl_graph_add_output(g, sl2->outputs[0]);
        tsl_graph_add_output(g, ti->outputs[0]);
        tsl_graph_add_output(g, gn->outputs[0]);
        h_check(g, &r, -100, 100, NULL);
    }
}

/* Run g (shapes inferred here) on the given inputs with the reference and
 * the cpu backend; every output must match byte for byte. */
static void check_bytes(struct tsl_graph *g, const struct tsl_tensor *in)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_tensor *ro = NULL, *co = NULL;
    uint32_t nro = 0, nco = 0;
    struct tsl_ref_stats rs;
    assert_int_equal(tsl_ref_run(g, in, g->n_inputs, &ro, &nro, &rs, &d), TSL_STATUS_OK);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_run(m, in, g->n_inputs, &co, &nco, &d), TSL_STATUS_OK);
    assert_int_equal(nro, nco);
    for (uint32_t o = 0; o < nco; o++) {
        int64_t n, bytes;
        assert_int_equal(ro[o].dtype, co[o].dtype);
        assert_true(tsl_shape_numel(&co[o].shape, &n));
        assert_true(tsl_dtype_storage_bytes(co[o].dtype, n, &bytes));
        const uint8_t *a = ro[o].data, *b = co[o].data;
        for (int64_t k = 0; k < bytes; k++)
            if (a[k] != b[k])
                fail_msg("output %u (%s) byte %lld: ref %u cpu %u", o,
                         tsl_dtype_name(ro[o].dtype), (long long)k, a[k], b[k]);
    }
    tsl_tensors_free(ro, nro);
    tsl_tensors_free(co, nco);
    tsl_cpu_module_destroy(m);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

static struct tsl_value *cast_out(struct tsl_graph *g, const char *name, struct tsl_value *x,
                                  enum tsl_dtype to)
{
    struct tsl_node *n = h_node(g, TSL_OP_CAST, name, 1, &x);
    n->attrs.cast.to = to;
    tsl_graph_add_output(g, n->outputs[0]);
    return n->outputs[0];
}

/* Every f16 and bf16 bit pattern widened to f32/f64/i32 and through Max/Min
 * with a second operand (NaN, infinities, subnormals, signed zeros). */
static void test_half_widen(void **state)
{
    (void)state;
    enum { N = 65536 };
    static const enum tsl_dtype hs[2] = {TSL_DTYPE_F16, TSL_DTYPE_BF16};
    uint16_t *bits = malloc(N * sizeof *bits), *other = malloc(N * sizeof *other);
    assert_non_null(bits);
    assert_non_null(other);
    struct rng r = {21};
    for (int i = 0; i < N; i++) {
        bits[i] = (uint16_t)i;
        other[i] = (uint16_t)rng_u32(&r);
    }
    for (int h = 0; h < 2; h++) {
        struct tsl_graph *g = h_graph();
        struct tsl_value *x = h_typed_input(g, "x", hs[h], 1, D(N));
        struct tsl_value *y = h_typed_input(g, "y", hs[h], 1, D(N));
        cast_out(g, "to_f32", x, TSL_DTYPE_F32);
        cast_out(g, "to_f64", x, TSL_DTYPE_F64);
        cast_out(g, "to_i32", x, TSL_DTYPE_I32);
        cast_out(g, "to_u8", x, TSL_DTYPE_U8);
        cast_out(g, "to_bool", x, TSL_DTYPE_BOOL);
        struct tsl_node *mx = h_node(g, TSL_OP_MAX, "max", 2, (struct tsl_value *[]){x, y});
        struct tsl_node *mn = h_node(g, TSL_OP_MIN, "min", 2, (struct tsl_value *[]){x, y});
        tsl_graph_add_output(g, mx->outputs[0]);
        tsl_graph_add_output(g, mn->outputs[0]);
        struct tsl_tensor in[2] = {{.dtype = hs[h], .shape = {.rank = 1, .dims = {N}}, .data = bits},
                                   {.dtype = hs[h], .shape = {.rank = 1, .dims = {N}}, .data = other}};
        check_bytes(g, in);
    }
    free(bits);
    free(other);
}

/* f32 (random bit patterns, rounding ties, overflow, underflow, NaN) and f64
 * and i64 values narrowed to f16 and bf16 with round to nearest even. */
static void test_half_narrow(void **state)
{
    (void)state;
    enum { N = 4096 };
    float *f = malloc(N * sizeof *f);
    double *dv = malloc(N * sizeof *dv);
    int64_t *iv = malloc(N * sizeof *iv);
    assert_non_null(f);
    assert_non_null(dv);
    assert_non_null(iv);
    struct rng r = {22};
    static const float special[] = {0.0f, -0.0f, 65504.0f, 65520.0f, 65519.99f, 1e-8f, -3e-8f,
                                    5.96e-8f, 2.98e-8f, 6.1e-5f, 1.0f + 0x1p-11f,
                                    1.0f + 0x1p-11f + 0x1p-23f, 1.0f + 3 * 0x1p-11f, 1e38f,
                                    -1e38f};
    for (int i = 0; i < N; i++) {
        uint32_t u = rng_u32(&r);
        if (i % 3 == 1) /* exponents near f16's range */
            u = (u & 0x807fffffu) | ((uint32_t)rng_int(&r, 127 - 26, 127 + 17) << 23);
        if (i % 3 == 2) /* exact f16 ties: the 13 dropped bits are 1000... */
            u = ((u & 0xffffe000u) | 0x1000u);
        memcpy(&f[i], &u, 4);
        if (i < (int)(sizeof special / sizeof special[0]))
            f[i] = special[i];
        if (i == 20)
            f[i] = NAN;
        if (i == 21)
            f[i] = -INFINITY;
        dv[i] = (double)f[i] * (1.0 + (double)rng_f(&r, -1e-6f, 1e-6f));
        iv[i] = (int64_t)rng_u32(&r) << (i % 32) >> 2;
    }
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_typed_input(g, "x", TSL_DTYPE_F32, 1, D(N));
    struct tsl_value *xd = h_typed_input(g, "xd", TSL_DTYPE_F64, 1, D(N));
    struct tsl_value *xi = h_typed_input(g, "xi", TSL_DTYPE_I64, 1, D(N));
    cast_out(g, "f32_f16", x, TSL_DTYPE_F16);
    cast_out(g, "f32_bf16", x, TSL_DTYPE_BF16);
    cast_out(g, "f64_f16", xd, TSL_DTYPE_F16);
    cast_out(g, "f64_bf16", xd, TSL_DTYPE_BF16);
    cast_out(g, "i64_f16", xi, TSL_DTYPE_F16);
    cast_out(g, "i64_bf16", xi, TSL_DTYPE_BF16);
    struct tsl_tensor in[3] = {{.dtype = TSL_DTYPE_F32, .shape = {.rank = 1, .dims = {N}}, .data = f},
                               {.dtype = TSL_DTYPE_F64, .shape = {.rank = 1, .dims = {N}}, .data = dv},
                               {.dtype = TSL_DTYPE_I64, .shape = {.rank = 1, .dims = {N}}, .data = iv}};
    check_bytes(g, in);
    free(f);
    free(dv);
    free(iv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),   cmocka_unit_test(test_logic),
        cmocka_unit_test(test_where_runtime), cmocka_unit_test(test_cast_matrix),
        cmocka_unit_test(test_int_arith), cmocka_unit_test(test_argreduce),
        cmocka_unit_test(test_split),     cmocka_unit_test(test_topk),
        cmocka_unit_test(test_topk_nan),  cmocka_unit_test(test_quantize),
        cmocka_unit_test(test_typed_movement), cmocka_unit_test(test_qlinear_matmul),
        cmocka_unit_test(test_qlinear_conv),
        cmocka_unit_test(test_gather_runtime), cmocka_unit_test(test_shared_const_inputs),
        cmocka_unit_test(test_pow_types), cmocka_unit_test(test_half_widen),
        cmocka_unit_test(test_half_narrow), cmocka_unit_test(test_typed_tables),
        cmocka_unit_test(test_clip_typed), cmocka_unit_test(test_gather_nd_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
