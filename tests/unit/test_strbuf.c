/* tg_strbuf: the one growable text buffer, on the heap (the centre's and
 * the forwarder's /metrics) and in an arena (the rules engine's values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_arena.h"
#include "tg_strbuf.h"

static void test_heap_printf_grows(void **state)
{
    tg_strbuf b = {0};
    char want[64];

    (void)state;
    assert_null(b.p);
    for (int i = 0; i < 2000; i++) /* well past the first 4 KiB */
        tg_strbuf_printf(&b, "line %d\n", i);
    assert_false(b.oom);
    assert_int_equal(strlen(b.p), b.len);
    assert_true(b.len < b.cap);
    assert_memory_equal(b.p, "line 0\nline 1\n", 14);
    snprintf(want, sizeof(want), "line %d\n", 1999);
    assert_string_equal(b.p + b.len - strlen(want), want);
    free(b.p);
}

static void test_heap_one_long_printf(void **state)
{
    tg_strbuf b = {0};
    char *big = malloc(10001);

    (void)state;
    memset(big, 'x', 10000);
    big[10000] = '\0';
    tg_strbuf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, 10002);
    assert_int_equal(b.p[0], '<');
    assert_int_equal(b.p[10001], '>');
    assert_int_equal(b.p[10002], '\0');
    free(big);
    free(b.p);
}

static void test_put_putc_and_nuls(void **state)
{
    tg_strbuf b = {0};

    (void)state;
    tg_strbuf_put(&b, "", 0);
    assert_null(b.p); /* nothing appended yet */
    tg_strbuf_put(&b, "a\0b", 3);
    tg_strbuf_putc(&b, 'c');
    tg_strbuf_printf(&b, "%s", "");
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.p, "a\0bc", 5);
    free(b.p);
}

static void test_label_escapes(void **state)
{
    tg_strbuf b = {0};

    (void)state;
    tg_strbuf_printf(&b, "site=\"");
    tg_strbuf_label(&b, "fra \"a\"\\b\nc");
    tg_strbuf_label(&b, NULL);
    tg_strbuf_printf(&b, "\"");
    assert_string_equal(b.p, "site=\"fra \\\"a\\\"\\\\b\\nc\"");
    free(b.p);
}

/* tg_arena_memdup copies exactly, and an empty copy is still an
 * allocation. */
static void test_arena_memdup(void **state)
{
    static const uint64_t src[4] = {1, 2, 3, UINT64_MAX};
    tg_arena a;
    uint64_t *c;

    (void)state;
    tg_arena_init(&a, 4096, 0);
    c = tg_arena_memdup(&a, src, sizeof(src));
    assert_non_null(c);
    assert_ptr_not_equal(c, src);
    assert_memory_equal(c, src, sizeof(src));
    assert_non_null(tg_arena_memdup(&a, src, 0));
    tg_arena_destroy(&a);
}

static void test_arena(void **state)
{
    tg_arena a;
    tg_strbuf b;
    char big[600];

    (void)state;
    tg_arena_init(&a, 4096, 0);
    b = (tg_strbuf){.a = &a};
    tg_strbuf_put(&b, "[REDACTED:", 10);
    tg_strbuf_put(&b, "pii.email", 9);
    tg_strbuf_putc(&b, ']');
    assert_string_equal(b.p, "[REDACTED:pii.email]");
    /* longer than one printf used to be cut at (255), and past the
     * block: the text moves and stays whole */
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tg_strbuf_printf(&b, "%s/%u", big, 24u);
    assert_false(b.oom);
    assert_int_equal(b.len, 20 + 599 + 3);
    assert_memory_equal(b.p, "[REDACTED:pii.email]yyy", 23);
    assert_string_equal(b.p + b.len - 4, "y/24");
    tg_arena_destroy(&a); /* frees the text: nothing else to free */
}

static void test_oom_sticks(void **state)
{
    tg_arena a;
    tg_strbuf b;
    char big[256];

    (void)state;
    tg_arena_init(&a, 256, 512);
    b = (tg_strbuf){.a = &a};
    memset(big, 'z', sizeof(big));
    tg_strbuf_put(&b, big, 100);
    assert_false(b.oom);
    for (int i = 0; i < 8 && !b.oom; i++)
        tg_strbuf_put(&b, big, sizeof(big));
    assert_true(b.oom);
    {
        size_t len = b.len;
        tg_strbuf_put(&b, "more", 4);
        tg_strbuf_printf(&b, "%d", 1);
        tg_strbuf_putc(&b, '!');
        assert_int_equal(b.len, len);
    }
    tg_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_printf_grows),
        cmocka_unit_test(test_heap_one_long_printf),
        cmocka_unit_test(test_put_putc_and_nuls),
        cmocka_unit_test(test_label_escapes),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_arena_memdup),
        cmocka_unit_test(test_oom_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
