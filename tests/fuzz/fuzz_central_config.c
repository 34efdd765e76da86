/* Fuzzes the central view's configuration loader (`--config FILE`: the YAML
 * document, the key table, sizes, durations, addresses, the TLS and limits
 * checks). Any input loads or fails with TG_ECONFIG and a message naming the
 * file; on failure the configuration handed in is left as it was. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_central.h"
#include "tg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/tg-fuzz-central-XXXXXX";
    char err[1024];
    tg_central_config cfg, before;
    int fd = mkstemp(path);
    int rc;

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    tg_central_config_defaults(&cfg);
    before = cfg;
    err[0] = '\0';
    rc = tg_central_config_load(path, &cfg, err, sizeof(err));
    if (rc != 0) {
        if (rc != TG_ECONFIG || err[0] == '\0' || strstr(err, path) == NULL)
            abort(); /* a failure must say why, naming the file */
        if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
            abort(); /* and leave the configuration untouched */
    }
    unlink(path);
    return 0;
}
