/* opq_graph.h - graph building for the OPQ tests (tests/opq only): add a
 * single-output node and return its output, failing the cmocka test when
 * the IR rejects it.  Include after <cmocka.h> and tessel/ir.h.  No
 * assertions on the pass itself here. */
#ifndef TESSEL_TEST_OPQ_GRAPH_H
#define TESSEL_TEST_OPQ_GRAPH_H

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
