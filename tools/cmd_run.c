/* cmd_run.c - `tessel run MODEL.onnx [--backend ref|cpu] [-i [NAME=]FILE]...
 * [-o DIR] [--threads N] [--repeat N]` (brief section 4).
 *
 * Imports the model, loads each input from .npy or ONNX TensorProto .pb (by
 * extension), runs the reference interpreter or, with --backend cpu, binds
 * the graph's (symbolic) input dims to the given inputs' shapes, compiles it
 * with the LLVM CPU backend once (cli_cpu.c) and runs the JIT-compiled code
 * (--repeat times only the runs, not the compilation), and either writes
 * DIR/<sanitized output name>.npy for every output (all to temporary files
 * first, renamed only when every one was written, so a failure leaves no
 * partial output) or prints a short summary per output.  --repeat N runs
 * once to warm up, then N timed runs, and ends stdout with one JSON line.
 * --stats prints the reference interpreter's peak live activation memory
 * (tsl_ref_stats.peak_bytes: node outputs only, inputs and weights excluded)
 * and the number of nodes run, one `stats:` line before any JSON line.
 * --profile (cpu only) prints per-step times to stderr after the runs (the 25
 * slowest steps; --profile-all every step, for bench/layer_compare.py).
 * --gap-ms MS sleeps MS milliseconds before every run (untimed), so each run
 * starts with the caches other processes left, as the benchmark harness's
 * runs do (bench/run_cpu_vs_ort.py --gap-ms).
 * Errors are one line `tessel: error: <input, file or node>: <what>`, exit 1;
 * usage errors exit 2.  Kernels, file formats and the importer live in
 * their libraries; this file only wires them together. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_io.h"
#include "cli_args.h"
#include "pass_flags.h"
#include "cli_cpu.h"
#include "tessel/npy.h"
#include "tessel/onnx.h"
#include "tessel/reference.h"
#include "tessel/util.h"

static const struct tsl_cli_opt run_opts[] = {
    {.long_name = "backend", .takes_value = true, .metavar = "ref|cpu",
     .help = "ref: the reference interpreter (default); cpu: LLVM JIT-compiled code"},
    {.long_name = "input", .short_name = 'i', .takes_value = true, .repeatable = true,
     .metavar = "[NAME=]FILE", .help = "bind an input from FILE.npy or FILE.pb (NAME= optional "
                                       "for single-input models)"},
    {.long_name = "output", .short_name = 'o', .takes_value = true, .metavar = "DIR",
     .help = "write every output to DIR/<name>.npy (DIR is created if missing)"},
    {.long_name = "threads", .takes_value = true, .metavar = "N",
     .help = "threads in total, this one included (cpu backend: its steps are split over "
             "a pool of N threads; the ref backend runs on 1 thread and warns when N > 1)"},
    {.long_name = "repeat", .takes_value = true, .metavar = "N",
     .help = "one warm-up run, then N timed runs; last stdout line is JSON timing"},
    {.long_name = "profile",
     .help = "cpu backend: time every generated step and print the slowest steps and the "
             "time per op combination to stderr (the timed runs with --repeat, else the one run)"},
    {.long_name = "gap-ms", .takes_value = true, .metavar = "MS",
     .help = "sleep MS milliseconds (untimed) before every run: cold-cache timing"},
    {.long_name = "profile-all",
     .help = "with --profile: list every step instead of the 25 slowest"},
    {.long_name = "stats",
     .help = "print peak activation memory (live node outputs; inputs and weights "
             "excluded) and nodes run"},
    TSL_CLI_PASS_FLAG_OPTS, /* --prune, --codebook, --passes, ... (pass_flags.h) */
};

static const struct tsl_cli_spec run_spec = {
    .command = "run",
    .usage = "tessel run MODEL.onnx [--backend ref|cpu] [--threads N] [-i [NAME=]FILE]... [-o DIR] [--repeat N] "
             "[--gap-ms MS] [--stats] [--profile [--profile-all]]",
    .summary = "Run a model on the reference interpreter or the LLVM CPU backend and print or "
               "save its outputs.",
    .opts = run_opts,
    .n_opts = TSL_ARRAY_LEN(run_opts),
    .min_positional = 1,
    .max_positional = 1,
    .positional_name = "MODEL.onnx",
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static bool parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000)
        return false;
    *out = v;
    return true;
}

/* Read a whole (small) file; prints the error. */
static bool slurp(const char *path, uint8_t **buf_out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tsl_cli_error(path, "cannot open: %s", strerror(errno));
        return false;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (!tsl_grow((void **)&buf, &cap, len + 65536, 1)) {
            fclose(f);
            free(buf);
            tsl_cli_error(path, "out of memory");
            return false;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        tsl_cli_error(path, "read error");
        return false;
    }
    *buf_out = buf;
    *len_out = len;
    return true;
}

/* Load FILE into t (data owned by t).  Prints the error. */
static bool load_tensor(const char *file, struct tsl_tensor *t)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    enum tsl_status st;
    bool ok = false;
    if (ends_with(file, ".npy")) {
        struct tsl_npy a;
        st = tsl_npy_read_file(file, &a, &diag);
        if (st != TSL_STATUS_OK) {
            tsl_cli_report(&diag, file, st);
        } else {
            enum tsl_dtype dt;
            if (!tsl_dtype_from_name(tsl_npy_type_name(a.type), &dt)) {
                tsl_cli_error(file, "unsupported dtype %s", tsl_npy_type_name(a.type));
                tsl_npy_fini(&a);
            } else {
                t->dtype = dt;
                t->shape.rank = a.rank;
                memcpy(t->shape.dims, a.dims, sizeof(int64_t) * (size_t)a.rank);
                t->data = a.data;
                ok = true;
            }
        }
    } else if (ends_with(file, ".pb")) {
        uint8_t *buf;
        size_t len;
        if (slurp(file, &buf, &len)) {
            st = tsl_onnx_read_tensor(buf, len, file, &t->dtype, &t->shape, &t->data, NULL,
                                      &diag);
            free(buf);
            if (st != TSL_STATUS_OK)
                tsl_cli_report(&diag, file, st);
            else
                ok = true;
        }
    } else {
        tsl_cli_error(file, "unknown input format (expected a .npy or .pb file)");
    }
    tsl_diag_fini(&diag);
    return ok;
}

static int find_input(const struct tsl_graph *g, const char *name, size_t len)
{
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (strlen(g->inputs[i]->name) == len && !strncmp(g->inputs[i]->name, name, len))
            return (int)i;
    return -1;
}

/* Bind every -i to a graph input; prints the error. */
static bool bind_inputs(const struct tsl_graph *g, const struct tsl_cli_args *args,
                        struct tsl_tensor *ins)
{
    size_t n = tsl_cli_count(args, "input");
    for (size_t k = 0; k < n; k++) {
        const char *spec = tsl_cli_value_at(args, "input", k), *eq = strchr(spec, '=');
        int idx = eq ? find_input(g, spec, (size_t)(eq - spec)) : -1;
        const char *file = spec;
        struct stat sb;
        if (idx >= 0) {
            file = eq + 1;
        } else if (g->n_inputs == 1 && (!eq || stat(spec, &sb) == 0)) {
            idx = 0; /* NAME= left out (a file name may contain '=') */
        } else if (eq) {
            tsl_cli_error(spec, "unknown input name '%.*s' (the model's inputs are %s%s)",
                          (int)(eq - spec), spec, g->n_inputs ? g->inputs[0]->name : "none",
                          g->n_inputs > 1 ? ", ..." : "");
            return false;
        } else {
            tsl_cli_error(spec, "the model has %u inputs: write -i NAME=FILE", g->n_inputs);
            return false;
        }
        if (ins[idx].data) {
            tsl_cli_error(g->inputs[idx]->name, "input given twice");
            return false;
        }
        if (!load_tensor(file, &ins[idx]))
            return false;
        if (!ins[idx].data)
            ins[idx].data = malloc(1);
    }
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (!ins[i].data) {
            tsl_cli_error(g->inputs[i]->name, "missing input (expected -i %s=FILE)",
                          g->inputs[i]->name);
            return false;
        }
    return true;
}


static char *output_path(const char *dir, const char *name)
{
    char *safe = tsl_strdup(name && *name ? name : "output");
    if (!safe)
        return NULL;
    for (char *s = safe; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            *s = '_';
    char *path = tsl_asprintf("%s/%s.npy", dir, safe);
    free(safe);
    return path;
}

/* Write all outputs as temporaries, then rename them all; prints errors. */
static bool write_outputs(const char *dir, const struct tsl_tensor *outs, uint32_t n)
{
    char **paths = calloc(n ? n : 1, sizeof *paths), **tmps = calloc(n ? n : 1, sizeof *tmps);
    bool ok = paths && tmps;
    if (!ok)
        tsl_cli_error(dir, "out of memory");
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    for (uint32_t i = 0; ok && i < n; i++) {
        paths[i] = output_path(dir, outs[i].name);
        if (!paths[i]) {
            tsl_cli_error(dir, "out of memory");
            ok = false;
            break;
        }
        bool dup = false;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(paths[i], paths[j]))
                dup = true;
        if (dup)
            continue; /* the same value listed twice, or names that collide */
        int t = tsl_npy_type_from_name(tsl_dtype_name(outs[i].dtype));
        if (t < 0) {
            tsl_cli_error(outs[i].name, "dtype %s cannot be stored in .npy",
                          tsl_dtype_name(outs[i].dtype));
            ok = false;
            break;
        }
        struct tsl_npy a = {.type = (enum tsl_npy_type)t, .rank = outs[i].shape.rank,
                            .data = outs[i].data};
        int64_t numel = 1;
        for (int32_t d = 0; d < a.rank; d++) {
            a.dims[d] = outs[i].shape.dims[d];
            numel *= a.dims[d];
        }
        a.data_bytes = (size_t)numel * tsl_npy_type_size(a.type);
        enum tsl_status st = tsl_npy_write_temp(paths[i], &a, &tmps[i], &diag);
        if (st != TSL_STATUS_OK) {
            tsl_cli_report(&diag, paths[i], st);
            ok = false;
        }
    }
    for (uint32_t i = 0; ok && i < n; i++)
        if (tmps[i] && rename(tmps[i], paths[i]) != 0) {
            tsl_cli_error(paths[i], "cannot rename into place: %s", strerror(errno));
            ok = false;
        } else if (tmps[i]) {
            free(tmps[i]);
            tmps[i] = NULL;
        }
    for (uint32_t i = 0; i < n && paths && tmps; i++) {
        if (tmps[i])
            remove(tmps[i]);
        free(tmps[i]);
        free(paths[i]);
    }
    free(paths);
    free(tmps);
    tsl_diag_fini(&diag);
    return ok;
}

static void print_summary(const struct tsl_tensor *t)
{
    int64_t n = 1;
    printf("%s: %s [", t->name ? t->name : "?", tsl_dtype_name(t->dtype));
    for (int32_t d = 0; d < t->shape.rank; d++) {
        printf("%s%lld", d ? ", " : "", (long long)t->shape.dims[d]);
        n *= t->shape.dims[d];
    }
    printf("] = [");
    int64_t show = n < 8 ? n : 8;
    for (int64_t i = 0; i < show; i++) {
        if (tsl_dtype_is_float(t->dtype))
            printf("%s%.6g", i ? ", " : "", tsl_dense_get_f64(t->dtype, t->data, i));
        else
            printf("%s%lld", i ? ", " : "", (long long)tsl_dense_get_i64(t->dtype, t->data, i));
    }
    printf("%s]\n", n > show ? ", ..." : "");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int tsl_cmd_run(int argc, char **argv)
{
    struct tsl_cli_args args;
    int code;
    if (!tsl_cli_parse(&run_spec, argc, argv, &args, &code)) {
        tsl_cli_args_fini(&args);
        return code;
    }
    code = TSL_EXIT_OK;
    const char *model = args.positional[0], *backend = tsl_cli_value(&args, "backend");
    const char *outdir = tsl_cli_value(&args, "output"), *rep = tsl_cli_value(&args, "repeat");
    const char *threads = tsl_cli_value(&args, "threads");
    const char *gap = tsl_cli_value(&args, "gap-ms");
    long repeat = 0, nthreads = 1, gap_ms = 0;
    if (backend && strcmp(backend, "ref") && strcmp(backend, "cpu"))
        code = tsl_cli_usage_error(run_spec.usage,
                                   "run: unknown backend '%s' (expected ref or cpu)",
                                   backend);
    else if (rep && !parse_count(rep, &repeat))
        code = tsl_cli_usage_error(run_spec.usage, "run: --repeat needs a count >= 1, got '%s'",
                                   rep);
    else if (tsl_cli_flag(&args, "profile") && !(backend && !strcmp(backend, "cpu")))
        code = tsl_cli_usage_error(run_spec.usage, "run: --profile needs --backend cpu");
    else if (gap && (!parse_count(gap, &gap_ms) || gap_ms > 60000))
        code = tsl_cli_usage_error(run_spec.usage,
                                   "run: --gap-ms needs a count in [1, 60000], got '%s'", gap);
    else if (tsl_cli_flag(&args, "profile-all") && !tsl_cli_flag(&args, "profile"))
        code = tsl_cli_usage_error(run_spec.usage, "run: --profile-all needs --profile");
    else if (threads && !parse_count(threads, &nthreads))
        code = tsl_cli_usage_error(run_spec.usage, "run: --threads needs a count >= 1, got '%s'",
                                   threads);
    else if (nthreads > 1 && !(backend && !strcmp(backend, "cpu")))
        fprintf(stderr,
                "tessel: warning: --threads %ld: the reference interpreter runs on 1 thread\n",
                nthreads);
    struct tsl_cli_pass_flags pass_flags;
    if (code == TSL_EXIT_OK)
        code = tsl_cli_pass_flags_get(&args, &pass_flags);
    if (code != TSL_EXIT_OK) {
        tsl_cli_args_fini(&args);
        return code;
    }
    bool cpu = backend && !strcmp(backend, "cpu");
    if (cpu && !tsl_cli_cpu_available()) {
        tsl_cli_error("cpu", "backend not available in this build (use --backend ref)");
        tsl_cli_args_fini(&args);
        return TSL_EXIT_FAIL;
    }
    struct tsl_cpu_module *cm = NULL;
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_graph *g = NULL;
    struct tsl_tensor *ins = NULL, *outs = NULL;
    uint32_t n_outs = 0, n_ins = 0;
    int rc = TSL_EXIT_FAIL;
    double *times = NULL;
    struct tsl_ref_stats stats = {0};
    enum tsl_status st = tsl_onnx_import_file(model, NULL, &g, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, model, st);
        goto done;
    }
    if (tsl_cli_pass_flags_compress(&pass_flags) || pass_flags.passes ||
        pass_flags.print_after || pass_flags.time_passes) {
        struct tsl_pass_context pctx; /* compressed weights run decoded */
        bool passes_ok = tsl_cli_pass_flags_run(&pass_flags, g, &pctx, model);
        tsl_pass_context_fini(&pctx);
        if (!passes_ok)
            goto done;
    }
    n_ins = g->n_inputs;
    ins = calloc(n_ins ? n_ins : 1, sizeof *ins);
    times = calloc((size_t)repeat + 1, sizeof *times);
    if (!ins || !times) {
        tsl_cli_error(model, "out of memory");
        goto done;
    }
    if (!bind_inputs(g, &args, ins))
        goto done;
    if (outdir && !tsl_cli_make_dir(outdir))
        goto done;
    /* cpu: shapes and compile-time operands bound from the inputs; takes g
     * (NULL afterwards): compiled in place, the weights not held twice */
    if (cpu && !tsl_cli_cpu_build(&g, NULL, ins, "model", (int)nthreads,
                                  tsl_cli_flag(&args, "profile"), model, &cm, NULL))
        goto done;
    for (long r = 0; r <= repeat; r++) {
        if (outs)
            tsl_tensors_free(outs, n_outs);
        outs = NULL;
        if (gap_ms > 0) {
            struct timespec ts = {.tv_sec = gap_ms / 1000, .tv_nsec = (gap_ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        double t0 = now_ms();
        st = cpu ? tsl_cli_cpu_run(cm, ins, n_ins, &outs, &n_outs, &diag)
                 : tsl_ref_run(g, ins, n_ins, &outs, &n_outs, &stats, &diag);
        times[r] = now_ms() - t0;
        if (st != TSL_STATUS_OK) {
            tsl_cli_report(&diag, model, st);
            goto done;
        }
        if (!repeat)
            break;
        if (r == 0 && cpu && tsl_cli_flag(&args, "profile"))
            tsl_cli_cpu_profile_reset(cm); /* the profile counts the timed runs only */
    }
    if (outdir) {
        if (!write_outputs(outdir, outs, n_outs))
            goto done;
    } else {
        for (uint32_t i = 0; i < n_outs; i++)
            print_summary(&outs[i]);
    }
    if (tsl_cli_flag(&args, "profile"))
        tsl_cli_cpu_print_profile(cm, tsl_cli_flag(&args, "profile-all") ? INT_MAX : 25);
    if (tsl_cli_flag(&args, "stats") && cpu)
        tsl_cli_cpu_print_stats(cm, stdout);
    else if (tsl_cli_flag(&args, "stats"))
        printf("stats: peak_activation_bytes=%lld (%.2f MiB) nodes_run=%lld\n",
               (long long)stats.peak_bytes, (double)stats.peak_bytes / (1024.0 * 1024.0),
               (long long)stats.nodes_run);
    if (repeat) {
        qsort(times + 1, (size_t)repeat, sizeof *times, cmp_double);
        double med = repeat % 2 ? times[1 + repeat / 2]
                                : (times[repeat / 2] + times[1 + repeat / 2]) / 2;
        printf("{\"median_ms\": %.3f, \"min_ms\": %.3f, \"runs\": %ld}\n", med, times[1], repeat);
    }
    rc = TSL_EXIT_OK;
done:
    if (ins)
        tsl_tensors_free(ins, n_ins);
    if (outs)
        tsl_tensors_free(outs, n_outs);
    free(times);
    tsl_cli_cpu_destroy(cm);
    if (g)
        tsl_graph_destroy(g);
    tsl_diag_fini(&diag);
    tsl_cli_args_fini(&args);
    return rc;
}
