/* OTLP/JSON, driven by protobuf-c descriptors.
 *
 * Decoding parses the text with jansson, then walks the JSON tree and the
 * message descriptor together, allocating the message in the caller's
 * arena. jansson rejects invalid UTF-8; it is asked to accept \u0000 so
 * that the decoder, not the parser, refuses a string holding NUL, with the
 * field's path and in the same words as the protobuf decoder (jansson's own
 * message names its flag).
 *
 * jansson keeps no positions for values, only for syntax errors. When a
 * value has the wrong type we know its path (resourceSpans[0].…), so a
 * small scanner walks the text along that path to find its line and
 * column: the client gets both. Neither error form quotes the value. */
#include "tg_otlp_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_otlp.h"
#include "tg_otlp_int.h"
#include "tg_strbuf.h"

/* ---- names -------------------------------------------------------------- */

const char *tg_otlp__json_name(const char *proto_name, char *buf, size_t len)
{
    size_t o = 0;
    int upper = 0;

    if (len == 0)
        return buf;
    for (const char *p = proto_name; *p && o + 1 < len; p++) {
        if (*p == '_') {
            upper = o > 0;
            continue;
        }
        buf[o++] = (upper && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        upper = 0;
    }
    buf[o] = '\0';
    return buf;
}

/* `key` names field `snake` in either spelling: "time_unix_nano" or
 * "timeUnixNano". */
static int name_matches(const char *snake, const char *key)
{
    const char *s = snake, *k = key;

    if (strcmp(snake, key) == 0)
        return 1;
    while (*s) {
        if (*s == '_' && s != snake && s[1]) {
            s++;
            char want = (*s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
            if (*k != want)
                return 0;
        } else if (*k != *s) {
            return 0;
        }
        s++;
        k++;
    }
    return *k == '\0';
}

int tg_otlp__is_hex_id(const ProtobufCFieldDescriptor *f, size_t *len)
{
    if (f->type != PROTOBUF_C_TYPE_BYTES)
        return 0;
    if (strcmp(f->name, "trace_id") == 0) {
        *len = 16;
        return 1;
    }
    if (strcmp(f->name, "span_id") == 0 || strcmp(f->name, "parent_span_id") == 0) {
        *len = 8;
        return 1;
    }
    return 0;
}

static size_t type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default: /* 32-bit integers, enums (int-sized in protobuf-c), float */
        return 4;
    }
}

/* ---- locating a path in the text ---------------------------------------- */

typedef struct jstep {
    const char *key; /* NULL for an array index */
    size_t index;
} jstep;

static size_t skip_ws(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* `i` at the opening quote; returns the index after the closing quote. */
static size_t skip_string(const char *t, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return n;
}

static size_t skip_value(const char *t, size_t n, size_t i)
{
    int depth = 0;

    i = skip_ws(t, n, i);
    if (i >= n)
        return n;
    if (t[i] == '"')
        return skip_string(t, n, i);
    if (t[i] != '{' && t[i] != '[') {
        /* number, true, false, null */
        while (i < n && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' &&
               t[i] != '\t' && t[i] != '\n' && t[i] != '\r')
            i++;
        return i;
    }
    while (i < n) {
        char c = t[i];
        if (c == '"') {
            i = skip_string(t, n, i);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return n;
}

/* Does the JSON string at t[i] (opening quote) equal `key`? Escapes that
 * can spell ASCII are decoded; anything fancier simply does not match. */
static int key_equals(const char *t, size_t n, size_t i, const char *key)
{
    size_t k = 0;

    for (i++; i < n && t[i] != '"'; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\\' && i + 1 < n) {
            char e = t[++i];
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned v = 0;
                for (int d = 0; d < 4; d++) {
                    int h = i + 1 < n ? tg_hex_digit((unsigned char)t[++i]) : -1;
                    if (h < 0)
                        return 0;
                    v = v << 4 | (unsigned)h;
                }
                if (v >= 0x80)
                    return 0;
                c = (unsigned char)v;
                break;
            }
            default:
                c = (unsigned char)e;
                break;
            }
        }
        if ((unsigned char)key[k] != c)
            return 0;
        k++;
    }
    return key[k] == '\0';
}

/* Offset of the value at `path` in the text, or of the deepest ancestor
 * found. The text is known to be valid JSON (jansson parsed it). Duplicate
 * keys resolve to the last occurrence, as in jansson. */
static size_t locate(const char *t, size_t n, const jstep *path, int npath)
{
    size_t i = skip_ws(t, n, 0);

    for (int s = 0; s < npath && i < n; s++) {
        if (path[s].key) {
            size_t found = SIZE_MAX;
            if (t[i] != '{')
                return i;
            i = skip_ws(t, n, i + 1);
            while (i < n && t[i] == '"') {
                int match = key_equals(t, n, i, path[s].key);
                i = skip_ws(t, n, skip_string(t, n, i));
                if (i < n && t[i] == ':')
                    i = skip_ws(t, n, i + 1);
                if (match)
                    found = i;
                i = skip_ws(t, n, skip_value(t, n, i));
                if (i < n && t[i] == ',')
                    i = skip_ws(t, n, i + 1);
            }
            if (found == SIZE_MAX)
                return i;
            i = found;
        } else {
            if (t[i] != '[')
                return i;
            i = skip_ws(t, n, i + 1);
            for (size_t k = 0; k < path[s].index && i < n; k++) {
                i = skip_ws(t, n, skip_value(t, n, i));
                if (i < n && t[i] == ',')
                    i = skip_ws(t, n, i + 1);
            }
        }
    }
    return i;
}

static void line_col(const char *t, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (t[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)t[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/* ---- decoding ----------------------------------------------------------- */

#define JPATH_MAX (2 * TG_OTLP_MAX_DEPTH + 8)

typedef struct jdec {
    tg_arena *arena;
    const char *text;
    size_t textlen;
    char *err;
    size_t errlen;
    int depth; /* message nesting */
    int npath;
    jstep path[JPATH_MAX];
} jdec;

static int jfail(jdec *jd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int jfail(jdec *jd, const char *fmt, ...)
{
    char reason[128], where[256];
    size_t o = 0;
    int line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    where[0] = '\0';
    for (int i = 0; i < jd->npath && o < sizeof(where); i++) {
        int w;
        if (jd->path[i].key)
            w = snprintf(where + o, sizeof(where) - o, "%s%s", i ? "." : "",
                         jd->path[i].key);
        else
            w = snprintf(where + o, sizeof(where) - o, "[%zu]", jd->path[i].index);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    line_col(jd->text, locate(jd->text, jd->textlen, jd->path, jd->npath), &line, &col);
    if (jd->err && jd->errlen)
        snprintf(jd->err, jd->errlen, "line %d, column %d: %s%s%s", line, col, where,
                 where[0] ? ": " : "", reason);
    return TG_EPARSE;
}

static int jnomem(jdec *jd, size_t size)
{
    const tg_arena *a = jd->arena;
    int rc = TG_ENOMEM;

    if (a->limit && (size >= a->limit || a->used_total >= a->limit - size))
        rc = TG_ETOO_BIG;
    if (jd->err && jd->errlen)
        snprintf(jd->err, jd->errlen, "decoded request exceeds the %s",
                 rc == TG_ETOO_BIG ? "per-request memory limit" : "available memory");
    return rc;
}

static void *jalloc(jdec *jd, size_t size)
{
    return tg_arena_alloc(jd->arena, size);
}

static int push_key(jdec *jd, const char *key)
{
    if (jd->npath >= JPATH_MAX)
        return -1;
    jd->path[jd->npath].key = key;
    jd->path[jd->npath].index = 0;
    jd->npath++;
    return 0;
}

static int push_index(jdec *jd, size_t index)
{
    if (jd->npath >= JPATH_MAX)
        return -1;
    jd->path[jd->npath].key = NULL;
    jd->path[jd->npath].index = index;
    jd->npath++;
    return 0;
}

/* Decimal digits with an optional sign, nothing else: strtoll alone would
 * accept leading blanks, "+", hex and trailing junk. */
static int decimal_text(const char *s, size_t len, int allow_minus)
{
    size_t i = 0;

    if (len && s[0] == '-' && allow_minus)
        i = 1;
    if (i == len || len > 24)
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int get_i64(jdec *jd, json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t x;

    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
            return jfail(jd, "expected an integer");
        x = (int64_t)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!decimal_text(s, json_string_length(v), 1))
            return jfail(jd, "expected an integer");
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno == ERANGE)
            return jfail(jd, "integer out of range");
    } else {
        return jfail(jd, "expected an integer");
    }
    if (x < lo || x > hi)
        return jfail(jd, "integer out of range");
    *out = x;
    return 0;
}

static int get_u64(jdec *jd, json_t *v, uint64_t hi, uint64_t *out)
{
    uint64_t x;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return jfail(jd, "integer out of range");
        x = (uint64_t)i;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < 0 || d >= 18446744073709551616.0)
            return jfail(jd, "expected an unsigned integer");
        x = (uint64_t)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!decimal_text(s, json_string_length(v), 0))
            return jfail(jd, "expected an unsigned integer");
        errno = 0;
        x = strtoull(s, &end, 10);
        if (errno == ERANGE)
            return jfail(jd, "integer out of range");
    } else {
        return jfail(jd, "expected an unsigned integer");
    }
    if (x > hi)
        return jfail(jd, "integer out of range");
    *out = x;
    return 0;
}

static int get_double(jdec *jd, json_t *v, double *out)
{
    const char *s;
    size_t len;
    char *end;

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return jfail(jd, "expected a number");
    s = json_string_value(v);
    len = json_string_length(v);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return 0;
    }
    /* A number in a string, as proto3 JSON allows; strtod's hex, "inf" and
     * blanks are not JSON numbers. */
    if (len == 0 || len > 64 || strspn(s, "0123456789+-.eE") != len)
        return jfail(jd, "expected a number");
    errno = 0;
    *out = strtod(s, &end);
    if (end != s + len || errno == ERANGE)
        return jfail(jd, "expected a number");
    return 0;
}

static int dec_bytes(jdec *jd, const ProtobufCFieldDescriptor *f, json_t *v,
                     ProtobufCBinaryData *out)
{
    const char *s;
    size_t len, idlen;
    long n;

    if (!json_is_string(v))
        return jfail(jd, "expected a string");
    s = json_string_value(v);
    len = json_string_length(v);
    out->len = 0;
    out->data = NULL;
    if (len == 0)
        return 0;
    if (tg_otlp__is_hex_id(f, &idlen)) {
        if (len != 2 * idlen)
            return jfail(jd, "expected %zu hex digits", 2 * idlen);
        out->data = jalloc(jd, idlen);
        if (!out->data)
            return jnomem(jd, idlen);
        if (tg_hex_decode(s, len, out->data, idlen) < 0)
            return jfail(jd, "expected %zu hex digits", 2 * idlen);
        out->len = idlen;
        return 0;
    }
    out->data = jalloc(jd, tg_base64_decoded_max(len));
    if (!out->data)
        return jnomem(jd, tg_base64_decoded_max(len));
    n = tg_base64_decode(s, len, out->data, tg_base64_decoded_max(len));
    if (n < 0)
        return jfail(jd, "invalid base64");
    out->len = (size_t)n;
    return 0;
}

static int dec_enum(jdec *jd, const ProtobufCFieldDescriptor *f, json_t *v, int *out)
{
    int64_t x;

    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            memchr(json_string_value(v), 0, json_string_length(v))
                ? NULL
                : protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
                                                               json_string_value(v));
        if (ev) {
            *out = ev->value;
            return 0;
        }
        /* Fall through: a number spelled as a string. */
        if (!decimal_text(json_string_value(v), json_string_length(v), 1))
            return jfail(jd, "unknown %s value",
                         ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
    }
    if (get_i64(jd, v, INT32_MIN, INT32_MAX, &x))
        return TG_EPARSE;
    *out = (int)x;
    return 0;
}

static int dec_message(jdec *jd, const ProtobufCMessageDescriptor *d, json_t *obj,
                       ProtobufCMessage **out);

/* One value of field `f` (a singular field, or one array element) into
 * `dst`. */
static int dec_value(jdec *jd, const ProtobufCFieldDescriptor *f, json_t *v, void *dst)
{
    int64_t i;
    uint64_t u;
    double d;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (get_i64(jd, v, INT32_MIN, INT32_MAX, &i))
            return TG_EPARSE;
        *(int32_t *)dst = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (get_u64(jd, v, UINT32_MAX, &u))
            return TG_EPARSE;
        *(uint32_t *)dst = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (get_i64(jd, v, INT64_MIN, INT64_MAX, &i))
            return TG_EPARSE;
        *(int64_t *)dst = i;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (get_u64(jd, v, UINT64_MAX, &u))
            return TG_EPARSE;
        *(uint64_t *)dst = u;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (get_double(jd, v, &d))
            return TG_EPARSE;
        *(float *)dst = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (get_double(jd, v, &d))
            return TG_EPARSE;
        *(double *)dst = d;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return jfail(jd, "expected true or false");
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return dec_enum(jd, f, v, (int *)dst);
    case PROTOBUF_C_TYPE_STRING: {
        size_t len;
        char *s;
        if (!json_is_string(v))
            return jfail(jd, "expected a string");
        len = json_string_length(v);
        if (memchr(json_string_value(v), 0, len))
            return jfail(jd, "a string holds a NUL character (U+0000), which is not "
                             "accepted");
        /* jansson guarantees it; a string field must never hold less. */
        if (!tg_utf8_valid(json_string_value(v), len))
            return jfail(jd, "invalid UTF-8");
        s = tg_arena_strndup(jd->arena, json_string_value(v), len);
        if (!s)
            return jnomem(jd, len + 1);
        *(char **)dst = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return dec_bytes(jd, f, v, (ProtobufCBinaryData *)dst);
    case PROTOBUF_C_TYPE_MESSAGE:
        return dec_message(jd, f->descriptor, v, (ProtobufCMessage **)dst);
    }
    return jfail(jd, "unsupported field type");
}

static int dec_field(jdec *jd, const ProtobufCFieldDescriptor *f, json_t *v,
                     ProtobufCMessage *m)
{
    char *base = (char *)m;
    int rc;

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n, esz = type_size(f->type);
        char *arr = NULL;
        if (!json_is_array(v))
            return jfail(jd, "expected an array");
        n = json_array_size(v);
        if (n) {
            arr = jalloc(jd, n * esz);
            if (!arr)
                return jnomem(jd, n * esz);
            memset(arr, 0, n * esz);
        }
        for (size_t k = 0; k < n; k++) {
            if (push_index(jd, k))
                return jfail(jd, "nested too deeply");
            rc = dec_value(jd, f, json_array_get(v, k), arr + k * esz);
            if (rc)
                return rc;
            jd->npath--;
        }
        *(size_t *)(base + f->quantifier_offset) = n;
        *(void **)(base + f->offset) = arr;
        return 0;
    }
    rc = dec_value(jd, f, v, base + f->offset);
    if (rc)
        return rc;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

static int dec_message(jdec *jd, const ProtobufCMessageDescriptor *d, json_t *obj,
                       ProtobufCMessage **out)
{
    ProtobufCMessage *m;
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(obj))
        return jfail(jd, "expected an object");
    if (jd->depth > TG_OTLP_MAX_DEPTH)
        return jfail(jd, "messages nested deeper than %d levels", TG_OTLP_MAX_DEPTH);
    m = jalloc(jd, d->sizeof_message);
    if (!m)
        return jnomem(jd, d->sizeof_message);
    protobuf_c_message_init(d, m);
    jd->depth++;
    json_object_foreach(obj, key, v)
    {
        const ProtobufCFieldDescriptor *f = NULL;
        if (json_is_null(v))
            continue;
        for (unsigned i = 0; i < d->n_fields; i++) {
            if (name_matches(d->fields[i].name, key)) {
                f = &d->fields[i];
                break;
            }
        }
        if (!f)
            continue; /* unknown fields are ignored, as OTLP requires */
        if (push_key(jd, key))
            return jfail(jd, "nested too deeply");
        rc = dec_field(jd, f, v, m);
        if (rc)
            return rc;
        jd->npath--;
    }
    jd->depth--;
    *out = m;
    return 0;
}

/* jansson appends "near '<token>'" to syntax errors; the token may be a
 * telemetry value, so it is cut off. */
static void syntax_error(const json_error_t *e, char *err, size_t errlen)
{
    char text[JSON_ERROR_TEXT_LENGTH];
    char *near;

    snprintf(text, sizeof(text), "%s", e->text);
    near = strstr(text, " near ");
    if (near && strncmp(near, " near end of file", 17) != 0)
        *near = '\0';
    if (err && errlen)
        snprintf(err, errlen, "line %d, column %d: %s", e->line, e->column, text);
}

int tg_otlp__json_decode(const ProtobufCMessageDescriptor *desc, const char *json,
                         size_t len, tg_arena *arena, ProtobufCMessage **out, char *err,
                         size_t errlen)
{
    json_error_t e;
    json_t *root;
    jdec *jd;
    int rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    root = json_loadb(json, len, JSON_ALLOW_NUL, &e);
    if (!root) {
        if (json_error_code(&e) == json_error_out_of_memory) {
            snprintf(err, errlen, "out of memory parsing JSON");
            return TG_ENOMEM;
        }
        syntax_error(&e, err, errlen);
        return json_error_code(&e) == json_error_invalid_utf8 ? TG_EUTF8 : TG_EPARSE;
    }
    jd = tg_arena_calloc(arena, sizeof(*jd));
    if (!jd) {
        json_decref(root);
        if (err && errlen)
            snprintf(err, errlen, "decoded request exceeds the per-request memory limit");
        return TG_ETOO_BIG;
    }
    jd->arena = arena;
    jd->text = json;
    jd->textlen = len;
    jd->err = err;
    jd->errlen = errlen;
    rc = dec_message(jd, desc, root, out);
    json_decref(root);
    if (rc)
        *out = NULL;
    return rc;
}

ProtobufCMessage *tg_otlp_json_decode(const ProtobufCMessageDescriptor *desc,
                                      const char *json, size_t len, tg_arena *arena,
                                      char *err, size_t errlen)
{
    ProtobufCMessage *m;

    if (!desc || !json || !arena) {
        if (err && errlen)
            snprintf(err, errlen, "invalid arguments");
        return NULL;
    }
    if (tg_otlp__json_decode(desc, json, len, arena, &m, err, errlen))
        return NULL;
    return m;
}

/* ---- encoding ----------------------------------------------------------- */

static int nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 1;
    return 0;
}

/* proto3 presence: repeated fields when non-empty, oneof members when
 * selected (even at their default), other fields when not the default. */
static int field_present(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
    const char *base = (const char *)m;
    const void *member = base + f->offset;

    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)(base + f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            return s != NULL && s != f->default_value;
        return s != NULL && (f->label == PROTOBUF_C_LABEL_REQUIRED || s[0] != '\0');
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)member != NULL;
    default:
        break;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    if (f->type == PROTOBUF_C_TYPE_BYTES)
        return ((const ProtobufCBinaryData *)member)->len > 0;
    return nonzero(member, type_size(f->type));
}

static json_t *enc_double(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* A string field that is not valid UTF-8 (a message built in memory, not
 * decoded) is emitted with U+FFFD for each bad byte rather than failing
 * the whole document. */
static json_t *enc_string(const char *s)
{
    size_t len = strlen(s), o;
    char *fixed;
    json_t *j;

    if (tg_utf8_valid(s, len))
        return json_stringn_nocheck(s, len);
    fixed = malloc(3 * len + 1);
    if (!fixed)
        return NULL;
    o = tg_utf8_sanitize(s, len, "\xEF\xBF\xBD", fixed);
    j = json_stringn_nocheck(fixed, o);
    free(fixed);
    return j;
}

static json_t *enc_bytes(const ProtobufCFieldDescriptor *f, const ProtobufCBinaryData *b)
{
    size_t idlen, n;
    char *s;
    json_t *j;

    if (tg_otlp__is_hex_id(f, &idlen)) {
        s = malloc(2 * b->len + 1);
        if (!s)
            return NULL;
        tg_hex_encode(b->data, b->len, s);
        n = 2 * b->len;
    } else {
        s = malloc(tg_base64_encoded_len(b->len) + 1);
        if (!s)
            return NULL;
        n = tg_base64_encode(b->data, b->len, s);
    }
    j = json_stringn_nocheck(s, n);
    free(s);
    return j;
}

static json_t *enc_message(const ProtobufCMessage *m);

static json_t *enc_value(const ProtobufCFieldDescriptor *f, const void *p)
{
    char num[24];

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return json_integer(*(const int *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(num, sizeof(num), "%" PRId64, *(const int64_t *)p);
        return json_string(num);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(num, sizeof(num), "%" PRIu64, *(const uint64_t *)p);
        return json_string(num);
    case PROTOBUF_C_TYPE_FLOAT:
        return enc_double(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return enc_double(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_STRING:
        return enc_string(*(char *const *)p ? *(char *const *)p : "");
    case PROTOBUF_C_TYPE_BYTES:
        return enc_bytes(f, (const ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p ? enc_message(*(ProtobufCMessage *const *)p)
                                             : json_object();
    }
    return NULL;
}

static json_t *enc_message(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *obj = json_object();

    if (!obj)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *member = (const char *)m + f->offset;
        char name[64];
        json_t *v;

        if (!field_present(f, m))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(char *const *)member;
            size_t esz = type_size(f->type);
            v = json_array();
            for (size_t k = 0; v && k < n; k++) {
                if (json_array_append_new(v, enc_value(f, arr + k * esz))) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else {
            v = enc_value(f, member);
        }
        if (!v || json_object_set_new(
                      obj, tg_otlp__json_name(f->name, name, sizeof(name)), v)) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *tg_otlp_json_from_message(const ProtobufCMessage *msg)
{
    return msg ? enc_message(msg) : NULL;
}

/* json_dump_callback's sink. */
static int sink_append(const char *buf, size_t size, void *data)
{
    tg_strbuf *b = data;

    tg_strbuf_put(b, buf, size);
    return b->oom ? -1 : 0;
}

char *tg_otlp_json_encode(const ProtobufCMessage *msg, size_t *len)
{
    json_t *j = tg_otlp_json_from_message(msg);
    tg_strbuf b = {0};

    if (!j)
        return NULL;
    if (json_dump_callback(j, sink_append, &b, JSON_COMPACT) != 0 || b.oom || !b.p) {
        json_decref(j);
        free(b.p);
        return NULL;
    }
    json_decref(j);
    if (len)
        *len = b.len;
    return b.p;
}
