/* The audit report's model: leaves folded into the sections of
 * tg_report.h. Rows are kept in jansson objects keyed by their grouping
 * columns joined with \x1f, and come out sorted by that key, so the same
 * inputs always give the same document. */
#include "tg_audit_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_err.h"
#include "tg_time.h"
#include "tollgate/v1/forward.pb-c.h"

typedef struct policy_text {
    char *version;
    char *text;
    size_t len;
} policy_text;

typedef struct site_state {
    tg_report_site s; /* strings owned below */
    char *strs[8];
    json_t *egress, *kept, *queries, *versions; /* key -> row */
    json_t *version_order;                      /* versions in order of first leaf */
    json_t *retention; /* class x action -> records deleted (retention leaves) */
    uint64_t leaves, leaves_in_period, batches, shed, rejected;
    /* the period's "retention" leaves: how many, their records, the first
     * and last leaf index and the time their deletions span */
    uint64_t retention_leaves, retention_records, retention_first, retention_last;
    uint64_t retention_from_ns, retention_to_ns;
    char start_version[160]; /* the newest version seen before the period */
} site_state;

struct tg_report {
    uint64_t from_ns, to_ns, generated_ns;
    site_state *sites;
    size_t n_sites;
    tg_report_class *classes;
    size_t n_classes;
    tg_report_destination *dests;
    size_t n_dests;
    policy_text *texts;
    size_t n_texts;
    tg_report_config cfg;
    int has_cfg;
};

static char *dup0(const char *s)
{
    return strdup(s ? s : "");
}

tg_report *tg_report_new(uint64_t from_ns, uint64_t to_ns)
{
    tg_report *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->from_ns = from_ns;
    r->to_ns = to_ns;
    tg_report_config_defaults(&r->cfg);
    return r;
}

static void free_class(tg_report_class *c)
{
    free((char *)c->name);
    free((char *)c->description);
    free((char *)c->regulation);
    free((char *)c->legal_basis);
}

static void free_dest(tg_report_destination *d)
{
    free((char *)d->name);
    free((char *)d->country);
    free((char *)d->region);
    free((char *)d->purpose);
}

void tg_report_free(tg_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_sites; i++) {
        site_state *s = &r->sites[i];
        for (size_t j = 0; j < 8; j++)
            free(s->strs[j]);
        json_decref(s->egress);
        json_decref(s->kept);
        json_decref(s->queries);
        json_decref(s->versions);
        json_decref(s->version_order);
        json_decref(s->retention);
    }
    for (size_t i = 0; i < r->n_classes; i++)
        free_class(&r->classes[i]);
    for (size_t i = 0; i < r->n_dests; i++)
        free_dest(&r->dests[i]);
    for (size_t i = 0; i < r->n_texts; i++) {
        free(r->texts[i].version);
        free(r->texts[i].text);
    }
    free(r->sites);
    free(r->classes);
    free(r->dests);
    free(r->texts);
    free(r);
}

/* Room for one more element at the end of the array *v of n elements of
 * `size` bytes: the new element's address, or NULL (the array unchanged). */
static void *append_slot(void *v, size_t n, size_t size)
{
    void **pv = v;
    char *p = realloc(*pv, (n + 1) * size);

    if (!p)
        return NULL;
    *pv = p;
    return p + n * size;
}

int tg_report_add_site(tg_report *r, const tg_report_site *in)
{
    site_state *s = append_slot(&r->sites, r->n_sites, sizeof(*s));
    const char *src[8] = {in->name,    in->origin, in->root,    in->verify_result,
                          in->witness, in->region, in->country, NULL};

    if (!s)
        return TG_ENOMEM;
    memset(s, 0, sizeof(*s));
    s->s = *in;
    for (size_t i = 0; i < 7; i++)
        if (!(s->strs[i] = dup0(src[i])))
            goto oom;
    s->s.name = s->strs[0];
    s->s.origin = s->strs[1];
    s->s.root = s->strs[2];
    s->s.verify_result = s->strs[3];
    s->s.witness = s->strs[4];
    s->s.region = s->strs[5];
    s->s.country = s->strs[6];
    s->egress = json_object();
    s->kept = json_object();
    s->queries = json_object();
    s->versions = json_object();
    s->version_order = json_array();
    s->retention = json_object();
    if (!s->egress || !s->kept || !s->queries || !s->versions || !s->version_order ||
        !s->retention)
        goto oom;
    r->n_sites++;
    return 0;
oom:
    for (size_t i = 0; i < 8; i++)
        free(s->strs[i]);
    json_decref(s->egress);
    json_decref(s->kept);
    json_decref(s->queries);
    json_decref(s->versions);
    json_decref(s->version_order);
    json_decref(s->retention);
    return TG_ENOMEM;
}

int tg_report_add_class(tg_report *r, const tg_report_class *c)
{
    tg_report_class *n = append_slot(&r->classes, r->n_classes, sizeof(*n));

    if (!n)
        return TG_ENOMEM;
    n->name = dup0(c->name);
    n->description = dup0(c->description);
    n->regulation = dup0(c->regulation);
    n->legal_basis = dup0(c->legal_basis);
    n->retention_sec = c->retention_sec;
    if (!n->name || !n->description || !n->regulation || !n->legal_basis) {
        free_class(n);
        return TG_ENOMEM;
    }
    r->n_classes++;
    return 0;
}

int tg_report_add_destination(tg_report *r, const tg_report_destination *d)
{
    tg_report_destination *n = append_slot(&r->dests, r->n_dests, sizeof(*n));

    if (!n)
        return TG_ENOMEM;
    n->name = dup0(d->name);
    n->country = dup0(d->country);
    n->region = dup0(d->region);
    n->purpose = dup0(d->purpose);
    if (!n->name || !n->country || !n->region || !n->purpose) {
        free_dest(n);
        return TG_ENOMEM;
    }
    r->n_dests++;
    return 0;
}

int tg_report_add_policy_text(tg_report *r, const char *version, const char *text,
                              size_t len)
{
    policy_text *n = append_slot(&r->texts, r->n_texts, sizeof(*n));

    if (!n)
        return TG_ENOMEM;
    n->version = dup0(version);
    n->text = malloc(len + 1);
    if (!n->version || !n->text) {
        free(n->version);
        free(n->text);
        return TG_ENOMEM;
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->len = len;
    r->n_texts++;
    return 0;
}

void tg_report_set_config(tg_report *r, const tg_report_config *c)
{
    r->cfg = *c;
    r->has_cfg = 1;
}

void tg_report_set_generated(tg_report *r, uint64_t now_ns)
{
    r->generated_ns = now_ns;
}

/* ---- folding leaves ------------------------------------------------------ */

static void iso_time(uint64_t ns, char *out, size_t cap)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;

    if (ns == 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, cap, "%s", "");
        return;
    }
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const tg_report_class *find_class(const tg_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_classes; i++)
        if (strcmp(r->classes[i].name, name) == 0)
            return &r->classes[i];
    return NULL;
}

/* The row of `map` under the key made of `parts`, created with those
 * columns named by `names` when new. NULL when out of memory. */
static json_t *row_for(json_t *map, const char *const *names, const char *const *parts,
                       size_t n)
{
    char key[1024];
    size_t off = 0;
    json_t *row;

    for (size_t i = 0; i < n; i++) {
        int w = snprintf(key + off, sizeof(key) - off, "%s%s", i ? "\x1f" : "", parts[i]);
        if (w < 0 || (size_t)w >= sizeof(key) - off)
            break;
        off += (size_t)w;
    }
    if ((row = json_object_get(map, key)))
        return row;
    if (!(row = json_object()))
        return NULL;
    for (size_t i = 0; i < n; i++)
        json_object_set_new(row, names[i], json_string(parts[i]));
    if (json_object_set_new(map, key, row))
        return NULL;
    return row;
}

static void add_u64(json_t *row, const char *k, uint64_t v)
{
    json_t *o = json_object_get(row, k);
    json_int_t cur = o ? json_integer_value(o) : 0;

    json_object_set_new(row, k, json_integer(cur + (json_int_t)v));
}

/* "client (user U, role R)" as the site API records a federated query's
 * asker; a local client's read has no user or role. */
static void split_requester(const char *req, char *client, char *user, char *role,
                            size_t cap)
{
    const char *p = strstr(req, " (user ");

    snprintf(client, cap, "%.*s", p ? (int)(p - req) : (int)strlen(req), req);
    user[0] = role[0] = '\0';
    if (p) {
        const char *u = p + 7, *c = strstr(u, ", role ");
        if (c) {
            const char *end = strrchr(c, ')');
            snprintf(user, cap, "%.*s", (int)(c - u), u);
            snprintf(role, cap, "%.*s", end ? (int)(end - (c + 7)) : (int)strlen(c + 7),
                     c + 7);
        }
    }
}

static int fold_version(site_state *s, const Tollgate__V1__EgressRecord *e, int in_period)
{
    const char *v = e->policy_version;
    json_t *row;
    char t[32];

    /* A raw read answered without a view names no policy: it says nothing
     * about which one was in force. */
    if (!v || !*v)
        return 0;
    if (!in_period) {
        snprintf(s->start_version, sizeof(s->start_version), "%s", v);
        return 0;
    }
    if (!json_object_get(s->versions, v) &&
        json_array_append_new(s->version_order, json_string(v)))
        return TG_ENOMEM;
    if (!(row = json_object_get(s->versions, v))) {
        if (!(row = json_object()) || json_object_set_new(s->versions, v, row))
            return TG_ENOMEM;
        json_object_set_new(row, "version", json_string(v));
        iso_time(e->time_unix_nano, t, sizeof(t));
        json_object_set_new(row, "first_seen", json_string(t));
    }
    iso_time(e->time_unix_nano, t, sizeof(t));
    json_object_set_new(row, "last_seen", json_string(t));
    add_u64(row, "leaves", 1);
    return 0;
}

/* A retention row's span: the first and last leaf (log indices) that
 * counted into it, and the time its deletions were made in (from the
 * first leaf's window start to the last one's end). */
static void retention_span(json_t *row, uint64_t index,
                           const Tollgate__V1__EgressRecord *e)
{
    char t[32];

    if (!json_object_get(row, "first_leaf")) {
        json_object_set_new(row, "first_leaf", json_integer((json_int_t)index));
        iso_time(e->window_start_unix_nano, t, sizeof(t));
        json_object_set_new(row, "deleted_from", json_string(t));
    }
    json_object_set_new(row, "last_leaf", json_integer((json_int_t)index));
    iso_time(e->window_end_unix_nano, t, sizeof(t));
    json_object_set_new(row, "deleted_to", json_string(t));
    add_u64(row, "leaves", 1);
}

int tg_report_add_leaf(tg_report *r, const uint8_t *leaf, size_t len)
{
    static const char *const eg_names[] = {"destination", "data_class", "action"};
    static const char *const kl_names[] = {"data_class", "action"};
    static const char *const q_names[] = {"client", "user", "role", "view", "kind"};
    Tollgate__V1__EgressRecord *e;
    site_state *s;
    int in_period, rc = 0;

    if (r->n_sites == 0)
        return TG_EINVAL;
    s = &r->sites[r->n_sites - 1];
    if (!(e = tollgate__v1__egress_record__unpack(NULL, len, leaf)))
        return TG_EPARSE;
    s->leaves++;
    in_period = e->time_unix_nano >= r->from_ns && e->time_unix_nano < r->to_ns;
    if (e->time_unix_nano >= r->to_ns)
        goto done;
    if ((rc = fold_version(s, e, in_period)) || !in_period)
        goto done;
    s->leaves_in_period++;
    if (strcmp(e->event, "egress") == 0) {
        s->batches++;
        for (size_t i = 0; i < e->n_counts; i++) {
            const Tollgate__V1__ClassActionCount *c = e->counts[i];
            const char *eg[] = {e->destination, c->data_class, c->action};
            const char *kl[] = {c->data_class, c->action};
            json_t *row = row_for(s->egress, eg_names, eg, 3);

            if (!row) {
                rc = TG_ENOMEM;
                goto done;
            }
            add_u64(row, "values", c->count);
            /* What did not leave as it was: every action but pass. */
            if (strcmp(c->action, "pass") != 0) {
                if (!(row = row_for(s->kept, kl_names, kl, 2))) {
                    rc = TG_ENOMEM;
                    goto done;
                }
                add_u64(row, "values", c->count);
            }
        }
    } else if (strcmp(e->event, "query") == 0) {
        char client[240], user[240], role[240];
        const char *q[5];
        json_t *row;

        split_requester(e->requester ? e->requester : "", client, user, role,
                        sizeof(client));
        q[0] = client;
        q[1] = user;
        q[2] = role;
        q[3] = e->view ? e->view : "";
        q[4] = e->query_kind ? e->query_kind : "";
        if (!(row = row_for(s->queries, q_names, q, 5))) {
            rc = TG_ENOMEM;
            goto done;
        }
        add_u64(row, "queries", 1);
        add_u64(row, "records", e->records);
        add_u64(row, "bytes_sent", e->bytes_wire);
        for (size_t i = 0; i < e->n_counts; i++)
            if (strcmp(e->counts[i]->action, "pass") != 0)
                add_u64(row, "values_changed", e->counts[i]->count);
    } else if (strcmp(e->event, "retention") == 0) {
        static const char *const rt_names[] = {"data_class", "action"};
        uint64_t index = s->leaves - 1;

        for (size_t i = 0; i < e->n_counts; i++) {
            const char *rt[] = {e->counts[i]->data_class, e->counts[i]->action};
            json_t *row = row_for(s->retention, rt_names, rt, 2);

            if (!row) {
                rc = TG_ENOMEM;
                goto done;
            }
            add_u64(row, "records_deleted", e->counts[i]->count);
            retention_span(row, index, e);
        }
        s->retention_records += e->records;
        s->retention_leaves++;
        if (s->retention_leaves == 1) {
            s->retention_first = index;
            s->retention_from_ns = e->window_start_unix_nano;
        }
        s->retention_last = index;
        s->retention_to_ns = e->window_end_unix_nano;
    } else if (strcmp(e->event, "shed") == 0) {
        s->shed++;
    } else if (strcmp(e->event, "rejected") == 0) {
        s->rejected++;
    }
done:
    tollgate__v1__egress_record__free_unpacked(e, NULL);
    return rc;
}

/* ---- building the document ------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void set_checkpoint(json_t *row, const site_state *s)
{
    json_object_set_new(row, "checkpoint_origin", json_string(s->s.origin));
    json_object_set_new(row, "checkpoint_size", json_integer((json_int_t)s->s.tree_size));
    json_object_set_new(row, "checkpoint_root", json_string(s->s.root));
}

/* Appends map's rows, sorted by key, to arr, each with the site's name
 * first and its checkpoint; `extra` decorates a row (may be NULL). */
static int append_sorted(json_t *arr, json_t *map, const site_state *s,
                         void (*extra)(const tg_report *, json_t *), const tg_report *r)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *v;

    if (!keys)
        return TG_ENOMEM;
    json_object_foreach(map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++) {
        json_t *src = json_object_get(map, keys[i]), *row = json_object();
        if (!row)
            break;
        json_object_set_new(row, "site", json_string(s->s.name));
        json_object_update(row, src);
        if (extra)
            extra(r, row);
        set_checkpoint(row, s);
        if (json_array_append_new(arr, row))
            break;
    }
    free(keys);
    return i == n ? 0 : TG_ENOMEM;
}

static void class_columns(const tg_report *r, json_t *row)
{
    const char *name = json_string_value(json_object_get(row, "data_class"));
    const tg_report_class *c = name ? find_class(r, name) : NULL;
    const char *reg = c ? c->regulation : "";
    const char *basis = c ? c->legal_basis : "";

    if (name && strcmp(name, "unclassified") == 0)
        reg = "(no class: not regulated data)";
    json_object_set_new(row, "regulation", json_string(reg));
    json_object_set_new(row, "legal_basis", json_string(basis));
}

static const policy_text *find_text(const tg_report *r, const char *version)
{
    for (size_t i = 0; i < r->n_texts; i++)
        if (strcmp(r->texts[i].version, version) == 0)
            return &r->texts[i];
    return NULL;
}

static int versions_section(const tg_report *r, const site_state *s, json_t *arr)
{
    const char *prev = s->start_version[0] ? s->start_version : NULL;
    char from[32];
    size_t i;
    json_t *v;

    iso_time(r->from_ns, from, sizeof(from));
    if (prev && !json_object_get(s->versions, prev)) {
        /* In force when the period began, though no leaf of the period has it. */
        json_t *row = json_object();
        if (!row)
            return TG_ENOMEM;
        json_object_set_new(row, "site", json_string(s->s.name));
        json_object_set_new(row, "version", json_string(prev));
        json_object_set_new(row, "in_force_from", json_string(from));
        json_object_set_new(row, "first_seen", json_string(""));
        json_object_set_new(row, "last_seen", json_string(""));
        json_object_set_new(row, "leaves", json_integer(0));
        json_object_set_new(row, "changed_from", json_string(""));
        json_object_set_new(row, "diff", json_string("(in force before the period)"));
        set_checkpoint(row, s);
        if (json_array_append_new(arr, row))
            return TG_ENOMEM;
    }
    json_array_foreach(s->version_order, i, v)
    {
        const char *ver = json_string_value(v);
        json_t *src = json_object_get(s->versions, ver), *row = json_object();
        const policy_text *a = prev ? find_text(r, prev) : NULL, *b = find_text(r, ver);
        tg_strbuf d = {0};
        int first_and_old = (i == 0 && prev && strcmp(prev, ver) == 0);

        if (!row)
            return TG_ENOMEM;
        json_object_set_new(row, "site", json_string(s->s.name));
        json_object_set_new(row, "version", json_string(ver));
        json_object_set_new(row, "in_force_from",
                            first_and_old
                                ? json_string(from)
                                : json_incref(json_object_get(src, "first_seen")));
        json_object_update(row, src);
        json_object_set_new(row, "changed_from",
                            json_string(prev && !first_and_old ? prev : ""));
        if (!prev || first_and_old)
            json_object_set_new(row, "diff", json_string(""));
        else if (!a || !b)
            json_object_set_new(
                row, "diff", json_string("(no text recorded for one of the versions)"));
        else if (tg_report_diff(a->text, a->len, b->text, b->len, 3, &d) == 0 && !d.oom)
            json_object_set_new(row, "diff", json_string(d.p ? d.p : ""));
        else
            json_object_set_new(row, "diff", json_string("(too long to compare)"));
        free(d.p);
        set_checkpoint(row, s);
        if (json_array_append_new(arr, row))
            return TG_ENOMEM;
        prev = ver;
    }
    return 0;
}

static void fmt_retention(uint64_t sec, char *out, size_t cap)
{
    if (sec == 0)
        snprintf(out, cap, "%s", "the store's limits (store.max_age, store.max_bytes)");
    else if (sec % 86400 == 0)
        snprintf(out, cap, "%llu days", (unsigned long long)(sec / 86400));
    else if (sec % 3600 == 0)
        snprintf(out, cap, "%llu hours", (unsigned long long)(sec / 3600));
    else
        snprintf(out, cap, "%llu seconds", (unsigned long long)sec);
}

/* Which signed checkpoint covers a retention row: every leaf counted is
 * below the checkpoint's size (the leaves are read up to it only). */
static void retention_source(json_t *row, const site_state *s)
{
    char b[200];

    snprintf(b, sizeof(b),
             "retention leaves %lld-%lld of the site's log, covered by its signed "
             "checkpoint of size %llu",
             (long long)json_integer_value(json_object_get(row, "first_leaf")),
             (long long)json_integer_value(json_object_get(row, "last_leaf")),
             (unsigned long long)s->s.tree_size);
    json_object_set_new(row, "source", json_string(b));
}

/* One row per class x action the period's retention leaves name (sorted),
 * then all of them together. */
static int retention_section(const tg_report *r, site_state *s, json_t *arr)
{
    size_t first = json_array_size(arr);
    json_t *row;
    char t[32];
    int rc;

    if ((rc = append_sorted(arr, s->retention, s, NULL, r)))
        return rc;
    for (size_t i = first; i < json_array_size(arr); i++)
        retention_source(json_array_get(arr, i), s);
    if (!(row = json_object()))
        return TG_ENOMEM;
    json_object_set_new(row, "site", json_string(s->s.name));
    json_object_set_new(row, "data_class", json_string("(all classes)"));
    json_object_set_new(row, "action", json_string(""));
    json_object_set_new(row, "records_deleted",
                        json_integer((json_int_t)s->retention_records));
    json_object_set_new(row, "leaves", json_integer((json_int_t)s->retention_leaves));
    json_object_set_new(row, "first_leaf",
                        s->retention_leaves ? json_integer((json_int_t)s->retention_first)
                                            : json_null());
    json_object_set_new(row, "last_leaf",
                        s->retention_leaves ? json_integer((json_int_t)s->retention_last)
                                            : json_null());
    iso_time(s->retention_from_ns, t, sizeof(t));
    json_object_set_new(row, "deleted_from", json_string(t));
    iso_time(s->retention_to_ns, t, sizeof(t));
    json_object_set_new(row, "deleted_to", json_string(t));
    if (s->retention_leaves) {
        retention_source(row, s);
    } else {
        char b[200];

        /* Every deletion makes a leaf within a retention pass (10 s), so a
         * log without one in the period records that nothing was deleted. */
        snprintf(b, sizeof(b),
                 "no retention leaf in the period: the site's log, covered by its signed "
                 "checkpoint of size %llu records no deletion",
                 (unsigned long long)s->s.tree_size);
        json_object_set_new(row, "source", json_string(b));
    }
    set_checkpoint(row, s);
    return json_array_append_new(arr, row) ? TG_ENOMEM : 0;
}

static int site_row(const site_state *s, json_t *arr)
{
    json_t *row = json_object();

    if (!row)
        return TG_ENOMEM;
    json_object_set_new(row, "site", json_string(s->s.name));
    json_object_set_new(row, "verified", json_boolean(s->s.verified));
    json_object_set_new(row, "verify_result", json_string(s->s.verify_result));
    json_object_set_new(
        row, "witness",
        json_string(s->s.witness[0] ? s->s.witness : "(no witness asked)"));
    json_object_set_new(row, "leaves", json_integer((json_int_t)s->leaves));
    json_object_set_new(row, "leaves_in_period",
                        json_integer((json_int_t)s->leaves_in_period));
    json_object_set_new(row, "batches", json_integer((json_int_t)s->batches));
    json_object_set_new(row, "shed", json_integer((json_int_t)s->shed));
    json_object_set_new(row, "rejected", json_integer((json_int_t)s->rejected));
    set_checkpoint(row, s);
    return json_array_append_new(arr, row) ? TG_ENOMEM : 0;
}

/* ---- Art. 30 ---------------------------------------------------------------- */

static void field(json_t *arr, const char *name, const char *value, const char *source)
{
    json_t *row = json_object();

    if (!row)
        return;
    json_object_set_new(row, "field", json_string(name));
    json_object_set_new(row, "value", json_string(value));
    json_object_set_new(row, "source", json_string(source));
    json_array_append_new(arr, row);
}

static void list_field(json_t *arr, const char *name, const char (*items)[256], size_t n,
                       const char *key)
{
    tg_strbuf b = {0};
    char src[64];

    for (size_t i = 0; i < n; i++)
        tg_strbuf_printf(&b, "%s%s", i ? "; " : "", items[i]);
    snprintf(src, sizeof(src), "config audit.%s", key);
    field(arr, name, b.p ? b.p : "(not set)", src);
    free(b.p);
}

/* The safeguard audit.transfers names for destination `name`. */
static const char *safeguard_for(const tg_report_config *c, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < c->n_transfers; i++)
        if (strncmp(c->transfers[i], name, n) == 0 && c->transfers[i][n] == ':') {
            const char *p = c->transfers[i] + n + 1;
            while (*p == ' ')
                p++;
            return p;
        }
    return NULL;
}

static void art30_section(const tg_report *r, json_t *arr)
{
    const tg_report_config *c = &r->cfg;
    const char *region = r->n_sites ? r->sites[0].s.region : "";
    tg_strbuf b = {0};

    field(arr, "Controller (Art. 30(1)(a))",
          c->controller[0] ? c->controller : "(not set)", "config audit.controller");
    field(arr, "Representative (Art. 27)",
          c->representative[0] ? c->representative : "(none)",
          "config audit.representative");
    field(arr, "Data protection officer", c->dpo[0] ? c->dpo : "(not set)",
          "config audit.dpo");
    for (size_t i = 0; i < r->n_dests; i++)
        if (r->dests[i].purpose[0])
            tg_strbuf_printf(&b, "%s%s: %s", b.len ? "; " : "", r->dests[i].name,
                             r->dests[i].purpose);
    for (size_t i = 0; i < c->n_purposes; i++)
        tg_strbuf_printf(&b, "%s%s", b.len ? "; " : "", c->purposes[i]);
    field(arr, "Purposes of the processing (Art. 30(1)(b))", b.p ? b.p : "(not set)",
          "policy destinations' purpose; config audit.purposes");
    free(b.p);
    b = (tg_strbuf){0};
    list_field(arr, "Categories of data subjects (Art. 30(1)(c))", c->data_subjects,
               c->n_data_subjects, "data_subjects");
    for (size_t i = 0; i < r->n_classes; i++)
        tg_strbuf_printf(&b, "%s%s (%s; %s)", b.len ? "; " : "", r->classes[i].name,
                         r->classes[i].description, r->classes[i].regulation);
    field(arr, "Categories of personal data (Art. 30(1)(c))", b.p ? b.p : "(no classes)",
          "policy classes");
    free(b.p);
    b = (tg_strbuf){0};
    for (size_t i = 0; i < r->n_dests; i++)
        tg_strbuf_printf(&b, "%s%s (%s%s%s)", b.len ? "; " : "", r->dests[i].name,
                         r->dests[i].country[0] ? r->dests[i].country : "",
                         r->dests[i].country[0] && r->dests[i].region[0] ? ", " : "",
                         r->dests[i].region[0] ? r->dests[i].region : "");
    for (size_t i = 0; i < c->n_recipients; i++)
        tg_strbuf_printf(&b, "%s%s", b.len ? "; " : "", c->recipients[i]);
    field(arr, "Recipients (Art. 30(1)(d))", b.p ? b.p : "(none)",
          "policy destinations; config audit.recipients");
    free(b.p);
    b = (tg_strbuf){0};
    for (size_t i = 0; i < r->n_dests; i++) {
        const tg_report_destination *d = &r->dests[i];
        const char *sg;
        if (!region[0] || !d->region[0] || strcmp(d->region, region) == 0)
            continue;
        sg = safeguard_for(c, d->name);
        tg_strbuf_printf(&b, "%s%s (%s): %s", b.len ? "; " : "", d->name,
                         d->country[0] ? d->country : d->region,
                         sg ? sg : "NO SAFEGUARD RECORDED (set audit.transfers)");
    }
    field(arr, "Transfers to third countries and safeguards (Art. 30(1)(e), Art. 46)",
          b.p ? b.p : "(none: every destination is in the site's region)",
          "policy destinations' region against the site's; config audit.transfers");
    free(b.p);
    b = (tg_strbuf){0};
    for (size_t i = 0; i < r->n_classes; i++) {
        char ret[96];
        fmt_retention(r->classes[i].retention_sec, ret, sizeof(ret));
        tg_strbuf_printf(&b, "%s%s: %s", b.len ? "; " : "", r->classes[i].name, ret);
    }
    field(arr, "Time limits for erasure (Art. 30(1)(f))", b.p ? b.p : "(no classes)",
          "policy classes' retention");
    free(b.p);
    b = (tg_strbuf){0};
    tg_strbuf_printf(&b, "%s",
                     "values classified at the site and transformed per destination "
                     "before they leave; every egress and answered query recorded in a "
                     "signed (Ed25519) RFC 6962 transparency log");
    for (size_t i = 0; i < c->n_security_measures; i++)
        tg_strbuf_printf(&b, "; %s", c->security_measures[i]);
    field(arr, "Technical and organisational security measures (Art. 30(1)(g), Art. 32)",
          b.p ? b.p : "", "tollgate; config audit.security_measures");
    free(b.p);
}

json_t *tg_report_build(tg_report *r)
{
    json_t *doc = json_object(), *meta = json_object();
    json_t *eg = json_array(), *kl = json_array(), *pv = json_array();
    json_t *ret = json_array(), *qs = json_array(), *sites = json_array();
    json_t *a30 = json_array();
    char t[32];
    int rc = 0;

    if (!doc || !meta || !eg || !kl || !pv || !ret || !qs || !sites || !a30) {
        rc = TG_ENOMEM;
        goto out;
    }
    iso_time(r->from_ns, t, sizeof(t));
    json_object_set_new(meta, "from", json_string(t));
    iso_time(r->to_ns, t, sizeof(t));
    json_object_set_new(meta, "to", json_string(t));
    iso_time(r->generated_ns ? r->generated_ns : tg_wall_ns(), t, sizeof(t));
    json_object_set_new(meta, "generated", json_string(t));
    json_object_set_new(meta, "controller", json_string(r->cfg.controller));
    for (size_t i = 0; rc == 0 && i < r->n_sites; i++) {
        site_state *s = &r->sites[i];
        if ((rc = append_sorted(eg, s->egress, s, class_columns, r)) ||
            (rc = append_sorted(kl, s->kept, s, class_columns, r)) ||
            (rc = versions_section(r, s, pv)) || (rc = retention_section(r, s, ret)) ||
            (rc = append_sorted(qs, s->queries, s, NULL, r)) || (rc = site_row(s, sites)))
            break;
    }
    if (rc == 0)
        art30_section(r, a30);
    json_object_set_new(doc, "report", meta);
    json_object_set_new(doc, "egress", eg);
    json_object_set_new(doc, "kept_local", kl);
    json_object_set_new(doc, "policy_versions", pv);
    json_object_set_new(doc, "retention", ret);
    json_object_set_new(doc, "queries", qs);
    json_object_set_new(doc, "sites", sites);
    json_object_set_new(doc, "art30", a30);
    if (rc) {
        json_decref(doc);
        return NULL;
    }
    return doc;
out:
    json_decref(doc);
    json_decref(meta);
    json_decref(eg);
    json_decref(kl);
    json_decref(pv);
    json_decref(ret);
    json_decref(qs);
    json_decref(sites);
    json_decref(a30);
    return NULL;
}
