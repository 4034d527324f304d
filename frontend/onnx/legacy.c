/* legacy.c - importers that rewrite opset-specific ONNX forms into the IR's
 * opset-17 form (see ops.def / attrs.def): Clip min/max attributes -> inputs,
 * Squeeze/Unsqueeze/Reduce/Split constant inputs -> attributes, Pad and
 * Slice attributes -> constant inputs, Resize-10 and Upsample -> Resize-13,
 * old Softmax/LogSoftmax axis semantics -> Shape+Flatten+Softmax+Reshape,
 * BatchNormalization legacy attributes, Dropout -> Identity, TopK k
 * attribute -> input.  Generic attribute conversion and the op table live in
 * import_ops.c. */
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "tessel/util.h"

#define T_INT ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
#define T_FLOAT ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
#define T_INTS ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
#define T_FLOATS ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
#define T_STRING ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING

/* The attribute `name` if present, checked to have type `want`. */
static enum tsl_status get_attr(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                const char *name, int want, const char *want_name,
                                const Onnx__AttributeProto **out)
{
    *out = tsl_onnx_find_attr(ni->np, name);
    if (*out && tsl_onnx_attr_type(*out) != want)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "attribute \"%s\" of %s must be %s", name, ni->np->op_type,
                              want_name);
    return TSL_STATUS_OK;
}

static struct tsl_value *input(const struct tsl_onnx_node_in *ni, uint32_t i)
{
    return i < ni->n_in ? ni->ins[i] : NULL;
}

/* Name for a helper value derived from the node's first output. */
static const char *out0(const struct tsl_onnx_node_in *ni)
{
    return ni->np->n_output && ni->np->output[0] && *ni->np->output[0] ? ni->np->output[0]
                                                                       : ni->where;
}

static enum tsl_status const_with_suffix_i64(struct tsl_onnx_imp *im,
                                             const struct tsl_onnx_node_in *ni, const char *sfx,
                                             const int64_t *v, uint32_t n, bool scalar,
                                             struct tsl_value **out)
{
    char *base = tsl_asprintf("%s_%s", out0(ni), sfx);
    if (!base)
        return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
    enum tsl_status st = tsl_onnx_const_i64(im, base, v, n, scalar, out);
    free(base);
    return st;
}

static enum tsl_status const_with_suffix_scalar(struct tsl_onnx_imp *im,
                                                const struct tsl_onnx_node_in *ni, const char *sfx,
                                                enum tsl_dtype dt, double x, struct tsl_value **out)
{
    char *base = tsl_asprintf("%s_%s", out0(ni), sfx);
    if (!base)
        return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
    enum tsl_status st = tsl_onnx_const_scalar(im, base, dt, x, out);
    free(base);
    return st;
}

/* dtype of the data input when known (graph input/constant), else f32. */
static enum tsl_dtype data_dtype(const struct tsl_onnx_node_in *ni)
{
    struct tsl_value *x = input(ni, 0);
    return x && x->type.dtype != TSL_DTYPE_UNDEF ? x->type.dtype : TSL_DTYPE_F32;
}

static enum tsl_status plain(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                             enum tsl_op op, const char *const *skip, union tsl_attrs *a)
{
    enum tsl_attr_kind kind = tsl_op_info(op)->attr_kind;
    tsl_attrs_set_defaults(kind, a);
    return tsl_onnx_convert_attrs(im, ni, kind, a, skip);
}

enum tsl_status tsl_onnx_imp_clip(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                  enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"min", "max", NULL};
    if (im->opset >= 11) {
        TSL_TRY(plain(im, ni, op, NULL, &a));
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    }
    TSL_TRY(plain(im, ni, op, skip, &a));
    if (ni->n_in != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Clip before opset 11 takes one input, node has %u", ni->n_in);
    const Onnx__AttributeProto *amin, *amax;
    TSL_TRY(get_attr(im, ni, "min", T_FLOAT, "FLOAT", &amin));
    TSL_TRY(get_attr(im, ni, "max", T_FLOAT, "FLOAT", &amax));
    struct tsl_value *ins[3] = {ni->ins[0], NULL, NULL};
    enum tsl_dtype dt = data_dtype(ni);
    if (amin)
        TSL_TRY(const_with_suffix_scalar(im, ni, "min", dt, amin->f, &ins[1]));
    if (amax)
        TSL_TRY(const_with_suffix_scalar(im, ni, "max", dt, amax->f, &ins[2]));
    return tsl_onnx_emit(im, ni, op, 3, ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_axes_input(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                        enum tsl_op op)
{
    union tsl_attrs a;
    TSL_TRY(plain(im, ni, op, NULL, &a));
    if (im->opset >= 13) {
        if (tsl_onnx_find_attr(ni->np, "axes"))
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "%s at opset %lld takes axes as an input, not an attribute",
                                  ni->np->op_type, (long long)im->opset);
        if (input(ni, 1))
            TSL_TRY(tsl_onnx_read_const_ints(im, ni, ni->ins[1], "axes", &a.axes.axes));
        else if (op == TSL_OP_UNSQUEEZE)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "Unsqueeze requires the axes input");
        return tsl_onnx_emit(im, ni, op, ni->n_in ? 1 : 0, ni->ins, &a, NULL);
    }
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_reduce(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                    enum tsl_op op)
{
    union tsl_attrs a;
    TSL_TRY(plain(im, ni, op, NULL, &a));
    int64_t axes_input_since = op == TSL_OP_REDUCE_SUM ? 13 : 18;
    if (im->opset >= axes_input_since) {
        if (tsl_onnx_find_attr(ni->np, "axes"))
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "%s at opset %lld takes axes as an input, not an attribute",
                                  ni->np->op_type, (long long)im->opset);
        if (input(ni, 1))
            TSL_TRY(tsl_onnx_read_const_ints(im, ni, ni->ins[1], "axes", &a.reduce.axes));
        return tsl_onnx_emit(im, ni, op, ni->n_in ? 1 : 0, ni->ins, &a, NULL);
    }
    if (tsl_onnx_find_attr(ni->np, "noop_with_empty_axes"))
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "%s has unknown attribute \"noop_with_empty_axes\"", ni->np->op_type);
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_split(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                   enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"num_outputs", NULL};
    TSL_TRY(plain(im, ni, op, im->opset >= 18 ? skip : NULL, &a));
    const Onnx__AttributeProto *num;
    TSL_TRY(get_attr(im, ni, "num_outputs", T_INT, "INT", &num));
    if (num && im->opset >= 18 && num->i != (int64_t)ni->np->n_output)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "Split num_outputs %lld differs from the node's %zu outputs",
                              (long long)num->i, ni->np->n_output);
    if (im->opset >= 13) {
        if (tsl_onnx_find_attr(ni->np, "split"))
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "Split at opset %lld takes split as an input, not an attribute",
                                  (long long)im->opset);
        if (input(ni, 1))
            TSL_TRY(tsl_onnx_read_const_ints(im, ni, ni->ins[1], "split", &a.split.split));
        return tsl_onnx_emit(im, ni, op, ni->n_in ? 1 : 0, ni->ins, &a, NULL);
    }
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_pad(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                 enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"pads", "value", NULL};
    if (im->opset >= 11) {
        TSL_TRY(plain(im, ni, op, NULL, &a));
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    }
    TSL_TRY(plain(im, ni, op, skip, &a));
    const Onnx__AttributeProto *pads, *value;
    TSL_TRY(get_attr(im, ni, "pads", T_INTS, "INTS", &pads));
    TSL_TRY(get_attr(im, ni, "value", T_FLOAT, "FLOAT", &value));
    if (!pads)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Pad before opset 11 requires the attribute \"pads\"");
    if (ni->n_in != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Pad before opset 11 takes one input, node has %u", ni->n_in);
    if (pads->n_ints > TSL_MAX_ATTR_INTS)
        return tsl_diag_error(im->diag, TSL_STATUS_LIMIT, ni->where, "too many pads");
    struct tsl_value *ins[3] = {ni->ins[0], NULL, NULL};
    TSL_TRY(const_with_suffix_i64(im, ni, "pads", pads->ints, (uint32_t)pads->n_ints, false,
                                  &ins[1]));
    if (value)
        TSL_TRY(const_with_suffix_scalar(im, ni, "pad_value", data_dtype(ni), value->f, &ins[2]));
    return tsl_onnx_emit(im, ni, op, 3, ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_slice(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                   enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"starts", "ends", "axes", NULL};
    if (im->opset >= 10) {
        TSL_TRY(plain(im, ni, op, NULL, &a));
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    }
    TSL_TRY(plain(im, ni, op, skip, &a));
    const Onnx__AttributeProto *st_, *en, *ax;
    TSL_TRY(get_attr(im, ni, "starts", T_INTS, "INTS", &st_));
    TSL_TRY(get_attr(im, ni, "ends", T_INTS, "INTS", &en));
    TSL_TRY(get_attr(im, ni, "axes", T_INTS, "INTS", &ax));
    if (!st_ || !en)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Slice before opset 10 requires \"starts\" and \"ends\"");
    if (ni->n_in != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Slice before opset 10 takes one input, node has %u", ni->n_in);
    if (st_->n_ints > TSL_MAX_RANK || en->n_ints != st_->n_ints ||
        (ax && ax->n_ints != st_->n_ints))
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Slice starts/ends/axes must have the same length (at most %d)",
                              TSL_MAX_RANK);
    struct tsl_value *ins[4] = {ni->ins[0], NULL, NULL, NULL};
    uint32_t n = (uint32_t)st_->n_ints;
    TSL_TRY(const_with_suffix_i64(im, ni, "starts", st_->ints, n, false, &ins[1]));
    TSL_TRY(const_with_suffix_i64(im, ni, "ends", en->ints, n, false, &ins[2]));
    if (ax)
        TSL_TRY(const_with_suffix_i64(im, ni, "axes", ax->ints, n, false, &ins[3]));
    return tsl_onnx_emit(im, ni, op, ax ? 4 : 3, ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_resize(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                    enum tsl_op op)
{
    union tsl_attrs a;
    TSL_TRY(plain(im, ni, op, NULL, &a));
    if (im->opset >= 11)
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    /* opset 10: Resize(X, scales), Upsample semantics */
    if (ni->n_in != 2 || !ni->ins[1])
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Resize at opset 10 takes inputs (X, scales)");
    a.resize.coordinate_transformation_mode = TSL_coord_mode_ASYMMETRIC;
    a.resize.nearest_mode = TSL_nearest_mode_FLOOR;
    struct tsl_value *ins[3] = {ni->ins[0], NULL, ni->ins[1]};
    return tsl_onnx_emit(im, ni, op, 3, ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_upsample(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                      enum tsl_op op)
{
    union tsl_attrs a;
    tsl_attrs_set_defaults(TSL_ATTRKIND_resize, &a);
    for (size_t i = 0; i < ni->np->n_attribute; i++) {
        const char *n = ni->np->attribute[i]->name ? ni->np->attribute[i]->name : "";
        if (strcmp(n, "mode") != 0 && strcmp(n, "scales") != 0)
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "Upsample has unknown attribute \"%s\"", n);
    }
    const Onnx__AttributeProto *mode, *scales;
    TSL_TRY(get_attr(im, ni, "mode", T_STRING, "STRING", &mode));
    TSL_TRY(get_attr(im, ni, "scales", T_FLOATS, "FLOATS", &scales));
    a.resize.mode = TSL_resize_mode_NEAREST;
    if (mode) {
        char m[16] = "";
        size_t n = mode->s.len < sizeof m - 1 ? mode->s.len : sizeof m - 1;
        if (n)
            memcpy(m, mode->s.data, n);
        if (strcmp(m, "linear") == 0 || strcmp(m, "bilinear") == 0)
            a.resize.mode = TSL_resize_mode_LINEAR;
        else if (strcmp(m, "nearest") != 0)
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "Upsample mode \"%s\" is unsupported", m);
    }
    a.resize.coordinate_transformation_mode = TSL_coord_mode_ASYMMETRIC;
    a.resize.nearest_mode = TSL_nearest_mode_FLOOR;
    struct tsl_value *ins[3] = {input(ni, 0), NULL, NULL};
    if (im->opset >= 9) {
        if (ni->n_in != 2 || !ni->ins[1] || scales)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "Upsample at opset 9 takes inputs (X, scales)");
        ins[2] = ni->ins[1];
    } else {
        if (!scales || ni->n_in != 1 || scales->n_floats > TSL_MAX_RANK)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "Upsample before opset 9 takes one input and a \"scales\" attribute");
        char *base = tsl_asprintf("%s_scales", out0(ni));
        char *name = base ? tsl_onnx_synth_name(im, base) : NULL;
        free(base);
        float *data = malloc(sizeof(float) * (scales->n_floats ? scales->n_floats : 1));
        if (!name || !data) {
            free(name);
            free(data);
            return tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
        }
        if (scales->n_floats)
            memcpy(data, scales->floats, sizeof(float) * scales->n_floats);
        struct tsl_type ty = tsl_type_make(TSL_DTYPE_F32, 1, (int64_t[]){(int64_t)scales->n_floats});
        enum tsl_status st = tsl_graph_add_dense_constant(im->g, name, &ty, data, &ins[2]);
        free(data);
        free(name);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(im->diag, st, ni->where, "cannot add scales constant");
    }
    return tsl_onnx_emit(im, ni, op, 3, ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_softmax(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                     enum tsl_op op)
{
    union tsl_attrs a;
    tsl_attrs_set_defaults(TSL_ATTRKIND_axis, &a);
    a.axis.axis = im->opset >= 13 ? -1 : 1;
    TSL_TRY(tsl_onnx_convert_attrs(im, ni, TSL_ATTRKIND_axis, &a, NULL));
    struct tsl_value *x = input(ni, 0);
    int32_t rank = tsl_onnx_known_rank(im, x);
    if (im->opset >= 13 || a.axis.axis == -1 || (rank >= 0 && a.axis.axis == rank - 1))
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    /* Old semantics: coerce to 2-D at `axis`, normalize rows, restore shape. */
    if (ni->n_in != 1 || !x || ni->np->n_output != 1 || !*ni->np->output[0])
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "%s takes one input and one output", ni->np->op_type);
    const char *y = ni->np->output[0];
    const char *sfx[3] = {"shape", "flat", "norm"};
    char *names[3] = {NULL, NULL, NULL};
    char *nodes[3] = {NULL, NULL, NULL};
    enum tsl_status st = TSL_STATUS_OK;
    for (int i = 0; i < 3 && st == TSL_STATUS_OK; i++) {
        char *b = tsl_asprintf("%s_%s", y, sfx[i]);
        names[i] = b ? tsl_onnx_synth_name(im, b) : NULL;
        nodes[i] = tsl_asprintf("%s/%s", ni->where, sfx[i]);
        free(b);
        if (!names[i] || !nodes[i])
            st = tsl_diag_error(im->diag, TSL_STATUS_NOMEM, ni->where, "out of memory");
    }
    struct tsl_node *shape = NULL, *flat = NULL, *norm = NULL, *re = NULL;
    if (st == TSL_STATUS_OK)
        st = tsl_onnx_add_node(im, TSL_OP_SHAPE, nodes[0], 1, &x, 1,
                               (const char *const *)&names[0], &shape);
    if (st == TSL_STATUS_OK) {
        st = tsl_onnx_add_node(im, TSL_OP_FLATTEN, nodes[1], 1, &x, 1,
                               (const char *const *)&names[1], &flat);
        if (st == TSL_STATUS_OK)
            flat->attrs.axis.axis = a.axis.axis;
    }
    if (st == TSL_STATUS_OK) {
        st = tsl_onnx_add_node(im, op, nodes[2], 1, &flat->outputs[0], 1,
                               (const char *const *)&names[2], &norm);
        if (st == TSL_STATUS_OK)
            norm->attrs.axis.axis = 1;
    }
    if (st == TSL_STATUS_OK) {
        struct tsl_value *rin[2] = {norm->outputs[0], shape->outputs[0]};
        st = tsl_onnx_add_node(im, TSL_OP_RESHAPE, ni->np->name, 2, rin, 1, &y, &re);
    }
    for (int i = 0; i < 3; i++) {
        free(names[i]);
        free(nodes[i]);
    }
    return st;
}

enum tsl_status tsl_onnx_imp_batchnorm(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                       enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"spatial", "is_test", "consumed_inputs", "training_mode",
                                       NULL};
    TSL_TRY(plain(im, ni, op, skip, &a));
    const Onnx__AttributeProto *sp, *test, *train, *ci;
    TSL_TRY(get_attr(im, ni, "spatial", T_INT, "INT", &sp));
    TSL_TRY(get_attr(im, ni, "is_test", T_INT, "INT", &test));
    TSL_TRY(get_attr(im, ni, "training_mode", T_INT, "INT", &train));
    TSL_TRY(get_attr(im, ni, "consumed_inputs", T_INTS, "INTS", &ci));
    if (sp && sp->i != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "BatchNormalization with spatial=0 is unsupported");
    if (test && test->i == 0 && ni->np->n_output > 1)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "BatchNormalization in training mode (is_test=0) is unsupported");
    if (train && train->i != 0)
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "BatchNormalization with training_mode=1 is unsupported");
    return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
}

enum tsl_status tsl_onnx_imp_dropout(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                     enum tsl_op op)
{
    for (size_t i = 0; i < ni->np->n_attribute; i++) {
        const Onnx__AttributeProto *at = ni->np->attribute[i];
        const char *n = at->name ? at->name : "";
        int want = strcmp(n, "ratio") == 0 ? T_FLOAT
                   : strcmp(n, "is_test") == 0 || strcmp(n, "seed") == 0 ? T_INT
                                                                         : -1;
        if (want < 0)
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "Dropout has unknown attribute \"%s\"", n);
        if (tsl_onnx_attr_type(at) != want)
            return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                                  "attribute \"%s\" of Dropout must be %s", n,
                                  want == T_FLOAT ? "FLOAT" : "INT");
    }
    if (ni->n_in > 3)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "Dropout takes at most 3 inputs, node has %u", ni->n_in);
    struct tsl_value *train = input(ni, 2);
    if (train) {
        void *d = NULL;
        bool on = true;
        if (train->constant && tsl_const_decode(train, &d, NULL) == TSL_STATUS_OK) {
            on = tsl_dense_get_i64(train->type.dtype, d, 0) != 0;
            free(d);
        }
        if (on)
            return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                                  "Dropout in training mode is unsupported");
    }
    if (ni->np->n_output > 1 && tsl_onnx_name_used(im, ni->np->output[1]))
        return tsl_diag_error(im->diag, TSL_STATUS_UNSUPPORTED, ni->where,
                              "Dropout's mask output \"%s\" is used; only the data output is supported",
                              ni->np->output[1]);
    return tsl_onnx_emit(im, ni, op, ni->n_in ? 1 : 0, ni->ins, NULL, NULL);
}

enum tsl_status tsl_onnx_imp_topk(struct tsl_onnx_imp *im, const struct tsl_onnx_node_in *ni,
                                  enum tsl_op op)
{
    union tsl_attrs a;
    static const char *const skip[] = {"k", NULL};
    if (im->opset >= 10) {
        TSL_TRY(plain(im, ni, op, NULL, &a));
        return tsl_onnx_emit(im, ni, op, ni->n_in, ni->ins, &a, NULL);
    }
    TSL_TRY(plain(im, ni, op, skip, &a));
    const Onnx__AttributeProto *k;
    TSL_TRY(get_attr(im, ni, "k", T_INT, "INT", &k));
    if (!k || ni->n_in != 1)
        return tsl_diag_error(im->diag, TSL_STATUS_PARSE, ni->where,
                              "TopK before opset 10 takes one input and a \"k\" attribute");
    struct tsl_value *ins[2] = {ni->ins[0], NULL};
    TSL_TRY(const_with_suffix_i64(im, ni, "k", &k->i, 1, false, &ins[1]));
    return tsl_onnx_emit(im, ni, op, 2, ins, &a, NULL);
}
