/* test_graph.c - unit tests of the graph builder and rewrite API: use lists,
 * replace-all-uses, erase, insertion order, topological sort, clone, names,
 * attribute tables and constant decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/ir.h"

static struct tsl_graph *make_chain(struct tsl_value **x_out, struct tsl_node **relu_out,
                                    struct tsl_node **sig_out)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){1, 4});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &t, &x), TSL_STATUS_OK);
    struct tsl_node *r, *s;
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, "relu", 1, &x, 1, &r, NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_SIGMOID, "sig", 1, &r->outputs[0], 1, &s,
                                        (const char *[]){"y"}),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(g, s->outputs[0]), TSL_STATUS_OK);
    *x_out = x;
    *relu_out = r;
    *sig_out = s;
    return g;
}

static void test_graph_use_lists(void **state)
{
    (void)state;
    struct tsl_value *x;
    struct tsl_node *r, *s;
    struct tsl_graph *g = make_chain(&x, &r, &s);
    assert_int_equal(x->n_uses, 1);
    assert_ptr_equal(x->uses[0].node, r);
    assert_ptr_equal(s->outputs[0], tsl_graph_find_value(g, "y"));
    assert_ptr_equal(tsl_graph_find_node(g, "relu"), r);
    assert_string_equal(r->outputs[0]->name, "relu_out0");
    /* bypass relu: sig reads x directly */
    tsl_value_replace_all_uses(r->outputs[0], x);
    assert_int_equal(x->n_uses, 2); /* relu (now dead) and sig */
    assert_int_equal(r->outputs[0]->n_uses, 0);
    assert_int_equal(tsl_graph_erase_node(g, r), TSL_STATUS_OK);
    assert_int_equal(x->n_uses, 1);
    assert_ptr_equal(x->uses[0].node, s);
    assert_int_equal(g->n_nodes, 1);
    assert_null(tsl_graph_find_value(g, "relu_out0"));
    tsl_graph_destroy(g);
}

static void test_graph_erase_refuses_live_node(void **state)
{
    (void)state;
    struct tsl_value *x;
    struct tsl_node *r, *s;
    struct tsl_graph *g = make_chain(&x, &r, &s);
    assert_int_equal(tsl_graph_erase_node(g, r), TSL_STATUS_INVALID_ARG);
    assert_int_equal(tsl_graph_erase_node(g, s), TSL_STATUS_INVALID_ARG); /* graph output */
    tsl_graph_destroy(g);
}

static void test_graph_rejects_bad_arity_and_duplicates(void **state)
{
    (void)state;
    struct tsl_value *x;
    struct tsl_node *r, *s, *n;
    struct tsl_graph *g = make_chain(&x, &r, &s);
    struct tsl_value *ins[2] = {x, x};
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, "r2", 2, ins, 1, &n, NULL),
                     TSL_STATUS_INVALID_ARG);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_ADD, "relu", 2, ins, 1, &n, NULL),
                     TSL_STATUS_INVALID_ARG);
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_ADD, "add", 2, ins, 1, &n,
                                        (const char *[]){"y"}),
                     TSL_STATUS_INVALID_ARG);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){4});
    assert_int_equal(tsl_graph_add_input(g, "x", &t, NULL), TSL_STATUS_INVALID_ARG);
    assert_int_equal(g->n_nodes, 2);
    tsl_graph_destroy(g);
}

static void test_graph_insert_and_sort(void **state)
{
    (void)state;
    struct tsl_value *x;
    struct tsl_node *r, *s, *n;
    struct tsl_graph *g = make_chain(&x, &r, &s);
    /* insert a Neg between relu and sig */
    assert_int_equal(tsl_graph_insert_node_after(g, r, TSL_OP_NEG, "neg", 1, &r->outputs[0], 1,
                                                 &n, NULL),
                     TSL_STATUS_OK);
    tsl_node_set_input(s, 0, n->outputs[0]);
    assert_ptr_equal(r->next, n);
    assert_ptr_equal(n->next, s);
    /* inserting a user of sig's output before relu must fail */
    struct tsl_node *bad;
    assert_int_equal(tsl_graph_insert_node_before(g, r, TSL_OP_EXP, "e", 1, &s->outputs[0], 1,
                                                  &bad, NULL),
                     TSL_STATUS_INVALID_ARG);
    assert_int_equal(tsl_graph_sort(g, NULL), TSL_STATUS_OK);
    assert_ptr_equal(g->first, r);
    assert_ptr_equal(g->last, s);
    /* make a cycle by hand: relu reads sig's output */
    tsl_node_set_input(r, 0, s->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_graph_sort(g, &d), TSL_STATUS_VERIFY);
    assert_non_null(strstr(tsl_diag_first_error(&d)->message, "cycle"));
    tsl_diag_fini(&d);
    tsl_node_set_input(r, 0, x);
    tsl_graph_destroy(g);
}

static void test_graph_clone_is_deep(void **state)
{
    (void)state;
    struct tsl_value *x;
    struct tsl_node *r, *s;
    struct tsl_graph *g = make_chain(&x, &r, &s);
    float w[4] = {1, 2, 3, 4};
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){1, 4});
    struct tsl_value *k;
    assert_int_equal(tsl_graph_add_dense_constant(g, "w", &t, w, &k), TSL_STATUS_OK);
    struct tsl_graph *c;
    assert_int_equal(tsl_graph_clone(g, &c), TSL_STATUS_OK);
    assert_int_equal(c->n_nodes, 2);
    assert_int_equal(c->n_values, g->n_values);
    struct tsl_value *ck = tsl_graph_find_value(c, "w");
    assert_non_null(ck);
    assert_ptr_not_equal(ck->constant->data, k->constant->data);
    assert_memory_equal(ck->constant->data, w, sizeof w);
    tsl_graph_destroy(g);
    assert_string_equal(c->outputs[0]->name, "y");
    tsl_graph_destroy(c);
}

static void test_attr_tables(void **state)
{
    (void)state;
    const struct tsl_op_info *info = tsl_op_info(TSL_OP_CONV);
    assert_string_equal(info->name, "Conv");
    assert_int_equal(info->attr_kind, TSL_ATTRKIND_conv);
    size_t n;
    const struct tsl_attr_field *f = tsl_attr_fields(TSL_ATTRKIND_conv, &n);
    assert_int_equal(n, 6);
    assert_string_equal(f[0].name, "auto_pad");
    int64_t v;
    assert_true(tsl_attr_enum_parse(&f[0], "SAME_LOWER", &v));
    assert_int_equal(v, TSL_auto_pad_SAME_LOWER);
    assert_false(tsl_attr_enum_parse(&f[0], "same_lower", &v));
    union tsl_attrs a;
    tsl_attrs_set_defaults(TSL_ATTRKIND_conv, &a);
    assert_int_equal(a.conv.group, 1);
    assert_int_equal(a.conv.kernel_shape.n, 0);
    tsl_attrs_set_defaults(TSL_ATTRKIND_gemm, &a);
    assert_true(a.gemm.alpha == 1.0f);
    enum tsl_op op;
    assert_true(tsl_op_from_name("BatchNormalization", &op));
    assert_int_equal(op, TSL_OP_BATCH_NORM);
    assert_false(tsl_op_from_name("Loop", &op));
    /* every op names a valid attribute kind and sane arity */
    for (int i = 0; i < TSL_OP_COUNT; i++) {
        const struct tsl_op_info *oi = tsl_op_info((enum tsl_op)i);
        assert_true(oi->min_inputs <= oi->max_inputs);
        assert_true(oi->min_outputs <= oi->max_outputs && oi->min_outputs >= 1);
        assert_true(oi->attr_kind < TSL_ATTRKIND_COUNT);
    }
}

static void test_const_decode_encodings(void **state)
{
    (void)state;
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("c", &g), TSL_STATUS_OK);
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){2, 3});
    /* codebook: 2 channels on axis 0, codes {-1, 0.5}, 1-bit indices */
    struct tsl_const *c = tsl_const_new();
    c->encoding = TSL_ENC_CODEBOOK;
    c->n_codes = 2;
    c->codebook = malloc(2 * sizeof(float));
    c->codebook[0] = -1.0f;
    c->codebook[1] = 0.5f;
    c->index_bits = 1;
    c->indices_bytes = 1;
    c->indices = malloc(1);
    c->indices[0] = 0x2d; /* 1,0,1,1,0,1 */
    c->axis = 0;
    c->n_channels = 2;
    c->channel_scale = malloc(2 * sizeof(float));
    c->channel_scale[0] = 2.0f;
    c->channel_scale[1] = 4.0f;
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_constant_take(g, "w", &t, c, &v), TSL_STATUS_OK);
    float *d;
    assert_int_equal(tsl_const_decode(v, (void **)&d, NULL), TSL_STATUS_OK);
    float want[6] = {1.0f, -2.0f, 1.0f, 2.0f, -4.0f, 2.0f};
    assert_memory_equal(d, want, sizeof want);
    free(d);
    assert_int_equal(tsl_const_stored_bits(v), 8 + 2 * 32 + 2 * 32);

    /* sparse: values at positions 1 and 5 (gaps 1, 3) */
    struct tsl_const *s = tsl_const_new();
    s->encoding = TSL_ENC_SPARSE;
    s->nnz = 2;
    s->data = malloc(2 * sizeof(float));
    ((float *)s->data)[0] = 7.0f;
    ((float *)s->data)[1] = 9.0f;
    s->data_bytes = 8;
    s->gaps = malloc(2);
    s->gaps[0] = 1;
    s->gaps[1] = 3;
    assert_int_equal(tsl_graph_add_constant_take(g, "s", &t, s, &v), TSL_STATUS_OK);
    assert_int_equal(tsl_const_decode(v, (void **)&d, NULL), TSL_STATUS_OK);
    float want_s[6] = {0, 7, 0, 0, 0, 9};
    assert_memory_equal(d, want_s, sizeof want_s);
    free(d);
    /* corrupt it: a gap that runs past the end is an error, not a crash */
    s->gaps[1] = 200;
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    assert_int_equal(tsl_const_decode(v, (void **)&d, &diag), TSL_STATUS_PARSE);
    assert_string_equal(tsl_diag_first_error(&diag)->where, "s");
    tsl_diag_fini(&diag);

    /* packed i4: -1, 7 */
    struct tsl_type t4 = tsl_type_make(TSL_DTYPE_I4, 1, (int64_t[]){2});
    uint8_t packed = 0x7f;
    assert_int_equal(tsl_graph_add_dense_constant(g, "q", &t4, &packed, &v), TSL_STATUS_OK);
    assert_int_equal(tsl_dense_get_i64(TSL_DTYPE_I4, v->constant->data, 0), -1);
    assert_int_equal(tsl_dense_get_i64(TSL_DTYPE_I4, v->constant->data, 1), 7);
    tsl_graph_destroy(g);
}

static void test_dense_f16_roundtrip(void **state)
{
    (void)state;
    uint16_t h[1];
    double xs[] = {0.0, 1.0, -2.5, 65504.0, 0x1p-14, 0x1p-24, 0x1.ff8p-15};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        tsl_dense_set_f64(TSL_DTYPE_F16, h, 0, xs[i]);
        assert_true(tsl_dense_get_f64(TSL_DTYPE_F16, h, 0) == xs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_use_lists),
        cmocka_unit_test(test_graph_erase_refuses_live_node),
        cmocka_unit_test(test_graph_rejects_bad_arity_and_duplicates),
        cmocka_unit_test(test_graph_insert_and_sort),
        cmocka_unit_test(test_graph_clone_is_deep),
        cmocka_unit_test(test_attr_tables),
        cmocka_unit_test(test_const_decode_encodings),
        cmocka_unit_test(test_dense_f16_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
