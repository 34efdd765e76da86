/* Clocks shared by every part: the one place a clock is read. */
#ifndef TG_TIME_H
#define TG_TIME_H

#include <stdint.h>
#include <time.h>

/* Monotonic clock, nanoseconds: for durations, never for timestamps. */
uint64_t tg_mono_ns(void);

/* Wall clock (CLOCK_REALTIME), nanoseconds since the Unix epoch: for
 * timestamps, retention ages and anything compared with another host's
 * time; it can step, so never for durations. */
uint64_t tg_wall_ns(void);

/* The wall-clock instant `ms` milliseconds from now, as
 * pthread_cond_timedwait wants it for a condition variable created with
 * default attributes (which waits on CLOCK_REALTIME). */
void tg_wall_deadline(struct timespec *ts, uint64_t ms);

#endif
