/* `tollgate query`: the SRE's questions, asked of a site or the centre. */
#include <curl/curl.h>
#include <stdio.h>

#include "commands.h"
#include "query_cli.h"

int tg_cmd_query(int argc, char **argv)
{
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tollgate query: cannot initialise libcurl\n");
        return 1;
    }
    rc = tg_query_run(argc, argv, stdout, stderr);
    curl_global_cleanup();
    return rc;
}
