/* test_onnx_golden.c - golden tests of the ONNX importer: each model listed
 * in models.txt is imported (with shape inference and verification) and
 * printed in the IR text form; the text must equal the committed
 * <name>.tir byte for byte.  UPDATE=1 in the environment rewrites the
 * expectations instead (review the diff before committing).  The text form
 * itself is tested in tests/ir_text; this pins down what the importer
 * builds: attribute defaults, opset conversions, constants, types. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "tessel/onnx.h"
#include "tessel/text.h"


static void check_model(const char *src, const char *model, const char *golden)
{
    char path[1024], gpath[1024];
    snprintf(path, sizeof path, "%s/%s", src, model);
    snprintf(gpath, sizeof gpath, "%s/tests/onnx_golden/%s", src, golden);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_onnx_import_file(path, NULL, &g, &d);
    if (st != TSL_STATUS_OK)
        fail_msg("%s: import failed: %s", model,
                 tsl_diag_first_error(&d) ? tsl_diag_first_error(&d)->message : "?");
    char *text = NULL;
    assert_int_equal(tsl_graph_to_text(g, NULL, &text), TSL_STATUS_OK);
    const char *update = getenv("UPDATE");
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(gpath, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    } else {
        size_t len = 0;
        char *want = tsl_test_read_file(gpath, &len);
        if (!want)
            fail_msg("%s: no golden file %s (run with UPDATE=1)", model, gpath);
        if (strcmp(want, text) != 0) {
            size_t line = 1, i = 0;
            while (want[i] && want[i] == text[i]) {
                if (want[i] == '\n')
                    line++;
                i++;
            }
            fail_msg("%s: IR text differs from %s at line %zu", model, golden, line);
        }
        free(want);
    }
    free(text);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

static void test_importer_golden(void **state)
{
    (void)state;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(src);
    char list[1024];
    snprintf(list, sizeof list, "%s/tests/onnx_golden/models.txt", src);
    FILE *f = fopen(list, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char model[256], golden[256];
        if (line[0] == '#' || sscanf(line, "%255s %255s", model, golden) != 2)
            continue;
        check_model(src, model, golden);
        n++;
    }
    fclose(f);
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_importer_golden)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
