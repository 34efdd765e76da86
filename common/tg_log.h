/* Structured logging: one line per event, logfmt (`ts=… level=… msg=…
 * key=value …`) on stderr.
 *
 * Contract: callers pass only operational facts (sizes, counts, addresses,
 * error names). Telemetry values (attribute values, span names, log bodies)
 * must never be logged: they may be regulated data. */
#ifndef TG_LOG_H
#define TG_LOG_H

enum tg_log_level { TG_LOG_DEBUG, TG_LOG_INFO, TG_LOG_WARN, TG_LOG_ERROR };

void tg_log_set_level(enum tg_log_level level);

/* The levels' names in order, NULL-terminated: the config tables' choices. */
extern const char *const tg_log_level_names[];

/* Sets the level by its config name ("debug", "info", "warn", "error";
 * anything else is info: the config tables have already refused it). */
void tg_log_set_level_name(const char *name);

/* `fmt` formats the key=value tail after msg=; `msg` is a fixed string. */
void tg_log(enum tg_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tg_debug(msg, ...) tg_log(TG_LOG_DEBUG, msg, __VA_ARGS__)
#define tg_info(msg, ...) tg_log(TG_LOG_INFO, msg, __VA_ARGS__)
#define tg_warn(msg, ...) tg_log(TG_LOG_WARN, msg, __VA_ARGS__)
#define tg_error(msg, ...) tg_log(TG_LOG_ERROR, msg, __VA_ARGS__)

#endif
