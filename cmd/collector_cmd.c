/* `tollgate collector`: one site's collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "commands.h"
#include "tg_audit_report.h"

/* The audit: section of --config belongs to the audit report, which the
 * collector does not run; it is checked here so a typo in it stops the
 * start (exit 2, FILE:LINE:COLUMN) as any other bad key does. */
static int check_audit_section(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        tg_report_config *c;
        char err[1200];
        int rc;

        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        if (!path)
            continue;
        if (!(c = malloc(sizeof(*c))))
            return 1;
        tg_report_config_defaults(c);
        rc = tg_report_config_load(path, c, err, sizeof(err));
        free(c);
        /* an unreadable file is the collector's own loader's to report */
        if (rc && strstr(err, "cannot open") == NULL) {
            fprintf(stderr, "tollgate collector: %s\n", err);
            return 2;
        }
    }
    return 0;
}

int tg_cmd_collector(int argc, char **argv)
{
    int rc = check_audit_section(argc, argv);

    if (rc)
        return rc;
    return tg_collector_main(argc, argv);
}
