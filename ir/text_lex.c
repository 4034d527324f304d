/* text_lex.c - the lexer of the IR text form: splits untrusted bytes into
 * words, numbers, strings, byte strings, value names and punctuation, with
 * line:column positions, and reports lexical errors (bad escapes,
 * unterminated strings, stray bytes) as "<file>:<line>:<col>" diagnostics.
 * It knows no grammar (text_parse*.c) and never interprets numbers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/util.h"

void tsl_lex_init(struct tsl_lexer *lx, const char *src, size_t len, const char *filename,
                  struct tsl_diag *diag)
{
    memset(lx, 0, sizeof *lx);
    lx->src = src;
    lx->len = len;
    lx->line = lx->col = 1;
    lx->filename = filename ? filename : "<input>";
    lx->diag = diag;
}

void tsl_lex_fini(struct tsl_lexer *lx)
{
    free(lx->buf);
    lx->buf = NULL;
    lx->buf_cap = 0;
}

enum tsl_status tsl_lex_error_at(struct tsl_lexer *lx, uint32_t line, uint32_t col,
                                 const char *fmt, ...)
{
    if (lx->failed)
        return TSL_STATUS_PARSE;
    lx->failed = true;
    char where[512], msg[512];
    snprintf(where, sizeof where, "%s:%u:%u", lx->filename, line, col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tsl_diag_error(lx->diag, TSL_STATUS_PARSE, where, "%s", msg);
}

void tsl_lex_describe(const struct tsl_lexer *lx, char *out, size_t cap)
{
    const struct tsl_tok *t = &lx->tok;
    switch (t->kind) {
    case TSL_TOK_EOF: snprintf(out, cap, "end of input"); return;
    case TSL_TOK_WORD: snprintf(out, cap, "'%.40s'", t->text); return;
    case TSL_TOK_NUMBER: snprintf(out, cap, "number '%.40s'", t->text); return;
    case TSL_TOK_STRING: snprintf(out, cap, "a string"); return;
    case TSL_TOK_BYTES: snprintf(out, cap, "a byte string"); return;
    case TSL_TOK_VALUE: snprintf(out, cap, "value '%%%.40s'", t->text); return;
    case TSL_TOK_PUNCT: snprintf(out, cap, "'%c'", t->punct); return;
    }
    snprintf(out, cap, "?");
}

static int peekc(const struct tsl_lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static void advance(struct tsl_lexer *lx)
{
    if (lx->src[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

/* Append one byte to the token text buffer (kept NUL-terminated). */
static bool buf_put(struct tsl_lexer *lx, char c)
{
    if (!tsl_grow((void **)&lx->buf, &lx->buf_cap, lx->tok.len + 2, 1))
        return false;
    lx->buf[lx->tok.len++] = c;
    lx->buf[lx->tok.len] = '\0';
    return true;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_name_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '.';
}
static int hexval(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum tsl_status oom(struct tsl_lexer *lx)
{
    if (!lx->failed) {
        lx->failed = true;
        tsl_diag_error(lx->diag, TSL_STATUS_NOMEM, lx->filename, "out of memory");
    }
    return TSL_STATUS_NOMEM;
}

/* A "..." string at the cursor, decoded into the token buffer. */
static enum tsl_status lex_string(struct tsl_lexer *lx)
{
    uint32_t line = lx->line, col = lx->col;
    advance(lx); /* opening quote */
    for (;;) {
        int c = peekc(lx, 0);
        if (c < 0 || c == '\n')
            return tsl_lex_error_at(lx, line, col, "unterminated string");
        if (c == '"') {
            advance(lx);
            return TSL_STATUS_OK;
        }
        if (c == '\\') {
            uint32_t el = lx->line, ec = lx->col;
            int e = peekc(lx, 1);
            char out;
            size_t used = 2;
            switch (e) {
            case '"': out = '"'; break;
            case '\\': out = '\\'; break;
            case 'n': out = '\n'; break;
            case 't': out = '\t'; break;
            case 'r': out = '\r'; break;
            case 'x': {
                int h = hexval(peekc(lx, 2)), l = hexval(peekc(lx, 3));
                if (h < 0 || l < 0)
                    return tsl_lex_error_at(lx, el, ec,
                                            "bad escape: \\x needs two hex digits");
                if (h == 0 && l == 0)
                    return tsl_lex_error_at(lx, el, ec, "NUL byte (\\x00) in string");
                out = (char)(h * 16 + l);
                used = 4;
                break;
            }
            default:
                if (e >= 0x21 && e < 0x7f)
                    return tsl_lex_error_at(lx, el, ec, "bad escape '\\%c' in string", e);
                return tsl_lex_error_at(lx, el, ec, "bad escape in string");
            }
            for (size_t i = 0; i < used; i++)
                advance(lx);
            if (!buf_put(lx, out))
                return oom(lx);
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return tsl_lex_error_at(lx, lx->line, lx->col,
                                    "control byte 0x%02x in string (use \\x escapes)", c);
        if (!buf_put(lx, (char)c))
            return oom(lx);
        advance(lx);
    }
}

/* x"hex" at the cursor. */
static enum tsl_status lex_bytes(struct tsl_lexer *lx)
{
    uint32_t line = lx->line, col = lx->col;
    advance(lx); /* x */
    advance(lx); /* " */
    for (;;) {
        int c = peekc(lx, 0);
        if (c == '"') {
            advance(lx);
            return TSL_STATUS_OK;
        }
        if (c < 0 || c == '\n')
            return tsl_lex_error_at(lx, line, col, "unterminated byte string");
        int h = hexval(c), l = hexval(peekc(lx, 1));
        if (h < 0)
            return tsl_lex_error_at(lx, lx->line, lx->col, "bad hex digit in byte string");
        if (l < 0) {
            advance(lx);
            if (peekc(lx, 0) == '"')
                return tsl_lex_error_at(lx, line, col,
                                        "odd number of hex digits in byte string");
            return tsl_lex_error_at(lx, lx->line, lx->col, "bad hex digit in byte string");
        }
        if (!buf_put(lx, (char)(h * 16 + l)))
            return oom(lx);
        advance(lx);
        advance(lx);
    }
}

/* A bare word or number: a run of name characters; numbers may also hold a
 * sign after an exponent letter, and nan:<bits> is one token. */
static enum tsl_status lex_word(struct tsl_lexer *lx)
{
    bool number = !is_alpha(peekc(lx, 0));
    if (!buf_put(lx, (char)peekc(lx, 0)))
        return oom(lx);
    advance(lx);
    for (;;) {
        int c = peekc(lx, 0);
        bool take = is_name_char(c);
        if (!take && number && (c == '+' || c == '-') && lx->tok.len > 0) {
            char prev = lx->buf[lx->tok.len - 1];
            take = (prev == 'e' || prev == 'E') && strncmp(lx->buf, "0x", 2) != 0;
        }
        if (!take && c == ':' && is_name_char(peekc(lx, 1)) &&
            (strcmp(lx->buf, "nan") == 0 || strcmp(lx->buf, "-nan") == 0 ||
             strcmp(lx->buf, "+nan") == 0))
            take = true;
        if (!take)
            break;
        if (!buf_put(lx, (char)c))
            return oom(lx);
        advance(lx);
    }
    lx->tok.kind = number ? TSL_TOK_NUMBER : TSL_TOK_WORD;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_lex_next(struct tsl_lexer *lx)
{
    if (lx->failed)
        return TSL_STATUS_PARSE;
    /* skip blanks and comments */
    for (;;) {
        int c = peekc(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            advance(lx);
        } else if (c == '#') {
            while (peekc(lx, 0) >= 0 && peekc(lx, 0) != '\n')
                advance(lx);
        } else {
            break;
        }
    }
    struct tsl_tok *t = &lx->tok;
    t->line = lx->line;
    t->col = lx->col;
    t->len = 0;
    t->punct = 0;
    if (!lx->buf && !tsl_grow((void **)&lx->buf, &lx->buf_cap, 64, 1))
        return oom(lx);
    lx->buf[0] = '\0';
    t->text = lx->buf;
    int c = peekc(lx, 0);
    enum tsl_status st = TSL_STATUS_OK;
    if (c < 0) {
        t->kind = TSL_TOK_EOF;
    } else if (strchr("{}()[],:=?*", c) && c != 0) {
        t->kind = TSL_TOK_PUNCT;
        t->punct = (char)c;
        advance(lx);
    } else if (c == '"') {
        t->kind = TSL_TOK_STRING;
        st = lex_string(lx);
    } else if (c == 'x' && peekc(lx, 1) == '"') {
        t->kind = TSL_TOK_BYTES;
        st = lex_bytes(lx);
    } else if (c == '%') {
        t->kind = TSL_TOK_VALUE;
        advance(lx);
        if (peekc(lx, 0) == '"') {
            st = lex_string(lx);
        } else if (is_name_char(peekc(lx, 0))) {
            while (is_name_char(peekc(lx, 0))) {
                if (!buf_put(lx, (char)peekc(lx, 0)))
                    return oom(lx);
                advance(lx);
            }
        } else {
            st = tsl_lex_error_at(lx, t->line, t->col, "expected a value name after '%%'");
        }
    } else if (is_name_char(c) || c == '-' || c == '+') {
        st = lex_word(lx);
    } else if (c >= 0x21 && c < 0x7f) {
        st = tsl_lex_error_at(lx, t->line, t->col, "unexpected character '%c'", c);
    } else {
        st = tsl_lex_error_at(lx, t->line, t->col, "unexpected byte 0x%02x", c);
    }
    t->text = lx->buf; /* the buffer may have moved */
    return st;
}
