/* text_print.c - tsl_graph_to_text: renders a graph in the IR text form
 * described in docs/ir.md.  The output is canonical: printing the result of
 * parsing it reproduces it byte for byte.  Layout: header, symbols, inputs,
 * constants (in value creation order), nodes (list order), outputs.
 * Attributes are always printed in full (every field of the op's attribute
 * kind, defaults included, in attrs.def order).  Parsing lives in
 * text_parse*.c; this file never validates the graph (the verifier does) and
 * prints even inconsistent graphs without reading out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/text.h"
#include "tessel/util.h"

/* Arrays of at most this many elements print as readable lists, longer ones
 * as hex byte strings. */
#define LIST_MAX 64
/* With elide_constants, arrays of more elements are summarized. */
#define ELIDE_MIN 16

static void put_hex(struct tsl_sbuf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    tsl_sbuf_puts(b, "x\"");
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        tsl_sbuf_putn(b, two, 2);
    }
    tsl_sbuf_putc(b, '"');
}

static void put_elem(struct tsl_sbuf *b, enum tsl_dtype dt, const void *data, int64_t i)
{
    switch (dt) {
    case TSL_DTYPE_F32: {
        float f;
        memcpy(&f, (const char *)data + 4 * i, 4);
        tsl_text_put_f32(b, f);
        break;
    }
    case TSL_DTYPE_F64: {
        double d;
        memcpy(&d, (const char *)data + 8 * i, 8);
        tsl_text_put_f64(b, d);
        break;
    }
    case TSL_DTYPE_F16:
    case TSL_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, (const char *)data + 2 * i, 2);
        tsl_text_put_f16bits(b, dt, h);
        break;
    }
    case TSL_DTYPE_U64: {
        uint64_t u;
        memcpy(&u, (const char *)data + 8 * i, 8);
        tsl_sbuf_printf(b, "%llu", (unsigned long long)u);
        break;
    }
    default:
        tsl_sbuf_printf(b, "%lld", (long long)tsl_dense_get_i64(dt, data, i));
    }
}

/* `count` elements of dt stored in `bytes` bytes at data: a list, a hex
 * string, or (elide) a summary.  If bytes does not match count the raw bytes
 * are printed as hex (an inconsistent payload the parser will reject). */
static void put_array(struct tsl_sbuf *b, enum tsl_dtype dt, const void *data, int64_t count,
                      size_t bytes, bool elide)
{
    if (!data)
        bytes = 0;
    int64_t need;
    bool ok = count >= 0 && tsl_dtype_storage_bytes(dt, count, &need) && (uint64_t)need == bytes;
    if (elide && count > ELIDE_MIN) {
        tsl_sbuf_printf(b, "<%lld x %s elided>", (long long)count, tsl_dtype_name(dt));
        return;
    }
    if (!ok || count > LIST_MAX) {
        put_hex(b, data, bytes);
        return;
    }
    tsl_sbuf_putc(b, '[');
    for (int64_t i = 0; i < count; i++) {
        if (i)
            tsl_sbuf_puts(b, ", ");
        put_elem(b, dt, data, i);
    }
    tsl_sbuf_putc(b, ']');
}

static void put_bytes(struct tsl_sbuf *b, const uint8_t *p, size_t n, bool elide)
{
    if (elide && n > ELIDE_MIN) {
        tsl_sbuf_printf(b, "<%zu bytes elided>", n);
        return;
    }
    put_hex(b, p, p ? n : 0);
}

static void put_quant(struct tsl_sbuf *b, const struct tsl_quant *q)
{
    size_t n4 = (size_t)q->n * 4;
    switch (q->kind) {
    case TSL_QUANT_NONE:
        return;
    case TSL_QUANT_POW2:
        tsl_sbuf_printf(b, " quant pow2 axis %d exp ", (int)q->axis);
        put_array(b, TSL_DTYPE_I32, q->exponent, q->n, n4, false);
        return;
    case TSL_QUANT_AFFINE:
        tsl_sbuf_printf(b, " quant affine axis %d scale ", (int)q->axis);
        put_array(b, TSL_DTYPE_F32, q->scale, q->n, n4, false);
        tsl_sbuf_puts(b, " zero ");
        put_array(b, TSL_DTYPE_I32, q->zero_point, q->n, n4, false);
        return;
    }
    tsl_sbuf_printf(b, " quant <invalid kind %d>", (int)q->kind);
}

static void put_value_decl(struct tsl_sbuf *b, const struct tsl_graph *g,
                           const struct tsl_value *v)
{
    tsl_text_put_value_name(b, v->name);
    tsl_sbuf_puts(b, " : ");
    tsl_text_put_type(b, g, &v->type);
    put_quant(b, &v->quant);
}

static void put_payload(struct tsl_sbuf *b, const struct tsl_value *v, bool elide)
{
    const struct tsl_const *c = v->constant;
    enum tsl_dtype dt = v->type.dtype;
    int64_t numel = -1;
    if (!tsl_shape_numel(&v->type.shape, &numel))
        numel = -1;
    switch (c->encoding) {
    case TSL_ENC_DENSE:
        tsl_sbuf_puts(b, "dense ");
        put_array(b, dt, c->data, numel, c->data_bytes, elide);
        return;
    case TSL_ENC_MASKED:
        tsl_sbuf_puts(b, "masked ");
        put_array(b, dt, c->data, numel, c->data_bytes, elide);
        tsl_sbuf_puts(b, " mask ");
        put_bytes(b, c->mask, c->mask_bytes, elide);
        return;
    case TSL_ENC_SPARSE:
        tsl_sbuf_printf(b, "sparse nnz %lld ", (long long)c->nnz);
        put_array(b, dt, c->data, c->nnz, c->data_bytes, elide);
        tsl_sbuf_puts(b, " gaps ");
        put_array(b, TSL_DTYPE_U8, c->gaps, c->nnz, c->gaps ? (size_t)c->nnz : 0, elide);
        return;
    case TSL_ENC_CODEBOOK:
        tsl_sbuf_printf(b, "codebook bits %u codes ", (unsigned)c->index_bits);
        put_array(b, TSL_DTYPE_F32, c->codebook, c->n_codes, (size_t)c->n_codes * 4, elide);
        tsl_sbuf_puts(b, " indices ");
        put_bytes(b, c->indices, c->indices_bytes, elide);
        tsl_sbuf_printf(b, " axis %d", (int)c->axis);
        if (c->n_channels) {
            tsl_sbuf_puts(b, " scales ");
            put_array(b, TSL_DTYPE_F32, c->channel_scale, c->n_channels,
                      (size_t)c->n_channels * 4, elide);
        }
        if (c->mask) {
            tsl_sbuf_puts(b, " mask ");
            put_bytes(b, c->mask, c->mask_bytes, elide);
        }
        if (c->coding == TSL_CODING_HUFFMAN)
            tsl_sbuf_puts(b, " coding huffman");
        return;
    }
    tsl_sbuf_printf(b, "<invalid encoding %d>", (int)c->encoding);
}

static void put_attr_value(struct tsl_sbuf *b, const struct tsl_attr_field *f, const char *p)
{
    switch (f->type) {
    case TSL_ATTR_T_INT: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        tsl_sbuf_printf(b, "%lld", (long long)v);
        return;
    }
    case TSL_ATTR_T_FLOAT: {
        float v;
        memcpy(&v, p, sizeof v);
        tsl_text_put_f32(b, v);
        return;
    }
    case TSL_ATTR_T_INTS: {
        const struct tsl_ints *l = (const struct tsl_ints *)(const void *)p;
        uint32_t n = l->n > TSL_MAX_ATTR_INTS ? TSL_MAX_ATTR_INTS : l->n;
        tsl_sbuf_putc(b, '[');
        for (uint32_t i = 0; i < n; i++)
            tsl_sbuf_printf(b, "%s%lld", i ? ", " : "", (long long)l->v[i]);
        tsl_sbuf_putc(b, ']');
        return;
    }
    case TSL_ATTR_T_FLOATS: {
        const struct tsl_floats *l = (const struct tsl_floats *)(const void *)p;
        uint32_t n = l->n > TSL_MAX_ATTR_INTS ? TSL_MAX_ATTR_INTS : l->n;
        tsl_sbuf_putc(b, '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                tsl_sbuf_puts(b, ", ");
            tsl_text_put_f32(b, l->v[i]);
        }
        tsl_sbuf_putc(b, ']');
        return;
    }
    case TSL_ATTR_T_ENUM: {
        int e;
        memcpy(&e, p, sizeof e);
        const char *t = tsl_attr_enum_text(f, e);
        if (t)
            tsl_sbuf_puts(b, t);
        else
            tsl_sbuf_printf(b, "%d", e);
        return;
    }
    case TSL_ATTR_T_DTYPE: {
        enum tsl_dtype d;
        memcpy(&d, p, sizeof d);
        if (d == TSL_DTYPE_UNDEF || (unsigned)d >= TSL_DTYPE_COUNT)
            tsl_sbuf_putc(b, '?');
        else
            tsl_sbuf_puts(b, tsl_dtype_name(d));
        return;
    }
    case TSL_ATTR_T_SCALAR: {
        struct tsl_scalar s;
        memcpy(&s, p, sizeof s);
        if (s.dtype == TSL_DTYPE_UNDEF || (unsigned)s.dtype >= TSL_DTYPE_COUNT) {
            tsl_sbuf_puts(b, "none");
            return;
        }
        tsl_sbuf_printf(b, "%s ", tsl_dtype_name(s.dtype));
        if (tsl_dtype_is_float(s.dtype))
            tsl_text_put_f64(b, s.f);
        else
            tsl_sbuf_printf(b, "%lld", (long long)s.i);
        return;
    }
    }
}

static void put_node(struct tsl_sbuf *b, const struct tsl_graph *g, const struct tsl_node *n)
{
    tsl_sbuf_puts(b, "  ");
    for (uint32_t i = 0; i < n->n_outputs; i++) {
        if (i)
            tsl_sbuf_puts(b, ", ");
        put_value_decl(b, g, n->outputs[i]);
    }
    tsl_sbuf_printf(b, " = %s", tsl_op_name(n->op));
    if (n->name && *n->name) {
        tsl_sbuf_putc(b, ' ');
        tsl_text_put_quoted(b, n->name);
    }
    tsl_sbuf_puts(b, " (");
    for (uint32_t i = 0; i < n->n_inputs; i++) {
        if (i)
            tsl_sbuf_puts(b, ", ");
        if (n->inputs[i])
            tsl_text_put_value_name(b, n->inputs[i]->name);
        else
            tsl_sbuf_putc(b, '_');
    }
    tsl_sbuf_putc(b, ')');
    size_t nf = 0;
    const struct tsl_attr_field *f =
        (unsigned)n->op < TSL_OP_COUNT ? tsl_attr_fields(tsl_op_info(n->op)->attr_kind, &nf)
                                       : NULL;
    if (nf) {
        tsl_sbuf_puts(b, " {");
        for (size_t i = 0; i < nf; i++) {
            tsl_sbuf_printf(b, "%s%s = ", i ? ", " : "", f[i].name);
            put_attr_value(b, &f[i], (const char *)&n->attrs + f[i].offset);
        }
        tsl_sbuf_putc(b, '}');
    }
    tsl_sbuf_putc(b, '\n');
}

enum tsl_status tsl_graph_to_text(const struct tsl_graph *g, const struct tsl_print_options *opt,
                                  char **text_out)
{
    if (!g || !text_out)
        return TSL_STATUS_INVALID_ARG;
    bool elide = opt && opt->elide_constants;
    struct tsl_sbuf b = {0};
    tsl_sbuf_puts(&b, "graph ");
    tsl_text_put_quoted(&b, g->name ? g->name : "");
    tsl_sbuf_printf(&b, " opset %lld", (long long)g->source_opset);
    if (g->producer_name) {
        tsl_sbuf_puts(&b, " producer ");
        tsl_text_put_quoted(&b, g->producer_name);
    }
    tsl_sbuf_puts(&b, " {\n");
    if (g->n_symbols) {
        tsl_sbuf_puts(&b, "  symbols ");
        for (uint32_t i = 0; i < g->n_symbols; i++) {
            if (i)
                tsl_sbuf_puts(&b, ", ");
            tsl_text_put_word(&b, g->symbols[i]);
        }
        tsl_sbuf_putc(&b, '\n');
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        tsl_sbuf_puts(&b, "  input ");
        put_value_decl(&b, g, g->inputs[i]);
        tsl_sbuf_putc(&b, '\n');
    }
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        if (!v->constant)
            continue;
        tsl_sbuf_puts(&b, "  const ");
        put_value_decl(&b, g, v);
        tsl_sbuf_puts(&b, " = ");
        put_payload(&b, v, elide);
        tsl_sbuf_putc(&b, '\n');
    }
    for (const struct tsl_node *n = g->first; n; n = n->next)
        put_node(&b, g, n);
    if (g->n_outputs) {
        tsl_sbuf_puts(&b, "  output ");
        for (uint32_t i = 0; i < g->n_outputs; i++) {
            if (i)
                tsl_sbuf_puts(&b, ", ");
            tsl_text_put_value_name(&b, g->outputs[i]->name);
        }
        tsl_sbuf_putc(&b, '\n');
    }
    tsl_sbuf_puts(&b, "}\n");
    char *s = tsl_sbuf_finish(&b);
    if (!s)
        return TSL_STATUS_NOMEM;
    *text_out = s;
    return TSL_STATUS_OK;
}
