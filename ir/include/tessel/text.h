/* text.h - the textual form of the IR (see docs/ir.md for the grammar).
 *
 * print -> parse -> print is the identity.  Constants print in full by
 * default (exact: floats as hex bit patterns where needed); with
 * elide_constants, payloads above a size print as a summary and the text no
 * longer parses back to the same graph (for --print-after and humans). */
#ifndef TESSEL_TEXT_H
#define TESSEL_TEXT_H

#include <stddef.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

struct tsl_print_options {
    int elide_constants; /* summarize payloads of more than 16 elements */
};

/* Render g as text; *text_out is malloc'ed and NUL-terminated. */
enum tsl_status tsl_graph_to_text(const struct tsl_graph *g, const struct tsl_print_options *opt,
                                  char **text_out);
/* Parse IR text.  Errors are reported as "<filename>:<line>:<col>" + message. */
enum tsl_status tsl_graph_from_text(const char *text, size_t len, const char *filename,
                                    struct tsl_graph **out, struct tsl_diag *diag);

/* Graphviz rendering of g (nodes = ops, edges = values with their types). */
enum tsl_status tsl_graph_to_dot(const struct tsl_graph *g, char **text_out);

#endif
