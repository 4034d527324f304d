/* bench_cpu.c - micro-benchmark of the CPU backend's heavy kernels (not part
 * of ctest): a square f32 MatMul with a constant right operand (GFLOP/s) and
 * a 3x3 convolution, compiled for `threads` threads (default 1), median of
 * repeated runs after one warm-up.
 * Usage: tessel_cpu_bench [gemm N] [conv C OC HW] [reps R] [threads T] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessel/cpu.h"
#include "tessel/shape.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *rnd(int64_t n)
{
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++)
        p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    return p;
}

static double time_graph(struct tsl_graph *g, int reps, int threads, struct tsl_diag *d)
{
    struct tsl_cpu_module *m;
    struct tsl_cpu_options opt;
    tsl_cpu_options_default(&opt);
    opt.threads = threads;
    if (tsl_infer_shapes(g, d) || tsl_cpu_compile(g, &opt, &m, d))
        return -1;
    int64_t n;
    tsl_shape_numel(&g->inputs[0]->type.shape, &n);
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape,
                            .data = rnd(n)};
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -1; r < reps; r++) {
        struct tsl_tensor *o;
        uint32_t no;
        double t0 = now();
        if (tsl_cpu_run(m, &in, 1, &o, &no, d))
            return -1;
        if (r >= 0)
            t[r] = now() - t0;
        tsl_tensors_free(o, no);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double med = t[reps / 2];
    free(t);
    free(in.data);
    tsl_cpu_module_destroy(m);
    return med;
}

int main(int argc, char **argv)
{
    int64_t N = 512, C = 64, OC = 64, HW = 56;
    int reps = 20, threads = 1;
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "gemm"))
            N = atoll(argv[++i]);
        else if (!strcmp(argv[i], "reps"))
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "threads"))
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "conv") && i + 3 < argc) {
            C = atoll(argv[++i]);
            OC = atoll(argv[++i]);
            HW = atoll(argv[++i]);
        }
    }
    if (reps < 1)
        reps = 1;
    if (threads < 1)
        threads = 1;
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g;
    tsl_graph_create("gemm", &g);
    struct tsl_type ta = tsl_type_make(TSL_DTYPE_F32, 2, (int64_t[]){N, N});
    struct tsl_value *a, *b;
    struct tsl_node *n;
    float *w = rnd(N * N);
    tsl_graph_add_input(g, "a", &ta, &a);
    tsl_graph_add_dense_constant(g, "b", &ta, w, &b);
    free(w);
    tsl_graph_add_node(g, TSL_OP_MATMUL, "mm", 2, (struct tsl_value *[]){a, b}, 1, &n, NULL);
    tsl_graph_add_output(g, n->outputs[0]);
    double tg = time_graph(g, reps, threads, &d);
    tsl_graph_destroy(g);

    tsl_graph_create("conv", &g);
    struct tsl_type tx = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){1, C, HW, HW});
    struct tsl_type tw = tsl_type_make(TSL_DTYPE_F32, 4, (int64_t[]){OC, C, 3, 3});
    w = rnd(OC * C * 9);
    tsl_graph_add_input(g, "x", &tx, &a);
    tsl_graph_add_dense_constant(g, "w", &tw, w, &b);
    free(w);
    tsl_graph_add_node(g, TSL_OP_CONV, "conv", 2, (struct tsl_value *[]){a, b}, 1, &n, NULL);
    n->attrs.conv.kernel_shape = (struct tsl_ints){2, {3, 3}};
    n->attrs.conv.pads = (struct tsl_ints){4, {1, 1, 1, 1}};
    tsl_graph_add_output(g, n->outputs[0]);
    double tc = time_graph(g, reps, threads, &d);
    tsl_graph_destroy(g);
    if (tg < 0 || tc < 0) {
        const struct tsl_diag_entry *e = tsl_diag_first_error(&d);
        fprintf(stderr, "tessel_cpu_bench: error: %s: %s\n", e ? e->where : "?",
                e ? e->message : "?");
        tsl_diag_fini(&d);
        return 1;
    }
    double gf = 2.0 * (double)N * (double)N * (double)N / tg * 1e-9;
    double cf = 2.0 * (double)OC * (double)C * 9.0 * (double)(HW * HW) / tc * 1e-9;
    printf("{\"matmul_n\": %lld, \"matmul_ms\": %.3f, \"matmul_gflops\": %.1f, "
           "\"conv\": \"3x3 %lld->%lld %lldx%lld pad 1\", \"conv_ms\": %.3f, "
           "\"conv_gflops\": %.1f, \"reps\": %d, \"threads\": %d}\n",
           (long long)N, tg * 1e3, gf, (long long)C, (long long)OC, (long long)HW,
           (long long)HW, tc * 1e3, cf, reps, threads);
    tsl_diag_fini(&d);
    return 0;
}
