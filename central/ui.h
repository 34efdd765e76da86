/* The web UI's handlers (ui.c), named in server.c's route table; data is
 * the daemon. See docs/ui.md. */
#ifndef TG_CENTRAL_UI_H
#define TG_CENTRAL_UI_H

#include "tg_http.h"

void tg_central_ui_login(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_logout(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_session(const tg_http_request *req, tg_http_response *resp,
                           void *data);
void tg_central_ui_estate(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_trace(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_traces(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_logs(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_log_templates(const tg_http_request *req, tg_http_response *resp,
                                 void *data);
void tg_central_ui_cost(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_audit(const tg_http_request *req, tg_http_response *resp, void *data);
void tg_central_ui_static(const tg_http_request *req, tg_http_response *resp, void *data);

#endif
