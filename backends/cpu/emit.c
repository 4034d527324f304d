/* emit.c - ahead-of-time output of a compiled CPU module: textual LLVM IR,
 * target assembly, a relocatable object, or a shared library (the object
 * linked by the system C compiler driver, `cc -shared`), plus the generated
 * C header describing the entry function, named inputs/outputs (name, dtype,
 * rank and dims as macros) and the sizes
 * of the weight and activation memory.  Every file is written to a temporary
 * name and renamed into place, so a failure leaves no partial output.
 *
 * The artifact needs nothing from tessel at run time: the weights are the
 * constant <name>_weights inside it (added here, to a clone of the module,
 * from the module's blob: the optimized module itself holds no weights), the caller provides the arena, and the
 * thread pool and the data-dependent selections are runtime/tsl_pool.c and
 * runtime/tsl_select.c (embedded in tessel as text) compiled by the system
 * `cc` under the model's prefix and linked into the .so, or merged into the
 * .o (`cc -r`).  .ll and .s output do not contain them: compile both with
 * -DTSL_RT_PREFIX=<name> next to them. */
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
extern const char tsl_rt_pool_source[], tsl_rt_select_source[];
extern const unsigned long tsl_rt_pool_source_len, tsl_rt_select_source_len;

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
        if (strcmp(kind, "OUTPUT") == 0) {
            if (io[i].dyn_axis >= 0)
                fprintf(f, "/* data-dependent size: the dims above are the largest; after a run,\n"
                           " * axis %d has %s_output_dim(arena, %u) entries (the first ones of\n"
                           " * the buffer, in the layout of that shape) */\n",
                        io[i].dyn_axis, lo, i);
            fprintf(f, "#define %s_%s_%u_DYN_AXIS %d\n", up, kind, i, io[i].dyn_axis);
        }
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
            " * Call: %s_run(%s_weights, arena, inputs, outputs, pool) with an arena of\n"
            " * %s_ARENA_BYTES bytes aligned to %s_ARENA_ALIGN, inputs/outputs dense\n"
            " * buffers of each I/O's dtype in the order below, and pool from\n"
            " * %s_pool_create(threads) (threads in total, the caller included; NULL\n"
            " * runs on the calling thread only).  The arena has per-thread scratch for\n"
            " * %s_THREADS threads: a larger pool uses only that many.  A pool and an\n"
            " * arena serve one call at a time.  Needs libc, libm and pthread only. */\n"
            "#ifndef %s_TESSEL_H\n#define %s_TESSEL_H\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
            "#define %s_WEIGHT_BYTES %lldLL\n#define %s_ARENA_BYTES %lldLL\n"
            "#define %s_ARENA_ALIGN %d\n#define %s_THREADS %d\n"
            "static const long long %s_weight_bytes = %lldLL, %s_arena_bytes = %lldLL;\n"
            "static const int %s_threads = %d;\n",
            m->tgt.cpu, m->tgt.vw, lo, lo, up, up, lo, up, up, up, up, (long long)m->weight_bytes,
            up, (long long)m->arena_bytes, up, TSL_CPU_ALIGN, up, m->threads, lo,
            (long long)m->weight_bytes, lo, (long long)m->arena_bytes, lo, m->threads);
    io_block(f, up, lo, "INPUT", m->inputs, m->n_inputs);
    io_block(f, up, lo, "OUTPUT", m->outputs, m->n_outputs);
    if (m->dims_off >= 0)
        fprintf(f,
                "/* Size of the data-dependent axis of output i (its _DYN_AXIS >= 0)\n"
                " * after a run, read from the arena the run used. */\n"
                "#define %s_DIMS_OFFSET %lldLL\n"
                "static inline long long %s_output_dim(const void *arena, int i)\n"
                "{\n    return ((const long long *)((const char *)arena + %s_DIMS_OFFSET))[i];\n}\n",
                up, (long long)m->dims_off, lo, up);
    fprintf(f,
            "\nextern const unsigned char %s_weights[];\n"
            "/* The thread pool (compiled into the artifact): threads in total, the\n"
            " * caller included (threads - 1 workers); NULL if memory or a thread\n"
            " * could not be obtained.  Destroy joins the workers. */\n"
            "struct %s_pool;\n"
            "struct %s_pool *%s_pool_create(int threads);\n"
            "void %s_pool_destroy(struct %s_pool *pool);\n"
            "void %s_run(const void *weights, void *arena, void *const *inputs,\n"
            "            void *const *outputs, struct %s_pool *pool);\n\n"
            "#ifdef __cplusplus\n}\n#endif\n#endif\n",
            lo, lo, lo, lo, lo, lo, lo, lo);
    enum tsl_status st = finish_file(f, tmp, path, diag);
    free(tmp);
    return st;
}

enum tsl_status tsl_cpu_add_weights_global(const struct tsl_cpu_module *m, LLVMModuleRef mod,
                                           struct tsl_diag *diag)
{
    static const uint8_t one = 0;
    size_t len = m->weight_bytes > 0 ? (size_t)m->weight_bytes : 1;
    const uint8_t *data = m->weight_bytes > 0 ? m->weights : &one;
    if (len > UINT32_MAX)
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, m->prefix,
                              "weight blob of %zu bytes exceeds 4 GiB", len);
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMValueRef init = LLVMConstStringInContext(ctx, (const char *)data, (unsigned)len, 1);
    char name[96];
    snprintf(name, sizeof name, "%s_weights", m->prefix);
    LLVMValueRef gv = LLVMAddGlobal(mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetAlignment(gv, TSL_CPU_ALIGN);
    return TSL_STATUS_OK;
}

/* A clone of m->mod with the weights global (codegen may also rewrite the
 * IR it compiles: it never sees m->mod itself). */
static enum tsl_status clone_with_weights(struct tsl_cpu_module *m, const char *path,
                                          LLVMModuleRef *out, struct tsl_diag *diag)
{
    *out = LLVMCloneModule(m->mod);
    if (!*out)
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "cloning the module");
    enum tsl_status st = tsl_cpu_add_weights_global(m, *out, diag);
    if (st != TSL_STATUS_OK) {
        LLVMDisposeModule(*out);
        *out = NULL;
    }
    return st;
}

static enum tsl_status emit_machine(struct tsl_cpu_module *m, LLVMCodeGenFileType kind,
                                    const char *path, struct tsl_diag *diag)
{
    LLVMModuleRef clone;
    TSL_TRY(clone_with_weights(m, path, &clone, diag));
    LLVMTargetMachineRef tm;
    enum tsl_status st = tsl_cpu_target_machine(&m->tgt, m->opt_level, &tm, diag);
    if (st != TSL_STATUS_OK) {
        LLVMDisposeModule(clone);
        return st;
    }
    char *err = NULL;
    char *p = tsl_strdup(path);
    if (!p)
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "emission");
    else if (LLVMTargetMachineEmitToFile(tm, clone, p, kind, &err)) {
        st = tsl_diag_error(diag, TSL_STATUS_IO, path, "LLVM could not write the file: %s",
                            err ? err : "");
        remove(path);
    }
    LLVMDisposeMessage(err);
    free(p);
    LLVMDisposeModule(clone);
    LLVMDisposeTargetMachine(tm);
    return st;
}

/* Run the system C compiler driver with argv (argv[0] "cc"). */
static enum tsl_status run_cc(char *const *argv, const char *what, struct tsl_diag *diag)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, "cc", NULL, NULL, argv, environ);
    if (rc != 0)
        return tsl_diag_error(diag, TSL_STATUS_IO, what, "cannot run the C compiler `cc`: %s",
                              strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return tsl_diag_error(diag, TSL_STATUS_IO, what, "waiting for `cc`: %s",
                                  strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return tsl_diag_error(diag, TSL_STATUS_IO, what, "`cc` failed (status %d)", status);
    return TSL_STATUS_OK;
}

/* Write the embedded runtime/tsl_pool.c and runtime/tsl_select.c to `src`
 * and compile them to `obj` under the module's prefix. */
static enum tsl_status build_runtime(const struct tsl_cpu_module *m, const char *src,
                                     const char *obj, struct tsl_diag *diag)
{
    FILE *f = fopen(src, "w");
    if (!f)
        return tsl_diag_error(diag, TSL_STATUS_IO, src, "cannot open: %s", strerror(errno));
    /* one translation unit: the pool, then the selections (same macros) */
    size_t n = fwrite(tsl_rt_pool_source, 1, (size_t)tsl_rt_pool_source_len, f);
    n += fwrite(tsl_rt_select_source, 1, (size_t)tsl_rt_select_source_len, f);
    if (fclose(f) != 0 || n != (size_t)(tsl_rt_pool_source_len + tsl_rt_select_source_len)) {
        remove(src);
        return tsl_diag_error(diag, TSL_STATUS_IO, src, "write failed");
    }
    char *def = tsl_asprintf("-DTSL_RT_PREFIX=%s", m->prefix);
    if (!def) {
        remove(src);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, src, "path");
    }
    char *argv[] = {"cc", "-std=c11", "-O2", "-fPIC", "-pthread", def, "-c", (char *)src,
                    "-o", (char *)obj, NULL};
    enum tsl_status st = run_cc(argv, obj, diag);
    free(def);
    remove(src);
    return st;
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
    char *rt_src = tsl_asprintf("%s.tmp%ld.rt.c", path, (long)getpid());
    char *rt_obj = tsl_asprintf("%s.tmp%ld.rt.o", path, (long)getpid());
    enum tsl_status st = TSL_STATUS_OK;
    if (!tmp || !tmp2 || !hdr || !rt_src || !rt_obj) {
        st = tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "path");
        goto done;
    }
    switch (kind) {
    case TSL_CPU_EMIT_LL: {
        LLVMModuleRef clone;
        st = clone_with_weights(m, path, &clone, diag);
        if (st != TSL_STATUS_OK)
            break;
        char *err = NULL;
        if (LLVMPrintModuleToFile(clone, tmp, &err)) {
            st = tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot write LLVM IR: %s",
                                err ? err : "");
            remove(tmp);
        }
        LLVMDisposeMessage(err);
        LLVMDisposeModule(clone);
        break;
    }
    case TSL_CPU_EMIT_ASM: st = emit_machine(m, LLVMAssemblyFile, tmp, diag); break;
    case TSL_CPU_EMIT_OBJ:
    case TSL_CPU_EMIT_SO: {
        /* the model's object, the pool's object, then one .so or one .o */
        st = emit_machine(m, LLVMObjectFile, tmp2, diag);
        if (st == TSL_STATUS_OK)
            st = build_runtime(m, rt_src, rt_obj, diag);
        if (st == TSL_STATUS_OK) {
            char *so_argv[] = {"cc", "-shared", "-pthread", "-o", tmp, tmp2, rt_obj, "-lm", NULL};
            char *o_argv[] = {"cc", "-r", "-nostdlib", "-o", tmp, tmp2, rt_obj, NULL};
            st = run_cc(kind == TSL_CPU_EMIT_SO ? so_argv : o_argv, path, diag);
        }
        remove(tmp2);
        remove(rt_obj);
        break;
    }
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
    free(rt_src);
    free(rt_obj);
    return st;
}
