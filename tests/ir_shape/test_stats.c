/* test_stats.c - graph statistics: parameter counts and bytes of constants,
 * MACs of Conv / ConvTranspose / Gemm / MatMul from inferred shapes, the
 * symbolic flag, and per-op node counts. */
#include <stdlib.h>

#include "ir_shape/shape_test_util.h"
#include "tessel/stats.h"

static struct tsl_value *zeros(struct tsl_graph *g, const char *name, int32_t rank,
                               const int64_t *dims)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    int64_t numel;
    assert_true(tsl_shape_numel(&t.shape, &numel));
    float *buf = calloc((size_t)numel, sizeof *buf);
    assert_non_null(buf);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, buf, &v), TSL_STATUS_OK);
    free(buf);
    return v;
}

static void test_stats_counts(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, DIMS(1, 3, 224, 224));
    struct tsl_value *w = zeros(g, "w", 4, DIMS(64, 3, 7, 7));
    struct tsl_node *c = add(g, TSL_OP_CONV, "conv", 2, VALS(x, w), 1);
    set_ints(&c->attrs.conv.strides, 2, DIMS(2, 2));
    set_ints(&c->attrs.conv.pads, 4, DIMS(3, 3, 3, 3));
    struct tsl_node *gp = add(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, VALS(c->outputs[0]), 1);
    struct tsl_node *fl = add(g, TSL_OP_FLATTEN, "fl", 1, VALS(gp->outputs[0]), 1);
    fl->attrs.axis.axis = 1;
    struct tsl_value *fw = zeros(g, "fw", 2, DIMS(10, 64));
    struct tsl_value *fb = zeros(g, "fb", 1, DIMS(10));
    struct tsl_node *gm = add(g, TSL_OP_GEMM, "fc", 3, VALS(fl->outputs[0], fw, fb), 1);
    gm->attrs.gemm.transB = 1;
    struct tsl_value *dx = input(g, "dx", TSL_DTYPE_F32, 4, DIMS(1, 16, 8, 8));
    struct tsl_value *dw = input(g, "dw", TSL_DTYPE_F32, 4, DIMS(16, 4, 3, 3));
    struct tsl_node *ct = add(g, TSL_OP_CONV_TRANSPOSE, "up", 2, VALS(dx, dw), 1);
    ct->attrs.conv_transpose.group = 2;
    struct tsl_value *ma = input(g, "ma", TSL_DTYPE_F32, 3, DIMS(2, 3, 4));
    struct tsl_value *mb = input(g, "mb", TSL_DTYPE_F32, 2, DIMS(4, 5));
    add(g, TSL_OP_MATMUL, "mm", 2, VALS(ma, mb), 1);
    infer_ok(g);
    struct tsl_graph_stats s;
    tsl_graph_compute_stats(g, &s);
    assert_int_equal(s.params, 64 * 3 * 49 + 640 + 10);
    assert_int_equal(s.param_bytes, 4 * (64 * 3 * 49 + 640 + 10));
    int64_t conv = 64LL * 112 * 112 * 3 * 49, fc = 64 * 10, up = 16LL * 64 * 4 * 9, mm = 2 * 3 * 5 * 4;
    assert_int_equal(s.macs, conv + fc + up + mm);
    assert_false(s.macs_symbolic);
    assert_int_equal(s.op_count[TSL_OP_CONV], 1);
    assert_int_equal(s.op_count[TSL_OP_GEMM], 1);
    assert_int_equal(s.op_count[TSL_OP_RELU], 0);
    tsl_graph_destroy(g);
}

static void test_stats_symbolic(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    int64_t n = sym(g, "N");
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 2, DIMS(n, 8));
    struct tsl_value *b = zeros(g, "b", 2, DIMS(8, 4));
    add(g, TSL_OP_MATMUL, "mm", 2, VALS(a, b), 1);
    infer_ok(g);
    struct tsl_graph_stats s;
    tsl_graph_compute_stats(g, &s);
    assert_int_equal(s.macs, 8 * 4);
    assert_true(s.macs_symbolic);
    assert_int_equal(s.params, 32);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_counts),
        cmocka_unit_test(test_stats_symbolic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
