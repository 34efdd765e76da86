/* Replays a fuzz target's corpus without libFuzzer: every file in the
 * directories (or files) named on the command line is fed once to
 * LLVMFuzzerTestOneInput. Used so each target builds and its seeds run in
 * the ordinary (and sanitizer) unit suites. It fails (exit 1) when a seed
 * cannot be read or when there is nothing to replay: a missing or emptied
 * corpus must not pass as a replayed one. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        fclose(f);
        return -1;
    }
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such corpus\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) == 0)
                n++;
            else
                failed++;
            continue;
        }
        d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: %s: cannot open the directory\n", argv[i]);
            return 1;
        }
        while ((e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name) >=
                sizeof(path)) {
                fprintf(stderr, "replay: %s/%s: path too long\n", argv[i], e->d_name);
                failed++;
                continue;
            }
            if (replay_file(path) == 0)
                n++;
            else
                failed++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", n);
    if (failed) {
        fprintf(stderr, "replay: %d seed(s) could not be read\n", failed);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "replay: no inputs to replay\n");
        return 1;
    }
    return 0;
}
