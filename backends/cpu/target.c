/* target.c - the target description of the CPU backend: host (or
 * overridden) triple, CPU name and feature string, the f32 vector width and
 * register tile the GEMM micro-kernel uses, TargetMachine creation, and the
 * conversion of LLVM errors into diagnostics.
 *
 * It does not build IR or run passes (compile.c) or JIT (jit.c). */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Target.h>

#include "cpu_internal.h"
#include "tessel/util.h"

enum tsl_status tsl_cpu_llvm_error(struct tsl_diag *diag, LLVMErrorRef err, const char *where,
                                   const char *what)
{
    char *msg = LLVMGetErrorMessage(err);
    enum tsl_status st = tsl_diag_error(diag, TSL_STATUS_INTERNAL, where, "%s: %s", what,
                                        msg ? msg : "(no message)");
    LLVMDisposeErrorMessage(msg);
    return st;
}

/* True when the comma-separated feature list enables `f` ("+avx512f"). */
static bool has_feature(const char *features, const char *f)
{
    size_t n = strlen(f);
    for (const char *p = features; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n + 1 && p[0] == '+' && memcmp(p + 1, f, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

enum tsl_status tsl_cpu_target_init(struct tsl_cpu_target *t, const struct tsl_cpu_options *o,
                                    struct tsl_diag *diag)
{
    memset(t, 0, sizeof *t);
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() ||
        LLVMInitializeNativeAsmParser())
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, "cpu",
                              "LLVM has no native target for this host");
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = o->cpu ? NULL : LLVMGetHostCPUName();
    char *feat = o->features ? NULL : LLVMGetHostCPUFeatures();
    t->triple = tsl_strdup(triple);
    t->cpu = tsl_strdup(o->cpu ? o->cpu : cpu);
    t->features = tsl_strdup(o->features ? o->features : feat);
    LLVMDisposeMessage(triple);
    if (cpu)
        LLVMDisposeMessage(cpu);
    if (feat)
        LLVMDisposeMessage(feat);
    if (!t->triple || !t->cpu || !t->features) {
        tsl_cpu_target_fini(t);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, "cpu", "target description");
    }
    bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
    if (x86 && has_feature(t->features, "avx512f")) {
        t->vw = 16, t->mr = 8, t->nv = 2;
    } else if (x86 && has_feature(t->features, "avx2") && has_feature(t->features, "fma")) {
        t->vw = 8, t->mr = 6, t->nv = 2;
    } else {
        t->vw = 1, t->mr = 4, t->nv = 4;
    }
    return TSL_STATUS_OK;
}

void tsl_cpu_target_fini(struct tsl_cpu_target *t)
{
    free(t->triple);
    free(t->cpu);
    free(t->features);
    memset(t, 0, sizeof *t);
}

enum tsl_status tsl_cpu_target_machine(const struct tsl_cpu_target *t, int opt_level,
                                       LLVMTargetMachineRef *out, struct tsl_diag *diag)
{
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
        enum tsl_status st = tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, "cpu",
                                            "no LLVM target for %s: %s", t->triple,
                                            err ? err : "");
        LLVMDisposeMessage(err);
        return st;
    }
    LLVMCodeGenOptLevel lvl = opt_level <= 0   ? LLVMCodeGenLevelNone
                              : opt_level == 1 ? LLVMCodeGenLevelLess
                              : opt_level == 2 ? LLVMCodeGenLevelDefault
                                               : LLVMCodeGenLevelAggressive;
    /* PIC so the same code links into a shared library. */
    *out = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, lvl, LLVMRelocPIC,
                                   LLVMCodeModelDefault);
    if (!*out)
        return tsl_diag_error(diag, TSL_STATUS_INTERNAL, "cpu",
                              "LLVM could not create a target machine for %s (%s)", t->triple,
                              t->cpu);
    return TSL_STATUS_OK;
}
