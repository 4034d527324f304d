/* diag.h - the diagnostics sink that library code reports into.
 *
 * Library code never prints.  A failing function records why in the caller's
 * struct tsl_diag (where + message) and returns a status.  Only tools/ turns
 * the first error into "tessel: error: <where>: <what>".  The sink keeps at
 * most TSL_DIAG_MAX_ENTRIES entries (later ones only bump the counters), so a
 * hostile input cannot grow it without bound.  A NULL sink is allowed
 * everywhere and discards everything. */
#ifndef TESSEL_DIAG_H
#define TESSEL_DIAG_H

#include <stddef.h>
#include "tessel/status.h"

#define TSL_DIAG_MAX_ENTRIES 256

enum tsl_severity { TSL_SEV_ERROR, TSL_SEV_WARNING, TSL_SEV_NOTE };

struct tsl_diag_entry {
    enum tsl_severity severity;
    enum tsl_status status; /* for errors: the status reported with it */
    char *where;            /* file, node or value name; never NULL ("" if none) */
    char *message;          /* never NULL */
};

/* Owned by the caller; init with tsl_diag_init, free with tsl_diag_fini. */
struct tsl_diag {
    struct tsl_diag_entry *entries;
    size_t n_entries, cap_entries;
    size_t n_errors, n_warnings;
};

void tsl_diag_init(struct tsl_diag *d);
void tsl_diag_fini(struct tsl_diag *d);
/* Drop all entries and counts. */
void tsl_diag_clear(struct tsl_diag *d);

/* Record an error and return `st`, so callers can write
 *     return tsl_diag_error(d, TSL_STATUS_PARSE, name, "bad %s", x);
 * If recording itself fails for lack of memory the counters still move. */
enum tsl_status tsl_diag_error(struct tsl_diag *d, enum tsl_status st,
                               const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tsl_diag_warning(struct tsl_diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tsl_diag_note(struct tsl_diag *d, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* First recorded error, or NULL. */
const struct tsl_diag_entry *tsl_diag_first_error(const struct tsl_diag *d);

#endif
