/* Fuzzes the central view's sites registry loader (`--sites FILE`): any
 * input loads or fails with a message naming the file; never a crash or a
 * leak. The loader reads a path (token files resolve beside it), so the
 * input goes through a temporary file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/tg-fuzz-sites-XXXXXX";
    char err[1024];
    tg_sites sites;
    int fd = mkstemp(path);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    memset(&sites, 0, sizeof(sites));
    err[0] = '\0';
    if (tg_sites_load(path, &sites, err, sizeof(err)) == 0)
        tg_sites_free(&sites);
    else if (err[0] == '\0' || strstr(err, path) == NULL)
        abort(); /* a failure must say why, naming the file */
    unlink(path);
    return 0;
}
