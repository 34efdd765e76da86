/* `tollgate rules check` and `tollgate rules test`: exit statuses, error
 * positions, and what the dry run prints (never a replaced raw value). The
 * command's source is compiled in, its output captured from stdout and
 * stderr. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../cmd/rules_cmd.c"

typedef struct run {
    int status;
    char *out, *err;
} run;

static char *slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    ssize_t r;

    lseek(fd, 0, SEEK_SET);
    while ((r = read(fd, b + n, cap - n - 1)) > 0) {
        n += (size_t)r;
        if (n + 1 == cap)
            b = realloc(b, cap *= 2);
    }
    b[n] = '\0';
    return b;
}

static run rules(int argc, const char **argv)
{
    char to[] = "/tmp/tg_rules_cli_out_XXXXXX", te[] = "/tmp/tg_rules_cli_err_XXXXXX";
    int fo = mkstemp(to), fe = mkstemp(te), so = dup(1), se = dup(2);
    run r;

    fflush(stdout);
    fflush(stderr);
    dup2(fo, 1);
    dup2(fe, 2);
    r.status = tg_cmd_rules(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    r.out = slurp(fo);
    r.err = slurp(fe);
    close(fo);
    close(fe);
    unlink(to);
    unlink(te);
    return r;
}

static void done(run *r)
{
    free(r->out);
    free(r->err);
}

static char path_default[1024], path_site[1024], path_traces[1024], path_logs[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(path_default, sizeof(path_default), "%s/rules/default.yaml", TG_SOURCE_DIR);
    snprintf(path_site, sizeof(path_site), "%s/rules/examples/site-fra.yaml",
             TG_SOURCE_DIR);
    snprintf(path_traces, sizeof(path_traces), "%s/rules/examples/checkout-traces.json",
             TG_SOURCE_DIR);
    snprintf(path_logs, sizeof(path_logs), "%s/rules/examples/billing-logs.json",
             TG_SOURCE_DIR);
    return 0;
}

static void test_check(void **state)
{
    const char *ok[] = {"rules", "check", path_default, path_site};
    const char *none[] = {"rules", "check"};
    char bad[] = "/tmp/tg_rules_bad_XXXXXX";
    int fd = mkstemp(bad);
    const char *text = "version: 1\nclasses:\n  pii.email: {detect: {values: [emial]}}\n";
    const char *badv[] = {"rules", "check", bad};
    run r;

    (void)state;
    r = rules(4, ok);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ok: 2 files"));
    assert_non_null(strstr(r.out, "3 destinations, site fra-1"));
    assert_non_null(strstr(r.out, "version sha256:"));
    done(&r);

    r = rules(2, none);
    assert_int_equal(r.status, 2);
    done(&r);

    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    r = rules(3, badv);
    assert_int_equal(r.status, 2);
    {
        char want[200];
        snprintf(want, sizeof(want), "%s:3:33: unknown built-in detector 'emial'", bad);
        if (!strstr(r.err, want))
            fail_msg("want %s in\n%s", want, r.err);
    }
    done(&r);
    unlink(bad);
}

static void test_test_json(void **state)
{
    const char *argv[] = {"rules",   "test",    "--rules",   path_default,
                          path_site, "--input", path_traces, "--json"};
    run r;
    json_error_t je;
    json_t *doc, *dests;
    int saw_email = 0;

    (void)state;
    r = rules(8, argv);
    assert_int_equal(r.status, 0);
    doc = json_loads(r.out, 0, &je);
    if (!doc)
        fail_msg("not one JSON document: %s", je.text);
    assert_string_equal(json_string_value(json_object_get(doc, "signal")), "traces");
    dests = json_object_get(doc, "destinations");
    assert_int_equal(json_array_size(dests), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(dests, 0), "name")), "central");
    for (size_t i = 0;
         i < json_array_size(json_object_get(json_array_get(dests, 0), "changes")); i++) {
        json_t *ch =
            json_array_get(json_object_get(json_array_get(dests, 0), "changes"), i);
        const char *path = json_string_value(json_object_get(ch, "path"));
        if (strstr(path, "[\"user.email\"]")) {
            saw_email = 1;
            assert_string_equal(json_string_value(json_object_get(ch, "class")),
                                "pii.email");
            assert_string_equal(json_string_value(json_object_get(ch, "action")), "hash");
            assert_non_null(
                strstr(json_string_value(json_object_get(ch, "rule")), "gdpr.yaml:"));
        }
    }
    assert_true(saw_email);
    /* central and cloud-us get no raw e-mail, card or token; the compliance
     * archive in the jurisdiction keeps the e-mail */
    {
        char *c0 = json_dumps(json_object_get(json_array_get(dests, 0), "data"), 0);
        char *c1 = json_dumps(json_object_get(json_array_get(dests, 1), "data"), 0);
        char *c2 = json_dumps(json_object_get(json_array_get(dests, 2), "data"), 0);
        assert_null(strstr(c0, "Maria.Rossi@example.it"));
        assert_null(strstr(c0, "4111 1111 1111 1111"));
        assert_null(strstr(c0, "eyJhbGciOiJIUzI1NiIs"));
        assert_null(strstr(c0, "s3cr3t-pass"));
        assert_null(strstr(c1, "Maria.Rossi@example.it"));
        assert_non_null(strstr(c2, "Maria.Rossi@example.it"));
        free(c0);
        free(c1);
        free(c2);
    }
    json_decref(doc);
    done(&r);
}

/* --summaries: what the centre receives, after the view and the
 * summariser: span summaries (names templated), RED series, cost. */
static void test_test_summaries(void **state)
{
    const char *argv[] = {"rules",   "test",      "--rules",     path_default,
                          "--input", path_traces, "--summaries", "--json"};
    const char *human[] = {"rules",   "test",    "--rules",    path_default,
                           "--input", path_logs, "--summaries"};
    run r;
    json_error_t je;
    json_t *doc, *central, *sum;
    char *text;

    (void)state;
    r = rules(8, argv);
    assert_int_equal(r.status, 0);
    doc = json_loads(r.out, 0, &je);
    if (!doc)
        fail_msg("not one JSON document: %s", je.text);
    central = json_array_get(json_object_get(doc, "destinations"), 0);
    sum = json_object_get(central, "summaries");
    assert_non_null(json_object_get(sum, "spans"));
    assert_non_null(json_object_get(sum, "red"));
    text = json_dumps(sum, 0);
    assert_null(strstr(text, "Maria.Rossi@example.it"));
    assert_null(strstr(text, "4111 1111 1111 1111"));
    free(text);
    assert_true(json_integer_value(json_object_get(json_object_get(central, "stats"),
                                                   "span_names_stored")) > 0);
    json_decref(doc);
    done(&r);

    r = rules(7, human);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "what the centre receives"));
    assert_non_null(strstr(r.out, "log template"));
    done(&r);
}

static void test_test_text_and_errors(void **state)
{
    const char *human[] = {"rules",   "test",    "--rules",       path_default,
                           "--input", path_logs, "--destination", "central"};
    const char *nodest[] = {"rules",   "test",    "--rules",       path_default,
                            "--input", path_logs, "--destination", "mars"};
    const char *noinput[] = {"rules", "test", "--rules", path_default};
    char bad[] = "/tmp/tg_rules_badjson_XXXXXX";
    int fd = mkstemp(bad);
    const char *badin[] = {"rules", "test", "--input", bad};
    run r;

    (void)state;
    r = rules(8, human);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "== destination central"));
    assert_non_null(strstr(r.out, "class pii.national_id"));
    assert_non_null(strstr(r.out, "detector builtin:pl_pesel"));
    assert_non_null(strstr(r.out, "leaves as: [REDACTED:pii.national_id]"));
    assert_non_null(strstr(r.out, "what leaves:"));
    assert_null(strstr(r.out, "44051401359"));
    assert_null(strstr(r.out, "jan.kowalski@example.pl"));
    assert_null(strstr(r.out, "hunter2"));
    done(&r);

    r = rules(8, nodest);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown destination \"mars\""));
    done(&r);

    r = rules(4, noinput);
    assert_int_equal(r.status, 2);
    done(&r);

    assert_int_equal(write(fd, "{\"resourceLogs\": [", 18), 18);
    close(fd);
    r = rules(4, badin);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, bad));
    done(&r);
    unlink(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_test_json),
        cmocka_unit_test(test_test_summaries),
        cmocka_unit_test(test_test_text_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
