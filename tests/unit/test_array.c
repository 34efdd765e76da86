/* tg_array_reserve: the one way a heap array grows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tg_array.h"
#include "tg_err.h"

static void test_grows_by_doubling_and_keeps_elements(void **state)
{
    int *v = NULL;
    size_t n = 0, cap = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(TG_ARRAY_ROOM(v, n, cap, 8), 0);
        assert_true(cap > n);
        v[n++] = i;
    }
    assert_int_equal(cap, 1024); /* 8, 16, ... 1024 */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    free(v);
}

static void test_no_growth_when_there_is_room(void **state)
{
    char *v = malloc(4);
    char *before = v;
    size_t cap = 4;

    (void)state;
    assert_int_equal(tg_array_reserve((void **)&v, &cap, 4, 1, 16), 0);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 4);
    assert_int_equal(tg_array_reserve((void **)&v, &cap, 11, 1, 16), 0);
    assert_int_equal(cap, 16); /* doubles from 4 until 11 fit */
    free(v);
}

static void test_overflow_is_refused_and_leaves_the_array(void **state)
{
    uint64_t *v = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(tg_array_reserve((void **)&v, &cap, SIZE_MAX / 4, sizeof(*v), 4),
                     TG_ENOMEM);
    assert_null(v);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_by_doubling_and_keeps_elements),
        cmocka_unit_test(test_no_growth_when_there_is_room),
        cmocka_unit_test(test_overflow_is_refused_and_leaves_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
