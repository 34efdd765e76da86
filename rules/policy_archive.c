#include "tg_policy_archive.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"

int tg_policy_archive_each(const char *data_dir, tg_policy_archive_cb cb, void *ctx)
{
    char dir[4200];
    struct dirent *de;
    char *buf;
    DIR *d;
    int rc = 0;

    snprintf(dir, sizeof(dir), "%s/policies", data_dir);
    if (!(d = opendir(dir)))
        return 0;
    if (!(buf = malloc(TG_POLICY_ARCHIVE_TEXT_MAX))) {
        closedir(d);
        return TG_ENOMEM;
    }
    while (!rc && (de = readdir(d))) {
        const char *dash = strchr(de->d_name, '-');
        size_t n = strlen(de->d_name), len;
        char path[4500], ver[256];
        FILE *f;

        if (!dash || n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
            continue;
        snprintf(ver, sizeof(ver), "%.*s:%.*s", (int)(dash - de->d_name), de->d_name,
                 (int)(n - 4 - (size_t)(dash + 1 - de->d_name)), dash + 1);
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!(f = fopen(path, "rb")))
            continue;
        len = fread(buf, 1, TG_POLICY_ARCHIVE_TEXT_MAX, f);
        fclose(f);
        rc = cb(ctx, ver, buf, len);
    }
    free(buf);
    closedir(d);
    return rc;
}
