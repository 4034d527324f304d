/* cli_io.c - atomic writing of output files (temporary file + rename) for the
 * subcommands; see cli_io.h.  POSIX only; no buffering or content logic. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_io.h"
#include "tessel/util.h"

/* Attempts at finding an unused temporary name before giving up. */
enum { MAX_TEMP_ATTEMPTS = 100 };

static bool write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

bool tsl_cli_write_file_atomic(const char *path, const void *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        tsl_cli_error(path, "cannot write: is a directory");
        return false;
    }
    char *tmp = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < MAX_TEMP_ATTEMPTS && fd < 0; attempt++) {
        free(tmp);
        tmp = tsl_asprintf("%s.tmp%ld_%d", path, (long)getpid(), attempt);
        if (!tmp) {
            tsl_cli_error(path, "out of memory");
            return false;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        tsl_cli_error(path, "cannot create: %s", strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = write_all(fd, data, len) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        tsl_cli_error(path, "cannot write: %s", strerror(err));
    }
    free(tmp);
    return ok;
}

bool tsl_cli_make_dir(const char *dir)
{
    char *p = tsl_strdup(dir);
    if (!p) {
        tsl_cli_error(dir, "out of memory");
        return false;
    }
    bool ok = true;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/')
            continue;
        char saved = *s;
        *s = 0;
        struct stat sb;
        if (stat(p, &sb) != 0) {
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                tsl_cli_error(dir, "cannot create directory: %s", strerror(errno));
                ok = false;
                break;
            }
        } else if (!S_ISDIR(sb.st_mode)) {
            tsl_cli_error(dir, "not a directory");
            ok = false;
            break;
        }
        *s = saved;
        if (!saved)
            break;
    }
    free(p);
    return ok;
}
