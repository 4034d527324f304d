/* report.c - writes the results of a conformance run as a Markdown report
 * (totals, then one table row per test: test | status | detail) and as a
 * JSON summary (cJSON).  Both are written to a temporary name and renamed,
 * so a failed write never leaves a partial report.
 *
 * It does not run tests or pick the exit status (run_node_tests.c does). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "tessel/util.h"

static const char *const status_names[TSL_CONF_STATUS_COUNT] = {
    [TSL_CONF_PASS] = "pass",
    [TSL_CONF_FAIL] = "fail",
    [TSL_CONF_XFAIL] = "xfail",
    [TSL_CONF_XPASS] = "xpass",
    [TSL_CONF_UNSUPPORTED] = "unsupported",
};

const char *tsl_conf_status_name(enum tsl_conf_status s)
{
    return (unsigned)s < TSL_CONF_STATUS_COUNT ? status_names[s] : "?";
}

/* Open path.tmp for writing; *tmp_out is the malloc'ed temporary name. */
static FILE *open_tmp(const char *path, char **tmp_out, char *err, size_t err_len)
{
    *tmp_out = tsl_asprintf("%s.tmp", path);
    if (!*tmp_out) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    FILE *f = fopen(*tmp_out, "w");
    if (!f) {
        snprintf(err, err_len, "%s: %s", *tmp_out, strerror(errno));
        free(*tmp_out);
        *tmp_out = NULL;
    }
    return f;
}

/* Close f and rename tmp to path; on any failure remove tmp. */
static bool commit_tmp(FILE *f, char *tmp, const char *path, char *err, size_t err_len)
{
    bool ok = !ferror(f);
    if (fclose(f) != 0)
        ok = false;
    if (!ok)
        snprintf(err, err_len, "%s: write error", tmp);
    else if (rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        ok = false;
    }
    if (!ok)
        remove(tmp);
    free(tmp);
    return ok;
}

/* Markdown table cells: '|' would end the cell, backquotes and newlines
 * would break the row. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void write_table(FILE *f, const struct tsl_conf_run *run, bool failures_only)
{
    fprintf(f, "| test | status | ops | detail |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < run->n_results; i++) {
        const struct tsl_conf_result *r = &run->results[i];
        if (failures_only && r->status != TSL_CONF_FAIL && r->status != TSL_CONF_XFAIL &&
            r->status != TSL_CONF_XPASS)
            continue;
        fprintf(f, "| %s | %s | ", r->test, status_names[r->status]);
        md_cell(f, r->ops);
        fprintf(f, " | ");
        md_cell(f, r->detail);
        fprintf(f, " |\n");
    }
}

bool tsl_conf_write_markdown(const struct tsl_conf_run *run, const char *path, char *err,
                             size_t err_len)
{
    char *tmp;
    FILE *f = open_tmp(path, &tmp, err, err_len);
    if (!f)
        return false;
    bool cpu = run->backend && !strcmp(run->backend, "cpu");
    fprintf(f, "# ONNX backend node tests: tessel %s\n\n",
            cpu ? "cpu backend (LLVM)" : "reference interpreter");
    fprintf(f, "Test data: onnx %s node tests from `%s`", *run->onnx_version ? run->onnx_version
                                                                         : "(unknown version)",
            run->data_dir);
    if (run->filter)
        fprintf(f, ", filter `%s`", run->filter);
    fprintf(f, ". %zu tests in %.1f s.\n\n", run->n_results, run->seconds);
    fprintf(f, "| status | count |\n| --- | ---: |\n");
    for (int s = 0; s < TSL_CONF_STATUS_COUNT; s++)
        fprintf(f, "| %s | %zu |\n", status_names[s], run->counts[s]);
    fprintf(f, "| total | %zu |\n\n", run->n_results);
    const char *xf = run->xfail_path ? strrchr(run->xfail_path, '/') : NULL;
    fprintf(f, "`xfail` = fails and is listed in tests/conformance/%s; "
               "`xpass` = listed there but passes (remove it).\n\n",
            xf ? xf + 1 : run->xfail_path ? run->xfail_path : "expected_failures.txt");
    size_t n_bad = run->counts[TSL_CONF_FAIL] + run->counts[TSL_CONF_XFAIL] +
                   run->counts[TSL_CONF_XPASS];
    if (n_bad > 0) {
        fprintf(f, "## Failures (fail, xfail, xpass)\n\n");
        write_table(f, run, true);
        fprintf(f, "\n## All tests\n\n");
    }
    write_table(f, run, false);
    return commit_tmp(f, tmp, path, err, err_len);
}

bool tsl_conf_write_json(const struct tsl_conf_run *run, const char *path, char *err,
                         size_t err_len)
{
    cJSON *root = cJSON_CreateObject(), *totals = NULL, *tests = NULL;
    bool ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "onnx_version", run->onnx_version);
    ok = ok && cJSON_AddStringToObject(root, "backend", run->backend ? run->backend : "ref");
    ok = ok && cJSON_AddStringToObject(root, "data_dir", run->data_dir);
    ok = ok && (run->filter ? cJSON_AddStringToObject(root, "filter", run->filter)
                            : cJSON_AddNullToObject(root, "filter"));
    ok = ok && cJSON_AddNumberToObject(root, "seconds", run->seconds);
    ok = ok && (totals = cJSON_AddObjectToObject(root, "totals"));
    for (int s = 0; ok && s < TSL_CONF_STATUS_COUNT; s++)
        ok = cJSON_AddNumberToObject(totals, status_names[s], (double)run->counts[s]) != NULL;
    ok = ok && cJSON_AddNumberToObject(totals, "total", (double)run->n_results);
    ok = ok && (tests = cJSON_AddArrayToObject(root, "tests"));
    for (size_t i = 0; ok && i < run->n_results; i++) {
        const struct tsl_conf_result *r = &run->results[i];
        cJSON *t = cJSON_CreateObject();
        ok = t && cJSON_AddItemToArray(tests, t);
        if (!ok) {
            cJSON_Delete(t);
            break;
        }
        ok = cJSON_AddStringToObject(t, "name", r->test) &&
             cJSON_AddStringToObject(t, "status", status_names[r->status]) &&
             cJSON_AddStringToObject(t, "ops", r->ops) &&
             cJSON_AddStringToObject(t, "detail", r->detail);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        snprintf(err, err_len, "%s: out of memory building JSON", path);
        return false;
    }
    char *tmp;
    FILE *f = open_tmp(path, &tmp, err, err_len);
    if (f) {
        fputs(text, f);
        fputc('\n', f);
    }
    cJSON_free(text);
    return f && commit_tmp(f, tmp, path, err, err_len);
}
