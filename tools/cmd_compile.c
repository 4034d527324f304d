/* cmd_compile.c - `tessel compile MODEL.onnx --target cpu -o DIR
 * [--emit so|obj|ll|asm] [-i NAME=FILE.npy]... [--shape NAME=DIMS]...
 * [--name SYM] [--threads N] [-v] [PASS FLAGS]` (brief section 4).
 *
 * Imports the model, runs the PASS FLAGS (pass_flags.h: --prune, --codebook,
 * --opq, --calib, --passes, ... exactly as `compress` and `run` take them;
 * compressed weights are compiled decoded), binds symbolic input dims (from
 * --shape 1x3x224x224 or the shape of an .npy file given with -i), runs the
 * canonicalization passes, compiles with the LLVM CPU backend and writes DIR/<model>.<ext>
 * (so, o, ll or s) plus DIR/<model>.h (entry function, named inputs and
 * outputs with shapes and dtypes, weight and arena sizes).  Both files are
 * produced in a private temporary directory inside DIR and renamed into
 * place only when both exist, so a failure leaves no partial output.  -v
 * prints the time of each phase and the module stats (arena, threads, loops
 * split) on stderr.  Errors are one line
 * `tessel: error: <where>: <what>`, exit 1; usage errors exit 2. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_io.h"
#include "cli_args.h"
#include "cli_cpu.h"
#include "pass_flags.h"
#include "tessel/npy.h"
#include "tessel/onnx.h"
#include "tessel/util.h"

static const struct tsl_cli_opt compile_opts[] = {
    {.long_name = "target", .takes_value = true, .metavar = "cpu",
     .help = "code generator (cpu: LLVM, the host CPU; the default)"},
    {.long_name = "output", .short_name = 'o', .takes_value = true, .metavar = "DIR",
     .help = "directory for <model>.<ext> and <model>.h (created if missing)"},
    {.long_name = "emit", .takes_value = true, .metavar = "so|obj|ll|asm",
     .help = "artifact kind: shared library (default), object, LLVM IR or assembly"},
    {.long_name = "input", .short_name = 'i', .takes_value = true, .repeatable = true,
     .metavar = "NAME=FILE.npy", .help = "bind input NAME's dims to the shape of FILE.npy"},
    {.long_name = "shape", .takes_value = true, .repeatable = true, .metavar = "NAME=DIMS",
     .help = "bind input NAME's dims, e.g. --shape x=1x3x224x224"},
    {.long_name = "name", .takes_value = true, .metavar = "SYM",
     .help = "symbol prefix of the generated code (default: the model's file name)"},
    {.long_name = "threads", .takes_value = true, .metavar = "N",
     .help = "threads in total the code splits its work over, the caller included "
             "(default 1); the artifact's arena has scratch for N threads"},
    {.long_name = "verbose", .short_name = 'v',
     .help = "print the time of each compilation phase on stderr"},
    TSL_CLI_PASS_FLAG_OPTS, /* --prune, --codebook, --opq, --passes, ... (pass_flags.h) */
};

static const struct tsl_cli_spec compile_spec = {
    .command = "compile",
    .usage = "tessel compile MODEL.onnx --target cpu -o DIR [--emit so|obj|ll|asm] "
             "[-i NAME=FILE.npy]... [--shape NAME=DIMS]... [--name SYM] [-v] "
             "[--prune S[,KIND]] [--codebook BITS] [--opq RATE] [PASS FLAGS]",
    .summary = "Compile a model ahead of time into a native artifact and a C header.",
    .opts = compile_opts,
    .n_opts = TSL_ARRAY_LEN(compile_opts),
    .min_positional = 1,
    .max_positional = 1,
    .positional_name = "MODEL.onnx",
};

struct emit_kind {
    const char *name, *ext;
    int kind; /* enum tsl_cpu_emit_kind, through cli_cpu.h */
};
static const struct emit_kind emit_kinds[] = {
    {"so", "so", TSL_CLI_EMIT_SO},
    {"obj", "o", TSL_CLI_EMIT_OBJ},
    {"ll", "ll", TSL_CLI_EMIT_LL},
    {"asm", "s", TSL_CLI_EMIT_ASM},
};

static int find_input(const struct tsl_graph *g, const char *name, size_t len)
{
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (strlen(g->inputs[i]->name) == len && !strncmp(g->inputs[i]->name, name, len))
            return (int)i;
    return -1;
}

/* Apply every --shape and -i binding to shapes[]; prints errors. */
static bool bind_shapes(const struct tsl_graph *g, const struct tsl_cli_args *args,
                        struct tsl_shape *shapes, bool *given)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *opt = pass ? "input" : "shape";
        for (size_t k = 0; k < tsl_cli_count(args, opt); k++) {
            const char *spec = tsl_cli_value_at(args, opt, k), *eq = strchr(spec, '=');
            int idx = eq ? find_input(g, spec, (size_t)(eq - spec)) : -1;
            if (!eq && g->n_inputs == 1)
                idx = 0;
            if (idx < 0) {
                tsl_cli_error(spec, "unknown input%s (write --%s NAME=%s; the model's inputs "
                                    "are %s%s)",
                              eq ? " name" : "", opt, pass ? "FILE.npy" : "DIMS",
                              g->n_inputs ? g->inputs[0]->name : "none",
                              g->n_inputs > 1 ? ", ..." : "");
                return false;
            }
            const char *val = eq ? eq + 1 : spec;
            if (given[idx]) {
                tsl_cli_error(g->inputs[idx]->name, "shape bound twice");
                return false;
            }
            given[idx] = true;
            if (!pass) {
                if (!tsl_cli_parse_dims(val, &shapes[idx])) {
                    tsl_cli_error(spec, "bad dims '%s' (expected e.g. 1x3x224x224)", val);
                    return false;
                }
                continue;
            }
            struct tsl_diag diag;
            tsl_diag_init(&diag);
            struct tsl_npy a;
            enum tsl_status st = tsl_npy_read_file(val, &a, &diag);
            if (st != TSL_STATUS_OK) {
                tsl_cli_report(&diag, val, st);
                tsl_diag_fini(&diag);
                return false;
            }
            tsl_diag_fini(&diag);
            memset(&shapes[idx], 0, sizeof shapes[idx]);
            shapes[idx].rank = a.rank;
            for (int32_t d = 0; d < a.rank; d++)
                shapes[idx].dims[d] = a.dims[d];
            tsl_npy_fini(&a);
        }
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        if (given[i])
            continue;
        shapes[i] = g->inputs[i]->type.shape;
        if (!tsl_shape_is_static(&shapes[i])) {
            tsl_cli_error(g->inputs[i]->name,
                          "input has symbolic dims: bind them with --shape %s=DIMS or -i %s=FILE.npy",
                          g->inputs[i]->name, g->inputs[i]->name);
            return false;
        }
    }
    return true;
}


/* Emit into a temporary directory inside dir, then rename artifact and
 * header into place.  Prints errors; leaves nothing behind on failure. */
static bool write_artifacts(struct tsl_cpu_module *m, const struct emit_kind *ek,
                            const char *dir, const char *stem)
{
    char *tdir = tsl_asprintf("%s/.tessel-compile-XXXXXX", dir);
    if (!tdir || !mkdtemp(tdir)) {
        tsl_cli_error(dir, "cannot create a temporary directory: %s", strerror(errno));
        free(tdir);
        return false;
    }
    char *ta = tsl_asprintf("%s/%s.%s", tdir, stem, ek->ext);
    char *th = tsl_asprintf("%s/%s.h", tdir, stem);
    char *fa = tsl_asprintf("%s/%s.%s", dir, stem, ek->ext);
    char *fh = tsl_asprintf("%s/%s.h", dir, stem);
    bool ok = ta && th && fa && fh;
    if (!ok)
        tsl_cli_error(dir, "out of memory");
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    if (ok) {
        enum tsl_status st = tsl_cli_cpu_emit(m, ek->kind, ta, th, &diag);
        if (st != TSL_STATUS_OK) {
            tsl_cli_report(&diag, fa, st);
            ok = false;
        }
    }
    if (ok && rename(th, fh) != 0) {
        tsl_cli_error(fh, "cannot rename into place: %s", strerror(errno));
        ok = false;
    }
    if (ok && rename(ta, fa) != 0) {
        tsl_cli_error(fa, "cannot rename into place: %s", strerror(errno));
        remove(fh);
        ok = false;
    }
    if (ta)
        remove(ta);
    if (th)
        remove(th);
    rmdir(tdir);
    tsl_diag_fini(&diag);
    free(ta);
    free(th);
    free(fa);
    free(fh);
    free(tdir);
    return ok;
}

int tsl_cmd_compile(int argc, char **argv)
{
    struct tsl_cli_args args;
    int code;
    if (!tsl_cli_parse(&compile_spec, argc, argv, &args, &code)) {
        tsl_cli_args_fini(&args);
        return code;
    }
    const char *model = args.positional[0], *target = tsl_cli_value(&args, "target");
    const char *outdir = tsl_cli_value(&args, "output"), *emit = tsl_cli_value(&args, "emit");
    const char *name = tsl_cli_value(&args, "name"), *threads = tsl_cli_value(&args, "threads");
    bool verbose = tsl_cli_flag(&args, "verbose");
    const struct emit_kind *ek = &emit_kinds[0];
    long nthreads = 1;
    code = TSL_EXIT_OK;
    if (target && strcmp(target, "cpu"))
        code = tsl_cli_usage_error(compile_spec.usage,
                                   "compile: unknown target '%s' (available: cpu; the "
                                   "systolic target does not exist yet)", target);
    else if (!outdir)
        code = tsl_cli_usage_error(compile_spec.usage, "compile: missing -o DIR");
    if (code == TSL_EXIT_OK && emit) {
        ek = NULL;
        for (size_t i = 0; i < TSL_ARRAY_LEN(emit_kinds); i++)
            if (!strcmp(emit, emit_kinds[i].name))
                ek = &emit_kinds[i];
        if (!ek)
            code = tsl_cli_usage_error(compile_spec.usage,
                                       "compile: unknown --emit '%s' (so, obj, ll or asm)", emit);
    }
    if (code == TSL_EXIT_OK && threads) {
        char *end;
        errno = 0;
        nthreads = strtol(threads, &end, 10);
        if (errno || end == threads || *end || nthreads < 1 || nthreads > 1024)
            code = tsl_cli_usage_error(compile_spec.usage,
                                       "compile: --threads needs a count in 1..1024, got '%s'",
                                       threads);
    }
    struct tsl_cli_pass_flags pass_flags;
    if (code == TSL_EXIT_OK)
        code = tsl_cli_pass_flags_get(&args, &pass_flags);
    char *ident = NULL;
    if (code == TSL_EXIT_OK) {
        ident = name ? tsl_strdup(name) : tsl_cli_model_ident(model);
        if (!ident) {
            tsl_cli_error(model, "out of memory");
            code = TSL_EXIT_FAIL;
        } else if (name && !tsl_cli_valid_ident(name)) {
            code = tsl_cli_usage_error(compile_spec.usage,
                                       "compile: --name '%s' is not a C identifier", name);
        }
    }
    if (code != TSL_EXIT_OK) {
        free(ident);
        tsl_cli_args_fini(&args);
        return code;
    }
    if (!tsl_cli_cpu_available()) {
        tsl_cli_error("cpu", "the cpu backend is not available in this build (LLVM 14-16 "
                             "was not found at configure time)");
        free(ident);
        tsl_cli_args_fini(&args);
        return TSL_EXIT_FAIL;
    }
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_graph *g = NULL;
    struct tsl_shape *shapes = NULL;
    bool *given = NULL;
    struct tsl_cpu_module *m = NULL;
    int rc = TSL_EXIT_FAIL;
    double t0 = tsl_cli_now_ms();
    enum tsl_status st = tsl_onnx_import_file(model, NULL, &g, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, model, st);
        goto done;
    }
    double t_import = tsl_cli_now_ms() - t0;
    if (tsl_cli_pass_flags_compress(&pass_flags) || pass_flags.passes ||
        pass_flags.print_after || pass_flags.time_passes) {
        struct tsl_pass_context pctx; /* compressed weights compile decoded */
        bool passes_ok = tsl_cli_pass_flags_run(&pass_flags, g, &pctx, model);
        tsl_pass_context_fini(&pctx);
        if (!passes_ok)
            goto done;
    }
    shapes = calloc(g->n_inputs + 1, sizeof *shapes);
    given = calloc(g->n_inputs + 1, sizeof *given);
    if (!shapes || !given) {
        tsl_cli_error(model, "out of memory");
        goto done;
    }
    if (!bind_shapes(g, &args, shapes, given))
        goto done;
    struct tsl_cli_cpu_times tm;
    /* takes g (NULL afterwards): compiled in place, weights not held twice */
    if (!tsl_cli_cpu_build(&g, shapes, NULL, ident, (int)nthreads, false, model, &m, &tm))
        goto done;
    if (!tsl_cli_make_dir(outdir))
        goto done;
    double t1 = tsl_cli_now_ms();
    if (!write_artifacts(m, ek, outdir, ident))
        goto done;
    double t_emit = tsl_cli_now_ms() - t1;
    if (verbose)
        fprintf(stderr,
                "tessel: compile: import %.1f ms, bind+infer %.1f ms, passes %.1f ms, "
                "codegen+llvm-opt %.1f ms, emit (%s) %.1f ms\n",
                t_import, tm.bind_ms, tm.passes_ms, tm.codegen_ms, ek->name, t_emit);
    if (verbose) {
        tsl_cli_cpu_print_phases(m, stderr);
        tsl_cli_cpu_print_stats(m, stderr);
    }
    printf("%s/%s.%s\n%s/%s.h\n", outdir, ident, ek->ext, outdir, ident);
    rc = TSL_EXIT_OK;
done:
    tsl_cli_cpu_destroy(m);
    if (g)
        tsl_graph_destroy(g);
    free(shapes);
    free(given);
    free(ident);
    tsl_diag_fini(&diag);
    tsl_cli_args_fini(&args);
    return rc;
}
