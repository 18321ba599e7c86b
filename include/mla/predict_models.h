/* predict_models.h - what the predictive loop keeps between passes per ScaledObject: its
 * lookback window of samples, so that a pass fetches from Prometheus only the samples that
 * arrived since the last one (plus a short overlap) instead of the whole lookback.
 *
 * An entry is keyed by namespace/name and remembers the predictive-config annotation it was
 * last asked with (the whole JSON text; one shared copy per distinct text). Per call
 * (mla_predict_models_forecast):
 *   - no entry, or another query, step or lookback, or the entry is older than its lookback:
 *     build it from one full query_range over lookbackHours (the first pass after a start or a
 *     leader change does this for every ScaledObject). A change of anything else (target,
 *     costs, replica bounds, hours, horizon, quantile, anomaly threshold) keeps the window and
 *     the weekly profile: they are the same query's points, and the forecast settings are
 *     applied to the window when it is forecast (again at once when they changed);
 *   - else query the last MLA_PREDICT_MODELS_OVERLAP grid points held and the new ones up to
 *     now (one short query_range): the window slides by the new points, and the overlap lets
 *     a sample that reached Prometheus late replace the value fetched for that instant before
 *     (a value never turns back into a gap); then forecast. When the aligned "now" is still the last grid point (a 60 s loop on a 300 s
 *     step: four passes in five), nothing is queried and the last forecast is reused.
 * The forecast is the one-shot forecaster (mla_predict_fc_forecast_seeded) on the window and
 * the weekly profile the entry carries of the points that have left its window (fc.h, struct
 * mla_fc_profile, 840 bytes; it seeds the forecast once a week has left): what `forecast
 * --evaluate --lookback-hours` replays. Without the profile it is exactly what a full-lookback
 * query would give, but for the float storage of the samples (a relative rounding of 6e-8 on
 * the input).
 * The profile survives a rebuild through the ScaledObject (issue 17, ninth round): the loop
 * writes it into MLA_PREDICT_ANN_PROFILE (mla_predict_models_profile_text, with its applies),
 * and a build starts from the stored one when mla_predict_profile_load takes it
 * (mla_predict_models_forecast_stored): the build's query then starts at the stored profile's
 * newest point when that is at most MLA_PREDICT_PROFILE_REFRESH_S before the window, and the
 * points before the window go into the profile as the old leader's would have; so a new leader
 * continues exactly where the last write left the profile. A one-shot forecast (table full)
 * uses the stored profile the same way and keeps nothing.
 * Keeping the window, not the forecaster's state, is what
 * bounds the memory: 4 bytes a point (16 KB at 336 h by 300 s) where the streaming engine's
 * state weighs 172 KB; a forecast costs about 1 ms of CPU per 4,000 points instead of 30 us,
 * and only on passes that bring a new grid point.
 *
 * Bounds: at most max_models entries. When the table is full, a ScaledObject without an entry
 * is forecast one-shot (full query, nothing kept) rather than evicting another one: evicting
 * in a loop that visits every ScaledObject once per pass would rebuild every entry every pass.
 * An entry not used for idle_s seconds and missed by the last two passes (its ScaledObject
 * disappeared, was paused or lost its predictive-config) is evicted; the sweep runs at most
 * once per idle_s/2, from the calls. The loop says when a pass starts
 * (mla_predict_models_pass_begin), so a pass longer than idle_s does not evict the windows it
 * visited first, and a pass that touches no window (the table full of windows whose
 * ScaledObjects are gone, every live one forecast one-shot) still counts as a pass that
 * missed them. Without that call a pass is told by the calls themselves: one for a key already
 * used in the current pass starts the next (a pass asks for each key once).
 * mla_predict_models_clear drops everything (a new leader term: rebuilt from history).
 *
 * Ownership: the table is new from mla_predict_models_create (mla_predict_models_destroy); it
 * owns its entries and copies every key and config it keeps. The controller owns the loop's
 * table.
 * Threading: NOT thread-safe; one thread at a time. In serve it is the loop thread only (the
 * reconcile pass calls the predictive step there); counters go to the thread-safe /metrics.
 */
#ifndef MLA_PREDICT_MODELS_H
#define MLA_PREDICT_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mla/err.h"
#include "mla/predict.h"
#include "mla/predict_forecast.h"
#include "mla/prom.h"
#include "mla/ratelimit.h"

#define MLA_PREDICT_MODELS_DEFAULT_MAX 10000
/* Points of a window at the defaults (336 h at 300 s, both ends). The table keeps at most
 * max_models windows and at most max_models x this many points in all, so a predictive-config
 * with a fine step (15 s: 80,641 points, 315 KB) cannot take 20 times the memory
 * --loop-models was sized for; beyond either bound a ScaledObject is forecast one-shot. */
#define MLA_PREDICT_MODELS_WINDOW_POINTS 4033
/* Grid points already held that each update fetches again, the newest included (late
 * samples): one query of OVERLAP + new points. */
#define MLA_PREDICT_MODELS_OVERLAP 2

struct mla_predict_models;

/* What the table did since it was created (for tests, the bench and /metrics). */
struct mla_predict_models_stats {
    size_t models;    /* windows kept now */
    size_t builds;    /* windows built from a full-lookback query */
    size_t updates;   /* short queries merged into a kept window */
    size_t reused;    /* calls answered without a query (no new grid point) */
    size_t kept;      /* windows kept across a predictive-config change that left their
                       * query, step and lookback as they were */
    size_t oneshot;   /* full queries without keeping a window (table full) */
    size_t evicted;   /* windows dropped as idle */
    size_t queries;   /* query_range calls (chunks of a long range count once) */
    size_t samples;   /* grid points fetched from Prometheus */
};

/* max_models 0: MLA_PREDICT_MODELS_DEFAULT_MAX; idle_s <= 0: 600. *out is new. */
enum mla_code mla_predict_models_create(size_t max_models, double idle_s,
                                        struct mla_predict_models **out,
                                        struct mla_err *err) MLA_MUST_CHECK;
void mla_predict_models_destroy(struct mla_predict_models *m);
/* How the table reads Prometheus: mla_prom_query_range's contract (grid start..end by step).
 * The default is mla_prom_query_range itself; tests replace it to see and shape the queries. */
typedef enum mla_code (*mla_predict_fetch_fn)(void *ctx, const struct mla_prom_opts *opts,
                                              const char *query, double start, double end,
                                              double step, struct mla_prom_series *out,
                                              struct mla_err *err);
/* fn NULL: back to mla_prom_query_range. ctx borrowed. */
void mla_predict_models_set_fetch(struct mla_predict_models *m, mla_predict_fetch_fn fn,
                                  void *ctx);

/* A reconcile pass starts: the windows no call of this pass touches count as missed by it. */
void mla_predict_models_pass_begin(struct mla_predict_models *m);

/* Drops every window (e.g. a new leader term); counters are kept. */
void mla_predict_models_clear(struct mla_predict_models *m);
void mla_predict_models_stats(const struct mla_predict_models *m,
                              struct mla_predict_models_stats *out);

/* The history and forecast of ScaledObject ns/name with config `c` parsed from `config_text`
 * (both borrowed), at `now`: *have true and *out filled when there is a forecast; *have false
 * and `why` says why not (no history, the forecaster refused it); an error (no output) when
 * Prometheus failed - the window is then left as it was (none when it was being built).
 * horizon_steps/ahead_steps as for mla_predict_forecast_fn. */
/* limit (may be NULL, borrowed): a token before each query. */
enum mla_code mla_predict_models_forecast(struct mla_predict_models *m,
                                          struct mla_ratelimit *limit,
                                          const struct mla_prom_opts *prom, const char *ns,
                                          const char *name, const char *config_text,
                                          const struct mla_predict_config *c, time_t now,
                                          int horizon_steps, int ahead_steps,
                                          struct mla_predict_forecast *out, bool *have,
                                          char *why, size_t whylen,
                                          struct mla_err *err) MLA_MUST_CHECK;

/* The same with the ScaledObject's stored MLA_PREDICT_ANN_PROFILE text (borrowed; NULL: none):
 * a build (no entry, a changed config, ...) and a one-shot forecast start from it when
 * mla_predict_profile_load takes it; otherwise it is ignored, with one log line saying why when
 * a text was there. mla_predict_models_forecast is this with NULL. */
enum mla_code mla_predict_models_forecast_stored(
    struct mla_predict_models *m, struct mla_ratelimit *limit, const struct mla_prom_opts *prom,
    const char *ns, const char *name, const char *config_text,
    const struct mla_predict_config *c, const char *stored_profile, time_t now,
    int horizon_steps, int ahead_steps, struct mla_predict_forecast *out, bool *have, char *why,
    size_t whylen, struct mla_err *err) MLA_MUST_CHECK;

/* A buffer for mla_predict_models_profile_text (fc.h MLA_FC_PROFILE_TEXT_LEN + 1, and more). */
#define MLA_PREDICT_PROFILE_TEXT_SIZE 600

/* True when ns/name's entry for config_text (c parsed from it) carries a ready profile and
 * `stored` (the ScaledObject's MLA_PREDICT_ANN_PROFILE, borrowed, NULL: none) is missing, not a
 * profile, learnt from another query or step (mla_predict_profile_load), or
 * MLA_PREDICT_PROFILE_REFRESH_S older than it. */
bool mla_predict_models_profile_due(struct mla_predict_models *m, const char *ns,
                                    const char *name, const char *config_text,
                                    const struct mla_predict_config *c, const char *stored);
/* What an apply of the loop carries in MLA_PREDICT_ANN_PROFILE (server-side apply removes the
 * annotation when an apply of its owner leaves it out): the profile of ns/name's entry for
 * config_text when it is ready (and the entry's profile then becomes exactly what the text
 * decodes to - a rounding of at most 1/8190 of its range - so that a leader that reads it back
 * continues bit for bit as this one would; it is keyed by mla_predict_profile_key); else
 * `stored` when mla_predict_profile_load's key check takes it under c (kept as it is); else
 * false (left out). m NULL: no entry. out: MLA_PREDICT_PROFILE_TEXT_SIZE bytes. */
bool mla_predict_models_profile_text(struct mla_predict_models *m, const char *ns,
                                     const char *name, const char *config_text,
                                     const struct mla_predict_config *c, const char *stored,
                                     char *out, size_t outlen);


#endif
