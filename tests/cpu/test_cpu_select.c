/* test_cpu_select.c - the ops whose output size depends on the data
 * (backends/cpu/lower_select.c, runtime/tsl_select.c) against the
 * reference: NonZero on f32 with -0, NaN and infinities, on f64, i32, u8
 * and bool, and on a rank-0 input; NonMaxSuppression with random boxes in
 * both box formats, constant and run-time max_output_boxes_per_class,
 * with and without a score threshold, and identical scores (ties go by box
 * index).  The output's shape must be the reference's, its bytes equal.
 * An artifact (.so) must give the same selection, with the size read
 * through the header's <name>_output_dim. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/reference.h"
#include "tessel/shape.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* Run g on ins through the reference and the JIT; outputs must agree in
 * dtype, shape and bytes.  Returns the cpu module (caller destroys) when
 * keep, else NULL. */
static struct tsl_cpu_module *compare(struct tsl_graph *g, const struct tsl_tensor *ins,
                                      uint32_t n_ins, const struct tsl_cpu_options *o, bool keep)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_tensor *ref, *cpu;
    uint32_t nr, nc;
    struct tsl_ref_stats rs;
    assert_int_equal(tsl_ref_run(g, ins, n_ins, &ref, &nr, &rs, &d), TSL_STATUS_OK);
    struct tsl_cpu_module *m = NULL;
    enum tsl_status st = tsl_cpu_compile(g, o, &m, &d);
    if (st != TSL_STATUS_OK)
        fail_msg("compile: %s", tsl_diag_first_error(&d) ? tsl_diag_first_error(&d)->message : "");
    for (int rep = 0; rep < 2; rep++) { /* the second run reuses the arena */
        assert_int_equal(tsl_cpu_run(m, ins, n_ins, &cpu, &nc, &d), TSL_STATUS_OK);
        assert_int_equal(nc, nr);
        for (uint32_t i = 0; i < nr; i++) {
            assert_int_equal(cpu[i].dtype, ref[i].dtype);
            assert_true(tsl_shape_equal(&cpu[i].shape, &ref[i].shape));
            int64_t numel = 0, bytes = 0;
            assert_true(tsl_shape_numel(&ref[i].shape, &numel));
            assert_true(tsl_dtype_storage_bytes(ref[i].dtype, numel, &bytes));
            if (bytes)
                assert_memory_equal(cpu[i].data, ref[i].data, (size_t)bytes);
        }
        tsl_tensors_free(cpu, nc);
    }
    tsl_tensors_free(ref, nr);
    tsl_diag_fini(&d);
    if (!keep) {
        tsl_cpu_module_destroy(m);
        m = NULL;
    }
    return m;
}

static struct tsl_graph *nonzero_graph(enum tsl_dtype dt, int rank, const int64_t *dims)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *x = h_typed_input(g, "x", dt, rank, dims);
    tsl_graph_add_output(g, h_node(g, TSL_OP_NON_ZERO, "nz", 1, &x)->outputs[0]);
    return g;
}

static void test_nonzero(void **state)
{
    (void)state;
    /* f32 with the zeros (+-0) and non-zeros that matter */
    float xf[24] = {0.0f, -0.0f, 1.0f, NAN, 0.0f, -2.5f, INFINITY, 0.0f, 1e-45f, -0.0f, 0.0f, 3.0f,
                    0.0f, 0.0f,  0.0f, 0.0f, -INFINITY, 0.0f, 7.0f, 0.0f, -0.0f, 0.0f, 0.0f, 2.0f};
    struct tsl_graph *g = nonzero_graph(TSL_DTYPE_F32, 3, D(2, 3, 4));
    struct tsl_tensor in = {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = xf};
    compare(g, &in, 1, NULL, false);
    tsl_graph_destroy(g);
    /* all zero: [rank, 0] */
    float zf[24] = {0};
    g = nonzero_graph(TSL_DTYPE_F32, 3, D(2, 3, 4));
    in.data = zf;
    compare(g, &in, 1, NULL, false);
    tsl_graph_destroy(g);
    /* other dtypes, random with many zeros */
    struct rng r = {0x2E80};
    const enum tsl_dtype dts[4] = {TSL_DTYPE_F64, TSL_DTYPE_I32, TSL_DTYPE_U8, TSL_DTYPE_BOOL};
    for (int k = 0; k < 4; k++) {
        g = nonzero_graph(dts[k], 2, D(5, 7));
        int64_t es = 0;
        assert_true(tsl_dtype_storage_bytes(dts[k], 1, &es));
        unsigned char *buf = calloc(35, (size_t)es);
        assert_non_null(buf);
        for (int i = 0; i < 35; i++)
            if (rng_u32(&r) % 3 == 0) /* one byte set: non-zero in every dtype */
                buf[i * es + (int64_t)(rng_u32(&r) % (uint32_t)es)] = 1;
        in = (struct tsl_tensor){.dtype = dts[k], .shape = g->inputs[0]->type.shape, .data = buf};
        compare(g, &in, 1, NULL, false);
        free(buf);
        tsl_graph_destroy(g);
    }
    /* rank 0: output [0, nnz] */
    float one = 1.0f;
    g = nonzero_graph(TSL_DTYPE_F32, 0, NULL);
    in = (struct tsl_tensor){.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = &one};
    compare(g, &in, 1, NULL, false);
    tsl_graph_destroy(g);
}

/* boxes [B, N, 4], scores [B, C, N]; max_out: constant (>= 0), a run-time
 * input (-1) or absent (-2); score threshold when sth >= -1. */
static struct tsl_graph *nms_graph(int64_t B, int64_t N, int64_t C, int64_t max_out, float iou,
                                   float sth, int center)
{
    struct tsl_graph *g = h_graph();
    struct tsl_value *in[5] = {h_input(g, "boxes", 3, D(B, N, 4)), h_input(g, "scores", 3, D(B, C, N)),
                               NULL, NULL, NULL};
    if (max_out >= 0)
        in[2] = h_i64(g, "max_out", 1, D(max_out));
    else if (max_out == -1) {
        in[2] = h_typed_input(g, "max_out", TSL_DTYPE_I64, 1, D(1));
    }
    uint32_t n_in = max_out == -2 ? 2 : 3;
    if (iou >= 0) {
        in[3] = h_scalar(g, "iou", iou);
        n_in = 4;
        if (sth >= -1) {
            in[4] = h_scalar(g, "sth", sth);
            n_in = 5;
        }
    }
    struct tsl_node *n = h_node(g, TSL_OP_NON_MAX_SUPPRESSION, "nms", (int)n_in, in);
    n->attrs.nms.center_point_box = center;
    tsl_graph_add_output(g, n->outputs[0]);
    return g;
}

static void fill(struct rng *r, float *p, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = rng_f(r, lo, hi);
}

static void test_nms(void **state)
{
    (void)state;
    struct rng r = {0x4E45};
    const int64_t B = 2, N = 24, C = 3;
    float boxes[2 * 24 * 4], scores[2 * 3 * 24];
    struct {
        int64_t max_out;
        float iou, sth;
        int center;
        bool ties;
    } cases[] = {
        {5, 0.5f, 0.2f, 0, false},  {5, 0.3f, -2.0f, 1, false}, {100, 0.6f, 0.0f, 0, false},
        {-1, 0.4f, 0.1f, 0, false}, {3, 0.5f, -2.0f, 0, true},  {-2, -1.0f, -2.0f, 0, false},
        {0, 0.5f, 0.2f, 1, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fill(&r, boxes, B * N * 4, 0.0f, 1.0f);
        fill(&r, scores, B * C * N, 0.0f, 1.0f);
        if (cases[k].ties) /* equal scores: selection order by box index */
            for (int64_t i = 0; i < B * C * N; i++)
                scores[i] = (float)(i % 3) * 0.25f;
        struct tsl_graph *g =
            nms_graph(B, N, C, cases[k].max_out, cases[k].iou, cases[k].sth, cases[k].center);
        int64_t mo = 4;
        struct tsl_tensor ins[3] = {
            {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = boxes},
            {.dtype = TSL_DTYPE_F32, .shape = g->inputs[1]->type.shape, .data = scores},
            {.dtype = TSL_DTYPE_I64, .shape = {.rank = 1, .dims = {1}}, .data = &mo}};
        compare(g, ins, g->n_inputs, NULL, false);
        tsl_graph_destroy(g);
    }
}

/* Feeding a data-dependent output to another node is refused, naming it. */
static void test_nms_output_must_be_graph_output(void **state)
{
    (void)state;
    struct tsl_graph *g = nms_graph(1, 4, 1, 2, 0.5f, -2.0f, 0);
    struct tsl_diag d;
    tsl_diag_init(&d);
    assert_int_equal(tsl_infer_shapes(g, &d), TSL_STATUS_OK);
    struct tsl_value *sel = g->outputs[0];
    tsl_graph_add_output(g, h_node(g, TSL_OP_IDENTITY, "id", 1, &sel)->outputs[0]);
    struct tsl_cpu_module *m = NULL;
    assert_int_equal(tsl_cpu_compile(g, NULL, &m, &d), TSL_STATUS_UNSUPPORTED);
    assert_null(m);
    assert_non_null(tsl_diag_first_error(&d));
    assert_non_null(strstr(tsl_diag_first_error(&d)->message, "NonMaxSuppression"));
    tsl_diag_fini(&d);
    tsl_graph_destroy(g);
}

typedef void (*run_fn)(const void *, void *, void *const *, void *const *, void *);

/* The artifact: same selection, size through the header's accessor. */
static void test_nms_shared_library(void **state)
{
    (void)state;
    struct rng r = {0x50};
    const int64_t B = 1, N = 16, C = 2;
    float boxes[16 * 4], scores[2 * 16];
    fill(&r, boxes, B * N * 4, 0.0f, 1.0f);
    fill(&r, scores, B * C * N, 0.0f, 1.0f);
    struct tsl_graph *g = nms_graph(B, N, C, 4, 0.3f, 0.1f, 0);
    struct tsl_tensor ins[2] = {
        {.dtype = TSL_DTYPE_F32, .shape = g->inputs[0]->type.shape, .data = boxes},
        {.dtype = TSL_DTYPE_F32, .shape = g->inputs[1]->type.shape, .data = scores}};
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.name = "sel";
    struct tsl_cpu_module *m = compare(g, ins, 2, &o, true);
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_tensor *outs;
    uint32_t nout;
    assert_int_equal(tsl_cpu_run(m, ins, 2, &outs, &nout, &d), TSL_STATUS_OK);
    char dir[] = "/tmp/tessel_sel_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p_so[128], p_h[128];
    snprintf(p_so, sizeof p_so, "%s/sel.so", dir);
    snprintf(p_h, sizeof p_h, "%s/sel.h", dir);
    assert_int_equal(tsl_cpu_emit(m, TSL_CPU_EMIT_SO, p_so, &d), TSL_STATUS_OK);
    char buf[8192];
    h_read_text(p_h, buf, sizeof buf);
    assert_non_null(strstr(buf, "static inline long long sel_output_dim(const void *arena, int i)"));
    assert_non_null(strstr(buf, "#define SEL_OUTPUT_0_DYN_AXIS 0"));
    assert_non_null(strstr(buf, "#define SEL_OUTPUT_0_DIMS {8LL, 3LL}")); /* 1 x 2 x 4 */
    const char *od = strstr(buf, "#define SEL_DIMS_OFFSET ");
    assert_non_null(od);
    long long dims_off = atoll(od + strlen("#define SEL_DIMS_OFFSET "));
    struct tsl_cpu_module_info info;
    tsl_cpu_module_info(m, &info);
    void *h = dlopen(p_so, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    void *sym = dlsym(h, "sel_run");
    const void *w = dlsym(h, "sel_weights");
    assert_non_null(sym);
    assert_non_null(w);
    run_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    void *arena = aligned_alloc(64, (size_t)info.arena_bytes);
    assert_non_null(arena);
    int64_t sel[8 * 3];
    void *in_p[2] = {boxes, scores}, *out_p[1] = {sel};
    fn(w, arena, in_p, out_p, NULL);
    long long count = ((const long long *)((const char *)arena + dims_off))[0];
    assert_int_equal(count, outs[0].shape.dims[0]);
    assert_memory_equal(sel, outs[0].data, (size_t)count * 3 * sizeof(int64_t));
    free(arena);
    dlclose(h);
    unlink(p_so);
    unlink(p_h);
    rmdir(dir);
    tsl_tensors_free(outs, nout);
    tsl_cpu_module_destroy(m);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonzero),
        cmocka_unit_test(test_nms),
        cmocka_unit_test(test_nms_output_must_be_graph_output),
        cmocka_unit_test(test_nms_shared_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
