/* pass_manager.c - runs named passes and pipelines (see passes.h): looks
 * passes up in the table generated from passes.def, times each one, verifies
 * after each when asked, and calls the after-pass hook.  Does not print and
 * holds no state outside the caller's context. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessel/passes.h"
#include "tessel/util.h"
#include "tessel/verify.h"

typedef enum tsl_status (*pass_fn)(struct tsl_graph *, struct tsl_pass_context *);

static const struct {
    const char *name;
    const char *desc;
    pass_fn fn;
} pass_table[] = {
#define TSL_PASS(id, name, desc) [TSL_PASS_##id] = {name, desc, tsl_pass_##id},
#include "tessel/passes.def"
#undef TSL_PASS
};

void tsl_pass_context_init(struct tsl_pass_context *ctx, struct tsl_diag *diag)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->diag = diag;
    ctx->fold_max_bytes = 64 << 20;
    ctx->compress.keep_first_last = true;
}

void tsl_pass_context_fini(struct tsl_pass_context *ctx)
{
    for (uint32_t i = 0; i < ctx->n_layers; i++) {
        free(ctx->layers[i].name);
        free(ctx->layers[i].op);
    }
    free(ctx->layers);
    ctx->layers = NULL;
    ctx->n_layers = ctx->cap_layers = 0;
    free(ctx->timings);
    ctx->timings = NULL;
    ctx->n_timings = ctx->cap_timings = 0;
}

enum tsl_status tsl_pass_report_layer(struct tsl_pass_context *ctx,
                                      const struct tsl_layer_report *r)
{
    struct tsl_layer_report *dst = NULL;
    for (uint32_t i = 0; i < ctx->n_layers && !dst; i++)
        if (strcmp(ctx->layers[i].name, r->name) == 0)
            dst = &ctx->layers[i];
    if (!dst) {
        size_t cap = ctx->cap_layers;
        if (!tsl_grow((void **)&ctx->layers, &cap, (size_t)ctx->n_layers + 1, sizeof *ctx->layers))
            return TSL_STATUS_NOMEM;
        ctx->cap_layers = (uint32_t)cap;
        dst = &ctx->layers[ctx->n_layers++];
        memset(dst, 0, sizeof *dst);
    }
    char *name = tsl_strdup(r->name), *op = tsl_strdup(r->op ? r->op : "");
    if (!name || !op) {
        free(name);
        free(op);
        return TSL_STATUS_NOMEM;
    }
    free(dst->name);
    free(dst->op);
    *dst = *r;
    dst->name = name;
    dst->op = op;
    return TSL_STATUS_OK;
}

const char *tsl_pass_name(enum tsl_pass_id id)
{
    return (unsigned)id < TSL_PASS_COUNT ? pass_table[id].name : "?";
}

const char *tsl_pass_description(enum tsl_pass_id id)
{
    return (unsigned)id < TSL_PASS_COUNT ? pass_table[id].desc : "?";
}

bool tsl_pass_from_name(const char *name, enum tsl_pass_id *out)
{
    for (int i = 0; i < TSL_PASS_COUNT; i++)
        if (strcmp(pass_table[i].name, name) == 0) {
            *out = (enum tsl_pass_id)i;
            return true;
        }
    return false;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum tsl_status tsl_pass_run(struct tsl_graph *g, enum tsl_pass_id id,
                             struct tsl_pass_context *ctx)
{
    if ((unsigned)id >= TSL_PASS_COUNT)
        return tsl_diag_error(ctx->diag, TSL_STATUS_INVALID_ARG, "passes", "no pass #%d",
                              (int)id);
    double t0 = now_seconds();
    enum tsl_status st = pass_table[id].fn(g, ctx);
    double dt = now_seconds() - t0;
    size_t cap = ctx->cap_timings;
    if (tsl_grow((void **)&ctx->timings, &cap, (size_t)ctx->n_timings + 1,
                 sizeof *ctx->timings)) {
        ctx->cap_timings = (uint32_t)cap;
        ctx->timings[ctx->n_timings++] = (struct tsl_pass_timing){pass_table[id].name, dt};
    }
    if (st != TSL_STATUS_OK)
        return st;
    if (ctx->verify_each) {
        st = tsl_verify(g, ctx->diag);
        if (st != TSL_STATUS_OK)
            return tsl_diag_error(ctx->diag, st, pass_table[id].name,
                                  "IR does not verify after this pass");
    }
    if (ctx->after_pass)
        ctx->after_pass(ctx->after_pass_user, pass_table[id].name, g);
    return TSL_STATUS_OK;
}

/* Split "a,b,c" and hand each pass id to `each`; NULL g = check only. */
static enum tsl_status walk_pipeline(struct tsl_graph *g, const char *pipeline,
                                     struct tsl_pass_context *ctx, struct tsl_diag *diag)
{
    const char *p = pipeline;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name)
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "--passes",
                                  "bad pipeline '%s': empty or overlong pass name", pipeline);
        memcpy(name, p, len);
        name[len] = '\0';
        enum tsl_pass_id id;
        if (!tsl_pass_from_name(name, &id))
            return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "--passes",
                                  "unknown pass '%s' (see 'tessel passes')", name);
        if (g)
            TSL_TRY(tsl_pass_run(g, id, ctx));
        if (!end)
            return TSL_STATUS_OK;
        p = end + 1;
    }
}

enum tsl_status tsl_pass_check_pipeline(const char *pipeline, struct tsl_diag *diag)
{
    return walk_pipeline(NULL, pipeline, NULL, diag);
}

enum tsl_status tsl_pass_run_pipeline(struct tsl_graph *g, const char *pipeline,
                                      struct tsl_pass_context *ctx)
{
    TSL_TRY(walk_pipeline(NULL, pipeline, ctx, ctx->diag));
    return walk_pipeline(g, pipeline, ctx, ctx->diag);
}
