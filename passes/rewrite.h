/* rewrite.h - rewrite helpers shared by the passes (passes/ only). */
#ifndef TESSEL_PASSES_REWRITE_H
#define TESSEL_PASSES_REWRITE_H

#include "tessel/passes.h"

/* Make every user of node n's single output read `repl` instead, then erase
 * n.  Graph output names are part of the model's interface: when n's output
 * is a graph output, `repl` takes over its name, which is only possible when
 * repl is an unnamed-interface value (a node output that is not itself a
 * graph output).  Returns false (and changes nothing) when the rewrite would
 * rename the interface. */
bool tsl_rewrite_forward(struct tsl_graph *g, struct tsl_node *n, struct tsl_value *repl,
                         enum tsl_status *st_out);

/* Decode a constant value to a malloc'ed f32 buffer (NULL if v is not an f32
 * constant or decoding fails). */
float *tsl_rewrite_const_f32(const struct tsl_value *v, int64_t *numel_out);

#endif
