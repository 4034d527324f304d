/* tables.c - everything generated from the .def tables: dtype traits, op
 * info, attribute field descriptors and defaults, enum texts.  Constant data
 * only; no state. */
#include <stddef.h>
#include <string.h>

#include "tessel/ir.h"
#include "tessel/util.h"

/* ---- dtypes ---- */

static const struct {
    const char *name;
    int bits;
    bool is_float, is_signed;
} dtype_info[] = {
#define TSL_DTYPE(id, name, bits, f, s) [TSL_DTYPE_##id] = {name, bits, f, s},
#include "tessel/dtypes.def"
#undef TSL_DTYPE
};

const char *tsl_dtype_name(enum tsl_dtype t)
{
    return (unsigned)t < TSL_DTYPE_COUNT ? dtype_info[t].name : "?";
}
int tsl_dtype_bits(enum tsl_dtype t)
{
    return (unsigned)t < TSL_DTYPE_COUNT ? dtype_info[t].bits : 0;
}
bool tsl_dtype_is_float(enum tsl_dtype t)
{
    return (unsigned)t < TSL_DTYPE_COUNT && dtype_info[t].is_float;
}
bool tsl_dtype_is_signed(enum tsl_dtype t)
{
    return (unsigned)t < TSL_DTYPE_COUNT && dtype_info[t].is_signed;
}
bool tsl_dtype_from_name(const char *name, enum tsl_dtype *out)
{
    for (int t = 1; t < TSL_DTYPE_COUNT; t++)
        if (strcmp(name, dtype_info[t].name) == 0) {
            *out = (enum tsl_dtype)t;
            return true;
        }
    return false;
}

/* ---- ops ---- */

static const struct tsl_op_info op_info[] = {
#define TSL_OP(id, name, attrs, min_in, max_in, min_out, max_out)                  \
    [TSL_OP_##id] = {name, TSL_ATTRKIND_##attrs, min_in, max_in, min_out, max_out},
#include "tessel/ops.def"
#undef TSL_OP
};

const struct tsl_op_info *tsl_op_info(enum tsl_op op)
{
    return &op_info[op];
}
const char *tsl_op_name(enum tsl_op op)
{
    return (unsigned)op < TSL_OP_COUNT ? op_info[op].name : "?";
}
bool tsl_op_from_name(const char *name, enum tsl_op *out)
{
    for (int i = 0; i < TSL_OP_COUNT; i++)
        if (strcmp(name, op_info[i].name) == 0) {
            *out = (enum tsl_op)i;
            return true;
        }
    return false;
}

/* ---- enums ---- */

#define TSL_ENUM_BEGIN(e) static const char *const enum_##e[] = {
#define TSL_ENUM_VAL(e, id, text) [TSL_##e##_##id] = text,
#define TSL_ENUM_END(e) };
#include "tessel/attrs.def"
#undef TSL_ENUM_BEGIN
#undef TSL_ENUM_VAL
#undef TSL_ENUM_END

/* ---- attribute fields ---- */

#define TSL_ENUM_BEGIN(e)
#define TSL_ENUM_VAL(e, id, text)
#define TSL_ENUM_END(e)
#define OFF(k, f) offsetof(union tsl_attrs, k.f)
#define TSL_ATTRS_BEGIN(k) static const struct tsl_attr_field fields_##k[] = {
#define TSL_ATTR_INT(k, f, def) {#f, TSL_ATTR_T_INT, OFF(k, f), def, 0, NULL, 0},
#define TSL_ATTR_FLOAT(k, f, def) {#f, TSL_ATTR_T_FLOAT, OFF(k, f), 0, def, NULL, 0},
#define TSL_ATTR_INTS(k, f) {#f, TSL_ATTR_T_INTS, OFF(k, f), 0, 0, NULL, 0},
#define TSL_ATTR_FLOATS(k, f) {#f, TSL_ATTR_T_FLOATS, OFF(k, f), 0, 0, NULL, 0},
#define TSL_ATTR_ENUM(k, f, e, def)                                                \
    {#f, TSL_ATTR_T_ENUM, OFF(k, f), TSL_##e##_##def, 0, enum_##e, TSL_##e##_COUNT},
#define TSL_ATTR_DTYPE(k, f, def) {#f, TSL_ATTR_T_DTYPE, OFF(k, f), TSL_DTYPE_##def, 0, NULL, 0},
#define TSL_ATTR_SCALAR(k, f) {#f, TSL_ATTR_T_SCALAR, OFF(k, f), 0, 0, NULL, 0},
#define TSL_ATTRS_END(k) };
#include "tessel/attrs.def"
#undef TSL_ATTRS_BEGIN
#undef TSL_ATTR_INT
#undef TSL_ATTR_FLOAT
#undef TSL_ATTR_INTS
#undef TSL_ATTR_FLOATS
#undef TSL_ATTR_ENUM
#undef TSL_ATTR_DTYPE
#undef TSL_ATTR_SCALAR
#undef TSL_ATTRS_END
#undef TSL_ENUM_BEGIN
#undef TSL_ENUM_VAL
#undef TSL_ENUM_END

static const struct {
    const char *name;
    const struct tsl_attr_field *fields;
    size_t n;
} kinds[] = {
    [TSL_ATTRKIND_none] = {"none", NULL, 0},
#define TSL_ATTRS_BEGIN(k) [TSL_ATTRKIND_##k] = {#k, fields_##k, TSL_ARRAY_LEN(fields_##k)},
#include "tessel/attrs.def"
#undef TSL_ATTRS_BEGIN
};

const struct tsl_attr_field *tsl_attr_fields(enum tsl_attr_kind k, size_t *n_out)
{
    if ((unsigned)k >= TSL_ATTRKIND_COUNT) {
        *n_out = 0;
        return NULL;
    }
    *n_out = kinds[k].n;
    return kinds[k].fields;
}

const char *tsl_attr_kind_name(enum tsl_attr_kind k)
{
    return (unsigned)k < TSL_ATTRKIND_COUNT ? kinds[k].name : "?";
}

void tsl_attrs_set_defaults(enum tsl_attr_kind k, union tsl_attrs *a)
{
    memset(a, 0, sizeof *a);
    size_t n;
    const struct tsl_attr_field *f = tsl_attr_fields(k, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)a + f[i].offset;
        switch (f[i].type) {
        case TSL_ATTR_T_INT:
            *(int64_t *)p = f[i].def_int;
            break;
        case TSL_ATTR_T_FLOAT:
            *(float *)p = f[i].def_float;
            break;
        case TSL_ATTR_T_ENUM: {
            int e = (int)f[i].def_int; /* enums are int-sized */
            memcpy(p, &e, sizeof e);
            break;
        }
        case TSL_ATTR_T_DTYPE:
            *(enum tsl_dtype *)p = (enum tsl_dtype)f[i].def_int;
            break;
        case TSL_ATTR_T_INTS:
        case TSL_ATTR_T_FLOATS:
        case TSL_ATTR_T_SCALAR:
            break; /* zeroed: empty list / absent scalar */
        }
    }
}

const char *tsl_attr_enum_text(const struct tsl_attr_field *f, int64_t v)
{
    if (f->type != TSL_ATTR_T_ENUM || v < 0 || v >= (int64_t)f->n_enum)
        return NULL;
    return f->enum_names[v];
}

bool tsl_attr_enum_parse(const struct tsl_attr_field *f, const char *text, int64_t *out)
{
    if (f->type != TSL_ATTR_T_ENUM)
        return false;
    for (uint32_t i = 0; i < f->n_enum; i++)
        if (strcmp(f->enum_names[i], text) == 0) {
            *out = i;
            return true;
        }
    return false;
}

/* ---- shapes ---- */

struct tsl_type tsl_type_make(enum tsl_dtype dt, int32_t rank, const int64_t *dims)
{
    struct tsl_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.shape.rank = rank;
    for (int32_t i = 0; i < rank && i < TSL_MAX_RANK; i++)
        t.shape.dims[i] = dims[i];
    return t;
}

bool tsl_shape_is_static(const struct tsl_shape *s)
{
    if (s->rank < 0)
        return false;
    for (int32_t i = 0; i < s->rank; i++)
        if (TSL_DIM_IS_SYM(s->dims[i]))
            return false;
    return true;
}

bool tsl_shape_numel(const struct tsl_shape *s, int64_t *out)
{
    if (!tsl_shape_is_static(s))
        return false;
    int64_t n = 1;
    for (int32_t i = 0; i < s->rank; i++)
        if (!tsl_mul_i64(n, s->dims[i], &n))
            return false;
    *out = n;
    return true;
}

bool tsl_shape_equal(const struct tsl_shape *a, const struct tsl_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

bool tsl_dtype_storage_bytes(enum tsl_dtype t, int64_t numel, int64_t *out)
{
    int bits = tsl_dtype_bits(t);
    if (bits <= 0 || numel < 0)
        return false;
    if (bits >= 8) {
        int64_t r;
        if (__builtin_mul_overflow(numel, (int64_t)(bits / 8), &r))
            return false;
        *out = r;
    } else {
        int per = 8 / bits;
        *out = numel / per + (numel % per != 0);
    }
    return true;
}
