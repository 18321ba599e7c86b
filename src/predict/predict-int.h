/* predict/predict-int.h - what the predict module's fc.h adapters share (forecast.c: the
 * one-shot forecaster; models.c: the streaming models the loop keeps between passes), so that
 * both turn the model's settings and result into the loop's terms the same way.
 *
 * Ownership: plain values. Threading: pure.
 */
#ifndef MLA_PREDICT_INT_H
#define MLA_PREDICT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mla/fc.h"
#include "mla/predict.h"

/* The model's settings for the loop's: horizon clamped to 1..MLA_FC_MAX_HORIZON, quantile to
 * 0.5..0.999, a finite anomaly threshold to 2..5 (else the model's default). */
void mla__predict_fc_config(int horizon_steps, double quantile, double anomaly_threshold,
                            struct mla_fc_config *cfg);

/* The peak (point and upper bound) over steps ahead_steps..horizon, confidence and trend of a
 * model result; out->observed is left NaN (the loop uses the last observed value). */
void mla__predict_fc_reduce(const struct mla_fc_result *r, int ahead_steps,
                            struct mla_predict_forecast *out);

/* A stored ml-autoscaling.io/forecast-profile learnt under c (config_text is c's text): true,
 * *prof and *newest_t filled, when it decodes and its key is c's (mla_predict_profile_key) or,
 * written before that key, config_text's whole text; else false and why says which (stored
 * NULL: "none stored"; why may be NULL with whylen 0). What every reader of the stored text
 * checks first (mla_predict_profile_load adds the window and age checks). */
bool mla__predict_profile_parse(const char *stored, const char *config_text,
                                const struct mla_predict_config *c,
                                struct mla_fc_profile *prof, double *newest_t, char *why,
                                size_t whylen);

#endif
