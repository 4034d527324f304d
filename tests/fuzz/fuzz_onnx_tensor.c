/* fuzz_onnx_tensor.c - libFuzzer target for the ONNX TensorProto reader
 * (tsl_onnx_read_tensor: the .pb input/output files of ONNX's node tests
 * and `tessel run -i x.pb`): arbitrary bytes must give OK, PARSE,
 * UNSUPPORTED (a dtype tessel has no type for) or LIMIT/NOMEM, never a
 * crash, leak or sanitizer report; an accepted tensor has a shape whose
 * element count is consistent.  Built with -DTESSEL_FUZZ=ON
 * (tests/fuzz/CMakeLists.txt).  Not here: whole models (fuzz_onnx_import). */
#include <stdint.h>
#include <stdlib.h>

#include "tessel/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    enum tsl_dtype dt;
    struct tsl_shape shape;
    void *buf = NULL;
    char *name = NULL;
    enum tsl_status st = tsl_onnx_read_tensor(data, size, "fuzz", &dt, &shape, &buf, &name, &diag);
    if (st == TSL_STATUS_OK) {
        if (shape.rank < 0 || shape.rank > TSL_MAX_RANK)
            abort();
        for (int32_t d = 0; d < shape.rank; d++)
            if (shape.dims[d] < 0)
                abort(); /* a read tensor has a concrete shape */
        free(buf);
        free(name);
    } else if (st != TSL_STATUS_PARSE && st != TSL_STATUS_UNSUPPORTED &&
               st != TSL_STATUS_LIMIT && st != TSL_STATUS_NOMEM) {
        abort();
    }
    tsl_diag_fini(&diag);
    return 0;
}
