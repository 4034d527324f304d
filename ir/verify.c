/* verify.c - TEMPORARY entry point so the tree links; being replaced by the
 * real verifier (owner: verifier work). */
#include "tessel/verify.h"
enum tsl_status tsl_verify(const struct tsl_graph *g, struct tsl_diag *diag)
{
    (void)g;
    (void)diag;
    return TSL_STATUS_OK;
}
