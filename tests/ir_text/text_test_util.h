/* text_test_util.h - helpers for the IR text tests: structural graph
 * equality (every field the text form carries) and print/parse round trip
 * assertions.  Test-only; included by one test file each (static functions). */
#ifndef TESSEL_TEXT_TEST_UTIL_H
#define TESSEL_TEXT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/ir.h"
#include "tessel/text.h"

static bool bytes_eq(const void *a, size_t na, const void *b, size_t nb)
{
    if (na != nb)
        return false;
    if (!na)
        return true;
    return a && b && memcmp(a, b, na) == 0;
}

static bool type_eq(const struct tsl_type *a, const struct tsl_type *b)
{
    return a->dtype == b->dtype && tsl_shape_equal(&a->shape, &b->shape);
}

static bool quant_eq(const struct tsl_quant *a, const struct tsl_quant *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == TSL_QUANT_NONE)
        return true;
    size_t n = (size_t)a->n * 4;
    return a->axis == b->axis && a->n == b->n &&
           (a->kind == TSL_QUANT_POW2
                ? bytes_eq(a->exponent, n, b->exponent, n)
                : bytes_eq(a->scale, n, b->scale, n) && bytes_eq(a->zero_point, n, b->zero_point, n));
}

static bool const_eq(const struct tsl_const *a, const struct tsl_const *b)
{
    return a->encoding == b->encoding && bytes_eq(a->data, a->data_bytes, b->data, b->data_bytes) &&
           bytes_eq(a->mask, a->mask_bytes, b->mask, b->mask_bytes) && a->nnz == b->nnz &&
           bytes_eq(a->gaps, a->gaps ? (size_t)a->nnz : 0, b->gaps, b->gaps ? (size_t)b->nnz : 0) &&
           bytes_eq(a->codebook, a->n_codes * 4u, b->codebook, b->n_codes * 4u) &&
           a->index_bits == b->index_bits &&
           bytes_eq(a->indices, a->indices_bytes, b->indices, b->indices_bytes) &&
           (a->encoding != TSL_ENC_CODEBOOK || a->axis == b->axis) &&
           bytes_eq(a->channel_scale, a->n_channels * 4u, b->channel_scale, b->n_channels * 4u);
}

static bool value_eq(const struct tsl_value *a, const struct tsl_value *b)
{
    return strcmp(a->name, b->name) == 0 && type_eq(&a->type, &b->type) &&
           quant_eq(&a->quant, &b->quant) && !a->constant == !b->constant &&
           (!a->constant || const_eq(a->constant, b->constant));
}

static bool attrs_eq(enum tsl_op op, const union tsl_attrs *a, const union tsl_attrs *b)
{
    size_t nf;
    const struct tsl_attr_field *f = tsl_attr_fields(tsl_op_info(op)->attr_kind, &nf);
    for (size_t i = 0; i < nf; i++) {
        const char *pa = (const char *)a + f[i].offset, *pb = (const char *)b + f[i].offset;
        switch (f[i].type) {
        case TSL_ATTR_T_INT:
            if (memcmp(pa, pb, sizeof(int64_t)))
                return false;
            break;
        case TSL_ATTR_T_FLOAT:
        case TSL_ATTR_T_ENUM:
        case TSL_ATTR_T_DTYPE:
            if (memcmp(pa, pb, 4))
                return false;
            break;
        case TSL_ATTR_T_INTS: {
            const struct tsl_ints *x = (const void *)pa, *y = (const void *)pb;
            if (x->n != y->n || memcmp(x->v, y->v, x->n * sizeof x->v[0]))
                return false;
            break;
        }
        case TSL_ATTR_T_FLOATS: {
            const struct tsl_floats *x = (const void *)pa, *y = (const void *)pb;
            if (x->n != y->n || memcmp(x->v, y->v, x->n * sizeof x->v[0]))
                return false;
            break;
        }
        case TSL_ATTR_T_SCALAR: {
            const struct tsl_scalar *x = (const void *)pa, *y = (const void *)pb;
            if (x->dtype != y->dtype)
                return false;
            if (x->dtype == TSL_DTYPE_UNDEF)
                break;
            if (tsl_dtype_is_float(x->dtype) ? memcmp(&x->f, &y->f, 8) != 0 : x->i != y->i)
                return false;
            break;
        }
        }
    }
    return true;
}

/* Structural equality; on mismatch prints what differs (tests only). */
static bool graph_eq(const struct tsl_graph *a, const struct tsl_graph *b)
{
#define NEQ(what)                                                                  \
    do {                                                                           \
        fprintf(stderr, "graphs differ: %s\n", what);                              \
        return false;                                                              \
    } while (0)
    if (strcmp(a->name, b->name) || a->source_opset != b->source_opset)
        NEQ("header");
    if (!a->producer_name != !b->producer_name ||
        (a->producer_name && strcmp(a->producer_name, b->producer_name)))
        NEQ("producer");
    if (a->n_symbols != b->n_symbols)
        NEQ("symbol count");
    for (uint32_t i = 0; i < a->n_symbols; i++)
        if (strcmp(a->symbols[i], b->symbols[i]))
            NEQ("symbol");
    if (a->n_inputs != b->n_inputs)
        NEQ("input count");
    for (uint32_t i = 0; i < a->n_inputs; i++)
        if (!value_eq(a->inputs[i], b->inputs[i]))
            NEQ(a->inputs[i]->name);
    uint32_t ka = 0, kb = 0;
    for (uint32_t i = 0; i < a->n_values; i++)
        if (a->values[i]->constant) {
            ka++;
            const struct tsl_value *o = tsl_graph_find_value(b, a->values[i]->name);
            if (!o || !value_eq(a->values[i], o))
                NEQ(a->values[i]->name);
        }
    for (uint32_t i = 0; i < b->n_values; i++)
        kb += b->values[i]->constant != NULL;
    if (ka != kb || a->n_nodes != b->n_nodes || a->n_values != b->n_values)
        NEQ("counts");
    for (const struct tsl_node *x = a->first, *y = b->first; x; x = x->next, y = y->next) {
        if (x->op != y->op || strcmp(x->name, y->name) || x->n_inputs != y->n_inputs ||
            x->n_outputs != y->n_outputs || !attrs_eq(x->op, &x->attrs, &y->attrs))
            NEQ(x->name);
        for (uint32_t i = 0; i < x->n_inputs; i++)
            if (!x->inputs[i] != !y->inputs[i] ||
                (x->inputs[i] && strcmp(x->inputs[i]->name, y->inputs[i]->name)))
                NEQ("node input");
        for (uint32_t i = 0; i < x->n_outputs; i++)
            if (!value_eq(x->outputs[i], y->outputs[i]))
                NEQ(x->outputs[i]->name);
    }
    if (a->n_outputs != b->n_outputs)
        NEQ("output count");
    for (uint32_t i = 0; i < a->n_outputs; i++)
        if (strcmp(a->outputs[i]->name, b->outputs[i]->name))
            NEQ("output");
    return true;
#undef NEQ
}

#endif
