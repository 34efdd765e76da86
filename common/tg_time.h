/* Clocks shared by every part. */
#ifndef TG_TIME_H
#define TG_TIME_H

#include <stdint.h>

/* Monotonic clock, nanoseconds: for durations, never for timestamps. */
uint64_t tg_mono_ns(void);

#endif
