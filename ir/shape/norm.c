/* norm.c - shape rules of the normalizations (BatchNormalization in
 * inference form, InstanceNormalization, LayerNormalization) and of
 * Softmax / LogSoftmax: the output has the input's type; per-channel
 * parameters are checked against the channel dim. */
#include <stdio.h>

#include "shape/shape_internal.h"

/* Input i must be 1-D with length c (when both are known). */
static enum tsl_status per_channel(struct tsl_infer_ctx *cx, const struct tsl_node *n,
                                   uint32_t i, int64_t c)
{
    const struct tsl_value *v = n->inputs[i];
    if (v->type.shape.rank != 1)
        return tsl_sh_error(cx, "input %u ('%s') must have rank 1, got %d", i, v->name,
                            v->type.shape.rank);
    char what[64];
    snprintf(what, sizeof what, "input %u length vs channels", i);
    return tsl_sh_dims_agree(cx, v->type.shape.dims[0], c, what);
}

enum tsl_status tsl_infer_batch_norm(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 2, TSL_MAX_RANK));
    int64_t c = n->inputs[0]->type.shape.dims[1];
    for (uint32_t i = 1; i < 5; i++)
        TSL_TRY(per_channel(cx, n, i, c));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &n->inputs[0]->type.shape);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_instance_norm(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 3, TSL_MAX_RANK));
    int64_t c = n->inputs[0]->type.shape.dims[1];
    for (uint32_t i = 1; i < 3; i++)
        TSL_TRY(per_channel(cx, n, i, c));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &n->inputs[0]->type.shape);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_layer_norm(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.norm.axis, xs->rank, "axis", &axis));
    struct tsl_shape norm = {.rank = xs->rank - axis};
    for (int32_t i = axis; i < xs->rank; i++)
        norm.dims[i - axis] = xs->dims[i];
    for (uint32_t i = 1; i < n->n_inputs; i++) {
        const struct tsl_value *p = n->inputs[i];
        if (!p)
            continue;
        struct tsl_shape t;
        TSL_TRY(tsl_sh_broadcast(cx, &norm, &p->type.shape, &t));
        if (t.rank != norm.rank)
            return tsl_sh_error(cx, "input %u ('%s') has more axes than the normalized part", i,
                                p->name);
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, xs);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_softmax(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    int32_t axis;
    TSL_TRY(tsl_sh_axis(cx, n->attrs.axis.axis, n->inputs[0]->type.shape.rank, "axis", &axis));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &n->inputs[0]->type.shape);
    return TSL_STATUS_OK;
}
