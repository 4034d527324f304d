/* emit.c - ahead-of-time output of a compiled CPU module: textual LLVM IR,
 * target assembly, a relocatable object, or a shared library (the object
 * linked by the system C compiler driver, `cc -shared`), plus the generated
 * C header describing the entry function, named inputs/outputs (name, dtype,
 * rank and dims as macros) and the sizes
 * of the weight and activation memory.  Every file is written to a temporary
 * name and renamed into place, so a failure leaves no partial output.
 *
 * The artifact needs nothing from tessel at run time: the weights are the
 * constant <name>_weights inside it, the caller provides the arena. */
#include <ctype.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpu_module.h"
#include "tessel/util.h"

extern char **environ;

static void c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 32 || *p >= 127)
            fprintf(f, "\\%03o", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void io_block(FILE *f, const char *up, const char *lo, const char *kind,
                     const struct tsl_cpu_io *io, uint32_t n)
{
    fprintf(f, "#define %s_NUM_%sS %u\n", up, kind, n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t numel = 1;
        fprintf(f, "/* %s %u: ", kind, i);
        for (const char *p = io[i].name; *p; p++)
            fputc(*p == '*' ? '_' : *p, f); /* never close the comment */
        fprintf(f, ", %s [", tsl_dtype_name(io[i].dtype));
        for (int32_t d = 0; d < io[i].shape.rank; d++) {
            fprintf(f, "%s%lld", d ? ", " : "", (long long)io[i].shape.dims[d]);
            numel *= io[i].shape.dims[d];
        }
        fprintf(f, "] */\n#define %s_%s_%u_NUMEL %lldLL\n", up, kind, i, (long long)numel);
        /* shape as a brace initializer (rank 0: {1}, one element) and dtype */
        fprintf(f, "#define %s_%s_%u_RANK %d\n#define %s_%s_%u_DIMS {", up, kind, i,
                (int)io[i].shape.rank, up, kind, i);
        for (int32_t d = 0; d < io[i].shape.rank; d++)
            fprintf(f, "%s%lldLL", d ? ", " : "", (long long)io[i].shape.dims[d]);
        fprintf(f, "%s}\n#define %s_%s_%u_DTYPE \"%s\"\n", io[i].shape.rank ? "" : "1LL", up,
                kind, i, tsl_dtype_name(io[i].dtype));
    }
    fprintf(f, "static const char *const %s_%s_names[%u] = {", lo,
            strcmp(kind, "INPUT") == 0 ? "input" : "output", n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", f);
        c_string(f, io[i].name);
    }
    fputs(n ? "};\n" : "0};\n", f);
    /* the same facts as lower-case constants, for code generic over models */
    const char *lk = strcmp(kind, "INPUT") == 0 ? "input" : "output";
    int maxr = 1;
    for (uint32_t i = 0; i < n; i++)
        if (io[i].shape.rank > maxr)
            maxr = io[i].shape.rank;
    fprintf(f, "static const int %s_num_%ss = %u;\n", lo, lk, n);
    fprintf(f, "static const long long %s_%s_numel[%u] = {", lo, lk, n ? n : 1);
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "%s%s_%s_%u_NUMEL", i ? ", " : "", up, kind, i);
    fputs(n ? "};\n" : "0};\n", f);
    fprintf(f, "static const int %s_%s_rank[%u] = {", lo, lk, n ? n : 1);
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "%s%s_%s_%u_RANK", i ? ", " : "", up, kind, i);
    fputs(n ? "};\n" : "0};\n", f);
    fprintf(f, "static const long long %s_%s_dims[%u][%d] = {", lo, lk, n ? n : 1, maxr);
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "%s%s_%s_%u_DIMS", i ? ", " : "", up, kind, i);
    fputs(n ? "};\n" : "{0}};\n", f);
}

static enum tsl_status finish_file(FILE *f, const char *tmp, const char *path,
                                   struct tsl_diag *diag)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "write failed");
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot rename: %s", strerror(errno));
    }
    return TSL_STATUS_OK;
}

enum tsl_status tsl_cpu_emit_header(const struct tsl_cpu_module *m, const char *path,
                                    struct tsl_diag *diag)
{
    char up[96];
    size_t i;
    for (i = 0; m->prefix[i] && i + 1 < sizeof up; i++)
        up[i] = (char)toupper((unsigned char)m->prefix[i]);
    up[i] = 0;
    char *tmp = tsl_asprintf("%s.tmp", path);
    if (!tmp)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "path");
    FILE *f = fopen(tmp, "w");
    if (!f) {
        enum tsl_status st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot open: %s",
                                            strerror(errno));
        free(tmp);
        return st;
    }
    const char *lo = m->prefix;
    fprintf(f,
            "/* Generated by tessel (cpu backend, target %s, %d f32 lanes).\n"
            " * Call: %s_run(%s_weights, arena, inputs, outputs) with an arena of\n"
            " * %s_ARENA_BYTES bytes aligned to %s_ARENA_ALIGN, inputs/outputs dense\n"
            " * row-major f32 buffers in the order below.  Reentrant only with one arena\n"
            " * per concurrent call.  No dependency on tessel. */\n"
            "#ifndef %s_TESSEL_H\n#define %s_TESSEL_H\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
            "#define %s_WEIGHT_BYTES %lldLL\n#define %s_ARENA_BYTES %lldLL\n"
            "#define %s_ARENA_ALIGN %d\n"
            "static const long long %s_weight_bytes = %lldLL, %s_arena_bytes = %lldLL;\n",
            m->tgt.cpu, m->tgt.vw, lo, lo, up, up, up, up, up, (long long)m->weight_bytes, up,
            (long long)m->arena_bytes, up, TSL_CPU_ALIGN, lo, (long long)m->weight_bytes, lo,
            (long long)m->arena_bytes);
    io_block(f, up, lo, "INPUT", m->inputs, m->n_inputs);
    io_block(f, up, lo, "OUTPUT", m->outputs, m->n_outputs);
    fprintf(f,
            "\nextern const unsigned char %s_weights[];\n"
            "void %s_run(const void *weights, void *arena, void *const *inputs,\n"
            "            void *const *outputs);\n\n"
            "#ifdef __cplusplus\n}\n#endif\n#endif\n",
            lo, lo);
    enum tsl_status st = finish_file(f, tmp, path, diag);
    free(tmp);
    return st;
}

static enum tsl_status emit_machine(struct tsl_cpu_module *m, LLVMCodeGenFileType kind,
                                    const char *path, struct tsl_diag *diag)
{
    LLVMTargetMachineRef tm;
    TSL_TRY(tsl_cpu_target_machine(&m->tgt, m->opt_level, &tm, diag));
    /* codegen may rewrite the IR it compiles: work on a clone */
    LLVMModuleRef clone = LLVMCloneModule(m->mod);
    char *err = NULL;
    char *p = tsl_strdup(path);
    enum tsl_status st = TSL_STATUS_OK;
    if (!clone || !p)
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "emission");
    else if (LLVMTargetMachineEmitToFile(tm, clone, p, kind, &err)) {
        st = tsl_diag_error(diag, TSL_STATUS_IO, path, "LLVM could not write the file: %s",
                            err ? err : "");
        remove(path);
    }
    LLVMDisposeMessage(err);
    free(p);
    if (clone)
        LLVMDisposeModule(clone);
    LLVMDisposeTargetMachine(tm);
    return st;
}

static enum tsl_status link_shared(const char *obj, const char *so, struct tsl_diag *diag)
{
    char *argv[] = {"cc", "-shared", "-o", (char *)so, (char *)obj, "-lm", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "cc", NULL, NULL, argv, environ);
    if (rc != 0)
        return tsl_diag_error(diag, TSL_STATUS_IO, so, "cannot run the linker `cc`: %s",
                              strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return tsl_diag_error(diag, TSL_STATUS_IO, so, "waiting for `cc`: %s",
                                  strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        remove(so);
        return tsl_diag_error(diag, TSL_STATUS_IO, so, "`cc -shared` failed (status %d)",
                              status);
    }
    return TSL_STATUS_OK;
}

static char *header_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    return tsl_asprintf("%.*s.h", (int)stem, path);
}

enum tsl_status tsl_cpu_emit(struct tsl_cpu_module *m, enum tsl_cpu_emit_kind kind,
                             const char *path, struct tsl_diag *diag)
{
    if (!m || !path)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "cpu", "NULL module or path");
    char *tmp = tsl_asprintf("%s.tmp%ld", path, (long)getpid());
    char *tmp2 = tsl_asprintf("%s.tmp%ld.o", path, (long)getpid());
    char *hdr = header_path(path);
    enum tsl_status st = TSL_STATUS_OK;
    if (!tmp || !tmp2 || !hdr) {
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "path");
        goto done;
    }
    switch (kind) {
    case TSL_CPU_EMIT_LL: {
        char *err = NULL;
        if (LLVMPrintModuleToFile(m->mod, tmp, &err)) {
            st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot write LLVM IR: %s",
                                err ? err : "");
            remove(tmp);
        }
        LLVMDisposeMessage(err);
        break;
    }
    case TSL_CPU_EMIT_ASM: st = emit_machine(m, LLVMAssemblyFile, tmp, diag); break;
    case TSL_CPU_EMIT_OBJ: st = emit_machine(m, LLVMObjectFile, tmp, diag); break;
    case TSL_CPU_EMIT_SO:
        st = emit_machine(m, LLVMObjectFile, tmp2, diag);
        if (st == TSL_STATUS_OK)
            st = link_shared(tmp2, tmp, diag);
        remove(tmp2);
        break;
    default: st = tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, path, "unknown emit kind");
    }
    if (st == TSL_STATUS_OK && (kind == TSL_CPU_EMIT_OBJ || kind == TSL_CPU_EMIT_SO))
        st = tsl_cpu_emit_header(m, hdr, diag);
    if (st == TSL_STATUS_OK && rename(tmp, path) != 0) {
        st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot rename: %s", strerror(errno));
        remove(hdr);
    }
    if (st != TSL_STATUS_OK)
        remove(tmp);
done:
    free(tmp);
    free(tmp2);
    free(hdr);
    return st;
}
