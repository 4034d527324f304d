/* movement.c - kernels that move elements without arithmetic: Transpose,
 * Concat, Split, Slice (negative steps, ONNX clamping), Expand, Tile, Pad
 * (constant / reflect / edge, negative pads crop) and DepthToSpace /
 * SpaceToDepth (DCR and CRD).  All work on any dtype by element size,
 * mostly through one strided-copy helper.  Gathers are in gather.c. */
#include <string.h>

#include "../ref_internal.h"

/* dst (dense, dims odims) [o] = src[base + sum o_d * istrides_d]. */
static void strided_copy(const void *src, int64_t base, const int64_t *istrides, int32_t rank,
                         const int64_t *odims, void *dst, size_t es)
{
    int64_t total = 1, idx[TSL_MAX_RANK] = {0}, off = base;
    for (int32_t d = 0; d < rank; d++)
        total *= odims[d];
    const uint8_t *s = src;
    uint8_t *o = dst;
    for (int64_t i = 0; i < total; i++) {
        memcpy(o + (size_t)i * es, s + (size_t)off * es, es);
        for (int32_t d = rank - 1; d >= 0; d--) {
            idx[d]++;
            off += istrides[d];
            if (idx[d] < odims[d])
                break;
            off -= istrides[d] * odims[d];
            idx[d] = 0;
        }
    }
}

enum tsl_status tsl_ref_transpose(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_ints *perm = &c->node->attrs.transpose.perm;
    int32_t r = x->shape.rank;
    int64_t p[TSL_MAX_RANK];
    bool seen[TSL_MAX_RANK] = {false};
    if (perm->n && perm->n != (uint32_t)r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "perm has %u entries for rank %d",
                            perm->n, r);
    for (int32_t d = 0; d < r; d++) {
        p[d] = perm->n ? perm->v[d] : r - 1 - d;
        if (p[d] < 0 || p[d] >= r || seen[p[d]])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "perm is not a permutation");
        seen[p[d]] = true;
    }
    int64_t dims[TSL_MAX_RANK], ist[TSL_MAX_RANK], st[TSL_MAX_RANK];
    tsl_ref_strides(&x->shape, st);
    for (int32_t d = 0; d < r; d++) {
        dims[d] = x->shape.dims[p[d]];
        ist[d] = st[p[d]];
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    strided_copy(x->data, 0, ist, r, dims, c->out[0].data, tsl_ref_elem_size(x->dtype));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_concat(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x0;
    TSL_TRY(tsl_ref_need(c, 0, &x0));
    int32_t r = x0->shape.rank, axis;
    TSL_TRY(tsl_ref_axis(c, c->node->attrs.axis.axis, r, "axis", &axis));
    int64_t dims[TSL_MAX_RANK];
    memcpy(dims, x0->shape.dims, sizeof dims);
    dims[axis] = 0;
    for (uint32_t i = 0; i < c->n_in; i++) {
        const struct tsl_tensor *t;
        TSL_TRY(tsl_ref_need(c, i, &t));
        if (t->dtype != x0->dtype || t->shape.rank != r)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input %u has dtype %s rank %d, "
                                "expected %s rank %d", i, tsl_dtype_name(t->dtype),
                                t->shape.rank, tsl_dtype_name(x0->dtype), r);
        for (int32_t d = 0; d < r; d++)
            if (d != axis && t->shape.dims[d] != x0->shape.dims[d])
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                    "input %u has size %lld in dim %d, expected %lld", i,
                                    (long long)t->shape.dims[d], d,
                                    (long long)x0->shape.dims[d]);
        if (!tsl_add_i64(dims[axis], t->shape.dims[axis], &dims[axis]))
            return tsl_ref_fail(c, TSL_STATUS_LIMIT, "result too large");
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x0->dtype, r, dims));
    size_t es = tsl_ref_elem_size(x0->dtype);
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++)
        outer *= dims[d];
    for (int32_t d = axis + 1; d < r; d++)
        inner *= dims[d];
    uint8_t *y = c->out[0].data;
    int64_t at = 0;
    for (uint32_t i = 0; i < c->n_in; i++) {
        const struct tsl_tensor *t = c->in[i];
        size_t chunk = (size_t)(t->shape.dims[axis] * inner) * es;
        for (int64_t o = 0; o < outer && chunk; o++)
            memcpy(y + ((size_t)(o * dims[axis] + at) * (size_t)inner) * es,
                   (const uint8_t *)t->data + (size_t)o * chunk, chunk);
        at += t->shape.dims[axis];
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_split(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_attr_split *at = &c->node->attrs.split;
    int32_t axis;
    TSL_TRY(tsl_ref_axis(c, at->axis, x->shape.rank, "axis", &axis));
    int64_t len = x->shape.dims[axis], sizes_fixed[16], *sizes = sizes_fixed;
    uint32_t n = c->n_out;
    if (n > TSL_ARRAY_LEN(sizes_fixed))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "more than %zu outputs",
                            TSL_ARRAY_LEN(sizes_fixed));
    if (at->split.n) {
        int64_t sum = 0;
        if (at->split.n != n)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "split has %u sizes for %u outputs",
                                at->split.n, n);
        for (uint32_t i = 0; i < n; i++) {
            sizes[i] = at->split.v[i];
            if (sizes[i] < 0 || !tsl_add_i64(sum, sizes[i], &sum))
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "negative split size");
        }
        if (sum != len)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "split sizes sum to %lld, dim is %lld",
                                (long long)sum, (long long)len);
    } else {
        /* equal parts; a smaller last part when not divisible (opset 18) */
        int64_t part = (len + n - 1) / n, left = len;
        for (uint32_t i = 0; i < n; i++) {
            sizes[i] = left < part ? left : part;
            left -= sizes[i];
        }
    }
    size_t es = tsl_ref_elem_size(x->dtype);
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++)
        outer *= x->shape.dims[d];
    for (int32_t d = axis + 1; d < x->shape.rank; d++)
        inner *= x->shape.dims[d];
    int64_t at_ = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t dims[TSL_MAX_RANK];
        memcpy(dims, x->shape.dims, sizeof dims);
        dims[axis] = sizes[i];
        TSL_TRY(tsl_ref_alloc(c, i, x->dtype, x->shape.rank, dims));
        size_t chunk = (size_t)(sizes[i] * inner) * es;
        for (int64_t o = 0; o < outer && chunk; o++)
            memcpy((uint8_t *)c->out[i].data + (size_t)o * chunk,
                   (const uint8_t *)x->data + ((size_t)(o * len + at_) * (size_t)inner) * es,
                   chunk);
        at_ += sizes[i];
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_slice(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int32_t r = x->shape.rank;
    int64_t starts[TSL_MAX_RANK], ends[TSL_MAX_RANK], axes[TSL_MAX_RANK], steps[TSL_MAX_RANK];
    int64_t ns, ne, na, nt;
    TSL_TRY(tsl_ref_read_ints(c, 1, "starts", starts, TSL_MAX_RANK, &ns));
    TSL_TRY(tsl_ref_read_ints(c, 2, "ends", ends, TSL_MAX_RANK, &ne));
    if (c->n_in > 3 && c->in[3]) {
        TSL_TRY(tsl_ref_read_ints(c, 3, "axes", axes, TSL_MAX_RANK, &na));
    } else {
        na = ns;
        for (int64_t i = 0; i < na; i++)
            axes[i] = i;
    }
    if (c->n_in > 4 && c->in[4]) {
        TSL_TRY(tsl_ref_read_ints(c, 4, "steps", steps, TSL_MAX_RANK, &nt));
    } else {
        nt = ns;
        for (int64_t i = 0; i < nt; i++)
            steps[i] = 1;
    }
    if (ne != ns || na != ns || nt != ns)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                            "starts, ends, axes and steps must have the same length");
    int64_t b[TSL_MAX_RANK], st[TSL_MAX_RANK], dims[TSL_MAX_RANK], xs[TSL_MAX_RANK];
    bool seen[TSL_MAX_RANK] = {false};
    for (int32_t d = 0; d < r; d++) {
        b[d] = 0;
        st[d] = 1;
        dims[d] = x->shape.dims[d];
    }
    for (int64_t i = 0; i < ns; i++) {
        int32_t a;
        TSL_TRY(tsl_ref_axis(c, axes[i], r, "axes entry", &a));
        if (seen[a])
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "axis %d repeated", a);
        seen[a] = true;
        int64_t dim = x->shape.dims[a], s = starts[i], e = ends[i], step = steps[i];
        if (step == 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "step is 0 on axis %d", a);
        /* negative indices count from the end (checked against INT64_MIN) */
        if (s < 0)
            s = s < -dim ? -1 : s + dim;
        if (e < 0)
            e = e < -dim ? -1 : e + dim;
        int64_t cnt;
        if (step > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            /* ONNX: starts clamp to [0, dim-1], ends to [-1, dim-1] */
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            cnt = dim > 0 && s > e ? (s - e - 1) / (step == INT64_MIN ? INT64_MAX : -step) + 1
                                   : 0;
        }
        b[a] = s;
        st[a] = step;
        dims[a] = cnt;
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    if (tsl_ref_numel(&c->out[0]) == 0)
        return TSL_STATUS_OK;
    tsl_ref_strides(&x->shape, xs);
    int64_t base = 0, ist[TSL_MAX_RANK];
    for (int32_t d = 0; d < r; d++) {
        base += b[d] * xs[d];
        ist[d] = st[d] * xs[d];
    }
    strided_copy(x->data, base, ist, r, dims, c->out[0].data, tsl_ref_elem_size(x->dtype));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_expand(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    struct tsl_shape want = {0}, s;
    int64_t n;
    TSL_TRY(tsl_ref_read_ints(c, 1, "shape", want.dims, TSL_MAX_RANK, &n));
    want.rank = (int32_t)n;
    for (int32_t d = 0; d < want.rank; d++)
        if (want.dims[d] < 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "negative dim in shape");
    if (!tsl_ref_broadcast(&x->shape, &want, &s))
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "input cannot be broadcast to shape");
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, s.rank, s.dims));
    int64_t ist[TSL_MAX_RANK];
    tsl_ref_bcast_strides(&x->shape, &s, ist);
    if (tsl_ref_numel(&c->out[0]))
        strided_copy(x->data, 0, ist, s.rank, s.dims, c->out[0].data,
                     tsl_ref_elem_size(x->dtype));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_tile(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int64_t rep[TSL_MAX_RANK], n, dims[TSL_MAX_RANK];
    TSL_TRY(tsl_ref_read_ints(c, 1, "repeats", rep, TSL_MAX_RANK, &n));
    int32_t r = x->shape.rank;
    if (n != r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "repeats has %lld entries for rank %d",
                            (long long)n, r);
    for (int32_t d = 0; d < r; d++)
        if (rep[d] < 0 || !tsl_mul_i64(x->shape.dims[d], rep[d], &dims[d]))
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad repeat %lld",
                                (long long)rep[d]);
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t total = tsl_ref_numel(y), xs[TSL_MAX_RANK];
    size_t es = tsl_ref_elem_size(x->dtype);
    tsl_ref_strides(&x->shape, xs);
    for (int64_t i = 0; i < total; i++) {
        int64_t rem = i, off = 0;
        for (int32_t d = r - 1; d >= 0; d--) {
            off += (rem % dims[d]) % x->shape.dims[d] * xs[d];
            rem /= dims[d];
        }
        memcpy((uint8_t *)y->data + (size_t)i * es, (const uint8_t *)x->data + (size_t)off * es,
               es);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_pad(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    int32_t r = x->shape.rank;
    int64_t pads[2 * TSL_MAX_RANK], n, dims[TSL_MAX_RANK];
    TSL_TRY(tsl_ref_read_ints(c, 1, "pads", pads, 2 * TSL_MAX_RANK, &n));
    if (n != 2 * r)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "pads has %lld entries, expected %d",
                            (long long)n, 2 * r);
    enum tsl_pad_mode mode = c->node->attrs.pad.mode;
    for (int32_t d = 0; d < r; d++) {
        int64_t in = x->shape.dims[d];
        if (pads[d] < -in || pads[d + r] < -in || pads[d] > INT32_MAX || pads[d + r] > INT32_MAX)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad pad on dim %d", d);
        dims[d] = in + pads[d] + pads[d + r];
        if (dims[d] < 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "pads remove more than dim %d", d);
        if (mode != TSL_pad_mode_CONSTANT && in == 0 && dims[d] > 0)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "cannot %s-pad an empty dim",
                                mode == TSL_pad_mode_EDGE ? "edge" : "reflect");
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, r, dims));
    struct tsl_tensor *y = &c->out[0];
    size_t es = tsl_ref_elem_size(x->dtype);
    uint8_t value[8] = {0};
    if (c->n_in > 2 && c->in[2]) {
        if (c->in[2]->dtype != x->dtype || tsl_ref_numel(c->in[2]) != 1)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG,
                                "constant_value must be one element of the input dtype");
        memcpy(value, c->in[2]->data, es);
    }
    int64_t total = tsl_ref_numel(y), xs[TSL_MAX_RANK];
    tsl_ref_strides(&x->shape, xs);
    for (int64_t i = 0; i < total; i++) {
        int64_t rem = i, off = 0;
        bool outside = false;
        for (int32_t d = r - 1; d >= 0; d--) {
            int64_t o = rem % dims[d], in = x->shape.dims[d], k = o - pads[d];
            rem /= dims[d];
            if (k < 0 || k >= in) {
                if (mode == TSL_pad_mode_CONSTANT) {
                    outside = true;
                    break;
                } else if (mode == TSL_pad_mode_EDGE || in == 1) {
                    k = k < 0 ? 0 : in - 1;
                } else {
                    int64_t period = 2 * (in - 1);
                    k = k % period;
                    if (k < 0)
                        k += period;
                    if (k >= in)
                        k = period - k;
                }
            }
            off += k * xs[d];
        }
        memcpy((uint8_t *)y->data + (size_t)i * es,
               outside ? value : (const uint8_t *)x->data + (size_t)off * es, es);
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_depth_to_space(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    const struct tsl_attr_depth_to_space *at = &c->node->attrs.depth_to_space;
    int64_t b = at->blocksize;
    if (x->shape.rank != 4 || b < 1 || b > 4096)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "needs a 4-D input and blocksize >= 1");
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], H = x->shape.dims[2],
            W = x->shape.dims[3];
    int64_t odims[4], vd[6], vst[6], perm[6];
    /* view the input as 6-D, permute, then read densely */
    if (c->node->op == TSL_OP_DEPTH_TO_SPACE) {
        if (C % (b * b))
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "channels %lld not divisible by %lld",
                                (long long)C, (long long)(b * b));
        int64_t cc = C / (b * b);
        odims[0] = N; odims[1] = cc; odims[2] = H * b; odims[3] = W * b;
        bool dcr = at->mode == TSL_dts_mode_DCR;
        int64_t v1[6] = {N, b, b, cc, H, W}, v2[6] = {N, cc, b, b, H, W};
        int64_t p1[6] = {0, 3, 4, 1, 5, 2}, p2[6] = {0, 1, 4, 2, 5, 3};
        memcpy(vd, dcr ? v1 : v2, sizeof vd);
        memcpy(perm, dcr ? p1 : p2, sizeof perm);
    } else {
        if (H % b || W % b)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "H and W must be divisible by %lld",
                                (long long)b);
        odims[0] = N; odims[1] = C * b * b; odims[2] = H / b; odims[3] = W / b;
        int64_t v[6] = {N, C, H / b, b, W / b, b}, p[6] = {0, 3, 5, 1, 2, 4};
        memcpy(vd, v, sizeof vd);
        memcpy(perm, p, sizeof perm);
    }
    struct tsl_shape vs = {.rank = 6};
    memcpy(vs.dims, vd, sizeof vd);
    int64_t st[TSL_MAX_RANK], pd[6];
    tsl_ref_strides(&vs, st);
    for (int d = 0; d < 6; d++) {
        pd[d] = vd[perm[d]];
        vst[d] = st[perm[d]];
    }
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, 4, odims));
    if (tsl_ref_numel(&c->out[0]))
        strided_copy(x->data, 0, vst, 6, pd, c->out[0].data, tsl_ref_elem_size(x->dtype));
    return TSL_STATUS_OK;
}
