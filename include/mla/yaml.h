/* yaml.h - YAML (1.2 core schema) and JSON documents into jansson trees, with source positions.
 *
 * Why jansson and a side table: policy validation wants to say "file:line:col" for any node,
 * and jansson shares its true/false/null singletons, so positions are keyed by the container
 * and the member (object + key, or array + index) rather than by node pointer. Containers also
 * have their own position.
 *
 * Scalars: quoted ones are strings; plain ones resolve per the YAML 1.2 core schema (null,
 * true/false, integers, floats), everything else is a string. Anchors and aliases work (the
 * alias shares the anchored node). Tags other than the core ones are ignored. A file may hold
 * several documents ("---"); JSON is YAML and goes through the same parser.
 *
 * Ownership: mla_yaml_parse() returns a new json array of documents (json_decref) and a new
 * position table (mla_yaml_pos_free). Threading: pure.
 */
#ifndef MLA_YAML_H
#define MLA_YAML_H

#include <cjson/cJSON.h>
#include <jansson.h>
#include <stddef.h>

#include "mla/err.h"

struct mla_yaml_pos; /* opaque position table */

/* Parses text (len bytes). `src` names the file in errors (err->src/line/col set on failure).
 * pos_out may be NULL when positions are not wanted. */
enum mla_code mla_yaml_parse(const char *src, const char *text, size_t len, json_t **docs_out,
                             struct mla_yaml_pos **pos_out, struct mla_err *err) MLA_MUST_CHECK;

void mla_yaml_pos_free(struct mla_yaml_pos *t);

/* Position (1-based) of a node: the value of member `key` of object `container`, or element
 * `idx` of array `container` (key NULL), or the container itself (key NULL, idx SIZE_MAX).
 * `of_key` asks for the position of the member's key instead of its value. Returns 0 and sets
 * 0:0 when unknown. t may be NULL. */
int mla_yaml_pos_get(const struct mla_yaml_pos *t, const json_t *container, const char *key,
                     size_t idx, int of_key, int *line, int *col);

/* A deep copy of a jansson tree as cJSON (new, cJSON_Delete). Integers become doubles. */
cJSON *mla_yaml_to_cjson(const json_t *j);

#endif
