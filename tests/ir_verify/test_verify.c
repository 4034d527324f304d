/* test_verify.c - the verifier on hand-corrupted graphs: every corruption
 * (broken use list, duplicate name, cycle, bad attribute, short constant
 * payload, missing required input, arity, quant info, foreign output, bad
 * rank / dtype / symbol) must be reported, and all problems at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/ir.h"
#include "tessel/util.h"
#include "tessel/verify.h"

struct chain {
    struct tsl_graph *g;
    struct tsl_value *x, *w;
    struct tsl_node *conv, *relu, *sig;
};

/* x -> Conv(w) -> Relu -> Sigmoid -> output */
static struct chain make_chain(void)
{
    struct chain c;
    assert_int_equal(tsl_graph_create("t", &c.g), TSL_STATUS_OK);
    struct tsl_type xt = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){1, 2, 4, 4});
    assert_int_equal(tsl_graph_add_input(c.g, "x", &xt, &c.x), TSL_STATUS_OK);
    struct tsl_type wt = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){2, 2, 1, 1});
    float wv[4] = {1, 0, 0, 1};
    assert_int_equal(tsl_graph_add_dense_constant(c.g, "w", &wt, wv, &c.w), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(c.g, TSL_OP_CONV, "conv", 2,
                                        (struct tsl_value *[]){c.x, c.w}, 1, &c.conv, NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(c.g, TSL_OP_RELU, "relu", 1, &c.conv->outputs[0], 1,
                                        &c.relu, NULL),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_node(c.g, TSL_OP_SIGMOID, "sig", 1, &c.relu->outputs[0], 1,
                                        &c.sig, (const char *[]){"y"}),
                     TSL_STATUS_OK);
    assert_int_equal(tsl_graph_add_output(c.g, c.sig->outputs[0]), TSL_STATUS_OK);
    return c;
}

/* Run the verifier; it must fail and some error must contain each needle
 * (NULL-terminated list).  Returns the number of errors. */
static size_t expect_errors(const struct tsl_graph *g, const char *const *needles)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_verify(g, &d), TSL_STATUS_VERIFY);
    for (const char *const *nd = needles; *nd; nd++) {
        bool found = false;
        for (size_t i = 0; i < d.n_entries && !found; i++) {
            char line[800];
            snprintf(line, sizeof line, "%s: %s", d.entries[i].where, d.entries[i].message);
            found = strstr(line, *nd) != NULL;
        }
        if (!found) {
            print_error("no error containing '%s'; got:\n", *nd);
            for (size_t i = 0; i < d.n_entries; i++)
                print_error("  %s: %s\n", d.entries[i].where, d.entries[i].message);
        }
        assert_true(found);
    }
    size_t n = d.n_errors;
    tsl_diag_fini(&d);
    return n;
}

static void test_verify_accepts_valid_graph(void **state)
{
    (void)state;
    struct chain c = make_chain();
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_verify(c.g, &d), TSL_STATUS_OK);
    assert_int_equal(d.n_errors, 0);
    tsl_diag_fini(&d);
    tsl_graph_destroy(c.g);
}

static void test_verify_broken_use_index(void **state)
{
    (void)state;
    struct chain c = make_chain();
    struct tsl_value *v = c.conv->outputs[0];
    v->uses[0].index = 5;
    expect_errors(c.g, (const char *[]){"conv_out0: use #0 does not match",
                                        "relu: input 0 ('conv_out0') has no matching entry",
                                        NULL});
    v->uses[0].index = 0;
    tsl_graph_destroy(c.g);
}

static void test_verify_missing_use(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.x->n_uses = 0;
    expect_errors(c.g, (const char *[]){"conv: input 0 ('x') has no matching entry",
                                        "use lists hold 3 entries but nodes have 4", NULL});
    c.x->n_uses = 1;
    tsl_graph_destroy(c.g);
}

static void test_verify_duplicate_value_name(void **state)
{
    (void)state;
    struct chain c = make_chain();
    struct tsl_value *v = c.relu->outputs[0];
    char *saved = v->name;
    v->name = tsl_strdup("x");
    expect_errors(c.g, (const char *[]){"x: duplicate value name", NULL});
    free(v->name);
    v->name = saved;
    tsl_graph_destroy(c.g);
}

static void test_verify_cycle(void **state)
{
    (void)state;
    struct chain c = make_chain();
    /* relu now reads sig's output, which depends on relu */
    tsl_node_set_input(c.relu, 0, c.sig->outputs[0]);
    expect_errors(c.g, (const char *[]){"relu: input 0 ('y') is used before it is defined",
                                        "graph has a cycle", NULL});
    tsl_graph_destroy(c.g);
}

static void test_verify_bad_attributes(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.conv->attrs.conv.group = 0;
    c.conv->attrs.conv.strides.n = 2;
    c.conv->attrs.conv.strides.v[0] = 1;
    c.conv->attrs.conv.strides.v[1] = 0;
    c.conv->attrs.conv.pads.n = 3;
    expect_errors(c.g, (const char *[]){"conv: attribute group must be >= 1, got 0",
                                        "conv: attribute strides[1] = 0 must be >= 1",
                                        "conv: attribute pads has 3 entries, expected 4", NULL});
    tsl_graph_destroy(c.g);
}

static void test_verify_bad_enum(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.conv->attrs.conv.auto_pad = (enum tsl_auto_pad)9;
    expect_errors(c.g, (const char *[]){"conv: attribute auto_pad has invalid value 9", NULL});
    tsl_graph_destroy(c.g);
}

static void test_verify_short_constant(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.w->constant->data_bytes -= 4;
    expect_errors(c.g, (const char *[]){"w: constant payload does not decode", NULL});
    tsl_graph_destroy(c.g);
}

static void test_verify_missing_required_input(void **state)
{
    (void)state;
    struct chain c = make_chain();
    tsl_node_set_input(c.sig, 0, NULL);
    expect_errors(c.g, (const char *[]){"sig: required input 0 is missing", NULL});
    tsl_graph_destroy(c.g);
}

static void test_verify_arity(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.conv->n_inputs = 1; /* Conv needs 2..3 */
    expect_errors(c.g, (const char *[]){"conv: Conv takes 2..3 inputs, node has 1",
                                        "w: use #0 does not match", NULL});
    c.conv->n_inputs = 2;
    tsl_graph_destroy(c.g);
}

static void test_verify_quant(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.w->quant.kind = TSL_QUANT_AFFINE;
    c.w->quant.axis = 0;
    c.w->quant.n = 3;
    expect_errors(c.g, (const char *[]){"w: quantization has 3 channels but axis 0 has size 2",
                                        "w: affine quantization without scales", NULL});
    c.w->quant.kind = TSL_QUANT_NONE;
    tsl_graph_destroy(c.g);
}

static void test_verify_foreign_output(void **state)
{
    (void)state;
    struct chain c = make_chain(), other = make_chain();
    struct tsl_value *saved = c.g->outputs[0];
    c.g->outputs[0] = other.x;
    expect_errors(c.g, (const char *[]){"graph output #0 is not a value of this graph",
                                        "y: output reference count is 1 but the value is listed 0",
                                        NULL});
    c.g->outputs[0] = saved;
    tsl_graph_destroy(c.g);
    tsl_graph_destroy(other.g);
}

static void test_verify_types(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.relu->outputs[0]->type.shape.rank = 9;
    c.sig->outputs[0]->type.dtype = (enum tsl_dtype)77;
    c.x->type.shape.dims[0] = TSL_DIM_SYM(5);
    size_t n = expect_errors(c.g, (const char *[]){"relu_out0: rank 9 outside [-1, 8]",
                                                   "y: invalid element type 77",
                                                   "x: dim 0 refers to symbol #5", NULL});
    assert_true(n >= 3); /* all problems reported, not just the first */
    tsl_graph_destroy(c.g);
}

static void test_verify_producer_link(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.relu->outputs[0]->producer_output = 3;
    expect_errors(c.g, (const char *[]){"relu_out0: producer link is inconsistent",
                                        "relu: output 0 ('relu_out0') does not name this node",
                                        NULL});
    c.relu->outputs[0]->producer_output = 0;
    tsl_graph_destroy(c.g);
}

static void test_verify_node_list_count(void **state)
{
    (void)state;
    struct chain c = make_chain();
    c.g->n_nodes = 5;
    expect_errors(c.g, (const char *[]){"node list has 3 nodes but n_nodes = 5", NULL});
    c.g->n_nodes = 3;
    tsl_graph_destroy(c.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_accepts_valid_graph),
        cmocka_unit_test(test_verify_broken_use_index),
        cmocka_unit_test(test_verify_missing_use),
        cmocka_unit_test(test_verify_duplicate_value_name),
        cmocka_unit_test(test_verify_cycle),
        cmocka_unit_test(test_verify_bad_attributes),
        cmocka_unit_test(test_verify_bad_enum),
        cmocka_unit_test(test_verify_short_constant),
        cmocka_unit_test(test_verify_missing_required_input),
        cmocka_unit_test(test_verify_arity),
        cmocka_unit_test(test_verify_quant),
        cmocka_unit_test(test_verify_foreign_output),
        cmocka_unit_test(test_verify_types),
        cmocka_unit_test(test_verify_producer_link),
        cmocka_unit_test(test_verify_node_list_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
