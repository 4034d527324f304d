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

/* Output-channel layout of a weight (input 1 of prod): element i belongs to
 * output channel (i / inner) % n_ch.  Conv [Cout, Cin/g, k...];
 * ConvTranspose [Cin, Cout/g, k...] with group 1 only; Gemm's B ([K,N], or
 * [N,K] with transB).  False for anything else or a non-static shape. */
struct tsl_rewrite_wlayout {
    int64_t outer, n_ch, inner;
};
bool tsl_rewrite_weight_layout(const struct tsl_node *prod, struct tsl_rewrite_wlayout *w);

/* Add a dense f32 constant named after `base` (made unique) holding a copy
 * of data with the given shape. */
enum tsl_status tsl_rewrite_add_f32_const(struct tsl_graph *g, const char *base, int32_t rank,
                                          const int64_t *dims, float *data, struct tsl_value **out);

#endif
