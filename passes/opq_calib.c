/* opq_calib.c - the calibration side of the OPQ pass (opq_calib.h): reads
 * the --calib batch, runs the fp32 model once through the caller's runner
 * (ctx->calib_run) observing the input (per-channel mean and variance) and
 * output (per-channel mean) of every compressible layer, turns the input
 * statistics into per-weight importances for the allocation, and after
 * quantization runs the quantized model once more to correct every
 * layer's bias in sequence (each layer sees the corrected layers before
 * it).
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
    bool seen, seen_out;
};

struct observer {
    const struct tsl_cweights *ws;
    struct tsl_opq_calib *out; /* collection run: filled */
    const struct tsl_opq_calib *cal; /* bias-correction run: the fp32 statistics */
    struct acc *acc;
    int64_t cov_bytes;       /* collection run: E[x x^T] bytes kept so far */
    const bool *marked;      /* bias-correction run: layers to correct */
    double **delta;          /* bias-correction run: per layer, n_ch (owned by caller) */
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

/* Channel axis of the output y of layer node n (its n_ch channels), or
 * false when y does not fit. */
static bool y_axis(const struct tsl_cweight *cw, const struct tsl_node *n,
                   const struct tsl_shape *ys, int32_t *axis)
{
    *axis = n->op == TSL_OP_MATMUL ? ys->rank - 1 : 1;
    return ys->rank >= 1 && *axis >= 0 && *axis < ys->rank && ys->dims[*axis] == cw->n_ch;
}

static int32_t layer_of(const struct observer *o, const struct tsl_node *n)
{
    for (uint32_t k = 0; k < o->ws->n; k++)
        if (o->ws->w[k].node == n)
            return (int32_t)k;
    return -1;
}

/* numel and the stride of `axis` of a shape (checked). */
static bool shape_layout(const struct tsl_shape *s, int32_t axis, int64_t *numel,
                         int64_t *stride)
{
    *numel = 1;
    *stride = 1;
    for (int32_t d = 0; d < s->rank; d++)
        if (s->dims[d] < 0 || !tsl_mul_i64(*numel, s->dims[d], numel))
            return false;
    for (int32_t d = axis + 1; d < s->rank; d++)
        *stride *= s->dims[d]; /* <= numel */
    return true;
}

/* Per-channel sums of x along `axis` into sum (and sumsq when non-NULL);
 * INVALID_ARG on a non-finite element. */
static enum tsl_status channel_sums(const float *x, const struct tsl_shape *s, int32_t axis,
                                    double *sum, double *sumsq, const char *where,
                                    struct tsl_diag *diag)
{
    int64_t numel, stride, C = s->dims[axis];
    if (!shape_layout(s, axis, &numel, &stride))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where,
                              "calibration activation shape overflows");
    for (int64_t j = 0; j < numel; j++) {
        double v = x[j];
        if (!isfinite(v))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where,
                                  "activation of this layer on the calibration data is not "
                                  "finite (element %lld)",
                                  (long long)j);
        int64_t c = (j / stride) % C;
        sum[c] += v;
        if (sumsq)
            sumsq[c] += v * v;
    }
    return TSL_STATUS_OK;
}

/* Positions sampled at most for the second-moment matrix of a layer input
 * (evenly strided, deterministic): bounds the O(positions * C^2) cost. */
#define COV_MAX_POSITIONS 4096

bool tsl_opq_gptq_fits(const struct tsl_cweight *cw)
{
    const struct tsl_node *n = cw->node;
    if (cw->in_dim > TSL_OPQ_GPTQ_MAX_IN || cw->numel != cw->n_ch * cw->in_dim)
        return false;
    switch (n->op) {
    case TSL_OP_CONV:
        return n->attrs.conv.group == 1;
    case TSL_OP_GEMM:
    case TSL_OP_MATMUL:
        return cw->value->type.shape.rank == 2;
    default:
        return false;
    }
}

/* E[x x^T] over (a strided sample of) the positions of x, channels along
 * `axis`, into cl->cov. */
static enum tsl_status second_moments(const float *x, const struct tsl_shape *xs, int32_t axis,
                                      struct tsl_opq_calib_layer *cl, const char *where,
                                      struct tsl_diag *diag)
{
    int64_t numel, stride, C = xs->dims[axis];
    if (!shape_layout(xs, axis, &numel, &stride))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where, "shape overflows");
    int64_t P = numel / C, step = P > COV_MAX_POSITIONS ? P / COV_MAX_POSITIONS : 1, used = 0;
    double *cov = calloc((size_t)(C * C), sizeof *cov), *v = malloc((size_t)C * sizeof *v);
    if (!cov || !v) {
        free(cov);
        free(v);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
    }
    for (int64_t p = 0; p < P; p += step, used++) {
        int64_t outer = p / stride, in = p % stride, base = outer * C * stride + in;
        for (int64_t c = 0; c < C; c++)
            v[c] = x[base + c * stride];
        for (int64_t a = 0; a < C; a++) {
            double va = v[a];
            double *row = cov + a * C;
            for (int64_t b = a; b < C; b++)
                row[b] += va * v[b];
        }
    }
    for (int64_t a = 0; a < C; a++)
        for (int64_t b = a; b < C; b++) {
            cov[a * C + b] /= (double)used;
            cov[b * C + a] = cov[a * C + b];
        }
    free(v);
    cl->cov = cov;
    return TSL_STATUS_OK;
}

static enum tsl_status observe_in(void *user, const struct tsl_node *n, float *x,
                                  const struct tsl_shape *xs, struct tsl_diag *diag)
{
    struct observer *o = user;
    int32_t k = layer_of(o, n), axis;
    if (k < 0 || o->acc[k].seen)
        return TSL_STATUS_OK;
    const struct tsl_cweight *cw = &o->ws->w[k];
    struct acc *a = &o->acc[k];
    int64_t group, numel, stride;
    a->seen = true;
    if (!x_axis(cw, n, xs, &axis, &group))
        return TSL_STATUS_OK; /* the layer simply gets no calibration */
    if (!shape_layout(xs, axis, &numel, &stride))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, cw->value->name,
                              "calibration activation shape overflows");
    int64_t C = xs->dims[axis];
    if (numel == 0 || C == 0)
        return TSL_STATUS_OK;
    a->sum = calloc((size_t)C, sizeof *a->sum);
    a->sumsq = calloc((size_t)C, sizeof *a->sumsq);
    if (!a->sum || !a->sumsq)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, cw->value->name, "out of memory");
    TSL_TRY(channel_sums(x, xs, axis, a->sum, a->sumsq, cw->value->name, diag));
    a->count = numel / C;
    o->out->layers[k].n_x = C;
    o->out->layers[k].group = group;
    o->out->layers[k].count = a->count;
    int64_t cov_bytes = C * C * (int64_t)sizeof(double); /* C <= TSL_OPQ_GPTQ_MAX_IN */
    if (tsl_opq_gptq_fits(cw) && group == 1 && o->cov_bytes + cov_bytes <= TSL_OPQ_COV_BUDGET) {
        TSL_TRY(second_moments(x, xs, axis, &o->out->layers[k], cw->value->name, diag));
        o->cov_bytes += cov_bytes;
    }
    return TSL_STATUS_OK;
}

/* Per-channel mean of y along its channel axis into m (n_ch, zeroed). */
static enum tsl_status output_means(const struct tsl_cweight *cw, const struct tsl_node *n,
                                    const float *y, const struct tsl_shape *ys, double *m,
                                    bool *ok, struct tsl_diag *diag)
{
    int32_t axis;
    int64_t numel, stride;
    *ok = y_axis(cw, n, ys, &axis) && shape_layout(ys, axis, &numel, &stride) && numel > 0;
    if (!*ok)
        return TSL_STATUS_OK;
    TSL_TRY(channel_sums(y, ys, axis, m, NULL, cw->value->name, diag));
    for (int64_t c = 0; c < cw->n_ch; c++)
        m[c] /= (double)(numel / cw->n_ch);
    return TSL_STATUS_OK;
}

static enum tsl_status observe_out(void *user, const struct tsl_node *n, float *y,
                                   const struct tsl_shape *ys, struct tsl_diag *diag)
{
    struct observer *o = user;
    int32_t k = layer_of(o, n);
    if (k < 0 || o->acc[k].seen_out)
        return TSL_STATUS_OK;
    o->acc[k].seen_out = true;
    const struct tsl_cweight *cw = &o->ws->w[k];
    struct tsl_opq_calib_layer *cl = &o->out->layers[k];
    if (!(cl->y_mean = calloc((size_t)cw->n_ch, sizeof *cl->y_mean)))
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, cw->value->name, "out of memory");
    bool ok;
    TSL_TRY(output_means(cw, n, y, ys, cl->y_mean, &ok, diag));
    cl->n_y = ok ? cw->n_ch : 0;
    return TSL_STATUS_OK;
}

/* Read the --calib file as an f32 batch: *x points into a->data. */
static enum tsl_status load_batch(const char *path, struct tsl_npy *a, struct tsl_shape *shape,
                                  struct tsl_diag *diag)
{
    TSL_TRY(tsl_npy_read_file(path, a, diag));
    enum tsl_status st = TSL_STATUS_OK;
    int64_t numel = 1;
    memset(shape, 0, sizeof *shape);
    shape->rank = a->rank;
    if (a->type != TSL_NPY_F32)
        st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path,
                            "calibration data must be float32, this file holds %s",
                            tsl_npy_type_name(a->type));
    else if (a->rank < 1 || a->rank > TSL_MAX_RANK)
        st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path,
                            "calibration data has rank %d (expected the model input's rank)",
                            (int)a->rank);
    for (int32_t d = 0; st == TSL_STATUS_OK && d < a->rank; d++) {
        shape->dims[d] = a->dims[d];
        if (!tsl_mul_i64(numel, a->dims[d], &numel))
            st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path, "shape overflows");
    }
    if (st == TSL_STATUS_OK && numel == 0)
        st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path, "calibration data is empty");
    const float *x = a->data;
    for (int64_t i = 0; st == TSL_STATUS_OK && i < numel; i++)
        if (!isfinite(x[i]))
            st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path,
                                "calibration element %lld is not finite", (long long)i);
    if (st != TSL_STATUS_OK)
        tsl_npy_fini(a);
    return st;
}

/* Run g on the --calib batch with the observer's hooks. */
static enum tsl_status run_batch(const struct tsl_graph *g, struct tsl_pass_context *ctx,
                                 tsl_calib_hook_fn before, tsl_calib_hook_fn after,
                                 struct observer *o)
{
    const char *path = ctx->compress.calib_path;
    if (!ctx->calib_run)
        return tsl_diag_error(ctx->diag, TSL_STATUS_UNSUPPORTED, path,
                              "--calib needs a model runner, and none was provided");
    struct tsl_npy a;
    struct tsl_shape shape;
    TSL_TRY(load_batch(path, &a, &shape, ctx->diag));
    enum tsl_status st = ctx->calib_run(g, a.data, &shape, before, after, o, ctx->diag);
    if (st != TSL_STATUS_OK)
        tsl_diag_error(ctx->diag, st, path, "running the model on the calibration data failed");
    tsl_npy_fini(&a);
    return st;
}

enum tsl_status tsl_opq_calib_collect(const struct tsl_graph *g, const struct tsl_cweights *ws,
                                      struct tsl_pass_context *ctx, struct tsl_opq_calib *out)
{
    memset(out, 0, sizeof *out);
    struct acc *acc = calloc(ws->n ? ws->n : 1, sizeof *acc);
    out->layers = calloc(ws->n ? ws->n : 1, sizeof *out->layers);
    out->n = ws->n;
    enum tsl_status st = TSL_STATUS_OK;
    if (!acc || !out->layers)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    if (st == TSL_STATUS_OK) {
        struct observer o = {.ws = ws, .out = out, .acc = acc};
        st = run_batch(g, ctx, observe_in, observe_out, &o);
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
    if (st != TSL_STATUS_OK)
        tsl_opq_calib_fini(out);
    return st;
}

void tsl_opq_calib_fini(struct tsl_opq_calib *c)
{
    for (uint32_t k = 0; c->layers && k < c->n; k++) {
        free(c->layers[k].mean);
        free(c->layers[k].var);
        free(c->layers[k].y_mean);
        free(c->layers[k].cov);
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
    if (!cl || cl->n_x == 0 || cl->n_y == 0 || cw->value->n_uses != 1)
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

/* Put nv in input slot i of n (appending it when n has exactly i inputs)
 * and drop the old constant there if nothing else uses it, reusing its
 * name. */
static enum tsl_status set_input_const(struct tsl_graph *g, struct tsl_node *n, uint32_t i,
                                       struct tsl_value *nv)
{
    struct tsl_value *old = n->n_inputs > i ? n->inputs[i] : NULL;
    if (n->n_inputs > i)
        tsl_node_set_input(n, i, nv);
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

/* Add scale * d[j % n_ch] to every element j of the constant in input slot
 * `in` of n (a zero [n_ch] vector when the slot is empty). */
static enum tsl_status add_to_bias(struct tsl_graph *g, struct tsl_node *n, uint32_t in,
                                   int64_t n_ch, const double *d, double scale,
                                   const char *wname, struct tsl_diag *diag)
{
    struct tsl_value *b = n->n_inputs > in ? n->inputs[in] : NULL, *nv = NULL;
    float *vals = NULL;
    int64_t nb = n_ch;
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, &nb);
    if (b) {
        t = b->type;
        TSL_TRY(tsl_const_decode(b, (void **)&vals, diag));
        if (!tsl_shape_numel(&t.shape, &nb)) {
            free(vals);
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, wname, "bad bias shape");
        }
    } else if (!(vals = calloc((size_t)n_ch, sizeof *vals))) {
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, wname, "out of memory");
    }
    for (int64_t j = 0; j < nb; j++) /* a [M, N] Gemm C gets the row vector on every row */
        vals[j] = (float)((double)vals[j] + scale * d[j % n_ch]);
    char *base = b ? tsl_strdup(b->name) : tsl_asprintf("%s_bias", wname);
    enum tsl_status st = base ? add_const(g, base, &t, vals, &nv) : TSL_STATUS_NOMEM;
    free(base);
    free(vals);
    if (st == TSL_STATUS_OK)
        st = set_input_const(g, n, in, nv);
    if (st != TSL_STATUS_OK)
        return tsl_diag_error(diag, st, wname, "cannot write the corrected bias");
    return TSL_STATUS_OK;
}

/* Where layer cw's correction goes: its own bias slot (Conv input 2, Gemm
 * C, in units of alpha/beta), or for MatMul an Add node inserted after it
 * with a zero bias. */
static enum tsl_status make_site(struct tsl_graph *g, const struct tsl_cweight *cw,
                                 struct tsl_node **node, uint32_t *input, double *scale,
                                 struct tsl_diag *diag)
{
    struct tsl_node *n = cw->node;
    const char *wname = cw->value->name;
    *node = n;
    *input = 2;
    *scale = 1.0;
    if (n->op == TSL_OP_GEMM)
        *scale = (double)n->attrs.gemm.beta != 0 ? 1.0 / (double)n->attrs.gemm.beta : 0;
    if (n->op != TSL_OP_MATMUL)
        return TSL_STATUS_OK;
    struct tsl_value *y = n->outputs[0], *zero = NULL;
    struct tsl_node *add = NULL;
    int64_t nb = cw->n_ch;
    struct tsl_type t = tsl_type_make(TSL_DTYPE_F32, 1, &nb);
    float *z = calloc((size_t)nb, sizeof *z);
    char *base = tsl_asprintf("%s_bias", wname);
    enum tsl_status st = z && base ? add_const(g, base, &t, z, &zero) : TSL_STATUS_NOMEM;
    free(z);
    free(base);
    struct tsl_value *ins[2] = {y, zero};
    if (st == TSL_STATUS_OK)
        st = tsl_graph_insert_node_after(g, n, TSL_OP_ADD, NULL, 2, ins, 1, &add, NULL);
    if (st != TSL_STATUS_OK)
        return tsl_diag_error(diag, st, wname, "cannot add the bias-correction node");
    add->outputs[0]->type = y->type;
    tsl_value_replace_all_uses(y, add->outputs[0]);
    tsl_node_set_input(add, 0, y);
    *node = add;
    *input = 1;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_opq_bias_add(struct tsl_graph *g, const struct tsl_cweight *cw,
                                 const double *d, struct tsl_diag *diag)
{
    struct tsl_node *node;
    uint32_t input;
    double scale;
    TSL_TRY(make_site(g, cw, &node, &input, &scale, diag));
    return add_to_bias(g, node, input, cw->n_ch, d, scale, cw->value->name, diag);
}

/* After-hook of the correction run: shift the output of each marked layer
 * so that its per-channel mean is the fp32 model's, and remember the shift. */
static enum tsl_status correct_out(void *user, const struct tsl_node *n, float *y,
                                   const struct tsl_shape *ys, struct tsl_diag *diag)
{
    struct observer *o = user;
    int32_t k = layer_of(o, n), axis;
    if (k < 0 || !o->marked[k] || o->acc[k].seen_out)
        return TSL_STATUS_OK;
    o->acc[k].seen_out = true;
    const struct tsl_cweight *cw = &o->ws->w[k];
    const struct tsl_opq_calib_layer *cl = &o->cal->layers[k];
    double *d = o->delta[k];
    bool ok;
    TSL_TRY(output_means(cw, n, y, ys, d, &ok, diag));
    int64_t numel, stride;
    if (!ok || !y_axis(cw, n, ys, &axis) || !shape_layout(ys, axis, &numel, &stride)) {
        memset(d, 0, (size_t)cw->n_ch * sizeof *d);
        return TSL_STATUS_OK;
    }
    for (int64_t c = 0; c < cw->n_ch; c++)
        d[c] = cl->y_mean[c] - d[c];
    for (int64_t j = 0; j < numel; j++)
        y[j] = (float)((double)y[j] + d[(j / stride) % cw->n_ch]);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_opq_bias_correct(struct tsl_graph *g, const struct tsl_cweights *ws,
                                     const struct tsl_opq_calib *cal, const bool *marked,
                                     struct tsl_pass_context *ctx)
{
    uint32_t n = ws->n;
    struct acc *acc = calloc(n ? n : 1, sizeof *acc);
    double **delta = calloc(n ? n : 1, sizeof *delta);
    enum tsl_status st = TSL_STATUS_OK;
    if (!acc || !delta)
        st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    for (uint32_t k = 0; st == TSL_STATUS_OK && k < n; k++)
        if (marked[k] && !(delta[k] = calloc((size_t)ws->w[k].n_ch, sizeof **delta)))
            st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    /* MatMul layers get their Add node (zero bias) first, so the run below
     * sees the final graph structure. */
    struct tsl_node **site = calloc(n ? n : 1, sizeof *site);
    uint32_t *input = calloc(n ? n : 1, sizeof *input);
    double *scale = calloc(n ? n : 1, sizeof *scale);
    if (st == TSL_STATUS_OK && (!site || !input || !scale))
        st = tsl_diag_error(ctx->diag, TSL_STATUS_NOMEM, "opq", "out of memory");
    for (uint32_t k = 0; st == TSL_STATUS_OK && k < n; k++)
        if (marked[k])
            st = make_site(g, &ws->w[k], &site[k], &input[k], &scale[k], ctx->diag);
    if (st == TSL_STATUS_OK) {
        struct observer o = {.ws = ws, .cal = cal, .acc = acc, .marked = marked,
                             .delta = delta};
        st = run_batch(g, ctx, NULL, correct_out, &o);
    }
    for (uint32_t k = 0; st == TSL_STATUS_OK && k < n; k++)
        if (marked[k] && acc[k].seen_out)
            st = add_to_bias(g, site[k], input[k], ws->w[k].n_ch, delta[k], scale[k],
                             ws->w[k].value->name, ctx->diag);
    for (uint32_t k = 0; delta && k < n; k++)
        free(delta[k]);
    free(delta);
    free(acc);
    free(site);
    free(input);
    free(scale);
    return st;
}
