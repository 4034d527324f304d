/* npy.c - .npy reader and writer (see npy.h): strict header parsing of the
 * dict numpy writes, size checks on everything, atomic writes through a
 * temporary file + rename.  It knows nothing about tensors or the IR. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tessel/npy.h"
#include "tessel/util.h"

#define NPY_MAX_FILE ((size_t)1 << 34)

static const struct {
    const char *name, *descr;
    size_t size;
} types[] = {
#define TSL_NPY_ROW_(id, name, descr, size) {name, descr, size},
    TSL_NPY_TYPES(TSL_NPY_ROW_)
#undef TSL_NPY_ROW_
};

const char *tsl_npy_type_name(enum tsl_npy_type t)
{
    return (unsigned)t < TSL_NPY_TYPE_COUNT ? types[t].name : "?";
}

size_t tsl_npy_type_size(enum tsl_npy_type t)
{
    return (unsigned)t < TSL_NPY_TYPE_COUNT ? types[t].size : 0;
}

int tsl_npy_type_from_name(const char *name)
{
    for (int i = 0; i < TSL_NPY_TYPE_COUNT; i++)
        if (name && !strcmp(types[i].name, name))
            return i;
    return -1;
}

void tsl_npy_fini(struct tsl_npy *a)
{
    if (!a)
        return;
    free(a->data);
    a->data = NULL;
    a->data_bytes = 0;
}

/* ---- header parsing ---- */

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

static bool eat(struct cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A single-quoted string without escapes, at most cap-1 chars. */
static bool read_str(struct cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '\'')
        return false;
    c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != '\'') {
        if (*c->p == '\\' || n + 1 >= cap)
            return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool read_word(struct cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, w, n)) {
        c->p += n;
        return true;
    }
    return false;
}

static bool read_int(struct cursor *c, int64_t *out)
{
    skip_ws(c);
    int64_t v = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (!tsl_mul_i64(v, 10, &v) || !tsl_add_i64(v, *c->p - '0', &v))
            return false;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2 long suffix */
        c->p++;
    *out = v;
    return c->p > start;
}

static enum tsl_status bad_header(struct tsl_diag *d, const char *where, const char *what)
{
    return tsl_diag_error(d, TSL_STATUS_PARSE, where, "bad .npy header: %s", what);
}

static enum tsl_status parse_header(const char *h, size_t len, const char *where,
                                    struct tsl_npy *out, struct tsl_diag *d)
{
    struct cursor c = {h, h + len};
    bool seen_descr = false, seen_fo = false, seen_shape = false;
    if (!eat(&c, '{'))
        return bad_header(d, where, "expected '{'");
    for (;;) {
        char key[32];
        skip_ws(&c);
        if (eat(&c, '}'))
            break;
        if (!read_str(&c, key, sizeof key))
            return bad_header(d, where, "expected a quoted key");
        if (!eat(&c, ':'))
            return bad_header(d, where, "expected ':' after key");
        if (!strcmp(key, "descr")) {
            char descr[16];
            if (seen_descr)
                return bad_header(d, where, "duplicate 'descr'");
            seen_descr = true;
            if (!read_str(&c, descr, sizeof descr))
                return bad_header(d, where, "'descr' must be a type string");
            if (descr[0] == '>' && descr[1] && strcmp(descr + 1, "i1") && strcmp(descr + 1, "u1") &&
                strcmp(descr + 1, "b1"))
                return tsl_diag_error(d, TSL_STATUS_PARSE, where,
                                      "big-endian dtype '%s' is not supported", descr);
            int found = -1;
            for (int i = 0; i < TSL_NPY_TYPE_COUNT; i++) {
                const char *t = types[i].descr;
                /* 1-byte types: '|', '<', '>' and '=' all mean the same */
                if (!strcmp(descr, t) ||
                    (types[i].size == 1 && strchr("<>=|", descr[0]) && descr[0] &&
                     !strcmp(descr + 1, t + 1)) ||
                    (descr[0] == '=' && !strcmp(descr + 1, t + 1)))
                    found = i;
            }
            if (found < 0)
                return tsl_diag_error(d, TSL_STATUS_PARSE, where,
                                      "unsupported dtype '%s' (expected f32, f64, f16, i64, i32, "
                                      "i16, i8, u8, u16, u32, u64 or bool)", descr);
            out->type = (enum tsl_npy_type)found;
        } else if (!strcmp(key, "fortran_order")) {
            if (seen_fo)
                return bad_header(d, where, "duplicate 'fortran_order'");
            seen_fo = true;
            if (read_word(&c, "True"))
                return tsl_diag_error(d, TSL_STATUS_PARSE, where,
                                      "fortran_order True is not supported (expected C order)");
            if (!read_word(&c, "False"))
                return bad_header(d, where, "'fortran_order' must be True or False");
        } else if (!strcmp(key, "shape")) {
            if (seen_shape)
                return bad_header(d, where, "duplicate 'shape'");
            seen_shape = true;
            if (!eat(&c, '('))
                return bad_header(d, where, "'shape' must be a tuple");
            out->rank = 0;
            while (!eat(&c, ')')) {
                int64_t v;
                if (out->rank >= TSL_NPY_MAX_RANK)
                    return tsl_diag_error(d, TSL_STATUS_PARSE, where,
                                          "rank above %d is not supported", TSL_NPY_MAX_RANK);
                if (!read_int(&c, &v))
                    return bad_header(d, where, "shape entries must be non-negative integers");
                out->dims[out->rank++] = v;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')'))
                        return bad_header(d, where, "expected ',' or ')' in shape");
                    if (out->rank == 1)
                        return bad_header(d, where, "1-tuple shape needs a trailing ','");
                    break;
                }
            }
        } else {
            return tsl_diag_error(d, TSL_STATUS_PARSE, where, "bad .npy header: unknown key '%s'",
                                  key);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return bad_header(d, where, "expected ',' or '}'");
            break;
        }
    }
    if (!seen_descr || !seen_fo || !seen_shape)
        return bad_header(d, where, "missing 'descr', 'fortran_order' or 'shape'");
    skip_ws(&c);
    if (c.p < c.end && *c.p == '\n')
        c.p++;
    if (c.p != c.end)
        return bad_header(d, where, "trailing characters after the dict");
    if (len == 0 || h[len - 1] != '\n')
        return bad_header(d, where, "header must end with a newline");
    return TSL_STATUS_OK;
}

enum tsl_status tsl_npy_parse(const void *buf, size_t len, const char *where,
                              struct tsl_npy *out, struct tsl_diag *diag)
{
    const uint8_t *b = buf;
    memset(out, 0, sizeof *out);
    if (!where)
        where = "<npy>";
    if (len < 10 || memcmp(b, "\x93NUMPY", 6))
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "bad magic (not a .npy file)");
    uint8_t major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "unsupported .npy version %u.%u (expected 1.0, 2.0 or 3.0)", major,
                              minor);
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else {
        if (len < 12)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "truncated header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    }
    if (hlen > len - hoff)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "truncated header: needs %zu bytes, file has %zu", hlen,
                              len - hoff);
    for (size_t i = 0; i < hlen; i++) {
        uint8_t ch = b[hoff + i];
        if (ch == 0 || (ch >= 0x80 && major < 3))
            return bad_header(diag, where, "non-ASCII byte");
    }
    struct tsl_npy a = {0};
    TSL_TRY(parse_header((const char *)b + hoff, hlen, where, &a, diag));
    int64_t numel = 1, bytes;
    for (int32_t i = 0; i < a.rank; i++)
        if (!tsl_mul_i64(numel, a.dims[i], &numel))
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "shape is too large");
    if (!tsl_mul_i64(numel, (int64_t)types[a.type].size, &bytes) || (uint64_t)bytes > NPY_MAX_FILE)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "shape is too large");
    size_t avail = len - hoff - hlen;
    if ((size_t)bytes > avail)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "truncated data: shape needs %lld bytes, file has %zu",
                              (long long)bytes, avail);
    if ((size_t)bytes < avail)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "%zu trailing bytes after the data", avail - (size_t)bytes);
    a.data = malloc(bytes ? (size_t)bytes : 1);
    if (!a.data)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
    if (bytes)
        memcpy(a.data, b + hoff + hlen, (size_t)bytes);
    if (a.type == TSL_NPY_BOOL)
        for (int64_t i = 0; i < bytes; i++)
            if (((uint8_t *)a.data)[i] > 1) {
                unsigned v = ((uint8_t *)a.data)[i];
                free(a.data);
                return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                      "bool element %lld is %u (expected 0 or 1)", (long long)i, v);
            }
    a.data_bytes = (size_t)bytes;
    *out = a;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_npy_read_file(const char *path, struct tsl_npy *out, struct tsl_diag *diag)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot open: %s", strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    enum tsl_status st = TSL_STATUS_OK;
    for (;;) {
        if (!tsl_grow((void **)&buf, &cap, len + 65536, 1)) {
            st = tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "out of memory");
            break;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = tsl_diag_error(diag, TSL_STATUS_IO, path, "read error");
            break;
        }
        if (len > NPY_MAX_FILE) {
            st = tsl_diag_error(diag, TSL_STATUS_LIMIT, path, "file larger than 16 GiB");
            break;
        }
    }
    fclose(f);
    if (st == TSL_STATUS_OK)
        st = tsl_npy_parse(buf, len, path, out, diag);
    free(buf);
    return st;
}

/* ---- writing ---- */

enum tsl_status tsl_npy_encode(const struct tsl_npy *a, uint8_t **buf_out, size_t *len_out,
                               struct tsl_diag *diag)
{
    if ((unsigned)a->type >= TSL_NPY_TYPE_COUNT || a->rank < 0 || a->rank > TSL_NPY_MAX_RANK)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "npy", "bad type or rank");
    int64_t numel = 1, bytes = -1; /* -1: the size overflowed */
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     types[a->type].descr);
    for (int32_t i = 0; i < a->rank; i++) {
        if (a->dims[i] < 0 || !tsl_mul_i64(numel, a->dims[i], &numel))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "npy", "bad shape");
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)a->dims[i]);
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", a->rank == 1 ? "," : "");
    if (!tsl_mul_i64(numel, (int64_t)types[a->type].size, &bytes) ||
        (size_t)bytes != a->data_bytes || (bytes && !a->data))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "npy",
                              "data has %zu bytes, shape needs %lld", a->data_bytes,
                              (long long)bytes);
    /* pad with spaces so magic + length + header is a multiple of 64 */
    size_t hdr = (size_t)n + 1, pre = 10;
    size_t total = (pre + hdr + 63) / 64 * 64;
    if (total - pre > 65535) {
        pre = 12;
        total = (pre + hdr + 63) / 64 * 64;
    }
    size_t hlen = total - pre, len = total + (size_t)bytes;
    uint8_t *buf = malloc(len);
    if (!buf)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, "npy", "out of memory");
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = pre == 10 ? 1 : 2;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + pre, dict, (size_t)n);
    memset(buf + pre + n, ' ', hlen - (size_t)n - 1);
    buf[total - 1] = '\n';
    if (bytes)
        memcpy(buf + total, a->data, (size_t)bytes);
    *buf_out = buf;
    *len_out = len;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_npy_write_temp(const char *path, const struct tsl_npy *a, char **tmp_out,
                                   struct tsl_diag *diag)
{
    uint8_t *buf;
    size_t len;
    *tmp_out = NULL;
    TSL_TRY(tsl_npy_encode(a, &buf, &len, diag));
    char *tmp = tsl_asprintf("%s.tmpXXXXXX", path);
    if (!tmp) {
        free(buf);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "out of memory");
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        enum tsl_status st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot create: %s",
                                            strerror(errno));
        free(tmp);
        free(buf);
        return st;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; outputs are ordinary files */
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int err = off == len ? 0 : errno ? errno : EIO;
    if (close(fd) != 0 && !err)
        err = errno;
    free(buf);
    if (err) {
        remove(tmp);
        free(tmp);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot write: %s", strerror(err));
    }
    *tmp_out = tmp;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_npy_write_file(const char *path, const struct tsl_npy *a,
                                   struct tsl_diag *diag)
{
    char *tmp;
    TSL_TRY(tsl_npy_write_temp(path, a, &tmp, diag));
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        free(tmp);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot rename into place: %s",
                              strerror(err));
    }
    free(tmp);
    return TSL_STATUS_OK;
}
