#include "tg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tg_time.h"

static enum tg_log_level min_level = TG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tg_log_set_level(enum tg_log_level level)
{
    min_level = level;
}

const char *const tg_log_level_names[] = {"debug", "info", "warn", "error", NULL};

void tg_log_set_level_name(const char *name)
{
    for (int l = TG_LOG_DEBUG; l <= TG_LOG_ERROR; l++)
        if (strcmp(name, tg_log_level_names[l]) == 0) {
            tg_log_set_level((enum tg_log_level)l);
            return;
        }
    tg_log_set_level(TG_LOG_INFO);
}

void tg_log(enum tg_log_level level, const char *msg, const char *fmt, ...)
{
    char line[1024];
    uint64_t now = tg_wall_ns();
    time_t secs = (time_t)(now / 1000000000u);
    struct tm tm;
    int n;
    va_list ap;

    if (level < min_level)
        return;
    gmtime_r(&secs, &tm);
    n = snprintf(line, sizeof(line),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (long)(now % 1000000000u / 1000000), level_names[level], msg);
    if (n < 0)
        return;
    if (fmt && fmt[0] && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* One fputs per line: lines from different threads do not interleave. */
    fprintf(stderr, "%s\n", line);
}
