#include "tg_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *tg_strerror(int err)
{
    switch (err) {
    case TG_OK:
        return "success";
#define TG_ERR_CASE(name, msg)                                                           \
    case TG_E##name:                                                                     \
        return msg;
        TG_ERR_MAP(TG_ERR_CASE)
#undef TG_ERR_CASE
    default:
        return "unknown error";
    }
}

const char *tg_err_name(int err)
{
    switch (err) {
    case TG_OK:
        return "TG_OK";
#define TG_ERR_NAME(name, msg)                                                           \
    case TG_E##name:                                                                     \
        return "TG_E" #name;
        TG_ERR_MAP(TG_ERR_NAME)
#undef TG_ERR_NAME
    default:
        return "TG_E?";
    }
}

int tg_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
