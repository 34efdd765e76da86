#include "cmd_args.h"

#include <string.h>

int tg_cmd_args(const char *cmd, int argc, char **argv, const tg_cmd_opt *opts,
                void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        const tg_cmd_opt *o = opts;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        while (o->name && strcmp(o->name, argv[i]) != 0)
            o++;
        if (!o->name) {
            fprintf(stderr, "tollgate %s: unknown argument \"%s\" (see --help)\n", cmd,
                    argv[i]);
            return 2;
        }
        if (o->flag) {
            *o->flag = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tollgate %s: %s needs a value\n", cmd, argv[i]);
            return 2;
        }
        *o->value = argv[++i];
    }
    return 0;
}

size_t tg_cmd_endpoint(const char *cmd, const char *endpoint)
{
    size_t n;

    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        fprintf(stderr, "tollgate %s: --endpoint must be an http:// or https:// URL\n",
                cmd);
        return 0;
    }
    n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    return n;
}

int tg_cmd_url_plain(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("._:-", *s)))
            return 0;
    return 1;
}
