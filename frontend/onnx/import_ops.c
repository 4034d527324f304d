/* import_ops.c - the per-op ONNX import table and the generic node import:
 * ONE table sorted by ONNX op type (searched with bsearch) gives each op its
 * IR op, opset range and importer (NULL = generic).  Generic import converts
 * attributes through tsl_attr_fields() (field name == ONNX attribute name)
 * with type checks, then emits the IR node binding ONNX output names.  The
 * op-specific defaults (alpha/beta, axis), Constant nodes and Cast/
 * ConstantOfShape value conversion live here; rewrites of older opset forms
 * live in legacy.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

/* ---- attribute conversion ------------------------------------------------ */

typedef Onnx__AttributeProto__AttributeType attr_t;

static const char *attr_type_name(int t)
{
    static const char *const names[] = {
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED] = "UNDEFINED",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT] = "FLOAT",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT] = "INT",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING] = "STRING",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR] = "TENSOR",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH] = "GRAPH",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS] = "FLOATS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS] = "INTS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS] = "STRINGS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS] = "TENSORS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS] = "GRAPHS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR] = "SPARSE_TENSOR",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS] = "SPARSE_TENSORS",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO] = "TYPE_PROTO",
        [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS] = "TYPE_PROTOS",
    };
    if (t < 0 || (size_t)t >= TSL_ARRAY_LEN(names) || !names[t])
        return "?";
    return names[t];
}

int tsl_onnx_attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return (int)a->type;
    if (a->has_f)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->sparse_tensor)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    if (a->n_floats)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

const Onnx__AttributeProto *tsl_onnx_find_attr(const Onnx__NodeProto *np, const char *name)
{
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
            return np->attribute[i];
    return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* A 1-element tensor attribute -> typed scalar. */
static enum tsl_status tensor_to_scalar(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                        const Onnx__AttributeProto *a, struct tsl_scalar *out)
{
    struct tsl_onnx_dense d;
    TSL_TRY(tsl_onnx_tensor_decode(&im->tctx, a->t, ni->where, &d, im->diag));
    enum tsl_status st = TSL_STATUS_OK;
    if (d.numel != 1)
        st = tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                            "attribute \"%s\" must hold one element, has %lld", a->name,
                            (long long)d.numel);
    else {
        out->dtype = d.dtype;
        if (tsl_dtype_is_float(d.dtype))
            out->f = tsl_dense_get_f64(d.dtype, d.data, 0);
        else
            out->i = tsl_dense_get_i64(d.dtype, d.data, 0);
    }
    free(d.data);
    return st;
}

static enum tsl_status wrong_type(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                  const Onnx__AttributeProto *a, int have, const char *want)
{
    return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                          "attribute \"%s\" of %s has type %s, expected %s", a->name,
                          ni->np->op_type, attr_type_name(have), want);
}

enum tsl_status tsl_onnx_convert_attrs(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                       enum tsl_attr_kind kind, union tsl_attrs *attrs,
                                       const char *const *skip)
{
    size_t nf = 0;
    const struct tsl_attr_field *fields = tsl_attr_fields(kind, &nf);
    for (size_t i = 0; i < ni->np->n_attribute; i++) {
        const Onnx__AttributeProto *a = ni->np->attribute[i];
        if (!a->name || !*a->name)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where, "attribute without a name");
        if (in_list(skip, a->name))
            continue;
        for (size_t j = 0; j < i; j++)
            if (ni->np->attribute[j]->name && strcmp(ni->np->attribute[j]->name, a->name) == 0)
                return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                      "attribute \"%s\" given twice", a->name);
        const struct tsl_attr_field *f = NULL;
        for (size_t j = 0; j < nf && !f; j++)
            if (strcmp(fields[j].name, a->name) == 0)
                f = &fields[j];
        if (!f)
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "%s has unknown attribute \"%s\"", ni->np->op_type, a->name);
        if (a->ref_attr_name && *a->ref_attr_name)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "attribute \"%s\" refers to a function attribute", a->name);
        int t = tsl_onnx_attr_type(a);
        char *dst = (char *)attrs + f->offset;
        switch (f->type) {
        case TSL_ATTR_T_INT:
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
                return wrong_type(im, ni, a, t, "INT");
            memcpy(dst, &a->i, sizeof(int64_t));
            break;
        case TSL_ATTR_T_FLOAT:
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
                return wrong_type(im, ni, a, t, "FLOAT");
            memcpy(dst, &a->f, sizeof(float));
            break;
        case TSL_ATTR_T_INTS: {
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
                return wrong_type(im, ni, a, t, "INTS");
            if (a->n_ints > TSL_MAX_ATTR_INTS)
                return tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni->where,
                                      "attribute \"%s\" has %zu values (at most %d)", a->name,
                                      a->n_ints, TSL_MAX_ATTR_INTS);
            struct tsl_ints v = {(uint32_t)a->n_ints, {0}};
            if (a->n_ints)
                memcpy(v.v, a->ints, a->n_ints * sizeof(int64_t));
            memcpy(dst, &v, sizeof v);
            break;
        }
        case TSL_ATTR_T_FLOATS: {
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS)
                return wrong_type(im, ni, a, t, "FLOATS");
            if (a->n_floats > TSL_MAX_ATTR_INTS)
                return tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni->where,
                                      "attribute \"%s\" has %zu values (at most %d)", a->name,
                                      a->n_floats, TSL_MAX_ATTR_INTS);
            struct tsl_floats v = {(uint32_t)a->n_floats, {0}};
            if (a->n_floats)
                memcpy(v.v, a->floats, a->n_floats * sizeof(float));
            memcpy(dst, &v, sizeof v);
            break;
        }
        case TSL_ATTR_T_ENUM: {
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
                return wrong_type(im, ni, a, t, "STRING");
            char text[64];
            size_t n = a->s.len < sizeof text - 1 ? a->s.len : sizeof text - 1;
            if (n)
                memcpy(text, a->s.data, n);
            text[n] = '\0';
            int64_t v;
            if (strlen(text) != a->s.len || !tsl_attr_enum_parse(f, text, &v))
                return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                      "attribute \"%s\" has unsupported value \"%s\"", a->name, text);
            int e = (int)v; /* enum storage */
            memcpy(dst, &e, sizeof e);
            break;
        }
        case TSL_ATTR_T_DTYPE: {
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
                return wrong_type(im, ni, a, t, "INT");
            enum tsl_dtype dt;
            if (a->i < INT32_MIN || a->i > INT32_MAX || !tsl_onnx_dtype_from_onnx((int32_t)a->i, &dt))
                return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                      "attribute \"%s\": data type %lld is unsupported", a->name,
                                      (long long)a->i);
            memcpy(dst, &dt, sizeof dt);
            break;
        }
        case TSL_ATTR_T_SCALAR: {
            if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
                return wrong_type(im, ni, a, t, "TENSOR");
            struct tsl_scalar s = {TSL_DTYPE_UNDEF, 0, 0};
            TSL_TRY(tensor_to_scalar(im, ni, a, &s));
            memcpy(dst, &s, sizeof s);
            break;
        }
        }
    }
    return TSL_STATUS_OK;
}

/* ---- emitting nodes ------------------------------------------------------ */

enum tsl_status tsl_onnx_emit(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                              enum tsl_op op, uint32_t n_in, struct tsl_value *const *ins,
                              const union tsl_attrs *attrs, struct tsl_node **out)
{
    const struct tsl_op_info *info = tsl_op_info(op);
    while (n_in > info->min_inputs && !ins[n_in - 1])
        n_in--;
    if (n_in < info->min_inputs || n_in > info->max_inputs)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "%s takes %u..%u inputs, node has %u", ni->np->op_type,
                              info->min_inputs, info->max_inputs, n_in);
    for (uint32_t i = 0; i < info->min_inputs; i++)
        if (!ins[i])
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "required input %u of %s is empty", i, ni->np->op_type);
    const Onnx__NodeProto *np = ni->np;
    size_t n_out = np->n_output;
    while (n_out > 0 && (!np->output[n_out - 1] || !*np->output[n_out - 1]))
        n_out--;
    while (n_out > info->max_outputs) {
        const char *extra = np->output[n_out - 1];
        if (tsl_onnx_name_used(im, extra))
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "output %zu (\"%s\") of %s is unsupported (only %u output%s)",
                                  n_out - 1, extra, np->op_type, info->max_outputs,
                                  info->max_outputs == 1 ? "" : "s");
        n_out--;
    }
    if (n_out < info->min_outputs)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "%s needs %u outputs, node has %zu", np->op_type, info->min_outputs,
                              n_out);
    const char *names[64];
    const char **namep = names;
    if (n_out > TSL_ARRAY_LEN(names)) {
        namep = malloc(n_out * sizeof(*namep));
        if (!namep)
            return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
    }
    for (size_t i = 0; i < n_out; i++)
        namep[i] = np->output[i] && *np->output[i] ? np->output[i] : NULL;
    struct tsl_node *n;
    enum tsl_status st = tsl_onnx_add_node(im, op, np->name, n_in, ins, (uint32_t)n_out,
                                           namep, &n);
    if (namep != names)
        free(namep);
    TSL_TRY(st);
    if (attrs)
        n->attrs = *attrs;
    if (out)
        *out = n;
    return TSL_STATUS_OK;
}

static enum tsl_status imp_generic(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                   enum tsl_op op)
{
    union tsl_attrs a;
    enum tsl_attr_kind kind = tsl_op_info(op)->attr_kind;
    tsl_attrs_set_defaults(kind, &a);
    TSL_TRY(tsl_onnx_convert_attrs(im, ni, kind, &a, NULL));
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

/* ---- op-specific defaults ------------------------------------------------ */

struct ab_default {
    float alpha, beta;
};
static const struct ab_default ab_defaults[TSL_OP_COUNT] = {
    [TSL_OP_LEAKY_RELU] = {0.01f, 0.0f},
    [TSL_OP_ELU] = {1.0f, 0.0f},
    [TSL_OP_HARD_SIGMOID] = {0.2f, 0.5f},
    [TSL_OP_SELU] = {1.67326319f, 1.05070102f},
};

static enum tsl_status imp_alpha_beta(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                      enum tsl_op op)
{
    union tsl_attrs a;
    tsl_attrs_set_defaults(TSL_ATTRKIND_alpha_beta, &a);
    a.alpha_beta.alpha = ab_defaults[op].alpha;
    a.alpha_beta.beta = ab_defaults[op].beta;
    static const char *const selu_skip[] = {"gamma", NULL};
    bool selu = op == TSL_OP_SELU;
    if (selu && tsl_onnx_find_attr(ni->np, "beta"))
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "Selu has unknown attribute \"beta\"");
    TSL_TRY(tsl_onnx_convert_attrs(im, ni, TSL_ATTRKIND_alpha_beta, &a, selu ? selu_skip : NULL));
    const Onnx__AttributeProto *g = selu ? tsl_onnx_find_attr(ni->np, "gamma") : NULL;
    if (g) {
        int t = tsl_onnx_attr_type(g);
        if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
            return wrong_type(im, ni, g, t, "FLOAT");
        a.alpha_beta.beta = g->f; /* Selu's gamma is the IR's beta */
    }
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

/* Per-op default axis where it differs from the struct default 0. */
static const int64_t axis_defaults[TSL_OP_COUNT] = {
    [TSL_OP_FLATTEN] = 1,
    [TSL_OP_QUANTIZE_LINEAR] = 1,
    [TSL_OP_DEQUANTIZE_LINEAR] = 1,
};

static enum tsl_status imp_axis(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                enum tsl_op op)
{
    union tsl_attrs a;
    tsl_attrs_set_defaults(TSL_ATTRKIND_axis, &a);
    a.axis.axis = axis_defaults[op];
    if (op == TSL_OP_CONCAT && !tsl_onnx_find_attr(ni->np, "axis"))
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Concat requires the attribute \"axis\"");
    TSL_TRY(tsl_onnx_convert_attrs(im, ni, TSL_ATTRKIND_axis, &a, NULL));
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

/* ---- constants ----------------------------------------------------------- */

static enum tsl_status add_dense(struct tsl_onnx_imp *im, const char *name, enum tsl_dtype dt,
                                 int32_t rank, const int64_t *dims, void *data, size_t bytes,
                                 struct tsl_value **out)
{
    struct tsl_const *c = tsl_const_new();
    if (!c) {
        free(data);
        return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, name, "out of memory");
    }
    c->encoding = TSL_ENC_DENSE;
    c->data = data;
    c->data_bytes = bytes;
    struct tsl_type ty = tsl_type_make(dt, rank, dims);
    enum tsl_status st = tsl_graph_add_constant_take(im->g, name, &ty, c, out);
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        return tsl_diag_error(im->diag, st, name, "cannot add constant (%s)", tsl_status_str(st));
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_const_i64(struct tsl_onnx_imp *im, const char *base, const int64_t *v,
                                   uint32_t n, bool scalar, struct tsl_value **out)
{
    char *name = tsl_onnx_synth_name(im, base);
    int64_t *data = malloc(sizeof(int64_t) * (n ? n : 1));
    if (!name || !data) {
        free(name);
        free(data);
        return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, base, "out of memory");
    }
    if (n)
        memcpy(data, v, sizeof(int64_t) * n);
    int64_t dims[1] = {n};
    enum tsl_status st = add_dense(im, name, TSL_DTYPE_I64, scalar ? 0 : 1, dims, data,
                                   sizeof(int64_t) * n, out);
    free(name);
    return st;
}

enum tsl_status tsl_onnx_const_scalar(struct tsl_onnx_imp *im, const char *base,
                                      enum tsl_dtype dt, double x, struct tsl_value **out)
{
    int64_t bytes = 0;
    if (dt == TSL_DTYPE_UNDEF || !tsl_dtype_storage_bytes(dt, 1, &bytes))
        dt = TSL_DTYPE_F32, bytes = 4;
    /* integer targets: the (float) attribute value must fit int64 */
    if (!tsl_dtype_is_float(dt) && !(x >= -9.2e18 && x <= 9.2e18))
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, base,
                              "value %g does not fit the %s input", x, tsl_dtype_name(dt));
    char *name = tsl_onnx_synth_name(im, base);
    void *data = calloc(1, (size_t)bytes);
    if (!name || !data) {
        free(name);
        free(data);
        return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, base, "out of memory");
    }
    if (tsl_dtype_is_float(dt))
        tsl_dense_set_f64(dt, data, 0, x);
    else
        tsl_dense_set_i64(dt, data, 0, (int64_t)x);
    enum tsl_status st = add_dense(im, name, dt, 0, NULL, data, (size_t)bytes, out);
    free(name);
    return st;
}

enum tsl_status tsl_onnx_read_const_ints(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                         const struct tsl_value *v, const char *what,
                                         struct tsl_ints *out)
{
    if (!v || !v->constant)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "%s input of %s must be a constant", what, ni->np->op_type);
    int64_t numel;
    if (v->type.shape.rank > 1 || !tsl_shape_numel(&v->type.shape, &numel) ||
        (v->type.dtype != TSL_DTYPE_I64 && v->type.dtype != TSL_DTYPE_I32))
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "%s input of %s must be a 1-D integer tensor", what, ni->np->op_type);
    if (numel > TSL_MAX_ATTR_INTS)
        return tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni->where,
                              "%s input of %s has %lld values (at most %d)", what, ni->np->op_type,
                              (long long)numel, TSL_MAX_ATTR_INTS);
    void *dense;
    TSL_TRY(tsl_const_decode(v, &dense, im->diag));
    out->n = (uint32_t)numel;
    for (int64_t i = 0; i < numel; i++)
        out->v[i] = tsl_dense_get_i64(v->type.dtype, dense, i);
    free(dense);
    return TSL_STATUS_OK;
}

/* Constant node -> IR constant named by its output. */
static enum tsl_status imp_constant(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                    enum tsl_op op)
{
    (void)op;
    const Onnx__NodeProto *np = ni->np;
    if (np->n_input != 0 || np->n_output != 1 || !np->output[0] || !*np->output[0])
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Constant must have no inputs and one named output");
    if (np->n_attribute != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Constant must have exactly one value attribute, has %zu",
                              np->n_attribute);
    const Onnx__AttributeProto *a = np->attribute[0];
    const char *an = a->name ? a->name : "";
    const char *out = np->output[0];
    int t = tsl_onnx_attr_type(a);
    if (strcmp(an, "value") == 0) {
        if (t != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return wrong_type(im, ni, a, t, "TENSOR");
        struct tsl_onnx_dense d;
        TSL_TRY(tsl_onnx_tensor_decode(&im->tctx, a->t, ni->where, &d, im->diag));
        return add_dense(im, out, d.dtype, d.shape.rank, d.shape.dims, d.data, d.bytes, NULL);
    }
    bool is_f = strcmp(an, "value_float") == 0, is_fs = strcmp(an, "value_floats") == 0;
    bool is_i = strcmp(an, "value_int") == 0, is_is = strcmp(an, "value_ints") == 0;
    if (is_f || is_fs || is_i || is_is) {
        int want = is_f    ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
                   : is_fs ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
                   : is_i  ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
                           : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        if (t != want)
            return wrong_type(im, ni, a, t, attr_type_name(want));
        size_t n = is_fs ? a->n_floats : is_is ? a->n_ints : 1;
        size_t elem = is_f || is_fs ? 4 : 8;
        int64_t bytes;
        if (!tsl_mul_i64((int64_t)n, (int64_t)elem, &bytes) || bytes > im->tctx.budget_left)
            return tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni->where,
                                  "Constant exceeds the tensor budget");
        void *data = malloc(n ? n * elem : 1);
        if (!data)
            return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
        if (is_f)
            memcpy(data, &a->f, 4);
        else if (is_i)
            memcpy(data, &a->i, 8);
        else if (n)
            memcpy(data, is_fs ? (const void *)a->floats : (const void *)a->ints, n * elem);
        im->tctx.budget_left -= bytes;
        int64_t dims[1] = {(int64_t)n};
        return add_dense(im, out, elem == 4 ? TSL_DTYPE_F32 : TSL_DTYPE_I64, is_f || is_i ? 0 : 1,
                         dims, data, n * elem, NULL);
    }
    if (strcmp(an, "sparse_value") == 0)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "Constant with sparse_value is unsupported");
    if (strcmp(an, "value_string") == 0 || strcmp(an, "value_strings") == 0)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "string constants are unsupported");
    return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                          "Constant has unknown attribute \"%s\"", an);
}

/* ---- the table ----------------------------------------------------------- */

#define ALL 1, 99
static const struct tsl_onnx_op_entry op_table[] = {
    {"Abs", TSL_OP_ABS, ALL, NULL},
    {"Add", TSL_OP_ADD, ALL, NULL},
    {"And", TSL_OP_AND, ALL, NULL},
    {"ArgMax", TSL_OP_ARG_MAX, ALL, NULL},
    {"ArgMin", TSL_OP_ARG_MIN, ALL, NULL},
    {"AveragePool", TSL_OP_AVERAGE_POOL, ALL, NULL},
    {"BatchNormalization", TSL_OP_BATCH_NORM, ALL, tsl_onnx_imp_batchnorm},
    {"Cast", TSL_OP_CAST, 6, 99, NULL},
    {"Ceil", TSL_OP_CEIL, ALL, NULL},
    {"Clip", TSL_OP_CLIP, ALL, tsl_onnx_imp_clip},
    {"Concat", TSL_OP_CONCAT, ALL, imp_axis},
    {"Constant", TSL_OP_COUNT, ALL, imp_constant},
    {"ConstantOfShape", TSL_OP_CONSTANT_OF_SHAPE, 9, 99, NULL},
    {"Conv", TSL_OP_CONV, ALL, NULL},
    {"ConvTranspose", TSL_OP_CONV_TRANSPOSE, ALL, NULL},
    {"Cos", TSL_OP_COS, 7, 99, NULL},
    {"DepthToSpace", TSL_OP_DEPTH_TO_SPACE, ALL, NULL},
    {"DequantizeLinear", TSL_OP_DEQUANTIZE_LINEAR, 10, 99, imp_axis},
    {"Div", TSL_OP_DIV, ALL, NULL},
    {"Dropout", TSL_OP_IDENTITY, ALL, tsl_onnx_imp_dropout},
    {"Elu", TSL_OP_ELU, ALL, imp_alpha_beta},
    {"Equal", TSL_OP_EQUAL, ALL, NULL},
    {"Erf", TSL_OP_ERF, 9, 99, NULL},
    {"Exp", TSL_OP_EXP, ALL, NULL},
    {"Expand", TSL_OP_EXPAND, 8, 99, NULL},
    {"Flatten", TSL_OP_FLATTEN, ALL, imp_axis},
    {"Floor", TSL_OP_FLOOR, ALL, NULL},
    {"Gather", TSL_OP_GATHER, ALL, imp_axis},
    {"GatherElements", TSL_OP_GATHER_ELEMENTS, 11, 99, imp_axis},
    {"GatherND", TSL_OP_GATHER_ND, 11, 99, NULL},
    {"Gemm", TSL_OP_GEMM, ALL, NULL},
    {"GlobalAveragePool", TSL_OP_GLOBAL_AVERAGE_POOL, ALL, NULL},
    {"GlobalMaxPool", TSL_OP_GLOBAL_MAX_POOL, ALL, NULL},
    {"Greater", TSL_OP_GREATER, ALL, NULL},
    {"GreaterOrEqual", TSL_OP_GREATER_OR_EQUAL, 12, 99, NULL},
    {"HardSigmoid", TSL_OP_HARD_SIGMOID, ALL, imp_alpha_beta},
    {"HardSwish", TSL_OP_HARD_SWISH, 14, 99, NULL},
    {"Identity", TSL_OP_IDENTITY, ALL, NULL},
    {"InstanceNormalization", TSL_OP_INSTANCE_NORM, ALL, NULL},
    {"LayerNormalization", TSL_OP_LAYER_NORM, 17, 99, NULL},
    {"LeakyRelu", TSL_OP_LEAKY_RELU, ALL, imp_alpha_beta},
    {"Less", TSL_OP_LESS, ALL, NULL},
    {"LessOrEqual", TSL_OP_LESS_OR_EQUAL, 12, 99, NULL},
    {"Log", TSL_OP_LOG, ALL, NULL},
    {"LogSoftmax", TSL_OP_LOG_SOFTMAX, ALL, tsl_onnx_imp_softmax},
    {"MatMul", TSL_OP_MATMUL, ALL, NULL},
    {"Max", TSL_OP_MAX, ALL, NULL},
    {"MaxPool", TSL_OP_MAX_POOL, ALL, NULL},
    {"Mean", TSL_OP_MEAN, ALL, NULL},
    {"Min", TSL_OP_MIN, ALL, NULL},
    {"Mul", TSL_OP_MUL, ALL, NULL},
    {"Neg", TSL_OP_NEG, ALL, NULL},
    {"NonMaxSuppression", TSL_OP_NON_MAX_SUPPRESSION, 10, 99, NULL},
    {"NonZero", TSL_OP_NON_ZERO, 9, 99, NULL},
    {"Not", TSL_OP_NOT, ALL, NULL},
    {"Or", TSL_OP_OR, ALL, NULL},
    {"PRelu", TSL_OP_PRELU, ALL, NULL},
    {"Pad", TSL_OP_PAD, ALL, tsl_onnx_imp_pad},
    {"Pow", TSL_OP_POW, ALL, NULL},
    {"QLinearConv", TSL_OP_QLINEAR_CONV, 10, 99, NULL},
    {"QLinearMatMul", TSL_OP_QLINEAR_MATMUL, 10, 99, NULL},
    {"QuantizeLinear", TSL_OP_QUANTIZE_LINEAR, 10, 99, imp_axis},
    {"Range", TSL_OP_RANGE, 11, 99, NULL},
    {"Reciprocal", TSL_OP_RECIPROCAL, ALL, NULL},
    {"ReduceL2", TSL_OP_REDUCE_L2, ALL, tsl_onnx_imp_reduce},
    {"ReduceMax", TSL_OP_REDUCE_MAX, ALL, tsl_onnx_imp_reduce},
    {"ReduceMean", TSL_OP_REDUCE_MEAN, ALL, tsl_onnx_imp_reduce},
    {"ReduceMin", TSL_OP_REDUCE_MIN, ALL, tsl_onnx_imp_reduce},
    {"ReduceProd", TSL_OP_REDUCE_PROD, ALL, tsl_onnx_imp_reduce},
    {"ReduceSum", TSL_OP_REDUCE_SUM, ALL, tsl_onnx_imp_reduce},
    {"ReduceSumSquare", TSL_OP_REDUCE_SUM_SQUARE, ALL, tsl_onnx_imp_reduce},
    {"Relu", TSL_OP_RELU, ALL, NULL},
    {"Reshape", TSL_OP_RESHAPE, 5, 99, NULL},
    {"Resize", TSL_OP_RESIZE, 10, 99, tsl_onnx_imp_resize},
    {"Round", TSL_OP_ROUND, 11, 99, NULL},
    {"Selu", TSL_OP_SELU, ALL, imp_alpha_beta},
    {"Shape", TSL_OP_SHAPE, ALL, NULL},
    {"Sigmoid", TSL_OP_SIGMOID, ALL, NULL},
    {"Sign", TSL_OP_SIGN, 9, 99, NULL},
    {"Sin", TSL_OP_SIN, 7, 99, NULL},
    {"Size", TSL_OP_SIZE, ALL, NULL},
    {"Slice", TSL_OP_SLICE, ALL, tsl_onnx_imp_slice},
    {"Softmax", TSL_OP_SOFTMAX, ALL, tsl_onnx_imp_softmax},
    {"Softplus", TSL_OP_SOFTPLUS, ALL, NULL},
    {"SpaceToDepth", TSL_OP_SPACE_TO_DEPTH, ALL, NULL},
    {"Split", TSL_OP_SPLIT, ALL, tsl_onnx_imp_split},
    {"Sqrt", TSL_OP_SQRT, ALL, NULL},
    {"Squeeze", TSL_OP_SQUEEZE, ALL, tsl_onnx_imp_axes_input},
    {"Sub", TSL_OP_SUB, ALL, NULL},
    {"Sum", TSL_OP_SUM, ALL, NULL},
    {"Tanh", TSL_OP_TANH, ALL, NULL},
    {"Tile", TSL_OP_TILE, 6, 99, NULL},
    {"TopK", TSL_OP_TOPK, ALL, tsl_onnx_imp_topk},
    {"Transpose", TSL_OP_TRANSPOSE, ALL, NULL},
    {"Unsqueeze", TSL_OP_UNSQUEEZE, ALL, tsl_onnx_imp_axes_input},
    {"Upsample", TSL_OP_RESIZE, 7, 9, tsl_onnx_imp_upsample},
    {"Where", TSL_OP_WHERE, 9, 99, NULL},
    {"Xor", TSL_OP_XOR, ALL, NULL},
};
#undef ALL

static int cmp_entry(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct tsl_onnx_op_entry *)elem)->onnx_name);
}

const struct tsl_onnx_op_entry *tsl_onnx_find_op(const char *op_type, int64_t opset,
                                                 bool *known_out)
{
    *known_out = false;
    if (!op_type)
        return NULL;
    const struct tsl_onnx_op_entry *e =
        bsearch(op_type, op_table, TSL_ARRAY_LEN(op_table), sizeof(op_table[0]), cmp_entry);
    if (!e)
        return NULL;
    *known_out = true;
    return opset >= e->since && opset <= e->until ? e : NULL;
}

bool tsl_onnx_op_table_ok(void)
{
    bool covered[TSL_OP_COUNT] = {false};
    for (size_t i = 0; i < TSL_ARRAY_LEN(op_table); i++) {
        if (i && strcmp(op_table[i - 1].onnx_name, op_table[i].onnx_name) >= 0)
            return false;
        if (op_table[i].op < TSL_OP_COUNT)
            covered[op_table[i].op] = true;
    }
    for (int op = 0; op < TSL_OP_COUNT; op++)
        if (!covered[op])
            return false;
    return true;
}

enum tsl_status tsl_onnx_import_node(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                     const struct tsl_onnx_op_entry *e)
{
    return e->fn ? e->fn(im, ni, e->op) : imp_generic(im, ni, e->op);
}
