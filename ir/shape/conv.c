/* conv.c - shape rules of Conv and ConvTranspose (and the shared Conv core
 * QLinearConv uses): channel/group consistency, kernel from attributes or
 * weights, auto_pad / pads / strides / dilations, output_padding and
 * output_shape.  Attribute ranges are checked beforehand in checks.c. */
#include <stdio.h>

#include "shape/shape_internal.h"
#include "tessel/util.h"

static int64_t at_or(const struct tsl_ints *l, uint32_t i, int64_t def)
{
    return i < l->n ? l->v[i] : def;
}

enum tsl_status tsl_sh_conv_like(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                 const struct tsl_value *x, const struct tsl_value *w,
                                 const struct tsl_value *b, struct tsl_shape *out)
{
    const struct tsl_attr_conv *a = &n->attrs.conv;
    const struct tsl_shape *xs = &x->type.shape, *ws = &w->type.shape;
    if (xs->rank < 3)
        return tsl_sh_error(cx, "input rank %d is too small: need [N, C, spatial...]", xs->rank);
    if (ws->rank != xs->rank)
        return tsl_sh_error(cx, "weight rank %d != input rank %d", ws->rank, xs->rank);
    int64_t c = xs->dims[1], m = ws->dims[0], cg = ws->dims[1], g = a->group;
    if (!TSL_DIM_IS_SYM(c) && c % g != 0)
        return tsl_sh_error(cx, "group %lld does not divide input channels %lld", (long long)g,
                            (long long)c);
    if (!TSL_DIM_IS_SYM(m) && m % g != 0)
        return tsl_sh_error(cx, "group %lld does not divide output channels %lld",
                            (long long)g, (long long)m);
    if (!TSL_DIM_IS_SYM(c) && !TSL_DIM_IS_SYM(cg) && cg * g != c)
        return tsl_sh_error(cx,
                            "channels mismatch: input has C=%lld but weight expects "
                            "C/group=%lld with group=%lld",
                            (long long)c, (long long)cg, (long long)g);
    if (b) {
        const struct tsl_shape *bs = &b->type.shape;
        if (bs->rank != 1)
            return tsl_sh_error(cx, "bias must have rank 1, got %d", bs->rank);
        TSL_TRY(tsl_sh_dims_agree(cx, bs->dims[0], m, "bias length vs output channels"));
    }
    int32_t sp = xs->rank - 2;
    struct tsl_shape s = {.rank = xs->rank};
    s.dims[0] = xs->dims[0];
    s.dims[1] = m;
    for (int32_t i = 0; i < sp; i++) {
        int64_t k = ws->dims[2 + i];
        if (a->kernel_shape.n) {
            int64_t ka = a->kernel_shape.v[i];
            if (!TSL_DIM_IS_SYM(k) && k != ka)
                return tsl_sh_error(cx, "kernel_shape[%d] = %lld but weight has %lld", i,
                                    (long long)ka, (long long)k);
            k = ka;
        }
        TSL_TRY(tsl_sh_window(cx, xs->dims[2 + i], k, at_or(&a->strides, (uint32_t)i, 1),
                              at_or(&a->dilations, (uint32_t)i, 1),
                              at_or(&a->pads, (uint32_t)i, 0),
                              at_or(&a->pads, (uint32_t)(i + sp), 0), (int)a->auto_pad, false,
                              i, &s.dims[2 + i]));
    }
    *out = s;
    return TSL_STATUS_OK;
}

static enum tsl_status float_pair(struct tsl_infer_ctx *cx, const struct tsl_node *n)
{
    enum tsl_dtype x = n->inputs[0]->type.dtype, w = n->inputs[1]->type.dtype;
    if (x != w)
        return tsl_sh_error(cx, "input is %s but weight is %s", tsl_dtype_name(x),
                            tsl_dtype_name(w));
    if (tsl_in(n, 2) && n->inputs[2]->type.dtype != x)
        return tsl_sh_error(cx, "bias is %s, expected %s",
                            tsl_dtype_name(n->inputs[2]->type.dtype), tsl_dtype_name(x));
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_conv(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(float_pair(cx, n));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_conv_like(cx, n, n->inputs[0], n->inputs[1], tsl_in(n, 2), &s));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

/* out = stride*(in-1) + output_padding + (k-1)*d + 1 - pad_b - pad_e, or
 * in*stride under SAME_*; output_shape overrides both. */
static enum tsl_status deconv_dim(struct tsl_infer_ctx *cx, const struct tsl_attr_conv_transpose *a,
                                  int32_t i, int32_t sp, int64_t in, int64_t k, int64_t *out)
{
    int64_t st = at_or(&a->strides, (uint32_t)i, 1), d = at_or(&a->dilations, (uint32_t)i, 1);
    int64_t op = at_or(&a->output_padding, (uint32_t)i, 0);
    if (op >= st && op >= d)
        return tsl_sh_error(cx, "output_padding[%d] = %lld must be below stride or dilation", i,
                            (long long)op);
    if (TSL_DIM_IS_SYM(in) || TSL_DIM_IS_SYM(k)) {
        if (st == 1 && !TSL_DIM_IS_SYM(k) && a->auto_pad != TSL_auto_pad_VALID &&
            (a->auto_pad != TSL_auto_pad_NOTSET ||
             at_or(&a->pads, (uint32_t)i, 0) + at_or(&a->pads, (uint32_t)(i + sp), 0) ==
                 (k - 1) * d + op) && TSL_DIM_IS_SYM(in))
            *out = in;
        else
            TSL_TRY(tsl_sh_fresh(cx, out));
        return TSL_STATUS_OK;
    }
    int64_t r;
    if (a->auto_pad == TSL_auto_pad_SAME_UPPER || a->auto_pad == TSL_auto_pad_SAME_LOWER) {
        if (!tsl_mul_i64(in, st, &r))
            return tsl_sh_error(cx, "output size overflows on spatial axis %d", i);
    } else {
        int64_t pads = a->auto_pad == TSL_auto_pad_VALID
                           ? 0
                           : at_or(&a->pads, (uint32_t)i, 0) +
                                 at_or(&a->pads, (uint32_t)(i + sp), 0);
        int64_t t;
        if (in < 1 || !tsl_mul_i64(st, in - 1, &r) || !tsl_mul_i64(k - 1, d, &t) ||
            !tsl_add_i64(r, t + 1 + op, &r))
            return tsl_sh_error(cx, "invalid input size %lld on spatial axis %d", (long long)in,
                                i);
        r -= pads;
        if (r < 1)
            return tsl_sh_error(cx, "output size %lld < 1 on spatial axis %d (pads too large)",
                                (long long)r, i);
    }
    *out = r;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_conv_transpose(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(float_pair(cx, n));
    const struct tsl_attr_conv_transpose *a = &n->attrs.conv_transpose;
    const struct tsl_shape *xs = &n->inputs[0]->type.shape, *ws = &n->inputs[1]->type.shape;
    if (xs->rank < 3)
        return tsl_sh_error(cx, "input rank %d is too small: need [N, C, spatial...]", xs->rank);
    if (ws->rank != xs->rank)
        return tsl_sh_error(cx, "weight rank %d != input rank %d", ws->rank, xs->rank);
    int64_t g = a->group;
    TSL_TRY(tsl_sh_dims_agree(cx, xs->dims[1], ws->dims[0],
                              "input channels vs weight dim 0"));
    if (!TSL_DIM_IS_SYM(ws->dims[0]) && ws->dims[0] % g != 0)
        return tsl_sh_error(cx, "group %lld does not divide input channels %lld",
                            (long long)g, (long long)ws->dims[0]);
    struct tsl_shape s = {.rank = xs->rank};
    s.dims[0] = xs->dims[0];
    if (TSL_DIM_IS_SYM(ws->dims[1])) {
        if (g == 1)
            s.dims[1] = ws->dims[1];
        else
            TSL_TRY(tsl_sh_fresh(cx, &s.dims[1]));
    } else if (!tsl_mul_i64(ws->dims[1], g, &s.dims[1])) {
        return tsl_sh_error(cx, "output channels overflow");
    }
    if (tsl_in(n, 2)) {
        const struct tsl_shape *bs = &n->inputs[2]->type.shape;
        if (bs->rank != 1)
            return tsl_sh_error(cx, "bias must have rank 1, got %d", bs->rank);
        TSL_TRY(tsl_sh_dims_agree(cx, bs->dims[0], s.dims[1], "bias length vs output channels"));
    }
    int32_t sp = xs->rank - 2;
    for (int32_t i = 0; i < sp; i++) {
        if (a->output_shape.n) {
            uint32_t off = a->output_shape.n == (uint32_t)xs->rank ? 2 : 0;
            s.dims[2 + i] = a->output_shape.v[off + (uint32_t)i];
            continue;
        }
        int64_t k = a->kernel_shape.n ? a->kernel_shape.v[i] : ws->dims[2 + i];
        TSL_TRY(deconv_dim(cx, a, i, sp, xs->dims[2 + i], k, &s.dims[2 + i]));
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}
