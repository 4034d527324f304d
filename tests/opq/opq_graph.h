/* opq_graph.h - graph building for the OPQ tests (tests/opq only): a graph
 * with its input, and a single-output node returning its output, failing the cmocka test when
 * the IR rejects it.  Include after <cmocka.h> and tessel/ir.h.  No
 * assertions on the pass itself here. */
#ifndef TESSEL_TEST_OPQ_GRAPH_H
#define TESSEL_TEST_OPQ_GRAPH_H

/* A graph `name` with one f32 input "x" of the given dims (*x). */
static inline struct tsl_graph *new_graph(const char *name, int rank, const int64_t *dims,
                                          struct tsl_value **x)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create(name, &g), TSL_STATUS_OK);
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    assert_int_equal(tsl_graph_add_input(g, "x", &tx, x), TSL_STATUS_OK);
    return g;
}

/* Node op(ins) named name with one output; *out (if not NULL) gets the node. */
static inline struct tsl_value *add_node(struct tsl_graph *g, enum tsl_op op, const char *name,
                                         uint32_t n_in, struct tsl_value **ins,
                                         struct tsl_node **out)
{
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, name, n_in, ins, 1, &n, NULL), TSL_STATUS_OK);
    if (out)
        *out = n;
    return n->outputs[0];
}

#endif
