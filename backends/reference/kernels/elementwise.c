/* elementwise.c - unary elementwise kernels (Relu, Sigmoid, Exp, ...,
 * LeakyRelu/Elu/Selu/HardSigmoid with their alpha/beta), Identity, Clip and
 * Cast.  Float math is done in double and rounded once to the output type;
 * f16/bf16 go through the same path via conversion.  Integer inputs are
 * accepted where ONNX allows them (Abs, Neg, Sign, Relu, Clip, Cast); Not is
 * bool only.  Binary and reduction ops live elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ref_internal.h"

typedef double (*unary_f)(double x, const struct tsl_attr_alpha_beta *ab);
typedef int64_t (*unary_i)(int64_t x);

static double f_abs(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return fabs(x); }
static double f_ceil(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return ceil(x); }
static double f_cos(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return cos(x); }
static double f_erf(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return erf(x); }
static double f_exp(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return exp(x); }
static double f_floor(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return floor(x); }
static double f_log(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return log(x); }
static double f_neg(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return -x; }
static double f_recip(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return 1.0 / x; }
static double f_relu(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return x < 0 ? 0 : x; }
static double f_round(double x, const struct tsl_attr_alpha_beta *ab)
{
    (void)ab;
    return tsl_ref_round_even(x);
}
static double f_sin(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return sin(x); }
static double f_sqrt(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return sqrt(x); }
static double f_tanh(double x, const struct tsl_attr_alpha_beta *ab) { (void)ab; return tanh(x); }
static double f_sign(double x, const struct tsl_attr_alpha_beta *ab)
{
    (void)ab;
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x; /* 0 stays 0, NaN stays NaN */
}
static double f_sigmoid(double x, const struct tsl_attr_alpha_beta *ab)
{
    (void)ab;
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
static double f_softplus(double x, const struct tsl_attr_alpha_beta *ab)
{
    (void)ab;
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
static double f_hard_swish(double x, const struct tsl_attr_alpha_beta *ab)
{
    (void)ab;
    return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
}
static double f_elu(double x, const struct tsl_attr_alpha_beta *ab)
{
    return x < 0 ? (double)ab->alpha * expm1(x) : x;
}
static double f_hard_sigmoid(double x, const struct tsl_attr_alpha_beta *ab)
{
    return fmax(0.0, fmin(1.0, (double)ab->alpha * x + (double)ab->beta));
}
static double f_leaky_relu(double x, const struct tsl_attr_alpha_beta *ab)
{
    return x < 0 ? (double)ab->alpha * x : x;
}
/* Selu: alpha = ONNX alpha, beta = ONNX gamma. */
static double f_selu(double x, const struct tsl_attr_alpha_beta *ab)
{
    double g = ab->beta;
    return x > 0 ? g * x : g * (double)ab->alpha * expm1(x);
}

static const unary_f float_fns[TSL_OP_COUNT] = {
    [TSL_OP_ABS] = f_abs,         [TSL_OP_CEIL] = f_ceil,
    [TSL_OP_COS] = f_cos,         [TSL_OP_ERF] = f_erf,
    [TSL_OP_EXP] = f_exp,         [TSL_OP_FLOOR] = f_floor,
    [TSL_OP_HARD_SWISH] = f_hard_swish,
    [TSL_OP_LOG] = f_log,         [TSL_OP_NEG] = f_neg,
    [TSL_OP_RECIPROCAL] = f_recip, [TSL_OP_RELU] = f_relu,
    [TSL_OP_ROUND] = f_round,     [TSL_OP_SIGMOID] = f_sigmoid,
    [TSL_OP_SIGN] = f_sign,       [TSL_OP_SIN] = f_sin,
    [TSL_OP_SOFTPLUS] = f_softplus, [TSL_OP_SQRT] = f_sqrt,
    [TSL_OP_TANH] = f_tanh,       [TSL_OP_ELU] = f_elu,
    [TSL_OP_HARD_SIGMOID] = f_hard_sigmoid,
    [TSL_OP_LEAKY_RELU] = f_leaky_relu,
    [TSL_OP_SELU] = f_selu,
};

/* Integer forms wrap like two's complement (Abs/Neg of the minimum). */
static int64_t i_abs(int64_t x) { return x < 0 ? (int64_t)(0u - (uint64_t)x) : x; }
static int64_t i_neg(int64_t x) { return (int64_t)(0u - (uint64_t)x); }
static int64_t i_sign(int64_t x) { return (x > 0) - (x < 0); }
static int64_t i_relu(int64_t x) { return x < 0 ? 0 : x; }
static int64_t i_not(int64_t x) { return !x; }

static const unary_i int_fns[TSL_OP_COUNT] = {
    [TSL_OP_ABS] = i_abs,   [TSL_OP_NEG] = i_neg, [TSL_OP_SIGN] = i_sign,
    [TSL_OP_RELU] = i_relu, [TSL_OP_NOT] = i_not,
};

enum tsl_status tsl_ref_unary(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    enum tsl_op op = c->node->op;
    bool is_float = tsl_dtype_is_float(x->dtype);
    if (op == TSL_OP_NOT ? x->dtype != TSL_DTYPE_BOOL
                         : (x->dtype == TSL_DTYPE_BOOL || (!is_float && !int_fns[op])))
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "input dtype %s is not supported",
                            tsl_dtype_name(x->dtype));
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t n = tsl_ref_numel(x);
    const struct tsl_attr_alpha_beta *ab = &c->node->attrs.alpha_beta;
    if (x->dtype == TSL_DTYPE_F32) {
        const float *xs = x->data;
        float *ys = y->data;
        unary_f f = float_fns[op];
        if (op == TSL_OP_RELU) {
            for (int64_t i = 0; i < n; i++)
                ys[i] = xs[i] < 0.0f ? 0.0f : xs[i];
        } else {
            for (int64_t i = 0; i < n; i++)
                ys[i] = (float)f(xs[i], ab);
        }
    } else if (is_float) {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(y->dtype, y->data, i,
                              float_fns[op](tsl_dense_get_f64(x->dtype, x->data, i), ab));
    } else {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_i64(y->dtype, y->data, i, int_fns[op](tsl_ref_geti(x, i)));
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_identity(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    int64_t bytes = 0;
    tsl_dtype_storage_bytes(x->dtype, tsl_ref_numel(x), &bytes);
    if (bytes)
        memcpy(c->out[0].data, x->data, (size_t)bytes);
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_clip(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    if (x->dtype == TSL_DTYPE_BOOL)
        return tsl_ref_fail(c, TSL_STATUS_UNSUPPORTED, "bool input");
    for (uint32_t i = 1; i < c->n_in; i++)
        if (c->in[i] && c->in[i]->dtype != x->dtype)
            return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bound %u is %s, input is %s", i,
                                tsl_dtype_name(c->in[i]->dtype), tsl_dtype_name(x->dtype));
    bool has_lo = c->n_in > 1 && c->in[1], has_hi = c->n_in > 2 && c->in[2];
    TSL_TRY(tsl_ref_alloc(c, 0, x->dtype, x->shape.rank, x->shape.dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t n = tsl_ref_numel(x);
    if (tsl_dtype_is_float(x->dtype)) {
        double lo = -INFINITY, hi = INFINITY;
        if (has_lo)
            TSL_TRY(tsl_ref_read_scalar(c, 1, "min", &lo));
        if (has_hi)
            TSL_TRY(tsl_ref_read_scalar(c, 2, "max", &hi));
        for (int64_t i = 0; i < n; i++) {
            double v = tsl_ref_getf(x, i);
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            tsl_dense_set_f64(y->dtype, y->data, i, v);
        }
    } else {
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (has_lo) {
            if (tsl_ref_numel(c->in[1]) != 1)
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "min must have one element");
            lo = tsl_ref_geti(c->in[1], 0);
        }
        if (has_hi) {
            if (tsl_ref_numel(c->in[2]) != 1)
                return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "max must have one element");
            hi = tsl_ref_geti(c->in[2], 0);
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t v = tsl_ref_geti(x, i);
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            tsl_dense_set_i64(y->dtype, y->data, i, v);
        }
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_ref_cast(struct tsl_ref_call *c)
{
    const struct tsl_tensor *x;
    TSL_TRY(tsl_ref_need(c, 0, &x));
    enum tsl_dtype to = c->node->attrs.cast.to;
    if (to == TSL_DTYPE_UNDEF || (unsigned)to >= TSL_DTYPE_COUNT)
        return tsl_ref_fail(c, TSL_STATUS_INVALID_ARG, "bad target dtype");
    TSL_TRY(tsl_ref_alloc(c, 0, to, x->shape.rank, x->shape.dims));
    struct tsl_tensor *y = &c->out[0];
    int64_t n = tsl_ref_numel(x);
    if (to == x->dtype) {
        int64_t bytes = 0;
        tsl_dtype_storage_bytes(to, n, &bytes);
        if (bytes)
            memcpy(y->data, x->data, (size_t)bytes);
    } else if (tsl_dtype_is_float(x->dtype) || tsl_dtype_is_float(to)) {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_f64(to, y->data, i, tsl_dense_get_f64(x->dtype, x->data, i));
    } else {
        for (int64_t i = 0; i < n; i++)
            tsl_dense_set_i64(to, y->data, i, tsl_dense_get_i64(x->dtype, x->data, i));
    }
    return TSL_STATUS_OK;
}
