/* export_node.c - writes IR nodes as opset-17 ONNX NodeProtos.
 *
 * Attributes are written generically from tsl_attr_fields(): a field equal
 * to its IR default is skipped (the model stays clean) unless the op's rule
 * below says ONNX needs it, because it is required (Concat axis, Cast to) or
 * because the IR default is not ONNX's (Flatten axis, LeakyRelu alpha).  The
 * per-op rule table (indexed by enum tsl_op) also lists IR fields the ONNX
 * op does not have at opset 17 (they must hold their default), renames
 * (Selu beta -> gamma) and the fields opset 17 takes as an input rather than
 * an attribute (Squeeze/Unsqueeze/ReduceSum axes, Split sizes), which are
 * written as int64 initializers with fresh names, or as an unused int64
 * constant of the graph holding the same values (an imported model's folded
 * initializer, see unused_i64_constant).  ENUM fields become
 * strings, DTYPE fields ONNX type codes, SCALAR fields one-element tensors.
 *
 * Not here: the model, value types, initializers of constants (export.c). */
#include <string.h>

#include "export_internal.h"
#include "tessel/util.h"

struct op_rule {
    const char *drop[3];   /* IR fields ONNX lacks: must equal the default */
    const char *always[2]; /* written even when equal to the IR default */
    const char *rename[2]; /* {IR field, ONNX attribute name} */
    const char *as_input;  /* field written as input 1 (int64 tensor) */
};

static const struct op_rule rules[TSL_OP_COUNT] = {
    [TSL_OP_ELU] = {.drop = {"beta"}, .always = {"alpha"}},
    [TSL_OP_LEAKY_RELU] = {.drop = {"beta"}, .always = {"alpha"}},
    [TSL_OP_HARD_SIGMOID] = {.always = {"alpha", "beta"}},
    [TSL_OP_SELU] = {.always = {"alpha", "beta"}, .rename = {"beta", "gamma"}},
    [TSL_OP_SOFTMAX] = {.always = {"axis"}},
    [TSL_OP_LOG_SOFTMAX] = {.always = {"axis"}},
    [TSL_OP_FLATTEN] = {.always = {"axis"}},
    [TSL_OP_CONCAT] = {.always = {"axis"}},
    [TSL_OP_GATHER] = {.always = {"axis"}},
    [TSL_OP_GATHER_ELEMENTS] = {.always = {"axis"}},
    [TSL_OP_QUANTIZE_LINEAR] = {.always = {"axis"}},
    [TSL_OP_DEQUANTIZE_LINEAR] = {.always = {"axis"}},
    [TSL_OP_INSTANCE_NORM] = {.drop = {"axis"}},
    [TSL_OP_MAX_POOL] = {.drop = {"count_include_pad"}},
    [TSL_OP_AVERAGE_POOL] = {.drop = {"storage_order", "dilations"}},
    [TSL_OP_REDUCE_MEAN] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_MAX] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_MIN] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_PROD] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_L2] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_SUM_SQUARE] = {.drop = {"noop_with_empty_axes"}},
    [TSL_OP_REDUCE_SUM] = {.as_input = "axes"},
    [TSL_OP_SQUEEZE] = {.as_input = "axes"},
    [TSL_OP_UNSQUEEZE] = {.as_input = "axes"},
    [TSL_OP_SPLIT] = {.as_input = "split"},
    [TSL_OP_CAST] = {.always = {"to"}},
    [TSL_OP_DEPTH_TO_SPACE] = {.always = {"blocksize"}},
    [TSL_OP_SPACE_TO_DEPTH] = {.always = {"blocksize"}, .drop = {"mode"}},
};

static bool in_list(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* Whether field f of attrs holds its IR default. */
static bool field_is_default(const struct tsl_attr_field *f, const char *p)
{
    switch (f->type) {
    case TSL_ATTR_T_INT: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v == f->def_int;
    }
    case TSL_ATTR_T_FLOAT: {
        float v = f->def_float;
        return memcmp(p, &v, sizeof v) == 0; /* bitwise: -0.0 is not 0.0 */
    }
    case TSL_ATTR_T_ENUM: {
        int v;
        memcpy(&v, p, sizeof v);
        return v == (int)f->def_int;
    }
    case TSL_ATTR_T_DTYPE: {
        enum tsl_dtype v;
        memcpy(&v, p, sizeof v);
        return (int64_t)v == f->def_int;
    }
    case TSL_ATTR_T_INTS:
        return ((const struct tsl_ints *)(const void *)p)->n == 0;
    case TSL_ATTR_T_FLOATS:
        return ((const struct tsl_floats *)(const void *)p)->n == 0;
    case TSL_ATTR_T_SCALAR:
        return ((const struct tsl_scalar *)(const void *)p)->dtype == TSL_DTYPE_UNDEF;
    }
    return false;
}

/* A one-element tensor holding a SCALAR field (ConstantOfShape value). */
static enum tsl_status scalar_tensor(struct tsl_export *ex, const struct tsl_scalar *s,
                                     const char *where, Onnx__TensorProto **out)
{
    int32_t code = tsl_export_onnx_dtype(s->dtype);
    int bits = tsl_dtype_bits(s->dtype);
    if (code == 0 || bits < 8)
        return tsl_diag_error(ex->diag, TSL_STATUS_UNSUPPORTED, where,
                              "scalar attribute of type %s has no ONNX form",
                              tsl_dtype_name(s->dtype));
    Onnx__TensorProto *t = tsl_export_alloc(ex, sizeof *t);
    int64_t *dims = tsl_export_alloc(ex, sizeof *dims);
    uint8_t *raw = tsl_export_alloc(ex, (size_t)bits / 8);
    if (!t || !dims || !raw)
        return TSL_STATUS_NOMEM;
    onnx__tensor_proto__init(t);
    dims[0] = 1;
    t->n_dims = 1;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = code;
    if (tsl_dtype_is_float(s->dtype))
        tsl_dense_set_f64(s->dtype, raw, 0, s->f);
    else
        tsl_dense_set_i64(s->dtype, raw, 0, s->i);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (int i = 0; i < bits / 16; i++) {
        uint8_t tmp = raw[i];
        raw[i] = raw[bits / 8 - 1 - i];
        raw[bits / 8 - 1 - i] = tmp;
    }
#endif
    t->has_raw_data = 1;
    t->raw_data.len = (size_t)bits / 8;
    t->raw_data.data = raw;
    *out = t;
    return TSL_STATUS_OK;
}

/* Build the AttributeProto for field f (value at p) named `name`. */
static enum tsl_status make_attr(struct tsl_export *ex, const struct tsl_attr_field *f,
                                 const char *p, const char *name, const char *where,
                                 Onnx__AttributeProto **out)
{
    Onnx__AttributeProto *a = tsl_export_alloc(ex, sizeof *a);
    if (!a)
        return TSL_STATUS_NOMEM;
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    switch (f->type) {
    case TSL_ATTR_T_INT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        memcpy(&a->i, p, sizeof a->i);
        break;
    case TSL_ATTR_T_FLOAT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        memcpy(&a->f, p, sizeof a->f);
        break;
    case TSL_ATTR_T_ENUM: {
        int v;
        memcpy(&v, p, sizeof v);
        const char *text = tsl_attr_enum_text(f, v);
        if (!text)
            return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where,
                                  "attribute %s holds invalid enum value %d", f->name, v);
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        a->has_s = 1;
        a->s.data = (uint8_t *)text;
        a->s.len = strlen(text);
        break;
    }
    case TSL_ATTR_T_DTYPE: {
        enum tsl_dtype dt;
        memcpy(&dt, p, sizeof dt);
        int32_t code = tsl_onnx_dtype_to_onnx(dt);
        if (code == 0)
            return tsl_diag_error(ex->diag, TSL_STATUS_UNSUPPORTED, where,
                                  "attribute %s: type %s has no ONNX opset-17 code", f->name,
                                  tsl_dtype_name(dt));
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = code;
        break;
    }
    case TSL_ATTR_T_INTS: {
        const struct tsl_ints *l = (const struct tsl_ints *)(const void *)p;
        if (l->n > TSL_MAX_ATTR_INTS)
            return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where,
                                  "attribute %s has %u entries", f->name, l->n);
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        a->ints = tsl_export_alloc(ex, (l->n ? l->n : 1) * sizeof *a->ints);
        if (!a->ints)
            return TSL_STATUS_NOMEM;
        memcpy(a->ints, l->v, l->n * sizeof *a->ints);
        a->n_ints = l->n;
        break;
    }
    case TSL_ATTR_T_FLOATS: {
        const struct tsl_floats *l = (const struct tsl_floats *)(const void *)p;
        if (l->n > TSL_MAX_ATTR_INTS)
            return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where,
                                  "attribute %s has %u entries", f->name, l->n);
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        a->floats = tsl_export_alloc(ex, (l->n ? l->n : 1) * sizeof *a->floats);
        if (!a->floats)
            return TSL_STATUS_NOMEM;
        memcpy(a->floats, l->v, l->n * sizeof *a->floats);
        a->n_floats = l->n;
        break;
    }
    case TSL_ATTR_T_SCALAR:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        TSL_TRY(scalar_tensor(ex, (const struct tsl_scalar *)(const void *)p, where, &a->t));
        break;
    }
    *out = a;
    return TSL_STATUS_OK;
}

/* An unused dense 1-D int64 constant of g holding exactly l's values, or
 * NULL.  When an imported model's axes/split initializer was folded into an
 * attribute it stays in the graph unused; writing the node's input as that
 * initializer again avoids a duplicate and keeps import -> export -> import
 * stable.  The first match in value order is taken, so the choice is
 * deterministic. */
static const struct tsl_value *unused_i64_constant(const struct tsl_graph *g,
                                                   const struct tsl_ints *l)
{
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        const struct tsl_const *c = v->constant;
        if (!c || v->n_uses || v->n_output_refs || c->encoding != TSL_ENC_DENSE ||
            v->type.dtype != TSL_DTYPE_I64 || v->type.shape.rank != 1 ||
            v->type.shape.dims[0] != (int64_t)l->n || c->data_bytes != (size_t)l->n * 8 ||
            !c->data)
            continue;
        bool same = true;
        for (uint32_t k = 0; k < l->n && same; k++)
            same = tsl_dense_get_i64(TSL_DTYPE_I64, c->data, k) == l->v[k];
        if (same)
            return v;
    }
    return NULL;
}

static bool push_node(struct tsl_export *ex, Onnx__NodeProto *np)
{
    if (!tsl_grow((void **)&ex->nodes, &ex->cap_nodes, ex->n_nodes + 1, sizeof *ex->nodes))
        return false;
    ex->nodes[ex->n_nodes++] = np;
    return true;
}

enum tsl_status tsl_export_identity(struct tsl_export *ex, const char *in, const char *out)
{
    Onnx__NodeProto *np = tsl_export_alloc(ex, sizeof *np);
    char **ins = tsl_export_alloc(ex, sizeof *ins);
    char **outs = tsl_export_alloc(ex, sizeof *outs);
    if (!np || !ins || !outs)
        return TSL_STATUS_NOMEM;
    onnx__node_proto__init(np);
    np->op_type = (char *)tsl_op_name(TSL_OP_IDENTITY);
    np->name = (char *)out;
    ins[0] = (char *)in;
    outs[0] = (char *)out;
    np->n_input = 1;
    np->input = ins;
    np->n_output = 1;
    np->output = outs;
    return push_node(ex, np) ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
}

enum tsl_status tsl_export_node(struct tsl_export *ex, const struct tsl_node *n)
{
    const char *where = *n->name ? n->name : n->outputs[0]->name;
    if ((unsigned)n->op >= TSL_OP_COUNT)
        return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where, "invalid op %d", (int)n->op);
    const struct tsl_op_info *info = tsl_op_info(n->op);
    const struct op_rule *rule = &rules[n->op];
    size_t nf;
    const struct tsl_attr_field *fields = tsl_attr_fields(info->attr_kind, &nf);

    Onnx__NodeProto *np = tsl_export_alloc(ex, sizeof *np);
    if (!np)
        return TSL_STATUS_NOMEM;
    onnx__node_proto__init(np);
    np->name = n->name;
    np->op_type = (char *)info->name;

    /* inputs: trailing omitted ones are dropped, inner ones written as "" */
    uint32_t n_in = n->n_inputs;
    while (n_in > 0 && !n->inputs[n_in - 1])
        n_in--;
    np->input = tsl_export_alloc(ex, ((size_t)n_in + 1) * sizeof *np->input);
    np->output = tsl_export_alloc(ex, ((size_t)n->n_outputs + 1) * sizeof *np->output);
    np->attribute = tsl_export_alloc(ex, (nf + 1) * sizeof *np->attribute);
    if (!np->input || !np->output || !np->attribute)
        return TSL_STATUS_NOMEM;
    for (uint32_t i = 0; i < n_in; i++)
        np->input[i] = n->inputs[i] ? n->inputs[i]->name : (char *)"";
    np->n_input = n_in;
    for (uint32_t i = 0; i < n->n_outputs; i++)
        np->output[i] = n->outputs[i]->name;
    np->n_output = n->n_outputs;

    for (size_t i = 0; i < nf; i++) {
        const struct tsl_attr_field *f = &fields[i];
        const char *p = (const char *)&n->attrs + f->offset;
        bool is_def = field_is_default(f, p);
        if (in_list(rule->drop, TSL_ARRAY_LEN(rule->drop), f->name)) {
            if (!is_def)
                return tsl_diag_error(ex->diag, TSL_STATUS_UNSUPPORTED, where,
                                      "%s has no attribute '%s' at ONNX opset %d",
                                      info->name, f->name, TSL_ONNX_EXPORT_OPSET);
            continue;
        }
        if (rule->as_input && strcmp(rule->as_input, f->name) == 0) {
            const struct tsl_ints *l = (const struct tsl_ints *)(const void *)p;
            if (f->type != TSL_ATTR_T_INTS || l->n > TSL_MAX_ATTR_INTS)
                return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where,
                                      "bad '%s' attribute", f->name);
            if (l->n == 0)
                continue; /* empty: the optional input is left out */
            if (n_in != 1)
                return tsl_diag_error(ex->diag, TSL_STATUS_VERIFY, where,
                                      "%s with %u inputs", info->name, n_in);
            const struct tsl_value *reuse = unused_i64_constant(ex->g, l);
            if (reuse) {
                np->input[np->n_input++] = reuse->name;
                continue;
            }
            char *base = tsl_asprintf("%s_%s", n->outputs[0]->name, f->name);
            if (!base || !tsl_export_track(ex, base))
                return TSL_STATUS_NOMEM;
            char *iname = tsl_export_fresh_name(ex, base);
            if (!iname)
                return TSL_STATUS_NOMEM;
            TSL_TRY(tsl_export_add_i64_init(ex, iname, l->v, l->n));
            np->input[np->n_input++] = iname;
            continue;
        }
        if (is_def && !in_list(rule->always, TSL_ARRAY_LEN(rule->always), f->name))
            continue;
        const char *name = f->name;
        if (rule->rename[0] && strcmp(rule->rename[0], f->name) == 0)
            name = rule->rename[1];
        Onnx__AttributeProto *a = NULL;
        TSL_TRY(make_attr(ex, f, p, name, where, &a));
        np->attribute[np->n_attribute++] = a;
    }
    return push_node(ex, np) ? TSL_STATUS_OK : TSL_STATUS_NOMEM;
}
