/* tollgate collector: the site daemon.
 *
 * N ingest loops (receivers.loops, loops.c) each run OTLP/gRPC and
 * OTLP/HTTP listeners on their own sockets, decoding, indexing and
 * classifying; the first of them is the main loop, which also runs the
 * site API, the signals and the retention timer. One writer thread
 * commits to LMDB for all of them (committer.c); libuv's pool answers API
 * reads. Shutdown on SIGTERM or SIGINT: every loop stops accepting, every
 * queued request commits and is answered, the store closes, exit 0. */
#include <errno.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api.h"
#include "collector.h"
#include "committer.h"
#include "ingest.h"
#include "loops.h"
#include "receivers.h"
#include "recv_grpc.h"
#include "secure.h"
#include "stats.h"
#include "store.h"
#include "tg_config.h"
#include "tg_fwd_glue.h"
#include "tg_rules.h"
#include "tg_time.h"
#include "tg_view_rules.h"
#include "tg_yaml.h"
#include "tg_err.h"
#include "tg_http.h"
#include "tg_log.h"

typedef struct collector {
    uv_loop_t *loop;
    tg_collector_config cfg;
    tg_store *store;
    tg_committer *committer;
    tg_ingest_options iopt;
    tg_stats stats;  /* the main loop's: ingest loop 0, the API, commits */
    tg_receivers rx; /* what every ingest loop's receivers share */
    tg_api api;
    tg_loops *loops;
    tg_http_server *api_http;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t retention;
    uv_work_t retention_work;
    int retention_running;
    int draining;
    int exit_code;
    tg_forward_link *fwd; /* forwarding to the central view, or NULL */
    tg_rules_slot *rules; /* the residency policy in force */
    tg_view_rules view;   /* the rules engine as the central view */
    tg_access clients;    /* query.clients: who may read data, up to what */
    tg_secure_tls tls;    /* the API's and the OTLP receivers', or NULLs */
    tg_secure_tokens grpc_tokens, http_tokens; /* receivers.otlp_*.token_files, tokens */
    pthread_mutex_t health_mu;
    char policy_error[400]; /* the last rules reload's failure; "" after a good one */
    const char *rules_paths[TG_CONFIG_MAX_RULES];
    size_t n_rules_paths;
} collector;

static int mkdir_p(const char *path)
{
    char buf[1024];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static void commit_observed(void *ctx, double seconds, size_t records, size_t bytes)
{
    collector *c = ctx;

    (void)records;
    (void)bytes;
    tg_stats_observe_commit(&c->stats, seconds);
    /* New records are durable: let the forwarder summarise them. */
    tg_forward_link_kick(c->fwd);
}

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

static void finish_shutdown(collector *c)
{
    tg_committer_destroy(c->committer);
    c->committer = NULL;
    tg_loops_destroy(c->loops);
    c->loops = NULL;
    uv_close((uv_handle_t *)&c->sigterm, close_cb_noop);
    uv_close((uv_handle_t *)&c->sigint, close_cb_noop);
    uv_close((uv_handle_t *)&c->sighup, close_cb_noop);
    uv_close((uv_handle_t *)&c->retention, close_cb_noop);
}

static void api_stopped(void *ctx)
{
    collector *c = ctx;

    c->api_http = NULL;
    finish_shutdown(c);
}

static void committer_drained(void *ctx)
{
    collector *c = ctx;

    tg_info("drained", "site=%s", c->cfg.site);
    if (c->api_http)
        tg_http_server_stop(c->api_http, api_stopped, c);
    else
        finish_shutdown(c);
}

/* Every loop's receivers have stopped accepting and answered what they
 * had. */
static void loops_stopped(void *ctx)
{
    collector *c = ctx;

    tg_committer_drain(c->committer, committer_drained, c);
}

static void begin_drain(collector *c, const char *why)
{
    if (c->draining)
        return;
    c->draining = 1;
    c->api.ready = 0;
    tg_info("shutting down", "reason=%s", why);
    uv_timer_stop(&c->retention);
    tg_loops_stop(c->loops, loops_stopped, c);
}

static void rules_reload(collector *c);

static void on_signal(uv_signal_t *h, int signum)
{
    collector *c = h->data;

    if (signum == SIGHUP) {
        rules_reload(c);
        tg_secure_tls_reload(&c->cfg, &c->tls);
        return;
    }
    begin_drain(c, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void retention_work(uv_work_t *w)
{
    collector *c = w->data;
    int rc = tg_store_evict(c->store, tg_wall_ns() / 1000000000u);
    char why[200];

    if (rc)
        tg_warn("retention pass failed", "err=%s", tg_err_name(rc));
    /* What the store deleted goes into the transparency log (issue 10). */
    else if (c->fwd)
        tg_forwarder_record_retention(tg_forward_link_forwarder(c->fwd), c->store);
    /* A store that failed learns here when it can write again, so /readyz
     * recovers without waiting for a client's data. */
    if (!tg_store_writable(c->store, why, sizeof(why)))
        tg_store_probe(c->store);
}

/* /readyz: what keeps the collector from doing its job, first found. */
static int health(void *ctx, char *why, size_t len)
{
    collector *c = ctx;
    char w[300];
    int ok = 1;

    if (!tg_store_writable(c->store, w, sizeof(w))) {
        snprintf(why, len, "not ready: the store cannot write: %s", w);
        return 0;
    }
    if (c->fwd &&
        !tg_forwarder_outbox_ok(tg_forward_link_forwarder(c->fwd), w, sizeof(w))) {
        snprintf(why, len, "not ready: %s", w);
        return 0;
    }
    pthread_mutex_lock(&c->health_mu);
    if (c->policy_error[0]) {
        snprintf(why, len,
                 "not ready: the residency policy failed to load (the previous one is in "
                 "force): %s",
                 c->policy_error);
        ok = 0;
    }
    pthread_mutex_unlock(&c->health_mu);
    return ok;
}

static void retention_done(uv_work_t *w, int status)
{
    collector *c = w->data;

    (void)status;
    c->retention_running = 0;
}

/* Age-based retention also has to run when no writes arrive. */
static void on_retention_timer(uv_timer_t *t)
{
    collector *c = t->data;

    if (c->retention_running || c->draining)
        return;
    c->retention_running = 1;
    c->retention_work.data = c;
    if (uv_queue_work(c->loop, &c->retention_work, retention_work, retention_done) != 0)
        c->retention_running = 0;
}

static int start_listeners(collector *c)
{
    tg_http_options aopt;
    tg_loops_options lo;
    char lerr[400];
    int err = 0;

    memset(&lo, 0, sizeof(lo));
    lo.main = c->loop;
    lo.cfg = &c->cfg;
    lo.n = tg_config_loops(&c->cfg, sysconf(_SC_NPROCESSORS_ONLN));
    lo.committer = c->committer;
    lo.ingest = &c->iopt;
    lo.rx = &c->rx;
    lo.main_stats = &c->stats;
    c->loops = tg_loops_start(&lo, lerr, sizeof(lerr));
    if (!c->loops) {
        fprintf(stderr, "tollgate collector: %s\n", lerr);
        return -1;
    }
    c->api.loop_stats = tg_loops_stats(c->loops, &c->api.n_loop_stats);

    tg_http_options_default(&aopt);
    aopt.max_body_bytes = 1u << 20;
    aopt.max_connections = c->cfg.api_max_connections;
    aopt.max_connections_per_source = c->cfg.api_max_conns_per_source;
    aopt.refusals = &c->stats.refused_api;
    aopt.tls = c->tls.api;
    c->api_http = tg_http_server_start(c->loop, c->cfg.api_listen, &aopt, tg_api_handle,
                                       &c->api, &err);
    if (!c->api_http) {
        fprintf(stderr, "tollgate collector: cannot listen for the site API on %s: %s\n",
                c->cfg.api_listen, err ? tg_strerror(err) : "error");
        return -1;
    }
    return 0;
}

static void stop_started(collector *c)
{
    /* Start-up failed after some listeners were up: close what exists
     * (tg_loops_start cleans up after itself). */
    c->draining = 1;
    if (c->loops) {
        tg_loops_destroy(c->loops);
        c->loops = NULL;
    }
    if (c->api_http)
        tg_http_server_stop(c->api_http, NULL, NULL);
    uv_run(c->loop, UV_RUN_DEFAULT);
}

static void rules_warn(void *ctx, const tg_rules_diag *d)
{
    char msg[1200];

    (void)ctx;
    tg_rules_diag_format(d, msg, sizeof(msg));
    tg_warn("rules warning", "detail=\"%s\"", msg);
}

/* Loads the policy files (or rules/default.yaml). Diagnostics name file,
 * line and column and never quote telemetry. */
/* Keeps the text of every policy version that was in force, for the audit
 * report's diffs (docs/audit.md, "Policy versions"): DATA/policies/
 * sha256-<hex>.txt, written once per version (a temporary file renamed
 * into place, so a reader never sees half of one). A failure is logged
 * and does not stop the collector: the report then says the text is
 * missing. */
static void rules_record_text(collector *c, const tg_rules_policy *p)
{
    const char *ver = tg_rules_policy_version(p), *colon = strchr(ver, ':');
    char dir[1100], path[1300], tmp[1310];
    size_t len;
    const char *text = tg_rules_policy_text(p, &len);
    struct stat sb;
    FILE *f;
    int ok;

    snprintf(dir, sizeof(dir), "%s/policies", c->cfg.data_dir);
    snprintf(path, sizeof(path), "%s/%.*s-%s.txt", dir, colon ? (int)(colon - ver) : 0,
             ver, colon ? colon + 1 : ver);
    if (stat(path, &sb) == 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        tg_warn("policy text not recorded", "dir=%s error=\"%s\"", dir, strerror(errno));
        return;
    }
    if (!(f = fopen(tmp, "wb"))) {
        tg_warn("policy text not recorded", "path=%s error=\"%s\"", tmp, strerror(errno));
        return;
    }
    ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        tg_warn("policy text not recorded", "path=%s", path);
        remove(tmp);
    }
}

static tg_rules_policy *rules_load(collector *c, char *err, size_t errlen)
{
    tg_rules_options ro;
    tg_rules_diag diag;
    tg_rules_policy *p;

    memset(&ro, 0, sizeof(ro));
    ro.key_dir = c->cfg.data_dir;
    ro.create_keys = 1;
    ro.warn = rules_warn;
    p = tg_rules_policy_load(c->rules_paths, c->n_rules_paths, &ro, &diag);
    if (!p)
        tg_rules_diag_format(&diag, err, errlen);
    else
        rules_record_text(c, p);
    return p;
}

/* SIGHUP: a new policy replaces the old one atomically; a bad file keeps
 * the old policy and says why. Requests already classified finish with
 * the policy they started with (the slot hands out references). */
static void rules_reload(collector *c)
{
    char err[1200];
    tg_rules_policy *p = rules_load(c, err, sizeof(err)), *old;

    pthread_mutex_lock(&c->health_mu);
    snprintf(c->policy_error, sizeof(c->policy_error), "%.*s",
             (int)sizeof(c->policy_error) - 1, p ? "" : err);
    pthread_mutex_unlock(&c->health_mu);
    if (!p) {
        tg_error("rules reload failed, keeping the policy in force", "error=\"%s\"", err);
        return;
    }
    old = tg_rules_slot_acquire(c->rules);
    if (old) {
        tg_info("rules reloaded", "from=%s to=%s", tg_rules_policy_version(old),
                tg_rules_policy_version(p));
        tg_rules_counts_inherit(p, old);
        tg_rules_policy_unref(old);
    }
    tg_rules_slot_swap(c->rules, p);
    tg_rules_policy_unref(p);
}

static void rules_count_line(void *ctx, const char *dest, const char *cls,
                             const char *action, uint64_t n)
{
    fprintf(ctx,
            "tollgate_rules_values_total{destination=\"%s\",class=\"%s\",action=\"%s\"} "
            "%llu\n",
            dest, cls, action, (unsigned long long)n);
}

/* Values per destination x class x action (never the values), plus the
 * forwarder's own figures. */
static char *collector_extra_metrics(void *ctx, size_t *len)
{
    collector *c = ctx;
    tg_rules_policy *p = tg_rules_slot_acquire(c->rules);
    char *buf = NULL, *fx;
    size_t size = 0, fxl = 0;
    FILE *f = open_memstream(&buf, &size);

    if (!f) {
        tg_rules_policy_unref(p);
        return NULL;
    }
    if (p) {
        fprintf(f,
                "# HELP tollgate_rules_policy_info The residency policy in force.\n"
                "# TYPE tollgate_rules_policy_info gauge\n"
                "tollgate_rules_policy_info{version=\"%s\"} 1\n",
                tg_rules_policy_version(p));
        fprintf(f,
                "# HELP tollgate_rules_values_total Values shaped per destination, data "
                "class and action.\n# TYPE tollgate_rules_values_total counter\n");
        tg_rules_counts_foreach(p, rules_count_line, f);
        tg_rules_policy_unref(p);
    }
    if (c->loops) {
        size_t n = 0;
        const tg_stats *const *more = tg_loops_stats(c->loops, &n);
        fprintf(f, "# HELP tollgate_ingest_loop_items_accepted_total Items committed and "
                   "acknowledged, by the ingest loop that received them (how evenly "
                   "SO_REUSEPORT spreads the connections).\n"
                   "# TYPE tollgate_ingest_loop_items_accepted_total counter\n");
        for (size_t k = 0; k <= n; k++)
            fprintf(
                f, "tollgate_ingest_loop_items_accepted_total{loop=\"%zu\"} %llu\n", k,
                (unsigned long long)tg_stats_items_accepted(k ? more[k - 1] : &c->stats));
    }
    if (c->fwd) {
        uint64_t stored, unstored, stale;
        tg_view_rules_counts(&c->view, &stored, &unstored, &stale);
        fprintf(
            f,
            "# HELP tollgate_forward_classifications_total Requests the central "
            "view shaped, by where their classification came from: stored at "
            "ingest (no re-scan), or scanned again because none was stored or it "
            "was made under another policy.\n"
            "# TYPE tollgate_forward_classifications_total counter\n"
            "tollgate_forward_classifications_total{source=\"stored\"} %llu\n"
            "tollgate_forward_classifications_total{source=\"rescan_unstored\"} "
            "%llu\n"
            "tollgate_forward_classifications_total{source=\"rescan_policy_changed\"} "
            "%llu\n",
            (unsigned long long)stored, (unsigned long long)unstored,
            (unsigned long long)stale);
    }
    if (c->fwd &&
        (fx = tg_forwarder_render_metrics(tg_forward_link_forwarder(c->fwd), &fxl))) {
        fwrite(fx, 1, fxl, f);
        free(fx);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

static char *fwd_status(void *ctx)
{
    collector *c = ctx;
    return c->fwd ? tg_forwarder_status_json(tg_forward_link_forwarder(c->fwd)) : NULL;
}

/* Every read the site API answers goes into the forwarder's egress
 * ledger first (api.h, record_query). */
static int record_query(void *ctx, const tg_outbox_query *q)
{
    return tg_forwarder_record_query(tg_forward_link_forwarder(ctx), q);
}

static char *ledger_json(void *ctx)
{
    return tg_forwarder_ledger_json(tg_forward_link_forwarder(ctx));
}

static int audit_read(void *ctx, const char *path, size_t len, tg_strbuf *out)
{
    return tg_forwarder_audit_read(tg_forward_link_forwarder(ctx), path, len, out);
}

/* The query: section of the configuration file: the clients the site
 * answers (the centre, a local compliance officer's CLI), each with a
 * token file and the most permissive view it may read (`raw`, or a
 * destination of the residency policy). Without it every data endpoint of
 * the site API answers 401. */
static int load_query_clients(collector *c, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {"clients", NULL};
    char dir[1024];
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    const tg_ynode *q, *list;
    int rc = 0;

    if (!root)
        return TG_ECONFIG;
    snprintf(dir, sizeof(dir), "%s", path);
    if ((q = tg_yaml_get(root, "query")) &&
        !(rc = tg_yaml_check_keys(path, q, keys, err, errlen)) &&
        (list = tg_yaml_get(q, "clients")))
        rc = tg_access_read(path, dirname(dir), list, "max_view", NULL, &c->clients, err,
                            errlen);
    tg_yaml_free(root);
    return rc;
}

int tg_collector_main(int argc, char **argv)
{
    static collector c; /* one per process; static keeps it off the stack */
    tg_store_options sopt;
    tg_committer_options copt;
    char err[1200];
    const char *config_file = NULL;
    int rc, code;

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.health_mu, NULL);
    rc = tg_config_from_args(argc, argv, &c.cfg, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "tollgate collector: %s\n", err);
        return 2;
    }
    tg_log_set_level_name(c.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    /* Requests of hundreds of KiB are allocated and freed continuously; with
     * glibc's defaults each one is an mmap/munmap or a heap trim and
     * re-fault, which measured about 7x slower on 256 KiB gRPC messages.
     * Keep freed memory for reuse instead; the bound on what is held comes
     * from the request-size and queue limits, not from trimming. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    if (mkdir_p(c.cfg.data_dir) != 0) {
        fprintf(stderr, "tollgate collector: cannot create data directory %s: %s\n",
                c.cfg.data_dir, strerror(errno));
        return 1;
    }
    tg_store_options_default(&sopt);
    sopt.max_bytes = c.cfg.store_max_bytes;
    sopt.max_age_sec = c.cfg.store_max_age_sec;
    if (c.cfg.store_initial_map_size)
        sopt.initial_map_size = c.cfg.store_initial_map_size;
    sopt.zstd_level = c.cfg.store_zstd_level;
    sopt.no_sync = !c.cfg.store_sync;
    sopt.max_map_size = c.cfg.store_max_map_size;
    sopt.on_full = strcmp(c.cfg.store_on_full, "evict-oldest") == 0
                       ? TG_STORE_ON_FULL_EVICT_OLDEST
                       : TG_STORE_ON_FULL_REFUSE;
    sopt.evict_floor_sec = c.cfg.store_evict_floor_sec;
    c.store = tg_store_open(c.cfg.data_dir, &sopt, &rc);
    if (!c.store) {
        fprintf(stderr, "tollgate collector: cannot open the store in %s: %s\n",
                c.cfg.data_dir, tg_strerror(rc));
        return 1;
    }

    for (size_t i = 0; i < c.cfg.n_rules_files; i++)
        c.rules_paths[c.n_rules_paths++] = c.cfg.rules_files[i];
    if (!c.n_rules_paths)
        c.rules_paths[c.n_rules_paths++] = tg_rules_default_path();
    {
        tg_rules_policy *p = rules_load(&c, err, sizeof(err));
        if (!p) {
            fprintf(stderr, "tollgate collector: %s\n", err);
            tg_store_close(c.store);
            return 2;
        }
        tg_info("rules loaded", "version=%s files=%zu", tg_rules_policy_version(p),
                c.n_rules_paths);
        c.rules = tg_rules_slot_create(p);
        tg_rules_policy_unref(p);
    }
    c.view.slot = c.rules;
    c.view.destination = "central";
    pthread_mutex_init(&c.view.mu, NULL);
    c.api.extra_metrics = collector_extra_metrics;
    c.api.max_read_bytes = (size_t)c.cfg.api_max_read_bytes;
    c.api.extra_ctx = &c;

    /* The forward: and query: sections live in the same file (both
     * spellings of the flag; the last one wins, as in tg_config_from_args). */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_file = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config_file = argv[i] + 9;
    }
    if (config_file && load_query_clients(&c, config_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "tollgate collector: %s\n", err);
        tg_store_close(c.store);
        return 2;
    }
    c.api.clients = &c.clients;
    c.api.rules = c.rules;
    c.api.health = health;
    c.api.health_ctx = &c;
    if (tg_secure_check(&c.cfg, c.clients.n, err, sizeof(err)) != 0 ||
        tg_secure_tls_load(&c.cfg, &c.tls, err, sizeof(err)) != 0) {
        fprintf(stderr, "tollgate collector: %s\n", err);
        tg_store_close(c.store);
        return 2;
    }
    c.rx.http_tls = c.tls.http;
    c.rx.grpc_tls = c.tls.grpc;
    if (tg_secure_tokens_load("receivers.otlp_grpc", c.cfg.grpc_token_files,
                              c.cfg.n_grpc_token_files, c.cfg.grpc_tokens,
                              c.cfg.n_grpc_tokens, &c.grpc_tokens, err, sizeof(err)) ||
        tg_secure_tokens_load("receivers.otlp_http", c.cfg.http_token_files,
                              c.cfg.n_http_token_files, c.cfg.http_tokens,
                              c.cfg.n_http_tokens, &c.http_tokens, err, sizeof(err))) {
        fprintf(stderr, "tollgate collector: %s\n", err);
        tg_store_close(c.store);
        return 2;
    }
    c.rx.grpc_tokens = &c.grpc_tokens;
    c.rx.http_tokens = &c.http_tokens;
    if (c.cfg.api_insecure && !tg_secure_is_loopback(c.cfg.api_listen))
        tg_warn("the site API is reachable beyond this host without TLS or tokens "
                "(--insecure-api)",
                "api=%s tls=%s query_clients=%zu", c.cfg.api_listen,
                c.tls.api ? "on" : "off", c.clients.n);

    if (c.cfg.central_url[0]) {
        tg_forward_link_options fo;
        memset(&fo, 0, sizeof(fo));
        fo.store = c.store;
        fo.site = c.cfg.site;
        fo.data_dir = c.cfg.data_dir;
        fo.central_url = c.cfg.central_url;
        fo.token_file = c.cfg.central_token_file;
        fo.config_file = config_file;
        fo.software_version = TG_VERSION;
        fo.view = &tg_view_rules_kind;
        fo.view_ctx = &c.view;
        c.fwd = tg_forward_link_start(&fo, err, sizeof(err));
        if (!c.fwd) {
            fprintf(stderr, "tollgate collector: %s\n", err);
            tg_store_close(c.store);
            return 2;
        }
        c.api.extra_status_json = fwd_status;
        c.api.record_query = record_query;
        c.api.ledger_json = ledger_json;
        c.api.audit_read = audit_read;
        c.api.record_ctx = c.fwd;
    }

    c.loop = uv_default_loop();
    memset(&copt, 0, sizeof(copt));
    copt.max_pending_bytes = c.cfg.max_pending_bytes;
    c.committer = tg_committer_create(c.loop, c.store, &copt, commit_observed, &c);
    c.iopt.max_decompressed_bytes = c.cfg.max_decompressed_bytes;
    c.iopt.max_decompress_ratio = c.cfg.max_decompress_ratio;
    c.iopt.rules = c.rules;
    c.iopt.zstd_level = (int)c.cfg.store_zstd_level;
    if (!c.committer) {
        fprintf(stderr, "tollgate collector: out of memory at start-up\n");
        tg_forward_link_stop(c.fwd);
        tg_store_close(c.store);
        return 1;
    }
    c.rx.retry_after_sec = c.cfg.retry_after_sec ? c.cfg.retry_after_sec : 1;
    c.api.loop = c.loop;
    c.api.store = c.store;
    c.api.stats = &c.stats;
    c.api.committer = c.committer;
    c.api.site = c.cfg.site;
    c.api.data_dir = c.cfg.data_dir;
    c.api.started_unix = tg_wall_ns() / 1000000000u;

    if (start_listeners(&c) != 0) {
        stop_started(&c);
        tg_committer_drain(c.committer, NULL, NULL);
        uv_run(c.loop, UV_RUN_DEFAULT);
        tg_committer_destroy(c.committer);
        tg_forward_link_stop(c.fwd);
        tg_store_close(c.store);
        return 1;
    }

    uv_signal_init(c.loop, &c.sigterm);
    uv_signal_init(c.loop, &c.sigint);
    uv_signal_init(c.loop, &c.sighup);
    c.sigterm.data = c.sigint.data = c.sighup.data = &c;
    uv_signal_start(&c.sigterm, on_signal, SIGTERM);
    uv_signal_start(&c.sigint, on_signal, SIGINT);
    uv_signal_start(&c.sighup, on_signal, SIGHUP);
    uv_timer_init(c.loop, &c.retention);
    c.retention.data = &c;
    /* Every 10 s: class retentions can be short (pci.cvv: 1h), and a
     * pass with nothing to delete is a read of two B-tree roots. */
    uv_timer_start(&c.retention, on_retention_timer, 10000, 10000);

    if (tg_loops_run(c.loops) != 0) {
        c.exit_code = 1;
        begin_drain(&c, "an ingest loop could not start");
    } else {
        c.api.ready = 1;
        tg_info("collector started",
                "site=%s data=%s otlp_grpc=%s otlp_http=%s api=%s loops=%u version=%s",
                c.cfg.site, c.cfg.data_dir, c.cfg.otlp_grpc_listen,
                c.cfg.otlp_http_listen, c.cfg.api_listen, tg_loops_count(c.loops),
                TG_VERSION);
    }

    uv_run(c.loop, UV_RUN_DEFAULT);

    code = c.exit_code;
    /* Everything acknowledged is committed; the forwarder flushes what it
     * summarised and stops before the store it reads closes. */
    tg_forward_link_stop(c.fwd);
    tg_store_close(c.store);
    tg_rules_slot_destroy(c.rules);
    pthread_mutex_destroy(&c.view.mu);
    uv_loop_close(c.loop);
    tg_secure_tls_free(&c.tls);
    tg_secure_tokens_free(&c.grpc_tokens);
    tg_secure_tokens_free(&c.http_tokens);
    tg_info("collector stopped", "exit=%d", code);
    return code;
}
