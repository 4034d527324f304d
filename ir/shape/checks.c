/* checks.c - attribute range checks for every op, shared by shape inference
 * (run before each node's rule) and the verifier.  A generic pass walks the
 * attrs.def field descriptors (enum and dtype fields in range, list lengths
 * within bounds); an op-indexed table then applies the op's own rules, using
 * the rank of input 0 when it is known.  Every problem is reported, not just
 * the first.  Checks that need input shapes beyond the rank (channels,
 * kernel vs input size...) belong to the inference rules, not here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "shape/shape_internal.h"
#include "tessel/util.h"

struct chk {
    const struct tsl_node *n;
    const char *where;
    struct tsl_diag *diag;
    int32_t rank; /* rank of input 0, -1 if unknown */
    bool bad;
};

static void fail(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct chk *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tsl_diag_error(c->diag, TSL_STATUS_VERIFY, c->where, "%s", msg);
    c->bad = true;
}

static void flag01(struct chk *c, const char *name, int64_t v)
{
    if (v != 0 && v != 1)
        fail(c, "attribute %s must be 0 or 1, got %lld", name, (long long)v);
}

/* Axis in [-r, r + extra) when r is known. */
static void axis_in(struct chk *c, const char *name, int64_t axis, int32_t r, int32_t extra)
{
    if (r < 0)
        return;
    int64_t hi = (int64_t)r + extra;
    if (axis < -hi || axis >= hi)
        fail(c, "attribute %s = %lld out of range [%lld, %lld) for rank %d", name,
             (long long)axis, (long long)-hi, (long long)hi, r);
}

/* Axes list: each in [-r, r), no axis named twice. */
static void axes_in(struct chk *c, const char *name, const struct tsl_ints *a, int32_t r)
{
    if (r < 0)
        return;
    bool seen[TSL_MAX_ATTR_INTS + TSL_MAX_RANK] = {false};
    for (uint32_t i = 0; i < a->n; i++) {
        int64_t x = a->v[i];
        if (x < -(int64_t)r || x >= r) {
            fail(c, "attribute %s[%u] = %lld out of range [%d, %d) for rank %d", name, i,
                 (long long)x, -r, r, r);
            continue;
        }
        int64_t k = x < 0 ? x + r : x;
        if (k < (int64_t)TSL_ARRAY_LEN(seen) && seen[k])
            fail(c, "attribute %s names axis %lld twice", name, (long long)k);
        else if (k < (int64_t)TSL_ARRAY_LEN(seen))
            seen[k] = true;
    }
}

static void positive_list(struct chk *c, const char *name, const struct tsl_ints *a,
                          int64_t min)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (a->v[i] < min)
            fail(c, "attribute %s[%u] = %lld must be >= %lld", name, i, (long long)a->v[i],
                 (long long)min);
}

static void list_len(struct chk *c, const char *name, const struct tsl_ints *a, int32_t want)
{
    if (want >= 0 && a->n != 0 && a->n != (uint32_t)want)
        fail(c, "attribute %s has %u entries, expected %d", name, a->n, want);
}

/* ---- per-op rules ---- */

static void window_lists(struct chk *c, const struct tsl_ints *kernel, const struct tsl_ints *strides,
                         const struct tsl_ints *dilations, const struct tsl_ints *pads)
{
    int32_t sp = c->rank >= 0 ? c->rank - 2 : -1;
    if (c->rank >= 0 && c->rank < 3)
        fail(c, "input rank %d is too small: need [N, C, spatial...]", c->rank);
    positive_list(c, "kernel_shape", kernel, 1);
    positive_list(c, "strides", strides, 1);
    positive_list(c, "dilations", dilations, 1);
    positive_list(c, "pads", pads, 0);
    if (sp >= 1) {
        list_len(c, "kernel_shape", kernel, sp);
        list_len(c, "strides", strides, sp);
        list_len(c, "dilations", dilations, sp);
        list_len(c, "pads", pads, 2 * sp);
    } else if (pads->n % 2 != 0) {
        fail(c, "attribute pads has an odd number of entries (%u)", pads->n);
    }
}

static void check_conv(struct chk *c)
{
    const struct tsl_attr_conv *a = &c->n->attrs.conv;
    if (a->group < 1)
        fail(c, "attribute group must be >= 1, got %lld", (long long)a->group);
    window_lists(c, &a->kernel_shape, &a->strides, &a->dilations, &a->pads);
}

static void check_conv_transpose(struct chk *c)
{
    const struct tsl_attr_conv_transpose *a = &c->n->attrs.conv_transpose;
    if (a->group < 1)
        fail(c, "attribute group must be >= 1, got %lld", (long long)a->group);
    window_lists(c, &a->kernel_shape, &a->strides, &a->dilations, &a->pads);
    positive_list(c, "output_padding", &a->output_padding, 0);
    positive_list(c, "output_shape", &a->output_shape, 0);
    int32_t sp = c->rank >= 0 ? c->rank - 2 : -1;
    if (sp >= 1) {
        list_len(c, "output_padding", &a->output_padding, sp);
        if (a->output_shape.n != 0 && a->output_shape.n != (uint32_t)sp &&
            a->output_shape.n != (uint32_t)c->rank)
            fail(c, "attribute output_shape has %u entries, expected %d", a->output_shape.n,
                 sp);
    }
}

static void check_pool(struct chk *c)
{
    const struct tsl_attr_pool *a = &c->n->attrs.pool;
    if (a->kernel_shape.n == 0)
        fail(c, "attribute kernel_shape is required");
    flag01(c, "ceil_mode", a->ceil_mode);
    flag01(c, "count_include_pad", a->count_include_pad);
    flag01(c, "storage_order", a->storage_order);
    window_lists(c, &a->kernel_shape, &a->strides, &a->dilations, &a->pads);
}

static void check_gemm(struct chk *c)
{
    flag01(c, "transA", c->n->attrs.gemm.transA);
    flag01(c, "transB", c->n->attrs.gemm.transB);
}

static void epsilon_ok(struct chk *c, float eps)
{
    if (!isfinite(eps) || eps < 0.0f)
        fail(c, "attribute epsilon must be finite and >= 0, got %g", (double)eps);
}

static void check_batchnorm(struct chk *c)
{
    epsilon_ok(c, c->n->attrs.batchnorm.epsilon);
}

static void check_instance_norm(struct chk *c)
{
    epsilon_ok(c, c->n->attrs.norm.epsilon);
}

static void check_layer_norm(struct chk *c)
{
    epsilon_ok(c, c->n->attrs.norm.epsilon);
    axis_in(c, "axis", c->n->attrs.norm.axis, c->rank, 0);
}

static void check_axis(struct chk *c)
{
    axis_in(c, "axis", c->n->attrs.axis.axis, c->rank, 0);
}

static void check_flatten(struct chk *c)
{
    axis_in(c, "axis", c->n->attrs.axis.axis, c->rank, 1);
}

/* QuantizeLinear / DequantizeLinear: axis matters only for per-axis scales. */
static void check_qdq(struct chk *c)
{
    const struct tsl_value *s = tsl_in(c->n, 1);
    if (s && s->type.shape.rank == 1 && s->type.shape.dims[0] != 1)
        axis_in(c, "axis", c->n->attrs.axis.axis, c->rank, 0);
}

static void check_reduce(struct chk *c)
{
    const struct tsl_attr_reduce *a = &c->n->attrs.reduce;
    flag01(c, "keepdims", a->keepdims);
    flag01(c, "noop_with_empty_axes", a->noop_with_empty_axes);
    axes_in(c, "axes", &a->axes, c->rank);
}

static void check_argreduce(struct chk *c)
{
    const struct tsl_attr_argreduce *a = &c->n->attrs.argreduce;
    flag01(c, "keepdims", a->keepdims);
    flag01(c, "select_last_index", a->select_last_index);
    axis_in(c, "axis", a->axis, c->rank, 0);
}

static void check_reshape(struct chk *c)
{
    flag01(c, "allowzero", c->n->attrs.reshape.allowzero);
}

static void check_transpose(struct chk *c)
{
    const struct tsl_ints *p = &c->n->attrs.transpose.perm;
    if (p->n == 0)
        return;
    if (c->rank >= 0 && p->n != (uint32_t)c->rank)
        fail(c, "attribute perm has %u entries for an input of rank %d", p->n, c->rank);
    bool seen[TSL_MAX_ATTR_INTS] = {false};
    for (uint32_t i = 0; i < p->n; i++) {
        int64_t x = p->v[i];
        if (x < 0 || x >= (int64_t)p->n || seen[x]) {
            fail(c, "attribute perm is not a permutation of 0..%u (entry %u = %lld)", p->n - 1,
                 i, (long long)x);
            return;
        }
        seen[x] = true;
    }
}

static void check_split(struct chk *c)
{
    const struct tsl_attr_split *a = &c->n->attrs.split;
    axis_in(c, "axis", a->axis, c->rank, 0);
    positive_list(c, "split", &a->split, 0);
    if (a->split.n != 0 && a->split.n != c->n->n_outputs)
        fail(c, "attribute split has %u sizes for %u outputs", a->split.n, c->n->n_outputs);
}

static void check_squeeze(struct chk *c)
{
    axes_in(c, "axes", &c->n->attrs.axes.axes, c->rank);
}

static void check_unsqueeze(struct chk *c)
{
    const struct tsl_ints *a = &c->n->attrs.axes.axes;
    if (a->n == 0)
        fail(c, "attribute axes is required");
    if (c->rank >= 0)
        axes_in(c, "axes", a, c->rank + (int32_t)a->n);
}

static void check_gathernd(struct chk *c)
{
    int64_t b = c->n->attrs.gathernd.batch_dims;
    const struct tsl_value *ind = tsl_in(c->n, 1);
    if (b < 0)
        fail(c, "attribute batch_dims must be >= 0, got %lld", (long long)b);
    else if (c->rank >= 0 && ind && ind->type.shape.rank >= 0 &&
             (b >= c->rank || b >= ind->type.shape.rank))
        fail(c, "attribute batch_dims = %lld must be below both input ranks (%d, %d)",
             (long long)b, c->rank, ind->type.shape.rank);
}

static void check_cast(struct chk *c)
{
    if (c->n->attrs.cast.to == TSL_DTYPE_UNDEF)
        fail(c, "attribute to must name an element type");
}

static void check_resize(struct chk *c)
{
    flag01(c, "exclude_outside", c->n->attrs.resize.exclude_outside);
}

static void check_topk(struct chk *c)
{
    const struct tsl_attr_topk *a = &c->n->attrs.topk;
    flag01(c, "largest", a->largest);
    flag01(c, "sorted", a->sorted);
    axis_in(c, "axis", a->axis, c->rank, 0);
}

static void check_nms(struct chk *c)
{
    flag01(c, "center_point_box", c->n->attrs.nms.center_point_box);
}

static void check_depth_to_space(struct chk *c)
{
    if (c->n->attrs.depth_to_space.blocksize < 1)
        fail(c, "attribute blocksize must be >= 1, got %lld",
             (long long)c->n->attrs.depth_to_space.blocksize);
    if (c->rank >= 0 && c->rank != 4)
        fail(c, "input must have rank 4, got %d", c->rank);
}

typedef void (*check_fn)(struct chk *c);

static const check_fn check_table[TSL_OP_COUNT] = {
    [TSL_OP_CONV] = check_conv,
    [TSL_OP_QLINEAR_CONV] = check_conv,
    [TSL_OP_CONV_TRANSPOSE] = check_conv_transpose,
    [TSL_OP_MAX_POOL] = check_pool,
    [TSL_OP_AVERAGE_POOL] = check_pool,
    [TSL_OP_GEMM] = check_gemm,
    [TSL_OP_BATCH_NORM] = check_batchnorm,
    [TSL_OP_INSTANCE_NORM] = check_instance_norm,
    [TSL_OP_LAYER_NORM] = check_layer_norm,
    [TSL_OP_SOFTMAX] = check_axis,
    [TSL_OP_LOG_SOFTMAX] = check_axis,
    [TSL_OP_CONCAT] = check_axis,
    [TSL_OP_GATHER] = check_axis,
    [TSL_OP_GATHER_ELEMENTS] = check_axis,
    [TSL_OP_FLATTEN] = check_flatten,
    [TSL_OP_QUANTIZE_LINEAR] = check_qdq,
    [TSL_OP_DEQUANTIZE_LINEAR] = check_qdq,
    [TSL_OP_REDUCE_MEAN] = check_reduce,
    [TSL_OP_REDUCE_MAX] = check_reduce,
    [TSL_OP_REDUCE_MIN] = check_reduce,
    [TSL_OP_REDUCE_SUM] = check_reduce,
    [TSL_OP_REDUCE_PROD] = check_reduce,
    [TSL_OP_REDUCE_L2] = check_reduce,
    [TSL_OP_REDUCE_SUM_SQUARE] = check_reduce,
    [TSL_OP_ARG_MAX] = check_argreduce,
    [TSL_OP_ARG_MIN] = check_argreduce,
    [TSL_OP_RESHAPE] = check_reshape,
    [TSL_OP_TRANSPOSE] = check_transpose,
    [TSL_OP_SPLIT] = check_split,
    [TSL_OP_SQUEEZE] = check_squeeze,
    [TSL_OP_UNSQUEEZE] = check_unsqueeze,
    [TSL_OP_GATHER_ND] = check_gathernd,
    [TSL_OP_CAST] = check_cast,
    [TSL_OP_RESIZE] = check_resize,
    [TSL_OP_TOPK] = check_topk,
    [TSL_OP_NON_MAX_SUPPRESSION] = check_nms,
    [TSL_OP_DEPTH_TO_SPACE] = check_depth_to_space,
    [TSL_OP_SPACE_TO_DEPTH] = check_depth_to_space,
};

/* Enum and dtype fields in range, lists within their capacity. */
static void check_generic(struct chk *c)
{
    size_t nf;
    const struct tsl_attr_field *f = tsl_attr_fields(tsl_op_info(c->n->op)->attr_kind, &nf);
    for (size_t i = 0; i < nf; i++) {
        const char *p = (const char *)&c->n->attrs + f[i].offset;
        if (f[i].type == TSL_ATTR_T_ENUM) {
            int v = *(const int *)(const void *)p;
            if (v < 0 || (uint32_t)v >= f[i].n_enum)
                fail(c, "attribute %s has invalid value %d", f[i].name, v);
        } else if (f[i].type == TSL_ATTR_T_DTYPE) {
            int v = *(const int *)(const void *)p;
            if (v < 0 || v >= TSL_DTYPE_COUNT)
                fail(c, "attribute %s has invalid element type %d", f[i].name, v);
        } else if (f[i].type == TSL_ATTR_T_SCALAR) {
            const struct tsl_scalar *s = (const void *)p;
            if ((int)s->dtype < 0 || s->dtype >= TSL_DTYPE_COUNT)
                fail(c, "attribute %s has invalid element type %d", f[i].name, (int)s->dtype);
        } else if (f[i].type == TSL_ATTR_T_INTS) {
            const struct tsl_ints *l = (const void *)p;
            if (l->n > TSL_MAX_ATTR_INTS)
                fail(c, "attribute %s has %u entries (max %d)", f[i].name, l->n,
                     TSL_MAX_ATTR_INTS);
        } else if (f[i].type == TSL_ATTR_T_FLOATS) {
            const struct tsl_floats *l = (const void *)p;
            if (l->n > TSL_MAX_ATTR_INTS)
                fail(c, "attribute %s has %u entries (max %d)", f[i].name, l->n,
                     TSL_MAX_ATTR_INTS);
        }
    }
}

enum tsl_status tsl_check_node_attrs(const struct tsl_node *n, const char *where,
                                     struct tsl_diag *diag)
{
    if ((unsigned)n->op >= TSL_OP_COUNT)
        return tsl_diag_error(diag, TSL_STATUS_VERIFY, where, "invalid op %d", (int)n->op);
    const struct tsl_value *x = tsl_in(n, 0);
    struct chk c = {.n = n, .where = where, .diag = diag,
                    .rank = x && x->type.shape.rank <= TSL_MAX_RANK ? x->type.shape.rank : -1};
    check_generic(&c);
    if (c.bad)
        return TSL_STATUS_VERIFY; /* lists may be corrupt: skip the op rules */
    if (check_table[n->op])
        check_table[n->op](&c);
    return c.bad ? TSL_STATUS_VERIFY : TSL_STATUS_OK;
}
