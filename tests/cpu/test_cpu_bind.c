/* test_cpu_bind.c - value specialization (tsl_cpu_bind_values): which inputs
 * are frozen (those reaching a compile-time operand directly or through
 * arithmetic, not through Shape, not too large), that the specialized module
 * matches the reference on the bound values, and that a run with another
 * value of a frozen input is rejected.  Not here: shape binding alone
 * (test_cpu_model.c), the lowerings themselves (test_cpu_ops*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/passes.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})


static struct tsl_tensor tensor(enum tsl_dtype dt, int rank, const int64_t *dims, void *data)
{
    struct tsl_tensor t = {.dtype = dt, .data = data};
    t.shape.rank = rank;
    for (int d = 0; d < rank; d++)
        t.shape.dims[d] = dims[d];
    return t;
}

/* Bind g to `in`, compile with the frozen values, run, compare every f32
 * output with the reference; returns the module (caller destroys) and the
 * frozen flags. */
static struct tsl_cpu_module *bind_compile_check(const struct tsl_graph *g,
                                                 const struct tsl_tensor *in, bool *frozen)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *b = NULL;
    assert_int_equal(tsl_cpu_bind_values(g, in, g->n_inputs, &b, frozen, &d), TSL_STATUS_OK);
    struct tsl_pass_context pc; /* fold what the frozen values made constant */
    tsl_pass_context_init(&pc, &d);
    pc.eval_node = tsl_ref_eval_node;
    assert_int_equal(tsl_pass_run_pipeline(b, TSL_PIPELINE_CANONICALIZE, &pc), TSL_STATUS_OK);
    tsl_pass_context_fini(&pc);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.frozen = frozen;
    o.frozen_values = in;
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(b, &o, &m, &d), TSL_STATUS_OK);
    struct tsl_tensor *ro = NULL, *co = NULL;
    uint32_t nro = 0, nco = 0;
    struct tsl_ref_stats rs;
    assert_int_equal(tsl_ref_run(g, in, g->n_inputs, &ro, &nro, &rs, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_run(m, in, g->n_inputs, &co, &nco, &d), TSL_STATUS_OK);
    assert_int_equal(nro, nco);
    for (uint32_t i = 0; i < nco; i++) {
        int64_t n;
        assert_true(tsl_shape_equal(&ro[i].shape, &co[i].shape));
        assert_true(tsl_shape_numel(&co[i].shape, &n));
        assert_int_equal(ro[i].dtype, TSL_DTYPE_F32);
        assert_memory_equal(ro[i].data, co[i].data, (size_t)n * sizeof(float));
    }
    tsl_tensors_free(ro, nro);
    tsl_tensors_free(co, nco);
    tsl_graph_destroy(b);
    tsl_diag_fini(&d);
    return m;
}

/* Reshape(x, shape) and Tile(x, repeats + 1): both shape operands come from
 * inputs, the second through an Add; x stays a run-time input. */
static void test_freeze_shape_operands(void **state)
{
    (void)state;
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(3, 4));
    struct tsl_value *shape = h_typed_input(g, "shape", TSL_DTYPE_I64, 1, D(3));
    struct tsl_value *reps = h_typed_input(g, "reps", TSL_DTYPE_I64, 1, D(2));
    struct tsl_node *rs = h_node(g, TSL_OP_RESHAPE, "rs", 2, (struct tsl_value *[]){x, shape});
    struct tsl_value *one = h_i64(g, "one", 1, D(1));
    struct tsl_node *add = h_node(g, TSL_OP_ADD, "add", 2, (struct tsl_value *[]){reps, one});
    struct tsl_node *tile =
        h_node(g, TSL_OP_TILE, "tile", 2, (struct tsl_value *[]){x, add->outputs[0]});
    tsl_graph_add_output(g, rs->outputs[0]);
    tsl_graph_add_output(g, tile->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);

    float xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = (float)i * 0.5f - 2.0f;
    int64_t sv[3] = {2, -1, 3}, rv[2] = {1, 0};
    struct tsl_tensor in[3] = {tensor(TSL_DTYPE_F32, 2, D(3, 4), xv),
                               tensor(TSL_DTYPE_I64, 1, D(3), sv),
                               tensor(TSL_DTYPE_I64, 1, D(2), rv)};
    bool frozen[3];
    struct tsl_cpu_module *m = bind_compile_check(g, in, frozen);
    assert_false(frozen[0]);
    assert_true(frozen[1]);
    assert_true(frozen[2]);

    /* x may change; a frozen input may not */
    struct tsl_tensor *out = NULL;
    uint32_t n_out = 0;
    xv[0] = 7.0f;
    assert_int_equal(tsl_cpu_run(m, in, 3, &out, &n_out, &d), TSL_STATUS_OK);
    tsl_tensors_free(out, n_out);
    sv[0] = 3, sv[2] = 2;
    out = NULL;
    assert_int_equal(tsl_cpu_run(m, in, 3, &out, &n_out, &d), TSL_STATUS_INVALID_ARG);
    assert_null(out);
    assert_non_null(strstr(d.entries[d.n_entries - 1].message, "specialized"));
    tsl_cpu_module_destroy(m);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

/* An input read only through Shape is not frozen (its shape is bound
 * anyway); an input above TSL_CPU_BIND_MAX_ELEMS is not frozen either, and
 * the node that needs it stays UNSUPPORTED. */
static void test_not_frozen(void **state)
{
    (void)state;
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(4, 2));
    struct tsl_value *y = h_input(g, "y", 1, D(2));
    struct tsl_node *sh = h_node(g, TSL_OP_SHAPE, "sh", 1, &y);
    struct tsl_node *ex =
        h_node(g, TSL_OP_EXPAND, "ex", 2, (struct tsl_value *[]){x, sh->outputs[0]});
    tsl_graph_add_output(g, ex->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, yv[2] = {0, 0};
    struct tsl_tensor in[2] = {tensor(TSL_DTYPE_F32, 2, D(4, 2), xv),
                               tensor(TSL_DTYPE_F32, 1, D(2), yv)};
    struct tsl_graph *b = NULL;
    bool frozen[2];
    assert_int_equal(tsl_cpu_bind_values(g, in, 2, &b, frozen, &d), TSL_STATUS_OK);
    assert_false(frozen[0]);
    assert_false(frozen[1]);
    tsl_graph_destroy(b);
    tsl_graph_destroy(g);

    /* the shape is two elements gathered from a too large input */
    enum { BIG = TSL_CPU_BIND_MAX_ELEMS + 1 };
    g = h_graph();
    struct tsl_value *data = h_input(g, "data", 2, D(2, 4));
    struct tsl_value *shape = h_typed_input(g, "shape", TSL_DTYPE_I64, 1, D(BIG));
    struct tsl_value *idx = h_i64(g, "idx", 2, D(0, 1));
    struct tsl_node *ga = h_node(g, TSL_OP_GATHER, "ga", 2, (struct tsl_value *[]){shape, idx});
    struct tsl_node *e =
        h_node(g, TSL_OP_RESHAPE, "e", 2, (struct tsl_value *[]){data, ga->outputs[0]});
    tsl_graph_add_output(g, e->outputs[0]);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    float dv[8] = {0};
    int64_t big[BIG] = {4, 2};
    struct tsl_tensor in2[2] = {tensor(TSL_DTYPE_F32, 2, D(2, 4), dv),
                                tensor(TSL_DTYPE_I64, 1, D(BIG), big)};
    assert_int_equal(tsl_cpu_bind_values(g, in2, 2, &b, frozen, &d), TSL_STATUS_OK);
    assert_false(frozen[1]);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(b, NULL, &m, &d), TSL_STATUS_UNSUPPORTED);
    assert_null(m);
    tsl_graph_destroy(b);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

/* Slice with starts/ends/axes/steps from inputs, negative step. */
static void test_freeze_slice(void **state)
{
    (void)state;
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 2, D(5, 6));
    struct tsl_value *p[4];
    static const char *names[4] = {"starts", "ends", "axes", "steps"};
    for (int i = 0; i < 4; i++)
        p[i] = h_typed_input(g, names[i], TSL_DTYPE_I32, 1, D(2));
    struct tsl_node *s =
        h_node(g, TSL_OP_SLICE, "s", 5, (struct tsl_value *[]){x, p[0], p[1], p[2], p[3]});
    tsl_graph_add_output(g, s->outputs[0]);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    float xv[30];
    for (int i = 0; i < 30; i++)
        xv[i] = (float)i;
    int32_t st[2] = {4, 1}, en[2] = {0, 100}, ax[2] = {0, -1}, sp[2] = {-2, 2};
    struct tsl_tensor in[5] = {tensor(TSL_DTYPE_F32, 2, D(5, 6), xv),
                               tensor(TSL_DTYPE_I32, 1, D(2), st),
                               tensor(TSL_DTYPE_I32, 1, D(2), en),
                               tensor(TSL_DTYPE_I32, 1, D(2), ax),
                               tensor(TSL_DTYPE_I32, 1, D(2), sp)};
    bool frozen[5];
    struct tsl_cpu_module *m = bind_compile_check(g, in, frozen);
    for (int i = 1; i < 5; i++)
        assert_true(frozen[i]);
    tsl_cpu_module_destroy(m);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freeze_shape_operands),
        cmocka_unit_test(test_not_frozen),
        cmocka_unit_test(test_freeze_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
