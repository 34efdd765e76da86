/* `tollgate collector`: one site's collector. */
#include "collector.h"
#include "commands.h"

int tg_cmd_collector(int argc, char **argv)
{
    return tg_collector_main(argc, argv);
}
