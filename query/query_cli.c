/* tollgate query: placeholder until the query CLI lands. */
#include <stdio.h>

#include "../cmd/commands.h"

int tg_cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tollgate query: not built yet\n");
    return 1;
}
