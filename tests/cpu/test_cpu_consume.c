/* test_cpu_consume.c - the memory-saving entry points of the CPU backend:
 * tsl_cpu_compile_consume releases every graph constant's payload once the
 * last step reading it is generated (a constant read by two steps survives
 * the first, a constant that is a graph output is kept), and its module
 * computes the same bits as tsl_cpu_compile's, through the JIT and through
 * the shared library (the weights live in the module, not in the graph or
 * the LLVM module); tsl_cpu_bind_shapes_in_place binds symbolic dims without
 * a copy and rejects bad shapes leaving the graph unchanged.
 *
 * Not here: numerical checks against the reference (test_cpu_model.c and
 * the op tests). */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

typedef void (*run_fn)(const void *, void *, void *const *, void *const *, void *);

/* x + s -> conv(3x3)+relu -> * s -> conv with the first conv's weights
 * and bias: the constant s and the conv weights (decoded and packed by
 * each Conv step) are read by two steps each; a constant is itself the
 * second graph output. */
static struct tsl_graph *shared_const_graph(struct rng *r)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_input(g, "x", 4, D(1, 4, 8, 8));
    struct tsl_value *s = h_const(g, r, "shared", 4, D(1, 4, 8, 8), -1.0f, 1.0f);
    struct tsl_value *a =
        h_node(g, TSL_OP_ADD, "pre", 2, (struct tsl_value *[]){x, s})->outputs[0];
    struct tsl_value *y = h_conv(g, r, "conv", a, 4, 4, 3, 1, 1, true);
    struct tsl_value *b =
        h_node(g, TSL_OP_MUL, "post", 2, (struct tsl_value *[]){y, s})->outputs[0];
    const struct tsl_node *c1 = y->producer->inputs[0]->producer; /* Relu <- Conv */
    struct tsl_node *c2 = h_node(g, TSL_OP_CONV, "conv2", 3,
                                 (struct tsl_value *[]){b, c1->inputs[1], c1->inputs[2]});
    c2->attrs.conv = c1->attrs.conv;
    tsl_graph_add_output(g, c2->outputs[0]);
    tsl_graph_add_output(g, h_const(g, r, "kept", 1, D(3), -1.0f, 1.0f));
    return g;
}

static struct tsl_tensor *run_module(struct tsl_cpu_module *m, const struct tsl_tensor *in,
                                     struct tsl_diag *d)
{
    struct tsl_tensor *outs = NULL;
    uint32_t n = 0;
    assert_int_equal(tsl_cpu_run(m, in, 1, &outs, &n, d), TSL_STATUS_OK);
    assert_int_equal(n, 2);
    return outs;
}

static void test_consume_releases_and_matches(void **state)
{
    (void)state;
    struct rng r = {0x5EED};
    struct tsl_graph *g = shared_const_graph(&r);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_graph *gc = NULL;
    assert_int_equal(tsl_graph_clone(g, &gc), TSL_STATUS_OK);
    struct tsl_cpu_module *m = NULL, *mc = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_cpu_compile_consume(gc, NULL, &mc, &d), TSL_STATUS_OK);

    /* the plain compile leaves g alone; consume released all but "kept" */
    uint32_t released = 0, kept = 0;
    for (uint32_t i = 0; i < gc->n_values; i++) {
        const struct tsl_value *v = gc->values[i];
        if (!v->constant)
            continue;
        void *dense = NULL;
        if (v->n_output_refs) {
            assert_non_null(v->constant->data);
            assert_int_equal(tsl_const_decode(v, &dense, &d), TSL_STATUS_OK);
            free(dense);
            kept++;
        } else {
            assert_null(v->constant->data);
            assert_int_equal(v->constant->data_bytes, 0);
            assert_int_equal(tsl_const_decode(v, &dense, &d), TSL_STATUS_PARSE);
            released++;
        }
    }
    assert_int_equal(kept, 1);
    assert_true(released >= 3); /* shared, conv weight, conv bias */
    for (uint32_t i = 0; i < g->n_values; i++)
        if (g->values[i]->constant)
            assert_non_null(g->values[i]->constant->data);

    struct tsl_cpu_module_info info, info_c;
    tsl_cpu_module_info(m, &info);
    tsl_cpu_module_info(mc, &info_c);
    assert_int_equal(info.weight_bytes, info_c.weight_bytes);
    assert_true(info_c.weight_bytes > 0);

    float img[4 * 8 * 8];
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
        img[i] = rng_f(&r, -1, 1);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape,
                            .data = img};
    struct tsl_tensor *o = run_module(m, &in, &d), *oc = run_module(mc, &in, &d);
    assert_memory_equal(o[0].data, oc[0].data, sizeof img);
    assert_memory_equal(o[1].data, oc[1].data, 3 * sizeof(float));

    /* the artifact of the consumed graph carries the weights itself */
    char dir[] = "/tmp/tessel_consume_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p_so[128], p_h[128];
    snprintf(p_so, sizeof p_so, "%s/sc.so", dir);
    snprintf(p_h, sizeof p_h, "%s/sc.h", dir);
    assert_int_equal(tsl_cpu_emit(mc, TSL_CPU_EMIT_SO, p_so, &d), TSL_STATUS_OK);
    void *h = dlopen(p_so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    void *sym = dlsym(h, "model_run");
    const void *w = dlsym(h, "model_weights");
    assert_non_null(sym);
    assert_non_null(w);
    run_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    void *arena = aligned_alloc(64, (size_t)(info_c.arena_bytes + 64) / 64 * 64);
    assert_non_null(arena);
    float out0[4 * 8 * 8], out1[3];
    void *ins[1] = {img}, *os[2] = {out0, out1};
    fn(w, arena, ins, os, NULL);
    assert_memory_equal(out0, o[0].data, sizeof out0);
    assert_memory_equal(out1, o[1].data, sizeof out1);
    free(arena);
    dlclose(h);
    unlink(p_so);
    unlink(p_h);
    rmdir(dir);

    tsl_tensors_free(o, 2);
    tsl_tensors_free(oc, 2);
    tsl_cpu_module_destroy(m);
    tsl_cpu_module_destroy(mc);
    tsl_graph_destroy(g);
    tsl_graph_destroy(gc);
    tsl_diag_fini(&d);
}

static void test_bind_in_place(void **state)
{
    (void)state;
    struct tsl_graph *g = h_symbolic_tanh();
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_shape bad = {.rank = 2, .dims = {3, 9}};
    assert_int_equal(tsl_cpu_bind_shapes_in_place(g, &bad, 1, &d), TSL_STATUS_INVALID_ARG);
    assert_true(TSL_DIM_IS_SYM(g->inputs[0]->type.shape.dims[0]));
    struct tsl_shape s = {.rank = 2, .dims = {3, 8}};
    assert_int_equal(tsl_cpu_bind_shapes_in_place(g, &s, 1, &d), TSL_STATUS_OK);
    assert_int_equal(g->inputs[0]->type.shape.dims[0], 3);
    assert_int_equal(g->outputs[0]->type.shape.dims[0], 3);
    struct rng r = {3};
    h_check(g, &r, -1, 1, NULL); /* destroys g */
    tsl_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consume_releases_and_matches),
        cmocka_unit_test(test_bind_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
