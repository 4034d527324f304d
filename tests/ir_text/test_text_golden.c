/* test_text_golden.c - golden IR text files: every .tir file in tests/ir_text/golden
 * must parse, and printing the parsed graph must reproduce the file byte for
 * byte (the files are in canonical form).  The parsed graph must also print
 * the same after a clone, and render to Graphviz. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/text.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void check_golden(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_graph_from_text(text, len, path, &g, &d);
    if (st != TSL_STATUS_OK)
        fprintf(stderr, "%s: %s\n", tsl_diag_first_error(&d)->where,
                tsl_diag_first_error(&d)->message);
    assert_int_equal(st, TSL_STATUS_OK);
    tsl_diag_fini(&d);
    char *out;
    assert_int_equal(tsl_graph_to_text(g, NULL, &out), TSL_STATUS_OK);
    if (strcmp(out, text))
        fprintf(stderr, "%s: printed form differs:\n%s", path, out);
    assert_string_equal(out, text);
    struct tsl_graph *c;
    char *out2, *dot;
    assert_int_equal(tsl_graph_clone(g, &c), TSL_STATUS_OK);
    assert_int_equal(tsl_graph_to_text(c, NULL, &out2), TSL_STATUS_OK);
    assert_string_equal(out2, text);
    assert_int_equal(tsl_graph_to_dot(g, &dot), TSL_STATUS_OK);
    assert_true(strncmp(dot, "digraph ", 8) == 0);
    free(dot);
    free(out2);
    tsl_graph_destroy(c);
    free(out);
    tsl_graph_destroy(g);
    free(text);
}

static void test_golden_files(void **state)
{
    (void)state;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(src);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/ir_text/golden", src);
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int n = 0;
    for (struct dirent *e; (e = readdir(dh));) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".tir") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_golden(path);
        n++;
    }
    closedir(dh);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
