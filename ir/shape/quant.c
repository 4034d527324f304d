/* quant.c - shape rules of the quantization ops: QuantizeLinear (output
 * dtype = zero point's, u8 when absent), DequantizeLinear (f32), and the
 * QLinearConv / QLinearMatMul wrappers around the Conv and MatMul cores with
 * the y_zero_point dtype.  Scale/zero-point shapes are checked against the
 * quantization axis. */
#include "shape/shape_internal.h"

/* scale (input si) and zero point (input zi) must be scalars or 1-D of the
 * axis length; they must agree in shape. */
static enum tsl_status qparams(struct tsl_infer_ctx *cx, const struct tsl_node *n, uint32_t x,
                               uint32_t si, uint32_t zi, int64_t axis_attr, bool use_axis)
{
    const struct tsl_value *s = n->inputs[si], *z = tsl_in(n, zi);
    const struct tsl_shape *xs = &n->inputs[x]->type.shape;
    if (!tsl_dtype_is_float(s->type.dtype))
        return tsl_sh_error(cx, "scale input %u must be floating point, got %s", si,
                            tsl_dtype_name(s->type.dtype));
    if (s->type.shape.rank > 1)
        return tsl_sh_error(cx, "scale input %u must be a scalar or 1-D, got rank %d", si,
                            s->type.shape.rank);
    if (z && !tsl_shape_equal(&z->type.shape, &s->type.shape))
        return tsl_sh_error(cx, "zero point input %u and scale input %u differ in shape", zi, si);
    if (s->type.shape.rank == 1 && s->type.shape.dims[0] != 1 && use_axis) {
        int32_t ax;
        TSL_TRY(tsl_sh_axis(cx, axis_attr, xs->rank, "axis", &ax));
        TSL_TRY(tsl_sh_dims_agree(cx, s->type.shape.dims[0], xs->dims[ax],
                                  "scale length vs axis dim"));
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_quantize(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(qparams(cx, n, 0, 1, 2, n->attrs.axis.axis, true));
    const struct tsl_value *z = tsl_in(n, 2);
    enum tsl_dtype dt = z ? z->type.dtype : TSL_DTYPE_U8;
    if (dt != TSL_DTYPE_U8 && dt != TSL_DTYPE_I8)
        return tsl_sh_error(cx, "zero point must be u8 or i8, got %s", tsl_dtype_name(dt));
    tsl_sh_set(n, 0, dt, &n->inputs[0]->type.shape);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_dequantize(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(qparams(cx, n, 0, 1, 2, n->attrs.axis.axis, true));
    const struct tsl_value *z = tsl_in(n, 2);
    if (z && z->type.dtype != n->inputs[0]->type.dtype)
        return tsl_sh_error(cx, "zero point is %s but input is %s",
                            tsl_dtype_name(z->type.dtype),
                            tsl_dtype_name(n->inputs[0]->type.dtype));
    tsl_sh_set(n, 0, TSL_DTYPE_F32, &n->inputs[0]->type.shape);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_qlinear_conv(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(qparams(cx, n, 0, 1, 2, 0, false));
    TSL_TRY(qparams(cx, n, 3, 4, 5, 0, true));
    TSL_TRY(qparams(cx, n, 0, 6, 7, 0, false));
    const struct tsl_value *b = tsl_in(n, 8);
    if (b && b->type.dtype != TSL_DTYPE_I32)
        return tsl_sh_error(cx, "bias must be i32, got %s", tsl_dtype_name(b->type.dtype));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_conv_like(cx, n, n->inputs[0], n->inputs[3], b, &s));
    tsl_sh_set(n, 0, n->inputs[7]->type.dtype, &s);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_infer_qlinear_matmul(struct tsl_infer_ctx *cx, struct tsl_node *n)
{
    TSL_TRY(qparams(cx, n, 0, 1, 2, 0, false));
    TSL_TRY(qparams(cx, n, 3, 4, 5, 0, false));
    TSL_TRY(qparams(cx, n, 0, 6, 7, 0, false));
    struct tsl_shape s;
    TSL_TRY(tsl_sh_matmul_like(cx, &n->inputs[0]->type.shape, &n->inputs[3]->type.shape, &s));
    tsl_sh_set(n, 0, n->inputs[7]->type.dtype, &s);
    return TSL_STATUS_OK;
}
