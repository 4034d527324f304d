/* tessel_bench.c - benchmark driver for the CPU backend (not part of ctest).
 *
 * Imports an ONNX model, binds its (single) input to the shape of the given
 * .npy file (in place, no copy of the graph), runs the canonicalization
 * pipeline (TSL_PIPELINE_CANONICALIZE with the reference interpreter as
 * constant evaluator, so BatchNorm is folded into the conv weights),
 * compiles once with tsl_cpu_compile_consume (the graph's weights are
 * released as they are packed) and then serves a tiny line protocol on stdin so a harness can interleave it with
 * another engine without paying process start-up or compilation per run:
 *
 *     run N     -> "ms t1 t2 ... tN"   (wall time of each tsl_cpu_run)
 *     quit      -> one JSON line: compile_s, macs, peak_rss_kb, ... ; exit
 *
 * ready_cpu_s in that line is the CPU time (user + system) from the start
 * of the import to "ready": the compile work, whatever the machine's load.
 *
 * Usage: tessel_bench MODEL.onnx INPUT.npy [--threads N] [--no-canon]
 *                     [--out OUT.npy] [--phases]
 * --out writes the first output of one run (for an accuracy cross-check).
 * --phases prints, on stderr, the resident set (VmRSS) at the end of each
 * phase of the compilation and the peak (VmHWM) reached during it: the
 * peak is reset between phases through /proc/self/clear_refs (Linux), so
 * peak_rss_kb is then the largest phase peak rather than getrusage's.
 * The first line printed is "ready" once compilation is done.
 *
 * Not here: ONNX Runtime (bench/ort_bench.js), tables (bench/run_cpu_vs_ort.py). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tessel/cpu.h"
#include "tessel/npy.h"
#include "tessel/onnx.h"
#include "tessel/passes.h"
#include "tessel/reference.h"
#include "tessel/shape.h"
#include "tessel/stats.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(struct tsl_diag *d, const char *what)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    fprintf(stderr, "tessel_bench: error: %s: %s\n", e ? e->where : what,
            e ? e->message : "failed");
    return 1;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* CPU seconds (user + system) used by this process so far: on a loaded
 * machine a steadier measure of compile work than the wall time. */
static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* VmRSS and VmHWM of this process in KiB from /proc/self/status (-1 when
 * not available). */
static void proc_rss(long *rss, long *hwm)
{
    *rss = *hwm = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss = atol(line + 6);
        else if (!strncmp(line, "VmHWM:", 6))
            *hwm = atol(line + 6);
    }
    fclose(f);
}

/* --phases: report the phase that just ended (its time, the resident set
 * now and the peak during it), then reset the peak for the next phase;
 * *max keeps the largest peak seen. */
static void phase_end(int on, const char *name, double t0, long *max)
{
    if (!on)
        return;
    long rss, hwm;
    proc_rss(&rss, &hwm);
    if (hwm > *max)
        *max = hwm;
    fprintf(stderr, "phase %-8s %7.3f s (cpu total %6.2f s)  rss %6.1f MB  peak %6.1f MB\n",
            name, now() - t0, cpu_s(), (double)rss / 1024.0, (double)hwm / 1024.0);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f); /* reset VmHWM to the current VmRSS */
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *out_path = NULL;
    int threads = 1;
    int canon = 1, phases = 0;
    long phase_max = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-canon"))
            canon = 0;
        else if (!strcmp(argv[i], "--phases"))
            phases = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_path = argv[++i];
        else if (!model)
            model = argv[i];
        else if (!input)
            input = argv[i];
        else {
            fprintf(stderr, "tessel_bench: error: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model || !input || threads < 1) {
        fprintf(stderr, "usage: tessel_bench MODEL.onnx INPUT.npy [--threads N] [--no-canon] "
                        "[--out OUT.npy] [--phases]\n");
        return 2;
    }
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_npy x;
    if (tsl_npy_read_file(input, &x, &d) != TSL_STATUS_OK)
        return fail(&d, input);
    if (x.type != TSL_NPY_F32) {
        fprintf(stderr, "tessel_bench: error: %s: input must be f32\n", input);
        return 1;
    }
    double t0 = now(), cpu0 = cpu_s();
    phase_end(phases, "start", t0, &phase_max);
    struct tsl_graph *g;
    if (tsl_onnx_import_file(model, NULL, &g, &d) != TSL_STATUS_OK)
        return fail(&d, model);
    phase_end(phases, "import", t0, &phase_max);
    double t_bind = now();
    if (g->n_inputs != 1) {
        fprintf(stderr, "tessel_bench: error: %s: expected one graph input\n", model);
        return 1;
    }
    struct tsl_shape shp = {.rank = x.rank};
    for (int32_t i = 0; i < x.rank; i++)
        shp.dims[i] = x.dims[i];
    if (tsl_cpu_bind_shapes_in_place(g, &shp, 1, &d) != TSL_STATUS_OK)
        return fail(&d, model);
    struct tsl_graph_stats stats;
    tsl_graph_compute_stats(g, &stats);
    double t_import = now() - t0;
    phase_end(phases, "bind", t_bind, &phase_max);
    t0 = now();
    if (canon) {
        struct tsl_pass_context pc;
        tsl_pass_context_init(&pc, &d);
        pc.eval_node = tsl_ref_eval_node;
        enum tsl_status st = tsl_pass_run_pipeline(g, TSL_PIPELINE_CANONICALIZE, &pc);
        tsl_pass_context_fini(&pc);
        if (st != TSL_STATUS_OK)
            return fail(&d, model);
    }
    double t_canon = now() - t0;
    phase_end(phases, "canon", t0, &phase_max);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.threads = threads;
    struct tsl_cpu_module *m;
    t0 = now();
    /* the graph is not used afterwards: its weights are released as they
     * are packed */
    if (tsl_cpu_compile_consume(g, &o, &m, &d) != TSL_STATUS_OK)
        return fail(&d, model);
    double t_compile = now() - t0;
    phase_end(phases, "compile", t0, &phase_max);
    /* the module holds everything it needs: drop the rest of the graph */
    t0 = now();
    tsl_graph_destroy(g);
    g = NULL;
    phase_end(phases, "free", t0, &phase_max);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = shp, .data = x.data};
    /* the first run creates the JIT (machine code generation): part of compile */
    t0 = now();
    struct tsl_tensor *outs;
    uint32_t n_outs;
    if (tsl_cpu_run(m, &in, 1, &outs, &n_outs, &d) != TSL_STATUS_OK)
        return fail(&d, model);
    double t_jit = now() - t0;
    double ready_cpu = cpu_s() - cpu0;
    phase_end(phases, "jit", t0, &phase_max);
    if (out_path) {
        struct tsl_npy o0 = {.type = TSL_NPY_F32, .rank = outs[0].shape.rank,
                             .data = outs[0].data};
        int64_t numel = 1;
        for (int32_t i = 0; i < o0.rank; i++)
            numel *= (o0.dims[i] = outs[0].shape.dims[i]);
        o0.data_bytes = (size_t)numel * sizeof(float);
        if (tsl_npy_write_file(out_path, &o0, &d) != TSL_STATUS_OK)
            return fail(&d, out_path);
    }
    tsl_tensors_free(outs, n_outs);
    t0 = now();
    printf("ready\n");
    fflush(stdout);
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int n = 0;
        if (sscanf(line, "run %d", &n) == 1 && n > 0) {
            printf("ms");
            for (int r = 0; r < n; r++) {
                double ts = now();
                if (tsl_cpu_run(m, &in, 1, &outs, &n_outs, &d) != TSL_STATUS_OK)
                    return fail(&d, model);
                double ms = 1e3 * (now() - ts);
                tsl_tensors_free(outs, n_outs);
                printf(" %.4f", ms);
            }
            printf("\n");
            fflush(stdout);
        } else if (!strncmp(line, "quit", 4)) {
            break;
        }
    }
    phase_end(phases, "runs", t0, &phase_max);
    struct tsl_cpu_module_info mi;
    tsl_cpu_module_info(m, &mi);
    printf("{\"import_s\": %.4f, \"canon_s\": %.4f, \"compile_s\": %.4f, \"jit_s\": %.4f, "
           "\"plan_s\": %.4f, \"codegen_s\": %.4f, \"opt_s\": %.4f, \"ready_cpu_s\": %.4f, "
           "\"macs\": %lld, \"kernels\": %u, \"fused\": %u, \"weight_bytes\": %lld, "
           "\"arena_bytes\": %lld, \"peak_rss_kb\": %ld}\n",
           t_import, t_canon, t_compile, t_jit, mi.plan_s, mi.codegen_s, mi.opt_s, ready_cpu,
           (long long)stats.macs, mi.n_kernels, mi.n_fused,
           (long long)mi.weight_bytes, (long long)mi.arena_bytes,
           phases ? phase_max : peak_rss_kb());
    fflush(stdout);
    tsl_cpu_module_destroy(m);
    tsl_npy_fini(&x);
    tsl_diag_fini(&d);
    return 0;
}
