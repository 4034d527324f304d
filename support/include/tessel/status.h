/* status.h - enum tsl_status, the return type of every fallible tessel call.
 *
 * The enum and its strings come from status.def.  A status says what class of
 * failure happened; the human-readable reason goes to a struct tsl_diag (see
 * diag.h).  This header does no I/O. */
#ifndef TESSEL_STATUS_H
#define TESSEL_STATUS_H

enum tsl_status {
#define TSL_STATUS(id, desc) TSL_STATUS_##id,
#include "tessel/status.def"
#undef TSL_STATUS
    TSL_STATUS_COUNT
};

/* Short description of a status ("out of memory"); never NULL. */
const char *tsl_status_str(enum tsl_status st);

/* Propagate a failing status from a call: TSL_TRY(f(x)); */
#define TSL_TRY(expr)                                                          \
    do {                                                                       \
        enum tsl_status tsl_try_st_ = (expr);                                  \
        if (tsl_try_st_ != TSL_STATUS_OK)                                      \
            return tsl_try_st_;                                                \
    } while (0)

#endif
