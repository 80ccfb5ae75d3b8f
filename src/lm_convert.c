/*
 * lm_convert.c — the public API's conversions between model files
 * (nglm/nglm.h): an nglm model written as an ARPA file, and an ARPA file as
 * an nglm model, the two directions of nglm-export, as one call each.
 * The work is arpa.c's and arpa_write.c's; this file only opens, converts
 * and saves, with the checks nglm-export makes.
 */
#include "nglm/nglm.h"

#include "nglm/arpa.h"
#include "nglm/classlm.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"

int nglm_export_arpa(const char *model_path, const char *arpa_path, nglm_error *err)
{
    if (nglm_classlm_file_is(model_path))
        return nglm_error_set(err, "%s: a class-based model (Model M) cannot be written as "
                              "ARPA: its probabilities are not a back-off model's",
                              model_path);
    nglm_model m;
    /* mapped and verified, as nglm-export: the export reads every feature */
    if (nglm_model_map(&m, model_path, NGLM_MAP_VERIFY, err) != 0)
        return -1;
    int rc = nglm_arpa_save(&m, arpa_path, err);
    nglm_model_free(&m);
    return rc;
}

int nglm_convert_arpa(const char *arpa_path, const char *model_path, nglm_error *err)
{
    nglm_arpa *a = nglm_arpa_load(arpa_path, err);
    if (!a)
        return -1;
    nglm_model m;
    if (nglm_arpa_to_model(a, &m, err) != 0) {
        nglm_arpa_free(a);
        return nglm_error_prefix(err, "%s", arpa_path);
    }
    nglm_arpa_free(a);
    int rc = nglm_model_save(&m, model_path, err);
    nglm_model_free(&m);
    return rc;
}
