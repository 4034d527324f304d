/* test_onnx_import.c - unit tests of the ONNX importer on the committed
 * fixtures: every initializer encoding, Constant nodes, inputs that are
 * initializers, symbolic dims, each legacy opset rewrite, Dropout, omitted
 * optional inputs, per-op attribute defaults, out-of-order node lists,
 * import_buffer without a folder, the depth option, tsl_onnx_read_tensor and
 * the op table's self-check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/onnx.h"

bool tsl_onnx_op_table_ok(void); /* frontend/onnx internal self-check */

static char *fixture_path(const char *name)
{
    const char *src = getenv("TESSEL_SOURCE_DIR");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/tests/onnx_import/fixtures/%s", src ? src : ".", name);
    return buf;
}

static struct tsl_graph *import(const char *name, bool no_infer)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_onnx_import_options opt = {0, 0, no_infer};
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_onnx_import_file(fixture_path(name), &opt, &g, &d);
    const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
    if (e)
        print_error("%s: %s: %s\n", name, e->where, e->message);
    assert_int_equal(st, TSL_STATUS_OK);
    assert_non_null(g);
    tsl_diag_fini(&d);
    return g;
}

static struct tsl_value *val(struct tsl_graph *g, const char *name)
{
    struct tsl_value *v = tsl_graph_find_value(g, name);
    if (!v)
        print_error("no value %s\n", name);
    assert_non_null(v);
    return v;
}

static struct tsl_node *node(struct tsl_graph *g, const char *name, enum tsl_op op)
{
    struct tsl_node *n = tsl_graph_find_node(g, name);
    if (!n)
        print_error("no node %s\n", name);
    assert_non_null(n);
    assert_string_equal(tsl_op_name(n->op), tsl_op_name(op));
    return n;
}

/* Element i of constant v as double / int64. */
static double cf(const struct tsl_value *v, int64_t i)
{
    assert_non_null(v);
    assert_non_null(v->constant);
    void *d;
    assert_int_equal(tsl_const_decode(v, &d, NULL), TSL_STATUS_OK);
    double x = tsl_dense_get_f64(v->type.dtype, d, i);
    free(d);
    return x;
}

static int64_t ci(const struct tsl_value *v, int64_t i)
{
    assert_non_null(v);
    assert_non_null(v->constant);
    void *d;
    assert_int_equal(tsl_const_decode(v, &d, NULL), TSL_STATUS_OK);
    int64_t x = tsl_dense_get_i64(v->type.dtype, d, i);
    free(d);
    return x;
}

static void check_const(struct tsl_graph *g, const char *name, enum tsl_dtype dt, int32_t rank,
                        int64_t dim0)
{
    struct tsl_value *v = val(g, name);
    assert_non_null(v->constant);
    assert_false(v->is_input);
    assert_int_equal(v->type.dtype, dt);
    assert_int_equal(v->type.shape.rank, rank);
    if (rank > 0)
        assert_int_equal(v->type.shape.dims[0], dim0);
}

static void test_op_table(void **state)
{
    (void)state;
    assert_true(tsl_onnx_op_table_ok());
}

static void test_initializer_encodings(void **state)
{
    (void)state;
    struct tsl_graph *g = import("inits.onnx", true);
    /* w_raw is listed as a graph input but is an initializer: a constant */
    assert_int_equal(g->n_inputs, 1);
    assert_string_equal(g->inputs[0]->name, "x");
    check_const(g, "w_raw", TSL_DTYPE_F32, 2, 2);
    for (int i = 0; i < 4; i++)
        assert_true(cf(val(g, "w_raw"), i) == i + 1);
    check_const(g, "w_float", TSL_DTYPE_F32, 1, 3);
    assert_true(cf(val(g, "w_float"), 1) == -1.5);
    check_const(g, "w_i8", TSL_DTYPE_I8, 1, 2);
    assert_int_equal(ci(val(g, "w_i8"), 0), -3);
    assert_int_equal(ci(val(g, "w_i8"), 1), 5);
    check_const(g, "w_u8", TSL_DTYPE_U8, 1, 2);
    assert_int_equal(ci(val(g, "w_u8"), 0), 200);
    check_const(g, "w_i16", TSL_DTYPE_I16, 1, 1);
    assert_int_equal(ci(val(g, "w_i16"), 0), -300);
    check_const(g, "w_u16", TSL_DTYPE_U16, 1, 1);
    assert_int_equal(ci(val(g, "w_u16"), 0), 60000);
    check_const(g, "w_f16", TSL_DTYPE_F16, 1, 1);
    assert_true(cf(val(g, "w_f16"), 0) == 1.0);
    check_const(g, "w_bf16", TSL_DTYPE_BF16, 1, 1);
    assert_true(cf(val(g, "w_bf16"), 0) == 1.0);
    check_const(g, "w_bool", TSL_DTYPE_BOOL, 1, 2);
    assert_int_equal(ci(val(g, "w_bool"), 0), 1);
    assert_int_equal(ci(val(g, "w_bool"), 1), 0);
    check_const(g, "w_i32", TSL_DTYPE_I32, 1, 2);
    assert_int_equal(ci(val(g, "w_i32"), 0), -7);
    check_const(g, "w_i64", TSL_DTYPE_I64, 1, 2);
    assert_int_equal(ci(val(g, "w_i64"), 0), -(INT64_C(1) << 40));
    check_const(g, "w_f64", TSL_DTYPE_F64, 1, 1);
    assert_true(cf(val(g, "w_f64"), 0) == 2.5);
    check_const(g, "w_u64", TSL_DTYPE_U64, 1, 1);
    uint64_t u64;
    memcpy(&u64, val(g, "w_u64")->constant->data, 8);
    assert_true(u64 == (UINT64_C(1) << 63));
    check_const(g, "w_u32", TSL_DTYPE_U32, 1, 1);
    assert_int_equal(ci(val(g, "w_u32"), 0), 4000000000LL);
    check_const(g, "w_scalar", TSL_DTYPE_F32, 0, 0);
    assert_true(cf(val(g, "w_scalar"), 0) == 42.0);
    struct tsl_node *add = node(g, "add", TSL_OP_ADD);
    assert_ptr_equal(add->inputs[1], val(g, "w_raw"));
    tsl_graph_destroy(g);
}

static void test_constants_and_symbols(void **state)
{
    (void)state;
    struct tsl_graph *g = import("constants.onnx", true);
    assert_int_equal(g->n_nodes, 1); /* Constant nodes became constants */
    check_const(g, "c_t", TSL_DTYPE_I64, 1, 2);
    assert_int_equal(ci(val(g, "c_t"), 1), 4);
    check_const(g, "c_f", TSL_DTYPE_F32, 0, 0);
    assert_true(cf(val(g, "c_f"), 0) == 1.5);
    check_const(g, "c_fs", TSL_DTYPE_F32, 1, 3);
    assert_true(cf(val(g, "c_fs"), 2) == 3.0);
    check_const(g, "c_i", TSL_DTYPE_I64, 0, 0);
    assert_int_equal(ci(val(g, "c_i"), 0), 7);
    check_const(g, "c_is", TSL_DTYPE_I64, 1, 2);
    assert_int_equal(ci(val(g, "c_is"), 1), 6);
    struct tsl_value *x = val(g, "x"), *z = val(g, "z");
    assert_int_equal(x->type.shape.rank, 3);
    assert_true(TSL_DIM_IS_SYM(x->type.shape.dims[0]));
    assert_string_equal(g->symbols[TSL_DIM_SYM_INDEX(x->type.shape.dims[0])], "N");
    assert_int_equal(x->type.shape.dims[1], 4);
    assert_true(TSL_DIM_IS_SYM(x->type.shape.dims[2])); /* no value, no param: fresh */
    assert_true(x->type.shape.dims[2] != x->type.shape.dims[0]);
    assert_true(z->type.shape.dims[0] == x->type.shape.dims[0]); /* same name, same symbol */
    assert_string_equal(g->symbols[TSL_DIM_SYM_INDEX(z->type.shape.dims[1])], "M");
    tsl_graph_destroy(g);
}

static void test_legacy_opset7(void **state)
{
    (void)state;
    struct tsl_graph *g = import("legacy7.onnx", true);
    assert_int_equal(g->source_opset, 7);
    struct tsl_node *n = node(g, "clip", TSL_OP_CLIP);
    assert_int_equal(n->n_inputs, 3);
    assert_true(cf(n->inputs[1], 0) == 0.0);
    assert_true(cf(n->inputs[2], 0) == 6.0);
    assert_int_equal(n->inputs[1]->type.shape.rank, 0);
    n = node(g, "pad", TSL_OP_PAD);
    assert_int_equal(n->n_inputs, 3);
    assert_int_equal(n->inputs[1]->type.dtype, TSL_DTYPE_I64);
    assert_int_equal(n->inputs[1]->type.shape.dims[0], 8);
    assert_int_equal(ci(n->inputs[1], 2), 1);
    assert_true(cf(n->inputs[2], 0) == 0.5);
    n = node(g, "slice", TSL_OP_SLICE);
    assert_int_equal(n->n_inputs, 4);
    assert_int_equal(ci(n->inputs[1], 0), 1);
    assert_int_equal(ci(n->inputs[2], 0), 5);
    assert_int_equal(ci(n->inputs[3], 0), 2);
    n = node(g, "up", TSL_OP_RESIZE);
    assert_int_equal(n->n_inputs, 3);
    assert_null(n->inputs[1]);
    assert_true(cf(n->inputs[2], 3) == 2.0);
    assert_int_equal(n->attrs.resize.mode, TSL_resize_mode_NEAREST);
    assert_int_equal(n->attrs.resize.coordinate_transformation_mode, TSL_coord_mode_ASYMMETRIC);
    n = node(g, "bn", TSL_OP_BATCH_NORM);
    assert_true(n->attrs.batchnorm.epsilon == 1e-3f);
    n = node(g, "drop", TSL_OP_IDENTITY);
    assert_int_equal(n->n_outputs, 1);
    assert_string_equal(n->outputs[0]->name, "drop");
    assert_null(tsl_graph_find_value(g, "mask"));
    /* Softmax-7 with axis 1 on a rank-4 input: Shape + Flatten + Softmax + Reshape */
    n = node(g, "sm", TSL_OP_RESHAPE);
    assert_string_equal(n->outputs[0]->name, "y");
    assert_int_equal(n->inputs[1]->producer->op, TSL_OP_SHAPE);
    struct tsl_node *norm = n->inputs[0]->producer;
    assert_int_equal(norm->op, TSL_OP_SOFTMAX);
    assert_int_equal(norm->attrs.axis.axis, 1);
    struct tsl_node *flat = norm->inputs[0]->producer;
    assert_int_equal(flat->op, TSL_OP_FLATTEN);
    assert_int_equal(flat->attrs.axis.axis, 1);
    n = node(g, "topk", TSL_OP_TOPK);
    assert_int_equal(n->n_inputs, 2);
    assert_int_equal(ci(n->inputs[1], 0), 2);
    assert_int_equal(n->attrs.topk.axis, 3);
    tsl_graph_destroy(g);
}

static void test_legacy_resize(void **state)
{
    (void)state;
    struct tsl_graph *g = import("legacy9.onnx", true);
    struct tsl_node *n = node(g, "up", TSL_OP_RESIZE);
    assert_ptr_equal(n->inputs[2], val(g, "sc"));
    assert_int_equal(n->attrs.resize.mode, TSL_resize_mode_LINEAR);
    tsl_graph_destroy(g);
    g = import("legacy10.onnx", true);
    n = node(g, "rs", TSL_OP_RESIZE);
    assert_null(n->inputs[1]);
    assert_ptr_equal(n->inputs[2], val(g, "sc"));
    assert_int_equal(n->attrs.resize.coordinate_transformation_mode, TSL_coord_mode_ASYMMETRIC);
    assert_int_equal(n->attrs.resize.nearest_mode, TSL_nearest_mode_FLOOR);
    tsl_graph_destroy(g);
}

static void test_opset13_inputs_to_attrs(void **state)
{
    (void)state;
    struct tsl_graph *g = import("opset13.onnx", true);
    struct tsl_node *n = node(g, "unsq", TSL_OP_UNSQUEEZE);
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(n->attrs.axes.axes.n, 1);
    assert_int_equal(n->attrs.axes.axes.v[0], 0);
    n = node(g, "sq", TSL_OP_SQUEEZE);
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(n->attrs.axes.axes.n, 1);
    n = node(g, "split", TSL_OP_SPLIT);
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(n->attrs.split.split.n, 2);
    assert_int_equal(n->attrs.split.split.v[1], 3);
    assert_int_equal(n->attrs.split.axis, 1);
    n = node(g, "rsum", TSL_OP_REDUCE_SUM);
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(n->attrs.reduce.axes.n, 1);
    assert_int_equal(n->attrs.reduce.keepdims, 0);
    n = node(g, "clip", TSL_OP_CLIP); /* omitted min: NULL input */
    assert_int_equal(n->n_inputs, 3);
    assert_null(n->inputs[1]);
    assert_ptr_equal(n->inputs[2], val(g, "mx"));
    n = node(g, "drop", TSL_OP_IDENTITY);
    assert_int_equal(n->n_inputs, 1);
    n = node(g, "sm", TSL_OP_SOFTMAX);
    assert_int_equal(n->attrs.axis.axis, -1);
    n = node(g, "cast", TSL_OP_CAST);
    assert_int_equal(n->attrs.cast.to, TSL_DTYPE_I64);
    n = node(g, "cos", TSL_OP_CONSTANT_OF_SHAPE);
    assert_int_equal(n->attrs.constant_of_shape.value.dtype, TSL_DTYPE_I32);
    assert_int_equal(n->attrs.constant_of_shape.value.i, 3);
    tsl_graph_destroy(g);
}

static void test_op_defaults(void **state)
{
    (void)state;
    struct tsl_graph *g = import("defaults.onnx", true);
    assert_true(node(g, "leaky", TSL_OP_LEAKY_RELU)->attrs.alpha_beta.alpha == 0.01f);
    assert_true(node(g, "elu", TSL_OP_ELU)->attrs.alpha_beta.alpha == 1.0f);
    struct tsl_node *n = node(g, "hsig", TSL_OP_HARD_SIGMOID);
    assert_true(n->attrs.alpha_beta.alpha == 0.2f && n->attrs.alpha_beta.beta == 0.5f);
    n = node(g, "selu", TSL_OP_SELU);
    assert_true(n->attrs.alpha_beta.alpha == 1.67326319f);
    assert_true(n->attrs.alpha_beta.beta == 2.0f); /* gamma -> beta */
    assert_int_equal(node(g, "flat", TSL_OP_FLATTEN)->attrs.axis.axis, 1);
    assert_int_equal(node(g, "gather", TSL_OP_GATHER)->attrs.axis.axis, 0);
    assert_int_equal(node(g, "concat", TSL_OP_CONCAT)->attrs.axis.axis, 1);
    assert_int_equal(node(g, "sm", TSL_OP_SOFTMAX)->attrs.axis.axis, 1); /* opset 11 */
    assert_int_equal(node(g, "dq", TSL_OP_DEQUANTIZE_LINEAR)->attrs.axis.axis, 1);
    tsl_graph_destroy(g);
}

static void test_topological_order(void **state)
{
    (void)state;
    struct tsl_graph *g = import("order.onnx", false); /* with inference + verify */
    assert_string_equal(g->first->name, "first");
    assert_string_equal(g->first->next->name, "second");
    assert_string_equal(g->last->name, "third");
    assert_int_equal(g->n_outputs, 1);
    assert_string_equal(g->outputs[0]->name, "y");
    tsl_graph_destroy(g);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_buffer_and_options(void **state)
{
    (void)state;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/onnx_bad/ext_past_end.onnx", src ? src : ".");
    size_t len;
    void *buf = slurp(path, &len);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g = NULL;
    assert_int_equal(tsl_onnx_import_buffer(buf, len, NULL, "mem.onnx", NULL, &g, &d),
                     TSL_STATUS_UNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(tsl_diag_first_error(&d)->message, "needs a model folder"));
    free(buf);
    tsl_diag_clear(&d);
    /* a tiny depth limit rejects a normal model */
    buf = slurp(fixture_path("constants.onnx"), &len);
    struct tsl_onnx_import_options opt = {3, 0, 1};
    assert_int_equal(tsl_onnx_import_buffer(buf, len, NULL, "c.onnx", &opt, &g, &d),
                     TSL_STATUS_LIMIT);
    tsl_diag_clear(&d);
    /* a tiny tensor budget rejects the Constant tensor */
    struct tsl_onnx_import_options small = {0, 8, 1};
    assert_int_equal(tsl_onnx_import_buffer(buf, len, NULL, "c.onnx", &small, &g, &d),
                     TSL_STATUS_LIMIT);
    free(buf);
    tsl_diag_fini(&d);
}

static void test_read_tensor(void **state)
{
    (void)state;
    size_t len;
    void *buf = slurp(fixture_path("tensor_i64.pb"), &len);
    enum tsl_dtype dt;
    struct tsl_shape shape;
    void *data;
    char *name;
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_onnx_read_tensor(buf, len, "t.pb", &dt, &shape, &data, &name, &d),
                     TSL_STATUS_OK);
    assert_int_equal(dt, TSL_DTYPE_I64);
    assert_int_equal(shape.rank, 2);
    assert_int_equal(shape.dims[1], 2);
    assert_int_equal(((int64_t *)data)[3], -4);
    assert_string_equal(name, "t");
    free(data);
    free(name);
    /* truncated: rejected */
    assert_int_not_equal(tsl_onnx_read_tensor(buf, len - 5, "t.pb", &dt, &shape, &data, NULL, &d),
                         TSL_STATUS_OK);
    assert_non_null(tsl_diag_first_error(&d));
    free(buf);
    tsl_diag_fini(&d);
}

/* Inputs that once crashed the fuzzer (tests/fuzz/onnx_crashes): each must
 * now be rejected cleanly with a diagnostic (sanitizers catch the rest). */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    static const char *const files[] = {"oom-tensor-claims-4gib.pb",
                                        "ubsan-clip-min-huge-int.onnx"};
    const char *src = getenv("TESSEL_SOURCE_DIR");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/fuzz/onnx_crashes/%s", src ? src : ".", files[i]);
        size_t len;
        void *buf = slurp(path, &len);
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_graph *g = NULL;
        struct tsl_onnx_import_options opt = {0, (int64_t)64 << 20, 0};
        assert_int_not_equal(tsl_onnx_import_buffer(buf, len, NULL, files[i], &opt, &g, &d),
                             TSL_STATUS_OK);
        assert_null(g);
        assert_non_null(tsl_diag_first_error(&d));
        enum tsl_dtype dt;
        struct tsl_shape shape;
        void *data = NULL;
        if (tsl_onnx_read_tensor(buf, len, files[i], &dt, &shape, &data, NULL, &d) ==
            TSL_STATUS_OK)
            free(data);
        free(buf);
        tsl_diag_fini(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_table),
        cmocka_unit_test(test_initializer_encodings),
        cmocka_unit_test(test_constants_and_symbols),
        cmocka_unit_test(test_legacy_opset7),
        cmocka_unit_test(test_legacy_resize),
        cmocka_unit_test(test_opset13_inputs_to_attrs),
        cmocka_unit_test(test_op_defaults),
        cmocka_unit_test(test_topological_order),
        cmocka_unit_test(test_buffer_and_options),
        cmocka_unit_test(test_read_tensor),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
