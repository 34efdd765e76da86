#include "tg_err.h"

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
