/* test_npy.c - the .npy reader and writer: files written by numpy (v1, v2,
 * v3 headers, every dtype family, scalars, empty arrays), an encode/parse
 * round trip of every type, atomic writes, and the malformed corpus in
 * npy_bad/ whose expected messages are listed in npy_bad/expected.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/npy.h"

static char *src_path(const char *rel)
{
    const char *root = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(root);
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static void read_good(const char *rel, struct tsl_npy *a)
{
    char *p = src_path(rel);
    struct tsl_diag d;
    tsl_diag_init(&d);
    enum tsl_status st = tsl_npy_read_file(p, a, &d);
    if (st != TSL_STATUS_OK)
        fail_msg("%s: %s", rel, tsl_diag_first_error(&d)->message);
    tsl_diag_fini(&d);
    free(p);
}

static void test_numpy_files(void **state)
{
    (void)state;
    struct tsl_npy a;
    read_good("tests/reference/npy_good/f32_2x3.npy", &a);
    assert_int_equal(a.type, TSL_NPY_F32);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[0], 2);
    assert_int_equal(a.dims[1], 3);
    assert_int_equal(a.data_bytes, 24);
    assert_true(((float *)a.data)[5] == 5.0f);
    tsl_npy_fini(&a);
    read_good("tests/reference/npy_good/i64_scalar.npy", &a);
    assert_int_equal(a.type, TSL_NPY_I64);
    assert_int_equal(a.rank, 0);
    assert_int_equal(((int64_t *)a.data)[0], -5);
    tsl_npy_fini(&a);
    read_good("tests/reference/npy_good/bool_4.npy", &a);
    assert_int_equal(a.type, TSL_NPY_BOOL);
    assert_memory_equal(a.data, ((uint8_t[]){1, 0, 0, 1}), 4);
    tsl_npy_fini(&a);
    read_good("tests/reference/npy_good/u16_empty.npy", &a);
    assert_int_equal(a.type, TSL_NPY_U16);
    assert_int_equal(a.dims[0], 0);
    assert_int_equal(a.data_bytes, 0);
    tsl_npy_fini(&a);
    const char *v[] = {"tests/reference/npy_good/f64_v2.npy",
                       "tests/reference/npy_good/f64_v3.npy"};
    for (int i = 0; i < 2; i++) {
        read_good(v[i], &a);
        assert_int_equal(a.type, TSL_NPY_F64);
        assert_true(((double *)a.data)[1] == -2.25);
        tsl_npy_fini(&a);
    }
    read_good("tests/reference/npy_good/f16_2.npy", &a);
    assert_int_equal(a.type, TSL_NPY_F16);
    assert_memory_equal(a.data, ((uint16_t[]){0x3c00, 0xb800}), 4);
    tsl_npy_fini(&a);
    read_good("tests/reference/npy_good/i8_3.npy", &a);
    assert_int_equal(a.type, TSL_NPY_I8);
    assert_memory_equal(a.data, ((int8_t[]){-128, 0, 127}), 3);
    tsl_npy_fini(&a);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t payload[48];
    for (int i = 0; i < 48; i++)
        payload[i] = (uint8_t)(i % 2);
    for (int t = 0; t < TSL_NPY_TYPE_COUNT; t++) {
        size_t es = tsl_npy_type_size((enum tsl_npy_type)t);
        struct tsl_npy a = {.type = (enum tsl_npy_type)t, .rank = 3, .dims = {2, 1, 3},
                            .data = payload, .data_bytes = 6 * es};
        uint8_t *buf;
        size_t len;
        assert_int_equal(tsl_npy_encode(&a, &buf, &len, NULL), TSL_STATUS_OK);
        assert_int_equal((len - a.data_bytes) % 64, 0);
        struct tsl_npy b;
        assert_int_equal(tsl_npy_parse(buf, len, "rt", &b, NULL), TSL_STATUS_OK);
        assert_int_equal(b.type, t);
        assert_int_equal(b.rank, 3);
        assert_int_equal(b.dims[2], 3);
        assert_memory_equal(b.data, payload, a.data_bytes);
        assert_int_equal(tsl_npy_type_from_name(tsl_npy_type_name(b.type)), t);
        tsl_npy_fini(&b);
        free(buf);
    }
    /* data length must match the shape */
    struct tsl_npy bad = {.type = TSL_NPY_F32, .rank = 1, .dims = {4}, .data = payload,
                          .data_bytes = 12};
    uint8_t *buf;
    size_t len;
    assert_int_equal(tsl_npy_encode(&bad, &buf, &len, NULL), TSL_STATUS_INVALID_ARG);
}

static void test_write_file(void **state)
{
    (void)state;
    const char *bin = getenv("TESSEL_BINARY_DIR");
    assert_non_null(bin);
    char path[1024];
    snprintf(path, sizeof path, "%s/npy_test_out.npy", bin);
    float v[2] = {1, 2};
    struct tsl_npy a = {.type = TSL_NPY_F32, .rank = 1, .dims = {2}, .data = v,
                        .data_bytes = 8};
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_npy_write_file(path, &a, &d), TSL_STATUS_OK);
    struct tsl_npy b;
    assert_int_equal(tsl_npy_read_file(path, &b, &d), TSL_STATUS_OK);
    assert_memory_equal(b.data, v, 8);
    tsl_npy_fini(&b);
    remove(path);
    snprintf(path, sizeof path, "%s/no/such/dir/x.npy", bin);
    assert_int_equal(tsl_npy_write_file(path, &a, &d), TSL_STATUS_IO);
    assert_string_equal(tsl_diag_first_error(&d)->where, path);
    FILE *f = fopen(path, "rb");
    assert_null(f);
    tsl_diag_fini(&d);
}

static void test_bad_corpus(void **state)
{
    (void)state;
    char *list = src_path("tests/reference/npy_bad/expected.txt");
    FILE *f = fopen(list, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *bar = strchr(line, '|');
        assert_non_null(bar);
        *bar = 0;
        char rel[600];
        snprintf(rel, sizeof rel, "tests/reference/npy_bad/%s", line);
        char *p = src_path(rel);
        struct tsl_diag d;
        tsl_diag_init(&d);
        struct tsl_npy a;
        enum tsl_status st = tsl_npy_read_file(p, &a, &d);
        if (st != TSL_STATUS_PARSE)
            fail_msg("%s: expected PARSE, got %s", line, tsl_status_str(st));
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        assert_non_null(e);
        assert_string_equal(e->where, p);
        if (!strstr(e->message, bar + 1))
            fail_msg("%s: message '%s' lacks '%s'", line, e->message, bar + 1);
        assert_null(a.data);
        tsl_diag_fini(&d);
        free(p);
        n++;
    }
    fclose(f);
    free(list);
    assert_true(n >= 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_files),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_bad_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
