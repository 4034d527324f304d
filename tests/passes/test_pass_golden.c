/* test_pass_golden.c - golden tests of the IR passes.
 *
 * Every tests/passes/<pass>/<case>.tir starts with a line
 *     # RUN: <pipeline> [option ...]
 * options: prune=S, kind=unstructured|channel|2:4, per-layer, codebook=BITS,
 * kmeans, all-layers (keep_first_last off).  The runner parses the file,
 * runs the pipeline with verify-each on and the reference backend as the
 * constant evaluator, prints the graph (full constants) and compares it byte
 * for byte with <case>.expected.tir.  UPDATE=1 rewrites the expectations.
 * Also checks that the expectation parses back to the same text. */
#define _DEFAULT_SOURCE /* DT_REG */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "tessel/passes.h"
#include "tessel/reference.h"
#include "tessel/text.h"
#include "tessel/util.h"


/* Parse "# RUN: pipeline opts..." into ctx options; returns the pipeline. */
static char *parse_run(const char *text, struct tsl_pass_context *ctx)
{
    if (strncmp(text, "# RUN: ", 7))
        return NULL;
    const char *eol = strchr(text, '\n');
    char *line = strndup(text + 7, eol ? (size_t)(eol - text - 7) : strlen(text + 7));
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    char *pipeline = tok ? strdup(tok) : NULL;
    while ((tok = strtok_r(NULL, " ", &save))) {
        if (!strncmp(tok, "prune=", 6))
            ctx->compress.prune_sparsity = atof(tok + 6);
        else if (!strcmp(tok, "kind=channel"))
            ctx->compress.prune_kind = TSL_PRUNE_CHANNEL;
        else if (!strcmp(tok, "kind=2:4"))
            ctx->compress.prune_kind = TSL_PRUNE_2_4;
        else if (!strcmp(tok, "per-layer"))
            ctx->compress.prune_per_layer = true;
        else if (!strncmp(tok, "codebook=", 9))
            ctx->compress.codebook_bits = atoi(tok + 9);
        else if (!strcmp(tok, "kmeans"))
            ctx->compress.codebook_kmeans = true;
        else if (!strcmp(tok, "all-layers"))
            ctx->compress.keep_first_last = false;
        else
            fail_msg("unknown RUN option '%s'", tok);
    }
    free(line);
    return pipeline;
}

static int run_case(const char *dir, const char *name, bool update)
{
    char *path = tsl_asprintf("%s/%s", dir, name);
    char *exp_path = tsl_asprintf("%.*s.expected.tir", (int)(strlen(path) - 4), path);
    size_t len = 0, elen = 0;
    char *text = tsl_test_read_file(path, &len);
    assert_non_null(text);
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_pass_context ctx;
    tsl_pass_context_init(&ctx, &diag);
    ctx.verify_each = true;
    ctx.eval_node = tsl_ref_eval_node;
    char *pipeline = parse_run(text, &ctx);
    if (!pipeline)
        fail_msg("%s: first line must be '# RUN: <pipeline>'", path);
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_graph_from_text(text, len, path, &g, &diag);
    if (st != TSL_STATUS_OK)
        fail_msg("%s: %s", path, tsl_diag_first_error(&diag)->message);
    st = tsl_pass_run_pipeline(g, pipeline, &ctx);
    if (st != TSL_STATUS_OK)
        fail_msg("%s: pipeline failed: %s: %s", path, tsl_diag_first_error(&diag)->where,
                 tsl_diag_first_error(&diag)->message);
    char *out = NULL;
    assert_int_equal(tsl_graph_to_text(g, NULL, &out), TSL_STATUS_OK);
    int bad = 0;
    if (update) {
        FILE *f = fopen(exp_path, "wb");
        assert_non_null(f);
        fputs(out, f);
        fclose(f);
    } else {
        char *expect = tsl_test_read_file(exp_path, &elen);
        if (!expect) {
            print_error("%s: missing (run with UPDATE=1)\n", exp_path);
            bad = 1;
        } else if (strcmp(expect, out)) {
            print_error("%s: output differs from %s:\n--- got ---\n%s", path, exp_path, out);
            bad = 1;
        } else {
            /* the expectation is real IR text: it parses back to itself */
            struct tsl_graph *g2 = NULL;
            char *out2 = NULL;
            assert_int_equal(tsl_graph_from_text(expect, elen, exp_path, &g2, &diag),
                             TSL_STATUS_OK);
            assert_int_equal(tsl_graph_to_text(g2, NULL, &out2), TSL_STATUS_OK);
            assert_string_equal(out2, expect);
            free(out2);
            tsl_graph_destroy(g2);
        }
        free(expect);
    }
    free(out);
    tsl_graph_destroy(g);
    tsl_pass_context_fini(&ctx);
    tsl_diag_fini(&diag);
    free(pipeline);
    free(text);
    free(path);
    free(exp_path);
    return bad;
}

static bool is_case(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".tir") &&
           !(n > 13 && !strcmp(name + n - 13, ".expected.tir"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(void **state)
{
    (void)state;
    const char *src = getenv("TESSEL_SOURCE_DIR");
    assert_non_null(src);
    const char *upd = getenv("UPDATE");
    bool update = upd && !strcmp(upd, "1");
    static const char *const dirs[] = {"infer-shapes", "fold-constants", "remove-noops",
                                       "fold-batchnorm", "fold-conv-affine", "dce", "prune",
                                       "codebook"};
    int cases = 0, failures = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char *dir = tsl_asprintf("%s/tests/passes/%s", src, dirs[d]);
        DIR *dh = opendir(dir);
        assert_non_null(dh);
        char *names[256];
        size_t n = 0;
        for (struct dirent *e; (e = readdir(dh)) && n < 256;)
            if (is_case(e->d_name))
                names[n++] = strdup(e->d_name);
        closedir(dh);
        qsort(names, n, sizeof *names, cmp_str);
        if (n == 0)
            fail_msg("%s: no cases", dir);
        for (size_t i = 0; i < n; i++) {
            failures += run_case(dir, names[i], update);
            cases++;
            free(names[i]);
        }
        free(dir);
    }
    print_message("%d golden cases, %d failed\n", cases, failures);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
