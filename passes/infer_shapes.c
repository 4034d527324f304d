/* infer_shapes.c - the infer-shapes pass: a thin wrapper over
 * tsl_infer_shapes so pipelines can re-infer after rewrites. */
#include "tessel/passes.h"
#include "tessel/shape.h"

enum tsl_status tsl_pass_infer_shapes(struct tsl_graph *g, struct tsl_pass_context *ctx)
{
    return tsl_infer_shapes(g, ctx->diag);
}
