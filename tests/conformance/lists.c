/* lists.c - reads the committed list files of the conformance harness:
 * expected_failures.txt (test names) and tolerances.txt (test name, rtol,
 * atol).  Every entry must say why it exists in a trailing '# reason'
 * comment; an entry without one is rejected, so the lists stay justified.
 *
 * It does not decide what a listed test means for the outcome
 * (run_node_tests.c does). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "tessel/util.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool parse_double(const char *tok, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (errno != 0 || end == tok || *end != '\0' || !(v >= 0.0) || v > 1.0)
        return false;
    *out = v;
    return true;
}

/* Parse one entry line (comment already split off) into e.  false + err. */
static bool parse_entry(char *body, bool with_tolerances, struct tsl_conf_entry *e,
                        char *err, size_t err_len)
{
    char *save = NULL;
    char *name = strtok_r(body, " \t", &save);
    char *rtol = strtok_r(NULL, " \t", &save);
    char *atol = rtol ? strtok_r(NULL, " \t", &save) : NULL;
    char *extra = atol ? strtok_r(NULL, " \t", &save) : NULL;
    if (!name) {
        snprintf(err, err_len, "missing test name");
        return false;
    }
    if (strncmp(name, "test_", 5) != 0) {
        snprintf(err, err_len, "'%s' is not an ONNX node test name (test_...)", name);
        return false;
    }
    if (!with_tolerances) {
        if (rtol) {
            snprintf(err, err_len, "unexpected '%s' after the test name", rtol);
            return false;
        }
    } else {
        if (!rtol || !atol || extra) {
            snprintf(err, err_len, "expected '<test> <rtol> <atol>  # reason'");
            return false;
        }
        if (!parse_double(rtol, &e->rtol) || !parse_double(atol, &e->atol)) {
            snprintf(err, err_len, "rtol and atol must be numbers in [0, 1]");
            return false;
        }
    }
    e->test = tsl_strdup(name);
    if (!e->test) {
        snprintf(err, err_len, "out of memory");
        return false;
    }
    return true;
}

bool tsl_conf_list_load(const char *path, bool with_tolerances, struct tsl_conf_list *list,
                        char *err, size_t err_len)
{
    memset(list, 0, sizeof *list);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return false;
    }
    char line[1024], what[512];
    unsigned lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, err_len, "%s:%u: line longer than %zu bytes", path, lineno,
                     sizeof line - 2);
            ok = false;
            break;
        }
        char *hash = strchr(line, '#');
        char *reason = hash ? trim(hash + 1) : NULL;
        if (hash)
            *hash = '\0';
        char *body = trim(line);
        if (*body == '\0')
            continue; /* blank or comment-only line */
        struct tsl_conf_entry e = {0};
        if (!parse_entry(body, with_tolerances, &e, what, sizeof what)) {
            snprintf(err, err_len, "%s:%u: %s", path, lineno, what);
            ok = false;
        } else if (!reason || *reason == '\0') {
            snprintf(err, err_len, "%s:%u: entry '%s' needs a '# reason' comment", path,
                     lineno, e.test);
            free(e.test);
            ok = false;
        } else if (tsl_conf_list_find(list, e.test)) {
            snprintf(err, err_len, "%s:%u: '%s' is listed twice", path, lineno, e.test);
            free(e.test);
            ok = false;
        } else if (!(e.reason = tsl_strdup(reason)) ||
                   !tsl_grow((void **)&list->entries, &list->cap, list->n + 1, sizeof e)) {
            snprintf(err, err_len, "%s: out of memory", path);
            free(e.test);
            free(e.reason);
            ok = false;
        } else {
            list->entries[list->n++] = e;
        }
    }
    if (ok && ferror(f)) {
        snprintf(err, err_len, "%s: read error", path);
        ok = false;
    }
    fclose(f);
    return ok;
}

struct tsl_conf_entry *tsl_conf_list_find(struct tsl_conf_list *list, const char *test)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->entries[i].test, test) == 0)
            return &list->entries[i];
    return NULL;
}

void tsl_conf_list_fini(struct tsl_conf_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->entries[i].test);
        free(list->entries[i].reason);
    }
    free(list->entries);
    memset(list, 0, sizeof *list);
}
