/* test_packed.c - the packed container: write -> read round trip (every
 * decoded weight equal bit for bit, for raw, sparse and codebook layers, with
 * bitmask and gap patterns) and the malformed-input corpus
 * tests/passes/packed_bad/<case>.bin, each with <case>.expected holding the
 * message the reader must give. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "tessel/packed.h"
#include "tessel/passes.h"
#include "tessel/text.h"
#include "tessel/util.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Three Conv layers and a MatMul, random weights. */
static struct tsl_graph *make_graph(int64_t c)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){1, c, 2, 2});
    struct tsl_value *cur;
    assert_int_equal(tsl_graph_add_input(g, "x", &tx, &cur), TSL_STATUS_OK);
    for (int l = 0; l < 4; l++) {
        bool mm = l == 3;
        struct tsl_type tw = mm ? tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){2, 7})
                                : tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){c, c, 3, 3});
        int64_t n;
        tsl_shape_numel(&tw.shape, &n);
        float *w = malloc((size_t)n * sizeof *w);
        for (int64_t i = 0; i < n; i++)
            w[i] = frand();
        if (l == 1)
            w[3] = -0.0f; /* signed zero survives raw and sparse storage */
        char name[8];
        snprintf(name, sizeof name, "w%d", l);
        struct tsl_value *wv;
        assert_int_equal(tsl_graph_add_dense_constant(g, name, &tw, w, &wv), TSL_STATUS_OK);
        free(w);
        struct tsl_value *in[2] = {cur, wv};
        struct tsl_node *nd;
        assert_int_equal(tsl_graph_add_node(g, mm ? TSL_OP_MATMUL : TSL_OP_CONV, NULL, 2, in, 1,
                                            &nd, NULL), TSL_STATUS_OK);
        if (!mm) {
            nd->attrs.conv.kernel_shape = (struct tsl_ints){2, {3, 3}};
            nd->attrs.conv.pads = (struct tsl_ints){4, {1, 1, 1, 1}};
        }
        cur = nd->outputs[0];
    }
    assert_int_equal(tsl_graph_add_output(g, cur), TSL_STATUS_OK);
    return g;
}

static void roundtrip_coded(double sparsity, int bits, bool keep, enum tsl_index_coding coding)
{
    struct tsl_graph *g = make_graph(sparsity > 0.9 ? 40 : 6);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_pass_context ctx;
    tsl_pass_context_init(&ctx, &d);
    ctx.compress.prune_sparsity = sparsity;
    ctx.compress.codebook_bits = bits;
    ctx.compress.keep_first_last = keep;
    ctx.compress.index_coding = coding;
    if (sparsity > 0)
        assert_int_equal(tsl_pass_run_pipeline(g, "prune", &ctx), TSL_STATUS_OK);
    if (bits)
        assert_int_equal(tsl_pass_run_pipeline(g, "codebook", &ctx), TSL_STATUS_OK);
    uint8_t *buf;
    size_t len = 0;
    assert_int_equal(tsl_packed_write(g, &buf, &len, &d), TSL_STATUS_OK);
    struct tsl_graph *r;
    if (tsl_packed_read(buf, len, "rt", NULL, &r, &d) != TSL_STATUS_OK)
        fail_msg("read back: %s", tsl_diag_first_error(&d)->message);
    assert_int_equal(r->n_values, 4);
    int64_t stored = 0;
    for (uint32_t i = 0; i < r->n_values; i++) {
        const struct tsl_value *a = r->values[i], *b = tsl_graph_find_value(g, a->name);
        assert_non_null(b);
        assert_true(tsl_shape_equal(&a->type.shape, &b->type.shape));
        void *da, *db;
        int64_t n;
        tsl_shape_numel(&a->type.shape, &n);
        assert_int_equal(tsl_const_decode(a, &da, &d), TSL_STATUS_OK);
        assert_int_equal(tsl_const_decode(b, &db, &d), TSL_STATUS_OK);
        assert_memory_equal(da, db, (size_t)n * 4);
        if (b->constant->encoding == TSL_ENC_CODEBOOK) {
            assert_int_equal(a->constant->coding, coding);
            assert_int_equal(tsl_const_stored_bits(a), tsl_const_stored_bits(b));
        }
        free(da);
        free(db);
        stored += tsl_const_stored_bits(b);
    }
    /* the container never stores more than the IR accounting (+ headers) */
    assert_true((int64_t)len * 8 <= stored + 8 * 600);
    /* writing the read-back graph's constants is not possible (no layers), but
     * truncating the container anywhere must fail cleanly */
    for (size_t cut = 0; cut < len; cut += 1 + len / 97) {
        struct tsl_graph *t = NULL;
        assert_int_equal(tsl_packed_read(buf, cut, "cut", NULL, &t, &d), TSL_STATUS_PARSE);
        assert_null(t);
    }
    free(buf);
    tsl_graph_destroy(r);
    tsl_graph_destroy(g);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&d);
}

static void roundtrip(double sparsity, int bits, bool keep)
{
    roundtrip_coded(sparsity, bits, keep, TSL_CODING_PACKED);
}

static void test_roundtrip_raw(void **s) { (void)s; roundtrip(0, 0, false); }
static void test_roundtrip_sparse(void **s) { (void)s; roundtrip(0.5, 0, true); }
static void test_roundtrip_gaps(void **s) { (void)s; roundtrip(0.97, 0, false); }
static void test_roundtrip_codebook(void **s)
{
    (void)s;
    for (int b = 1; b <= 8; b++)
        roundtrip(0, b, b % 2);
}
static void test_roundtrip_pruned_codebook(void **s)
{
    (void)s;
    roundtrip(0.5, 4, true);
    roundtrip(0.95, 3, false);
}
static void test_roundtrip_huffman(void **s)
{
    (void)s;
    for (int b = 1; b <= 8; b++) {
        roundtrip_coded(0, b, b % 2, TSL_CODING_HUFFMAN);
        roundtrip_coded(0.6, b, true, TSL_CODING_HUFFMAN);
    }
    roundtrip_coded(0.97, 2, false, TSL_CODING_HUFFMAN);
}


static void test_bad_corpus(void **s)
{
    (void)s;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(src);
    char *dir = tsl_asprintf("%s/tests/passes/packed_bad", src);
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int cases = 0, bad = 0;
    for (struct dirent *e; (e = readdir(dh));) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".bin"))
            continue;
        char *path = tsl_asprintf("%s/%s", dir, e->d_name);
        char *epath = tsl_asprintf("%s/%.*s.expected", dir, (int)(nl - 4), e->d_name);
        size_t len = 0, elen = 0;
        char *data = tsl_test_read_file(path, &len), *expect = tsl_test_read_file(epath, &elen);
        assert_non_null(data);
        assert_non_null(expect);
        while (elen && (expect[elen - 1] == '\n'))
            expect[--elen] = 0;
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_graph *g = NULL;
        enum tsl_status st = tsl_packed_read((const uint8_t *)data, len, e->d_name, NULL, &g, &d);
        const struct tsl_diag_entry *err = tsl_diag_first_error(&d);
        if (st != TSL_STATUS_PARSE || !err || !strstr(err->message, expect)) {
            print_error("%s: expected PARSE with '%s', got %d '%s'\n", e->d_name, expect,
                        (int)st, err ? err->message : "");
            bad++;
        }
        tsl_graph_destroy(g);
        tsl_diag_fini(&d);
        free(data);
        free(expect);
        free(path);
        free(epath);
        cases++;
    }
    closedir(dh);
    free(dir);
    print_message("%d malformed containers\n", cases);
    assert_true(cases >= 15);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_huffman),
        cmocka_unit_test(test_roundtrip_raw),      cmocka_unit_test(test_roundtrip_sparse),
        cmocka_unit_test(test_roundtrip_gaps),     cmocka_unit_test(test_roundtrip_codebook),
        cmocka_unit_test(test_roundtrip_pruned_codebook), cmocka_unit_test(test_bad_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
