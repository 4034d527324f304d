/* text_fmt.c - output side helpers for the IR text form and Graphviz:
 * growable string buffer, quoting/escaping of names, exact shortest float
 * formatting and type rendering.  It does not decide the layout of a graph
 * (text_print.c, dot.c) and does not read text (text_lex.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/util.h"

/* ---- buffer ---- */

static bool sbuf_reserve(struct tsl_sbuf *b, size_t extra)
{
    if (b->failed)
        return false;
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || need == SIZE_MAX) {
        b->failed = true;
        return false;
    }
    if (!tsl_grow((void **)&b->p, &b->cap, need + 1, 1)) {
        b->failed = true;
        return false;
    }
    return true;
}

void tsl_sbuf_putn(struct tsl_sbuf *b, const char *s, size_t n)
{
    if (!sbuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tsl_sbuf_puts(struct tsl_sbuf *b, const char *s)
{
    tsl_sbuf_putn(b, s, strlen(s));
}

void tsl_sbuf_putc(struct tsl_sbuf *b, char c)
{
    tsl_sbuf_putn(b, &c, 1);
}

void tsl_sbuf_printf(struct tsl_sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tsl_sbuf_putn(b, small, (size_t)n);
        return;
    }
    if (!sbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *tsl_sbuf_finish(struct tsl_sbuf *b)
{
    if (!b->failed && !b->p)
        tsl_sbuf_putn(b, "", 0);
    if (b->failed) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *r = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return r;
}

/* ---- names ---- */

void tsl_text_put_quoted(struct tsl_sbuf *b, const char *s)
{
    tsl_sbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': tsl_sbuf_puts(b, "\\\""); break;
        case '\\': tsl_sbuf_puts(b, "\\\\"); break;
        case '\n': tsl_sbuf_puts(b, "\\n"); break;
        case '\t': tsl_sbuf_puts(b, "\\t"); break;
        case '\r': tsl_sbuf_puts(b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                tsl_sbuf_printf(b, "\\x%02x", *p);
            else
                tsl_sbuf_putc(b, (char)*p);
        }
    }
    tsl_sbuf_putc(b, '"');
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_name_char(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '.';
}

void tsl_text_put_value_name(struct tsl_sbuf *b, const char *s)
{
    bool bare = *s != '\0';
    for (const char *p = s; *p && bare; p++)
        bare = is_name_char((unsigned char)*p);
    tsl_sbuf_putc(b, '%');
    if (bare)
        tsl_sbuf_puts(b, s);
    else
        tsl_text_put_quoted(b, s);
}

void tsl_text_put_word(struct tsl_sbuf *b, const char *s)
{
    bool bare = is_alpha((unsigned char)*s);
    for (const char *p = s; *p && bare; p++)
        bare = is_name_char((unsigned char)*p);
    if (bare)
        tsl_sbuf_puts(b, s);
    else
        tsl_text_put_quoted(b, s);
}

/* ---- floats ---- */

void tsl_text_put_f32(struct tsl_sbuf *b, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if (isnan(f)) {
        if ((bits & 0x7fffffffu) == TSL_TEXT_NAN_F32)
            tsl_sbuf_puts(b, bits >> 31 ? "-nan" : "nan");
        else
            tsl_sbuf_printf(b, "nan:0x%08x", (unsigned)bits);
        return;
    }
    if (isinf(f)) {
        tsl_sbuf_puts(b, f < 0 ? "-inf" : "inf");
        return;
    }
    char buf[48];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        float back = strtof(buf, NULL);
        if (memcmp(&back, &f, 4) == 0)
            break;
    }
    tsl_sbuf_puts(b, buf);
}

void tsl_text_put_f64(struct tsl_sbuf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    if (isnan(d)) {
        if ((bits & 0x7fffffffffffffffull) == TSL_TEXT_NAN_F64)
            tsl_sbuf_puts(b, bits >> 63 ? "-nan" : "nan");
        else
            tsl_sbuf_printf(b, "nan:0x%016llx", (unsigned long long)bits);
        return;
    }
    if (isinf(d)) {
        tsl_sbuf_puts(b, d < 0 ? "-inf" : "inf");
        return;
    }
    char buf[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &d, 8) == 0)
            break;
    }
    tsl_sbuf_puts(b, buf);
}

void tsl_text_put_f16bits(struct tsl_sbuf *b, enum tsl_dtype dt, uint16_t bits)
{
    uint16_t canon = dt == TSL_DTYPE_F16 ? TSL_TEXT_NAN_F16 : TSL_TEXT_NAN_BF16;
    bool nan = dt == TSL_DTYPE_F16 ? ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff))
                                   : ((bits & 0x7f80) == 0x7f80 && (bits & 0x7f));
    if (nan) {
        if ((bits & 0x7fff) == canon)
            tsl_sbuf_puts(b, bits >> 15 ? "-nan" : "nan");
        else
            tsl_sbuf_printf(b, "nan:0x%04x", (unsigned)bits);
        return;
    }
    tsl_text_put_f32(b, (float)tsl_dense_get_f64(dt, &bits, 0));
}

/* ---- types ---- */

void tsl_text_put_type(struct tsl_sbuf *b, const struct tsl_graph *g, const struct tsl_type *t)
{
    if (t->dtype == TSL_DTYPE_UNDEF || (unsigned)t->dtype >= TSL_DTYPE_COUNT)
        tsl_sbuf_putc(b, '?');
    else
        tsl_sbuf_puts(b, tsl_dtype_name(t->dtype));
    if (t->shape.rank < 0) {
        tsl_sbuf_puts(b, "[*]");
        return;
    }
    tsl_sbuf_putc(b, '[');
    int32_t rank = t->shape.rank > TSL_MAX_RANK ? TSL_MAX_RANK : t->shape.rank;
    for (int32_t i = 0; i < rank; i++) {
        int64_t d = t->shape.dims[i];
        if (i)
            tsl_sbuf_putc(b, ',');
        if (!TSL_DIM_IS_SYM(d))
            tsl_sbuf_printf(b, "%lld", (long long)d);
        else if (TSL_DIM_SYM_INDEX(d) < g->n_symbols)
            tsl_text_put_word(b, g->symbols[TSL_DIM_SYM_INDEX(d)]);
        else /* dangling symbol index: printed, but the parser rejects it */
            tsl_sbuf_printf(b, "!sym%u", TSL_DIM_SYM_INDEX(d));
    }
    tsl_sbuf_putc(b, ']');
}
