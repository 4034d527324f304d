/* fuzz_ir_text.c - libFuzzer target for the IR text parser.  Parses
 * arbitrary bytes; whenever they parse, the graph is printed, the print is
 * parsed again (must succeed) and printed again (must be identical), so the
 * fuzzer checks the round-trip property as well as memory safety.  Built
 * only with -DTESSEL_FUZZ=ON (see tests/ir_text/CMakeLists.txt). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsl_graph *g = NULL;
    if (tsl_graph_from_text((const char *)data, size, "fuzz", &g, NULL) != TSL_STATUS_OK)
        return 0;
    char *t1 = NULL, *t2 = NULL;
    if (tsl_graph_to_text(g, NULL, &t1) != TSL_STATUS_OK)
        abort();
    struct tsl_graph *g2 = NULL;
    if (tsl_graph_from_text(t1, strlen(t1), "fuzz-reprint", &g2, NULL) != TSL_STATUS_OK)
        abort(); /* printed text must parse */
    if (tsl_graph_to_text(g2, NULL, &t2) != TSL_STATUS_OK || strcmp(t1, t2) != 0)
        abort(); /* print -> parse -> print must be the identity */
    char *dot = NULL;
    if (tsl_graph_to_dot(g2, &dot) != TSL_STATUS_OK)
        abort();
    struct tsl_print_options opt = {.elide_constants = 1};
    char *t3 = NULL;
    if (tsl_graph_to_text(g2, &opt, &t3) != TSL_STATUS_OK)
        abort();
    free(t3);
    free(dot);
    free(t1);
    free(t2);
    tsl_graph_destroy(g);
    tsl_graph_destroy(g2);
    return 0;
}
