/* text_internal.h - helpers shared by the IR text printer, the IR text
 * parser and the Graphviz writer (ir/text_*.c, ir/dot.c): a growable output
 * buffer, name quoting, exact float formatting and the lexer.  Not a public
 * API; nothing here prints to a stream or keeps global state. */
#ifndef TESSEL_TEXT_INTERNAL_H
#define TESSEL_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

/* ---- output buffer ------------------------------------------------------ */

/* Growable NUL-terminated string.  After an allocation failure `failed` is
 * set and further appends are ignored; tsl_sbuf_finish then returns NULL. */
struct tsl_sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

void tsl_sbuf_putn(struct tsl_sbuf *b, const char *s, size_t n);
void tsl_sbuf_puts(struct tsl_sbuf *b, const char *s);
void tsl_sbuf_putc(struct tsl_sbuf *b, char c);
void tsl_sbuf_printf(struct tsl_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand over the string (caller frees); NULL (buffer freed) if any append failed. */
char *tsl_sbuf_finish(struct tsl_sbuf *b);

/* ---- names and numbers --------------------------------------------------- */

/* "..." with \" \\ \n \t \r and \xHH for other control bytes; bytes >= 0x80
 * are copied raw. */
void tsl_text_put_quoted(struct tsl_sbuf *b, const char *s);
/* A value name: %name when it is [A-Za-z0-9_.]+, else %"escaped". */
void tsl_text_put_value_name(struct tsl_sbuf *b, const char *s);
/* A symbol name: bare when it is [A-Za-z_][A-Za-z0-9_.]*, else quoted. */
void tsl_text_put_word(struct tsl_sbuf *b, const char *s);
/* Shortest decimal that reads back to the same bits; inf, -inf, nan, -nan
 * for the canonical quiet NaNs, nan:0x<bits> for any other NaN. */
void tsl_text_put_f32(struct tsl_sbuf *b, float f);
void tsl_text_put_f64(struct tsl_sbuf *b, double d);
/* An f16 or bf16 element given by its 16 stored bits. */
void tsl_text_put_f16bits(struct tsl_sbuf *b, enum tsl_dtype dt, uint16_t bits);
/* dtype + shape: f32[N,3], ?[*] (unknown dtype, unknown rank). */
void tsl_text_put_type(struct tsl_sbuf *b, const struct tsl_graph *g, const struct tsl_type *t);

/* Canonical quiet NaN bit patterns per float width. */
#define TSL_TEXT_NAN_F16 0x7e00u
#define TSL_TEXT_NAN_BF16 0x7fc0u
#define TSL_TEXT_NAN_F32 0x7fc00000u
#define TSL_TEXT_NAN_F64 0x7ff8000000000000ull

/* ---- lexer --------------------------------------------------------------- */

enum tsl_tok_kind {
    TSL_TOK_EOF,
    TSL_TOK_WORD,   /* bare word starting with a letter or '_' */
    TSL_TOK_NUMBER, /* word starting with a digit, '.', '-' or '+' */
    TSL_TOK_STRING, /* "..." (text = decoded bytes) */
    TSL_TOK_BYTES,  /* x"hex" (text = decoded bytes) */
    TSL_TOK_VALUE,  /* %name or %"..." (text = the name) */
    TSL_TOK_PUNCT,  /* one of { } ( ) [ ] , : = ? * */
};

struct tsl_tok {
    enum tsl_tok_kind kind;
    char punct;
    uint32_t line, col;
    char *text;  /* NUL-terminated, owned by the lexer, valid until next token */
    size_t len;  /* bytes in text (BYTES may contain NUL) */
};

struct tsl_lexer {
    const char *src;
    size_t len, pos;
    uint32_t line, col;
    const char *filename;
    struct tsl_diag *diag;
    struct tsl_tok tok;
    char *buf;
    size_t buf_cap;
    bool failed; /* an error was reported (first error only) */
};

void tsl_lex_init(struct tsl_lexer *lx, const char *src, size_t len, const char *filename,
                  struct tsl_diag *diag);
void tsl_lex_fini(struct tsl_lexer *lx);
/* Advance to the next token; PARSE (reported) on a lexical error. */
enum tsl_status tsl_lex_next(struct tsl_lexer *lx);
/* Report a parse error at line:col (only the first error is recorded). */
enum tsl_status tsl_lex_error_at(struct tsl_lexer *lx, uint32_t line, uint32_t col,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Short description of the current token for messages ("'{'", "end of input"). */
void tsl_lex_describe(const struct tsl_lexer *lx, char *out, size_t cap);

/* ---- parser (text_parse.c: statements; text_parse_lit.c: literals) ------ */

struct tsl_parser {
    struct tsl_lexer lx;
    struct tsl_graph *g;
};

/* Error at the current token; returns PARSE. */
enum tsl_status tsl_parse_err(struct tsl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "expected <what>, got <current token>" at the current token. */
enum tsl_status tsl_parse_expected(struct tsl_parser *p, const char *what);
/* Out-of-memory or unexpected API failure while building. */
enum tsl_status tsl_parse_api_fail(struct tsl_parser *p, enum tsl_status st);
bool tsl_parse_is_punct(const struct tsl_parser *p, char c);
bool tsl_parse_is_word(const struct tsl_parser *p, const char *w);
enum tsl_status tsl_parse_expect_punct(struct tsl_parser *p, char c);
enum tsl_status tsl_parse_expect_word(struct tsl_parser *p, const char *w);

/* An integer in [lo, hi] (overflow and range errors name `what`). */
enum tsl_status tsl_parse_int(struct tsl_parser *p, int64_t lo, int64_t hi, const char *what,
                              int64_t *out);
/* dtype + shape; symbols must be declared. */
enum tsl_status tsl_parse_type(struct tsl_parser *p, struct tsl_type *out);
/* Optional "quant ..." clause (leaves *q as NONE if absent). */
enum tsl_status tsl_parse_quant(struct tsl_parser *p, struct tsl_quant *q);
/* Constant payload for a value of static type t; *out owned by the caller. */
enum tsl_status tsl_parse_payload(struct tsl_parser *p, const struct tsl_type *t,
                                  struct tsl_const **out);
/* Optional "{ name = value, ... }" for op; fields not given keep *a's values. */
enum tsl_status tsl_parse_attrs(struct tsl_parser *p, enum tsl_op op, union tsl_attrs *a);

#endif
