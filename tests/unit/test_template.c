/* Message templates: variable parts replaced, wording kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tg_template.h"

static void check(const char *in, const char *want)
{
    char out[TG_TEMPLATE_MAX];
    size_t n = tg_template_make(in, strlen(in), out, sizeof(out));

    assert_int_equal(n, strlen(out));
    assert_string_equal(out, want);
}

static void test_values_replaced(void **state)
{
    (void)state;
    check("user 4411 paid 12.50 EUR", "user <num> paid <num> EUR");
    check("payment failed for alice@example.com", "payment failed for <email>");
    check("GET /users/123/orders/9f8e7d6c5b4a3210", "GET /users/<num>/orders/<hex>");
    check("request 3f2a1b4c-1111-2222-3333-444455556666 done", "request <uuid> done");
    check("connect to 10.1.2.3:5432 refused", "connect to <ip>:<num> refused");
    check("card 4111 1111 1111 1111 declined", "card <num> <num> <num> <num> declined");
    check("user=alice action=login", "user=<*> action=<*>");
    check("said \"my secret phrase\" twice", "said \"<str>\" twice");
    check("see https://x.example/reset?token=abc123 now", "see <url> now");
    check("token A1b2C3d4E5f6", "token <hex>");
    check("key Zx9kQ2pLm7", "key <*>");
}

static void test_wording_kept(void **state)
{
    (void)state;
    check("cache warmed", "cache warmed");
    check("  spaces   collapse\tand\ntrim  ", "spaces collapse and trim");
    check("model v2 on k8s", "model v2 on k8s");
    check("[REDACTED:pii.email] logged in", "[REDACTED:pii.email] logged in");
    check("", "");
}

static void test_idempotent_and_bounded(void **state)
{
    char a[TG_TEMPLATE_MAX], b[TG_TEMPLATE_MAX], big[4096];
    const char *in = "order 77 for bob@example.org at 10.0.0.1 took 35ms";
    size_t n;

    (void)state;
    tg_template_make(in, strlen(in), a, sizeof(a));
    tg_template_make(a, strlen(a), b, sizeof(b));
    assert_string_equal(a, b);
    /* Long input is cut under the cap, never inside a UTF-8 sequence. */
    for (size_t i = 0; i + 2 < sizeof(big); i += 2)
        memcpy(big + i, "\xc3\xa9", 2); /* é */
    big[sizeof(big) - 1] = '\0';
    n = tg_template_make(big, strlen(big), a, sizeof(a));
    assert_true(n < TG_TEMPLATE_MAX);
    assert_int_equal(n % 2, 0);
    /* Ids join equal templates. */
    assert_true(tg_template_id("a <num>", 7) == tg_template_id("a <num>", 7));
    assert_true(tg_template_id("a <num>", 7) != tg_template_id("b <num>", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_replaced),
        cmocka_unit_test(test_wording_kept),
        cmocka_unit_test(test_idempotent_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
