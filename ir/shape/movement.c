/* movement.c - shape rules of the data-movement ops driven by indices or
 * sizes: Concat, Split, Slice, Gather, GatherElements, GatherND, Pad,
 * Resize, DepthToSpace and SpaceToDepth, with known-value propagation
 * through Concat, Split, Slice and Gather on small 1-D integer tensors (the
 * Shape -> Slice/Gather -> Concat -> Reshape chains of real models).  Pure
 * shape logic: Reshape-like ops are in shape_ops.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "shape/shape_internal.h"
#include "tessel/util.h"

/* Length of a rank-1 value's known elements, or NULL if not a static 1-D
 * tensor whose every element is represented. */
static const struct tsl_known *known_1d(struct tsl_infer_ctx *cx, const struct tsl_value *v)
{
    if (!v || v->type.shape.rank != 1 || TSL_DIM_IS_SYM(v->type.shape.dims[0]))
        return NULL;
    const struct tsl_known *k = tsl_known_get(cx, v);
    return k && k->n == (uint64_t)v->type.shape.dims[0] ? k : NULL;
}

static bool is_int_index(enum tsl_dtype dt)
{
    return dt == TSL_DTYPE_I64 || dt == TSL_DTYPE_I32;
}

enum tsl_status tsl_infer_concat(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_value *x0 = n->inputs[0];
    int32_t r = x0->type.shape.rank, axis;
    if (r < 1)
        return tsl_sh_error(cx, "inputs must have rank >= 1");
    TSL_TRY(tsl_sh_axis(cx, n->attrs.axis.axis, r, "axis", &axis));
    struct tsl_shape s = x0->type.shape;
    int64_t sum = 0;
    int n_sym = 0;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_value *x = n->inputs[i];
        if (!x)
            return tsl_sh_error(cx, "input %u is missing", i);
        if (x->type.dtype != x0->type.dtype)
            return tsl_sh_error(cx, "input %u is %s, input 0 is %s", i,
                                tsl_dtype_name(x->type.dtype), tsl_dtype_name(x0->type.dtype));
        if (x->type.shape.rank != r)
            return tsl_sh_error(cx, "input %u has rank %d, input 0 has rank %d", i,
                                x->type.shape.rank, r);
        for (int32_t d = 0; d < r; d++) {
            int64_t v = x->type.shape.dims[d];
            if (d == axis) {
                if (TSL_DIM_IS_SYM(v))
                    n_sym++;
                else if (!tsl_add_i64(sum, v, &sum))
                    return tsl_sh_error(cx, "concatenated size overflows");
                continue;
            }
            if (!TSL_DIM_IS_SYM(s.dims[d]) && !TSL_DIM_IS_SYM(v) && s.dims[d] != v)
                return tsl_sh_error(cx, "dims disagree on axis %d: input 0 has %lld, input %u "
                                        "has %lld",
                                    d, (long long)s.dims[d], i, (long long)v);
            if (TSL_DIM_IS_SYM(s.dims[d]))
                s.dims[d] = v;
        }
    }
    if (n_sym == 0)
        s.dims[axis] = sum;
    else if (n_sym > 1 || sum != 0)
        TSL_TRY(tsl_sh_fresh(cx, &s.dims[axis]));
    else
        for (uint32_t i = 0; i < n->n_inputs; i++)
            if (TSL_DIM_IS_SYM(n->inputs[i]->type.shape.dims[axis]))
                s.dims[axis] = n->inputs[i]->type.shape.dims[axis];
    tsl_sh_set(n, 0, x0->type.dtype, &s);
    /* known values: concatenation of 1-D pieces of static length */
    if (r != 1 || TSL_DIM_IS_SYM(s.dims[0]) || s.dims[0] > TSL_KNOWN_MAX)
        return TSL_STATUS_OK;
    struct tsl_known out = {.n = 0};
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        const struct tsl_known *k = known_1d(cx, n->inputs[i]);
        int64_t len = n->inputs[i]->type.shape.dims[0];
        for (int64_t j = 0; j < len; j++)
            out.e[out.n++] = k ? k->e[j] : (struct tsl_kelem){0, TSL_K_UNKNOWN};
    }
    return tsl_known_put(cx, n->outputs[0], &out);
}

enum tsl_status tsl_infer_split(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_ints *sz = &n->attrs.split.split;
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.split.axis, xs->rank, "axis", &axis));
    int64_t d = xs->dims[axis];
    uint32_t no = n->n_outputs;
    if (sz->n && sz->n != no)
        return tsl_sh_error(cx, "split has %u sizes for %u outputs", sz->n, no);
    if (sz->n) {
        int64_t sum = 0;
        for (uint32_t i = 0; i < sz->n; i++)
            if (sz->v[i] < 0 || !tsl_add_i64(sum, sz->v[i], &sum))
                return tsl_sh_error(cx, "split size %u is invalid (%lld)", i,
                                    (long long)sz->v[i]);
        if (!TSL_DIM_IS_SYM(d) && sum != d)
            return tsl_sh_error(cx, "split sizes sum to %lld but axis %d has size %lld",
                                (long long)sum, axis, (long long)d);
    } else if (!TSL_DIM_IS_SYM(d) && d % no != 0) {
        return tsl_sh_error(cx, "axis %d of size %lld cannot be split into %u equal parts", axis,
                            (long long)d, no);
    }
    const struct tsl_known *k = axis == 0 ? known_1d(cx, n->inputs[0]) : NULL;
    int64_t off = 0;
    for (uint32_t i = 0; i < no; i++) {
        struct tsl_shape s = *xs;
        if (sz->n)
            s.dims[axis] = sz->v[i];
        else if (!TSL_DIM_IS_SYM(d))
            s.dims[axis] = d / no;
        else if (no != 1)
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[axis]));
        tsl_sh_set(n, i, n->inputs[0]->type.dtype, &s);
        if (k && !TSL_DIM_IS_SYM(s.dims[0])) {
            struct tsl_known part = {.n = (uint32_t)s.dims[0]};
            for (int64_t j = 0; j < s.dims[0]; j++)
                part.e[j] = k->e[off + j];
            off += s.dims[0];
            TSL_TRY(tsl_known_put(cx, n->outputs[i], &part));
        }
    }
    return TSL_STATUS_OK;
}

/* ONNX Slice on one axis of known size: *len and the clamped start. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *len,
                       int64_t *first)
{
    if (start < 0)
        start = start < -dim ? -1 : start + dim;
    if (end < 0)
        end = end < -dim ? -1 : end + dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        *len = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        *len = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    *first = start;
}

static enum tsl_status slice_param(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                   uint32_t i, int64_t len, const struct tsl_known **k)
{
    const struct tsl_value *v = tsl_in(n, i);
    *k = NULL;
    if (!v)
        return TSL_STATUS_OK;
    if (!is_int_index(v->type.dtype))
        return tsl_sh_error(cx, "input %u ('%s') must be i32 or i64, got %s", i, v->name,
                            tsl_dtype_name(v->type.dtype));
    if (v->type.shape.rank != 1)
        return tsl_sh_error(cx, "input %u ('%s') must have rank 1, got %d", i, v->name,
                            v->type.shape.rank);
    int64_t l = v->type.shape.dims[0];
    if (!TSL_DIM_IS_SYM(l) && !TSL_DIM_IS_SYM(len) && l != len)
        return tsl_sh_error(cx, "input %u ('%s') has %lld entries, starts has %lld", i, v->name,
                            (long long)l, (long long)len);
    *k = known_1d(cx, v);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_slice(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_value *starts = n->inputs[1];
    int64_t len = starts->type.shape.rank == 1 ? starts->type.shape.dims[0] : -1;
    const struct tsl_known *ks, *ke, *ka, *kst;
    TSL_TRY(slice_param(cx, n, 1, len, &ks));
    TSL_TRY(slice_param(cx, n, 2, len, &ke));
    TSL_TRY(slice_param(cx, n, 3, len, &ka));
    TSL_TRY(slice_param(cx, n, 4, len, &kst));
    struct tsl_shape s = *xs;
    bool axes_known = !tsl_in(n, 3) || (ka && tsl_known_all_int(ka));
    if (TSL_DIM_IS_SYM(len) || !axes_known) {
        for (int32_t i = 0; i < s.rank; i++)
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[i]));
        tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
        return TSL_STATUS_OK;
    }
    if (len > xs->rank)
        return tsl_sh_error(cx, "starts has %lld entries for an input of rank %d",
                            (long long)len, xs->rank);
    bool seen[TSL_MAX_RANK] = {false};
    int64_t first0 = 0, step0 = 1;
    bool all_known = true;
    for (int64_t i = 0; i < len; i++) {
        int32_t ax = (int32_t)i;
        if (ka)
            TSL_TRY(tsl_sh_axis(cx, ka->e[i].v, xs->rank, "axes entry", &ax));
        if (seen[ax])
            return tsl_sh_error(cx, "axes names axis %d twice", ax);
        seen[ax] = true;
        int64_t step = 1;
        bool known_step = true;
        if (kst) {
            known_step = kst->e[i].kind == TSL_K_INT;
            step = kst->e[i].v;
        } else if (tsl_in(n, 4)) {
            known_step = false;
        }
        if (known_step && step == 0)
            return tsl_sh_error(cx, "steps[%lld] is 0", (long long)i);
        bool ok = known_step && ks && ke && ks->e[i].kind == TSL_K_INT;
        int64_t dim = xs->dims[ax];
        if (ok && ke->e[i].kind == TSL_K_DIM && ke->e[i].v == dim && step == 1 &&
            ks->e[i].v == 0)
            continue; /* x[0:dim] keeps the symbol */
        ok = ok && ke->e[i].kind == TSL_K_INT;
        if (ok && TSL_DIM_IS_SYM(dim)) {
            if (!(ks->e[i].v == 0 && step == 1 && ke->e[i].v >= INT32_MAX))
                TSL_TRY(tsl_sh_fresh(cx, &s.dims[ax]));
            all_known = false;
        } else if (ok) {
            slice_axis(dim, ks->e[i].v, ke->e[i].v, step, &s.dims[ax], &first0);
            step0 = step;
        } else {
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[ax]));
            all_known = false;
        }
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    /* known values of a 1-D slice */
    const struct tsl_known *kx = known_1d(cx, n->inputs[0]);
    if (kx && all_known && len == 1 && !TSL_DIM_IS_SYM(s.dims[0])) {
        struct tsl_known out = {.n = (uint32_t)s.dims[0]};
        for (int64_t j = 0; j < s.dims[0]; j++)
            out.e[j] = kx->e[first0 + j * step0];
        return tsl_known_put(cx, n->outputs[0], &out);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_gather(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *is = &n->inputs[1]->type.shape;
    if (!is_int_index(n->inputs[1]->type.dtype))
        return tsl_sh_error(cx, "indices must be i32 or i64, got %s",
                            tsl_dtype_name(n->inputs[1]->type.dtype));
    if (xs->rank < 1)
        return tsl_sh_error(cx, "data must have rank >= 1");
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.axis.axis, xs->rank, "axis", &axis));
    if (xs->rank - 1 + is->rank > TSL_MAX_RANK)
        return tsl_sh_error(cx, "output rank %d exceeds %d", xs->rank - 1 + is->rank,
                            TSL_MAX_RANK);
    int64_t d = xs->dims[axis];
    const struct tsl_known *ki = tsl_known_get(cx, n->inputs[1]);
    if (ki && !TSL_DIM_IS_SYM(d))
        for (uint32_t i = 0; i < ki->n; i++)
            if (ki->e[i].kind == TSL_K_INT && (ki->e[i].v < -d || ki->e[i].v >= d))
                return tsl_sh_error(cx, "index %lld out of range for axis %d of size %lld",
                                    (long long)ki->e[i].v, axis, (long long)d);
    struct tsl_shape s = {.rank = 0};
    for (int32_t i = 0; i < axis; i++)
        s.dims[s.rank++] = xs->dims[i];
    for (int32_t i = 0; i < is->rank; i++)
        s.dims[s.rank++] = is->dims[i];
    for (int32_t i = axis + 1; i < xs->rank; i++)
        s.dims[s.rank++] = xs->dims[i];
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    const struct tsl_known *kx = known_1d(cx, n->inputs[0]);
    int64_t numel;
    if (!kx || !ki || !tsl_shape_numel(is, &numel) || numel != ki->n)
        return TSL_STATUS_OK;
    struct tsl_known out = {.n = ki->n};
    for (uint32_t i = 0; i < ki->n; i++)
        if (ki->e[i].kind == TSL_K_INT)
            out.e[i] = kx->e[ki->e[i].v < 0 ? ki->e[i].v + d : ki->e[i].v];
    return tsl_known_put(cx, n->outputs[0], &out);
}

enum tsl_status tsl_infer_gather_elements(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *is = &n->inputs[1]->type.shape;
    if (!is_int_index(n->inputs[1]->type.dtype))
        return tsl_sh_error(cx, "indices must be i32 or i64, got %s",
                            tsl_dtype_name(n->inputs[1]->type.dtype));
    if (xs->rank != is->rank || xs->rank < 1)
        return tsl_sh_error(cx, "data rank %d and indices rank %d must be equal and >= 1",
                            xs->rank, is->rank);
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.axis.axis, xs->rank, "axis", &axis));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, is);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_gather_nd(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *is = &n->inputs[1]->type.shape;
    int64_t b = n->attrs.gathernd.batch_dims;
    if (n->inputs[1]->type.dtype != TSL_DTYPE_I64)
        return tsl_sh_error(cx, "indices must be i64, got %s",
                            tsl_dtype_name(n->inputs[1]->type.dtype));
    if (is->rank < 1 || xs->rank < 1 || b >= is->rank || b >= xs->rank)
        return tsl_sh_error(cx, "ranks data %d, indices %d do not fit batch_dims %lld",
                            xs->rank, is->rank, (long long)b);
    int64_t last = is->dims[is->rank - 1];
    struct tsl_shape s = {.rank = -1};
    if (!TSL_DIM_IS_SYM(last)) {
        if (last < 1 || last > xs->rank - b)
            return tsl_sh_error(cx, "indices last dim %lld must be in [1, %lld]",
                                (long long)last, (long long)(xs->rank - b));
        s.rank = 0;
        for (int32_t i = 0; i < is->rank - 1; i++)
            s.dims[s.rank++] = is->dims[i];
        for (int64_t i = b + last; i < xs->rank; i++) {
            if (s.rank >= TSL_MAX_RANK)
                return tsl_sh_error(cx, "output rank exceeds %d", TSL_MAX_RANK);
            s.dims[s.rank++] = xs->dims[i];
        }
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_pad(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_value *p = n->inputs[1];
    if (p->type.dtype != TSL_DTYPE_I64 || p->type.shape.rank != 1)
        return tsl_sh_error(cx, "pads must be a 1-D i64 tensor");
    int64_t len = p->type.shape.dims[0];
    if (!TSL_DIM_IS_SYM(len) && len != 2 * (int64_t)xs->rank)
        return tsl_sh_error(cx, "pads has %lld entries, expected %d for rank %d",
                            (long long)len, 2 * xs->rank, xs->rank);
    const struct tsl_value *cv = tsl_in(n, 2);
    if (cv && cv->type.dtype != n->inputs[0]->type.dtype)
        return tsl_sh_error(cx, "constant_value is %s, data is %s", tsl_dtype_name(cv->type.dtype),
                            tsl_dtype_name(n->inputs[0]->type.dtype));
    const struct tsl_known *k = known_1d(cx, p);
    struct tsl_shape s = *xs;
    for (int32_t i = 0; i < xs->rank; i++) {
        const struct tsl_kelem *b = k ? &k->e[i] : NULL, *e = k ? &k->e[i + xs->rank] : NULL;
        if (!b || b->kind != TSL_K_INT || e->kind != TSL_K_INT) {
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[i]));
            continue;
        }
        if (TSL_DIM_IS_SYM(xs->dims[i])) {
            if (b->v != 0 || e->v != 0)
                TSL_TRY(tsl_sh_fresh(cx, &s.dims[i]));
            continue;
        }
        int64_t r;
        if (!tsl_add_i64(xs->dims[i], b->v, &r) || !tsl_add_i64(r, e->v, &r) || r < 0)
            return tsl_sh_error(cx, "padding axis %d of size %lld by (%lld, %lld) is invalid", i,
                                (long long)xs->dims[i], (long long)b->v, (long long)e->v);
        s.dims[i] = r;
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

/* A Resize operand is "given" if present and not an empty tensor. */
static bool resize_operand_given(const struct tsl_value *v)
{
    return v && !(v->type.shape.rank == 1 && v->type.shape.dims[0] == 0);
}

static enum tsl_status resize_by_scales(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                        struct tsl_shape *s)
{
    const struct tsl_value *sc = n->inputs[2];
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    if (!tsl_dtype_is_float(sc->type.dtype) || sc->type.shape.rank != 1)
        return tsl_sh_error(cx, "scales must be a 1-D float tensor");
    int64_t len = sc->type.shape.dims[0];
    if (!TSL_DIM_IS_SYM(len) && len != xs->rank)
        return tsl_sh_error(cx, "scales has %lld entries for an input of rank %d",
                            (long long)len, xs->rank);
    double scale[TSL_MAX_RANK];
    bool have = false;
    if (sc->constant) {
        void *dense = NULL;
        if (tsl_const_decode(sc, &dense, cx->diag) != TSL_STATUS_OK)
            return TSL_STATUS_VERIFY;
        for (int32_t i = 0; i < xs->rank; i++)
            scale[i] = tsl_dense_get_f64(sc->type.dtype, dense, i);
        free(dense);
        have = true;
    } else {
        const struct tsl_known *k = known_1d(cx, sc);
        if (k && tsl_known_all_int(k)) {
            for (int32_t i = 0; i < xs->rank; i++)
                scale[i] = (double)k->e[i].v;
            have = true;
        }
    }
    for (int32_t i = 0; i < xs->rank; i++) {
        if (!have) {
            TSL_TRY(tsl_sh_fresh(cx, &s->dims[i]));
            continue;
        }
        if (!isfinite(scale[i]) || scale[i] <= 0.0)
            return tsl_sh_error(cx, "scales[%d] = %g must be positive", i, scale[i]);
        if (TSL_DIM_IS_SYM(xs->dims[i])) {
            if (scale[i] != 1.0)
                TSL_TRY(tsl_sh_fresh(cx, &s->dims[i]));
            continue;
        }
        double o = floor((double)xs->dims[i] * scale[i]);
        if (o > 9.0e18)
            return tsl_sh_error(cx, "resized axis %d overflows", i);
        s->dims[i] = (int64_t)o;
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_resize(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    bool has_scales = resize_operand_given(tsl_in(n, 2));
    bool has_sizes = resize_operand_given(tsl_in(n, 3));
    if (has_scales == has_sizes)
        return tsl_sh_error(cx, "exactly one of scales and sizes must be given");
    struct tsl_shape s = *xs;
    if (has_scales) {
        TSL_TRY(resize_by_scales(cx, n, &s));
    } else {
        const struct tsl_value *sz = n->inputs[3];
        if (sz->type.dtype != TSL_DTYPE_I64 || sz->type.shape.rank != 1)
            return tsl_sh_error(cx, "sizes must be a 1-D i64 tensor");
        int64_t len = sz->type.shape.dims[0];
        if (!TSL_DIM_IS_SYM(len) && len != xs->rank)
            return tsl_sh_error(cx, "sizes has %lld entries for an input of rank %d",
                                (long long)len, xs->rank);
        const struct tsl_known *k = known_1d(cx, sz);
        for (int32_t i = 0; i < xs->rank; i++) {
            if (k)
                TSL_TRY(tsl_sh_elem_to_dim(cx, &k->e[i], "sizes", &s.dims[i]));
            else
                TSL_TRY(tsl_sh_fresh(cx, &s.dims[i]));
        }
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

static enum tsl_status scaled_dim(struct tsl_infer_ctx *cx, int64_t d, int64_t mul, int64_t div,
                                  int32_t axis, int64_t *out)
{
    if (TSL_DIM_IS_SYM(d)) {
        if (mul == 1 && div == 1)
            *out = d;
        else
            TSL_TRY(tsl_sh_fresh(cx, out));
        return TSL_STATUS_OK;
    }
    if (d % div != 0)
        return tsl_sh_error(cx, "axis %d of size %lld is not divisible by %lld", axis,
                            (long long)d, (long long)div);
    if (!tsl_mul_i64(d / div, mul, out))
        return tsl_sh_error(cx, "axis %d overflows", axis);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_depth_to_space(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 4, 4));
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t b = n->attrs.depth_to_space.blocksize, bb;
    if (!tsl_mul_i64(b, b, &bb))
        return tsl_sh_error(cx, "blocksize %lld overflows", (long long)b);
    struct tsl_shape s = *xs;
    TSL_TRY(scaled_dim(cx, xs->dims[1], 1, bb, 1, &s.dims[1]));
    TSL_TRY(scaled_dim(cx, xs->dims[2], b, 1, 2, &s.dims[2]));
    TSL_TRY(scaled_dim(cx, xs->dims[3], b, 1, 3, &s.dims[3]));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_space_to_depth(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 4, 4));
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int64_t b = n->attrs.depth_to_space.blocksize, bb;
    if (!tsl_mul_i64(b, b, &bb))
        return tsl_sh_error(cx, "blocksize %lld overflows", (long long)b);
    struct tsl_shape s = *xs;
    TSL_TRY(scaled_dim(cx, xs->dims[1], bb, 1, 1, &s.dims[1]));
    TSL_TRY(scaled_dim(cx, xs->dims[2], 1, b, 2, &s.dims[2]));
    TSL_TRY(scaled_dim(cx, xs->dims[3], 1, b, 3, &s.dims[3]));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}
