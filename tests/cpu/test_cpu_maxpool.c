/* test_cpu_maxpool.c - bit-exact differential tests of the CPU backend's
 * 2-D (and 1-D) f32 MaxPool against the reference interpreter: odd plane
 * sizes, kernels 1 to 5 (square and not), strides 1 to 3, asymmetric pads,
 * ceil_mode, dilations, a fused Relu, 1 and 2 threads.  Inputs hold
 * repeated values, +0 and -0, NaNs with distinct payloads and infinities,
 * so the tap order and the NaN rule (the last NaN wins, else the first
 * maximal tap) are checked bit for bit, not within a tolerance.  It does
 * not cover 3-D pooling, AveragePool or other dtypes (test_cpu_ops.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/reference.h"
#include "tessel/shape.h"

static void fail_diag(const char *what, struct tsl_diag *d)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    fail_msg("%s: %s: %s", what, e ? e->where : "?", e ? e->message : "(no diagnostic)");
}

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Mostly small integers (ties between taps), some +-0, quiet NaNs of both
 * signs with distinct payloads, +-inf. */
static float pick(struct rng *r, bool special)
{
    uint32_t k = rng_u32(r) % 64;
    if (special && k == 0)
        return bits_f(0x7fc00000u | (rng_u32(r) & 0x3fffffu)); /* +qNaN, payload */
    if (special && k == 1)
        return bits_f(0xffc00000u | (rng_u32(r) & 0x3fffffu)); /* -qNaN */
    if (special && k == 2)
        return rng_u32(r) & 1 ? INFINITY : -INFINITY;
    if (k < 12)
        return rng_u32(r) & 1 ? 0.0f : -0.0f;
    return (float)rng_int(r, -4, 4) * 0.5f;
}

struct mp_case {
    int64_t N, C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int ceil, relu, rank; /* rank 3: 1-D pooling over W (H, kh, sh... ignored) */
};

static struct tsl_graph *mp_graph(const struct mp_case *c)
{
    struct tsl_graph *g = h_graph();
    int64_t d4[4] = {c->N, c->C, c->H, c->W}, d3[3] = {c->N, c->C, c->W};
    struct tsl_value *x = c->rank == 3 ? h_input(g, "x", 3, d3) : h_input(g, "x", 4, d4);
    struct tsl_node *n = h_node(g, TSL_OP_MAX_POOL, "mp", 1, &x);
    struct tsl_attr_pool *a = &n->attrs.pool;
    if (c->rank == 3) {
        a->kernel_shape = (struct tsl_ints){1, {c->kw}};
        a->strides = (struct tsl_ints){1, {c->sw}};
        a->pads = (struct tsl_ints){2, {c->pl, c->pr}};
        a->dilations = (struct tsl_ints){1, {c->dw}};
    } else {
        a->kernel_shape = (struct tsl_ints){2, {c->kh, c->kw}};
        a->strides = (struct tsl_ints){2, {c->sh, c->sw}};
        a->pads = (struct tsl_ints){4, {c->pt, c->pl, c->pb, c->pr}};
        a->dilations = (struct tsl_ints){2, {c->dh, c->dw}};
    }
    a->ceil_mode = c->ceil;
    struct tsl_value *y = n->outputs[0];
    if (c->relu)
        y = h_node(g, TSL_OP_RELU, "relu", 1, &y)->outputs[0];
    tsl_graph_add_output(g, y);
    return g;
}

/* Run the reference and the CPU backend at 1 and 2 threads on the same
 * input; every output word must equal the reference's, with a fused Relu
 * too (it keeps NaN and -0, as the reference's x < 0 ? 0 : x does). */
static void mp_check(const struct mp_case *c, struct rng *r, bool special)
{
    struct tsl_graph *g = mp_graph(c);
    struct tsl_diag d;
    tsl_diag_init(&d);
    if (tsl_infer_shapes(g, &d) != TSL_STATUS_OK)
        fail_diag("shape inference", &d);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape};
    int64_t n;
    assert_true(tsl_shape_numel(&in.shape, &n));
    float *xd = malloc((size_t)n * sizeof *xd);
    assert_non_null(xd);
    for (int64_t k = 0; k < n; k++)
        xd[k] = pick(r, special);
    in.data = xd;
    struct tsl_tensor *ro = NULL;
    uint32_t nro = 0;
    struct tsl_ref_stats rs;
    if (tsl_ref_run(g, &in, 1, &ro, &nro, &rs, &d) != TSL_STATUS_OK)
        fail_diag("reference", &d);
    assert_int_equal(nro, 1);
    int64_t on;
    assert_true(tsl_shape_numel(&ro[0].shape, &on));
    for (int threads = 1; threads <= 2; threads++) {
        struct tsl_cpu_options o;
        tsl_cpu_options_default(&o);
        o.threads = threads;
        struct tsl_cpu_module *m = NULL;
        struct tsl_tensor *co = NULL;
        uint32_t nco = 0;
        if (tsl_cpu_compile(g, &o, &m, &d) != TSL_STATUS_OK)
            fail_diag("cpu compile", &d);
        if (tsl_cpu_run(m, &in, 1, &co, &nco, &d) != TSL_STATUS_OK)
            fail_diag("cpu run", &d);
        assert_int_equal(nco, 1);
        assert_true(tsl_shape_equal(&ro[0].shape, &co[0].shape));
        const uint32_t *a = ro[0].data, *b = co[0].data;
        for (int64_t k = 0; k < on; k++)
            if (a[k] != b[k])
                fail_msg("H %lld W %lld k %lldx%lld s %lld,%lld pads %lld %lld %lld %lld dil %lld,%lld "
                         "ceil %d relu %d rank %d threads %d: output %lld ref 0x%08x cpu 0x%08x",
                         (long long)c->H, (long long)c->W, (long long)c->kh, (long long)c->kw,
                         (long long)c->sh, (long long)c->sw, (long long)c->pt, (long long)c->pl,
                         (long long)c->pb, (long long)c->pr, (long long)c->dh, (long long)c->dw,
                         c->ceil, c->relu, c->rank, threads, (long long)k, (unsigned)a[k],
                         (unsigned)b[k]);
        tsl_tensors_free(co, nco);
        tsl_cpu_module_destroy(m);
    }
    tsl_tensors_free(ro, nro);
    free(xd);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

/* The network shapes: SqueezeNet's 3x3 s2 ceil_mode pool on an odd plane
 * and ResNet's stem 3x3 s2 pad 1, on a few channels. */
static void test_maxpool_network_shapes(void **state)
{
    (void)state;
    struct rng r = {0x5151};
    const struct mp_case sq = {1, 3, 111, 111, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 4};
    const struct mp_case rs = {1, 3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 1, 4};
    const struct mp_case sq2 = {2, 2, 27, 27, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 4};
    mp_check(&sq, &r, true);
    mp_check(&rs, &r, false);
    mp_check(&sq2, &r, true);
}

/* Random geometries, half of them with ceil_mode (with pads, strides
 * larger than the kernel and dilations: ir/shape drops a last window that
 * starts in the end padding, as the reference does). */
static void test_maxpool_random(void **state)
{
    (void)state;
    struct rng r = {0xA11CE};
    for (int it = 0; it < 60; it++) {
        struct mp_case c = {.N = rng_int(&r, 1, 2), .C = rng_int(&r, 1, 3), .dh = 1, .dw = 1,
                            .rank = it % 10 == 9 ? 3 : 4};
        int64_t ks[4] = {1, 2, 3, 5};
        c.kh = ks[rng_int(&r, 0, 3)], c.kw = it % 3 ? c.kh : ks[rng_int(&r, 0, 3)];
        c.sh = rng_int(&r, 1, 3), c.sw = it % 3 ? c.sh : rng_int(&r, 1, 3);
        if (it % 7 == 3)
            c.dh = rng_int(&r, 1, 2), c.dw = rng_int(&r, 1, 2);
        c.ceil = it % 4 == 1 || it % 4 == 2;
        c.pt = rng_int(&r, 0, c.kh / 2), c.pb = rng_int(&r, 0, c.kh / 2);
        c.pl = rng_int(&r, 0, c.kw / 2), c.pr = rng_int(&r, 0, c.kw / 2);
        if (c.rank == 3)
            c.kh = c.sh = c.dh = 1, c.pt = c.pb = 0;
        c.H = c.rank == 3 ? 1 : rng_int(&r, (c.kh - 1) * c.dh + 1, 23);
        c.W = rng_int(&r, (c.kw - 1) * c.dw + 1, 29);
        c.relu = it % 5 == 2;
        mp_check(&c, &r, it % 2 == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_network_shapes),
        cmocka_unit_test(test_maxpool_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
