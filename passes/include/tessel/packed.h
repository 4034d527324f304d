/* packed.h - the compressed weight container (`tessel compress
 * --emit-packed FILE`): every compressible weight of a graph with its
 * bit-packed codebook indices, codebook, per-channel scales and a compact
 * sparsity pattern (bitmask or escaped relative gaps, whichever is smaller).
 * The byte format is specified in docs/passes.md ("The packed container").
 *
 * Example:
 *     uint8_t *buf; size_t len;
 *     tsl_packed_write(g, &buf, &len, &diag);       // after prune/codebook
 *     struct tsl_graph *w;
 *     tsl_packed_read(buf, len, "w.tpk", NULL, &w, &diag);
 *     // w holds one constant per layer; tsl_const_decode of each equals the
 *     // decode of the same-named constant of g, bit for bit
 *
 * The reader is a parser of untrusted input: every length and count is
 * checked against the bytes left and against limits before anything is
 * allocated; errors are PARSE with a diagnostic "<where>: byte N: ...".
 * Not here: choosing what to compress (the passes), files (tools/). */
#ifndef TESSEL_PACKED_H
#define TESSEL_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "tessel/diag.h"
#include "tessel/ir.h"

#define TSL_PACKED_MAGIC "TSPK"
#define TSL_PACKED_VERSION 1

/* Layer kinds and pattern kinds as stored (one byte each). */
enum tsl_packed_kind { TSL_PACKED_RAW = 0, TSL_PACKED_SPARSE = 1, TSL_PACKED_CODEBOOK = 2 };
enum tsl_packed_pattern { TSL_PATTERN_ALL = 0, TSL_PATTERN_BITMASK = 1, TSL_PATTERN_GAPS = 2 };

/* Serialize the compressible weights of g (see compress_common.h: the f32
 * constant weights of Conv, ConvTranspose, Gemm, MatMul), in node order.
 * CODEBOOK payloads are stored as codebook layers (indices of kept entries
 * only), MASKED ones as sparse f32 layers, everything else as raw f32.
 * *buf_out is malloc'ed.  INVALID_ARG if g has no compressible weight; PARSE
 * if a payload does not decode; NOMEM. */
enum tsl_status tsl_packed_write(struct tsl_graph *g, uint8_t **buf_out, size_t *len_out,
                                 struct tsl_diag *diag);

struct tsl_packed_read_options {
    int64_t max_layer_numel; /* largest element count of one layer (default 2^28) */
    int64_t max_total_numel; /* sum over layers (default 2^30) */
};

/* Parse a container into a new graph named "packed" holding one constant per
 * layer (f32, the stored shape; payload CODEBOOK with mask, MASKED or DENSE).
 * opt may be NULL (defaults).  `where` names the input in diagnostics.  On
 * error *out is NULL and nothing leaks. */
enum tsl_status tsl_packed_read(const uint8_t *buf, size_t len, const char *where,
                                const struct tsl_packed_read_options *opt,
                                struct tsl_graph **out, struct tsl_diag *diag);

#endif
