/* opq_calib.c - the calibration side of the OPQ pass (opq_calib.h): reads
 * the --calib batch, runs the model once through the caller's runner
 * (ctx->calib_run) observing the input of every compressible layer, keeps
 * per-channel mean and variance, turns them into per-weight importances for
 * the allocation, and applies bias correction to a quantized layer.
 * It does not choose bits or write codebooks (opq.c, opq_math.c) and is
 * never called without --calib. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opq_calib.h"
#include "tessel/npy.h"
#include "tessel/util.h"

/* ---- collection ---- */

struct acc {
    double *sum, *sumsq; /* n_x each */
    int64_t count;       /* observations per channel */
    bool seen;
};

struct observer {
    const struct tsl_cweights *ws;
    struct tsl_opq_calib *out;
    struct acc *acc;
};

/* Contraction axis of x for layer node n and the channel count x must have
 * there, or false when x does not fit the weight. */
static bool x_axis(const struct tsl_cweight *cw, const struct tsl_node *n,
                   const struct tsl_shape *xs, int32_t *axis, int64_t *group)
{
    *group = 1;
    switch (n->op) {
    case TSL_OP_CONV:
        *group = n->attrs.conv.group;
        if (*group < 1 || cw->n_ch % *group || xs->rank < 3)
            return false;
        *axis = 1;
        return xs->dims[1] == cw->in_dim * *group;
    case TSL_OP_CONV_TRANSPOSE:
        *axis = 1;
        return xs->rank >= 3 && xs->dims[1] == cw->in_dim;
    case TSL_OP_GEMM:
        *axis = n->attrs.gemm.transA ? 0 : 1;
        return xs->rank == 2 && xs->dims[*axis] == cw->in_dim;
    case TSL_OP_MATMUL:
        *axis = xs->rank - 1;
        return xs->rank >= 1 && xs->dims[*axis] == cw->in_dim;
    default:
        return false;
    }
}

static enum tsl_status observe(void *user, const struct tsl_node *n, const float *x,
                               const struct tsl_shape *xs, struct tsl_diag *diag)
{
    struct observer *o = user;
    uint32_t k = 0;
    while (k < o->ws->n && o->ws->w[k].node != n)
        k++;
    if (k == o->ws->n || o->acc[k].seen)
        return TSL_STATUS_OK;
    const struct tsl_cweight *cw = &o->ws->w[k];
    struct acc *a = &o->acc[k];
    a->seen = true;
    int32_t axis;
    int64_t group, numel = 1, stride = 1;
    if (!x_axis(cw, n, xs, &axis, &group))
        return TSL_STATUS_OK; /* the layer simply gets no calibration */
    for (int32_t d = 0; d < xs->rank; d++)
        if (xs->dims[d] < 0 || !tsl_mul_i64(numel, xs->dims[d], &numel))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, cw->value->name,
                                  "calibration activation shape overflows");
    for (int32_t d = axis + 1; d < xs->rank; d++)
        stride *= xs->dims[d]; /* <= numel, checked above */
    int64_t C = xs->dims[axis];
    if (numel == 0 || C == 0)
        return TSL_STATUS_OK;
    a->sum = calloc((size_t)C, sizeof *a->sum);
    a->sumsq = calloc((size_t)C, sizeof *a->sumsq);
    if (!a->sum || !a->sumsq)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, cw->value->name, "out of memory");
    for (int64_t j = 0; j < numel; j++) {
        double v = x[j];
        if (!isfinite(v))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, cw->value->name,
                                  "calibration input of this layer is not finite (element "
                                  "%lld)",
                                  (long long)j);
        int64_t c = (j / stride) % C;
        a->sum[c] += v;
        a->sumsq[c] += v * v;
    }
    a->count = numel / C;
    struct tsl_opq_calib_layer *cl = &o->out->layers[k];
    cl->n_x = C;
    cl->group = group;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_opq_calib_collect(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                      struct tsl_pass_context *ctx, struct tsl_opq_calib *out)
{
    const char *path = ctx->compress.calib_path;
    memset(out, 0, sizeof *out);
    if (!ctx->calib_run)
        return tsl_diag_error(ctx->diag, TSL_STATUS_UNSUPPORTED, path,
                              "--calib needs a model runner, and none was provided");
    struct tsl_npy a;
    TSL_TRY(tsl_npy_read_file(path, &a, ctx->diag));
    enum tsl_status st = TSL_STATUS_OK;
    struct tsl_shape shape = {.rank = a.rank};
    int64_t numel = 1;
    if (a.type != TSL_NPY_F32)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, path,
                            "calibration data must be float32, this file holds %s",
                            tsl_npy_type_name(a.type));
    else if (a.rank < 1 || a.rank > TSL_MAX_RANK)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, path,
                            "calibration data has rank %d (expected the model input's rank)",
                            (int)a.rank);
    for (int32_t d = 0; st == TSL_STATUS_OK && d < a.rank; d++) {
        shape.dims[d] = a.dims[d];
        if (!tsl_mul_i64(numel, a.dims[d], &numel))
            st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, path, "shape overflows");
    }
    if (st == TSL_STATUS_OK && numel == 0)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, path,
                            "calibration data is empty");
    const float *x = a.data;
    for (int64_t i = 0; st == TSL_STATUS_OK && i < numel; i++)
        if (!isfinite(x[i]))
            st = tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, path,
                                "calibration element %lld is not finite", (long long)i);
    struct acc *acc = calloc(ws->n ? ws->n : 1, sizeof *acc);
    out->layers = calloc(ws->n ? ws->n : 1, sizeof *out->layers);
    out->n = ws->n;
    if (st == TSL_STATUS_OK && (!acc || !out->layers))
        st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    if (st == TSL_STATUS_OK) {
        struct observer o = {ws, out, acc};
        st = ctx->calib_run(g, x, &shape, observe, &o, ctx->diag);
        if (st != TSL_STATUS_OK)
            tsl_diag_error(ctx->diag, st, path, "running the model on the calibration data failed");
    }
    for (uint32_t k = 0; st == TSL_STATUS_OK && k < ws->n; k++) {
        struct tsl_opq_calib_layer *cl = &out->layers[k];
        if (!cl->n_x)
            continue;
        cl->mean = malloc((size_t)cl->n_x * sizeof *cl->mean);
        cl->var = malloc((size_t)cl->n_x * sizeof *cl->var);
        if (!cl->mean || !cl->var) {
            st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
            break;
        }
        for (int64_t c = 0; c < cl->n_x; c++) {
            double m = acc[k].sum[c] / (double)acc[k].count;
            double v = acc[k].sumsq[c] / (double)acc[k].count - m * m;
            cl->mean[c] = m;
            cl->var[c] = v > 0 ? v : 0;
        }
    }
    for (uint32_t k = 0; acc && k < ws->n; k++) {
        free(acc[k].sum);
        free(acc[k].sumsq);
    }
    free(acc);
    tsl_npy_fini(&a);
    if (st != TSL_STATUS_OK)
        tsl_opq_calib_fini(out);
    return st;
}

void tsl_opq_calib_fini(struct tsl_opq_calib *c)
{
    for (uint32_t k = 0; c->layers && k < c->n; k++) {
        free(c->layers[k].mean);
        free(c->layers[k].var);
    }
    free(c->layers);
    c->layers = NULL;
    c->n = 0;
}

/* ---- importance ---- */

/* Channel of x that weight element i multiplies. */
static int64_t x_channel(const struct tsl_cweight *cw, const struct tsl_opq_calib_layer *cl,
                         int64_t i)
{
    int64_t ic = (i / cw->in_stride) % cw->in_dim;
    if (cw->node->op != TSL_OP_CONV || cl->group <= 1)
        return ic;
    int64_t oc = tsl_cw_channel(cw, i);
    return (oc / (cw->n_ch / cl->group)) * cw->in_dim + ic;
}

enum tsl_status tsl_opq_calib_importance(const struct tsl_cweight *cw,
                                         const struct tsl_opq_calib_layer *cl, bool centered,
                                         float **out)
{
    float *w = malloc((size_t)cw->numel * sizeof *w);
    if (!w)
        return TSL_STATUS_NOMEM;
    for (int64_t i = 0; i < cw->numel; i++) {
        int64_t c = x_channel(cw, cl, i);
        double v = cl->var[c] + (centered ? 0.0 : cl->mean[c] * cl->mean[c]);
        w[i] = (float)v;
    }
    *out = w;
    return TSL_STATUS_OK;
}

/* ---- bias correction ---- */

/* A constant f32 value with a static shape, or NULL. */
static const struct tsl_value *const_f32(const struct tsl_value *v)
{
    return v && v->constant && v->type.dtype == TSL_DTYPE_F32 &&
                   tsl_shape_is_static(&v->type.shape)
               ? v
               : NULL;
}

bool tsl_opq_bias_correctable(const struct tsl_cweight *cw, const struct tsl_opq_calib_layer *cl)
{
    const struct tsl_node *n = cw->node;
    if (!cl || cl->n_x == 0 || cw->value->n_uses != 1)
        return false;
    const struct tsl_value *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const struct tsl_shape *bs = b ? &b->type.shape : NULL;
    switch (n->op) {
    case TSL_OP_CONV:
        return !b || (const_f32(b) && bs->rank == 1 && bs->dims[0] == cw->n_ch);
    case TSL_OP_GEMM:
        if (n->attrs.gemm.beta == 0.0f)
            return false;
        return !b || (const_f32(b) && bs->rank >= 1 && bs->rank <= 2 &&
                      bs->dims[bs->rank - 1] == cw->n_ch);
    case TSL_OP_MATMUL:
        return cw->value->type.shape.rank == 2;
    default:
        return false;
    }
}

/* A new f32 constant named after `base` holding `vals` with type *t. */
static enum tsl_status add_const(struct tsl_graph *g, const char *base, const struct tsl_type *t,
                                 const float *vals, struct tsl_value **out)
{
    char *name = tsl_graph_unique_value_name(g, base);
    if (!name)
        return TSL_STATUS_NOMEM;
    enum tsl_status st = tsl_graph_add_dense_constant(g, name, t, vals, out);
    free(name);
    return st;
}

/* Put nv in input slot 2 of n (appending it when n has only two inputs) and
 * drop the old constant there if nothing else uses it, reusing its name. */
static enum tsl_status set_bias(struct tsl_graph *g, struct tsl_node *n, struct tsl_value *nv)
{
    struct tsl_value *old = n->n_inputs > 2 ? n->inputs[2] : NULL;
    if (n->n_inputs > 2)
        tsl_node_set_input(n, 2, nv);
    else
        TSL_TRY(tsl_node_append_input(n, nv));
    if (!old || old->n_uses || old->n_output_refs)
        return TSL_STATUS_OK;
    char *name = tsl_strdup(old->name);
    if (!name)
        return TSL_STATUS_NOMEM;
    enum tsl_status st = tsl_graph_erase_value(g, old);
    if (st == TSL_STATUS_OK)
        st = tsl_value_rename(g, nv, name);
    free(name);
    return st;
}

static enum tsl_status correct(struct tsl_graph *g, const struct tsl_cweight *cw,
                               const double *d, struct tsl_diag *diag)
{
    struct tsl_node *n = cw->node;
    const char *wname = cw->value->name;
    struct tsl_value *b = n->n_inputs > 2 ? n->inputs[2] : NULL, *nv = NULL;
    float *vals = NULL;
    int64_t nb = cw->n_ch;
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, &nb);
    double scale = 1.0;
    if (n->op == TSL_OP_GEMM)
        scale = (double)n->attrs.gemm.alpha / (double)n->attrs.gemm.beta;
    if (b) {
        t = b->type;
        TSL_TRY(tsl_const_decode(b, (void **)&vals, diag));
        if (!tsl_shape_numel(&t.shape, &nb)) {
            free(vals);
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, wname, "bad bias shape");
        }
    } else {
        vals = calloc((size_t)cw->n_ch, sizeof *vals);
        if (!vals)
            return tsl_diag_error(diag, TSL_STATUS_NOMEM, wname, "out of memory");
    }
    for (int64_t j = 0; j < nb; j++) /* a [M, N] Gemm C gets the row vector on every row */
        vals[j] = (float)((double)vals[j] + scale * d[j % cw->n_ch]);
    enum tsl_status st;
    if (n->op == TSL_OP_MATMUL) {
        struct tsl_value *y = n->outputs[0];
        struct tsl_node *add = NULL;
        char *base = tsl_asprintf("%s_bias", wname);
        st = base ? add_const(g, base, &t, vals, &nv) : TSL_STATUS_NOMEM;
        free(base);
        struct tsl_value *ins[2] = {y, nv};
        if (st == TSL_STATUS_OK)
            st = tsl_graph_insert_node_after(g, n, TSL_OP_ADD, NULL, 2, ins, 1, &add, NULL);
        if (st == TSL_STATUS_OK) {
            add->outputs[0]->type = y->type;
            tsl_value_replace_all_uses(y, add->outputs[0]);
            tsl_node_set_input(add, 0, y);
        }
    } else {
        char *base = b ? tsl_strdup(b->name) : tsl_asprintf("%s_bias", wname);
        st = base ? add_const(g, base, &t, vals, &nv) : TSL_STATUS_NOMEM;
        free(base);
        if (st == TSL_STATUS_OK)
            st = set_bias(g, n, nv);
    }
    free(vals);
    if (st != TSL_STATUS_OK)
        return tsl_diag_error(diag, st, wname, "cannot write the corrected bias");
    return TSL_STATUS_OK;
}

enum tsl_status tsl_opq_bias_correct(struct tsl_graph *g, const struct tsl_cweight *cw,
                                     const struct tsl_opq_calib_layer *cl, const float *w,
                                     const float *wq, struct tsl_diag *diag)
{
    if (!tsl_opq_bias_correctable(cw, cl))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, cw->value->name,
                              "this layer's bias cannot be corrected");
    double *d = calloc((size_t)cw->n_ch, sizeof *d);
    if (!d)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, cw->value->name, "out of memory");
    for (int64_t i = 0; i < cw->numel; i++)
        d[tsl_cw_channel(cw, i)] += ((double)w[i] - wq[i]) * cl->mean[x_channel(cw, cl, i)];
    enum tsl_status st = correct(g, cw, d, diag);
    free(d);
    return st;
}
