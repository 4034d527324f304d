/* status.c - status code names, generated from status.def. */
#include "tessel/status.h"

static const char *const status_names[] = {
#define TSL_STATUS(id, desc) [TSL_STATUS_##id] = desc,
#include "tessel/status.def"
#undef TSL_STATUS
};

const char *tsl_status_str(enum tsl_status st)
{
    if ((unsigned)st >= TSL_STATUS_COUNT)
        return "unknown status";
    return status_names[st];
}
