/* strmap.c - a small open-addressing hash map from borrowed C strings to
 * pointers, used for the graph's name lookups.  Deterministic (no seeds);
 * iteration order is never exposed, so printing stays stable. */
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"

static const char tomb_key[] = "";
#define TOMB ((const char *)tomb_key)

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void tsl_strmap_fini(struct tsl_strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t find_slot(const struct tsl_strmap *m, const char *key, bool *found)
{
    size_t mask = m->cap - 1, i = hash_str(key) & mask, tomb = SIZE_MAX;
    for (;;) {
        const char *k = m->keys[i];
        if (!k) {
            *found = false;
            return tomb != SIZE_MAX ? tomb : i;
        }
        if (k == TOMB) {
            if (tomb == SIZE_MAX)
                tomb = i;
        } else if (strcmp(k, key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

void *tsl_strmap_get(const struct tsl_strmap *m, const char *key)
{
    if (!m->cap || !key)
        return NULL;
    bool found;
    size_t i = find_slot(m, key, &found);
    return found ? m->vals[i] : NULL;
}

static bool rehash(struct tsl_strmap *m, size_t ncap)
{
    const char **keys = calloc(ncap, sizeof *keys);
    void **vals = calloc(ncap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    struct tsl_strmap nm = {keys, vals, ncap, 0, 0};
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] && m->keys[i] != TOMB) {
            bool found;
            size_t j = find_slot(&nm, m->keys[i], &found);
            nm.keys[j] = m->keys[i];
            nm.vals[j] = m->vals[i];
            nm.n++;
        }
    }
    free(m->keys);
    free(m->vals);
    *m = nm;
    return true;
}

bool tsl_strmap_put(struct tsl_strmap *m, const char *key, void *val)
{
    if ((m->n + m->n_tomb + 1) * 4 >= m->cap * 3) {
        size_t ncap = m->cap ? m->cap : 16;
        while ((m->n + 1) * 2 >= ncap)
            ncap *= 2;
        if (!rehash(m, ncap))
            return false;
    }
    bool found;
    size_t i = find_slot(m, key, &found);
    if (!found) {
        if (m->keys[i] == TOMB)
            m->n_tomb--;
        m->n++;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

void tsl_strmap_del(struct tsl_strmap *m, const char *key)
{
    if (!m->cap || !key)
        return;
    bool found;
    size_t i = find_slot(m, key, &found);
    if (found) {
        m->keys[i] = TOMB;
        m->vals[i] = NULL;
        m->n--;
        m->n_tomb++;
    }
}
