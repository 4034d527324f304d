/* test_opq.c - unit tests of the opq pass and its math: the Laplace/Lagrange
 * pruning threshold, the quantizer grid, the Lagrangian bit allocation, the
 * CODEBOOK payloads and layer reports the pass writes, the target rate being
 * met, an unreachable rate failing with LIMIT, first/last layers kept at 8
 * bits, and the allocation being a pure function of the weights (identical
 * on graphs whose inputs differ or are symbolic; the evaluator is never
 * called; graph inputs are left as they were).  Accuracy is measured by
 * bench/accuracy/, not here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../passes/opq_math.h"
#include "tessel/ir.h"
#include "tessel/passes.h"

/* Deterministic Laplace(0, b) samples (LCG + inverse CDF). */
static double lcg_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

static void fill_laplace(float *w, int64_t n, int64_t n_ch, int64_t inner, double b,
                         uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        double u = lcg_uniform(&s) - 0.5;
        double ch_scale = 0.5 + (double)((i / inner) % n_ch) / (double)n_ch; /* uneven channels */
        w[i] = (float)(-b * ch_scale * (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u)));
    }
}

static struct tsl_value *add_weight(struct tsl_graph *g, const char *name, int32_t rank,
                                    const int64_t *dims, int64_t n_ch, int64_t inner, double b,
                                    uint64_t seed)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    int64_t n;
    assert_true(tsl_shape_numel(&t.shape, &n));
    float *w = malloc((size_t)n * sizeof *w);
    assert_non_null(w);
    fill_laplace(w, n, n_ch, inner, b, seed);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, w, &v), TSL_STATUS_OK);
    free(w);
    return v;
}

/* x -> Conv(w1) -> Relu -> Conv(w2) -> Relu -> Conv(w3) -> GAP -> Flatten ->
 * Gemm(w4, transB) -> y.  `symbolic` makes the batch dim symbolic; `in_name`
 * and `cin` vary the input. */
static struct tsl_graph *make_net(bool symbolic, const char *in_name)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("net", &g), TSL_STATUS_OK);
    int64_t batch = 2;
    if (symbolic) {
        uint32_t k;
        assert_int_equal(tsl_graph_symbol(g, "N", &k), TSL_STATUS_OK);
        batch = TSL_DIM_SYM(k);
    }
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){batch, 4, 12, 12});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, in_name, &tx, &x), TSL_STATUS_OK);
    struct tsl_value *w1 = add_weight(g, "w1", 4, (int64_t[]){8, 4, 3, 3}, 8, 36, 0.2, 1);
    struct tsl_value *w2 = add_weight(g, "w2", 4, (int64_t[]){32, 8, 3, 3}, 32, 72, 0.05, 2);
    struct tsl_value *w3 = add_weight(g, "w3", 4, (int64_t[]){32, 32, 3, 3}, 32, 288, 0.02, 3);
    struct tsl_value *w4 = add_weight(g, "w4", 2, (int64_t[]){10, 32}, 10, 32, 0.1, 4);
    struct tsl_node *n;
    struct tsl_value *h = x;
    struct tsl_value *ws[3] = {w1, w2, w3};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "conv%d", i);
        assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONV, name, 2,
                                            (struct tsl_value *[]){h, ws[i]}, 1, &n, NULL),
                         TSL_STATUS_OK);
        h = n->outputs[0];
        snprintf(name, sizeof name, "relu%d", i);
        assert_int_equal(tsl_graph_add_node(g, TSL_OP_RELU, name, 1, &h, 1, &n, NULL),
                         TSL_STATUS_OK);
        h = n->outputs[0];
    }
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &h, 1, &n, NULL),
                     TSL_STATUS_OK);
    h = n->outputs[0];
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_FLATTEN, "flat", 1, &h, 1, &n, NULL),
                     TSL_STATUS_OK);
    h = n->outputs[0];
    assert_int_equal(tsl_graph_add_node(g, TSL_OP_GEMM, "fc", 2, (struct tsl_value *[]){h, w4},
                                        1, &n, (const char *[]){"y"}),
                     TSL_STATUS_OK);
    n->attrs.gemm.transB = 1;
    assert_int_equal(tsl_graph_add_output(g, n->outputs[0]), TSL_STATUS_OK);
    return g;
}

static enum tsl_status evaluator_must_not_run(void *user, const struct tsl_node *n,
                                              void **outputs_out, struct tsl_diag *diag)
{
    (void)user;
    (void)n;
    (void)outputs_out;
    (void)diag;
    fail_msg("opq called the evaluator");
    return TSL_STATUS_INTERNAL;
}

static enum tsl_status run_opq(struct tsl_graph *g, double rate, bool keep, struct tsl_diag *d,
                               struct tsl_pass_context *ctx)
{
    tsl_pass_context_init(ctx, d);
    ctx->eval_node = evaluator_must_not_run;
    ctx->compress.opq_rate = rate;
    ctx->compress.keep_first_last = keep;
    enum tsl_pass_id id;
    assert_true(tsl_pass_from_name("opq", &id));
    return tsl_pass_run(g, id, ctx);
}

/* The decoded weights w1..w4 of make_net (caller frees each). */
static void decode_net(struct tsl_graph *g, float **orig)
{
    const char *names[4] = {"w1", "w2", "w3", "w4"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsl_const_decode(tsl_graph_find_value(g, names[i]), (void **)&orig[i],
                                          NULL),
                         TSL_STATUS_OK);
}

static double achieved_rate(const struct tsl_pass_context *ctx)
{
    int64_t orig = 0, stored = 0;
    for (uint32_t i = 0; i < ctx->n_layers; i++) {
        orig += ctx->layers[i].original_bits;
        stored += ctx->layers[i].stored_bits;
    }
    return (double)orig / (double)stored;
}

static void test_laplace_threshold_meets_target(void **state)
{
    (void)state;
    struct tsl_opq_layer L[3] = {{.n = 1000, .laplace_b = 1.0},
                                 {.n = 3000, .laplace_b = 0.25},
                                 {.n = 500, .laplace_b = 4.0, .fixed = true}};
    for (double P = 0.1; P < 0.95; P += 0.2) {
        double t = tsl_opq_laplace_threshold(L, 3, P);
        double pruned = 1000 * tsl_opq_laplace_pruned(1.0, t) +
                        3000 * tsl_opq_laplace_pruned(0.25, t);
        assert_true(fabs(pruned / 4000 - P) < 1e-9);
        /* one global threshold: the narrower layer is pruned more */
        assert_true(tsl_opq_laplace_pruned(0.25, t) > tsl_opq_laplace_pruned(1.0, t));
    }
    assert_true(tsl_opq_laplace_threshold(L, 3, 0) == 0);
}

static void test_quantizer_grid(void **state)
{
    (void)state;
    for (int B = 1; B <= TSL_OPQ_MAX_BITS; B++) {
        uint32_t nc = tsl_opq_n_codes(B, false);
        assert_true(nc <= (1u << B));
        for (double x = -1.2; x <= 1.2; x += 0.013) {
            uint32_t idx = tsl_opq_quantize(x, B, 0.8, false);
            assert_true(idx < nc);
            double q = tsl_opq_code_value(idx, B, 0.8, false);
            if (B >= 2) {
                double step = 0.8 / (double)tsl_opq_levels(B, false);
                double xc = fmax(-0.8, fmin(0.8, x));
                assert_true(fabs(q - xc) <= step / 2 + 1e-12);
            } else {
                assert_true(q == (x >= 0 ? 0.8 : -0.8));
            }
        }
        if (B >= 2) /* zero is a code */
            assert_true(tsl_opq_code_value(tsl_opq_quantize(0.0, B, 1, false), B, 1, false) ==
                        0.0);
        /* masked: sign-magnitude, all 2^B codes, no zero, ascending, and
         * every value maps to its nearest non-zero code */
        uint32_t mc = tsl_opq_n_codes(B, true);
        assert_int_equal(mc, 1u << B);
        double step = 0.8 / (double)tsl_opq_levels(B, true);
        for (uint32_t k = 0; k < mc; k++) {
            assert_true(tsl_opq_code_value(k, B, 0.8, true) != 0.0);
            if (k)
                assert_true(tsl_opq_code_value(k, B, 0.8, true) >
                            tsl_opq_code_value(k - 1, B, 0.8, true));
        }
        for (double x = -1.2; x <= 1.2; x += 0.013) {
            uint32_t idx = tsl_opq_quantize(x, B, 0.8, true);
            assert_true(idx < mc);
            double q = tsl_opq_code_value(idx, B, 0.8, true);
            double xc = fmax(-0.8, fmin(0.8, x));
            assert_true((q > 0) == (x >= 0));
            if (fabs(xc) >= step)
                assert_true(fabs(q - xc) <= step / 2 + 1e-12);
            else
                assert_true(fabs(q) == step);
        }
    }
    assert_int_equal(tsl_opq_payload_bits(10, 2, 3, false, 0), 32 + 7 * 32 + 2 * 32);
    assert_int_equal(tsl_opq_payload_bits(10, 2, 3, true, 16), 32 + 8 * 32 + 2 * 32 + 16);
}

static void test_allocation_hits_budget_and_prefers_cheap_error(void **state)
{
    (void)state;
    enum { N = 4096 };
    static float w[2][N];
    struct tsl_opq_layer L[2];
    memset(L, 0, sizeof L);
    for (int i = 0; i < 2; i++) {
        fill_laplace(w[i], N, 16, N / 16, i ? 1.0 : 0.01, 7 + (uint64_t)i);
        L[i].w = w[i];
        L[i].n = N;
        L[i].n_ch = 16;
        L[i].inner = N / 16;
        L[i].weight = 1;
        assert_true(tsl_opq_layer_prepare(&L[i]));
        tsl_opq_tables(&L[i]);
        for (int B = 2; B <= TSL_OPQ_MAX_BITS; B++) /* more bits, less error */
            assert_true(L[i].D[B] <= L[i].D[B - 1] * 1.0001);
    }
    int64_t budget = 2 * N * 4, min_bits;
    assert_true(tsl_opq_allocate(L, 2, budget, &min_bits));
    assert_true(tsl_opq_total_bits(L, 2) <= budget);
    /* equal absolute step: the layer with 100x larger weights gets more bits */
    assert_true(L[1].B > L[0].B);
    assert_false(tsl_opq_allocate(L, 2, min_bits - 1, &min_bits));
    for (int i = 0; i < 2; i++)
        tsl_opq_layer_fini(&L[i]);
}

static void test_pass_meets_rate_and_writes_codebooks(void **state)
{
    (void)state;
    static const double rates[] = {4, 6, 8, 12};
    double prev_stored = INFINITY;
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        struct tsl_graph *g = make_net(false, "x");
        float *orig[4];
        const char *names[4] = {"w1", "w2", "w3", "w4"};
        decode_net(g, orig);
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_pass_context ctx;
        assert_int_equal(run_opq(g, rates[r], false, &d, &ctx), TSL_STATUS_OK);
        assert_int_equal(ctx.n_layers, 4);
        double rate = achieved_rate(&ctx);
        assert_true(rate >= rates[r]);
        int64_t stored = 0;
        for (int i = 0; i < 4; i++) {
            struct tsl_value *v = tsl_graph_find_value(g, names[i]);
            assert_non_null(v);
            assert_int_equal(v->constant->encoding, TSL_ENC_CODEBOOK);
            const struct tsl_layer_report *lr = &ctx.layers[i];
            assert_string_equal(lr->name, names[i]);
            assert_string_equal(lr->op, i < 3 ? "Conv" : "Gemm");
            assert_int_equal(lr->stored_bits, tsl_const_stored_bits(v));
            assert_int_equal(lr->bits, v->constant->index_bits);
            assert_true(lr->bits >= 1 && lr->bits <= 8 && lr->step > 0);
            assert_true(lr->sparsity >= 0 && lr->sparsity < 1);
            stored += lr->stored_bits;
            /* decoded weights stay close: relative error bounded by the bits */
            float *dq;
            assert_int_equal(tsl_const_decode(v, (void **)&dq, NULL), TSL_STATUS_OK);
            double e = 0, s = 0;
            for (int64_t k = 0; k < lr->n_weights; k++) {
                e += (dq[k] - orig[i][k]) * (double)(dq[k] - orig[i][k]);
                s += orig[i][k] * (double)orig[i][k];
            }
            assert_true(e / s < (lr->bits >= 3 ? 0.1 : 0.7));
            free(dq);
            free(orig[i]);
        }
        assert_true(stored <= prev_stored); /* higher rate, fewer bits */
        prev_stored = (double)stored;
        tsl_pass_context_fini(&ctx);
        tsl_diag_fini(&d);
        tsl_graph_destroy(g);
    }
}

/* Relative squared weight error of the four layers of make_net after a
 * run, summed (orig: the weights before). */
static double net_error(struct tsl_graph *g, float *const *orig)
{
    const char *names[4] = {"w1", "w2", "w3", "w4"};
    double total = 0;
    for (int i = 0; i < 4; i++) {
        struct tsl_value *v = tsl_graph_find_value(g, names[i]);
        int64_t n;
        assert_true(tsl_shape_numel(&v->type.shape, &n));
        float *dq;
        assert_int_equal(tsl_const_decode(v, (void **)&dq, NULL), TSL_STATUS_OK);
        double e = 0, s = 0;
        for (int64_t k = 0; k < n; k++) {
            e += (dq[k] - orig[i][k]) * (double)(dq[k] - orig[i][k]);
            s += orig[i][k] * (double)orig[i][k];
        }
        total += e / s;
        free(dq);
    }
    return total;
}

/* --index-coding huffman: the rate counts the coded indices and is met;
 * at the same rate the weights are closer to the originals than with
 * fixed-length indices (the coded size of a peaked index histogram is
 * well below B bits per entry, so the allocation affords finer grids). */
static void test_huffman_meets_rate_with_less_error(void **state)
{
    (void)state;
    static const double rates[] = {4, 8, 12};
    const char *names[4] = {"w1", "w2", "w3", "w4"};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        double err[2];
        for (int coding = 0; coding < 2; coding++) {
            struct tsl_graph *g = make_net(false, "x");
            float *orig[4];
            decode_net(g, orig);
            struct tsl_diag d;
            tsl_diag_init(&d);
            struct tsl_pass_context ctx;
            tsl_pass_context_init(&ctx, &d);
            ctx.eval_node = evaluator_must_not_run;
            ctx.compress.opq_rate = rates[r];
            ctx.compress.index_coding = (enum tsl_index_coding)coding;
            enum tsl_pass_id id;
            assert_true(tsl_pass_from_name("opq", &id));
            assert_int_equal(tsl_pass_run(g, id, &ctx), TSL_STATUS_OK);
            assert_true(achieved_rate(&ctx) >= rates[r]);
            for (int i = 0; i < 4; i++) {
                struct tsl_value *v = tsl_graph_find_value(g, names[i]);
                assert_int_equal(v->constant->coding, coding);
                assert_int_equal(ctx.layers[i].stored_bits, tsl_const_stored_bits(v));
            }
            err[coding] = net_error(g, orig);
            for (int i = 0; i < 4; i++)
                free(orig[i]);
            tsl_pass_context_fini(&ctx);
            tsl_diag_fini(&d);
            tsl_graph_destroy(g);
        }
        print_message("rate %gx: relative error packed %.4g, huffman %.4g\n", rates[r], err[0],
                      err[1]);
        assert_true(err[1] < err[0]);
    }
}

/* Pruning pays under the stored-bits accounting: a pruned layer stores
 * indices of its kept entries only, plus the coded pattern. */
static void test_pruning_saves_bits(void **state)
{
    (void)state;
    enum { N = 8192 };
    static float w[N];
    struct tsl_opq_layer L;
    memset(&L, 0, sizeof L);
    fill_laplace(w, N, 16, N / 16, 0.1, 11);
    L.w = w;
    L.n = N;
    L.n_ch = 16;
    L.inner = N / 16;
    L.weight = 1;
    assert_true(tsl_opq_layer_prepare(&L));
    tsl_opq_tables(&L);
    assert_false(L.masked);
    int64_t dense_bits[TSL_OPQ_MAX_BITS + 1];
    memcpy(dense_bits, L.bits, sizeof dense_bits);
    L.prune_thr = tsl_opq_quantile_threshold(&L, 0.5);
    tsl_opq_tables(&L);
    assert_true(L.masked);
    assert_true(L.kept > N / 2 - 64 && L.kept < N / 2 + 64);
    assert_true(L.mask_bits > 0 && L.mask_bits <= 8 * (N / 8));
    for (int B = 1; B <= TSL_OPQ_MAX_BITS; B++) {
        /* half the indices saved, about 1 bit per weight of pattern paid */
        if (B >= 3)
            assert_true(L.bits[B] < dense_bits[B]);
        assert_int_equal(L.bits[B], tsl_opq_payload_bits(L.kept, 16, B, true, L.mask_bits));
    }
    tsl_opq_layer_fini(&L);

    /* through the pass: at 16x without kept layers the search prunes, and a
     * masked payload drops the smallest weights, decodes them to 0 and is
     * counted by tsl_const_stored_bits */
    struct tsl_graph *g = make_net(false, "x");
    const char *names[4] = {"w1", "w2", "w3", "w4"};
    float *orig[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsl_const_decode(tsl_graph_find_value(g, names[i]), (void **)&orig[i],
                                          NULL),
                         TSL_STATUS_OK);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    assert_int_equal(run_opq(g, 16, false, &d, &ctx), TSL_STATUS_OK);
    assert_true(achieved_rate(&ctx) >= 16);
    int masked = 0;
    for (int i = 0; i < 4; i++) {
        struct tsl_value *v = tsl_graph_find_value(g, names[i]);
        const struct tsl_const *c = v->constant;
        assert_int_equal(ctx.layers[i].stored_bits, tsl_const_stored_bits(v));
        if (!c->mask)
            continue;
        masked++;
        assert_int_equal(c->n_codes, 1u << c->index_bits);
        float *dq;
        assert_int_equal(tsl_const_decode(v, (void **)&dq, NULL), TSL_STATUS_OK);
        float max_pruned = 0, min_kept = INFINITY;
        for (int64_t k = 0; k < ctx.layers[i].n_weights; k++) {
            float m = fabsf(orig[i][k]);
            if ((c->mask[k / 8] >> (k % 8)) & 1) {
                min_kept = fminf(min_kept, m);
                assert_true(dq[k] != 0.0f);
            } else {
                max_pruned = fmaxf(max_pruned, m);
                assert_true(dq[k] == 0.0f);
            }
        }
        assert_true(max_pruned <= min_kept);
        free(dq);
    }
    assert_true(masked > 0);
    for (int i = 0; i < 4; i++)
        free(orig[i]);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_unreachable_rate_is_limit(void **state)
{
    (void)state;
    struct tsl_graph *g = make_net(false, "x");
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    assert_int_equal(run_opq(g, 40, true, &d, &ctx), TSL_STATUS_LIMIT);
    assert_true(d.n_errors > 0);
    assert_non_null(strstr(d.entries[0].message, "unreachable"));
    /* nothing was rewritten */
    assert_int_equal(tsl_graph_find_value(g, "w2")->constant->encoding, TSL_ENC_DENSE);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_bad_rate_is_invalid(void **state)
{
    (void)state;
    struct tsl_graph *g = make_net(false, "x");
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    assert_int_equal(run_opq(g, -2, false, &d, &ctx), TSL_STATUS_INVALID_ARG);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

static void test_keep_first_last(void **state)
{
    (void)state;
    struct tsl_graph *g = make_net(false, "x");
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    assert_int_equal(run_opq(g, 8, true, &d, &ctx), TSL_STATUS_OK);
    assert_int_equal(ctx.n_layers, 4);
    /* kept layers: at least 4 bits and never pruned (no mask) */
    assert_true(ctx.layers[0].bits >= 4);
    assert_true(ctx.layers[3].bits >= 4);
    assert_null(tsl_graph_find_value(g, "w1")->constant->mask);
    assert_null(tsl_graph_find_value(g, "w4")->constant->mask);
    assert_true(ctx.layers[1].bits < 8);
    assert_true(achieved_rate(&ctx) >= 8); /* kept layers are counted */
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

/* The allocation is a pure function of the weights: the same on a graph
 * with a static input and one with a renamed, symbolic-batch input, and the
 * same when run twice.  Inputs are untouched. */
static void test_data_free_and_deterministic(void **state)
{
    (void)state;
    struct tsl_graph *g[3] = {make_net(false, "x"), make_net(true, "images"),
                              make_net(false, "x")};
    struct tsl_type before[3];
    struct tsl_pass_context ctx[3];
    struct tsl_diag d[3];
    for (int k = 0; k < 3; k++) {
        before[k] = g[k]->inputs[0]->type;
        tsl_diag_init(&d[k]);
        assert_int_equal(run_opq(g[k], 10, false, &d[k], &ctx[k]), TSL_STATUS_OK);
        assert_int_equal(g[k]->n_inputs, 1);
        assert_true(g[k]->inputs[0]->type.dtype == before[k].dtype);
        assert_true(tsl_shape_equal(&g[k]->inputs[0]->type.shape, &before[k].shape));
        assert_null(g[k]->inputs[0]->constant);
    }
    const char *names[4] = {"w1", "w2", "w3", "w4"};
    for (int k = 1; k < 3; k++)
        for (int i = 0; i < 4; i++) {
            const struct tsl_const *a = tsl_graph_find_value(g[0], names[i])->constant;
            const struct tsl_const *b = tsl_graph_find_value(g[k], names[i])->constant;
            assert_int_equal(a->index_bits, b->index_bits);
            assert_int_equal(a->n_codes, b->n_codes);
            assert_int_equal(a->indices_bytes, b->indices_bytes);
            assert_memory_equal(a->indices, b->indices, a->indices_bytes);
            assert_int_equal(a->mask_bytes, b->mask_bytes);
            if (a->mask)
                assert_memory_equal(a->mask, b->mask, a->mask_bytes);
            assert_memory_equal(a->codebook, b->codebook, a->n_codes * sizeof(float));
            assert_memory_equal(a->channel_scale, b->channel_scale,
                                a->n_channels * sizeof(float));
            assert_true(ctx[0].layers[i].sparsity == ctx[k].layers[i].sparsity);
            assert_true(ctx[0].layers[i].step == ctx[k].layers[i].step);
        }
    for (int k = 0; k < 3; k++) {
        tsl_pass_context_fini(&ctx[k]);
        tsl_diag_fini(&d[k]);
        tsl_graph_destroy(g[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_laplace_threshold_meets_target),
        cmocka_unit_test(test_quantizer_grid),
        cmocka_unit_test(test_allocation_hits_budget_and_prefers_cheap_error),
        cmocka_unit_test(test_pass_meets_rate_and_writes_codebooks),
        cmocka_unit_test(test_pruning_saves_bits),
        cmocka_unit_test(test_huffman_meets_rate_with_less_error),
        cmocka_unit_test(test_unreachable_rate_is_limit),
        cmocka_unit_test(test_bad_rate_is_invalid),
        cmocka_unit_test(test_keep_first_last),
        cmocka_unit_test(test_data_free_and_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
