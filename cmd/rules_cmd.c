/* tollgate rules: placeholder until the rules engine lands. */
#include <stdio.h>

#include "commands.h"

int tg_cmd_rules(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tollgate rules: not built yet\n");
    return 1;
}
