/* fuzz_packed.c - libFuzzer target for the packed container reader
 * (tsl_packed_read): arbitrary bytes must give OK or PARSE, never a crash,
 * leak or sanitizer report; when a container parses, every layer must decode
 * (the reader only builds payloads tsl_const_decode accepts).  Built with
 * -DTESSEL_FUZZ=ON (tests/fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdlib.h>

#include "tessel/packed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_graph *g = NULL;
    struct tsl_packed_read_options opt = {.max_layer_numel = 1 << 20, .max_total_numel = 1 << 22};
    enum tsl_status st = tsl_packed_read(data, size, "fuzz", &opt, &g, &diag);
    if (st == TSL_STATUS_OK) {
        for (uint32_t i = 0; i < g->n_values; i++) {
            void *dense = NULL;
            if (tsl_const_decode(g->values[i], &dense, &diag) != TSL_STATUS_OK)
                abort(); /* the reader accepted a payload the IR cannot decode */
            free(dense);
        }
        tsl_graph_destroy(g);
    } else if (st != TSL_STATUS_PARSE && st != TSL_STATUS_NOMEM) {
        abort();
    }
    tsl_diag_fini(&diag);
    return 0;
}
