/* Fuzzes what `tollgate query` does with a server's answer and with its
 * own arguments: any JSON document through the trace and metrics
 * renderers, and the bytes as a LogQL selector and as a trace id. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    json_t *doc;
    char *text, service[257], why[256], id[33];

    if (!sink)
        sink = fopen("/dev/null", "w");
    doc = json_loadb((const char *)data, size, 0, NULL);
    if (doc && sink) {
        tg_query_render_trace(doc, sink);
        tg_query_render_metrics(doc, sink);
    }
    json_decref(doc);

    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (tg_query_parse_selector(text, service, sizeof(service), why, sizeof(why)) == 0 &&
        strlen(service) >= sizeof(service))
        abort();
    if (tg_query_parse_trace_id(text, id) == 0 && strlen(id) != 32)
        abort();
    free(text);
    return 0;
}
