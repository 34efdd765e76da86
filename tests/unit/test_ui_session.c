/* The web UI's sign-in sessions: ids are random and unguessable from one
 * another, a session ends at its expiry or on sign-out, a full table makes
 * room, and the Cookie header parser finds exactly the named cookie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "ui_session.h"

static void test_create_lookup_remove(void **state)
{
    tg_ui_sessions *t = tg_ui_sessions_new(8, 1000);
    char a[TG_UI_SESSION_ID_LEN + 1], b[TG_UI_SESSION_ID_LEN + 1], user[64];

    (void)state;
    assert_non_null(t);
    assert_int_equal(tg_ui_sessions_ttl_ms(t), 1000);
    assert_int_equal(tg_ui_session_create(t, "alice", 100, a), 0);
    assert_int_equal(tg_ui_session_create(t, "frank", 100, b), 0);
    assert_int_equal(strlen(a), TG_UI_SESSION_ID_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), TG_UI_SESSION_ID_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(tg_ui_session_lookup(t, a, 200, user, sizeof(user)), 0);
    assert_string_equal(user, "alice");
    assert_int_equal(tg_ui_session_lookup(t, b, 200, user, sizeof(user)), 0);
    assert_string_equal(user, "frank");
    assert_int_equal(tg_ui_sessions_count(t, 200), 2);

    /* Signed out: gone, and a second sign-out says so. */
    assert_int_equal(tg_ui_session_remove(t, a), 0);
    assert_int_equal(tg_ui_session_lookup(t, a, 200, user, sizeof(user)), TG_ENOT_FOUND);
    assert_int_equal(tg_ui_session_remove(t, a), TG_ENOT_FOUND);
    assert_int_equal(tg_ui_session_lookup(t, b, 200, user, sizeof(user)), 0);

    /* Ids that are not one of ours: wrong length, one character off, empty. */
    assert_int_equal(tg_ui_session_lookup(t, "", 200, user, sizeof(user)), TG_ENOT_FOUND);
    assert_int_equal(tg_ui_session_lookup(t, "abc", 200, user, sizeof(user)),
                     TG_ENOT_FOUND);
    b[10] = b[10] == '0' ? '1' : '0';
    assert_int_equal(tg_ui_session_lookup(t, b, 200, user, sizeof(user)), TG_ENOT_FOUND);
    tg_ui_sessions_free(t);
}

static void test_expiry(void **state)
{
    tg_ui_sessions *t = tg_ui_sessions_new(4, 1000);
    char id[TG_UI_SESSION_ID_LEN + 1], user[64];

    (void)state;
    assert_int_equal(tg_ui_session_create(t, "alice", 5000, id), 0);
    assert_int_equal(tg_ui_session_lookup(t, id, 5999, user, sizeof(user)), 0);
    assert_int_equal(tg_ui_session_lookup(t, id, 6000, user, sizeof(user)),
                     TG_ENOT_FOUND);
    /* Expired is removed: going back in time does not revive it. */
    assert_int_equal(tg_ui_session_lookup(t, id, 5500, user, sizeof(user)),
                     TG_ENOT_FOUND);
    assert_int_equal(tg_ui_sessions_count(t, 5500), 0);
    tg_ui_sessions_free(t);
}

static void test_full_table_makes_room(void **state)
{
    tg_ui_sessions *t = tg_ui_sessions_new(2, 1000);
    char a[TG_UI_SESSION_ID_LEN + 1], b[TG_UI_SESSION_ID_LEN + 1],
        c[TG_UI_SESSION_ID_LEN + 1], user[64];

    (void)state;
    assert_int_equal(tg_ui_session_create(t, "a", 0, a), 0);
    assert_int_equal(tg_ui_session_create(t, "b", 10, b), 0);
    /* Full, none expired: the one closest to expiry (a) goes. */
    assert_int_equal(tg_ui_session_create(t, "c", 20, c), 0);
    assert_int_equal(tg_ui_session_lookup(t, a, 30, user, sizeof(user)), TG_ENOT_FOUND);
    assert_int_equal(tg_ui_session_lookup(t, b, 30, user, sizeof(user)), 0);
    assert_int_equal(tg_ui_session_lookup(t, c, 30, user, sizeof(user)), 0);
    assert_string_equal(user, "c");
    assert_int_equal(tg_ui_sessions_count(t, 30), 2);
    tg_ui_sessions_free(t);
}

static void test_bad_user(void **state)
{
    tg_ui_sessions *t = tg_ui_sessions_new(2, 1000);
    char id[TG_UI_SESSION_ID_LEN + 1], longname[100];

    (void)state;
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(tg_ui_session_create(t, "", 0, id), TG_EINVAL);
    assert_int_equal(tg_ui_session_create(t, longname, 0, id), TG_EINVAL);
    assert_int_equal(tg_ui_sessions_count(t, 0), 0);
    assert_null(tg_ui_sessions_new(0, 1000));
    tg_ui_sessions_free(t);
    tg_ui_sessions_free(NULL);
}

static void test_cookie_parsing(void **state)
{
    char v[80];

    (void)state;
    assert_int_equal(tg_ui_cookie_get("tg_session=abc", "tg_session", v, sizeof(v)), 3);
    assert_string_equal(v, "abc");
    assert_int_equal(
        tg_ui_cookie_get("theme=dark; tg_session=ff00 ; x=1", "tg_session", v, sizeof(v)),
        4);
    assert_string_equal(v, "ff00");
    assert_int_equal(
        tg_ui_cookie_get("a=1;tg_session=\"q1\"", "tg_session", v, sizeof(v)), 2);
    assert_string_equal(v, "q1");
    /* First occurrence wins. */
    assert_int_equal(
        tg_ui_cookie_get("tg_session=one; tg_session=two", "tg_session", v, sizeof(v)),
        3);
    assert_string_equal(v, "one");
    /* A name that only ends or starts with ours is not ours; names are exact. */
    assert_int_equal(
        tg_ui_cookie_get("xtg_session=1; tg_sessionx=2", "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get("TG_SESSION=1", "tg_session", v, sizeof(v)), -1);
    /* Absent, empty, no value, too long for the buffer. */
    assert_int_equal(tg_ui_cookie_get("", "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get(NULL, "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get("tg_session=", "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get("tg_session", "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get(";;; ;", "tg_session", v, sizeof(v)), -1);
    assert_int_equal(tg_ui_cookie_get("tg_session=12345", "tg_session", v, 5), -1);
    assert_int_equal(tg_ui_cookie_get("tg_session=1234", "tg_session", v, 5), 4);
    assert_string_equal(v, "1234");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_lookup_remove),  cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_full_table_makes_room), cmocka_unit_test(test_bad_user),
        cmocka_unit_test(test_cookie_parsing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
