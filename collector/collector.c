/* tollgate collector: placeholder until the daemon lands. */
#include <stdio.h>

#include "../cmd/commands.h"

int tg_cmd_collector(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tollgate collector: not built yet\n");
    return 1;
}
