#include "tg_metric_map.h"

#include <stdio.h>
#include <string.h>

/* Well-known Prometheus names and their OpenTelemetry semantic-convention
 * equivalents (unit and scale when the convention's unit differs). */
static const struct {
    const char *from, *to, *unit;
    double scale;
} preset_names[] = {
    {"process_cpu_seconds_total", "process.cpu.time", "s", 1},
    {"process_resident_memory_bytes", "process.memory.usage", "By", 1},
    {"process_virtual_memory_bytes", "process.memory.virtual", "By", 1},
    {"process_open_fds", "process.open_file_descriptor.count", "{file_descriptor}", 1},
    {"http_request_duration_seconds", "http.server.request.duration", "s", 1},
    {"http_server_requests_seconds", "http.server.request.duration", "s", 1},
    {"http_server_request_duration_seconds", "http.server.request.duration", "s", 1},
    {"http_requests_total", "http.server.request.count", "{request}", 1},
    {"http_client_request_duration_seconds", "http.client.request.duration", "s", 1},
    {"container_cpu_usage_seconds_total", "container.cpu.time", "s", 1},
    {"container_memory_working_set_bytes", "container.memory.working_set", "By", 1},
    {"node_cpu_seconds_total", "system.cpu.time", "s", 1},
    {"node_memory_MemAvailable_bytes", "system.memory.available", "By", 1},
    {"DCGM_FI_DEV_GPU_UTIL", "hw.gpu.utilization", "1", 0.01},
    {"DCGM_FI_DEV_FB_USED", "hw.gpu.memory.usage", "By", 1048576},
    {"DCGM_FI_DEV_POWER_USAGE", "hw.power", "W", 1},
    {"nvidia_gpu_utilization", "hw.gpu.utilization", "1", 0.01},
};

static const struct {
    const char *from, *to;
} preset_labels[] = {
    {"method", "http.request.method"},
    {"code", "http.response.status_code"},
    {"status", "http.response.status_code"},
    {"route", "http.route"},
    {"handler", "http.route"},
    {"gpu", "hw.id"},
    {"mode", "cpu.mode"},
};

int tg_metric_map_name(const tg_forward_config *cfg, const char *name, char *buf,
                       size_t cap, tg_metric_mapped *out)
{
    out->name = name;
    out->unit = NULL;
    out->scale = 1;
    for (size_t i = 0; i < cfg->n_renames; i++) {
        const tg_metric_rename *r = &cfg->renames[i];
        if (r->prefix) {
            size_t pl = strlen(r->from);
            if (strncmp(name, r->from, pl) == 0) {
                snprintf(buf, cap, "%s%s", r->to, name + pl);
                out->name = buf;
            } else {
                continue;
            }
        } else if (strcmp(name, r->from) == 0) {
            out->name = r->to;
        } else {
            continue;
        }
        out->unit = r->unit[0] ? r->unit : NULL;
        out->scale = r->scale;
        return 1;
    }
    if (cfg->metrics_preset) {
        for (size_t i = 0; i < sizeof(preset_names) / sizeof(preset_names[0]); i++) {
            if (strcmp(name, preset_names[i].from) == 0) {
                out->name = preset_names[i].to;
                out->unit = preset_names[i].unit;
                out->scale = preset_names[i].scale;
                return 1;
            }
        }
    }
    return 0;
}

const char *tg_metric_map_label(const tg_forward_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_labels; i++)
        if (strcmp(cfg->labels[i].from, key) == 0)
            return cfg->labels[i].to;
    if (cfg->metrics_preset)
        for (size_t i = 0; i < sizeof(preset_labels) / sizeof(preset_labels[0]); i++)
            if (strcmp(preset_labels[i].from, key) == 0)
                return preset_labels[i].to;
    return key;
}
