/* Key files for the log and the witness. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "audit_internal.h"
#include "tg_audit_keys.h"
#include "tg_codec.h"
#include "tg_err.h"

static const char key_prefix[] = "PRIVATE+KEY+";
#define KEY_FILE_MAX 1024

int tg_audit_keys_parse(const char *text, size_t len, tg_audit_signer *s)
{
    const size_t pl = sizeof(key_prefix) - 1;
    const char *name, *p1, *p2, *b64;
    uint8_t raw[34], id[4];
    char nbuf[TG_AUDIT_NAME_MAX + 1];
    size_t nlen;
    uint32_t key_id;
    int rc;

    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len < pl || memcmp(text, key_prefix, pl) != 0)
        return TG_EPARSE;
    name = text + pl;
    p1 = memchr(name, '+', len - pl);
    if (!p1)
        return TG_EPARSE;
    nlen = (size_t)(p1 - name);
    p2 = memchr(p1 + 1, '+', len - pl - nlen - 1);
    if (!p2 || p2 - p1 - 1 != 8 || nlen > TG_AUDIT_NAME_MAX ||
        tg_hex_decode(p1 + 1, 8, id, sizeof(id)) != 4)
        return TG_EPARSE;
    b64 = p2 + 1;
    if (!tg_base64_canonical(b64, len - (size_t)(b64 - text)) ||
        tg_base64_decode(b64, len - (size_t)(b64 - text), raw, sizeof(raw)) != 33)
        return TG_EPARSE;
    memcpy(nbuf, name, nlen);
    nbuf[nlen] = '\0';
    key_id = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    rc = tg_audit_signer_init(s, nbuf, raw[0], raw + 1);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (rc != 0)
        return rc == TG_ENOMEM ? rc : TG_EPARSE;
    if (s->key_id != key_id) {
        tg_audit_signer_clear(s);
        return TG_EPARSE;
    }
    return 0;
}

void tg_audit_keys_format(const tg_audit_signer *s, tg_strbuf *out)
{
    tg_audit__key_text(out, key_prefix, s->name, s->key_id, s->type, s->seed);
    tg_strbuf_putc(out, '\n');
}

void tg_audit_keys_vkey(const tg_audit_signer *s, tg_strbuf *out)
{
    tg_audit_verifier v;

    tg_audit_signer_verifier(s, &v);
    tg_audit_verifier_format(&v, out);
}

/* Writes data to a fresh file beside `path` and links it into place, so a
 * reader never sees a partial file and an existing one is never replaced.
 * 0, TG_EIO, or 1 when `path` already exists. */
static int write_new(const char *dir, const char *path, const char *data, size_t len,
                     mode_t mode)
{
    char tmp[4096];
    int fd, rc = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
        return TG_EIO;
    fd = mkstemp(tmp);
    if (fd < 0)
        return TG_EIO;
    if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
        rc = TG_EIO;
    close(fd);
    if (rc == 0 && link(tmp, path) != 0)
        rc = errno == EEXIST ? 1 : TG_EIO;
    unlink(tmp);
    if (rc == 0) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static int load(const char *path, tg_audit_signer *s, char *err, size_t errlen)
{
    char buf[KEY_FILE_MAX];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? TG_ENOT_FOUND : TG_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return TG_EIO;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "%s: the private key is open to other users (chmod 600 it)",
                 path);
        close(fd);
        return TG_ECONFIG;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TG_EIO;
    }
    rc = tg_audit_keys_parse(buf, (size_t)n, s);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != 0)
        snprintf(err, errlen, "%s: not a tollgate audit key", path);
    return rc == TG_ENOMEM ? rc : rc != 0 ? TG_ECONFIG : 0;
}

int tg_audit_keys_open(const char *dir, const char *file, const char *name, uint8_t type,
                       tg_audit_signer *s, char *err, size_t errlen)
{
    char path[4096], vpath[4096];
    tg_strbuf line = {0};
    uint8_t seed[32];
    int rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
        (size_t)snprintf(vpath, sizeof(vpath), "%s.vkey", path) >= sizeof(vpath)) {
        snprintf(err, errlen, "%s/%s: path too long", dir, file);
        return TG_EINVAL;
    }
    rc = load(path, s, err, errlen);
    if (rc == TG_ENOT_FOUND) {
        if (RAND_bytes(seed, sizeof(seed)) != 1) {
            snprintf(err, errlen, "%s: no randomness for a new key", path);
            return TG_EIO;
        }
        rc = tg_audit_signer_init(s, name, type, seed);
        OPENSSL_cleanse(seed, sizeof(seed));
        if (rc != 0) {
            snprintf(err, errlen, "%s: invalid key name \"%s\"", path, name);
            return rc;
        }
        tg_audit_keys_format(s, &line);
        rc = line.oom ? TG_ENOMEM : write_new(dir, path, line.p, line.len, 0600);
        if (line.p)
            OPENSSL_cleanse(line.p, line.len);
        free(line.p);
        tg_audit_signer_clear(s);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot write the new key: %s", path,
                     strerror(errno));
            return rc;
        }
        /* Written, or another process won the race: load whichever. */
        rc = load(path, s, err, errlen);
    }
    if (rc != 0)
        return rc;
    if (strcmp(s->name, name) != 0 || s->type != type) {
        snprintf(err, errlen,
                 "%s: holds the key of \"%s\" (type %u), not of \"%s\" (type %u)", path,
                 s->name, s->type, name, type);
        tg_audit_signer_clear(s);
        return TG_ECONFIG;
    }
    if (access(vpath, F_OK) != 0) {
        tg_strbuf v = {0};
        tg_audit_keys_vkey(s, &v);
        tg_strbuf_putc(&v, '\n');
        rc = v.oom ? TG_ENOMEM : write_new(dir, vpath, v.p, v.len, 0644);
        free(v.p);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot write: %s", vpath, strerror(errno));
            tg_audit_signer_clear(s);
            return rc;
        }
    }
    return 0;
}
