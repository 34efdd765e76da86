// libphonenumber behind tg_phonelib.h (see there for the contract).
#include "tg_phonelib.h"

#include <phonenumbers/phonenumberutil.h>

#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace
{

// Tried in this order when the site's country is unknown.
const char *const kFallback[] = {
    "DE", "FR", "GB", "ES", "IT", "PL", "NL", "BE", "SE", "NO", "DK",
    "FI", "IE", "PT", "AT", "CH", "CZ", "SK", "HU", "RO", "BG", "GR",
    "HR", "SI", "EE", "LV", "LT", "LU", "US", "CA", "MX", "BR", "AR",
    "IN", "JP", "KR", "CN", "AU", "NZ", "ZA", "TR", "IL", "SG", "AE",
};

bool valid_in(const PhoneNumberUtil *u, const std::string &text, const char *region)
{
    PhoneNumber pn;
    if (u->Parse(text, region, &pn) != PhoneNumberUtil::NO_PARSING_ERROR)
        return false;
    return u->IsValidNumber(pn);
}

} // namespace

extern "C" int tg_phonelib_valid(const char *s, size_t n, const char *region)
{
    if (!s || n == 0 || n > 64)
        return 0;
    try {
        const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
        std::string text(s, n);
        if (text[0] == '+')
            return valid_in(u, text, "ZZ") ? 1 : 0;
        if (region && region[0])
            return valid_in(u, text, region) ? 1 : 0;
        for (const char *r : kFallback)
            if (valid_in(u, text, r))
                return 1;
    } catch (...) {
        // an allocation failure: not a finding we can vouch for
    }
    return 0;
}

