/* cli_cpu.c - implementation of cli_cpu.h: shape (and, for run, value) binding, folding of
 * Shape/Size of static values, canonicalization passes and LLVM compilation for the `run --backend cpu` and `compile`
 * commands.  Prints errors (tools/ only). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_cpu.h"
#include "tessel/passes.h"
#include "tessel/reference.h"
#include "tessel/shape.h"
#include "tessel/util.h"
#ifdef TESSEL_HAVE_CPU_BACKEND
#include "tessel/cpu.h"
#endif

double tsl_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool tsl_cli_parse_dims(const char *text, struct tsl_shape *s)
{
    memset(s, 0, sizeof *s);
    if (!*text || !strcmp(text, "scalar"))
        return true;
    const char *p = text;
    for (;;) {
        if (s->rank >= TSL_MAX_RANK || !isdigit((unsigned char)*p))
            return false;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > ((int64_t)1 << 40))
            return false;
        s->dims[s->rank++] = v;
        if (!*end)
            return true;
        if (*end != 'x' && *end != 'X' && *end != ',')
            return false;
        p = end + 1;
    }
}

char *tsl_cli_model_ident(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    if (n > 48)
        n = 48;
    char *s = malloc(n + 2);
    if (!s)
        return NULL;
    size_t o = 0;
    if (n == 0 || isdigit((unsigned char)base[0]))
        s[o++] = '_';
    for (size_t i = 0; i < n; i++)
        s[o++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
    s[o] = 0;
    return s;
}

bool tsl_cli_valid_ident(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_') || strlen(s) > 63)
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

#ifdef TESSEL_HAVE_CPU_BACKEND

_Static_assert(TSL_CLI_EMIT_OBJ == (int)TSL_CPU_EMIT_OBJ && TSL_CLI_EMIT_SO == (int)TSL_CPU_EMIT_SO &&
                   TSL_CLI_EMIT_LL == (int)TSL_CPU_EMIT_LL &&
                   TSL_CLI_EMIT_ASM == (int)TSL_CPU_EMIT_ASM,
               "cli emit kinds follow enum tsl_cpu_emit_kind");

enum tsl_status tsl_cli_cpu_emit(struct tsl_cpu_module *m, int kind, const char *path,
                                 const char *header, struct tsl_diag *diag)
{
    TSL_TRY(tsl_cpu_emit(m, (enum tsl_cpu_emit_kind)kind, path, diag));
    if (kind == TSL_CLI_EMIT_LL || kind == TSL_CLI_EMIT_ASM) {
        enum tsl_status st = tsl_cpu_emit_header(m, header, diag);
        if (st != TSL_STATUS_OK) {
            remove(path);
            return st;
        }
    }
    return TSL_STATUS_OK;
}

bool tsl_cli_cpu_available(void)
{
    return true;
}

void tsl_cli_cpu_destroy(struct tsl_cpu_module *m)
{
    tsl_cpu_module_destroy(m);
}

enum tsl_status tsl_cli_cpu_run(struct tsl_cpu_module *m, const struct tsl_tensor *ins,
                                uint32_t n_ins, struct tsl_tensor **outs, uint32_t *n_outs,
                                struct tsl_diag *diag)
{
    return tsl_cpu_run(m, ins, n_ins, outs, n_outs, diag);
}

void tsl_cli_cpu_print_stats(const struct tsl_cpu_module *m, FILE *f)
{
    struct tsl_cpu_module_info in;
    tsl_cpu_module_info(m, &in);
    fprintf(f, "stats: arena_bytes=%lld (%.2f MiB, %lld without reuse) weight_bytes=%lld "
           "kernels=%u step_functions=%u fused=%u threads=%d parallel_loops=%u\n",
           (long long)in.arena_bytes, (double)in.arena_bytes / (1024.0 * 1024.0),
           (long long)in.arena_naive_bytes, (long long)in.weight_bytes, in.n_kernels,
           in.n_step_functions, in.n_fused, in.threads, in.n_parallel);
}

void tsl_cli_cpu_print_phases(const struct tsl_cpu_module *m, FILE *f)
{
    struct tsl_cpu_module_info in;
    tsl_cpu_module_info(m, &in);
    fprintf(f, "tessel: compile: cpu phases: plan %.1f ms, step IR + weight packing %.1f ms, "
               "llvm-opt %.1f ms\n",
            1e3 * in.plan_s, 1e3 * in.codegen_s, 1e3 * in.opt_s);
}

struct prof_group {
    const char *ops;
    double seconds;
    uint32_t steps;
};

static int by_seconds_desc(const void *a, const void *b)
{
    const struct tsl_cpu_step_profile *const *x = a, *const *y = b;
    return (*x)->seconds < (*y)->seconds ? 1 : (*x)->seconds > (*y)->seconds ? -1 : 0;
}

static int group_desc(const void *a, const void *b)
{
    const struct prof_group *x = a, *y = b;
    return x->seconds < y->seconds ? 1 : x->seconds > y->seconds ? -1 : 0;
}

void tsl_cli_cpu_print_profile(const struct tsl_cpu_module *m, int top)
{
    const struct tsl_cpu_step_profile *steps;
    uint32_t n;
    uint64_t runs;
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    enum tsl_status st = tsl_cpu_profile(m, &steps, &n, &runs, &diag);
    tsl_diag_fini(&diag);
    if (st != TSL_STATUS_OK || runs == 0 || n == 0)
        return;
    const struct tsl_cpu_step_profile **order = calloc(n, sizeof *order);
    struct prof_group *grp = calloc(n, sizeof *grp);
    if (!order || !grp) {
        free(order);
        free(grp);
        tsl_cli_error("profile", "out of memory");
        return;
    }
    double total = 0;
    uint32_t ng = 0;
    for (uint32_t i = 0; i < n; i++) {
        order[i] = &steps[i];
        total += steps[i].seconds;
        uint32_t k = 0;
        while (k < ng && strcmp(grp[k].ops, steps[i].ops))
            k++;
        if (k == ng)
            grp[ng++].ops = steps[i].ops;
        grp[k].seconds += steps[i].seconds;
        grp[k].steps++;
    }
    qsort(order, n, sizeof *order, by_seconds_desc);
    qsort(grp, ng, sizeof *grp, group_desc);
    double per = 1e3 / (double)runs, pct = total > 0 ? 100.0 / total : 0.0, cum = 0;
    fprintf(stderr, "profile: %u steps, %llu runs, %.3f ms/run in steps\n", n,
            (unsigned long long)runs, total * per);
    fprintf(stderr, "%10s %6s %6s %8s  %-24s %s\n", "ms/run", "%", "cum%", "GFLOP/s", "ops",
            "node (kernel)");
    for (uint32_t i = 0; i < n && (int)i < top; i++) {
        cum += order[i]->seconds;
        char gf[16] = "-"; /* 2 x multiply-adds per second, contractions only */
        if (order[i]->flops > 0 && order[i]->seconds > 0)
            snprintf(gf, sizeof gf, "%.1f",
                     order[i]->flops * (double)runs / order[i]->seconds * 1e-9);
        fprintf(stderr, "%10.3f %6.1f %6.1f %8s  %-24s %s (%s)\n", order[i]->seconds * per,
                order[i]->seconds * pct, cum * pct, gf, order[i]->ops, order[i]->node,
                order[i]->kernel);
    }
    fprintf(stderr, "%10s %6s %6s  %s\n", "ms/run", "%", "steps", "by ops");
    for (uint32_t k = 0; k < ng; k++)
        fprintf(stderr, "%10.3f %6.1f %6u  %s\n", grp[k].seconds * per, grp[k].seconds * pct,
                grp[k].steps, grp[k].ops);
    free(order);
    free(grp);
}

void tsl_cli_cpu_profile_reset(struct tsl_cpu_module *m)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    (void)tsl_cpu_profile_reset(m, &diag); /* INVALID_ARG only without profiling */
    tsl_diag_fini(&diag);
}

bool tsl_cli_cpu_build(struct tsl_graph **gp, const struct tsl_shape *shapes,
                       const struct tsl_tensor *values, const char *name, int threads,
                       bool profile, const char *where, struct tsl_cpu_module **out,
                       struct tsl_cli_cpu_times *times)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_cli_cpu_times t = {0};
    /* the graph is ours from here on: bound, canonicalized and compiled in
     * place, its weights released as they are packed, then destroyed */
    struct tsl_graph *g = *gp;
    *gp = NULL;
    struct tsl_shape *own = NULL;
    bool ok = false, *frozen = NULL;
    *out = NULL;
    double t0 = tsl_cli_now_ms();
    if (values) {
        frozen = calloc(g->n_inputs + 1, sizeof *frozen);
        if (!frozen) {
            tsl_cli_error(where, "out of memory");
            goto done;
        }
    } else if (!shapes) {
        own = calloc(g->n_inputs + 1, sizeof *own);
        if (!own) {
            tsl_cli_error(where, "out of memory");
            goto done;
        }
        for (uint32_t i = 0; i < g->n_inputs; i++) {
            own[i] = g->inputs[i]->type.shape;
            if (!tsl_shape_is_static(&own[i])) {
                tsl_cli_error(g->inputs[i]->name,
                              "input has symbolic or unknown dims: bind them with "
                              "--shape %s=DIMS or -i %s=FILE",
                              g->inputs[i]->name, g->inputs[i]->name);
                goto done;
            }
        }
        shapes = own;
    }
    enum tsl_status st = values ? tsl_cpu_bind_values_in_place(g, values, g->n_inputs, frozen, &diag)
                                : tsl_cpu_bind_shapes_in_place(g, shapes, g->n_inputs, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, where, st);
        goto done;
    }
    for (uint32_t i = 0; frozen && i < g->n_inputs; i++)
        if (frozen[i])
            fprintf(stderr, "tessel: note: %s: input specialized to its value (it feeds a "
                            "compile-time operand); the compiled code accepts only this value\n",
                    g->inputs[i]->name);
    double t1 = tsl_cli_now_ms();
    t.bind_ms = t1 - t0;
    struct tsl_pass_context pc;
    tsl_pass_context_init(&pc, &diag);
    pc.eval_node = tsl_ref_eval_node;
    st = tsl_pass_run_pipeline(g, TSL_PIPELINE_CANONICALIZE, &pc);
    tsl_pass_context_fini(&pc);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, where, st);
        goto done;
    }
    double t2 = tsl_cli_now_ms();
    t.passes_ms = t2 - t1;
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.name = name;
    o.threads = threads;
    o.profile = profile;
    o.frozen = frozen;
    o.frozen_values = values;
    st = tsl_cpu_compile_consume(g, &o, out, &diag);
    if (st != TSL_STATUS_OK) {
        tsl_cli_report(&diag, where, st);
        goto done;
    }
    t.codegen_ms = tsl_cli_now_ms() - t2;
    ok = true;
done:
    if (times)
        *times = t;
    tsl_graph_destroy(g);
    free(own);
    free(frozen);
    tsl_diag_fini(&diag);
    return ok;
}

#else

bool tsl_cli_cpu_available(void)
{
    return false;
}

void tsl_cli_cpu_destroy(struct tsl_cpu_module *m)
{
    (void)m;
}

enum tsl_status tsl_cli_cpu_run(struct tsl_cpu_module *m, const struct tsl_tensor *ins,
                                uint32_t n_ins, struct tsl_tensor **outs, uint32_t *n_outs,
                                struct tsl_diag *diag)
{
    (void)m, (void)ins, (void)n_ins, (void)outs, (void)n_outs;
    return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, "cpu", "backend not built");
}

void tsl_cli_cpu_print_stats(const struct tsl_cpu_module *m, FILE *f)
{
    (void)m, (void)f;
}

void tsl_cli_cpu_print_phases(const struct tsl_cpu_module *m, FILE *f)
{
    (void)m, (void)f;
}

void tsl_cli_cpu_print_profile(const struct tsl_cpu_module *m, int top)
{
    (void)m, (void)top;
}

enum tsl_status tsl_cli_cpu_emit(struct tsl_cpu_module *m, int kind, const char *path,
                                 const char *header, struct tsl_diag *diag)
{
    (void)m, (void)kind, (void)header;
    return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, path, "cpu backend not built");
}

void tsl_cli_cpu_profile_reset(struct tsl_cpu_module *m)
{
    (void)m;
}

bool tsl_cli_cpu_build(struct tsl_graph **gp, const struct tsl_shape *shapes,
                       const struct tsl_tensor *values, const char *name, int threads,
                       bool profile, const char *where, struct tsl_cpu_module **out,
                       struct tsl_cli_cpu_times *times)
{
    tsl_graph_destroy(*gp);
    *gp = NULL;
    (void)shapes, (void)values, (void)name, (void)threads, (void)profile, (void)times;
    *out = NULL;
    tsl_cli_error(where, "the cpu backend is not available in this build (LLVM 14-16 "
                         "was not found at configure time)");
    return false;
}

#endif
