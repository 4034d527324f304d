/* ir_internal.h - declarations shared only inside ir/: the name index that
 * backs tsl_graph_find_value / tsl_graph_find_node.  Not a public API. */
#ifndef TESSEL_IR_INTERNAL_H
#define TESSEL_IR_INTERNAL_H

#include "tessel/ir.h"

/* Open-addressing string -> pointer map; keys are borrowed (they point at
 * the names owned by the values/nodes themselves). */
struct tsl_strmap {
    const char **keys;
    void **vals;
    size_t cap, n, n_tomb;
};

struct tsl_ir_index {
    struct tsl_strmap values;
    struct tsl_strmap nodes;
};

void tsl_strmap_fini(struct tsl_strmap *m);
void *tsl_strmap_get(const struct tsl_strmap *m, const char *key);
bool tsl_strmap_put(struct tsl_strmap *m, const char *key, void *val);
void tsl_strmap_del(struct tsl_strmap *m, const char *key);

#endif
