/* main.c - example host program for a model compiled ahead of time with
 *     tessel compile MODEL.onnx --target cpu -o DIR [--emit so|obj]
 * It includes the generated header, links the artifact (DIR/<model>.so or
 * DIR/<model>.o), reads one .npy file per input with the tiny reader below,
 * runs the model and prints every output; with -o OUTDIR it also writes
 * OUTDIR/<output name>.npy; with -t N it runs on a pool of N threads (the
 * artifact's own <model>_pool_create; the arena has scratch for the
 * --threads the model was compiled with, <MODEL>_THREADS, and a larger pool
 * uses only that many).  It depends only on libc, libm and pthread: nothing
 * from tessel.
 *
 * Build (the model symbol prefix is the header's file name):
 *     cc -O2 -DTSL_MODEL=tiny_cnn -DTSL_MODEL_HEADER='"tiny_cnn.h"' -I DIR \
 *        main.c DIR/tiny_cnn.o -lm -pthread -o demo
 *     ./demo [-t THREADS] [-o OUTDIR] input0.npy [input1.npy ...]
 *
 * The .npy reader accepts little-endian float32 ('<f4'), C order, format
 * versions 1-3; anything else is rejected with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include TSL_MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define SYM(suffix) CAT(TSL_MODEL, suffix)

/* Read a float32 .npy file into a malloc'ed buffer; *n = element count. */
static float *read_npy(const char *path, long long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "demo: %s: cannot open\n", path);
        return NULL;
    }
    unsigned char pre[10];
    float *data = NULL;
    char *hdr = NULL;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "demo: %s: not a .npy file\n", path);
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        if (fread(pre, 1, 2, f) != 2)
            goto bad;
        hlen = (size_t)pre[0] | (size_t)pre[1] << 8;
    } else {
        if (fread(pre, 1, 4, f) != 4)
            goto bad;
        hlen = (size_t)pre[0] | (size_t)pre[1] << 8 | (size_t)pre[2] << 16 | (size_t)pre[3] << 24;
    }
    if (hlen > 65536 || !(hdr = calloc(1, hlen + 1)) || fread(hdr, 1, hlen, f) != hlen)
        goto bad;
    if (!strstr(hdr, "'<f4'") || !strstr(hdr, "'fortran_order': False")) {
        fprintf(stderr, "demo: %s: only little-endian float32 in C order is supported\n", path);
        goto out;
    }
    const char *s = strstr(hdr, "'shape': (");
    if (!s)
        goto bad;
    s += strlen("'shape': (");
    long long count = 1;
    while (*s && *s != ')') {
        char *end;
        long long d = strtoll(s, &end, 10);
        if (end == s) {
            if (*s == ',' || *s == ' ') {
                s++;
                continue;
            }
            goto bad;
        }
        if (d < 0 || (d && count > (1LL << 40) / d))
            goto bad;
        count *= d;
        s = end;
    }
    data = malloc((size_t)(count ? count : 1) * sizeof *data);
    if (!data || fread(data, sizeof *data, (size_t)count, f) != (size_t)count) {
        free(data);
        data = NULL;
        goto bad;
    }
    *n = count;
    goto out;
bad:
    fprintf(stderr, "demo: %s: malformed or truncated .npy file\n", path);
out:
    free(hdr);
    fclose(f);
    return data;
}

/* Write n floats as a .npy file of the given shape (format version 1). */
static int write_npy(const char *path, const float *d, long long n, const long long *dims, int rank)
{
    char shape[512] = "";
    size_t o = 0;
    for (int i = 0; i < rank && o < sizeof shape - 32; i++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld%s", i ? " " : "", dims[i],
                              rank == 1 || i + 1 < rank ? "," : "");
    char hdr[640];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                       shape);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(d, sizeof *d, (size_t)n, f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *outdir = NULL;
    int a = 1, threads = 1;
    while (argc - a >= 2 && (!strcmp(argv[a], "-o") || !strcmp(argv[a], "-t"))) {
        if (!strcmp(argv[a], "-o"))
            outdir = argv[a + 1];
        else
            threads = atoi(argv[a + 1]);
        a += 2;
    }
    int n_in = SYM(_num_inputs), n_out = SYM(_num_outputs);
    if (argc - a != n_in || threads < 1) {
        fprintf(stderr, "usage: %s [-t THREADS] [-o OUTDIR] <%d input .npy files>\n", argv[0],
                n_in);
        return 2;
    }
    void *ins[64] = {0}, *outs[64] = {0};
    void *arena = aligned_alloc(64, ((size_t)SYM(_arena_bytes) + 63) / 64 * 64 + 64);
    /* threads in total, this one included; NULL (or 1) runs on this thread */
    struct SYM(_pool) *pool = threads > 1 ? SYM(_pool_create)(threads) : NULL;
    int rc = 1;
    if (!arena || n_in > 64 || n_out > 64 || (threads > 1 && !pool))
        goto done;
    for (int i = 0; i < n_in; i++) {
        long long n = 0;
        ins[i] = read_npy(argv[a + i], &n);
        if (!ins[i])
            goto done;
        if (n != SYM(_input_numel)[i]) {
            fprintf(stderr, "demo: %s: %lld elements, input '%s' needs %lld\n", argv[a + i], n,
                    SYM(_input_names)[i], SYM(_input_numel)[i]);
            goto done;
        }
    }
    for (int i = 0; i < n_out; i++)
        if (!(outs[i] = malloc((size_t)(SYM(_output_numel)[i] ? SYM(_output_numel)[i] : 1) * 4)))
            goto done;
    SYM(_run)(SYM(_weights), arena, ins, outs, pool);
    for (int i = 0; i < n_out; i++) {
        const float *y = outs[i];
        printf("%s:", SYM(_output_names)[i]);
        for (long long k = 0; k < SYM(_output_numel)[i] && k < 16; k++)
            printf(" %.6g", (double)y[k]);
        printf("%s\n", SYM(_output_numel)[i] > 16 ? " ..." : "");
        if (outdir) {
            char path[1024];
            /* file name as `tessel run -o` spells it: [A-Za-z0-9._-], others '_' */
            char safe[256];
            size_t k = 0;
            for (const char *c = SYM(_output_names)[i]; *c && k + 1 < sizeof safe; c++)
                safe[k++] = (strchr("._-", *c) || (*c >= '0' && *c <= '9') ||
                             (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z'))
                                ? *c
                                : '_';
            safe[k] = 0;
            snprintf(path, sizeof path, "%s/%s.npy", outdir, k ? safe : "output");
            if (write_npy(path, y, SYM(_output_numel)[i], SYM(_output_dims)[i], SYM(_output_rank)[i]) != 0) {
                fprintf(stderr, "demo: %s: cannot write\n", path);
                goto done;
            }
        }
    }
    rc = 0;
done:
    for (int i = 0; i < 64; i++) {
        free(ins[i]);
        free(outs[i]);
    }
    SYM(_pool_destroy)(pool);
    free(arena);
    return rc;
}
