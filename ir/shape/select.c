/* select.c - shape rules of the selection ops: ArgMax / ArgMin (i64
 * indices, keepdims), TopK (values and i64 indices, k from a known input or
 * a fresh symbol), NonZero and NonMaxSuppression (data-dependent counts
 * become fresh symbols). */
#include "shape/shape_internal.h"

enum tsl_status tsl_infer_argreduce(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.argreduce.axis, xs->rank, "axis", &axis));
    struct tsl_shape s = {.rank = 0};
    for (int32_t i = 0; i < xs->rank; i++) {
        if (i != axis)
            s.dims[s.rank++] = xs->dims[i];
        else if (n->attrs.argreduce.keepdims)
            s.dims[s.rank++] = 1;
    }
    tsl_sh_set(n, 0, TSL_DTYPE_I64, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_topk(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    const struct tsl_value *kv = n->inputs[1];
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.topk.axis, xs->rank, "axis", &axis));
    if (kv->type.dtype != TSL_DTYPE_I64 || kv->type.shape.rank != 1 ||
        (!TSL_DIM_IS_SYM(kv->type.shape.dims[0]) && kv->type.shape.dims[0] != 1))
        return tsl_sh_error(cx, "K must be a 1-D i64 tensor of one element");
    const struct tsl_known *k = tsl_known_get(cx, kv);
    struct tsl_shape s = *xs;
    if (k && k->n == 1 && k->e[0].kind == TSL_K_INT) {
        int64_t kk = k->e[0].v, d = xs->dims[axis];
        if (kk < 0 || (!TSL_DIM_IS_SYM(d) && kk > d))
            return tsl_sh_error(cx, "K = %lld is out of range for axis %d of size %lld",
                                (long long)kk, axis, (long long)d);
        s.dims[axis] = kk;
    } else if (k && k->n == 1 && k->e[0].kind == TSL_K_DIM) {
        s.dims[axis] = k->e[0].v;
    } else {
        TSL_TRY(tsl_sh_fresh(cx, &s.dims[axis]));
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    tsl_sh_set(n, 1, TSL_DTYPE_I64, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_non_zero(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    struct tsl_shape s = {.rank = 2};
    s.dims[0] = n->inputs[0]->type.shape.rank;
    TSL_TRY(tsl_sh_fresh(cx, &s.dims[1]));
    tsl_sh_set(n, 0, TSL_DTYPE_I64, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_nms(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 3, 3));
    TSL_TRY(tsl_sh_need_rank(cx, n, 1, 3, 3));
    const struct tsl_shape *bs = &n->inputs[0]->type.shape, *ss = &n->inputs[1]->type.shape;
    if (!TSL_DIM_IS_SYM(bs->dims[2]) && bs->dims[2] != 4)
        return tsl_sh_error(cx, "boxes last dim must be 4, got %lld", (long long)bs->dims[2]);
    TSL_TRY(tsl_sh_dims_agree(cx, bs->dims[0], ss->dims[0], "batch of boxes vs scores"));
    TSL_TRY(tsl_sh_dims_agree(cx, bs->dims[1], ss->dims[2], "boxes vs scores spatial count"));
    struct tsl_shape s = {.rank = 2};
    TSL_TRY(tsl_sh_fresh(cx, &s.dims[0]));
    s.dims[1] = 3;
    tsl_sh_set(n, 0, TSL_DTYPE_I64, &s);
    return TSL_STATUS_OK;
}
