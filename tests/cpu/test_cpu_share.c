/* test_cpu_share.c - steps whose IR is the same apart from where their
 * values live share one step function (backends/cpu/reloc.c), and each
 * still reads its own weights and activations.  A chain of five 3x3
 * convolutions of the same shape with different random weights (and an Add
 * and Exp between the last two) must match the reference, and the middle
 * convolutions, which read and write the arena, must share one function;
 * the first (reads the graph input) and the last (writes the graph output)
 * cannot.  The same with every loop split over 2 threads (the parallel
 * task functions are compared and shared too), and graphs where no two
 * steps are alike keep one function per step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static struct tsl_graph *chain(struct rng *r)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 16, 12, 12));
    struct tsl_value *c = h_conv(g, r, "c0", x, 16, 16, 3, 1, 1, true);
    struct tsl_value *c1 = h_conv(g, r, "c1", c, 16, 16, 3, 1, 1, true);
    struct tsl_value *c2 = h_conv(g, r, "c2", c1, 16, 16, 3, 1, 1, true);
    struct tsl_value *c3 = h_conv(g, r, "c3", c2, 16, 16, 3, 1, 1, true);
    struct tsl_value *s = h_node(g, TSL_OP_ADD, NULL, 2, (struct tsl_value *[]){c3, c1})->outputs[0];
    struct tsl_value *e = h_node(g, TSL_OP_EXP, NULL, 1, &s)->outputs[0];
    struct tsl_value *c4 = h_conv(g, r, "c4", e, 16, 16, 3, 1, 1, false);
    tsl_graph_add_output(g, c4);
    return g;
}

static void test_chain_shares(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        struct rng r = {0x5A4E + (uint64_t)threads};
        struct tsl_cpu_options o;
        tsl_cpu_options_default(&o);
        o.threads = threads;
        o.min_parallel_ns = -1.0; /* split every loop that can be split */
        struct tsl_cpu_module_info info;
        h_check(chain(&r), &r, -1.0f, 1.0f, NULL); /* default options */
        h_check_opts(chain(&r), &r, -1.0f, 1.0f, &o, &info);
        /* steps c0 (reads the graph input), c1, c2, c3, Add (after c3's Relu,
         * so not a residual of c3), Exp, c4 (writes the graph output): c1, c2
         * and c3 share one function */
        assert_int_equal(info.n_kernels, 7);
        assert_int_equal(info.n_step_functions, 5);
        if (threads > 1)
            assert_true(info.n_parallel > 0);
    }
}

/* No two steps alike: one function each. */
static void test_distinct_steps(void **state)
{
    (void)state;
    struct rng r = {0xD157};
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 8, 10, 10));
    struct tsl_value *a = h_conv(g, &r, "a", x, 8, 16, 3, 1, 1, true);
    struct tsl_value *b = h_conv(g, &r, "b", a, 16, 8, 1, 1, 1, false);
    tsl_graph_add_output(g, b);
    struct tsl_cpu_module_info info;
    h_check(g, &r, -1.0f, 1.0f, &info);
    assert_int_equal(info.n_kernels, 2);
    assert_int_equal(info.n_step_functions, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_shares),
        cmocka_unit_test(test_distinct_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
