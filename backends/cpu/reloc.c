/* reloc.c - step-relative addressing and sharing of identical step
 * functions.  Inside a step, a pointer to a value (weights or arena) is the
 * base argument plus an offset loaded from the step's own i64 table (the
 * step function's last parameter), once, in the function's entry block.
 * The IR of a step then depends only on its shapes, attributes and
 * epilogue, not on where its values live, and steps whose functions print
 * the same IR (ResNet-50's repeated bottleneck layers) keep one function:
 * the entry calls it once per step, each time with that step's table.  Less
 * IR means less LLVM optimization and machine-code generation.
 *
 * Sound by construction: everything a step bakes into its IR is in the
 * printed text (loop bounds, strides, constants, micro-kernel names,
 * whether two offsets are the same table entry), and everything that is not
 * (the offsets) comes from the table.  Graph inputs and outputs are still
 * addressed by their constant slot index, so steps reading different I/O
 * slots simply differ.  Not here: the table's contents (the memory plan,
 * plan.c) and the entry function (compile.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

static uint32_t reloc_slot(struct tsl_cpu_cg *cg, bool weights, int64_t off)
{
    for (uint32_t i = 0; i < cg->n_relocs; i++)
        if (cg->relocs[i].weights == weights && cg->relocs[i].off == off)
            return i;
    if (cg->n_relocs == cg->cap_relocs) {
        uint32_t cap = cg->cap_relocs ? 2 * cg->cap_relocs : 16;
        struct tsl_cpu_reloc *r = realloc(cg->relocs, cap * sizeof *r);
        if (!r)
            return UINT32_MAX;
        cg->relocs = r;
        cg->cap_relocs = cap;
    }
    cg->relocs[cg->n_relocs] = (struct tsl_cpu_reloc){.weights = weights, .off = off};
    return cg->n_relocs++;
}

LLVMValueRef tsl_cpu_reloc_ptr(struct tsl_cpu_cg *cg, bool weights, int64_t off)
{
    LLVMValueRef base = weights ? cg->p_weights : cg->p_arena;
    uint32_t slot = cg->p_offs ? reloc_slot(cg, weights, off) : UINT32_MAX;
    if (slot == UINT32_MAX) { /* outside a step, or out of memory (reported later) */
        if (cg->p_offs)
            cg->reloc_nomem = true;
        LLVMValueRef idx = tsl_cpu_i64(cg, off);
        return LLVMBuildInBoundsGEP2(cg->b, cg->t_i8, base, &idx, 1, "");
    }
    for (uint32_t i = cg->rptr_start; i < cg->n_rptrs; i++)
        if (cg->rptrs[i].slot == slot)
            return cg->rptrs[i].ptr;
    if (cg->n_rptrs == cg->cap_rptrs) {
        uint32_t cap = cg->cap_rptrs ? 2 * cg->cap_rptrs : 32;
        struct tsl_cpu_rptr *r = realloc(cg->rptrs, cap * sizeof *r);
        if (!r) {
            cg->reloc_nomem = true;
            LLVMValueRef idx = tsl_cpu_i64(cg, off);
            return LLVMBuildInBoundsGEP2(cg->b, cg->t_i8, base, &idx, 1, "");
        }
        cg->rptrs = r;
        cg->cap_rptrs = cap;
    }
    /* in the entry block, before its branch to the body: dominates every use */
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(cg->b);
    LLVMValueRef term = LLVMGetBasicBlockTerminator(LLVMGetEntryBasicBlock(cg->fn));
    LLVMPositionBuilderBefore(cg->b, term);
    LLVMValueRef idx = tsl_cpu_i64(cg, slot);
    LLVMValueRef op = LLVMBuildInBoundsGEP2(cg->b, cg->t_i64, cg->p_offs, &idx, 1, "");
    LLVMValueRef ov = LLVMBuildLoad2(cg->b, cg->t_i64, op, "off");
    LLVMSetAlignment(ov, 8);
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, cg->t_i8, base, &ov, 1, "");
    LLVMPositionBuilderAtEnd(cg->b, cur);
    cg->rptrs[cg->n_rptrs++] = (struct tsl_cpu_rptr){.slot = slot, .ptr = p};
    return p;
}

LLVMValueRef tsl_cpu_reloc_table(struct tsl_cpu_cg *cg, uint32_t step)
{
    LLVMTypeRef pi64 = LLVMPointerType(cg->t_i64, 0);
    if (cg->n_relocs == 0)
        return LLVMConstNull(pi64);
    LLVMValueRef *vals = malloc(cg->n_relocs * sizeof *vals);
    if (!vals)
        return NULL;
    for (uint32_t i = 0; i < cg->n_relocs; i++)
        vals[i] = tsl_cpu_i64(cg, cg->relocs[i].off);
    LLVMValueRef init = LLVMConstArray(cg->t_i64, vals, cg->n_relocs);
    free(vals);
    char name[112];
    snprintf(name, sizeof name, "%s_offs%u", cg->prefix, step);
    LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMInternalLinkage);
    LLVMSetUnnamedAddr(gv, 1);
    LLVMSetAlignment(gv, 8);
    return LLVMConstBitCast(gv, pi64);
}

/* ---- sharing ------------------------------------------------------------- */

struct dedup_entry {
    uint64_t hash;
    char *text;
    LLVMValueRef fn;
};
struct tsl_cpu_dedup {
    struct dedup_entry *e;
    uint32_t n, cap;
};

struct tsl_cpu_dedup *tsl_cpu_dedup_new(void)
{
    return calloc(1, sizeof(struct tsl_cpu_dedup));
}

void tsl_cpu_dedup_free(struct tsl_cpu_dedup *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->n; i++)
        free(d->e[i].text);
    free(d->e);
    free(d);
}

static bool is_ukernel(const struct tsl_cpu_cg *cg, LLVMValueRef f)
{
    for (uint32_t i = 0; i < cg->n_uks; i++)
        if (cg->uks[i].fn == f)
            return true;
    return false;
}

/* Append s to the growing buffer *buf (length *len, capacity *cap). */
static bool append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (*len + n + 1 > c)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return true;
}

/* The step function and its tasks printed under canonical names, so that
 * two steps compare equal exactly when their IR is the same. */
static char *canonical_text(struct tsl_cpu_cg *cg, LLVMValueRef *group, uint32_t n)
{
    char **names = calloc(n, sizeof *names);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = names != NULL;
    for (uint32_t i = 0; ok && i < n; i++) {
        size_t nl = 0;
        const char *nm = LLVMGetValueName2(group[i], &nl);
        names[i] = malloc(nl + 1);
        if (!names[i]) {
            ok = false;
            break;
        }
        memcpy(names[i], nm, nl);
        names[i][nl] = '\0';
        char canon[32];
        snprintf(canon, sizeof canon, "tsl.canon.%u", i);
        LLVMSetValueName2(group[i], canon, strlen(canon));
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        char *t = LLVMPrintValueToString(group[i]);
        ok = t && append(&buf, &len, &cap, t);
        LLVMDisposeMessage(t);
    }
    for (uint32_t i = 0; names && i < n; i++)
        if (names[i]) {
            LLVMSetValueName2(group[i], names[i], strlen(names[i]));
            free(names[i]);
        }
    free(names);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

LLVMValueRef tsl_cpu_dedup_step(struct tsl_cpu_cg *cg, struct tsl_cpu_dedup *d, LLVMValueRef fn,
                                LLVMValueRef before)
{
    /* the step function, then its tasks in creation order */
    uint32_t n = 1, cap = 8;
    LLVMValueRef *group = malloc(cap * sizeof *group);
    if (!group)
        return NULL;
    group[0] = fn;
    LLVMValueRef f = before ? LLVMGetNextFunction(before) : LLVMGetFirstFunction(cg->mod);
    for (; f; f = LLVMGetNextFunction(f)) {
        if (f == fn || LLVMIsDeclaration(f) || is_ukernel(cg, f))
            continue;
        if (n == cap) {
            LLVMValueRef *g = realloc(group, 2 * cap * sizeof *g);
            if (!g) {
                free(group);
                return NULL;
            }
            group = g;
            cap *= 2;
        }
        group[n++] = f;
    }
    char *text = canonical_text(cg, group, n);
    if (!text) {
        free(group);
        return NULL;
    }
    uint64_t h = fnv1a(text);
    for (uint32_t i = 0; i < d->n; i++)
        if (d->e[i].hash == h && strcmp(d->e[i].text, text) == 0) {
            for (uint32_t k = 0; k < n; k++) /* the step first: it calls the tasks */
                LLVMDeleteFunction(group[k]);
            free(group);
            free(text);
            return d->e[i].fn;
        }
    free(group);
    if (d->n == d->cap) {
        uint32_t c = d->cap ? 2 * d->cap : 16;
        struct dedup_entry *e = realloc(d->e, c * sizeof *e);
        if (!e) {
            free(text);
            return NULL;
        }
        d->e = e;
        d->cap = c;
    }
    d->e[d->n++] = (struct dedup_entry){.hash = h, .text = text, .fn = fn};
    return fn;
}
