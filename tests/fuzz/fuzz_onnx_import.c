/* fuzz_onnx_import.c - libFuzzer target for the ONNX importer: feeds each
 * input to tsl_onnx_import_buffer (no model folder, so external data is
 * rejected; a 64 MiB tensor budget keeps iterations fast) and to
 * tsl_onnx_read_tensor.  Any crash, leak or sanitizer report is a bug; error
 * statuses are the expected outcome for most inputs.  Built only with
 * -DTESSEL_FUZZ=ON (see tests/fuzz/CMakeLists.txt). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tessel/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_onnx_import_options opt = {0, (int64_t)64 << 20, 0};
    struct tsl_graph *g = NULL;
    if (tsl_onnx_import_buffer(data, size, NULL, "fuzz.onnx", &opt, &g, &d) == TSL_STATUS_OK)
        tsl_graph_destroy(g);
    tsl_diag_clear(&d);

    enum tsl_dtype dt;
    struct tsl_shape shape;
    void *buf = NULL;
    char *name = NULL;
    if (tsl_onnx_read_tensor(data, size, "fuzz.pb", &dt, &shape, &buf, &name, &d) ==
        TSL_STATUS_OK) {
        free(buf);
        free(name);
    }
    tsl_diag_fini(&d);
    return 0;
}
