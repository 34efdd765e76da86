/* tollgate: one binary, one subcommand per role. Placeholder dispatch. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "collector") == 0)
        return tg_cmd_collector(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "query") == 0)
        return tg_cmd_query(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rules") == 0)
        return tg_cmd_rules(argc - 1, argv + 1);
    printf("tollgate %s\n", TG_VERSION);
    return 0;
}
