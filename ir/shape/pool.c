/* pool.c - shape rules of MaxPool / AveragePool (kernel_shape, auto_pad,
 * pads, strides, dilations, ceil_mode) and the global pools.  Ceil mode uses
 * ceil((in + pads - ek) / stride) + 1, minus a last window that would start
 * in the end padding (as ONNX Runtime and PyTorch do).  Attribute
 * ranges are checked beforehand in checks.c. */
#include "shape/shape_internal.h"

static int64_t at_or(const struct tsl_ints *l, uint32_t i, int64_t def)
{
    return i < l->n ? l->v[i] : def;
}

enum tsl_status tsl_infer_pool(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    const struct tsl_attr_pool *a = &n->attrs.pool;
    const struct tsl_shape *xs = &n->inputs[0]->type.shape;
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 3, TSL_MAX_RANK));
    int32_t sp = xs->rank - 2;
    if (a->kernel_shape.n != (uint32_t)sp)
        return tsl_sh_error(cx, "kernel_shape has %u entries for %d spatial axes",
                            a->kernel_shape.n, sp);
    if (!tsl_dtype_is_float(n->inputs[0]->type.dtype) && n->op == TSL_OP_AVERAGE_POOL)
        return tsl_sh_error(cx, "input must be floating point, got %s",
                            tsl_dtype_name(n->inputs[0]->type.dtype));
    struct tsl_shape s = *xs;
    for (int32_t i = 0; i < sp; i++)
        TSL_TRY(tsl_sh_window(cx, xs->dims[2 + i], a->kernel_shape.v[i],
                              at_or(&a->strides, (uint32_t)i, 1),
                              at_or(&a->dilations, (uint32_t)i, 1),
                              at_or(&a->pads, (uint32_t)i, 0),
                              at_or(&a->pads, (uint32_t)(i + sp), 0), (int)a->auto_pad,
                              a->ceil_mode != 0, i, &s.dims[2 + i]));
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_global_pool(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(tsl_sh_need_rank(cx, n, 0, 3, TSL_MAX_RANK));
    struct tsl_shape s = n->inputs[0]->type.shape;
    for (int32_t i = 2; i < s.rank; i++)
        s.dims[i] = 1;
    tsl_sh_set(n, 0, n->inputs[0]->type.dtype, &s);
    return TSL_STATUS_OK;
}
