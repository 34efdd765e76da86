/* tg_time: the one monotonic and the one wall clock, and the deadline the
 * forwarder, the sender and the centre's retention thread wait on. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "tg_time.h"

#define NS 1000000000ull

static void test_wall_is_unix_time(void **state)
{
    uint64_t before = (uint64_t)time(NULL), w = tg_wall_ns(),
             after = (uint64_t)time(NULL);

    (void)state;
    assert_true(w / NS >= before);
    /* time() reads the kernel's coarse clock, which may still show the
     * last second for a tick after CLOCK_REALTIME has turned over. */
    assert_true(w / NS <= after + 1);
    /* nanoseconds, not micro- or milliseconds: after 2020 and before 2100 */
    assert_true(w > 1577836800ull * NS);
    assert_true(w < 4102444800ull * NS);
}

static void test_mono_does_not_go_back(void **state)
{
    uint64_t a = tg_mono_ns(), b = tg_mono_ns();

    (void)state;
    assert_true(b >= a);
}

static void test_deadline(void **state)
{
    static const uint64_t ms[] = {0, 1, 999, 1000, 1500, 61001};

    (void)state;
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        struct timespec ts;
        uint64_t before = tg_wall_ns(), at;
        tg_wall_deadline(&ts, ms[i]);
        assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
        at = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
        assert_true(at >= before + ms[i] * 1000000u);
        assert_true(at <= tg_wall_ns() + ms[i] * 1000000u);
    }
}

static void test_deadline_waits(void **state)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct timespec ts;
    uint64_t t0 = tg_mono_ns();
    int rc;

    (void)state;
    tg_wall_deadline(&ts, 30);
    pthread_mutex_lock(&mu);
    do
        rc = pthread_cond_timedwait(&cv, &mu, &ts);
    while (rc == 0);
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(tg_mono_ns() - t0 >= 25 * 1000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall_is_unix_time),
        cmocka_unit_test(test_mono_does_not_go_back),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_deadline_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
