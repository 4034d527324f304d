/* test_compare.c - unit tests of the conformance harness itself: the
 * ONNX tolerance rule and mismatch messages (compare.c) and the parsing of
 * the committed list files (lists.c).  It does not run ONNX tests. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

static struct tsl_tensor tensor(enum tsl_dtype dt, int32_t rank, const int64_t *dims, void *data)
{
    struct tsl_tensor t = {.dtype = dt, .data = data};
    t.shape.rank = rank;
    for (int32_t i = 0; i < rank; i++)
        t.shape.dims[i] = dims[i];
    return t;
}

static bool cmp(const struct tsl_tensor *g, const struct tsl_tensor *w, char *why, size_t len)
{
    why[0] = '\0';
    return tsl_conf_compare(g, w, TSL_CONF_RTOL, TSL_CONF_ATOL, "output 0 'y'", why, len);
}

static void test_compare_f32_tolerance(void **state)
{
    (void)state;
    char why[512];
    int64_t dims[2] = {2, 2};
    float want[4] = {1.0f, -2.0f, 0.0f, 1000.0f};
    float inside[4] = {1.0009f, -2.0019f, 5e-8f, 1000.9f};
    float outside[4] = {1.0f, -2.0f, 0.0f, 1001.2f};
    struct tsl_tensor w = tensor(TSL_DTYPE_F32, 2, dims, want);
    struct tsl_tensor g = tensor(TSL_DTYPE_F32, 2, dims, inside);
    assert_true(cmp(&g, &w, why, sizeof why));
    g.data = outside;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "output 0 'y' f32 at [1,1]"));
    assert_non_null(strstr(why, "got 1001.2"));
    assert_non_null(strstr(why, "expected 1000"));
    /* atol alone near zero: 2e-7 is outside 1e-7 + 1e-3 * 0 */
    float tiny[4] = {1.0f, -2.0f, 2e-7f, 1000.0f};
    g.data = tiny;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "[1,0]"));
}

static void test_compare_nan_and_inf(void **state)
{
    (void)state;
    char why[512];
    int64_t dims[1] = {3};
    double want[3] = {NAN, INFINITY, -INFINITY};
    double same[3] = {NAN, INFINITY, -INFINITY};
    double num[3] = {0.0, INFINITY, -INFINITY};
    double flipped[3] = {NAN, -INFINITY, -INFINITY};
    struct tsl_tensor w = tensor(TSL_DTYPE_F64, 1, dims, want);
    struct tsl_tensor g = tensor(TSL_DTYPE_F64, 1, dims, same);
    assert_true(cmp(&g, &w, why, sizeof why));
    g.data = num;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "[0]"));
    g.data = flipped;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "[1]"));
}

static void test_compare_ints_exact(void **state)
{
    (void)state;
    char why[512];
    int64_t dims[1] = {3};
    int64_t want[3] = {1, 2, INT64_MAX};
    int64_t got[3] = {1, 2, INT64_MAX - 1};
    struct tsl_tensor w = tensor(TSL_DTYPE_I64, 1, dims, want);
    struct tsl_tensor g = tensor(TSL_DTYPE_I64, 1, dims, want);
    assert_true(cmp(&g, &w, why, sizeof why));
    g.data = got;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "i64 at [2]: got 9223372036854775806, expected 9223372036854775807"));
    uint8_t bw[2] = {1, 0}, bg[2] = {1, 1};
    w = tensor(TSL_DTYPE_BOOL, 1, dims, bw);
    g = tensor(TSL_DTYPE_BOOL, 1, dims, bg);
    w.shape.dims[0] = g.shape.dims[0] = 2;
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_non_null(strstr(why, "bool at [1]: got 1, expected 0"));
}

static void test_compare_dtype_and_shape(void **state)
{
    (void)state;
    char why[512];
    int64_t d23[2] = {2, 3}, d32[2] = {3, 2}, d6[1] = {6};
    float buf[6] = {0};
    struct tsl_tensor w = tensor(TSL_DTYPE_F32, 2, d23, buf);
    struct tsl_tensor g = tensor(TSL_DTYPE_F32, 2, d32, buf);
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_string_equal(why, "output 0 'y': shape [3,2], expected [2,3]");
    g = tensor(TSL_DTYPE_F32, 1, d6, buf);
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_string_equal(why, "output 0 'y': shape [6], expected [2,3]");
    g = tensor(TSL_DTYPE_I32, 2, d23, buf);
    assert_false(cmp(&g, &w, why, sizeof why));
    assert_string_equal(why, "output 0 'y': dtype i32, expected f32");
    /* scalars and empty tensors compare by shape only */
    struct tsl_tensor s0 = tensor(TSL_DTYPE_F32, 0, NULL, buf);
    assert_true(cmp(&s0, &s0, why, sizeof why));
    int64_t d0[2] = {0, 3};
    struct tsl_tensor e = tensor(TSL_DTYPE_F32, 2, d0, NULL);
    assert_true(cmp(&e, &e, why, sizeof why));
}

/* Write text to a fresh temporary file; returns its malloc'ed path. */
static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/tsl_conf_list_XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static bool load(const char *text, bool tol, struct tsl_conf_list *l, char *err, size_t len)
{
    char *path = temp_file(text);
    bool ok = tsl_conf_list_load(path, tol, l, err, len);
    unlink(path);
    free(path);
    return ok;
}

static void test_lists_parse(void **state)
{
    (void)state;
    struct tsl_conf_list l;
    char err[512];
    assert_true(load("# header\n\ntest_a   # quirk one\n  test_b\t#quirk two  \n", false, &l,
                     err, sizeof err));
    assert_int_equal(l.n, 2);
    assert_non_null(tsl_conf_list_find(&l, "test_b"));
    assert_string_equal(tsl_conf_list_find(&l, "test_b")->reason, "quirk two");
    assert_null(tsl_conf_list_find(&l, "test_c"));
    tsl_conf_list_fini(&l);

    assert_true(load("test_x 1e-2 1e-5  # fp16 accumulation\n", true, &l, err, sizeof err));
    assert_int_equal(l.n, 1);
    assert_true(l.entries[0].rtol == 1e-2 && l.entries[0].atol == 1e-5);
    tsl_conf_list_fini(&l);
}

static void test_lists_reject(void **state)
{
    (void)state;
    struct tsl_conf_list l;
    char err[512];
    assert_false(load("test_a\n", false, &l, err, sizeof err));
    assert_non_null(strstr(err, ":1: entry 'test_a' needs a '# reason' comment"));
    tsl_conf_list_fini(&l);
    assert_false(load("test_a # r\ntest_a # r\n", false, &l, err, sizeof err));
    assert_non_null(strstr(err, ":2: 'test_a' is listed twice"));
    tsl_conf_list_fini(&l);
    assert_false(load("relu # r\n", false, &l, err, sizeof err));
    assert_non_null(strstr(err, "not an ONNX node test name"));
    tsl_conf_list_fini(&l);
    assert_false(load("test_a 1e-3 # r\n", true, &l, err, sizeof err));
    tsl_conf_list_fini(&l);
    assert_false(load("test_a x 1e-3 # r\n", true, &l, err, sizeof err));
    assert_non_null(strstr(err, "rtol and atol"));
    tsl_conf_list_fini(&l);
    assert_false(load("test_a 1e-3 1e-7 # r\n", false, &l, err, sizeof err));
    tsl_conf_list_fini(&l);
    assert_false(tsl_conf_list_load("/nonexistent/list.txt", false, &l, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/list.txt"));
    tsl_conf_list_fini(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_f32_tolerance),
        cmocka_unit_test(test_compare_nan_and_inf),
        cmocka_unit_test(test_compare_ints_exact),
        cmocka_unit_test(test_compare_dtype_and_shape),
        cmocka_unit_test(test_lists_parse),
        cmocka_unit_test(test_lists_reject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
