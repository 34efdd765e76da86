/* Token lists (users at the centre, clients at a site): loading with
 * positioned errors, one token one clearance, bearer authentication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tg_access.h"
#include "tg_err.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char p[256];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_non_null(f = fopen(p, "w"));
    fputs(text, f);
    fclose(f);
    chmod(p, 0600); /* token files others can read are refused */
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tg_access_XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("alice.token", "tok-alice-0123456789\n");
    put("bob.token", "  tok-bob-0123456789  \n");
    put("carol.token", "tok-alice-0123456789");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A users file as the centre reads it: the list under `users:`. */
static int load(const char *text, tg_access *a, char *err, size_t errlen)
{
    static const char *const top[] = {"users", NULL};
    char p[256];
    tg_ynode *root;
    int rc;

    memset(a, 0, sizeof(*a));
    put("users.yaml", text);
    snprintf(p, sizeof(p), "%s/users.yaml", dir);
    if (!(root = tg_yaml_load_file(p, err, errlen)))
        return TG_ECONFIG;
    rc = tg_yaml_check_keys(p, root, top, err, errlen);
    if (!rc)
        rc = tg_access_read(p, dir, tg_yaml_get(root, "users"), "role", NULL, a, err,
                            errlen);
    tg_yaml_free(root);
    return rc;
}

static void test_load_and_authenticate(void **state)
{
    tg_access a;
    char err[512] = "";
    const tg_access_entry *e;
    (void)state;

    assert_int_equal(load("users:\n"
                          "  - {name: alice, token_file: alice.token, role: sre}\n"
                          "  - {name: bob, token_file: bob.token, role: compliance}\n",
                          &a, err, sizeof(err)),
                     0);
    assert_int_equal(a.n, 2);
    assert_non_null(e = tg_access_authenticate(&a, "Bearer tok-alice-0123456789"));
    assert_string_equal(e->name, "alice");
    assert_string_equal(e->grant, "sre");
    /* Whitespace in the file is not part of the token. */
    assert_non_null(e = tg_access_authenticate(&a, "bearer tok-bob-0123456789"));
    assert_string_equal(e->grant, "compliance");
    assert_null(tg_access_authenticate(&a, "Bearer tok-alice-012345678"));
    assert_null(tg_access_authenticate(&a, "Bearer tok-alice-01234567890"));
    assert_null(tg_access_authenticate(&a, "Basic tok-alice-0123456789"));
    assert_null(tg_access_authenticate(&a, "Bearer "));
    assert_null(tg_access_authenticate(&a, NULL));
    assert_non_null(tg_access_find(&a, "bob"));
    assert_null(tg_access_find(&a, "eve"));
    tg_access_free(&a);
}

/* Issue 15: a token file its group or others can read is refused, with
 * a message naming the file and what to do. */
static void test_readable_token_file_refused(void **state)
{
    tg_access a;
    char err[512] = "", p[256];
    (void)state;

    put("dave.token", "tok-dave-0123456789\n");
    snprintf(p, sizeof(p), "%s/dave.token", dir);
    for (int i = 0; i < 2; i++) {
        chmod(p, i == 0 ? 0640 : 0604);
        assert_int_equal(
            load("users:\n  - {name: dave, token_file: dave.token, role: sre}\n", &a, err,
                 sizeof(err)),
            TG_ECONFIG);
        assert_non_null(strstr(err, "dave.token"));
        assert_non_null(strstr(err, "readable by group or others: chmod 600 it"));
    }
    chmod(p, 0400);
    assert_int_equal(load("users:\n  - {name: dave, token_file: dave.token, role: sre}\n",
                          &a, err, sizeof(err)),
                     0);
    tg_access_free(&a);
}

static void test_errors_name_the_place(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"users:\n  - {name: alice, token_file: alice.token}\n",
         "users.yaml:2:5: \"alice\" needs a role"},
        {"users:\n  - {name: alice, token_file: nope.token, role: sre}\n",
         "users.yaml:2:31: cannot read a token from"},
        {"users:\n  - {name: alice, token_file: alice.token, role: sre}\n"
         "  - {name: carol, token_file: carol.token, role: finance}\n",
         "users.yaml:3:31: \"carol\" has the same token as \"alice\""},
        {"users:\n  - {name: alice, token_file: alice.token, role: sre}\n"
         "  - {name: alice, token_file: bob.token, role: sre}\n",
         "users.yaml:3:12: \"alice\" is listed twice"},
        {"users:\n  - {name: al ice, token_file: alice.token, role: sre}\n",
         "users.yaml:2:12: names are"},
        {"users:\n  - {name: alice, token_file: alice.token, role: sre, rol: x}\n",
         "users.yaml:2:"},
        {"user:\n  - {name: alice}\n", "users.yaml:1:1:"},
        {"users: {name: alice}\n", "users.yaml:1:8: expected a list"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_access a;
        char err[512] = "";
        int rc = load(cases[i].text, &a, err, sizeof(err));
        if (rc != TG_ECONFIG || !strstr(err, cases[i].want))
            fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err,
                     cases[i].want);
        assert_int_equal(a.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_authenticate),
        cmocka_unit_test(test_errors_name_the_place),
        cmocka_unit_test(test_readable_token_file_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
