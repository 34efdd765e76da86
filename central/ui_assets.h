/* The web UI's static files, embedded at build time (cmake/embed_ui.cmake
 * turns dashboards/ui's esbuild output into a C source), so the centre
 * serves its UI from the binary alone. Without node and esbuild at build
 * time the table is empty and /ui/ says the UI was not built. */
#ifndef TG_UI_ASSETS_H
#define TG_UI_ASSETS_H

#include <stddef.h>

typedef struct tg_ui_asset {
    const char *path; /* relative to /ui/, e.g. "index.html", "app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} tg_ui_asset;

extern const tg_ui_asset tg_ui_assets[];
extern const size_t tg_ui_assets_n;

#endif
