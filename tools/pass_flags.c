/* pass_flags.c - parsing and applying the PASS FLAGS (pass_flags.h): value
 * checks with one-line errors, the default pipeline, the pass context set-up
 * (reference-backend constant folding, verify-each, --print-after) and the
 * --time-passes table.  The passes themselves live in passes/. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pass_flags.h"
#include "tessel/reference.h"
#include "tessel/text.h"
#include "tessel/util.h"

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static int parse_prune(const char *v, struct tsl_compress_options *o)
{
    const char *comma = strchr(v, ',');
    char num[64];
    size_t len = comma ? (size_t)(comma - v) : strlen(v);
    double s;
    if (len >= sizeof num) {
        tsl_cli_error("--prune", "bad value '%s' (expected S[,unstructured|channel|2:4])", v);
        return TSL_EXIT_FAIL;
    }
    memcpy(num, v, len);
    num[len] = 0;
    if (!parse_double(num, &s) || !(s >= 0.0 && s < 1.0)) {
        tsl_cli_error("--prune", "sparsity '%s' is not a number in [0, 1)", num);
        return TSL_EXIT_FAIL;
    }
    o->prune_sparsity = s;
    const char *kind = comma ? comma + 1 : "unstructured";
    if (!strcmp(kind, "unstructured"))
        o->prune_kind = TSL_PRUNE_UNSTRUCTURED;
    else if (!strcmp(kind, "channel"))
        o->prune_kind = TSL_PRUNE_CHANNEL;
    else if (!strcmp(kind, "2:4"))
        o->prune_kind = TSL_PRUNE_2_4;
    else {
        tsl_cli_error("--prune", "unknown pruning kind '%s' (expected unstructured, channel "
                                 "or 2:4)", kind);
        return TSL_EXIT_FAIL;
    }
    if (o->prune_kind == TSL_PRUNE_2_4 && s != 0.5 && s != 0.0) {
        tsl_cli_error("--prune", "2:4 pruning always removes half the weights: write "
                                 "--prune 0.5,2:4");
        return TSL_EXIT_FAIL;
    }
    return TSL_EXIT_OK;
}

int tsl_cli_pass_flags_get(const struct tsl_cli_args *a, struct tsl_cli_pass_flags *out)
{
    memset(out, 0, sizeof *out);
    out->compress.keep_first_last = true;
    out->passes = tsl_cli_value(a, "passes");
    out->print_after = tsl_cli_value(a, "print-after");
    out->time_passes = tsl_cli_flag(a, "time-passes");
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    int rc = TSL_EXIT_OK;
    enum tsl_pass_id id;
    if (out->passes && tsl_pass_check_pipeline(out->passes, &diag) != TSL_STATUS_OK) {
        tsl_cli_report(&diag, "--passes", TSL_STATUS_INVALID_ARG);
        rc = TSL_EXIT_USAGE;
    } else if (out->print_after && strcmp(out->print_after, "all") &&
               !tsl_pass_from_name(out->print_after, &id)) {
        tsl_cli_error("--print-after", "unknown pass '%s' (see 'tessel passes')",
                      out->print_after);
        rc = TSL_EXIT_USAGE;
    } else if (tsl_cli_flag(a, "keep-first-last") && tsl_cli_flag(a, "no-keep-first-last")) {
        tsl_cli_error("--keep-first-last", "contradicts --no-keep-first-last");
        rc = TSL_EXIT_USAGE;
    }
    tsl_diag_fini(&diag);
    if (rc != TSL_EXIT_OK)
        return rc;
    if (tsl_cli_flag(a, "no-keep-first-last"))
        out->compress.keep_first_last = false;
    out->compress.prune_per_layer = tsl_cli_flag(a, "prune-per-layer");
    out->compress.codebook_kmeans = tsl_cli_flag(a, "codebook-kmeans");
    out->compress.calib_path = tsl_cli_value(a, "calib");
    const char *v = tsl_cli_value(a, "prune");
    if (v) {
        out->prune = true;
        if ((rc = parse_prune(v, &out->compress)) != TSL_EXIT_OK)
            return rc;
    }
    if ((v = tsl_cli_value(a, "codebook"))) {
        double b;
        out->codebook = true;
        if (!parse_double(v, &b) || b != floor(b) || b < 1 || b > 8) {
            tsl_cli_error("--codebook", "bits '%s' outside 1..8", v);
            return TSL_EXIT_FAIL;
        }
        out->compress.codebook_bits = (int)b;
    }
    if ((v = tsl_cli_value(a, "opq"))) {
        out->opq = true;
        if (!parse_double(v, &out->compress.opq_rate) || !(out->compress.opq_rate > 1.0)) {
            tsl_cli_error("--opq", "compression rate '%s' is not a number > 1", v);
            return TSL_EXIT_FAIL;
        }
    }
    /* Default: Huffman-coded with --opq, whose target is a rate that the
     * coded indices meet with finer grids (docs/passes-opq.md, "Huffman-coded
     * indices"); bit-packed otherwise, where --codebook BITS names the
     * stored index width. */
    out->compress.index_coding = out->opq ? TSL_CODING_HUFFMAN : TSL_CODING_PACKED;
    if ((v = tsl_cli_value(a, "index-coding"))) {
        if (!strcmp(v, "huffman"))
            out->compress.index_coding = TSL_CODING_HUFFMAN;
        else if (!strcmp(v, "packed"))
            out->compress.index_coding = TSL_CODING_PACKED;
        else {
            tsl_cli_error("--index-coding", "'%s' is neither packed nor huffman", v);
            return TSL_EXIT_USAGE;
        }
    }
    if (out->compress.calib_path && !out->opq && !out->passes) {
        tsl_cli_error("--calib", "only the opq pass uses calibration data: add --opq RATE");
        return TSL_EXIT_USAGE;
    }
    return TSL_EXIT_OK;
}

bool tsl_cli_pass_flags_compress(const struct tsl_cli_pass_flags *f)
{
    return f->prune || f->codebook || f->opq;
}

char *tsl_cli_pass_flags_pipeline(const struct tsl_cli_pass_flags *f)
{
    if (f->passes)
        return tsl_strdup(f->passes);
    if (f->opq)
        return tsl_strdup(TSL_PIPELINE_CANONICALIZE ",opq");
    return tsl_asprintf("%s%s%s", TSL_PIPELINE_CANONICALIZE, f->prune ? ",prune" : "",
                        f->codebook ? ",codebook" : "");
}

struct print_hook {
    const char *which; /* "all" or a pass name */
};

static void print_after(void *user, const char *pass, const struct tsl_graph *g)
{
    const struct print_hook *h = user;
    if (strcmp(h->which, "all") && strcmp(h->which, pass))
        return;
    struct tsl_print_options po = {.elide_constants = 1};
    char *text = NULL;
    if (tsl_graph_to_text(g, &po, &text) != TSL_STATUS_OK) {
        tsl_cli_error(pass, "cannot print the IR");
        return;
    }
    fprintf(stderr, "# IR after %s\n%s", pass, text);
    free(text);
}

static void print_timings(const struct tsl_pass_context *ctx)
{
    double total = 0;
    fprintf(stderr, "%-20s %12s\n", "pass", "seconds");
    for (uint32_t i = 0; i < ctx->n_timings; i++) {
        fprintf(stderr, "%-20s %12.6f\n", ctx->timings[i].pass, ctx->timings[i].seconds);
        total += ctx->timings[i].seconds;
    }
    fprintf(stderr, "%-20s %12.6f\n", "total", total);
}

static bool verify_each_wanted(void)
{
    const char *e = getenv("TESSEL_VERIFY_EACH");
#ifndef NDEBUG
    return !e || strcmp(e, "0") != 0;
#else
    return e && !strcmp(e, "1");
#endif
}

bool tsl_cli_pass_flags_run(const struct tsl_cli_pass_flags *f, struct tsl_graph *g,
                            struct tsl_pass_context *ctx, const char *where)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    tsl_pass_context_init(ctx, &diag);
    ctx->compress = f->compress;
    ctx->eval_node = tsl_ref_eval_node;
    ctx->calib_run = tsl_ref_calib_run;
    ctx->verify_each = verify_each_wanted();
    struct print_hook hook = {f->print_after};
    if (f->print_after) {
        ctx->after_pass = print_after;
        ctx->after_pass_user = &hook;
    }
    char *pipeline = tsl_cli_pass_flags_pipeline(f);
    enum tsl_status st = pipeline ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
    enum tsl_pass_id id;
    if (pipeline && f->opq && !f->passes && !tsl_pass_from_name("opq", &id)) {
        tsl_cli_error("--opq", "the opq pass is not available in this build");
        st = TSL_STATUS_UNSUPPORTED;
    } else if (pipeline) {
        st = tsl_pass_run_pipeline(g, pipeline, ctx);
        if (st != TSL_STATUS_OK)
            tsl_cli_report(&diag, where, st);
    } else {
        tsl_cli_error(where, "out of memory");
    }
    if (f->time_passes)
        print_timings(ctx);
    free(pipeline);
    ctx->diag = NULL;
    ctx->after_pass = NULL;
    ctx->after_pass_user = NULL;
    tsl_diag_fini(&diag);
    return st == TSL_STATUS_OK;
}
