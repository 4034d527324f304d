/* harness.c - implementation of the CPU differential-test helpers (see
 * harness.h): random data, graph shortcuts, and the cpu-vs-reference check
 * with its stated tolerance. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "tessel/reference.h"
#include "tessel/shape.h"

uint32_t rng_u32(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 16);
}

int64_t rng_int(struct rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_u32(r) % (uint32_t)(hi - lo + 1));
}

float rng_f(struct rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_u32(r) & 0xffffff) / (float)0xffffff;
}

struct tsl_graph *h_graph(void)
{
    struct tsl_graph *g;
    assert_int_equal(tsl_graph_create("t", &g), TSL_STATUS_OK);
    return g;
}

struct tsl_value *h_input(struct tsl_graph *g, const char *name, int rank, const int64_t *dims)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_input(g, name, &t, &v), TSL_STATUS_OK);
    return v;
}

struct tsl_value *h_const(struct tsl_graph *g, struct rng *r, const char *name, int rank,
                          const int64_t *dims, float lo, float hi)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, rank, dims);
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++)
        d[i] = rng_f(r, lo, hi);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, d, &v), TSL_STATUS_OK);
    free(d);
    return v;
}

struct tsl_value *h_scalar(struct tsl_graph *g, const char *name, float x)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 0, NULL);
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, &x, &v), TSL_STATUS_OK);
    return v;
}

struct tsl_value *h_i64(struct tsl_graph *g, const char *name, int n, const int64_t *vals)
{
    struct tsl_type t = tsl_type_make(TSL_DTYPE_I64, 1, (int64_t[]){n});
    struct tsl_value *v;
    assert_int_equal(tsl_graph_add_dense_constant(g, name, &t, vals, &v), TSL_STATUS_OK);
    return v;
}

struct tsl_node *h_node(struct tsl_graph *g, enum tsl_op op, const char *name, int n_in,
                        struct tsl_value *const *in)
{
    struct tsl_node *n;
    assert_int_equal(tsl_graph_add_node(g, op, name, (uint32_t)n_in, in, 1, &n, NULL),
                     TSL_STATUS_OK);
    return n;
}

static void fail_diag(const char *what, struct tsl_diag *d)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    fail_msg("%s: %s: %s", what, e ? e->where : "?", e ? e->message : "(no diagnostic)");
}

void h_check(struct tsl_graph *g, struct rng *r, float lo, float hi,
             struct tsl_cpu_module_info *info)
{
    h_check_opts(g, r, lo, hi, NULL, info);
}

void h_check_opts(struct tsl_graph *g, struct rng *r, float lo, float hi,
                  const struct tsl_cpu_options *opts, struct tsl_cpu_module_info *info)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    if (tsl_infer_shapes(g, &d) != TSL_STATUS_OK)
        fail_diag("shape inference", &d);
    struct tsl_tensor *in = calloc(g->n_inputs + 1, sizeof *in);
    assert_non_null(in);
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        int64_t n, bytes;
        enum tsl_dtype dt = g->inputs[i]->type.dtype;
        assert_true(tsl_shape_numel(&g->inputs[i]->type.shape, &n));
        assert_true(tsl_dtype_storage_bytes(dt, n, &bytes));
        in[i].dtype = dt;
        in[i].shape = g->inputs[i]->type.shape;
        in[i].data = calloc(1, (size_t)(bytes ? bytes : 1));
        assert_non_null(in[i].data);
        /* floats uniform in [lo, hi]; integers uniform in [round(lo), round(hi)]
         * wrapped to the dtype; bool 0/1 */
        for (int64_t k = 0; k < n; k++) {
            if (dt == TSL_DTYPE_F32)
                ((float *)in[i].data)[k] = rng_f(r, lo, hi);
            else if (dt == TSL_DTYPE_F64)
                ((double *)in[i].data)[k] = rng_f(r, lo, hi);
            else if (dt == TSL_DTYPE_BOOL)
                ((uint8_t *)in[i].data)[k] = (uint8_t)(rng_u32(r) & 1);
            else
                tsl_dense_set_i64(dt, in[i].data, k,
                                  rng_int(r, (int64_t)lroundf(lo), (int64_t)lroundf(hi)));
        }
    }
    struct tsl_tensor *ro = NULL, *co = NULL;
    uint32_t nro = 0, nco = 0;
    struct tsl_ref_stats rs;
    if (tsl_ref_run(g, in, g->n_inputs, &ro, &nro, &rs, &d) != TSL_STATUS_OK)
        fail_diag("reference", &d);
    struct tsl_cpu_module *m = NULL;
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    if (opts)
        o = *opts;
    if (tsl_cpu_compile(g, &o, &m, &d) != TSL_STATUS_OK)
        fail_diag("cpu compile", &d);
    if (tsl_cpu_run(m, in, g->n_inputs, &co, &nco, &d) != TSL_STATUS_OK)
        fail_diag("cpu run", &d);
    assert_int_equal(nro, nco);
    for (uint32_t o2 = 0; o2 < nco; o2++) {
        if (!tsl_shape_equal(&ro[o2].shape, &co[o2].shape))
            fail_msg("output %u: reference shape rank %d [%lld %lld %lld %lld] vs cpu [%lld %lld %lld %lld]", o2,
                     (int)ro[o2].shape.rank, (long long)ro[o2].shape.dims[0], (long long)ro[o2].shape.dims[1],
                     (long long)ro[o2].shape.dims[2], (long long)ro[o2].shape.dims[3], (long long)co[o2].shape.dims[0],
                     (long long)co[o2].shape.dims[1], (long long)co[o2].shape.dims[2], (long long)co[o2].shape.dims[3]);
        int64_t n;
        assert_true(tsl_shape_numel(&co[o2].shape, &n));
        assert_int_equal(ro[o2].dtype, co[o2].dtype);
        if (ro[o2].dtype != TSL_DTYPE_F32 && ro[o2].dtype != TSL_DTYPE_F64) {
            /* integer and bool outputs must match exactly */
            int64_t bytes;
            assert_true(tsl_dtype_storage_bytes(ro[o2].dtype, n, &bytes));
            const uint8_t *a = ro[o2].data, *b = co[o2].data;
            for (int64_t k = 0; k < bytes; k++)
                if (a[k] != b[k])
                    fail_msg("output %u (%s) byte %lld: ref %u cpu %u (graph node %s)", o2,
                             tsl_dtype_name(ro[o2].dtype), (long long)k, a[k], b[k],
                             g->last ? g->last->name : "?");
            continue;
        }
        for (int64_t k = 0; k < n; k++) {
            double a = ro[o2].dtype == TSL_DTYPE_F32 ? ((const float *)ro[o2].data)[k]
                                                    : ((const double *)ro[o2].data)[k];
            double b = co[o2].dtype == TSL_DTYPE_F32 ? ((const float *)co[o2].data)[k]
                                                    : ((const double *)co[o2].data)[k];
            double tol = 1e-4 * (fabs(a) + 1.0);
            bool same_nan = isnan(a) && isnan(b);
            if (!same_nan && !(fabs(a - b) <= tol))
                fail_msg("output %u element %lld: ref %.7g cpu %.7g (graph node %s)", o2,
                         (long long)k, a, b, g->last ? g->last->name : "?");
        }
    }
    if (info)
        tsl_cpu_module_info(m, info);
    if (info)
        info->cpu = NULL; /* owned by the module, destroyed below */
    tsl_tensors_free(ro, nro);
    tsl_tensors_free(co, nco);
    for (uint32_t i = 0; i < g->n_inputs; i++)
        free(in[i].data);
    free(in);
    tsl_cpu_module_destroy(m);
    tsl_graph_destroy(g);
    tsl_diag_fini(&d);
}

struct tsl_value *h_conv(struct tsl_graph *g, struct rng *r, const char *name, struct tsl_value *x,
                         int64_t c, int64_t oc, int64_t k, int64_t s, int64_t grp, bool relu)
{
    char wn[64], bn[64], rn[64];
    snprintf(wn, sizeof wn, "%s_w", name);
    snprintf(bn, sizeof bn, "%s_b", name);
    snprintf(rn, sizeof rn, "%s_relu", name);
    float sc = 1.0f / sqrtf((float)(c / grp * k * k));
    struct tsl_value *in[3] = {x, h_const(g, r, wn, 4, (const int64_t[]){oc, c / grp, k, k}, -sc, sc),
                               h_const(g, r, bn, 1, (const int64_t[]){oc}, -0.1f, 0.1f)};
    struct tsl_node *n = h_node(g, TSL_OP_CONV, name, 3, in);
    n->attrs.conv.group = grp;
    n->attrs.conv.kernel_shape = (struct tsl_ints){2, {k, k}};
    n->attrs.conv.strides = (struct tsl_ints){2, {s, s}};
    n->attrs.conv.pads = (struct tsl_ints){4, {k / 2, k / 2, k / 2, k / 2}};
    struct tsl_value *y = n->outputs[0];
    return relu ? h_node(g, TSL_OP_RELU, rn, 1, &y)->outputs[0] : y;
}

void h_read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

void h_conv_attrs(struct rng *r, struct tsl_attr_conv *a, int sp, int64_t grp, int64_t max_pb,
                  enum tsl_auto_pad auto_pad)
{
    a->group = grp;
    a->strides.n = a->dilations.n = (uint32_t)sp;
    a->pads.n = 2u * (uint32_t)sp;
    for (int i = 0; i < sp; i++) {
        a->strides.v[i] = rng_int(r, 1, 2);
        a->dilations.v[i] = rng_int(r, 1, 2);
        a->pads.v[i] = rng_int(r, 0, max_pb);
        a->pads.v[sp + i] = rng_int(r, 0, 1);
    }
    if (auto_pad != TSL_auto_pad_NOTSET) {
        a->pads.n = 0;
        a->auto_pad = auto_pad;
        for (int i = 0; i < sp; i++)
            a->dilations.v[i] = 1;
    }
}

struct tsl_graph *h_symbolic_tanh(void)
{
    struct tsl_graph *g = h_graph();
    uint32_t sym;
    assert_int_equal(tsl_graph_symbol(g, "N", &sym), TSL_STATUS_OK);
    struct tsl_value *x = h_input(g, "x", 2, (int64_t[]){TSL_DIM_SYM(sym), 8});
    tsl_graph_add_output(g, h_node(g, TSL_OP_TANH, "t", 1, &x)->outputs[0]);
    return g;
}

struct tsl_value *h_typed_input(struct tsl_graph *g, const char *name, enum tsl_dtype dt, int rank,
                                const int64_t *dims)
{
    struct tsl_value *v = h_input(g, name, rank, dims);
    v->type.dtype = dt;
    return v;
}
