/* fuzz_npy.c - libFuzzer target for the .npy reader (tsl_npy_parse, used by
 * `tessel run -i`, `--calib` and the test harnesses): arbitrary bytes must
 * give OK or PARSE (or NOMEM/LIMIT for absurd sizes), never a crash, leak or
 * sanitizer report.  When an image parses, it must survive a round trip:
 * encode it again, parse that, and get the same type, shape and bytes.
 * Built with -DTESSEL_FUZZ=ON (tests/fuzz/CMakeLists.txt).  Not here: the
 * malformed-file corpus checks with expected messages (tests/reference). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_npy a;
    memset(&a, 0, sizeof a);
    enum tsl_status st = tsl_npy_parse(data, size, "fuzz", &a, &diag);
    if (st == TSL_STATUS_OK) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (tsl_npy_encode(&a, &buf, &len, &diag) != TSL_STATUS_OK)
            abort(); /* the reader accepted an array the writer refuses */
        struct tsl_npy b;
        memset(&b, 0, sizeof b);
        if (tsl_npy_parse(buf, len, "fuzz-roundtrip", &b, &diag) != TSL_STATUS_OK)
            abort();
        if (b.type != a.type || b.rank != a.rank || b.data_bytes != a.data_bytes ||
            memcmp(b.dims, a.dims, sizeof a.dims[0] * (size_t)a.rank) != 0 ||
            (a.data_bytes && memcmp(a.data, b.data, a.data_bytes) != 0))
            abort(); /* the round trip changed the array */
        free(buf);
        tsl_npy_fini(&b);
        tsl_npy_fini(&a);
    } else if (st != TSL_STATUS_PARSE && st != TSL_STATUS_NOMEM && st != TSL_STATUS_LIMIT) {
        abort();
    }
    tsl_diag_fini(&diag);
    return 0;
}
