/* conformance.h - internals of the ONNX backend node-test harness
 * (run_node_tests): tensor comparison with ONNX's tolerance rule, the
 * expected-failure and tolerance-override lists, and the report writers.
 *
 * This is test code, shared only by the files of tests/conformance; it is
 * not a tessel library API.  It does not import models or run them (that is
 * run_node_tests.c, through tessel::frontend_onnx and
 * tessel::backend_reference). */
#ifndef TESSEL_CONFORMANCE_H
#define TESSEL_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "tessel/reference.h"

/* ONNX's backend-test defaults (onnx/backend/test/runner): a float element
 * matches when |got - want| <= atol + rtol * |want|. */
#define TSL_CONF_RTOL 1e-3
#define TSL_CONF_ATOL 1e-7

/* Compare one produced output against the expected tensor: same dtype and
 * shape exactly, then every element (floats with the tolerance above, NaN
 * equal to NaN, infinities equal when identical; all other types exact).
 * Returns true on match.  On mismatch writes one line into why[why_len]
 * naming `label` (e.g. "output 0 'y'"), the first differing multi-index and
 * both values. */
bool tsl_conf_compare(const struct tsl_tensor *got, const struct tsl_tensor *want,
                      double rtol, double atol, const char *label, char *why,
                      size_t why_len);

/* One entry of a committed list file. */
struct tsl_conf_entry {
    char *test;   /* test name (owned) */
    char *reason; /* text after '#' (owned, never empty) */
    double rtol, atol; /* tolerance lists only */
    bool used;    /* set by the runner when a test of that name was seen */
};

struct tsl_conf_list {
    struct tsl_conf_entry *entries;
    size_t n, cap;
};

/* Parse a list file.  Each non-blank line that is not a pure '#' comment is
 *     <test_name>                     # reason        (with_tolerances=false)
 *     <test_name> <rtol> <atol>       # reason        (with_tolerances=true)
 * and every entry must carry a non-empty reason comment.  On error returns
 * false and writes "FILE:LINE: what" into err.  The list is owned by the
 * caller (tsl_conf_list_fini), also after a failure. */
bool tsl_conf_list_load(const char *path, bool with_tolerances, struct tsl_conf_list *list,
                        char *err, size_t err_len);
/* The entry for `test`, or NULL. */
struct tsl_conf_entry *tsl_conf_list_find(struct tsl_conf_list *list, const char *test);
void tsl_conf_list_fini(struct tsl_conf_list *list);

/* Outcome of one test after the expected-failure list is applied. */
enum tsl_conf_status {
    TSL_CONF_PASS,
    TSL_CONF_FAIL,        /* wrong result, crash, or import/run error */
    TSL_CONF_XFAIL,       /* failed and listed in the expected failures */
    TSL_CONF_XPASS,       /* passed but listed: the list is stale */
    TSL_CONF_UNSUPPORTED, /* import or run reported TSL_STATUS_UNSUPPORTED */
    TSL_CONF_STATUS_COUNT
};

const char *tsl_conf_status_name(enum tsl_conf_status s);

struct tsl_conf_result {
    char *test;   /* owned */
    enum tsl_conf_status status;
    char *ops;    /* distinct IR ops of the imported graph, "A,B" (owned; "" if none) */
    char *detail; /* one line (owned; "" if none) */
};

struct tsl_conf_run {
    const char *data_dir;  /* folder the tests were read from */
    const char *onnx_version; /* from DATADIR/VERSION, "" if unknown */
    const char *filter;    /* NULL if none */
    const char *backend;   /* "ref" or "cpu"; NULL means "ref" */
    const char *xfail_path; /* expected-failures file, NULL if none */
    struct tsl_conf_result *results;
    size_t n_results;
    size_t counts[TSL_CONF_STATUS_COUNT];
    double seconds;
};

/* Write the Markdown report (totals + one table row per test).  false on
 * I/O error, with the reason in err. */
bool tsl_conf_write_markdown(const struct tsl_conf_run *run, const char *path, char *err,
                             size_t err_len);
/* Write the JSON summary: {"onnx_version", "data_dir", "filter", "backend", "totals":
 * {status: count}, "tests": [{"name","status","ops","detail"}]}. */
bool tsl_conf_write_json(const struct tsl_conf_run *run, const char *path, char *err,
                         size_t err_len);

#endif
