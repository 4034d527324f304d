/* reduce.c - shape rule of the Reduce* family: axes from the attribute
 * (empty = all axes, or identity under noop_with_empty_axes), keepdims.
 * ArgMax / ArgMin live in select.c. */
#include "shape/shape_internal.h"

enum tsl_status tsl_infer_reduce(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_attr_reduce *a = &n->attrs.reduce;
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    bool red[TSL_MAX_RANK] = {false};
    if (a->axes.n == 0) {
        if (a->noop_with_empty_axes) {
            tsl_sh_set(n, 0, n->inputs[0]->type.dtype, xs);
            return TSL_STATUS_OK;
        }
        for (int32_t i = 0; i < xs->rank; i++)
            red[i] = true;
    }
    for (uint32_t i = 0; i < a->axes.n; i++) {
        int32_t ax;
        TSL_TRY(tsl_sh_axis(cx, a->axes.v[i], xs->rank, "axes entry", &ax));
        red[ax] = true;
    }
    struct tsl_shape s = {.rank = 0};
    for (int32_t i = 0; i < xs->rank; i++) {
        if (!red[i])
            s.dims[s.rank++] = xs->dims[i];
        else if (a->keepdims)
            s.dims[s.rank++] = 1;
    }
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}
