/* cmd_inspect.c - `tessel inspect MODEL.onnx [--json] [--dot FILE.dot]`.
 *
 * Imports a model (which also infers shapes and verifies it), counts it with
 * tsl_graph_compute_stats, and prints either a human summary or one JSON
 * object (brief section 4), and optionally writes the graph as Graphviz.  All
 * output is rendered in memory first and the --dot file is written before
 * anything reaches stdout, so a failing run prints nothing but its one error
 * line.  The counting itself lives in ir/stats.c, the import in frontend/onnx;
 * this file only formats. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_io.h"
#include "tessel/onnx.h"
#include "tessel/reference.h"
#include "tessel/stats.h"
#include "tessel/text.h"
#include "tessel/util.h"

static const struct tsl_cli_opt inspect_opts[] = {
    {.long_name = "json", .help = "print one JSON object instead of the summary"},
    {.long_name = "dot", .takes_value = true, .metavar = "FILE.dot",
     .help = "also write the graph as Graphviz to FILE.dot"},
};

static const struct tsl_cli_spec inspect_spec = {
    .command = "inspect",
    .usage = "tessel inspect MODEL.onnx [--json] [--dot FILE.dot]",
    .summary = "Summarize an ONNX model: inputs, outputs, op histogram, parameters and "
               "multiply-accumulates.",
    .opts = inspect_opts,
    .n_opts = TSL_ARRAY_LEN(inspect_opts),
    .min_positional = 1,
    .max_positional = 1,
    .positional_name = "MODEL.onnx",
};

/* ---- shared helpers ------------------------------------------------------ */

static const char *symbol_name(const struct tsl_graph *g, int64_t dim)
{
    uint32_t k = TSL_DIM_SYM_INDEX(dim);
    return k < g->n_symbols && g->symbols[k] ? g->symbols[k] : "?";
}

/* One (op, count) row of the histogram. */
struct op_row {
    enum tsl_op op;
    uint32_t count;
};

/* Most frequent first; ties by name so the order is deterministic. */
static int op_row_cmp(const void *pa, const void *pb)
{
    const struct op_row *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(tsl_op_name(a->op), tsl_op_name(b->op));
}

/* Fills rows (TSL_OP_COUNT entries) with the ops present; returns how many. */
static size_t op_histogram(const struct tsl_graph_stats *s, struct op_row *rows)
{
    size_t n = 0;
    for (int op = 0; op < TSL_OP_COUNT; op++)
        if (s->op_count[op])
            rows[n++] = (struct op_row){(enum tsl_op)op, s->op_count[op]};
    qsort(rows, n, sizeof *rows, op_row_cmp);
    return n;
}

/* Op types present that the runtime cannot execute: ops without a kernel in
 * the reference backend (the oracle that `tessel run` defaults to).  The
 * importer already rejects ONNX ops without an IR op, so
 * for an imported model this is normally empty; out needs TSL_OP_COUNT
 * entries.  Returns how many were written. */
static size_t unsupported_ops(const struct tsl_graph_stats *s, enum tsl_op *out)
{
    size_t n = 0;
    for (int op = 0; op < TSL_OP_COUNT; op++)
        if (s->op_count[op] && !tsl_ref_has_kernel((enum tsl_op)op))
            out[n++] = (enum tsl_op)op;
    return n;
}

/* ---- JSON ----------------------------------------------------------------- */

/* Integers go out as exact raw JSON numbers (cJSON's doubles lose int64). */
static bool add_i64(cJSON *obj, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

static cJSON *json_value(const struct tsl_graph *g, const struct tsl_value *v)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = cJSON_AddStringToObject(o, "name", v->name) &&
              cJSON_AddStringToObject(o, "dtype", tsl_dtype_name(v->type.dtype));
    if (v->type.shape.rank < 0) {
        ok = ok && cJSON_AddNullToObject(o, "shape");
    } else {
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        ok = ok && shape;
        for (int32_t i = 0; ok && i < v->type.shape.rank; i++) {
            int64_t d = v->type.shape.dims[i];
            cJSON *item;
            if (TSL_DIM_IS_SYM(d)) {
                item = cJSON_CreateString(symbol_name(g, d));
            } else {
                char buf[32];
                snprintf(buf, sizeof buf, "%" PRId64, d);
                item = cJSON_CreateRaw(buf);
            }
            ok = item && cJSON_AddItemToArray(shape, item);
            if (!ok)
                cJSON_Delete(item);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool json_values(cJSON *root, const char *key, const struct tsl_graph *g,
                        struct tsl_value *const *vals, uint32_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(root, key);
    if (!arr)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        cJSON *item = json_value(g, vals[i]);
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            return false;
        }
    }
    return true;
}

/* The --json document; NULL on allocation failure.  Caller frees. */
static char *render_json(const struct tsl_graph *g, const struct tsl_graph_stats *s)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    bool ok = cJSON_AddStringToObject(root, "model", g->name ? g->name : "") &&
              cJSON_AddStringToObject(root, "producer", g->producer_name ? g->producer_name : "") &&
              add_i64(root, "opset", g->source_opset) &&
              json_values(root, "inputs", g, g->inputs, g->n_inputs) &&
              json_values(root, "outputs", g, g->outputs, g->n_outputs) &&
              add_i64(root, "nodes", g->n_nodes);
    cJSON *ops = ok ? cJSON_AddObjectToObject(root, "ops") : NULL;
    ok = ok && ops;
    struct op_row rows[TSL_OP_COUNT];
    size_t n_rows = op_histogram(s, rows);
    for (size_t i = 0; ok && i < n_rows; i++)
        ok = add_i64(ops, tsl_op_name(rows[i].op), rows[i].count);
    ok = ok && add_i64(root, "params", s->params) && add_i64(root, "param_bytes", s->param_bytes) &&
         add_i64(root, "macs", s->macs) &&
         cJSON_AddBoolToObject(root, "macs_symbolic", s->macs_symbolic);
    cJSON *unsup = ok ? cJSON_AddArrayToObject(root, "unsupported") : NULL;
    ok = ok && unsup;
    enum tsl_op bad[TSL_OP_COUNT];
    size_t n_bad = ok ? unsupported_ops(s, bad) : 0;
    for (size_t i = 0; ok && i < n_bad; i++) {
        cJSON *item = cJSON_CreateString(tsl_op_name(bad[i]));
        ok = item && cJSON_AddItemToArray(unsup, item);
        if (!ok)
            cJSON_Delete(item);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* ---- human summary ---------------------------------------------------------- */

/* 4318 -> "4.32K", 11689512 -> "11.69M". */
static void human_count(int64_t v, char *buf, size_t size)
{
    if (v < 1000)
        snprintf(buf, size, "%" PRId64, v);
    else if (v < 1000000)
        snprintf(buf, size, "%.2fK", (double)v / 1e3);
    else if (v < 1000000000)
        snprintf(buf, size, "%.2fM", (double)v / 1e6);
    else
        snprintf(buf, size, "%.2fG", (double)v / 1e9);
}

static void print_type(FILE *f, const struct tsl_graph *g, const struct tsl_type *t)
{
    fprintf(f, "%s", tsl_dtype_name(t->dtype));
    if (t->shape.rank < 0) {
        fprintf(f, "[?]");
        return;
    }
    fputc('[', f);
    for (int32_t i = 0; i < t->shape.rank; i++) {
        int64_t d = t->shape.dims[i];
        if (i)
            fputc(',', f);
        if (TSL_DIM_IS_SYM(d))
            fprintf(f, "%s", symbol_name(g, d));
        else
            fprintf(f, "%" PRId64, d);
    }
    fputc(']', f);
}

static void print_values(FILE *f, const struct tsl_graph *g, const char *title,
                         struct tsl_value *const *vals, uint32_t n)
{
    fprintf(f, "%-12s %" PRIu32 "\n", title, n);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(f, "  %-24s ", vals[i]->name);
        print_type(f, g, &vals[i]->type);
        fputc('\n', f);
    }
}

static void print_summary(FILE *f, const char *path, const struct tsl_graph *g,
                          const struct tsl_graph_stats *s)
{
    char buf[32];
    fprintf(f, "%-12s %s\n", "model", g->name ? g->name : "");
    fprintf(f, "%-12s %s\n", "file", path);
    fprintf(f, "%-12s %s\n", "producer",
            g->producer_name && *g->producer_name ? g->producer_name : "(none)");
    fprintf(f, "%-12s %" PRId64 "\n", "opset", g->source_opset);
    print_values(f, g, "inputs", g->inputs, g->n_inputs);
    print_values(f, g, "outputs", g->outputs, g->n_outputs);
    fprintf(f, "%-12s %" PRIu32 "\n", "nodes", g->n_nodes);

    struct op_row rows[TSL_OP_COUNT];
    size_t n_rows = op_histogram(s, rows);
    fprintf(f, "%-12s %zu types\n", "ops", n_rows);
    for (size_t i = 0; i < n_rows; i++)
        fprintf(f, "  %-24s %" PRIu32 "\n", tsl_op_name(rows[i].op), rows[i].count);

    human_count(s->params, buf, sizeof buf);
    fprintf(f, "%-12s %s (%" PRId64 ")\n", "params", buf, s->params);
    fprintf(f, "%-12s %.2f MiB (%" PRId64 " bytes)\n", "param bytes",
            (double)s->param_bytes / (1024.0 * 1024.0), s->param_bytes);
    fprintf(f, "%-12s %.3f G (%" PRId64 ")%s\n", "MACs", (double)s->macs / 1e9, s->macs,
            s->macs_symbolic ? ", symbolic dims counted as 1" : "");

    enum tsl_op bad[TSL_OP_COUNT];
    size_t n_bad = unsupported_ops(s, bad);
    fprintf(f, "%-12s", "unsupported");
    if (n_bad == 0)
        fprintf(f, " none");
    for (size_t i = 0; i < n_bad; i++)
        fprintf(f, " %s", tsl_op_name(bad[i]));
    fputc('\n', f);
}

/* The summary as one malloc'ed string (*len_out bytes); NULL on failure. */
static char *render_summary(const char *path, const struct tsl_graph *g,
                            const struct tsl_graph_stats *s, size_t *len_out)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len_out);
    if (!f)
        return NULL;
    print_summary(f, path, g, s);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- the command ------------------------------------------------------------- */

static int inspect_graph(const char *path, const struct tsl_graph *g, bool json,
                         const char *dot_path)
{
    struct tsl_graph_stats stats;
    tsl_graph_compute_stats(g, &stats);

    size_t len = 0;
    char *text = json ? render_json(g, &stats) : render_summary(path, g, &stats, &len);
    if (!text) {
        tsl_cli_error(path, "out of memory");
        return TSL_EXIT_FAIL;
    }
    if (json)
        len = strlen(text);

    if (dot_path) {
        char *dot = NULL;
        enum tsl_status st = tsl_graph_to_dot(g, &dot);
        if (st != TSL_STATUS_OK) {
            tsl_cli_error(dot_path, "cannot render the graph: %s", tsl_status_str(st));
            free(text);
            return TSL_EXIT_FAIL;
        }
        bool ok = tsl_cli_write_file_atomic(dot_path, dot, strlen(dot));
        free(dot);
        if (!ok) {
            free(text);
            return TSL_EXIT_FAIL;
        }
    }

    bool ok = fwrite(text, 1, len, stdout) == len && (!json || fputc('\n', stdout) != EOF) &&
              fflush(stdout) == 0;
    free(text);
    if (!ok) {
        tsl_cli_error("stdout", "write failed: %s", strerror(errno));
        return TSL_EXIT_FAIL;
    }
    return TSL_EXIT_OK;
}

int tsl_cmd_inspect(int argc, char **argv)
{
    struct tsl_cli_args args;
    int code;
    if (!tsl_cli_parse(&inspect_spec, argc, argv, &args, &code)) {
        tsl_cli_args_fini(&args);
        return code;
    }
    const char *path = args.positional[0];
    const char *dot_path = tsl_cli_value(&args, "dot");
    bool json = tsl_cli_flag(&args, "json");

    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_onnx_import_options opt = {0};
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_onnx_import_file(path, &opt, &g, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, path, st);
        code = TSL_EXIT_FAIL;
    } else {
        code = inspect_graph(path, g, json, dot_path);
    }
    tsl_graph_destroy(g);
    tsl_diag_fini(&diag);
    tsl_cli_args_fini(&args);
    return code;
}
