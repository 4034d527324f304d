/* import.c - the public ONNX import entry points: reads the file (size cap,
 * regular file), pre-scans and unpacks the ModelProto (wire.c), checks the
 * model-level facts (default-domain opset_import present and in 7..18, a
 * graph present, no subgraph attributes, every op supported - all
 * unsupported ops reported in one error), builds the graph
 * (import_graph.c) and runs shape inference and the verifier.  Memory: the
 * file's bytes are freed once unpacked, and each initializer's bytes in the
 * message once copied into the graph, so a model's weights are held at most
 * twice at any time (file + message while unpacking), not three times.  It
 * does not convert individual nodes or tensors. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_internal.h"
#include "tessel/shape.h"
#include "tessel/util.h"
#include "tessel/verify.h"

enum tsl_status tsl_onnx_build_graph(struct tsl_onnx_imp *im);

static enum tsl_status find_opset(const Onnx__ModelProto *m, const char *where, int64_t *out,
                                  struct tsl_diag *diag)
{
    bool found = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!tsl_onnx_is_default_domain(o->domain))
            continue;
        if (found)
            return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                                  "opset_import lists the default domain twice");
        found = true;
        *out = o->has_version ? o->version : 0;
    }
    if (!found && m->n_opset_import)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "model imports only the '%s' domain; tessel supports the default "
                              "ONNX domain",
                              m->opset_import[0]->domain ? m->opset_import[0]->domain : "");
    if (!found)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where,
                              "model has no opset_import for the default ONNX domain");
    if (*out < TSL_ONNX_OPSET_MIN || *out > TSL_ONNX_OPSET_MAX)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where,
                              "opset %lld is not supported (supported: %d..%d)", (long long)*out,
                              TSL_ONNX_OPSET_MIN, TSL_ONNX_OPSET_MAX);
    return TSL_STATUS_OK;
}

static enum tsl_status check_subgraphs(const Onnx__GraphProto *gp, struct tsl_diag *diag)
{
    char buf[256];
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *at = np->attribute[a];
            if (at->g || at->n_graphs || at->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
                at->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS)
                return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED,
                                      tsl_onnx_node_where(np, buf, sizeof buf),
                                      "%s node has subgraph attribute \"%s\"; control flow "
                                      "subgraphs (If/Loop/Scan) are unsupported",
                                      np->op_type ? np->op_type : "?", at->name ? at->name : "");
        }
    }
    return TSL_STATUS_OK;
}

/* Append s to the growing message (bounded). */
static void msg_add(char *msg, size_t cap, const char *s)
{
    size_t n = strlen(msg), k = strlen(s);
    if (n + k + 1 > cap)
        k = n + 1 < cap ? cap - n - 1 : 0;
    memcpy(msg + n, s, k);
    msg[n + k] = '\0';
}

/* One error listing every unsupported op type with (up to 3) node names. */
static enum tsl_status check_ops(const Onnx__GraphProto *gp, int64_t opset, const char *where,
                                 struct tsl_diag *diag)
{
    char msg[1024] = "unsupported ops: ";
    size_t n_bad_types = 0;
    char buf[256], item[512];
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        const char *ty = np->op_type ? np->op_type : "";
        bool known = false;
        bool ok = tsl_onnx_is_default_domain(np->domain) && tsl_onnx_find_op(ty, opset, &known);
        if (ok)
            continue;
        /* first occurrence of this (domain, type)? */
        bool first = true;
        for (size_t q = 0; q < k && first; q++) {
            const Onnx__NodeProto *o = gp->node[q];
            bool same_dom = strcmp(o->domain ? o->domain : "", np->domain ? np->domain : "") == 0;
            if (same_dom && strcmp(o->op_type ? o->op_type : "", ty) == 0)
                first = false;
        }
        if (!first)
            continue;
        size_t count = 0;
        char names[400] = "";
        for (size_t q = k; q < gp->n_node; q++) {
            const Onnx__NodeProto *o = gp->node[q];
            bool same_dom = strcmp(o->domain ? o->domain : "", np->domain ? np->domain : "") == 0;
            if (!same_dom || strcmp(o->op_type ? o->op_type : "", ty) != 0)
                continue;
            if (count < 3) {
                snprintf(item, sizeof item, "%s\"%s\"", count ? ", " : "",
                         tsl_onnx_node_where(o, buf, sizeof buf));
                msg_add(names, sizeof names, item);
            } else if (count == 3) {
                msg_add(names, sizeof names, ", ...");
            }
            count++;
        }
        const char *dom = np->domain && *np->domain ? np->domain : "";
        snprintf(item, sizeof item, "%s%s%s%s%s (node%s %s)", n_bad_types ? ", " : "", dom,
                 *dom ? "." : "", *ty ? ty : "<empty op_type>",
                 known ? " at this opset" : "", count > 1 ? "s" : "", names);
        if (n_bad_types < 12)
            msg_add(msg, sizeof msg, item);
        else if (n_bad_types == 12)
            msg_add(msg, sizeof msg, ", ...");
        n_bad_types++;
    }
    if (n_bad_types)
        return tsl_diag_error(diag, TSL_STATUS_UNSUPPORTED, where, "%s", msg);
    return TSL_STATUS_OK;
}

/* The file's bytes unpacked: pre-scan and budgeted protobuf unpack. */
static enum tsl_status unpack_model(const void *data, size_t len, const char *where,
                                    const struct tsl_onnx_import_options *opt,
                                    struct tsl_onnx_budget *budget, ProtobufCMessage **msg,
                                    struct tsl_diag *diag)
{
    if (len == 0)
        return tsl_diag_error(diag, TSL_STATUS_PARSE, where, "empty file is not an ONNX model");
    int max_depth = opt && opt->max_depth > 0 ? opt->max_depth : TSL_ONNX_DEFAULT_MAX_DEPTH;
    return tsl_onnx_unpack(data, len, TSL_ONNX_ROOT_MODEL, max_depth, where, budget, msg, diag);
}

/* The graph of an unpacked model; frees msg.  Initializer payloads are
 * freed from the message as they are copied into the graph, so the weights
 * exist once (plus the one being copied) rather than twice. */
static enum tsl_status import_message(ProtobufCMessage *msg, struct tsl_onnx_budget *budget,
                                      const char *base_dir, const char *where,
                                      const struct tsl_onnx_import_options *opt,
                                      struct tsl_graph **out, struct tsl_diag *diag)
{
    int64_t tbudget = opt && opt->max_tensor_bytes > 0 ? opt->max_tensor_bytes
                                                       : TSL_ONNX_DEFAULT_TENSOR_BYTES;
    Onnx__ModelProto *m = (Onnx__ModelProto *)msg;
    struct tsl_onnx_imp im = {0};
    im.model_name = where;
    im.budget = budget;
    im.diag = diag;
    im.tctx.base_dir = base_dir;
    im.tctx.budget_left = tbudget;
    enum tsl_status st = find_opset(m, where, &im.opset, diag);
    if (st == TSL_STATUS_OK && !m->graph)
        st = tsl_diag_error(diag, TSL_STATUS_PARSE, where, "model has no graph");
    if (st == TSL_STATUS_OK)
        st = check_subgraphs(m->graph, diag);
    if (st == TSL_STATUS_OK)
        st = check_ops(m->graph, im.opset, where, diag);
    if (st == TSL_STATUS_OK) {
        st = tsl_graph_create(m->graph->name && *m->graph->name ? m->graph->name : "main", &im.g);
        if (st != TSL_STATUS_OK)
            st = tsl_diag_error(diag, st, where, "out of memory");
    }
    if (st == TSL_STATUS_OK) {
        im.g->source_opset = im.opset;
        if (m->producer_name && *m->producer_name &&
            !(im.g->producer_name = tsl_strdup(m->producer_name)))
            st = tsl_diag_error(diag, TSL_STATUS_NOMEM, where, "out of memory");
    }
    if (st == TSL_STATUS_OK) {
        im.gp = im.gp_release = m->graph;
        st = tsl_onnx_build_graph(&im);
    }
    tsl_onnx_unpacked_free(msg, budget);
    if (st == TSL_STATUS_OK && !(opt && opt->no_infer)) {
        bool changed = false;
        st = tsl_infer_shapes(im.g, diag);
        if (st == TSL_STATUS_OK)
            st = tsl_onnx_collapse_legacy_softmax(im.g, diag, &changed);
        if (st == TSL_STATUS_OK && changed)
            st = tsl_infer_shapes(im.g, diag);
        if (st == TSL_STATUS_OK)
            st = tsl_verify(im.g, diag);
    }
    if (st != TSL_STATUS_OK) {
        tsl_graph_destroy(im.g);
        return st;
    }
    *out = im.g;
    return TSL_STATUS_OK;
}

enum tsl_status tsl_onnx_import_buffer(const void *data, size_t len, const char *base_dir,
                                       const char *display_name,
                                       const struct tsl_onnx_import_options *opt,
                                       struct tsl_graph **out, struct tsl_diag *diag)
{
    const char *where = display_name ? display_name : "<model>";
    if (!out || (!data && len))
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, where, "NULL argument");
    *out = NULL;
    struct tsl_onnx_budget budget;
    ProtobufCMessage *msg;
    TSL_TRY(unpack_model(data, len, where, opt, &budget, &msg, diag));
    return import_message(msg, &budget, base_dir, where, opt, out, diag);
}

enum tsl_status tsl_onnx_import_file(const char *path,
                                     const struct tsl_onnx_import_options *opt,
                                     struct tsl_graph **out, struct tsl_diag *diag)
{
    if (!path || !out)
        return tsl_diag_error(diag, TSL_STATUS_INVALID_ARG, "", "NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "not a regular file");
    }
    if ((uint64_t)sb.st_size > TSL_ONNX_MAX_FILE_BYTES) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_LIMIT, path,
                              "file is %lld bytes, over the 2 GiB limit", (long long)sb.st_size);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "out of memory reading the file");
    }
    size_t done = 0;
    while (done < len) {
        ssize_t r = read(fd, buf + done, len - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    close(fd);
    if (done != len) {
        free(buf);
        return tsl_diag_error(diag, TSL_STATUS_IO, path, "read error");
    }
    char *dir = tsl_strdup(path);
    if (!dir) {
        free(buf);
        return tsl_diag_error(diag, TSL_STATUS_NOMEM, path, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    /* the file's bytes are not needed once unpacked (protobuf copies every
     * field): free them before the graph is built */
    struct tsl_onnx_budget budget;
    ProtobufCMessage *msg;
    enum tsl_status st = unpack_model(buf, len, path, opt, &budget, &msg, diag);
    free(buf);
    if (st == TSL_STATUS_OK)
        st = import_message(msg, &budget, dir, path, opt, out, diag);
    free(dir);
    return st;
}
