/* diag.c - the diagnostics sink (see diag.h).  Stores formatted messages; does
 * no I/O.  Memory per sink is bounded by TSL_DIAG_MAX_ENTRIES. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/diag.h"
#include "tessel/util.h"

void tsl_diag_init(struct tsl_diag *d)
{
    memset(d, 0, sizeof *d);
}

void tsl_diag_clear(struct tsl_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_entries; i++) {
        free(d->entries[i].where);
        free(d->entries[i].message);
    }
    d->n_entries = 0;
    d->n_errors = 0;
    d->n_warnings = 0;
}

void tsl_diag_fini(struct tsl_diag *d)
{
    if (!d)
        return;
    tsl_diag_clear(d);
    free(d->entries);
    memset(d, 0, sizeof *d);
}

__attribute__((format(printf, 5, 0)))
static void record(struct tsl_diag *d, enum tsl_severity sev, enum tsl_status st,
                   const char *where, const char *fmt, va_list ap)
{
    if (sev == TSL_SEV_ERROR)
        d->n_errors++;
    else if (sev == TSL_SEV_WARNING)
        d->n_warnings++;
    if (d->n_entries >= TSL_DIAG_MAX_ENTRIES)
        return;
    if (!tsl_grow((void **)&d->entries, &d->cap_entries, d->n_entries + 1,
                  sizeof *d->entries))
        return;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    struct tsl_diag_entry *e = &d->entries[d->n_entries];
    e->severity = sev;
    e->status = st;
    e->where = tsl_strdup(where ? where : "");
    e->message = tsl_strdup(buf);
    if (!e->where || !e->message) {
        free(e->where);
        free(e->message);
        return;
    }
    d->n_entries++;
}

enum tsl_status tsl_diag_error(struct tsl_diag *d, enum tsl_status st,
                               const char *where, const char *fmt, ...)
{
    if (!d)
        return st;
    va_list ap;
    va_start(ap, fmt);
    record(d, TSL_SEV_ERROR, st, where, fmt, ap);
    va_end(ap);
    return st;
}

void tsl_diag_warning(struct tsl_diag *d, const char *where, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    record(d, TSL_SEV_WARNING, TSL_STATUS_OK, where, fmt, ap);
    va_end(ap);
}

void tsl_diag_note(struct tsl_diag *d, const char *where, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    record(d, TSL_SEV_NOTE, TSL_STATUS_OK, where, fmt, ap);
    va_end(ap);
}

const struct tsl_diag_entry *tsl_diag_first_error(const struct tsl_diag *d)
{
    if (!d)
        return NULL;
    for (size_t i = 0; i < d->n_entries; i++)
        if (d->entries[i].severity == TSL_SEV_ERROR)
            return &d->entries[i];
    return NULL;
}
