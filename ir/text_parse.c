/* text_parse.c - tsl_graph_from_text: the statement-level half of the IR
 * text parser.  Reads the header, symbols, inputs, constants, nodes and
 * outputs and builds the graph through the public graph API, so every graph
 * invariant (unique names, defined-before-use order, arity) holds.  Strict:
 * the first error is reported as "<file>:<line>:<col>" + message and the
 * partial graph is freed.  Iterative (no recursion), so hostile nesting
 * cannot exhaust the stack.  Literals, types, payloads and attributes are in
 * text_parse_lit.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/text.h"
#include "tessel/util.h"

/* ---- shared helpers (declared in text_internal.h) ---- */

enum tsl_status tsl_parse_err(struct tsl_parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tsl_lex_error_at(&p->lx, p->lx.tok.line, p->lx.tok.col, "%s", msg);
}

enum tsl_status tsl_parse_expected(struct tsl_parser *p, const char *what)
{
    char got[80];
    tsl_lex_describe(&p->lx, got, sizeof got);
    return tsl_parse_err(p, "expected %s, got %s", what, got);
}

enum tsl_status tsl_parse_api_fail(struct tsl_parser *p, enum tsl_status st)
{
    if (st == TSL_STATUS_NOMEM) {
        if (!p->lx.failed) {
            p->lx.failed = true;
            tsl_diag_error(p->lx.diag, TSL_STATUS_NOMEM, p->lx.filename, "out of memory");
        }
        return TSL_STATUS_NOMEM;
    }
    return tsl_parse_err(p, "cannot build graph here: %s", tsl_status_str(st));
}

bool tsl_parse_is_punct(const struct tsl_parser *p, char c)
{
    return p->lx.tok.kind == TSL_TOK_PUNCT && p->lx.tok.punct == c;
}

bool tsl_parse_is_word(const struct tsl_parser *p, const char *w)
{
    return p->lx.tok.kind == TSL_TOK_WORD && strcmp(p->lx.tok.text, w) == 0;
}

enum tsl_status tsl_parse_expect_punct(struct tsl_parser *p, char c)
{
    if (!tsl_parse_is_punct(p, c)) {
        char w[8] = {'\'', c, '\'', 0};
        return tsl_parse_expected(p, w);
    }
    return tsl_lex_next(&p->lx);
}

enum tsl_status tsl_parse_expect_word(struct tsl_parser *p, const char *w)
{
    if (!tsl_parse_is_word(p, w)) {
        char q[64];
        snprintf(q, sizeof q, "'%s'", w);
        return tsl_parse_expected(p, q);
    }
    return tsl_lex_next(&p->lx);
}

/* ---- names ---- */

/* Copy the current token's text as a name (WORD or STRING), then advance. */
static enum tsl_status take_name(struct tsl_parser *p, const char *what, char **out)
{
    if (p->lx.tok.kind != TSL_TOK_WORD && p->lx.tok.kind != TSL_TOK_STRING)
        return tsl_parse_expected(p, what);
    char *s = tsl_strdup(p->lx.tok.text);
    if (!s)
        return tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
    enum tsl_status st = tsl_lex_next(&p->lx);
    if (st != TSL_STATUS_OK) {
        free(s);
        return st;
    }
    *out = s;
    return TSL_STATUS_OK;
}

/* A new value name: %name not yet defined.  *out is malloc'ed. */
static enum tsl_status take_new_value(struct tsl_parser *p, char **out)
{
    if (p->lx.tok.kind != TSL_TOK_VALUE)
        return tsl_parse_expected(p, "a value name (%name)");
    if (tsl_graph_find_value(p->g, p->lx.tok.text))
        return tsl_parse_err(p, "duplicate value name '%%%.60s'", p->lx.tok.text);
    char *s = tsl_strdup(p->lx.tok.text);
    if (!s)
        return tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
    enum tsl_status st = tsl_lex_next(&p->lx);
    if (st != TSL_STATUS_OK) {
        free(s);
        return st;
    }
    *out = s;
    return TSL_STATUS_OK;
}

/* A reference to a defined value. */
static enum tsl_status take_value_ref(struct tsl_parser *p, struct tsl_value **out)
{
    if (p->lx.tok.kind != TSL_TOK_VALUE)
        return tsl_parse_expected(p, "a value name (%name)");
    struct tsl_value *v = tsl_graph_find_value(p->g, p->lx.tok.text);
    if (!v)
        return tsl_parse_err(p, "undefined value '%%%.60s'", p->lx.tok.text);
    *out = v;
    return tsl_lex_next(&p->lx);
}

/* ---- statements ---- */

static enum tsl_status parse_symbols(struct tsl_parser *p)
{
    TSL_TRY(tsl_lex_next(&p->lx));
    for (;;) {
        if (p->lx.tok.kind != TSL_TOK_WORD && p->lx.tok.kind != TSL_TOK_STRING)
            return tsl_parse_expected(p, "a symbol name");
        for (uint32_t k = 0; k < p->g->n_symbols; k++)
            if (strcmp(p->g->symbols[k], p->lx.tok.text) == 0)
                return tsl_parse_err(p, "duplicate symbol '%.60s'", p->lx.tok.text);
        uint32_t idx;
        enum tsl_status st = tsl_graph_symbol(p->g, p->lx.tok.text, &idx);
        if (st != TSL_STATUS_OK)
            return tsl_parse_api_fail(p, st);
        TSL_TRY(tsl_lex_next(&p->lx));
        if (!tsl_parse_is_punct(p, ','))
            return TSL_STATUS_OK;
        TSL_TRY(tsl_lex_next(&p->lx));
    }
}

/* input %x : type [quant] */
static enum tsl_status parse_input(struct tsl_parser *p)
{
    TSL_TRY(tsl_lex_next(&p->lx));
    char *name;
    TSL_TRY(take_new_value(p, &name));
    struct tsl_type t;
    struct tsl_quant q = {0};
    enum tsl_status st = tsl_parse_expect_punct(p, ':');
    if (st == TSL_STATUS_OK)
        st = tsl_parse_type(p, &t);
    if (st == TSL_STATUS_OK)
        st = tsl_parse_quant(p, &q);
    struct tsl_value *v = NULL;
    if (st == TSL_STATUS_OK) {
        st = tsl_graph_add_input(p->g, name, &t, &v);
        if (st != TSL_STATUS_OK)
            st = tsl_parse_api_fail(p, st);
    }
    free(name);
    if (st != TSL_STATUS_OK) {
        tsl_quant_fini(&q);
        return st;
    }
    v->quant = q;
    return TSL_STATUS_OK;
}

/* const %w : type [quant] = payload */
static enum tsl_status parse_const(struct tsl_parser *p)
{
    TSL_TRY(tsl_lex_next(&p->lx));
    char *name;
    TSL_TRY(take_new_value(p, &name));
    struct tsl_type t;
    struct tsl_quant q = {0};
    struct tsl_const *c = NULL;
    enum tsl_status st = tsl_parse_expect_punct(p, ':');
    uint32_t tl = p->lx.tok.line, tc = p->lx.tok.col;
    if (st == TSL_STATUS_OK)
        st = tsl_parse_type(p, &t);
    if (st == TSL_STATUS_OK && !tsl_shape_is_static(&t.shape))
        st = tsl_lex_error_at(&p->lx, tl, tc,
                              "constant type must be static (known rank, no symbols)");
    if (st == TSL_STATUS_OK)
        st = tsl_parse_quant(p, &q);
    if (st == TSL_STATUS_OK)
        st = tsl_parse_expect_punct(p, '=');
    if (st == TSL_STATUS_OK)
        st = tsl_parse_payload(p, &t, &c);
    struct tsl_value *v = NULL;
    if (st == TSL_STATUS_OK) {
        st = tsl_graph_add_constant_take(p->g, name, &t, c, &v);
        if (st != TSL_STATUS_OK) {
            tsl_const_free(c);
            st = tsl_parse_api_fail(p, st);
        }
    }
    free(name);
    if (st != TSL_STATUS_OK) {
        tsl_quant_fini(&q);
        return st;
    }
    v->quant = q;
    return TSL_STATUS_OK;
}

/* output %a, %b, ... */
static enum tsl_status parse_output(struct tsl_parser *p)
{
    TSL_TRY(tsl_lex_next(&p->lx));
    for (;;) {
        struct tsl_value *v = NULL;
        TSL_TRY(take_value_ref(p, &v));
        enum tsl_status st = tsl_graph_add_output(p->g, v);
        if (st != TSL_STATUS_OK)
            return tsl_parse_api_fail(p, st);
        if (!tsl_parse_is_punct(p, ','))
            return TSL_STATUS_OK;
        TSL_TRY(tsl_lex_next(&p->lx));
    }
}

/* Pending outputs of a node statement. */
struct outdefs {
    char **names;
    struct tsl_type *types;
    struct tsl_quant *quants;
    size_t n, cap_names, cap_types, cap_quants;
};

static void outdefs_fini(struct outdefs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->names[i]);
        tsl_quant_fini(&o->quants[i]);
    }
    free(o->names);
    free(o->types);
    free(o->quants);
}

static enum tsl_status parse_outdefs(struct tsl_parser *p, struct outdefs *o)
{
    for (;;) {
        if (!tsl_grow((void **)&o->names, &o->cap_names, o->n + 1, sizeof *o->names) ||
            !tsl_grow((void **)&o->types, &o->cap_types, o->n + 1, sizeof *o->types) ||
            !tsl_grow((void **)&o->quants, &o->cap_quants, o->n + 1, sizeof *o->quants))
            return tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
        /* Duplicates among this node's own outputs: checked against the
         * previous output only here (cheap); the general case is caught
         * when the node is built (see parse_node_rest). */
        if (p->lx.tok.kind == TSL_TOK_VALUE && o->n &&
            strcmp(o->names[o->n - 1], p->lx.tok.text) == 0)
            return tsl_parse_err(p, "duplicate value name '%%%.60s'", p->lx.tok.text);
        char *name;
        TSL_TRY(take_new_value(p, &name));
        o->names[o->n] = name;
        memset(&o->quants[o->n], 0, sizeof o->quants[o->n]);
        o->n++;
        TSL_TRY(tsl_parse_expect_punct(p, ':'));
        TSL_TRY(tsl_parse_type(p, &o->types[o->n - 1]));
        TSL_TRY(tsl_parse_quant(p, &o->quants[o->n - 1]));
        if (!tsl_parse_is_punct(p, ','))
            return TSL_STATUS_OK;
        TSL_TRY(tsl_lex_next(&p->lx));
    }
}

/* %y : type [, ...] = Op ["name"] (inputs) [{attrs}] */
static enum tsl_status parse_node_rest(struct tsl_parser *p, struct outdefs *o,
                                       struct tsl_value ***ins, size_t *cap_ins)
{
    TSL_TRY(parse_outdefs(p, o));
    TSL_TRY(tsl_parse_expect_punct(p, '='));
    if (p->lx.tok.kind != TSL_TOK_WORD)
        return tsl_parse_expected(p, "an op name");
    uint32_t op_line = p->lx.tok.line, op_col = p->lx.tok.col;
    enum tsl_op op;
    if (!tsl_op_from_name(p->lx.tok.text, &op))
        return tsl_parse_err(p, "unknown op '%.60s'", p->lx.tok.text);
    TSL_TRY(tsl_lex_next(&p->lx));
    char *nname = NULL;
    if (p->lx.tok.kind == TSL_TOK_STRING) {
        if (!*p->lx.tok.text)
            return tsl_parse_err(p, "empty node name (omit it instead)");
        if (tsl_graph_find_node(p->g, p->lx.tok.text))
            return tsl_parse_err(p, "duplicate node name '%.60s'", p->lx.tok.text);
        TSL_TRY(take_name(p, "a node name", &nname));
    }
    enum tsl_status st = tsl_parse_expect_punct(p, '(');
    size_t n_in = 0;
    while (st == TSL_STATUS_OK && !tsl_parse_is_punct(p, ')')) {
        if (n_in)
            st = tsl_parse_expect_punct(p, ',');
        if (st != TSL_STATUS_OK)
            break;
        if (!tsl_grow((void **)ins, cap_ins, n_in + 1, sizeof **ins)) {
            st = tsl_parse_api_fail(p, TSL_STATUS_NOMEM);
            break;
        }
        if (tsl_parse_is_word(p, "_")) {
            (*ins)[n_in++] = NULL;
            st = tsl_lex_next(&p->lx);
        } else if (p->lx.tok.kind == TSL_TOK_VALUE) {
            st = take_value_ref(p, &(*ins)[n_in]);
            n_in++;
        } else {
            st = tsl_parse_expected(p, "an input (%name or _)");
        }
    }
    if (st == TSL_STATUS_OK)
        st = tsl_lex_next(&p->lx); /* ')' */
    const struct tsl_op_info *info = tsl_op_info(op);
    if (st == TSL_STATUS_OK && (n_in < info->min_inputs || n_in > info->max_inputs)) {
        if (info->max_inputs == TSL_VARIADIC)
            st = tsl_lex_error_at(&p->lx, op_line, op_col,
                                  "%s takes at least %u inputs, got %zu", info->name,
                                  info->min_inputs, n_in);
        else
            st = tsl_lex_error_at(&p->lx, op_line, op_col, "%s takes %u to %u inputs, got %zu",
                                  info->name, info->min_inputs, info->max_inputs, n_in);
    }
    if (st == TSL_STATUS_OK && (o->n < info->min_outputs || o->n > info->max_outputs))
        st = tsl_lex_error_at(&p->lx, op_line, op_col, "%s has %u to %u outputs, got %zu",
                              info->name, info->min_outputs, info->max_outputs, o->n);
    union tsl_attrs attrs;
    tsl_attrs_set_defaults(info->attr_kind, &attrs);
    if (st == TSL_STATUS_OK)
        st = tsl_parse_attrs(p, op, &attrs);
    struct tsl_node *n = NULL;
    if (st == TSL_STATUS_OK) {
        st = tsl_graph_add_node(p->g, op, nname, (uint32_t)n_in, *ins, (uint32_t)o->n, &n,
                                (const char *const *)o->names);
        if (st == TSL_STATUS_INVALID_ARG) /* all else was checked: a repeated output name */
            st = tsl_lex_error_at(&p->lx, op_line, op_col,
                                  "duplicate value name among the outputs of this %s",
                                  info->name);
        else if (st != TSL_STATUS_OK)
            st = tsl_parse_api_fail(p, st);
    }
    free(nname);
    if (st != TSL_STATUS_OK)
        return st;
    n->attrs = attrs;
    for (size_t i = 0; i < o->n; i++) {
        n->outputs[i]->type = o->types[i];
        n->outputs[i]->quant = o->quants[i];
        memset(&o->quants[i], 0, sizeof o->quants[i]); /* moved */
    }
    return TSL_STATUS_OK;
}

static enum tsl_status parse_body(struct tsl_parser *p)
{
    struct tsl_value **ins = NULL;
    size_t cap_ins = 0;
    enum tsl_status st = TSL_STATUS_OK;
    while (st == TSL_STATUS_OK && !tsl_parse_is_punct(p, '}')) {
        if (tsl_parse_is_word(p, "symbols")) {
            st = parse_symbols(p);
        } else if (tsl_parse_is_word(p, "input")) {
            st = parse_input(p);
        } else if (tsl_parse_is_word(p, "const")) {
            st = parse_const(p);
        } else if (tsl_parse_is_word(p, "output")) {
            st = parse_output(p);
        } else if (p->lx.tok.kind == TSL_TOK_VALUE) {
            struct outdefs o = {0};
            st = parse_node_rest(p, &o, &ins, &cap_ins);
            outdefs_fini(&o);
        } else {
            st = tsl_parse_expected(p, "a statement (symbols, input, const, output, %value) "
                                       "or '}'");
        }
    }
    free(ins);
    return st;
}

/* graph "name" [opset N] [producer "p"] { ... } */
static enum tsl_status parse_graph(struct tsl_parser *p)
{
    TSL_TRY(tsl_lex_next(&p->lx));
    TSL_TRY(tsl_parse_expect_word(p, "graph"));
    char *name;
    TSL_TRY(take_name(p, "a graph name", &name));
    enum tsl_status st = tsl_graph_create(name, &p->g);
    free(name);
    if (st != TSL_STATUS_OK)
        return tsl_parse_api_fail(p, st);
    if (tsl_parse_is_word(p, "opset")) {
        TSL_TRY(tsl_lex_next(&p->lx));
        TSL_TRY(tsl_parse_int(p, 0, INT64_MAX, "opset", &p->g->source_opset));
    }
    if (tsl_parse_is_word(p, "producer")) {
        TSL_TRY(tsl_lex_next(&p->lx));
        if (p->lx.tok.kind != TSL_TOK_STRING)
            return tsl_parse_expected(p, "a producer string");
        TSL_TRY(take_name(p, "a producer string", &p->g->producer_name));
    }
    TSL_TRY(tsl_parse_expect_punct(p, '{'));
    TSL_TRY(parse_body(p));
    TSL_TRY(tsl_lex_next(&p->lx)); /* '}' */
    if (p->lx.tok.kind != TSL_TOK_EOF)
        return tsl_parse_expected(p, "end of input after the graph");
    return TSL_STATUS_OK;
}

enum tsl_status tsl_graph_from_text(const char *text, size_t len, const char *filename,
                                    struct tsl_graph **out, struct tsl_diag *diag)
{
    if (!out || (!text && len))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, filename ? filename : "<input>",
                              "no text to parse");
    struct tsl_parser p;
    memset(&p, 0, sizeof p);
    tsl_lex_init(&p.lx, text ? text : "", len, filename, diag);
    enum tsl_status st = parse_graph(&p);
    tsl_lex_fini(&p.lx);
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(p.g);
        return st;
    }
    *out = p.g;
    return TSL_STATUS_OK;
}
