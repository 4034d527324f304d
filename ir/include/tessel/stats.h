/* stats.h - counts over a graph: parameters (every element of every
 * constant), their stored bytes, multiply-accumulates of Conv, ConvTranspose,
 * Gemm and MatMul (needs inferred static shapes; symbolic dims count as 1 and
 * set macs_symbolic), and nodes per op. */
#ifndef TESSEL_STATS_H
#define TESSEL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "tessel/ir.h"

struct tsl_graph_stats {
    int64_t params;
    int64_t param_bytes;
    int64_t macs;
    bool macs_symbolic; /* some MAC count used a symbolic dim as 1 */
    uint32_t op_count[TSL_OP_COUNT];
};

void tsl_graph_compute_stats(const struct tsl_graph *g, struct tsl_graph_stats *out);

#endif
