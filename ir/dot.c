/* dot.c - tsl_graph_to_dot: a Graphviz rendering of a graph for humans.
 * One box per op node (op type + node name), an ellipse per graph input, a
 * note-shaped node per constant (type and encoding only, never the payload,
 * so large models still render), one sink per graph output slot, and an
 * edge per use labelled with the value name and type.  Every label is
 * escaped.  It does not parse anything and is not meant to round-trip. */
#include <stdlib.h>
#include <string.h>

#include "text_internal.h"
#include "tessel/text.h"
#include "tessel/util.h"

/* Append s escaped for a Graphviz double-quoted string (no quotes added). */
static void put_dot_escaped(struct tsl_sbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            tsl_sbuf_putc(b, '\\');
        if (*p == '\n')
            tsl_sbuf_puts(b, "\\n");
        else if (*p < 0x20 || *p == 0x7f)
            tsl_sbuf_putc(b, '?');
        else
            tsl_sbuf_putc(b, (char)*p);
    }
}

/* The IR text of v's type, escaped. */
static void put_dot_type(struct tsl_sbuf *b, const struct tsl_graph *g, const struct tsl_value *v)
{
    struct tsl_sbuf t = {0};
    tsl_text_put_type(&t, g, &v->type);
    char *s = tsl_sbuf_finish(&t);
    if (!s) {
        b->failed = true;
        return;
    }
    put_dot_escaped(b, s);
    free(s);
}

static const char *const enc_names[] = {
    [TSL_ENC_DENSE] = "dense",
    [TSL_ENC_MASKED] = "masked",
    [TSL_ENC_SPARSE] = "sparse",
    [TSL_ENC_CODEBOOK] = "codebook",
};

/* Graphviz id of the node that produces v (op node, input or constant). */
static void put_source_id(struct tsl_sbuf *b, const struct tsl_value *v)
{
    if (v->producer)
        tsl_sbuf_printf(b, "n%u", v->producer->id);
    else
        tsl_sbuf_printf(b, "v%u", v->id);
}

static void put_edge_label(struct tsl_sbuf *b, const struct tsl_graph *g,
                           const struct tsl_value *v)
{
    tsl_sbuf_puts(b, " [label=\"");
    put_dot_escaped(b, v->name);
    tsl_sbuf_puts(b, " : ");
    put_dot_type(b, g, v);
    tsl_sbuf_puts(b, "\"];\n");
}

enum tsl_status tsl_graph_to_dot(const struct tsl_graph *g, char **text_out)
{
    if (!g || !text_out)
        return TSL_STATUS_INVALID_ARG;
    struct tsl_sbuf b = {0};
    tsl_sbuf_puts(&b, "digraph \"");
    put_dot_escaped(&b, g->name ? g->name : "");
    tsl_sbuf_puts(&b, "\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                      "  edge [fontname=\"Helvetica\", fontsize=8];\n");
    for (uint32_t i = 0; i < g->n_values; i++) {
        const struct tsl_value *v = g->values[i];
        if (v->producer)
            continue;
        if (v->constant) {
            const struct tsl_const *c = v->constant;
            const char *enc = (unsigned)c->encoding < TSL_ARRAY_LEN(enc_names)
                                  ? enc_names[c->encoding] : "?";
            tsl_sbuf_printf(&b, "  v%u [shape=note, style=filled, fillcolor=\"#eeeeee\", "
                                "label=\"", v->id);
            put_dot_escaped(&b, v->name);
            tsl_sbuf_puts(&b, "\\n");
            put_dot_type(&b, g, v);
            tsl_sbuf_printf(&b, " %s\"];\n", enc);
        } else {
            tsl_sbuf_printf(&b, "  v%u [shape=ellipse, style=filled, fillcolor=\"#cce5ff\", "
                                "label=\"input ", v->id);
            put_dot_escaped(&b, v->name);
            tsl_sbuf_puts(&b, "\\n");
            put_dot_type(&b, g, v);
            tsl_sbuf_puts(&b, "\"];\n");
        }
    }
    for (const struct tsl_node *n = g->first; n; n = n->next) {
        tsl_sbuf_printf(&b, "  n%u [shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\", "
                            "label=\"%s", n->id, tsl_op_name(n->op));
        if (n->name && *n->name) {
            tsl_sbuf_puts(&b, "\\n");
            put_dot_escaped(&b, n->name);
        }
        tsl_sbuf_puts(&b, "\"];\n");
        for (uint32_t i = 0; i < n->n_inputs; i++) {
            const struct tsl_value *v = n->inputs[i];
            if (!v)
                continue;
            tsl_sbuf_puts(&b, "  ");
            put_source_id(&b, v);
            tsl_sbuf_printf(&b, " -> n%u", n->id);
            put_edge_label(&b, g, v);
        }
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct tsl_value *v = g->outputs[i];
        tsl_sbuf_printf(&b, "  out%u [shape=doublecircle, label=\"output %u\"];\n  ", i, i);
        put_source_id(&b, v);
        tsl_sbuf_printf(&b, " -> out%u", i);
        put_edge_label(&b, g, v);
    }
    tsl_sbuf_puts(&b, "}\n");
    char *s = tsl_sbuf_finish(&b);
    if (!s)
        return TSL_STATUS_NOMEM;
    *text_out = s;
    return TSL_STATUS_OK;
}
