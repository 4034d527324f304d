/* roundtrip_tool.c - test driver for the ONNX export round trip on real
 * models: import IN.onnx, export it to OUT.onnx, import OUT.onnx again and
 * check that both imports print the same IR text.
 *
 * The header fields that export changes by design (the source opset becomes
 * 17, the producer "tessel") are copied from the first import onto the
 * second before printing; everything else must match byte for byte.  On a
 * mismatch the first differing line of each text is printed, and with
 * --dump DIR both texts are written as DIR/a.ir and DIR/b.ir.
 *
 * Usage: roundtrip_tool IN.onnx OUT.onnx [--dump DIR]
 * Exit status: 0 identical, 1 failure or mismatch, 2 usage error.  This is a
 * test program: it prints, library code does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessel/onnx.h"
#include "tessel/text.h"
#include "tessel/util.h"

static int fail_diag(const char *what, const char *file, struct tsl_diag *d, enum tsl_status st)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    fprintf(stderr, "roundtrip_tool: %s %s: %s: %s\n", what, file, e ? e->where : "",
            e ? e->message : tsl_status_str(st));
    return 1;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char *path = tsl_asprintf("%s/%s", dir, name);
    FILE *f = path ? fopen(path, "w") : NULL;
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "roundtrip_tool: cannot write %s\n", path ? path : name);
    free(path);
    return ok;
}

/* Print the first line where a and b differ. */
static void report_diff(const char *a, const char *b)
{
    long line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    fprintf(stderr, "roundtrip_tool: IR text differs at line %ld:\n  import:    %.*s\n"
                    "  re-import: %.*s\n",
            line, na > 300 ? 300 : na, la, nb > 300 ? 300 : nb, lb);
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
        else
            in = NULL, i = argc;
    }
    if (!in || !out) {
        fprintf(stderr, "usage: roundtrip_tool IN.onnx OUT.onnx [--dump DIR]\n");
        return 2;
    }
    struct tsl_diag d;
    tsl_diag_init(&d);
    struct tsl_graph *g1 = NULL, *g2 = NULL;
    char *t1 = NULL, *t2 = NULL;
    int rc = 1;
    enum tsl_status st = tsl_onnx_import_file(in, NULL, &g1, &d);
    if (st != TSL_STATUS_OK) {
        rc = fail_diag("import", in, &d, st);
        goto done;
    }
    st = tsl_onnx_export_file(g1, out, &d);
    if (st != TSL_STATUS_OK) {
        rc = fail_diag("export", out, &d, st);
        goto done;
    }
    st = tsl_onnx_import_file(out, NULL, &g2, &d);
    if (st != TSL_STATUS_OK) {
        rc = fail_diag("re-import", out, &d, st);
        goto done;
    }
    g2->source_opset = g1->source_opset;
    free(g2->producer_name);
    g2->producer_name = g1->producer_name ? tsl_strdup(g1->producer_name) : NULL;
    if (tsl_graph_to_text(g1, NULL, &t1) != TSL_STATUS_OK ||
        tsl_graph_to_text(g2, NULL, &t2) != TSL_STATUS_OK) {
        fprintf(stderr, "roundtrip_tool: printing IR text failed\n");
        goto done;
    }
    if (dump && !(write_text(dump, "a.ir", t1) && write_text(dump, "b.ir", t2)))
        goto done;
    if (strcmp(t1, t2) != 0) {
        report_diff(t1, t2);
        goto done;
    }
    printf("%s: IR text identical after export and re-import (%u nodes, %zu bytes of text)\n",
           in, g1->n_nodes, strlen(t1));
    rc = 0;
done:
    free(t1);
    free(t2);
    tsl_graph_destroy(g1);
    tsl_graph_destroy(g2);
    tsl_diag_fini(&d);
    return rc;
}
