/* The `audit:` section of a site's or the centre's configuration file:
 * what the Art. 30 record needs and the policy cannot know. One key
 * table (common/tg_cfgtab.h); the rest of the file belongs to the
 * daemon's own loader, which passes `audit:` over. */
#include "tg_audit_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_cfgtab.h"
#include "tg_err.h"
#include "tg_yaml.h"

#define FIELD(m) TG_CFG_FIELD(tg_report_config, m)
#define LIST(m, n)                                                                       \
    FIELD(m), .count_offset = offsetof(tg_report_config, n),                             \
              .item_size = sizeof(((tg_report_config *)0)->m[0])
#define CONFIG_MAX_FILE (1u << 20)

static const struct tg_cfg_key keys[] = {
    {.path = "audit.controller",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(controller),
     .help = "The controller's name and contact details (GDPR Art. 30(1)(a)), as the "
             "report's Art. 30 record shows them."},
    {.path = "audit.representative",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(representative),
     .help = "The controller's representative in the Union (Art. 27), if any."},
    {.path = "audit.dpo",
     .type = TG_CFG_STRING,
     .def = "",
     FIELD(dpo),
     .help = "The data protection officer's contact details."},
    {.path = "audit.purposes",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     LIST(purposes, n_purposes),
     .help = "Purposes of the processing, besides each destination's `purpose` in the "
             "policy (Art. 30(1)(b)); at most 16."},
    {.path = "audit.data_subjects",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     LIST(data_subjects, n_data_subjects),
     .help = "Categories of data subjects (customers, employees, ...) (Art. 30(1)(c))."},
    {.path = "audit.recipients",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     LIST(recipients, n_recipients),
     .help = "Recipients besides the policy's destinations (Art. 30(1)(d))."},
    {.path = "audit.transfers",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     LIST(transfers, n_transfers),
     .help = "\"DESTINATION: safeguard\" for each destination outside the site's region "
             "(Art. 46: SCCs, an adequacy decision, BCRs) (Art. 30(1)(e))."},
    {.path = "audit.security_measures",
     .type = TG_CFG_STRING_LIST,
     .def = "",
     LIST(security_measures, n_security_measures),
     .help =
         "Technical and organisational measures besides tollgate's own (Art. 30(1)(g))."},
};

static const tg_cfgtab table = {keys, sizeof(keys) / sizeof(keys[0])};

void tg_report_config_defaults(tg_report_config *c)
{
    memset(c, 0, sizeof(*c)); /* the table leaves lists as they are */
    tg_cfgtab_defaults(&table, c);
}

int tg_report_config_load_buffer(const char *name, const char *buf, size_t len,
                                 tg_report_config *c, char *err, size_t errlen)
{
    tg_report_config *work;
    const char **skip;
    tg_ynode *root;
    size_t n = 0;
    int rc;

    if (!(root = tg_yaml_load_buffer(name, buf, len, err, errlen)))
        return TG_ECONFIG;
    if (root->kind != TG_YNODE_MAP) {
        tg_yaml_error(err, errlen, name, root, "expected a mapping");
        tg_yaml_free(root);
        return TG_ECONFIG;
    }
    /* Every top-level key but audit: is someone else's. */
    skip = calloc(root->n + 1, sizeof(*skip));
    work = malloc(sizeof(*work));
    if (!skip || !work) {
        free(skip);
        free(work);
        tg_yaml_free(root);
        snprintf(err, errlen, "%s: out of memory", name);
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i]->str, "audit") != 0)
            skip[n++] = root->keys[i]->str;
    memcpy(work, c, sizeof(*work));
    rc = tg_cfgtab_load(&table, work, root, name, skip, NULL, err, errlen);
    if (rc == 0)
        memcpy(c, work, sizeof(*c));
    free(work);
    free(skip);
    tg_yaml_free(root);
    return rc ? TG_ECONFIG : 0;
}

int tg_report_config_load(const char *path, tg_report_config *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return TG_EIO;
    }
    buf = malloc(CONFIG_MAX_FILE + 1);
    n = buf ? fread(buf, 1, CONFIG_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > CONFIG_MAX_FILE) {
        rc = buf ? TG_EIO : TG_ENOMEM;
        free(buf);
        snprintf(err, errlen, "%s: %s", path,
                 rc == TG_EIO ? "too large" : "out of memory");
        return rc;
    }
    rc = tg_report_config_load_buffer(path, buf, n, c, err, errlen);
    free(buf);
    return rc;
}

void tg_report_config_write_reference(FILE *f)
{
    tg_cfgtab_write_reference(&table, f);
}
