/* test_compress.c - properties of the compression passes on random weights
 * (exact global/per-layer sparsity, first/last kept, 2:4 pattern, channel
 * pruning, codebook error bounds, pruned entries kept pruned, k-means never
 * worse than uniform) and fold-batchnorm numerics: the reference backend on
 * random inputs before and after the pass agrees to rel err < 1e-5 on every
 * tests/passes/fold-batchnorm case, and the same for fold-conv-affine. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress_common.h"
#include "tessel/reference.h"
#include "tessel/text.h"
#include "tessel/util.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) /* xorshift, [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* x[1,C0,4,4] -> Conv(C1,C0,3,3) -> Conv(C2,C1,1,1) -> Conv(C3,C2,3,3) -> Gemm */
static struct tsl_graph *make_graph(void)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){1, 8, 4, 4});
    struct tsl_value *x;
    assert_int_equal(tsl_graph_add_input(g, "x", &tx, &x), TSL_STATUS_OK);
    static const int64_t shapes[4][4] = {{16, 8, 3, 3}, {12, 16, 1, 1}, {8, 12, 3, 3}, {5, 8}};
    struct tsl_value *cur = x;
    for (int l = 0; l < 4; l++) {
        int32_t rank = l == 3 ? 2 : 4;
        struct tsl_type tw = tsl_type_make(TSL_DTYPE_F32, rank, shapes[l]);
        int64_t n;
        tsl_shape_numel(&tw.shape, &n);
        float *w = malloc((size_t)n * sizeof *w);
        for (int64_t i = 0; i < n; i++)
            w[i] = frand() * (float)(l + 1);
        char name[16];
        snprintf(name, sizeof name, "w%d", l);
        struct tsl_value *wv;
        assert_int_equal(tsl_graph_add_dense_constant(g, name, &tw, w, &wv), TSL_STATUS_OK);
        free(w);
        struct tsl_node *nd;
        if (l == 3) {
            struct tsl_node *gp, *fl;
            assert_int_equal(tsl_graph_add_node(g, TSL_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &cur, 1,
                                                &gp, NULL), TSL_STATUS_OK);
            assert_int_equal(tsl_graph_add_node(g, TSL_OP_FLATTEN, "flat", 1, gp->outputs, 1,
                                                &fl, NULL), TSL_STATUS_OK);
            fl->attrs.axis.axis = 1;
            struct tsl_value *in[2] = {fl->outputs[0], wv};
            assert_int_equal(tsl_graph_add_node(g, TSL_OP_GEMM, "fc", 2, in, 1, &nd, NULL),
                             TSL_STATUS_OK);
            nd->attrs.gemm.transB = 1;
        } else {
            struct tsl_value *in[2] = {cur, wv};
            snprintf(name, sizeof name, "conv%d", l);
            assert_int_equal(tsl_graph_add_node(g, TSL_OP_CONV, name, 2, in, 1, &nd, NULL),
                             TSL_STATUS_OK);
            int64_t k = shapes[l][2];
            nd->attrs.conv.kernel_shape = (struct tsl_ints){2, {k, k}};
            int64_t p = k / 2;
            nd->attrs.conv.pads = (struct tsl_ints){4, {p, p, p, p}};
        }
        cur = nd->outputs[0];
    }
    assert_int_equal(tsl_graph_add_output(g, cur), TSL_STATUS_OK);
    return g;
}

struct fixture {
    struct tsl_diag diag;
    struct tsl_pass_context ctx;
    struct tsl_graph *g;
};

static void setup(struct fixture *f)
{
    tsl_diag_init(&f->diag);
    tsl_pass_context_init(&f->ctx, &f->diag);
    f->ctx.verify_each = true;
    f->g = make_graph();
}

static void teardown(struct fixture *f)
{
    tsl_graph_destroy(f->g);
    tsl_pass_context_fini(&f->ctx);
    tsl_diag_fini(&f->diag);
}

static void run(struct fixture *f, const char *pipeline)
{
    enum tsl_status st = tsl_pass_run_pipeline(f->g, pipeline, &f->ctx);
    if (st != TSL_STATUS_OK)
        fail_msg("%s: %s", pipeline, tsl_diag_first_error(&f->diag)->message);
}

static int64_t pruned_of(const struct tsl_value *v, int64_t *numel)
{
    tsl_shape_numel(&v->type.shape, numel);
    const struct tsl_const *c = v->constant;
    if (!c->mask)
        return 0;
    int64_t k = 0;
    for (int64_t i = 0; i < *numel; i++)
        k += !tsl_bit_get(c->mask, i);
    return k;
}

static const char *const wnames[4] = {"w0", "w1", "w2", "w3"};

static void test_global_exact(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.prune_sparsity = 0.6;
    f.ctx.compress.keep_first_last = false;
    run(&f, "infer-shapes,prune");
    int64_t total = 0, pruned = 0;
    float kept_min = INFINITY, pruned_max = 0;
    for (int l = 0; l < 4; l++) {
        const struct tsl_value *v = tsl_graph_find_value(f.g, wnames[l]);
        assert_int_equal(v->constant->encoding, TSL_ENC_MASKED);
        int64_t n;
        pruned += pruned_of(v, &n);
        total += n;
        /* original magnitudes: the pass keeps kept values unchanged */
        const float *d = v->constant->data;
        for (int64_t i = 0; i < n; i++)
            if (tsl_bit_get(v->constant->mask, i))
                kept_min = fminf(kept_min, fabsf(d[i]));
            else
                assert_true(d[i] == 0.0f);
    }
    assert_int_equal(pruned, llround(0.6 * (double)total));
    assert_int_equal(f.ctx.n_layers, 4);
    (void)pruned_max;
    assert_true(kept_min > 0);
    teardown(&f);
}

static void test_per_layer_and_keep(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.prune_sparsity = 0.3;
    f.ctx.compress.prune_per_layer = true;
    run(&f, "prune");
    for (int l = 0; l < 4; l++) {
        const struct tsl_value *v = tsl_graph_find_value(f.g, wnames[l]);
        int64_t n, k = pruned_of(v, &n);
        if (l == 0 || l == 3) {
            assert_int_equal(v->constant->encoding, TSL_ENC_DENSE); /* first/last kept */
            assert_int_equal(k, 0);
        } else {
            assert_int_equal(k, llround(0.3 * (double)n));
        }
    }
    teardown(&f);
}

static void test_two_four(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.prune_kind = TSL_PRUNE_2_4;
    f.ctx.compress.prune_sparsity = 0.5;
    f.ctx.compress.keep_first_last = false;
    run(&f, "prune");
    /* w1 [12,16,1,1]: groups of 4 along dim 1 hold exactly 2 kept */
    const struct tsl_value *v = tsl_graph_find_value(f.g, "w1");
    for (int64_t o = 0; o < 12; o++)
        for (int64_t j0 = 0; j0 < 16; j0 += 4) {
            int kept = 0;
            for (int64_t j = j0; j < j0 + 4; j++)
                kept += tsl_bit_get(v->constant->mask, o * 16 + j);
            assert_int_equal(kept, 2);
        }
    /* w2 [8,12,3,3]: along dim 1 with stride 9 */
    v = tsl_graph_find_value(f.g, "w2");
    for (int64_t o = 0; o < 8; o++)
        for (int64_t sp = 0; sp < 9; sp++)
            for (int64_t j0 = 0; j0 < 12; j0 += 4) {
                int kept = 0;
                for (int64_t j = j0; j < j0 + 4; j++)
                    kept += tsl_bit_get(v->constant->mask, (o * 12 + j) * 9 + sp);
                assert_int_equal(kept, 2);
            }
    teardown(&f);
}

static void test_channel(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.prune_kind = TSL_PRUNE_CHANNEL;
    f.ctx.compress.prune_sparsity = 0.5;
    f.ctx.compress.prune_per_layer = true;
    f.ctx.compress.keep_first_last = false;
    run(&f, "prune");
    const struct tsl_value *v = tsl_graph_find_value(f.g, "w2"); /* 8 channels of 108 */
    int dead = 0;
    for (int64_t c = 0; c < 8; c++) {
        int kept = 0;
        for (int64_t i = 0; i < 108; i++)
            kept += tsl_bit_get(v->constant->mask, c * 108 + i);
        assert_true(kept == 0 || kept == 108);
        dead += kept == 0;
    }
    assert_int_equal(dead, 4);
    teardown(&f);
}

/* Max normalized error of a codebook layer vs the original weights. */
static double cb_error(const struct tsl_value *v, const float *orig, int64_t n)
{
    void *d;
    assert_int_equal(tsl_const_decode(v, &d, NULL), TSL_STATUS_OK);
    const struct tsl_const *c = v->constant;
    int64_t inner = n / c->n_channels;
    double err = 0;
    for (int64_t i = 0; i < n; i++) {
        if (c->mask && !tsl_bit_get(c->mask, i)) {
            assert_true(((float *)d)[i] == 0.0f);
            continue;
        }
        double e = fabs(((float *)d)[i] - orig[i]) / c->channel_scale[i / inner];
        err = e > err ? e : err;
    }
    free(d);
    return err;
}

static void test_codebook(void **s)
{
    (void)s;
    for (int bits = 1; bits <= 8; bits++)
        for (int km = 0; km < 2; km++) {
            struct fixture f;
            setup(&f);
            f.ctx.compress.codebook_bits = bits;
            f.ctx.compress.codebook_kmeans = km;
            f.ctx.compress.keep_first_last = false;
            const struct tsl_value *v = tsl_graph_find_value(f.g, "w2");
            int64_t n;
            float *orig;
            tsl_shape_numel(&v->type.shape, &n);
            assert_int_equal(tsl_const_decode(v, (void **)&orig, NULL), TSL_STATUS_OK);
            run(&f, "codebook");
            v = tsl_graph_find_value(f.g, "w2");
            assert_int_equal(v->constant->encoding, TSL_ENC_CODEBOOK);
            assert_int_equal(v->constant->n_codes, 1u << bits);
            assert_int_equal(v->constant->axis, 0);
            double step = 1.0 / (double)(1 << (bits - 1));
            if (!km) /* uniform: nearest of ±step·{1..K}; worst case is 0 -> ±step */
                assert_true(cb_error(v, orig, n) <= step + 1e-6);
            else
                assert_true(cb_error(v, orig, n) <= 2.0);
            assert_int_equal(tsl_const_stored_bits(v), ((n * bits + 7) / 8) * 8 +
                                                           (int64_t)(32u << bits) + 8 * 32);
            free(orig);
            teardown(&f);
        }
}

static double mse_of(const struct tsl_value *v, const float *orig, int64_t n)
{
    float *d;
    assert_int_equal(tsl_const_decode(v, (void **)&d, NULL), TSL_STATUS_OK);
    double e = 0;
    for (int64_t i = 0; i < n; i++)
        e += ((double)d[i] - orig[i]) * ((double)d[i] - orig[i]);
    free(d);
    return e / (double)n;
}

static void test_kmeans_not_worse(void **s)
{
    (void)s;
    double mse[2];
    for (int km = 0; km < 2; km++) {
        struct fixture f;
        setup(&f);
        f.ctx.compress.codebook_bits = 3;
        f.ctx.compress.codebook_kmeans = km;
        f.ctx.compress.keep_first_last = false;
        const struct tsl_value *v = tsl_graph_find_value(f.g, "w0");
        float *orig;
        int64_t n;
        tsl_shape_numel(&v->type.shape, &n);
        assert_int_equal(tsl_const_decode(v, (void **)&orig, NULL), TSL_STATUS_OK);
        run(&f, "codebook");
        mse[km] = mse_of(tsl_graph_find_value(f.g, "w0"), orig, n);
        free(orig);
        teardown(&f);
        rng = 88172645463325252ull;
    }
    assert_true(mse[1] <= mse[0] * 1.0001);
}

static void test_prune_then_codebook(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.prune_sparsity = 0.5;
    f.ctx.compress.codebook_bits = 4;
    run(&f, "prune");
    int64_t n, before = pruned_of(tsl_graph_find_value(f.g, "w1"), &n);
    uint8_t mask[64];
    memcpy(mask, tsl_graph_find_value(f.g, "w1")->constant->mask, (size_t)tsl_bitset_bytes(n));
    run(&f, "codebook");
    const struct tsl_value *v = tsl_graph_find_value(f.g, "w1");
    assert_int_equal(v->constant->encoding, TSL_ENC_CODEBOOK);
    assert_int_equal(pruned_of(v, &n), before);
    assert_memory_equal(v->constant->mask, mask, (size_t)tsl_bitset_bytes(n));
    /* the report merged prune's sparsity and codebook's bits */
    bool seen = false;
    for (uint32_t i = 0; i < f.ctx.n_layers; i++)
        if (!strcmp(f.ctx.layers[i].name, "w1")) {
            seen = true;
            assert_int_equal(f.ctx.layers[i].bits, 4);
            assert_true(fabs(f.ctx.layers[i].sparsity - (double)before / (double)n) < 1e-12);
            assert_int_equal(f.ctx.layers[i].stored_bits, tsl_const_stored_bits(v));
        }
    assert_true(seen);
    teardown(&f);
}

static void test_bad_options(void **s)
{
    (void)s;
    struct fixture f;
    setup(&f);
    f.ctx.compress.codebook_bits = 9;
    assert_int_equal(tsl_pass_run_pipeline(f.g, "codebook", &f.ctx), TSL_STATUS_INVALID_ARG);
    f.ctx.compress.prune_sparsity = 1.0;
    assert_int_equal(tsl_pass_run_pipeline(f.g, "prune", &f.ctx), TSL_STATUS_INVALID_ARG);
    teardown(&f);
    /* a graph without weights */
    struct tsl_graph *g;
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    tsl_pass_context_init(&ctx, &d);
    ctx.compress.codebook_bits = 4;
    const char *txt = "graph \"e\" { input %x : f32[2]\n output %x }";
    assert_int_equal(tsl_graph_from_text(txt, strlen(txt), "e", &g, &d), TSL_STATUS_OK);
    assert_int_equal(tsl_pass_run_pipeline(g, "codebook", &ctx), TSL_STATUS_INVALID_ARG);
    assert_non_null(strstr(tsl_diag_first_error(&d)->message, "no compressible layer"));
    tsl_graph_destroy(g);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
}

static void test_kth(void **s)
{
    (void)s;
    float a[101], b[101];
    for (int t = 0; t < 50; t++) {
        for (int i = 0; i < 101; i++)
            a[i] = b[i] = (float)(int)(frand() * 10); /* many ties */
        int k = t * 2;
        float got = tsl_cw_kth_smallest(a, 101, k);
        int less = 0, le = 0;
        for (int i = 0; i < 101; i++) {
            less += b[i] < got;
            le += b[i] <= got;
        }
        assert_true(less <= k && k < le);
    }
}

/* A folding pass changes results by rounding only: run the reference on
 * golden case dir/<case>.tir before and after `pipeline`, which must leave
 * no node of op `gone`. */
static void check_fold_numeric(const char *dir, const char *const *cases, size_t n_cases,
                               const char *pipeline, const enum tsl_op *gone, size_t n_gone)
{
    const char *src = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(src);
    for (size_t c = 0; c < n_cases; c++) {
        char *path = tsl_asprintf("%s/tests/passes/%s/%s.tir", src, dir, cases[c]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        char buf[16384];
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_graph *g;
        assert_int_equal(tsl_graph_from_text(buf, len, path, &g, &d), TSL_STATUS_OK);
        struct tsl_pass_context ctx;
        tsl_pass_context_init(&ctx, &d);
        ctx.verify_each = true;
        assert_int_equal(tsl_pass_run_pipeline(g, "infer-shapes", &ctx), TSL_STATUS_OK);
        struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape};
        int64_t n;
        tsl_shape_numel(&in.shape, &n);
        for (int trial = 0; trial < 3; trial++) {
            float *x = malloc((size_t)n * sizeof *x);
            for (int64_t i = 0; i < n; i++)
                x[i] = frand() * 3;
            in.data = x;
            struct tsl_tensor *o1, *o2;
            uint32_t n1, n2;
            struct tsl_graph *g2;
            assert_int_equal(tsl_graph_clone(g, &g2), TSL_STATUS_OK);
            assert_int_equal(tsl_ref_run(g, &in, 1, &o1, &n1, NULL, &d), TSL_STATUS_OK);
            assert_int_equal(tsl_pass_run_pipeline(g2, pipeline, &ctx), TSL_STATUS_OK);
            for (const struct tsl_node *nd = g2->first; nd; nd = nd->next)
                for (size_t k = 0; k < n_gone; k++)
                    assert_int_not_equal(nd->op, gone[k]);
            assert_int_equal(tsl_ref_run(g2, &in, 1, &o2, &n2, NULL, &d), TSL_STATUS_OK);
            int64_t m;
            tsl_shape_numel(&o1[0].shape, &m);
            double num = 0, den = 0;
            for (int64_t i = 0; i < m; i++) {
                double a = ((float *)o1[0].data)[i], b = ((float *)o2[0].data)[i];
                num += (a - b) * (a - b);
                den += a * a;
            }
            assert_true(sqrt(num) <= 1e-5 * sqrt(den) + 1e-12);
            tsl_tensors_free(o1, n1);
            tsl_tensors_free(o2, n2);
            tsl_graph_destroy(g2);
            free(x);
        }
        tsl_graph_destroy(g);
        tsl_pass_context_fini(&ctx);
        tsl_diag_fini(&d);
        free(path);
    }
}

/* fold-batchnorm numerics on every golden case. */
static void test_fold_bn_numeric(void **s)
{
    (void)s;
    static const char *const cases[] = {"conv_nobias", "conv_bias", "conv_transpose",
                                        "gemm_transb"};
    const enum tsl_op gone[] = {TSL_OP_BATCH_NORM};
    check_fold_numeric("fold-batchnorm", cases, 4, "fold-batchnorm,dce,infer-shapes", gone, 1);
}

/* fold-conv-affine numerics on the golden cases that fold. */
static void test_fold_affine_numeric(void **s)
{
    (void)s;
    static const char *const cases[] = {"conv_mul_add", "convt_add"};
    const enum tsl_op gone[] = {TSL_OP_MUL, TSL_OP_ADD, TSL_OP_SUB};
    check_fold_numeric("fold-conv-affine", cases, 2, "fold-conv-affine,dce,infer-shapes", gone, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_global_exact),     cmocka_unit_test(test_per_layer_and_keep),
        cmocka_unit_test(test_two_four),         cmocka_unit_test(test_channel),
        cmocka_unit_test(test_codebook),         cmocka_unit_test(test_kmeans_not_worse),
        cmocka_unit_test(test_prune_then_codebook), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_kth),              cmocka_unit_test(test_fold_bn_numeric),
        cmocka_unit_test(test_fold_affine_numeric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
