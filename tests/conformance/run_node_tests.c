/* run_node_tests.c - the ONNX backend node-test conformance harness.
 *
 *   run_node_tests DATADIR [--filter SUBSTR] [--report FILE.md] [--json FILE.json]
 *                  [--xfail FILE] [--tolerances FILE] [--min-pass N]
 *                  [-j N] [--timeout SECONDS] [--no-fork] [--verbose]
 *                  [--backend ref|cpu]
 *
 * DATADIR is what scripts/gen_onnx_node_tests.py wrote (its node/ folder is
 * used) or a folder of test folders.  For every test folder: import
 * model.onnx with tessel::frontend_onnx; an import that reports
 * TSL_STATUS_UNSUPPORTED makes the test "unsupported" (with the reason);
 * otherwise every test_data_set_N is run with the reference interpreter and
 * each output compared with output_N.pb (compare.c) -> "pass" or "fail".
 * With --backend cpu each data set is instead run through the LLVM CPU
 * backend: input dims bound to the data set's shapes and the inputs that
 * feed compile-time operands (a Reshape's shape...) frozen to the data
 * set's values (tsl_cpu_bind_values), the canonicalization
 * passes (constant folding through the reference, Shape/Size of static
 * values from their types), tsl_cpu_compile and
 * tsl_cpu_run; a compile that reports UNSUPPORTED (an op, dtype or
 * data-dependent shape without a lowering) makes the test "unsupported".
 * A run that reports TSL_STATUS_UNSUPPORTED (a kernel or dtype the
 * interpreter lacks) is also "unsupported"; any other error is a failure.
 *
 * Each test runs in its own child process (unless --no-fork), so a crash,
 * a hang (--timeout, default 30 s) or a sanitizer report (ASan error,
 * LeakSanitizer leak) in the importer or interpreter fails that one test
 * and the run goes on.
 *
 * Exit status: 0 when every failure is listed in the expected-failures
 * file, no listed test passes, no list entry names a missing test and at
 * least --min-pass tests pass; 1 otherwise; 2 on bad usage or unreadable
 * input.  This is a test program: it prints, unlike library code.  It does
 * not generate the test data (scripts/gen_onnx_node_tests.py does). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"
#include "tessel/passes.h"
#ifdef TESSEL_HAVE_CPU_BACKEND
#include "tessel/cpu.h"
#endif
#include "tessel/onnx.h"
#include "tessel/util.h"

#define MAX_PB_BYTES (256 * 1024 * 1024)
#define MAX_TENSORS 256

struct options {
    const char *data_dir;
    const char *filter, *report, *json, *xfail, *tolerances;
    long min_pass;
    int jobs, timeout;
    bool no_fork, verbose;
    bool cpu; /* --backend cpu */
};

/* Outcome of one test as seen from inside the (child) process that ran it;
 * fixed-size so it can cross a pipe in one write. */
struct outcome {
    enum tsl_conf_status status; /* PASS, FAIL or UNSUPPORTED */
    char ops[400];
    char detail[1200];
};

static void set_outcome(struct outcome *o, enum tsl_conf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_outcome(struct outcome *o, enum tsl_conf_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    o->status = st;
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
    for (char *p = o->detail; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

/* snprintf whose truncation is intended (messages are cut, never overflow). */
static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* "where: message" of the first error in d, or a fallback.  A `where`
 * equal to `known` (the file the caller already names) is left out. */
static const char *diag_text(const struct tsl_diag *d, const char *known, char *buf, size_t len)
{
    const struct tsl_diag_entry *e = tsl_diag_first_error(d);
    if (!e)
        snprintf(buf, len, "(no diagnostic recorded)");
    else if (*e->where && !(known && strcmp(e->where, known) == 0))
        snprintf(buf, len, "%s: %s", e->where, e->message);
    else
        snprintf(buf, len, "%s", e->message);
    return buf;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whole file into a malloc'ed buffer (at most `cap` bytes).  NULL + errno
 * text in err on failure. */
static void *read_file(const char *path, size_t cap, size_t *len_out, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        say(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    void *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (size_t)n <= cap) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        say(err, err_len, "%s: cannot read (%ld bytes, limit %zu)", path, n, cap);
    *len_out = buf ? (size_t)n : 0;
    return buf;
}

/* ---- running one test --------------------------------------------------- */

struct tensor_set {
    struct tsl_tensor t[MAX_TENSORS];
    uint32_t n;
};

static void tensor_set_fini(struct tensor_set *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->t[i].data);
        free(s->t[i].name);
    }
    s->n = 0;
}

/* Read DIR/PREFIX_0.pb, PREFIX_1.pb, ... until one is missing. */
static bool read_tensors(const char *dir, const char *prefix, struct tensor_set *s,
                         struct outcome *o)
{
    char path[4096], err[512];
    for (s->n = 0; s->n < MAX_TENSORS; s->n++) {
        snprintf(path, sizeof path, "%s/%s_%u.pb", dir, prefix, s->n);
        if (!is_file(path))
            return true;
        size_t len;
        void *buf = read_file(path, MAX_PB_BYTES, &len, err, sizeof err);
        if (!buf) {
            set_outcome(o, TSL_CONF_FAIL, "%s", err);
            return false;
        }
        struct tsl_diag diag;
        tsl_diag_init(&diag);
        struct tsl_tensor *t = &s->t[s->n];
        memset(t, 0, sizeof *t);
        enum tsl_status st = tsl_onnx_read_tensor(buf, len, path, &t->dtype, &t->shape,
                                                  &t->data, &t->name, &diag);
        free(buf);
        if (st != TSL_STATUS_OK) {
            set_outcome(o, st == TSL_STATUS_UNSUPPORTED ? TSL_CONF_UNSUPPORTED : TSL_CONF_FAIL,
                        "read %s_%u.pb: %s: %s", prefix, s->n, tsl_status_str(st),
                        diag_text(&diag, path, err, sizeof err));
            memset(t, 0, sizeof *t);
            tsl_diag_fini(&diag);
            return false;
        }
        tsl_diag_fini(&diag);
    }
    set_outcome(o, TSL_CONF_FAIL, "%s: more than %d %s_*.pb files", dir, MAX_TENSORS, prefix);
    return false;
}

/* Run g on the inputs with the LLVM CPU backend: bind the input shapes and
 * freeze the inputs that feed compile-time operands (tsl_cpu_bind_values),
 * canonicalize (constant folding through the reference), compile, run. */
static enum tsl_status run_cpu(const struct tsl_graph *g, const struct tsl_tensor *in,
                               uint32_t n, struct tsl_tensor **got, uint32_t *n_got,
                               struct tsl_diag *diag)
{
#ifdef TESSEL_HAVE_CPU_BACKEND
    bool frozen[MAX_TENSORS] = {0};
    if (n > MAX_TENSORS)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "more than %d inputs",
                              MAX_TENSORS);
    struct tsl_graph *b = NULL;
    TSL_TRY(tsl_cpu_bind_values(g, in, n, &b, frozen, diag));
    struct tsl_pass_context pc;
    tsl_pass_context_init(&pc, diag);
    pc.eval_node = tsl_ref_eval_node;
    enum tsl_status st = tsl_pass_run_pipeline(b, TSL_PIPELINE_CANONICALIZE, &pc);
    tsl_pass_context_fini(&pc);
    struct tsl_cpu_options o;
    tsl_cpu_options_default(&o);
    o.frozen = frozen;
    o.frozen_values = in;
    struct tsl_cpu_module *m = NULL;
    if (st == TSL_STATUS_OK)
        st = tsl_cpu_compile(b, &o, &m, diag);
    if (st == TSL_STATUS_OK)
        st = tsl_cpu_run(m, in, n, got, n_got, diag);
    tsl_cpu_module_destroy(m);
    tsl_graph_destroy(b);
    return st;
#else
    (void)g, (void)in, (void)n, (void)got, (void)n_got;
    return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, "cpu",
                          "the cpu backend is not built (no LLVM 14-16)");
#endif
}

/* Run data set `k` (folder set_dir) on g; true if every output matches. */
static bool run_data_set(const struct tsl_graph *g, const char *set_dir, int k, double rtol,
                         double atol, bool cpu, uint32_t *n_outputs, struct outcome *o)
{
    struct tensor_set *in = calloc(1, sizeof *in), *want = calloc(1, sizeof *want);
    struct tsl_tensor *got = NULL;
    uint32_t n_got = 0;
    bool ok = false;
    char msg[1024];
    if (!in || !want) {
        set_outcome(o, TSL_CONF_FAIL, "out of memory");
        goto out;
    }
    if (!read_tensors(set_dir, "input", in, o) || !read_tensors(set_dir, "output", want, o))
        goto out;
    if (want->n == 0) {
        set_outcome(o, TSL_CONF_FAIL, "test_data_set_%d has no output_0.pb", k);
        goto out;
    }
    if (in->n != g->n_inputs) {
        set_outcome(o, TSL_CONF_FAIL,
                    "test_data_set_%d has %u inputs but the imported graph has %u", k, in->n,
                    g->n_inputs);
        goto out;
    }
    /* ONNX 1.12 quirk: numpy has no bfloat16, so its test data stores
     * bfloat16 tensors as UINT16 with the same bits.  Relabel them where the
     * model declares bf16 (docs/conformance.md). */
    for (uint32_t i = 0; i < in->n; i++)
        if (in->t[i].dtype == TSL_DTYPE_U16 && g->inputs[i]->type.dtype == TSL_DTYPE_BF16)
            in->t[i].dtype = TSL_DTYPE_BF16;
    for (uint32_t i = 0; i < want->n && i < g->n_outputs; i++)
        if (want->t[i].dtype == TSL_DTYPE_U16 && g->outputs[i]->type.dtype == TSL_DTYPE_BF16)
            want->t[i].dtype = TSL_DTYPE_BF16;
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_ref_stats stats;
    enum tsl_status st = cpu ? run_cpu(g, in->t, in->n, &got, &n_got, &diag)
                             : tsl_ref_run(g, in->t, in->n, &got, &n_got, &stats, &diag);
    if (st != TSL_STATUS_OK) {
        set_outcome(o, st == TSL_STATUS_UNSUPPORTED ? TSL_CONF_UNSUPPORTED : TSL_CONF_FAIL,
                    "run (test_data_set_%d): %s: %s", k, tsl_status_str(st),
                    diag_text(&diag, NULL, msg, sizeof msg));
        tsl_diag_fini(&diag);
        got = NULL;
        n_got = 0;
        goto out;
    }
    tsl_diag_fini(&diag);
    if (n_got != want->n) {
        set_outcome(o, TSL_CONF_FAIL, "test_data_set_%d: %u outputs produced, %u expected", k,
                    n_got, want->n);
        goto out;
    }
    for (uint32_t i = 0; i < n_got; i++) {
        char label[256];
        snprintf(label, sizeof label, "set %d output %u '%s'", k, i,
                 want->t[i].name ? want->t[i].name : "");
        if (!tsl_conf_compare(&got[i], &want->t[i], rtol, atol, label, msg, sizeof msg)) {
            set_outcome(o, TSL_CONF_FAIL, "%s", msg);
            goto out;
        }
    }
    *n_outputs = n_got;
    ok = true;
out:
    if (got)
        tsl_tensors_free(got, n_got);
    if (in)
        tensor_set_fini(in);
    if (want)
        tensor_set_fini(want);
    free(in);
    free(want);
    return ok;
}

/* Distinct op names of g in first-use order, "A,B". */
static void graph_ops(const struct tsl_graph *g, char *buf, size_t len)
{
    bool seen[TSL_OP_COUNT] = {0};
    size_t off = 0;
    buf[0] = '\0';
    for (const struct tsl_node *n = g->first; n; n = n->next) {
        if ((unsigned)n->op >= TSL_OP_COUNT || seen[n->op])
            continue;
        seen[n->op] = true;
        int w = snprintf(buf + off, len - off, "%s%s", off ? "," : "", tsl_op_name(n->op));
        if (w < 0 || (size_t)w >= len - off)
            return;
        off += (size_t)w;
    }
}

static void run_test(const char *test_dir, double rtol, double atol, bool cpu,
                     struct outcome *o)
{
    char path[4096], msg[1024];
    memset(o, 0, sizeof *o);
    snprintf(path, sizeof path, "%s/model.onnx", test_dir);
    struct tsl_diag diag;
    tsl_diag_init(&diag);
    struct tsl_onnx_import_options opt = {0};
    struct tsl_graph *g = NULL;
    enum tsl_status st = tsl_onnx_import_file(path, &opt, &g, &diag);
    if (st != TSL_STATUS_OK) {
        set_outcome(o, st == TSL_STATUS_UNSUPPORTED ? TSL_CONF_UNSUPPORTED : TSL_CONF_FAIL,
                    "import: %s: %s", tsl_status_str(st),
                    diag_text(&diag, path, msg, sizeof msg));
        tsl_diag_fini(&diag);
        if (g) /* the header promises no graph on failure; do not leak one */
            tsl_graph_destroy(g);
        return;
    }
    tsl_diag_fini(&diag);
    if (!g) {
        set_outcome(o, TSL_CONF_FAIL, "import: returned OK without a graph");
        return;
    }
    graph_ops(g, o->ops, sizeof o->ops);
    int k = 0;
    uint32_t n_out = 0;
    for (;; k++) {
        snprintf(path, sizeof path, "%s/test_data_set_%d", test_dir, k);
        if (!is_dir(path))
            break;
        if (!run_data_set(g, path, k, rtol, atol, cpu, &n_out, o))
            break;
    }
    if (o->detail[0] == '\0') {
        if (k == 0)
            set_outcome(o, TSL_CONF_FAIL, "no test_data_set_0 folder");
        else
            set_outcome(o, TSL_CONF_PASS, "%d data set%s, %u output%s", k, k == 1 ? "" : "s",
                        n_out, n_out == 1 ? "" : "s");
    }
    tsl_graph_destroy(g);
}

/* ---- isolation: one child process per test ------------------------------- */

struct slot {
    pid_t pid;
    int fd;      /* read end of the outcome pipe */
    FILE *err;   /* the child's stderr (anonymous temporary file) */
    size_t test;
};

#define MAX_STDERR_LINES 60

/* After a test ended: if it failed, append the sanitizer's SUMMARY line
 * (if any) to the outcome and copy the child's stderr, headed by the test
 * name, to our stderr (at most MAX_STDERR_LINES lines).  Children write to
 * their own file, so reports of parallel tests never interleave. */
static void forward_stderr(FILE *err, const char *test, struct outcome *o)
{
    char line[1024], summary[600] = "";
    int n = 0;
    bool header = false;
    rewind(err);
    while (fgets(line, sizeof line, err)) {
        if (!summary[0] && strncmp(line, "SUMMARY: ", 9) == 0) {
            say(summary, sizeof summary, "%s", line + 9);
            summary[strcspn(summary, "\n")] = '\0';
        }
        if (o->status != TSL_CONF_FAIL)
            continue;
        if (!header) {
            fprintf(stderr, "---- stderr of %s ----\n", test);
            header = true;
        }
        if (n++ < MAX_STDERR_LINES)
            fputs(line, stderr);
    }
    if (n > MAX_STDERR_LINES)
        fprintf(stderr, "---- (%d more lines)\n", n - MAX_STDERR_LINES);
    if (summary[0] && o->status == TSL_CONF_FAIL) {
        size_t len = strlen(o->detail);
        say(o->detail + len, sizeof o->detail - len, "; %s", summary);
    }
}

/* Child side: run, send the outcome, exit (so LeakSanitizer checks it). */
static void child_main(int fd, FILE *err, const char *test_dir, double rtol, double atol,
                       bool cpu, int timeout)
{
    fflush(stderr);
    if (dup2(fileno(err), STDERR_FILENO) < 0)
        _exit(3);
    struct outcome *o = calloc(1, sizeof *o);
    if (!o)
        _exit(3);
    if (timeout > 0)
        alarm((unsigned)timeout);
    run_test(test_dir, rtol, atol, cpu, o);
    char *msg = tsl_asprintf("%d\n%s\n%s", (int)o->status, o->ops, o->detail);
    free(o);
    int rc = 0;
    if (!msg || write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg))
        rc = 3;
    free(msg);
    close(fd);
    exit(rc);
}

/* Parent side: decode what the child sent and how it ended. */
static void decode_child(const char *buf, int wstatus, int timeout, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    const char *nl1 = strchr(buf, '\n');
    const char *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    int st = nl2 ? atoi(buf) : -1;
    bool sent = nl2 && (st == TSL_CONF_PASS || st == TSL_CONF_FAIL || st == TSL_CONF_UNSUPPORTED);
    char prev[sizeof o->detail] = "";
    if (sent) {
        size_t n = (size_t)(nl2 - nl1 - 1);
        if (n >= sizeof o->ops)
            n = sizeof o->ops - 1;
        memcpy(o->ops, nl1 + 1, n);
        o->ops[n] = '\0';
        snprintf(prev, sizeof prev, "%s", nl2 + 1);
    }
    if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM)
        set_outcome(o, TSL_CONF_FAIL, "timeout: still running after %d s", timeout);
    else if (WIFSIGNALED(wstatus))
        set_outcome(o, TSL_CONF_FAIL, "crashed: signal %d (%s)%s%s", WTERMSIG(wstatus),
                    strsignal(WTERMSIG(wstatus)), sent ? " after: " : "", prev);
    else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || !sent)
        set_outcome(o, TSL_CONF_FAIL,
                    "test process exited with status %d (sanitizer report or leak: see "
                    "stderr)%s%s",
                    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, sent ? " after: " : "",
                    prev);
    else
        set_outcome(o, (enum tsl_conf_status)st, "%s", prev);
}

/* Read everything from fd (the child has exited, so this cannot block long). */
static void drain(int fd, char *buf, size_t len)
{
    size_t off = 0;
    while (off + 1 < len) {
        ssize_t n = read(fd, buf + off, len - 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    buf[off] = '\0';
}

/* ---- the run -------------------------------------------------------------- */

struct harness {
    struct options opt;
    char *node_dir; /* folder holding the test folders */
    char **tests;   /* sorted test names */
    size_t n_tests, cap_tests;
    struct tsl_conf_list xfail, tol;
    struct tsl_conf_result *results; /* n_tests entries */
    char onnx_version[64];
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the test folders (those with a model.onnx) matching the filter. */
static bool discover(struct harness *h)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/node", h->opt.data_dir);
    h->node_dir = tsl_strdup(is_dir(path) ? path : h->opt.data_dir);
    if (!h->node_dir)
        return false;
    /* VERSION lives next to node/ (gen_onnx_node_tests.py) */
    for (int i = 0; i < 2 && !h->onnx_version[0]; i++) {
        say(path, sizeof path, "%s/%sVERSION", h->opt.data_dir, i ? "../" : "");
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(h->onnx_version, sizeof h->onnx_version, f))
                h->onnx_version[strcspn(h->onnx_version, "\r\n")] = '\0';
            fclose(f);
        }
    }
    DIR *d = opendir(h->node_dir);
    if (!d) {
        fprintf(stderr, "run_node_tests: error: %s: %s\n", h->node_dir, strerror(errno));
        return false;
    }
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (h->opt.filter && !strstr(e->d_name, h->opt.filter))
            continue;
        snprintf(path, sizeof path, "%s/%s/model.onnx", h->node_dir, e->d_name);
        if (!is_file(path))
            continue;
        char *name = tsl_strdup(e->d_name);
        ok = name && tsl_grow((void **)&h->tests, &h->cap_tests, h->n_tests + 1,
                              sizeof *h->tests);
        if (ok)
            h->tests[h->n_tests++] = name;
        else
            free(name);
    }
    closedir(d);
    if (!ok) {
        fprintf(stderr, "run_node_tests: error: out of memory\n");
        return false;
    }
    if (h->n_tests == 0) {
        fprintf(stderr, "run_node_tests: error: %s: no test folders with a model.onnx%s%s\n",
                h->node_dir, h->opt.filter ? " matching " : "",
                h->opt.filter ? h->opt.filter : "");
        return false;
    }
    qsort(h->tests, h->n_tests, sizeof *h->tests, cmp_str);
    return true;
}

static bool record(struct harness *h, size_t i, const struct outcome *o)
{
    struct tsl_conf_result *r = &h->results[i];
    r->status = o->status;
    r->ops = tsl_strdup(o->ops);
    r->detail = tsl_strdup(o->detail);
    if (h->opt.verbose)
        printf("%-12s %s  %s\n", tsl_conf_status_name(o->status), h->tests[i], o->detail);
    return r->ops && r->detail;
}

static void tolerance_for(struct harness *h, const char *test, double *rtol, double *atol)
{
    struct tsl_conf_entry *e = tsl_conf_list_find(&h->tol, test);
    *rtol = e ? e->rtol : TSL_CONF_RTOL;
    *atol = e ? e->atol : TSL_CONF_ATOL;
    if (e)
        e->used = true;
}

static bool run_all(struct harness *h)
{
    char dir[4096];
    for (size_t i = 0; i < h->n_tests; i++)
        h->results[i].test = h->tests[i];
    if (h->opt.no_fork) {
        struct outcome *o = malloc(sizeof *o);
        bool ok = o != NULL;
        for (size_t i = 0; ok && i < h->n_tests; i++) {
            double rtol, atol;
            tolerance_for(h, h->tests[i], &rtol, &atol);
            snprintf(dir, sizeof dir, "%s/%s", h->node_dir, h->tests[i]);
            run_test(dir, rtol, atol, h->opt.cpu, o);
            ok = record(h, i, o);
        }
        free(o);
        return ok;
    }
    struct slot slots[64];
    struct outcome o;
    char buf[sizeof o.ops + sizeof o.detail + 64];
    int running = 0;
    size_t next = 0;
    bool ok = true;
    while ((ok && next < h->n_tests) || running > 0) {
        while (ok && running < h->opt.jobs && next < h->n_tests) {
            double rtol, atol;
            tolerance_for(h, h->tests[next], &rtol, &atol);
            snprintf(dir, sizeof dir, "%s/%s", h->node_dir, h->tests[next]);
            int fds[2];
            FILE *err = tmpfile();
            if (!err || pipe(fds) != 0) {
                fprintf(stderr, "run_node_tests: error: pipe/tmpfile: %s\n", strerror(errno));
                if (err)
                    fclose(err);
                ok = false;
                break;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "run_node_tests: error: fork: %s\n", strerror(errno));
                close(fds[0]);
                close(fds[1]);
                fclose(err);
                ok = false;
                break;
            }
            if (pid == 0) {
                close(fds[0]);
                child_main(fds[1], err, dir, rtol, atol, h->opt.cpu, h->opt.timeout);
            }
            close(fds[1]);
            slots[running++] = (struct slot){.pid = pid, .fd = fds[0], .err = err,
                                             .test = next++};
        }
        if (running == 0)
            break;
        int ws;
        pid_t pid = waitpid(-1, &ws, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "run_node_tests: error: waitpid: %s\n", strerror(errno));
            return false;
        }
        int s = 0;
        while (s < running && slots[s].pid != pid)
            s++;
        if (s == running)
            continue; /* not one of ours */
        drain(slots[s].fd, buf, sizeof buf);
        close(slots[s].fd);
        decode_child(buf, ws, h->opt.timeout, &o);
        forward_stderr(slots[s].err, h->tests[slots[s].test], &o);
        fclose(slots[s].err);
        if (!record(h, slots[s].test, &o))
            ok = false;
        slots[s] = slots[--running];
    }
    return ok;
}

/* Apply the expected-failure list; count; print what needs attention.
 * Returns true if the run is clean (exit 0). */
static bool judge(struct harness *h, struct tsl_conf_run *run)
{
    bool clean = true;
    for (size_t i = 0; i < h->n_tests; i++) {
        struct tsl_conf_result *r = &h->results[i];
        struct tsl_conf_entry *e = tsl_conf_list_find(&h->xfail, r->test);
        if (e) {
            e->used = true;
            if (r->status == TSL_CONF_FAIL)
                r->status = TSL_CONF_XFAIL;
            else if (r->status == TSL_CONF_PASS)
                r->status = TSL_CONF_XPASS;
            else
                printf("note: %s is listed as an expected failure but is unsupported\n",
                       r->test);
        }
        run->counts[r->status]++;
        if (r->status == TSL_CONF_FAIL) {
            printf("FAIL  %s: %s\n", r->test, r->detail);
            clean = false;
        } else if (r->status == TSL_CONF_XPASS) {
            printf("XPASS %s: passes but is listed in %s; remove it\n", r->test, h->opt.xfail);
            clean = false;
        }
    }
    if (!h->opt.filter) { /* stale entries only make sense on a full run */
        for (size_t i = 0; i < h->xfail.n; i++)
            if (!h->xfail.entries[i].used) {
                printf("STALE %s: listed in %s but no such test\n", h->xfail.entries[i].test,
                       h->opt.xfail);
                clean = false;
            }
        for (size_t i = 0; i < h->tol.n; i++)
            if (!h->tol.entries[i].used) {
                printf("STALE %s: listed in %s but no such test\n", h->tol.entries[i].test,
                       h->opt.tolerances);
                clean = false;
            }
    }
    printf("onnx node tests: %zu pass, %zu fail, %zu xfail, %zu xpass, %zu unsupported "
           "(%zu total, %.1f s)\n",
           run->counts[TSL_CONF_PASS], run->counts[TSL_CONF_FAIL], run->counts[TSL_CONF_XFAIL],
           run->counts[TSL_CONF_XPASS], run->counts[TSL_CONF_UNSUPPORTED], h->n_tests,
           run->seconds);
    if ((long)run->counts[TSL_CONF_PASS] < h->opt.min_pass) {
        printf("FLOOR only %zu tests pass; --min-pass requires %ld\n", run->counts[TSL_CONF_PASS],
               h->opt.min_pass);
        clean = false;
    }
    return clean;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: run_node_tests DATADIR [--filter SUBSTR] [--report FILE.md]\n"
            "                      [--json FILE.json] [--xfail FILE] [--tolerances FILE]\n"
            "                      [--min-pass N] [-j N] [--timeout SECONDS] [--no-fork]\n"
            "                      [--verbose] [--backend ref|cpu]\n"
            "Runs ONNX backend node tests (scripts/gen_onnx_node_tests.py output) through\n"
            "the ONNX importer and the reference interpreter (or the LLVM cpu backend).  Exit 0: no unexpected\n"
            "failure or pass and at least N passing; 1: otherwise; 2: usage/input error.\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool takes_value(const char *a)
{
    static const char *const valued[] = {"--filter", "--report",   "--json", "--xfail",
                                         "--tolerances", "--min-pass", "-j", "--jobs",
                                         "--timeout", "--backend"};
    for (size_t i = 0; i < TSL_ARRAY_LEN(valued); i++)
        if (!strcmp(a, valued[i]))
            return true;
    return false;
}

/* 0 ok, 1 --help printed, 2 usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.jobs = 1, .timeout = 30};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--no-fork")) {
            o->no_fork = true;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o->verbose = true;
        } else if (takes_value(a) && !v) {
            fprintf(stderr, "run_node_tests: error: %s: missing value\n", a);
            return 2;
        } else if (!strcmp(a, "--backend")) {
            if (strcmp(v, "ref") && strcmp(v, "cpu")) {
                fprintf(stderr, "run_node_tests: error: --backend: '%s' (expected ref or cpu)\n",
                        v);
                return 2;
            }
            o->cpu = !strcmp(argv[++i], "cpu");
        } else if (!strcmp(a, "--filter")) {
            o->filter = argv[++i];
        } else if (!strcmp(a, "--report")) {
            o->report = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = argv[++i];
        } else if (!strcmp(a, "--xfail")) {
            o->xfail = argv[++i];
        } else if (!strcmp(a, "--tolerances")) {
            o->tolerances = argv[++i];
        } else if (!strcmp(a, "--min-pass") || !strcmp(a, "-j") || !strcmp(a, "--jobs") ||
                   !strcmp(a, "--timeout")) {
            bool is_min = !strcmp(a, "--min-pass"), is_t = !strcmp(a, "--timeout");
            if (!parse_long(v, is_min ? 0 : 1, is_min ? 1000000 : (is_t ? 3600 : 64), &n)) {
                fprintf(stderr, "run_node_tests: error: %s: bad value '%s'\n", a, v);
                return 2;
            }
            if (is_min)
                o->min_pass = n;
            else if (is_t)
                o->timeout = (int)n;
            else
                o->jobs = (int)n;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "run_node_tests: error: %s: unknown option\n", a);
            return 2;
        } else if (o->data_dir) {
            fprintf(stderr, "run_node_tests: error: %s: only one DATADIR allowed\n", a);
            return 2;
        } else {
            o->data_dir = a;
        }
    }
    if (!o->data_dir) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct harness h = {0};
    int pa = parse_args(argc, argv, &h.opt);
    if (pa != 0)
        return pa == 1 ? 0 : 2;
    int rc = 2;
    char err[1024];
    if (h.opt.xfail && !tsl_conf_list_load(h.opt.xfail, false, &h.xfail, err, sizeof err)) {
        fprintf(stderr, "run_node_tests: error: %s\n", err);
        goto out;
    }
    if (h.opt.tolerances &&
        !tsl_conf_list_load(h.opt.tolerances, true, &h.tol, err, sizeof err)) {
        fprintf(stderr, "run_node_tests: error: %s\n", err);
        goto out;
    }
    if (!discover(&h))
        goto out;
    h.results = calloc(h.n_tests, sizeof *h.results);
    if (!h.results) {
        fprintf(stderr, "run_node_tests: error: out of memory\n");
        goto out;
    }
    double t0 = now_s();
    if (!run_all(&h))
        goto out;
    struct tsl_conf_run run = {
        .data_dir = h.node_dir,
        .onnx_version = h.onnx_version,
        .filter = h.opt.filter,
        .backend = h.opt.cpu ? "cpu" : "ref",
        .xfail_path = h.opt.xfail,
        .results = h.results,
        .n_results = h.n_tests,
        .seconds = now_s() - t0,
    };
    rc = judge(&h, &run) ? 0 : 1;
    if ((h.opt.report && !tsl_conf_write_markdown(&run, h.opt.report, err, sizeof err)) ||
        (h.opt.json && !tsl_conf_write_json(&run, h.opt.json, err, sizeof err))) {
        fprintf(stderr, "run_node_tests: error: %s\n", err);
        rc = 2;
    }
out:
    if (h.results)
        for (size_t i = 0; i < h.n_tests; i++) {
            free(h.results[i].ops);
            free(h.results[i].detail);
        }
    free(h.results);
    for (size_t i = 0; i < h.n_tests; i++)
        free(h.tests[i]);
    free(h.tests);
    free(h.node_dir);
    tsl_conf_list_fini(&h.xfail);
    tsl_conf_list_fini(&h.tol);
    return rc;
}
