/* text_parse_lit.c - the literal-level half of the IR text parser: integers
 * (overflow-checked), exact floats (decimal, inf, nan, nan:<bits>), element
 * arrays (lists or hex byte strings), types with symbolic dims, quantization
 * clauses, constant payloads in every encoding, and op attributes walked
 * generically through tsl_attr_fields().  Statement structure and graph
 * building live in text_parse.c; the printer is text_print.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/util.h"

/* ---- integers ---- */

/* Decimal text with optional leading '-' -> sign + magnitude; false if not
 * an integer or if the magnitude overflows 64 bits (*overflow set). */
static bool int_text(const char *s, bool *neg, uint64_t *mag, bool *overflow)
{
    *neg = *s == '-';
    *overflow = false;
    if (*neg)
        s++;
    if (!*s)
        return false;
    uint64_t m = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (__builtin_mul_overflow(m, 10u, &m) ||
            __builtin_add_overflow(m, (uint64_t)(*s - '0'), &m)) {
            *overflow = true;
            return false;
        }
    }
    *mag = m;
    return true;
}

enum tsl_status tsl_parse_int(struct tsl_parser *p, int64_t lo, int64_t hi, const char *what,
                              int64_t *out)
{
    const struct tsl_tok *t = &p->lx.tok;
    if (t->kind != TSL_TOK_NUMBER) {
        char w[80];
        snprintf(w, sizeof w, "an integer (%s)", what);
        return tsl_parse_expected(p, w);
    }
    bool neg, ovf;
    uint64_t mag;
    if (!int_text(t->text, &neg, &mag, &ovf)) {
        if (ovf)
            return tsl_parse_err(p, "integer '%.40s' overflows 64 bits (%s)", t->text, what);
        return tsl_parse_err(p, "bad integer '%.40s' (%s)", t->text, what);
    }
    int64_t v;
    if (!neg && mag > (uint64_t)INT64_MAX)
        return tsl_parse_err(p, "integer '%.40s' overflows 64 bits (%s)", t->text, what);
    if (neg && mag > (uint64_t)INT64_MAX + 1)
        return tsl_parse_err(p, "integer '%.40s' overflows 64 bits (%s)", t->text, what);
    v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (v < lo || v > hi)
        return tsl_parse_err(p, "%s %lld out of range [%lld, %lld]", what, (long long)v,
                             (long long)lo, (long long)hi);
    *out = v;
    return tsl_lex_next(&p->lx);
}

static enum tsl_status parse_u64(struct tsl_parser *p, uint64_t *out)
{
    const struct tsl_tok *t = &p->lx.tok;
    if (t->kind != TSL_TOK_NUMBER)
        return tsl_parse_expected(p, "an integer (u64)");
    bool neg, ovf;
    uint64_t mag;
    if (!int_text(t->text, &neg, &mag, &ovf)) {
        if (ovf)
            return tsl_parse_err(p, "integer '%.40s' overflows 64 bits (u64)", t->text);
        return tsl_parse_err(p, "bad integer '%.40s' (u64)", t->text);
    }
    if (neg && mag)
        return tsl_parse_err(p, "u64 -%llu out of range", (unsigned long long)mag);
    *out = mag;
    return tsl_lex_next(&p->lx);
}

/* ---- floats ---- */

static bool decimal_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    size_t digits = 0;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* A float of dtype dt (F16, BF16, F32, F64) as its stored bit pattern. */
static enum tsl_status parse_float_bits(struct tsl_parser *p, enum tsl_dtype dt, uint64_t *out)
{
    const struct tsl_tok *t = &p->lx.tok;
    if (t->kind != TSL_TOK_NUMBER && t->kind != TSL_TOK_WORD)
        return tsl_parse_expected(p, "a number");
    const char *s = t->text;
    bool neg = *s == '-';
    const char *r = (*s == '-' || *s == '+') ? s + 1 : s;
    int bits = tsl_dtype_bits(dt);
    uint64_t sign = (uint64_t)neg << (bits - 1);
    uint64_t expmask, inf, canon;
    switch (dt) {
    case TSL_DTYPE_F16: expmask = 0x7c00; canon = TSL_TEXT_NAN_F16; break;
    case TSL_DTYPE_BF16: expmask = 0x7f80; canon = TSL_TEXT_NAN_BF16; break;
    case TSL_DTYPE_F32: expmask = 0x7f800000u; canon = TSL_TEXT_NAN_F32; break;
    default: expmask = 0x7ff0000000000000ull; canon = TSL_TEXT_NAN_F64; break;
    }
    inf = expmask;
    uint64_t mant_mask = (bits == 64 ? ~0ull >> 1 : (1ull << (bits - 1)) - 1) & ~expmask;
    if (strcmp(r, "inf") == 0) {
        *out = sign | inf;
    } else if (strcmp(r, "nan") == 0) {
        *out = sign | canon;
    } else if (strncmp(r, "nan:0x", 6) == 0) {
        if (r != s)
            return tsl_parse_err(p, "nan:<bits> takes no sign (the bits hold it)");
        const char *h = r + 6;
        size_t nd = strlen(h);
        uint64_t v = 0;
        if (nd == 0 || nd > (size_t)bits / 4)
            return tsl_parse_err(p, "bad NaN bits '%.40s' for %s", s, tsl_dtype_name(dt));
        for (; *h; h++) {
            int d = (*h >= '0' && *h <= '9') ? *h - '0'
                    : (*h >= 'a' && *h <= 'f') ? *h - 'a' + 10
                    : (*h >= 'A' && *h <= 'F') ? *h - 'A' + 10 : -1;
            if (d < 0)
                return tsl_parse_err(p, "bad NaN bits '%.40s' for %s", s, tsl_dtype_name(dt));
            v = v * 16 + (uint64_t)d;
        }
        if ((v & expmask) != expmask || !(v & mant_mask))
            return tsl_parse_err(p, "'%.40s' is not a %s NaN bit pattern", s,
                                 tsl_dtype_name(dt));
        *out = v;
    } else if (decimal_text(s)) {
        errno = 0;
        if (dt == TSL_DTYPE_F64) {
            double d = strtod(s, NULL);
            if (isinf(d))
                return tsl_parse_err(p, "number '%.40s' out of range for f64", s);
            memcpy(out, &d, 8);
        } else {
            float f = strtof(s, NULL);
            if (isinf(f))
                return tsl_parse_err(p, "number '%.40s' out of range for %s", s,
                                     tsl_dtype_name(dt));
            if (dt == TSL_DTYPE_F32) {
                uint32_t u;
                memcpy(&u, &f, 4);
                *out = u;
            } else {
                uint16_t h;
                tsl_dense_set_f64(dt, &h, 0, f);
                if ((h & expmask) == expmask)
                    return tsl_parse_err(p, "number '%.40s' out of range for %s", s,
                                         tsl_dtype_name(dt));
                *out = h;
            }
        }
    } else {
        return tsl_parse_err(p, "bad number '%.40s'", s);
    }
    return tsl_lex_next(&p->lx);
}

static enum tsl_status parse_f32(struct tsl_parser *p, float *out)
{
    uint64_t b;
    TSL_TRY(parse_float_bits(p, TSL_DTYPE_F32, &b));
    uint32_t u = (uint32_t)b;
    memcpy(out, &u, 4);
    return TSL_STATUS_OK;
}

static enum tsl_status parse_f64(struct tsl_parser *p, double *out)
{
    uint64_t b;
    TSL_TRY(parse_float_bits(p, TSL_DTYPE_F64, &b));
    memcpy(out, &b, 8);
    return TSL_STATUS_OK;
}

/* ---- element arrays ---- */

static bool int_range(enum tsl_dtype dt, int64_t *lo, int64_t *hi)
{
    switch (dt) {
    case TSL_DTYPE_I64: *lo = INT64_MIN; *hi = INT64_MAX; return true;
    case TSL_DTYPE_I32: *lo = INT32_MIN; *hi = INT32_MAX; return true;
    case TSL_DTYPE_I16: *lo = INT16_MIN; *hi = INT16_MAX; return true;
    case TSL_DTYPE_I8: *lo = INT8_MIN; *hi = INT8_MAX; return true;
    case TSL_DTYPE_U32: *lo = 0; *hi = UINT32_MAX; return true;
    case TSL_DTYPE_U16: *lo = 0; *hi = UINT16_MAX; return true;
    case TSL_DTYPE_U8: *lo = 0; *hi = UINT8_MAX; return true;
    case TSL_DTYPE_BOOL: *lo = 0; *hi = 1; return true;
    case TSL_DTYPE_I4: *lo = -8; *hi = 7; return true;
    case TSL_DTYPE_U4: *lo = 0; *hi = 15; return true;
    case TSL_DTYPE_I2: *lo = -2; *hi = 1; return true;
    default: return false;
    }
}

/* One element of dt stored at index i of buf (which has room for it). */
static enum tsl_status parse_elem(struct tsl_parser *p, enum tsl_dtype dt, uint8_t *buf,
                                  int64_t i)
{
    int bits = tsl_dtype_bits(dt);
    if (tsl_dtype_is_float(dt)) {
        uint64_t b;
        TSL_TRY(parse_float_bits(p, dt, &b));
        if (bits == 16) {
            uint16_t h = (uint16_t)b;
            memcpy(buf + 2 * i, &h, 2);
        } else if (bits == 32) {
            uint32_t u = (uint32_t)b;
            memcpy(buf + 4 * i, &u, 4);
        } else {
            memcpy(buf + 8 * i, &b, 8);
        }
        return TSL_STATUS_OK;
    }
    if (dt == TSL_DTYPE_U64) {
        uint64_t u = 0;
        TSL_TRY(parse_u64(p, &u));
        memcpy(buf + 8 * i, &u, 8);
        return TSL_STATUS_OK;
    }
    int64_t lo, hi, v;
    if (!int_range(dt, &lo, &hi))
        return tsl_parse_err(p, "elements of dtype %s cannot be written", tsl_dtype_name(dt));
    TSL_TRY(tsl_parse_int(p, lo, hi, tsl_dtype_name(dt), &v));
    tsl_dense_set_i64(dt, buf, i, v);
    return TSL_STATUS_OK;
}

/* An array of dt: "[e, ...]" or x"hex".  want >= 0: required element count;
 * want < 0: any count (byte strings then need whole-byte elements).  On
 * success *data (malloc'ed, at least 1 byte) holds *bytes bytes of *count
 * elements. */
static enum tsl_status parse_array(struct tsl_parser *p, enum tsl_dtype dt, int64_t want,
                                   const char *what, void **data, int64_t *count,
                                   size_t *bytes)
{
    uint32_t line = p->lx.tok.line, col = p->lx.tok.col;
    int bits = tsl_dtype_bits(dt);
    if (bits <= 0)
        return tsl_parse_err(p, "%s: no elements of dtype %s", what, tsl_dtype_name(dt));
    if (p->lx.tok.kind == TSL_TOK_BYTES) {
        size_t n = p->lx.tok.len;
        int64_t cnt;
        if (want >= 0) {
            int64_t need;
            if (!tsl_dtype_storage_bytes(dt, want, &need) || (uint64_t)need != n)
                return tsl_lex_error_at(&p->lx, line, col,
                                        "%s: byte string has %zu bytes, expected %lld", what,
                                        n, (long long)need);
            cnt = want;
        } else {
            if (bits < 8 || n % (size_t)(bits / 8))
                return tsl_lex_error_at(&p->lx, line, col,
                                        "%s: byte string of %zu bytes is not whole %s elements",
                                        what, n, tsl_dtype_name(dt));
            cnt = (int64_t)(n / (size_t)(bits / 8));
        }
        uint8_t *d = malloc(n ? n : 1);
        if (!d)
            return tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
        memcpy(d, p->lx.tok.text, n);
        enum tsl_status st = tsl_lex_next(&p->lx);
        if (st != TSL_STATUS_OK) {
            free(d);
            return st;
        }
        *data = d;
        *count = cnt;
        *bytes = n;
        return TSL_STATUS_OK;
    }
    if (!tsl_parse_is_punct(p, '[')) {
        char w[96];
        snprintf(w, sizeof w, "'[' or a byte string (%s)", what);
        return tsl_parse_expected(p, w);
    }
    TSL_TRY(tsl_lex_next(&p->lx));
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    int64_t n = 0;
    enum tsl_status st = TSL_STATUS_OK;
    if (!tsl_parse_is_punct(p, ']')) {
        for (;;) {
            int64_t need;
            if (!tsl_dtype_storage_bytes(dt, n + 1, &need) ||
                !tsl_grow((void **)&buf, &cap, (size_t)need, 1)) {
                st = tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
                break;
            }
            if ((size_t)need > used) {
                memset(buf + used, 0, (size_t)need - used);
                used = (size_t)need;
            }
            st = parse_elem(p, dt, buf, n);
            if (st != TSL_STATUS_OK)
                break;
            n++;
            if (tsl_parse_is_punct(p, ']'))
                break;
            if (!tsl_parse_is_punct(p, ',')) {
                st = tsl_parse_expected(p, "',' or ']'");
                break;
            }
            st = tsl_lex_next(&p->lx);
            if (st != TSL_STATUS_OK)
                break;
        }
    }
    if (st == TSL_STATUS_OK)
        st = tsl_lex_next(&p->lx); /* ']' */
    if (st == TSL_STATUS_OK && want >= 0 && n != want)
        st = tsl_lex_error_at(&p->lx, line, col, "%s: %lld elements, expected %lld", what,
                              (long long)n, (long long)want);
    if (st == TSL_STATUS_OK && !buf && !(buf = malloc(1)))
        st = tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
    if (st != TSL_STATUS_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *count = n;
    *bytes = used;
    return TSL_STATUS_OK;
}

/* A byte string of exactly `want` bytes. */
static enum tsl_status parse_bytes(struct tsl_parser *p, int64_t want, const char *what,
                                   uint8_t **out)
{
    void *d;
    int64_t cnt;
    size_t n;
    if (p->lx.tok.kind != TSL_TOK_BYTES) {
        char w[96];
        snprintf(w, sizeof w, "a byte string x\"...\" (%s)", what);
        return tsl_parse_expected(p, w);
    }
    TSL_TRY(parse_array(p, TSL_DTYPE_U8, want, what, &d, &cnt, &n));
    *out = d;
    return TSL_STATUS_OK;
}

/* ---- types ---- */

static enum tsl_status parse_dtype(struct tsl_parser *p, enum tsl_dtype *out)
{
    if (tsl_parse_is_punct(p, '?')) {
        *out = TSL_DTYPE_UNDEF;
        return tsl_lex_next(&p->lx);
    }
    if (p->lx.tok.kind != TSL_TOK_WORD)
        return tsl_parse_expected(p, "a dtype");
    if (!tsl_dtype_from_name(p->lx.tok.text, out))
        return tsl_parse_err(p, "unknown dtype '%.40s'", p->lx.tok.text);
    return tsl_lex_next(&p->lx);
}

enum tsl_status tsl_parse_type(struct tsl_parser *p, struct tsl_type *out)
{
    memset(out, 0, sizeof *out);
    TSL_TRY(parse_dtype(p, &out->dtype));
    TSL_TRY(tsl_parse_expect_punct(p, '['));
    if (tsl_parse_is_punct(p, '*')) {
        out->shape.rank = -1;
        TSL_TRY(tsl_lex_next(&p->lx));
        return tsl_parse_expect_punct(p, ']');
    }
    if (tsl_parse_is_punct(p, ']'))
        return tsl_lex_next(&p->lx);
    for (;;) {
        if (out->shape.rank == TSL_MAX_RANK)
            return tsl_parse_err(p, "more than %d dims", TSL_MAX_RANK);
        int64_t d;
        const struct tsl_tok *t = &p->lx.tok;
        if (t->kind == TSL_TOK_NUMBER) {
            TSL_TRY(tsl_parse_int(p, 0, INT64_MAX, "dim", &d));
        } else if (t->kind == TSL_TOK_WORD || t->kind == TSL_TOK_STRING) {
            uint32_t k = 0;
            while (k < p->g->n_symbols && strcmp(p->g->symbols[k], t->text) != 0)
                k++;
            if (k == p->g->n_symbols)
                return tsl_parse_err(p, "undeclared symbol '%.40s'", t->text);
            d = TSL_DIM_SYM(k);
            TSL_TRY(tsl_lex_next(&p->lx));
        } else {
            return tsl_parse_expected(p, "a dim (integer or symbol)");
        }
        out->shape.dims[out->shape.rank++] = d;
        if (tsl_parse_is_punct(p, ']'))
            return tsl_lex_next(&p->lx);
        if (!tsl_parse_is_punct(p, ','))
            return tsl_parse_expected(p, "',' or ']' in shape");
        TSL_TRY(tsl_lex_next(&p->lx));
    }
}

/* ---- quantization ---- */

enum tsl_status tsl_parse_quant(struct tsl_parser *p, struct tsl_quant *q)
{
    memset(q, 0, sizeof *q);
    q->axis = -1;
    if (!tsl_parse_is_word(p, "quant"))
        return TSL_STATUS_OK;
    TSL_TRY(tsl_lex_next(&p->lx));
    bool pow2 = tsl_parse_is_word(p, "pow2");
    if (!pow2 && !tsl_parse_is_word(p, "affine"))
        return tsl_parse_expected(p, "quant kind 'pow2' or 'affine'");
    TSL_TRY(tsl_lex_next(&p->lx));
    TSL_TRY(tsl_parse_expect_word(p, "axis"));
    int64_t axis;
    TSL_TRY(tsl_parse_int(p, -1, INT32_MAX, "quant axis", &axis));
    void *a = NULL, *b = NULL;
    int64_t n, n2;
    size_t bytes;
    if (pow2) {
        TSL_TRY(tsl_parse_expect_word(p, "exp"));
        TSL_TRY(parse_array(p, TSL_DTYPE_I32, -1, "quant exponents", &a, &n, &bytes));
    } else {
        TSL_TRY(tsl_parse_expect_word(p, "scale"));
        TSL_TRY(parse_array(p, TSL_DTYPE_F32, -1, "quant scales", &a, &n, &bytes));
        enum tsl_status st = tsl_parse_expect_word(p, "zero");
        if (st == TSL_STATUS_OK)
            st = parse_array(p, TSL_DTYPE_I32, n, "quant zero points", &b, &n2, &bytes);
        if (st != TSL_STATUS_OK) {
            free(a);
            return st;
        }
    }
    if (n > UINT32_MAX) {
        free(a);
        free(b);
        return tsl_parse_err(p, "too many quant channels");
    }
    if (n == 0) { /* keep the IR's "no array" form */
        free(a);
        free(b);
        a = b = NULL;
    }
    q->kind = pow2 ? TSL_QUANT_POW2 : TSL_QUANT_AFFINE;
    q->axis = (int32_t)axis;
    q->n = (uint32_t)n;
    if (pow2) {
        q->exponent = a;
    } else {
        q->scale = a;
        q->zero_point = b;
    }
    return TSL_STATUS_OK;
}

/* ---- constant payloads ---- */

static enum tsl_status parse_payload_body(struct tsl_parser *p, const struct tsl_type *t,
                                          int64_t numel, struct tsl_const *c)
{
    enum tsl_dtype dt = t->dtype;
    int64_t mask_bytes = numel / 8 + (numel % 8 != 0), cnt;
    size_t bytes;
    if (tsl_parse_is_word(p, "dense") || tsl_parse_is_word(p, "masked")) {
        bool masked = tsl_parse_is_word(p, "masked");
        c->encoding = masked ? TSL_ENC_MASKED : TSL_ENC_DENSE;
        TSL_TRY(tsl_lex_next(&p->lx));
        TSL_TRY(parse_array(p, dt, numel, "constant data", &c->data, &cnt, &c->data_bytes));
        if (!masked)
            return TSL_STATUS_OK;
        TSL_TRY(tsl_parse_expect_word(p, "mask"));
        TSL_TRY(parse_bytes(p, mask_bytes, "mask", &c->mask));
        c->mask_bytes = (size_t)mask_bytes;
        return TSL_STATUS_OK;
    }
    if (tsl_parse_is_word(p, "sparse")) {
        c->encoding = TSL_ENC_SPARSE;
        TSL_TRY(tsl_lex_next(&p->lx));
        TSL_TRY(tsl_parse_expect_word(p, "nnz"));
        TSL_TRY(tsl_parse_int(p, 0, INT64_MAX, "nnz", &c->nnz));
        TSL_TRY(parse_array(p, dt, c->nnz, "sparse data", &c->data, &cnt, &c->data_bytes));
        TSL_TRY(tsl_parse_expect_word(p, "gaps"));
        void *g;
        TSL_TRY(parse_array(p, TSL_DTYPE_U8, c->nnz, "sparse gaps", &g, &cnt, &bytes));
        c->gaps = g;
        return TSL_STATUS_OK;
    }
    if (tsl_parse_is_word(p, "codebook")) {
        c->encoding = TSL_ENC_CODEBOOK;
        if (dt != TSL_DTYPE_F32)
            return tsl_parse_err(p, "codebook constants must be f32, not %s",
                                 tsl_dtype_name(dt));
        TSL_TRY(tsl_lex_next(&p->lx));
        int64_t v;
        TSL_TRY(tsl_parse_expect_word(p, "bits"));
        TSL_TRY(tsl_parse_int(p, 1, 8, "index bits", &v));
        c->index_bits = (uint8_t)v;
        TSL_TRY(tsl_parse_expect_word(p, "codes"));
        uint32_t line = p->lx.tok.line, col = p->lx.tok.col;
        void *cb;
        TSL_TRY(parse_array(p, TSL_DTYPE_F32, -1, "codebook", &cb, &cnt, &bytes));
        c->codebook = cb;
        if (cnt < 1 || cnt > (1 << c->index_bits))
            return tsl_lex_error_at(&p->lx, line, col,
                                    "codebook has %lld codes, needs 1 to %d for %u-bit indices",
                                    (long long)cnt, 1 << c->index_bits, c->index_bits);
        c->n_codes = (uint32_t)cnt;
        int64_t ibits, ibytes;
        if (!tsl_mul_i64(numel, c->index_bits, &ibits) || !tsl_add_i64(ibits, 7, &ibytes))
            return tsl_parse_err(p, "constant too large");
        TSL_TRY(tsl_parse_expect_word(p, "indices"));
        TSL_TRY(parse_bytes(p, ibytes / 8, "codebook indices", &c->indices));
        c->indices_bytes = (size_t)(ibytes / 8);
        TSL_TRY(tsl_parse_expect_word(p, "axis"));
        TSL_TRY(tsl_parse_int(p, INT32_MIN, INT32_MAX, "codebook axis", &v));
        c->axis = (int32_t)v;
        if (tsl_parse_is_word(p, "scales")) {
            TSL_TRY(tsl_lex_next(&p->lx));
            line = p->lx.tok.line;
            col = p->lx.tok.col;
            void *sc;
            TSL_TRY(parse_array(p, TSL_DTYPE_F32, -1, "channel scales", &sc, &cnt, &bytes));
            c->channel_scale = sc;
            if (cnt == 0 || c->axis < 0 || c->axis >= t->shape.rank ||
                t->shape.dims[c->axis] != cnt)
                return tsl_lex_error_at(&p->lx, line, col,
                                        "%lld channel scales do not match axis %d of the type",
                                        (long long)cnt, (int)c->axis);
            c->n_channels = (uint32_t)cnt;
        }
        if (tsl_parse_is_word(p, "mask")) {
            TSL_TRY(tsl_lex_next(&p->lx));
            TSL_TRY(parse_bytes(p, mask_bytes, "mask", &c->mask));
            c->mask_bytes = (size_t)mask_bytes;
        }
        if (tsl_parse_is_word(p, "coding")) {
            TSL_TRY(tsl_lex_next(&p->lx));
            if (tsl_parse_is_word(p, "huffman"))
                c->coding = TSL_CODING_HUFFMAN;
            else if (!tsl_parse_is_word(p, "packed"))
                return tsl_parse_expected(p, "an index coding (packed, huffman)");
            TSL_TRY(tsl_lex_next(&p->lx));
        }
        return TSL_STATUS_OK;
    }
    return tsl_parse_expected(p, "an encoding (dense, masked, sparse, codebook)");
}

enum tsl_status tsl_parse_payload(struct tsl_parser *p, const struct tsl_type *t,
                                  struct tsl_const **out)
{
    int64_t numel, bytes;
    if (!tsl_shape_numel(&t->shape, &numel) || !tsl_dtype_storage_bytes(t->dtype, numel, &bytes))
        return tsl_parse_err(p, "constant type has no valid static size");
    struct tsl_const *c = tsl_const_new();
    if (!c)
        return tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
    enum tsl_status st = parse_payload_body(p, t, numel, c);
    if (st != TSL_STATUS_OK) {
        tsl_const_free(c);
        return st;
    }
    *out = c;
    return TSL_STATUS_OK;
}

/* ---- attributes ---- */

static enum tsl_status parse_attr_value(struct tsl_parser *p, const struct tsl_attr_field *f,
                                        char *dst)
{
    switch (f->type) {
    case TSL_ATTR_T_INT: {
        int64_t v;
        TSL_TRY(tsl_parse_int(p, INT64_MIN, INT64_MAX, f->name, &v));
        memcpy(dst, &v, sizeof v);
        return TSL_STATUS_OK;
    }
    case TSL_ATTR_T_FLOAT: {
        float v;
        TSL_TRY(parse_f32(p, &v));
        memcpy(dst, &v, sizeof v);
        return TSL_STATUS_OK;
    }
    case TSL_ATTR_T_INTS:
    case TSL_ATTR_T_FLOATS: {
        bool ints = f->type == TSL_ATTR_T_INTS;
        struct tsl_ints li = {0};
        struct tsl_floats lf = {0};
        TSL_TRY(tsl_parse_expect_punct(p, '['));
        uint32_t n = 0;
        while (!tsl_parse_is_punct(p, ']')) {
            if (n && tsl_parse_expect_punct(p, ',') != TSL_STATUS_OK)
                return TSL_STATUS_PARSE;
            if (n == TSL_MAX_ATTR_INTS)
                return tsl_parse_err(p, "attribute '%s' has more than %d values", f->name,
                                     TSL_MAX_ATTR_INTS);
            if (ints)
                TSL_TRY(tsl_parse_int(p, INT64_MIN, INT64_MAX, f->name, &li.v[n]));
            else
                TSL_TRY(parse_f32(p, &lf.v[n]));
            n++;
        }
        TSL_TRY(tsl_lex_next(&p->lx));
        li.n = lf.n = n;
        if (ints)
            memcpy(dst, &li, sizeof li);
        else
            memcpy(dst, &lf, sizeof lf);
        return TSL_STATUS_OK;
    }
    case TSL_ATTR_T_ENUM: {
        int64_t v;
        if (p->lx.tok.kind != TSL_TOK_WORD || !tsl_attr_enum_parse(f, p->lx.tok.text, &v)) {
            char opts[256] = "";
            for (uint32_t i = 0; i < f->n_enum; i++) {
                size_t l = strlen(opts);
                snprintf(opts + l, sizeof opts - l, "%s%s", i ? ", " : "", f->enum_names[i]);
            }
            char got[64];
            tsl_lex_describe(&p->lx, got, sizeof got);
            return tsl_parse_err(p, "bad value %s for attribute '%s' (one of: %s)", got,
                                 f->name, opts);
        }
        int e = (int)v;
        memcpy(dst, &e, sizeof e);
        return tsl_lex_next(&p->lx);
    }
    case TSL_ATTR_T_DTYPE: {
        enum tsl_dtype d;
        TSL_TRY(parse_dtype(p, &d));
        memcpy(dst, &d, sizeof d);
        return TSL_STATUS_OK;
    }
    case TSL_ATTR_T_SCALAR: {
        struct tsl_scalar s;
        memset(&s, 0, sizeof s);
        if (tsl_parse_is_word(p, "none")) {
            memcpy(dst, &s, sizeof s);
            return tsl_lex_next(&p->lx);
        }
        TSL_TRY(parse_dtype(p, &s.dtype));
        if (s.dtype == TSL_DTYPE_UNDEF)
            return tsl_parse_err(p, "scalar needs a dtype (or 'none')");
        if (tsl_dtype_is_float(s.dtype))
            TSL_TRY(parse_f64(p, &s.f));
        else
            TSL_TRY(tsl_parse_int(p, INT64_MIN, INT64_MAX, f->name, &s.i));
        memcpy(dst, &s, sizeof s);
        return TSL_STATUS_OK;
    }
    }
    return tsl_parse_err(p, "attribute '%s' has an unknown field type", f->name);
}

enum tsl_status tsl_parse_attrs(struct tsl_parser *p, enum tsl_op op, union tsl_attrs *a)
{
    if (!tsl_parse_is_punct(p, '{'))
        return TSL_STATUS_OK;
    TSL_TRY(tsl_lex_next(&p->lx));
    size_t nf;
    const struct tsl_attr_field *f = tsl_attr_fields(tsl_op_info(op)->attr_kind, &nf);
    uint64_t seen = 0;
    bool first = true;
    while (!tsl_parse_is_punct(p, '}')) {
        if (!first)
            TSL_TRY(tsl_parse_expect_punct(p, ','));
        first = false;
        if (p->lx.tok.kind != TSL_TOK_WORD)
            return tsl_parse_expected(p, "an attribute name");
        size_t i = 0;
        while (i < nf && strcmp(f[i].name, p->lx.tok.text) != 0)
            i++;
        if (i == nf)
            return tsl_parse_err(p, "unknown attribute '%.40s' for %s", p->lx.tok.text,
                                 tsl_op_name(op));
        if (i < 64 && (seen >> i & 1))
            return tsl_parse_err(p, "duplicate attribute '%s'", f[i].name);
        if (i < 64)
            seen |= 1ull << i;
        TSL_TRY(tsl_lex_next(&p->lx));
        TSL_TRY(tsl_parse_expect_punct(p, '='));
        TSL_TRY(parse_attr_value(p, &f[i], (char *)a + f[i].offset));
    }
    return tsl_lex_next(&p->lx);
}
