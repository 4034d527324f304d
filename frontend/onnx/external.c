/* external.c - reads ONNX external tensor data (data_location = EXTERNAL).
 * The location must be a relative path without ".." that stays inside the
 * model's folder: it is opened one component at a time with openat and
 * O_NOFOLLOW, so no symlink anywhere on the path is followed, and the target
 * must be a regular file.  offset/length are decimal and checked against the
 * file size with checked arithmetic.  The checksum key is accepted and not
 * verified.  It does not decide the tensor's size (tensor.c does). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_internal.h"
#include "tessel/util.h"

static bool parse_decimal(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (!tsl_mul_i64(v, 10, &v) || !tsl_add_i64(v, *s - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

/* Open base_dir/location without following symlinks; -1 + diag on failure. */
static int open_inside(const char *base_dir, const char *location, const char *where,
                       struct tsl_diag *diag, enum tsl_status *st)
{
    char *path = tsl_strdup(location);
    if (!path) {
        *st = tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
        return -1;
    }
    int dir = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        *st = tsl_diag_error(diag, TSL_STATUS_IO, where, "cannot open model folder \"%s\": %s",
                             base_dir, strerror(errno));
        free(path);
        return -1;
    }
    char *save = NULL;
    char *comp = strtok_r(path, "/", &save);
    int fd = -1;
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (next ? O_DIRECTORY : 0);
        int nfd = openat(dir, comp, flags);
        if (nfd < 0) {
            int e = errno;
            *st = tsl_diag_error(diag, TSL_STATUS_IO, where,
                                 e == ELOOP || e == ENOTDIR
                                     ? "external data \"%s\" goes through a symlink or non-folder: %s"
                                     : "cannot open external data \"%s\": %s",
                                 location, strerror(e));
            close(dir);
            free(path);
            return -1;
        }
        close(dir);
        if (!next) {
            fd = nfd;
            break;
        }
        dir = nfd;
        comp = next;
    }
    free(path);
    if (fd < 0) {
        close(dir);
        *st = tsl_diag_error(diag, TSL_STATUS_PARSE, where, "external data location \"%s\" names no file",
                             location);
    }
    return fd;
}

enum tsl_status tsl_onnx_external_read(const struct tsl_onnx_tensor_ctx *ctx,
                                       const Onnx__TensorProto *t, const char *where,
                                       void **dst_out, size_t bytes, struct tsl_diag *diag)
{
    if (!ctx->base_dir)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "external data needs a model folder (model loaded from memory)");
    const char *location = NULL, *s_off = NULL, *s_len = NULL;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[i];
        const char *k = kv->key ? kv->key : "";
        if (strcmp(k, "location") == 0)
            location = kv->value;
        else if (strcmp(k, "offset") == 0)
            s_off = kv->value;
        else if (strcmp(k, "length") == 0)
            s_len = kv->value;
        else if (strcmp(k, "checksum") != 0)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "unknown external_data key \"%s\"", k);
    }
    if (!location || !*location)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "external data has no location");
    if (location[0] == '/')
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "external data location \"%s\" is an absolute path", location);
    for (const char *p = location; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                  "external data location \"%s\" contains \"..\"", location);
        p += n;
        if (*p == '/')
            p++;
    }
    int64_t off = 0, want = (int64_t)bytes;
    if (s_off && !parse_decimal(s_off, &off))
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "external data offset \"%s\" is not a decimal number", s_off);
    if (s_len) {
        int64_t l;
        if (!parse_decimal(s_len, &l))
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "external data length \"%s\" is not a decimal number", s_len);
        if (l != want)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                  "external data length %lld but dims and dtype imply %lld",
                                  (long long)l, (long long)want);
    }
    enum tsl_status st = TSL_STATUS_OK;
    int fd = open_inside(ctx->base_dir, location, where, diag, &st);
    if (fd < 0)
        return st;
    struct stat sb;
    int64_t end;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_IO, where, "external data \"%s\" is not a regular file",
                              location);
    }
    if (!tsl_add_i64(off, want, &end) || end > (int64_t)sb.st_size) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "external data offset %lld + length %lld is past the end of \"%s\" (%lld bytes)",
                              (long long)off, (long long)want, location, (long long)sb.st_size);
    }
    char *dst = malloc(bytes ? bytes : 1);
    if (!dst) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory for %zu bytes", bytes);
    }
    size_t done = 0;
    while (done < bytes) {
        ssize_t r = pread(fd, dst + done, bytes - done, (off_t)(off + (int64_t)done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            free(dst);
            return tsl_diag_error(diag, TSL_STATUS_IO, where, "cannot read external data \"%s\"",
                                  location);
        }
        done += (size_t)r;
    }
    close(fd);
    *dst_out = dst;
    return TSL_STATUS_OK;
}
