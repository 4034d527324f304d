/* ref_version.c - identifies the reference backend build (keeps the library
 * non-empty until its kernels land). */
#include "tessel/reference.h"
const char *tsl_reference_version(void);
const char *tsl_reference_version(void)
{
    return "reference-0";
}
