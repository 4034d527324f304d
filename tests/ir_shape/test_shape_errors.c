/* test_shape_errors.c - shape inference must reject invalid graphs with a
 * VERIFY status and a one-line message naming the node (its name, or
 * "<OpType> node #<index>" when unnamed) and the numbers involved. */
#include "ir_shape/shape_test_util.h"

static struct tsl_graph *conv_graph(const int64_t *xd, int32_t wrank, const int64_t *wd,
                                    struct tsl_node **out)
{
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 4, xd);
    struct tsl_value *w = input(g, "w", TSL_DTYPE_F32, wrank, wd);
    *out = add(g, TSL_OP_CONV, "conv", 2, VALS(x, w), 1);
    return g;
}

static void test_err_conv_weight_rank(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 3, 8, 8), 3, DIMS(4, 3, 3), &c);
    infer_fails(g, "conv", "weight rank 3 != input rank 4");
    tsl_graph_destroy(g);
}

static void test_err_conv_channels(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 6, 8, 8), 4, DIMS(4, 2, 3, 3), &c);
    c->attrs.conv.group = 2;
    infer_fails(g, "conv", "input has C=6 but weight expects C/group=2 with group=2");
    tsl_graph_destroy(g);
}

static void test_err_conv_group_divides(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 6, 8, 8), 4, DIMS(4, 1, 3, 3), &c);
    c->attrs.conv.group = 4;
    infer_fails(g, "conv", "group 4 does not divide input channels 6");
    tsl_graph_destroy(g);
}

static void test_err_conv_group_zero(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 6, 8, 8), 4, DIMS(4, 6, 3, 3), &c);
    c->attrs.conv.group = 0;
    infer_fails(g, "conv", "group must be >= 1, got 0");
    tsl_graph_destroy(g);
}

static void test_err_negative_pads(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 3, 8, 8), 4, DIMS(4, 3, 3, 3), &c);
    set_ints(&c->attrs.conv.pads, 4, DIMS(0, -1, 0, 0));
    infer_fails(g, "conv", "pads[1] = -1 must be >= 0");
    tsl_graph_destroy(g);
}

static void test_err_zero_stride(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 3, 8, 8), 4, DIMS(4, 3, 3, 3), &c);
    set_ints(&c->attrs.conv.strides, 2, DIMS(1, 0));
    infer_fails(g, "conv", "strides[1] = 0 must be >= 1");
    tsl_graph_destroy(g);
}

static void test_err_kernel_too_large(void **state)
{
    (void)state;
    struct tsl_node *c;
    struct tsl_graph *g = conv_graph(DIMS(1, 3, 3, 8), 4, DIMS(4, 3, 5, 3), &c);
    set_ints(&c->attrs.conv.pads, 4, DIMS(0, 0, 1, 0));
    infer_fails(g, "conv", "effective kernel 5 > padded input 4");
    tsl_graph_destroy(g);
}

static void test_err_axis_out_of_range_unnamed(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    add(g, TSL_OP_RELU, "r", 1, VALS(x), 1);
    struct tsl_node *s = add(g, TSL_OP_SOFTMAX, NULL, 1, VALS(x), 1);
    s->attrs.axis.axis = 2;
    infer_fails(g, "Softmax node #1", "axis = 2 out of range [-2, 2) for rank 2");
    tsl_graph_destroy(g);
}

static void test_err_perm(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_node *t = add(g, TSL_OP_TRANSPOSE, "tr", 1, VALS(x), 1);
    set_ints(&t->attrs.transpose.perm, 2, DIMS(0, 0));
    infer_fails(g, "tr", "perm is not a permutation");
    tsl_graph_destroy(g);
}

static void test_err_concat_dims(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 2, DIMS(4, 5));
    struct tsl_node *c = add(g, TSL_OP_CONCAT, "cat", 2, VALS(a, b), 1);
    c->attrs.axis.axis = 1;
    infer_fails(g, "cat", "dims disagree on axis 0: input 0 has 2, input 1 has 4");
    tsl_graph_destroy(g);
}

static void test_err_reshape_count(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *s = const_i64(g, "s", 2, DIMS(4, 2));
    add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, s), 1);
    infer_fails(g, "rs", "cannot reshape [2,3] (6 elements) to [4,2] (8 elements)");
    tsl_graph_destroy(g);
}

static void test_err_reshape_minus_one_indivisible(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *s = const_i64(g, "s", 2, DIMS(4, -1));
    add(g, TSL_OP_RESHAPE, "rs", 2, VALS(x, s), 1);
    infer_fails(g, "rs", "cannot reshape [2,3] (6 elements)");
    tsl_graph_destroy(g);
}

static void test_err_broadcast(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 1, DIMS(4));
    add(g, TSL_OP_ADD, "add", 2, VALS(a, b), 1);
    infer_fails(g, "add", "cannot broadcast [2,3] with [4] (dim 3 vs 4)");
    tsl_graph_destroy(g);
}

static void test_err_split_sum(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 10));
    struct tsl_node *s = add(g, TSL_OP_SPLIT, "sp", 1, VALS(x), 2);
    s->attrs.split.axis = 1;
    set_ints(&s->attrs.split.split, 2, DIMS(2, 3));
    infer_fails(g, "sp", "split sizes sum to 5 but axis 1 has size 10");
    tsl_graph_destroy(g);
}

static void test_err_gather_index(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(5, 3));
    struct tsl_value *i = const_i64(g, "i", 2, DIMS(1, 7));
    add(g, TSL_OP_GATHER, "ga", 2, VALS(x, i), 1);
    infer_fails(g, "ga", "index 7 out of range for axis 0 of size 5");
    tsl_graph_destroy(g);
}

static void test_err_rank_limit(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 8, DIMS(1, 1, 1, 1, 1, 1, 1, 1));
    struct tsl_node *u = add(g, TSL_OP_UNSQUEEZE, "un", 1, VALS(x), 1);
    set_ints(&u->attrs.axes.axes, 1, DIMS(0));
    infer_fails(g, "un", "output rank 9 exceeds 8");
    tsl_graph_destroy(g);
}

static void test_err_matmul_inner(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_F32, 2, DIMS(4, 5));
    add(g, TSL_OP_MATMUL, "mm", 2, VALS(a, b), 1);
    infer_fails(g, "mm", "inner dimensions differ: K=3 vs 4");
    tsl_graph_destroy(g);
}

static void test_err_dtype_mismatch(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *a = input(g, "a", TSL_DTYPE_F32, 1, DIMS(3));
    struct tsl_value *b = input(g, "b", TSL_DTYPE_I64, 1, DIMS(3));
    add(g, TSL_OP_MUL, "mul", 2, VALS(a, b), 1);
    infer_fails(g, "mul", "input 0 is f32 but input 1 is i64");
    tsl_graph_destroy(g);
}

static void test_err_squeeze_non_one(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_node *s = add(g, TSL_OP_SQUEEZE, "sq", 1, VALS(x), 1);
    set_ints(&s->attrs.axes.axes, 1, DIMS(-1));
    infer_fails(g, "sq", "cannot squeeze axis 1 of size 3");
    tsl_graph_destroy(g);
}

static void test_err_slice_zero_step(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 1, DIMS(8));
    struct tsl_value *z = const_i64(g, "z", 1, DIMS(0));
    add(g, TSL_OP_SLICE, "sl", 5, VALS(x, z, z, z, z), 1);
    infer_fails(g, "sl", "steps[0] is 0");
    tsl_graph_destroy(g);
}

/* Inference stops at the first bad node; earlier outputs are typed. */
static void test_err_later_node_keeps_earlier_types(void **state)
{
    (void)state;
    struct tsl_graph *g = new_graph();
    struct tsl_value *x = input(g, "x", TSL_DTYPE_F32, 2, DIMS(2, 3));
    struct tsl_node *r = add(g, TSL_OP_RELU, "r", 1, VALS(x), 1);
    struct tsl_node *f = add(g, TSL_OP_FLATTEN, "f", 1, VALS(r->outputs[0]), 1);
    f->attrs.axis.axis = 3;
    infer_fails(g, "f", "axis = 3 out of range [-3, 3) for rank 2");
    assert_int_equal(r->outputs[0]->type.dtype, TSL_DTYPE_F32);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_conv_weight_rank),
        cmocka_unit_test(test_err_conv_channels),
        cmocka_unit_test(test_err_conv_group_divides),
        cmocka_unit_test(test_err_conv_group_zero),
        cmocka_unit_test(test_err_negative_pads),
        cmocka_unit_test(test_err_zero_stride),
        cmocka_unit_test(test_err_kernel_too_large),
        cmocka_unit_test(test_err_axis_out_of_range_unnamed),
        cmocka_unit_test(test_err_perm),
        cmocka_unit_test(test_err_concat_dims),
        cmocka_unit_test(test_err_reshape_count),
        cmocka_unit_test(test_err_reshape_minus_one_indivisible),
        cmocka_unit_test(test_err_broadcast),
        cmocka_unit_test(test_err_split_sum),
        cmocka_unit_test(test_err_gather_index),
        cmocka_unit_test(test_err_rank_limit),
        cmocka_unit_test(test_err_matmul_inner),
        cmocka_unit_test(test_err_dtype_mismatch),
        cmocka_unit_test(test_err_squeeze_non_one),
        cmocka_unit_test(test_err_slice_zero_step),
        cmocka_unit_test(test_err_later_node_keeps_earlier_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
