/* Person names and street addresses in free text. Neither has a checksum
 * or a distinctive format, so both are weak: a match counts only next to a
 * keyword ("name", "customer", "Mr", "address", "ship to") or under a key
 * that names it. Names are two or three capitalised words of which the
 * first or the last is in a lexicon generated at build time from Debian's
 * libtext-names-perl (the US census name lists; scripts/gen-names.pl); addresses are a
 * house number and a street type in one of the layouts Europe and North America use.
 * docs/rules.md states their measured precision and recall. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"

extern const char *const tg_name_lexicon[];
extern const size_t tg_name_lexicon_n;
extern const char *const tg_word_lexicon[];
extern const size_t tg_word_lexicon_n;

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* The length of an upper-case Latin letter at s[i] (ASCII, or U+00C0..U+017F
 * in UTF-8: "Á", "Ł", "Ö"), 0 if there is none. */
static size_t upper_at(const char *s, size_t n, size_t i)
{
    unsigned cp;

    if (i >= n)
        return 0;
    if (tg_isupper((unsigned char)s[i]))
        return 1;
    if (i + 1 >= n || ((unsigned char)s[i + 1] & 0xc0) != 0x80)
        return 0;
    cp = ((unsigned)((unsigned char)s[i] & 0x1f) << 6) | ((unsigned char)s[i + 1] & 0x3f);
    switch ((unsigned char)s[i]) {
    case 0xc3:
        return cp < 0xdf && cp != 0xd7 ? 2 : 0;
    case 0xc4:
    case 0xc5:
        /* Latin Extended-A pairs capital, small; from U+0139 to U+0148 and
         * from U+0179 the capital is the odd one */
        if ((cp >= 0x139 && cp <= 0x148) || cp >= 0x179)
            return cp & 1 && cp < 0x17f ? 2 : 0;
        return cp == 0x178 || (!(cp & 1) && cp != 0x138) ? 2 : 0;
    default:
        return 0;
    }
}

/* A capitalised word at i: an upper-case letter, then lower-case letters,
 * UTF-8 letters (bytes >= 0x80), or an inner ' or -. Returns its end, or
 * 0. */
static size_t cap_word(const char *s, size_t n, size_t i)
{
    size_t j = i + upper_at(s, n, i);

    if (j == i)
        return 0;
    while (j < n && j - i < 40) {
        unsigned char c = (unsigned char)s[j];
        if (tg_islower(c) || c >= 0x80)
            j++;
        else if ((c == '\'' || c == '-') && j + 1 < n &&
                 (tg_isalpha((unsigned char)s[j + 1]) || (unsigned char)s[j + 1] >= 0x80))
            j += 2; /* Müller-Schmidt, O'Brien */
        else
            break;
    }
    if (j - i < 2 || (j < n && tg_isalnum((unsigned char)s[j])))
        return 0;
    return j;
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

/* The ASCII letters a Latin letter of U+00C0..U+017F folds to ("ü" -> "u",
 * "ß" -> "ss", "ł" -> "l"), so "Jürgen" and "José" are looked up as
 * "jurgen" and "jose" (the census lists are ASCII); NULL for a code point
 * that is not a letter. */
static const char *fold_latin(unsigned cp)
{
    static const char l1[64][3] = {
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
        "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
        "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
    /* U+0100..U+017F: the first code point of each run and its letter */
    static const struct {
        unsigned short from;
        char to[3];
    } ext[] = {{0x100, "a"}, {0x106, "c"}, {0x10e, "d"},  {0x112, "e"},  {0x11c, "g"},
               {0x124, "h"}, {0x128, "i"}, {0x132, "ij"}, {0x134, "j"},  {0x136, "k"},
               {0x139, "l"}, {0x143, "n"}, {0x14c, "o"},  {0x152, "oe"}, {0x154, "r"},
               {0x15a, "s"}, {0x162, "t"}, {0x168, "u"},  {0x174, "w"},  {0x176, "y"},
               {0x179, "z"}, {0x17f, "s"}, {0x180, ""}};

    if (cp >= 0xc0 && cp < 0x100)
        return l1[cp - 0xc0][0] ? l1[cp - 0xc0] : NULL;
    if (cp < 0x100 || cp >= 0x180)
        return NULL;
    for (size_t k = 0; k + 1 < sizeof(ext) / sizeof(ext[0]); k++)
        if (cp < ext[k + 1].from)
            return ext[k].to;
    return NULL;
}

static int in_list(const char *const *list, size_t nlist, const char *s, size_t n)
{
    char buf[48];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *f;
        if (c < 0x80) {
            if (k + 1 >= sizeof(buf))
                return 0;
            buf[k++] = (char)tg_lower(c);
            continue;
        }
        if ((c & 0xe0) != 0xc0 || i + 1 >= n || ((unsigned char)s[i + 1] & 0xc0) != 0x80)
            return 0;
        f = fold_latin(((unsigned)(c & 0x1f) << 6) | ((unsigned char)s[++i] & 0x3f));
        if (!f || k + strlen(f) >= sizeof(buf))
            return 0;
        for (; *f; f++)
            buf[k++] = *f;
    }
    buf[k] = '\0';
    return bsearch(buf, list, nlist, sizeof(list[0]), cmp_name) != NULL;
}

/* Is a part of the word ("Plug-And-Play", "Müller-Schmidt") in the list? */
static int part_in(const char *const *list, size_t nlist, const char *s, size_t n)
{
    size_t a = 0;

    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == '-') {
            if (i > a && in_list(list, nlist, s + a, i - a))
                return 1;
            a = i + 1;
        }
    return 0;
}

/* Does a capitalised word other than a title ("Dr", "Herr") end at `end`? */
static int cap_before(const char *s, size_t n, size_t end)
{
    static const char *const titles[] = {
        "dr",   "mr", "mrs", "ms",   "miss",   "herr",    "frau", "prof", "mme",
        "mlle", "sr", "sra", "dear", "signor", "signora", "pan",  "pani", NULL};
    size_t a = end;

    while (a > 0 &&
           (tg_isalpha((unsigned char)s[a - 1]) || (unsigned char)s[a - 1] >= 0x80 ||
            s[a - 1] == '-' || s[a - 1] == '\''))
        a--;
    if (a == end || (a > 0 && tg_isalnum((unsigned char)s[a - 1])) ||
        cap_word(s, n, a) != end)
        return 0;
    for (int k = 0; titles[k]; k++)
        if (strlen(titles[k]) == end - a && !strncasecmp(s + a, titles[k], end - a))
            return 0;
    return 1;
}

/* Two or three capitalised words are a name when none of them is an
 * English word that is not also a name ("Grant Access", "Rich
 * Initiatives", "Payment Gateway" are not), and one of them is a census
 * name ("John Smith", "Maria Rossi") or, at the start of a capitalised
 * run, none is an English word at all ("Tilo Aumann"). */
static int name_words(const char *s, const size_t w[][2], size_t nw, int run_start)
{
    int anylex = 0;

    for (size_t k = 0; k < nw; k++) {
        const char *t = s + w[k][0];
        size_t n = w[k][1] - w[k][0];
        int lex = part_in(tg_name_lexicon, tg_name_lexicon_n, t, n);
        if (!lex && part_in(tg_word_lexicon, tg_word_lexicon_n, t, n))
            return 0;
        anylex |= lex;
    }
    return anylex || run_start;
}

/* Lower-case name particles allowed between capitalised words. */
static size_t particle(const char *s, size_t n, size_t i)
{
    static const char *const p[] = {"van", "von",   "de", "der", "den", "da",  "di",
                                    "del", "della", "la", "le",  "du",  "dos", "das",
                                    "ten", "ter",   "zu", "y",   NULL};
    if (i >= n || !tg_islower((unsigned char)s[i]))
        return 0;
    for (int k = 0; p[k]; k++) {
        size_t m;
        if (p[k][0] != s[i])
            continue;
        m = strlen(p[k]);
        if (i + m < n && !memcmp(s + i, p[k], m) && s[i + m] == ' ')
            return i + m + 1;
    }
    return 0;
}

static const char *const kw_name[] = {
    "name",      "customer", "patient",  "mr",        "mrs",       "ms",     "miss",
    "dr",        "herr",     "frau",     "mme",       "monsieur",  "madame", "sr",
    "sra",       "signor",   "signora",  "contact",   "recipient", "holder", "cardholder",
    "passenger", "guest",    "employee", "applicant", "signed",    "attn",   "dear",
    "kunde",     "nom",      "nombre",   "nome",      "naam",      "imie",   "imię",
    "nazwisko",  "surname",  "cliente",  "client",    "klient",    NULL};

static int det_person_name(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t w[3][2], nw = 0, i = in->pos, e;
    int run_start;

    if (in->pos > 0 && ((unsigned char)s[in->pos - 1] >= 0x80 || s[in->pos - 1] == '-' ||
                        s[in->pos - 1] == '\''))
        return 0;
    while (nw < 3 && (e = cap_word(s, in->n, i)) != 0) {
        w[nw][0] = i;
        w[nw][1] = e;
        nw++;
        if (e + 1 >= in->n || s[e] != ' ')
            break;
        i = e + 1;
        while ((e = particle(s, in->n, i)) != 0)
            i = e;
        if (!upper_at(s, in->n, i))
            break;
    }
    if (nw < 2)
        return 0;
    /* inside a capitalised run ("Integrated Disintermediate Middleware")
     * only a census name makes a name */
    run_start =
        !(in->pos >= 2 && s[in->pos - 1] == ' ' && cap_before(s, in->n, in->pos - 1));
    if (!name_words(s, (const size_t(*)[2])w, nw, run_start))
        return 0;
    hit->start = in->pos;
    hit->end = w[nw - 1][1];
    hit->weak = 1;
    return 1;
}

const tg_detector tg_det_person_name = {
    .name = "person_name",
    .summary = "person's name in free text: 2-3 capitalised words, first or last in the "
               "name lexicon, or none of them an English word (needs a keyword)",
    .validator =
        "lexicon of given and family names (libtext-names-perl: US census lists) and "
        "English words (wamerican), both at build time; Latin letters folded to ASCII",
    .first = UPPER,
    .need = TG_C_UP, /* "Jürgen": the run before the "ü" is one capital */
    .deny = TG_C_DIG,
    .min_run = 1,
    .max_run = 40,
    .keywords = kw_name,
    .match = det_person_name,
};

/* ---- street addresses ------------------------------------------------------------ */

static int word_ci(const char *s, size_t n, size_t i, const char *w, size_t *end)
{
    size_t m, j = 0;

    if (i >= n || tg_lower((unsigned char)s[i]) != (unsigned char)w[0])
        return 0; /* most words: one compare */
    m = strlen(w);

    if (i + m > n)
        return 0;
    while (j < m && tg_lower((unsigned char)s[i + j]) == (unsigned char)w[j])
        j++;
    if (j != m || (i + m < n && tg_isalpha((unsigned char)s[i + m])))
        return 0;
    *end = i + m;
    if (*end < n && s[*end] == '.')
        (*end)++;
    return 1;
}

/* Street types that follow the name ("Baker Street", "Main St.", "Gray
 * Plains"): the suffixes of USPS Publication 28 (appendix C1, a US
 * government list) and the British ones, any case ("2 Jack forges"). */
static const char *const after_types[] = {
    "street",     "st",       "streets",    "avenue",     "ave",        "road",
    "rd",         "roads",    "lane",       "ln",         "drive",      "dr",
    "drives",     "court",    "ct",         "courts",     "boulevard",  "blvd",
    "way",        "ways",     "place",      "pl",         "square",     "sq",
    "squares",    "terrace",  "crescent",   "close",      "parkway",    "pkwy",
    "parkways",   "highway",  "hwy",        "circle",     "circles",    "gardens",
    "garden",     "grove",    "groves",     "row",        "walk",       "walks",
    "hill",       "hills",    "mews",       "alley",      "anex",       "arcade",
    "bayou",      "beach",    "bend",       "bluff",      "bluffs",     "bottom",
    "branch",     "bridge",   "brook",      "brooks",     "burg",       "burgs",
    "bypass",     "camp",     "canyon",     "cape",       "causeway",   "center",
    "centers",    "cliff",    "cliffs",     "club",       "common",     "commons",
    "corner",     "corners",  "course",     "cove",       "coves",      "creek",
    "crest",      "crossing", "crossroad",  "crossroads", "curve",      "dale",
    "dam",        "divide",   "estate",     "estates",    "expressway", "extension",
    "extensions", "fall",     "falls",      "ferry",      "field",      "fields",
    "flat",       "flats",    "ford",       "fords",      "forest",     "forge",
    "forges",     "fork",     "forks",      "fort",       "freeway",    "gateway",
    "glen",       "glens",    "green",      "greens",     "harbor",     "harbors",
    "haven",      "heights",  "hollow",     "inlet",      "island",     "islands",
    "isle",       "junction", "junctions",  "key",        "keys",       "knoll",
    "knolls",     "lake",     "lakes",      "land",       "landing",    "light",
    "lights",     "loaf",     "lock",       "locks",      "lodge",      "loop",
    "mall",       "manor",    "manors",     "meadow",     "meadows",    "mill",
    "mills",      "mission",  "motorway",   "mount",      "mountain",   "mountains",
    "neck",       "orchard",  "oval",       "overpass",   "park",       "parks",
    "pass",       "passage",  "path",       "pike",       "pine",       "pines",
    "plain",      "plains",   "plaza",      "point",      "points",     "port",
    "ports",      "prairie",  "radial",     "ramp",       "ranch",      "rapid",
    "rapids",     "rest",     "ridge",      "ridges",     "river",      "route",
    "run",        "shoal",    "shoals",     "shore",      "shores",     "skyway",
    "spring",     "springs",  "spur",       "spurs",      "station",    "stravenue",
    "stream",     "summit",   "throughway", "trace",      "track",      "trafficway",
    "trail",      "trailer",  "tunnel",     "turnpike",   "underpass",  "union",
    "unions",     "valley",   "valleys",    "viaduct",    "view",       "views",
    "village",    "villages", "ville",      "vista",      "wall",       "well",
    "wells",      "heath",    "gate",       "wharf",      "yard",       "vale",
    "rise",       "hollow",   "bank",       NULL};

/* Is a leading street type at i? Sets *t past it. Only the types that
 * start with the byte at i are tried (the common case is none). */
static int lead_type(const char *s, size_t n, size_t i, size_t *t)
{
    size_t run = i;
    static const char *const by_letter[26] = {
        ['a' - 'a'] = "avenue av avenida avda al aleja acceso alameda allée",
        ['b' - 'a'] = "boulevard bd bulevardul borgo",
        ['c' - 'a'] =
            "chemin calle corso carrer c camino callejón cañada cuesta contrada "
            "canale cours",
        ['g' - 'a'] = "glorieta",
        ['i' - 'a'] = "impasse incrocio",
        ['l' - 'a'] = "largo",
        ['o' - 'a'] = "os osiedle",
        ['p' - 'a'] = "place paseo plaza piazza piazzale pasaje pasadizo pl plac passage",
        ['q' - 'a'] = "quai",
        ['r' - 'a'] = "rue rua rambla ronda rotonda route",
        ['s' - 'a'] = "strada stretto",
        ['t' - 'a'] = "travessa travesía",
        ['u' - 'a'] = "ul ulica urbanización",
        ['v' - 'a'] = "via viale vicolo vía",
    };
    unsigned char c = tg_lower((unsigned char)s[i]);
    const char *l;
    char w[16];

    if (c < 'a' || c > 'z' || !(l = by_letter[c - 'a']))
        return 0;
    while (run < n &&
           (tg_isalpha((unsigned char)s[run]) || (unsigned char)s[run] >= 0x80))
        run++;
    if (run - i > 14 || run >= n || (s[run] != ' ' && s[run] != '.'))
        return 0; /* a type is a short word before a space or a dot */
    while (*l) {
        size_t m = strcspn(l, " ");
        if (m == run - i && m < sizeof(w)) {
            memcpy(w, l, m);
            w[m] = '\0';
            if (word_ci(s, n, i, w, t))
                return 1;
        }
        l += m;
        while (*l == ' ')
            l++;
    }
    return 0;
}

/* Endings of one-word street names ("Hauptstraße", "Lindenweg"). */
static const char *const suffixes[] = {
    "straße", "strasse", "str.",     "weg",      "allee", "platz",     "gasse",  "ring",
    "damm",   "ufer",    "chaussee", "steig",    "pfad",  "markt",     "straat", "laan",
    "plein",  "gracht",  "kade",     "singel",   "dreef", "gatan",     "vägen",  "vej",
    "gade",   "veien",   "gata",     "katu",     "tie",   "utca",      "ulice",  "cesta",
    "baan",   "pad",     "hof",      "kwartier", "park",  "boulevard", "steeg",  "dijk",
    "haven",  "hoek",    "markt",    "berg",     "brug",  NULL};

static size_t house_number(const char *s, size_t n, size_t i)
{
    size_t j = i;

    while (j < n && j - i < 5 && tg_isdigit((unsigned char)s[j]))
        j++;
    if (j == i || (j < n && tg_isdigit((unsigned char)s[j])))
        return 0;
    if (j < n && tg_isalpha((unsigned char)s[j]) &&
        (j + 1 >= n || !tg_isalnum((unsigned char)s[j + 1])))
        j++; /* 12a */
    else if (j + 1 < n && s[j] == '/' && tg_isdigit((unsigned char)s[j + 1])) {
        j++; /* 62/43: house and flat */
        while (j < n && tg_isdigit((unsigned char)s[j]))
            j++;
    }
    if (j < n && tg_isalnum((unsigned char)s[j]))
        return 0;
    return j;
}

/* Name words of a street: capitalised words, or a few lower-case
 * connectors ("de la", "del"), up to four. Returns the end of the last
 * one, or 0. */
static size_t street_words(const char *s, size_t n, size_t i, unsigned *nwords)
{
    static const char *const conn[] = {"de",    "la", "le", "les", "du",  "des", "del",
                                       "della", "di", "do", "da",  "dos", NULL};
    size_t last = 0, e;

    *nwords = 0;
    while (*nwords < 5 && i < n) {
        int c = 0;
        if ((e = cap_word(s, n, i)) != 0) {
            last = e;
            (*nwords)++;
        } else {
            for (int k = 0; conn[k] && !c && tg_islower((unsigned char)s[i]); k++) {
                size_t m;
                if (conn[k][0] != s[i])
                    continue;
                m = strlen(conn[k]);
                if (i + m < n && !memcmp(s + i, conn[k], m) && s[i + m] == ' ')
                    c = 1, e = i + m;
            }
            if (!c)
                break;
        }
        if (e + 1 >= n || s[e] != ' ')
            break;
        i = e + 1;
    }
    return *nwords ? last : 0;
}

static int det_street(const tg_det_in *in, tg_det_hit *hit)
{
    const char *s = in->s;
    size_t n = in->n, i = in->pos, e, t;
    unsigned nw;

    if (tg_isdigit((unsigned char)s[i])) {
        /* "221B Baker Street", "12 rue de la Paix", "12, rue de la Paix" */
        if ((e = house_number(s, n, i)) != 0 && e + 2 < n && s[e] == ',' &&
            s[e + 1] == ' ')
            e++;
        if (!e || e + 1 >= n || s[e] != ' ' || !tg_isalpha((unsigned char)s[e + 1]))
            return 0;
        i = e + 1;
        if (lead_type(s, n, i, &t) && t + 1 < n && s[t] == ' ' &&
            (e = street_words(s, n, t + 1, &nw)) != 0) {
            hit->start = in->pos;
            hit->end = e;
            hit->weak = 1;
            return 1;
        }
        if (!(e = street_words(s, n, i, &nw)))
            return 0;
        /* a later capitalised word is the type ("Ramos Street Apt. 118"),
         * or the type follows ("2 Jack forges") */
        for (size_t ws = i + 1; ws <= e + 1 && ws < n; ws++) {
            if (s[ws - 1] != ' ' || (ws <= e && !tg_isupper((unsigned char)s[ws])))
                continue;
            for (int k = 0; after_types[k]; k++)
                if (word_ci(s, n, ws, after_types[k], &t)) {
                    hit->start = in->pos;
                    hit->end = t;
                    hit->weak = 1;
                    return 1;
                }
        }
        return 0;
    }
    if (tg_islower((unsigned char)s[i]) && in->run_end - in->pos > 10)
        return 0; /* no leading street type is that long */
    /* "Via Roma 12", "ul. Długa 5", "Calle Mayor 7" */
    if (lead_type(s, n, i, &t) && t + 1 < n && s[t] == ' ' &&
        (e = street_words(s, n, t + 1, &nw)) != 0 && e + 1 < n &&
        (s[e] == ' ' || s[e] == ',') &&
        (t = house_number(s, n, e + 1 + (s[e] == ',' && s[e + 1] == ' '))) != 0) {
        hit->start = in->pos;
        hit->end = t;
        hit->weak = 1;
        return 1;
    }
    /* "Hauptstraße 12", "Kaiser-Wilhelm-Str. 5a", "Keizersgracht 123" */
    if (!tg_isupper((unsigned char)s[i]))
        return 0;
    {
        size_t we = i;
        while (we < n && we - i < 48 &&
               (tg_isalpha((unsigned char)s[we]) || (unsigned char)s[we] >= 0x80 ||
                s[we] == '-' || s[we] == '.'))
            we++;
        if (we + 1 >= n || s[we] != ' ' || !tg_isdigit((unsigned char)s[we + 1]))
            return 0; /* a house number must follow */
        for (int k = 0; suffixes[k]; k++) {
            size_t m = strlen(suffixes[k]), j = 0;
            if (we - i <= m)
                continue;
            while (j < m && tg_lower((unsigned char)s[we - m + j]) ==
                                (unsigned char)suffixes[k][j])
                j++;
            if (j == m && we + 1 < n && s[we] == ' ' &&
                (t = house_number(s, n, we + 1)) != 0) {
                hit->start = in->pos;
                hit->end = t;
                hit->weak = 1;
                return 1;
            }
        }
    }
    return 0;
}

static const char *const kw_address[] = {
    "address",   "addr",       "street",    "ship to",   "shipping", "billing",
    "deliver",   "delivery",   "adresse",   "anschrift", "wohnhaft", "dirección",
    "direccion", "domicilio",  "indirizzo", "residenza", "adres",    "adresa",
    "lives at",  "located at", "resides",   "home",      "postal",   "mailing",
    "straße",    "ul.",        NULL};

const tg_detector tg_det_street_address = {
    .name = "street_address",
    .summary = "street address in free text: house number and street type in European "
               "and North American layouts (needs a keyword)",
    .validator = "house number (12, 12a, 62/43) + street type: USPS suffixes (Street, "
                 "Pike, Plains ...), leading types (rue, Via, Calle, ul. ...), one-word "
                 "endings (-straße, -weg, -straat, -baan ...)",
    .first = DIGITS UPPER "abcgiopqrstuv", /* lower case: a leading street type */
    .min_run = 1,
    .max_run = 48,
    .keywords = kw_address,
    .match = det_street,
};
