/* `tollgate central` and `tollgate central export`: the central view. */
#include <string.h>

#include "commands.h"
#include "tg_central.h"

int tg_cmd_central(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return tg_central_export_main(argc - 1, argv + 1);
    return tg_central_main(argc, argv);
}
