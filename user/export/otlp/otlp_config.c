// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_config.c - the OTLP exporter's configuration from the
 * standard OTEL_* environment variables (OpenTelemetry specification:
 * protocol/exporter.md and configuration/sdk-environment-variables.md).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kspan_bytes.h"
#include "lib/log.h"
#include "export/otlp/otlp_config.h"

/* OTEL_EXPORTER_OTLP_{TRACES,METRICS}_<suffix>, in a buffer that lives to
 * the end of the enclosing block. */
#define SIGNAL_VAR(sig, suffix) signal_var((char[64]){0}, sig, suffix)

static const char *signal_var(char *buf, enum otlp_signal sig, const char *suffix)
{
	snprintf(buf, 64, "OTEL_EXPORTER_OTLP_%s_%s",
		 sig == OTLP_SIGNAL_METRICS ? "METRICS" : "TRACES", suffix);
	return buf;
}

/* Largest accepted value of a millisecond or count variable. */
#define CONFIG_NUMBER_MAX 0x7fffffffu

/* sdk-environment-variables.md: "an empty value ... MUST be treated as unset". */
static const char *env_get(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The signal-specific variable if set, else the general one; *which names the one used. */
static const char *env_get_either(const char *traces_name, const char *general_name,
				  const char **which)
{
	const char *v = env_get(traces_name);
	*which = traces_name;
	if (!v) {
		v = env_get(general_name);
		*which = general_name;
	}
	return v;
}

/* A decimal number in [min, CONFIG_NUMBER_MAX], surrounding blanks allowed. */
static bool parse_number(const char *s, uint32_t min, uint32_t *out)
{
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end || v < min || v > CONFIG_NUMBER_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static uint32_t env_number(const char *name, const char *value, uint32_t min, uint32_t def)
{
	uint32_t v;
	if (!value)
		return def;
	if (parse_number(value, min, &v))
		return v;
	log_warn("%s=\"%s\" is not a number from %u to %u; using %u", name, value, min,
		 CONFIG_NUMBER_MAX, def);
	return def;
}

/* One word of a variable that names a choice. */
struct env_word {
	const char *word;
	int value;
};

/*
 * The value of the signal-specific variable, else the general one, among
 * `words` (case-insensitive: SDKs differ, and no OTel value differs from
 * another only by case); unset means words[0], an unknown word too, with a
 * warning.
 */
static int env_choice(const char *traces_name, const char *general_name,
		      const struct env_word *words, size_t n, const char *expected)
{
	const char *name;
	const char *v = env_get_either(traces_name, general_name, &name);

	if (!v)
		return words[0].value;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v, words[i].word) == 0)
			return words[i].value;
	log_warn("%s=\"%s\" is not %s; using %s", name, v, expected, words[0].word);
	return words[0].value;
}

static enum otlp_compression env_compression(enum otlp_signal sig)
{
	static const struct env_word words[] = {{"none", OTLP_COMPRESSION_NONE},
						{"gzip", OTLP_COMPRESSION_GZIP}};

	return env_choice(SIGNAL_VAR(sig, "COMPRESSION"), "OTEL_EXPORTER_OTLP_COMPRESSION", words,
			  sizeof(words) / sizeof(words[0]), "gzip or none");
}

/*
 * Percent-decode [s, s+len) into a new string. A '%' not followed by two hex
 * digits is kept as it is, so unencoded values also work. *bad is set when
 * the result has a byte no HTTP header value may hold (NUL, CR, LF).
 */
static char *percent_decode(const char *s, size_t len, bool *bad)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	*bad = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int hi, lo;
		if (c == '%' && i + 2 < len && (hi = kspan_hex_value((uint8_t)s[i + 1])) >= 0 &&
		    (lo = kspan_hex_value((uint8_t)s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || c == '\r' || c == '\n')
			*bad = true;
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* RFC 9110 section 5.6.2: a header name is a token. */
static bool header_name_valid(const char *s, size_t len)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* Add or, for a name already there (HTTP names are case-insensitive), replace. */
static int config_set_header(struct otlp_config *cfg, char *name, char *value)
{
	for (size_t i = 0; i < cfg->n_headers; i++) {
		if (strcasecmp(cfg->headers[i].name, name) == 0) {
			free(cfg->headers[i].name);
			free(cfg->headers[i].value);
			cfg->headers[i].name = name;
			cfg->headers[i].value = value;
			return 0;
		}
	}
	struct otlp_header *h = realloc(cfg->headers, (cfg->n_headers + 1) * sizeof(*cfg->headers));
	if (!h)
		return -ENOMEM;
	cfg->headers = h;
	h[cfg->n_headers].name = name;
	h[cfg->n_headers].value = value;
	cfg->n_headers++;
	return 0;
}

/*
 * protocol/exporter.md, "Specifying headers via environment variables": a
 * comma-separated list of key=value in the W3C Baggage format, values
 * percent-encoded. A malformed entry is reported and skipped, not fatal.
 */
static int parse_headers(struct otlp_config *cfg, const char *var, const char *list)
{
	const char *p = list;
	unsigned index = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t entry_len = comma ? (size_t)(comma - p) : strlen(p);
		const char *entry = p;
		p += entry_len + (comma ? 1 : 0);
		trim(&entry, &entry_len);
		index++;
		if (!entry_len)
			continue;

		const char *eq = memchr(entry, '=', entry_len);
		const char *key = entry, *val = eq ? eq + 1 : NULL;
		size_t key_len = eq ? (size_t)(eq - entry) : entry_len;
		size_t val_len = eq ? entry_len - key_len - 1 : 0;
		trim(&key, &key_len);
		trim(&val, &val_len);
		bool bad = false;
		char *name = NULL, *value = NULL;
		if (eq && header_name_valid(key, key_len)) {
			name = strndup(key, key_len);
			value = percent_decode(val, val_len, &bad);
			if (!name || !value) {
				free(name);
				free(value);
				return -ENOMEM;
			}
		}
		/* Header values are credentials (Authorization, API keys): a bad
		 * entry is named by its valid name or its position, never shown. */
		if (name && bad)
			log_warn("%s: ignoring header %s: its value holds a NUL, CR or LF byte "
				 "(value not shown)",
				 var, name);
		else if (!name)
			log_warn("%s: ignoring entry %u: not a valid name=value header (entry not "
				 "shown, it may hold a secret)",
				 var, index);
		if (!name || bad) {
			free(name);
			free(value);
			continue;
		}
		if (config_set_header(cfg, name, value)) {
			free(name);
			free(value);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool url_is_http(const char *url)
{
	size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
		      : strncasecmp(url, "https://", 8) == 0 ? 8
							     : 0;
	return skip && url[skip] && url[skip] != '/';
}

/*
 * base + "/v1/traces" (or "/v1/metrics") without doubling a trailing slash (protocol/exporter.md,
 * "Endpoint URLs for OTLP/HTTP").
 */
static char *url_with_signal_path(const char *base, enum otlp_signal sig)
{
	size_t len = strlen(base);
	bool slash = len && base[len - 1] == '/';
	char *url;
	if (asprintf(&url, "%s%s%s", base, slash ? "" : "/",
		     sig == OTLP_SIGNAL_METRICS ? OTLP_HTTP_METRICS_PATH : OTLP_HTTP_TRACES_PATH) <
	    0)
		return NULL;
	return url;
}

/* True when the URL has a path beyond "/" (scheme checked by url_is_http). */
static bool url_has_path(const char *url)
{
	const char *slash = strchr(strstr(url, "://") + 3, '/');
	return slash && slash[1];
}

static bool env_true(const char *name)
{
	const char *v = env_get(name);
	return v && strcasecmp(v, "true") == 0;
}

/*
 * protocol/exporter.md: a grpc endpoint may come without a scheme ("host:port");
 * it is then secure unless OTEL_EXPORTER_OTLP_[TRACES_]INSECURE is true.
 */
static char *grpc_url(const struct otlp_config *cfg, const char *url)
{
	char *out;
	if (url_is_http(url))
		return strdup(url);
	if (!*url || strstr(url, "://"))
		return NULL;
	if (asprintf(&out, "%s://%s", cfg->insecure ? "http" : "https", url) < 0)
		return NULL;
	return out;
}

static int config_endpoint(struct otlp_config *cfg, const char *endpoint_override)
{
	enum otlp_signal sig = cfg->signal;
	char signal_endpoint[64];
	const char *source = "the command line", *url = endpoint_override;
	bool append = false, grpc = cfg->protocol == OTLP_PROTOCOL_GRPC;
	char *base = NULL;
	/* The signal's own variable is more specific than --otlp-endpoint, which
	 * names the traces' endpoint (or the base of both). */
	if (sig == OTLP_SIGNAL_METRICS && env_get(signal_var(signal_endpoint, sig, "ENDPOINT")))
		url = NULL;
	if (url && *url && sig == OTLP_SIGNAL_METRICS && !grpc && url_is_http(url) &&
	    url_has_path(url)) {
		/* --otlp-endpoint names the traces URL: metrics go next to it. */
		size_t len = strlen(url), tail = strlen("/" OTLP_HTTP_TRACES_PATH);
		if (len > tail && strcmp(url + len - tail, "/" OTLP_HTTP_TRACES_PATH) == 0) {
			base = strndup(url, len - tail);
			if (!base)
				return -ENOMEM;
			url = base;
		}
		append = true;
	} else if (url && *url) {
		append = url_is_http(url) && !url_has_path(url);
	} else if ((url = env_get(signal_var(signal_endpoint, sig, "ENDPOINT")))) {
		source = signal_endpoint;
	} else if ((url = env_get("OTEL_EXPORTER_OTLP_ENDPOINT"))) {
		source = "OTEL_EXPORTER_OTLP_ENDPOINT";
		append = true;
	} else {
		url = grpc ? OTLP_GRPC_DEFAULT_ENDPOINT : OTLP_HTTP_DEFAULT_BASE;
		append = !grpc;
	}
	if (grpc) {
		cfg->endpoint = grpc_url(cfg, url);
		if (!cfg->endpoint) {
			log_warn("OTLP gRPC endpoint \"%s\" from %s is not http://host:port, "
				 "https://host:port or host:port",
				 url, source);
			return -EINVAL;
		}
		return 0;
	}
	if (!url_is_http(url)) {
		log_warn("OTLP endpoint \"%s\" from %s is not an http:// or https:// URL", url,
			 source);
		return -EINVAL;
	}
	cfg->endpoint = append ? url_with_signal_path(url, sig) : strdup(url);
	free(base);
	return cfg->endpoint ? 0 : -ENOMEM;
}

static enum otlp_protocol env_protocol(enum otlp_signal sig)
{
	static const struct env_word words[] = {{"http/protobuf", OTLP_PROTOCOL_HTTP_PROTOBUF},
						{"http/json", OTLP_PROTOCOL_HTTP_JSON},
						{"grpc", OTLP_PROTOCOL_GRPC}};

	return env_choice(SIGNAL_VAR(sig, "PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL", words,
			  sizeof(words) / sizeof(words[0]), "grpc, http/protobuf or http/json");
}

const char *otlp_protocol_name(enum otlp_protocol p)
{
	switch (p) {
	case OTLP_PROTOCOL_HTTP_JSON:
		return "http/json";
	case OTLP_PROTOCOL_GRPC:
		return "grpc";
	default:
		return "http/protobuf";
	}
}

/* A file name variable: the signal-specific one wins; NULL when neither is set. */
static int env_path(const char *traces_name, const char *general_name, char **out)
{
	const char *name;
	const char *v = env_get_either(traces_name, general_name, &name);
	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int config_tls(struct otlp_config *cfg)
{
	enum otlp_signal sig = cfg->signal;

	cfg->insecure =
	    env_true(SIGNAL_VAR(sig, "INSECURE")) ||
	    (!env_get(SIGNAL_VAR(sig, "INSECURE")) && env_true("OTEL_EXPORTER_OTLP_INSECURE"));
	int err = env_path(SIGNAL_VAR(sig, "CERTIFICATE"), "OTEL_EXPORTER_OTLP_CERTIFICATE",
			   &cfg->certificate);
	if (!err)
		err = env_path(SIGNAL_VAR(sig, "CLIENT_CERTIFICATE"),
			       "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cfg->client_certificate);
	if (!err)
		err = env_path(SIGNAL_VAR(sig, "CLIENT_KEY"), "OTEL_EXPORTER_OTLP_CLIENT_KEY",
			       &cfg->client_key);
	return err;
}

static uint32_t env_number_named(const char *name, uint32_t min, uint32_t def)
{
	return env_number(name, env_get(name), min, def);
}

int otlp_config_from_env(struct otlp_config *cfg, const char *endpoint_override)
{
	return otlp_config_from_env_for(cfg, endpoint_override, OTLP_SIGNAL_TRACES);
}

int otlp_config_from_env_for(struct otlp_config *cfg, const char *endpoint_override,
			     enum otlp_signal sig)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->signal = sig;
	cfg->protocol = env_protocol(sig);
	int err = config_tls(cfg);
	if (!err)
		err = config_endpoint(cfg, endpoint_override);
	const char *v;
	if (!err && (v = env_get("OTEL_EXPORTER_OTLP_HEADERS")))
		err = parse_headers(cfg, "OTEL_EXPORTER_OTLP_HEADERS", v);
	if (!err && (v = env_get(SIGNAL_VAR(sig, "HEADERS"))))
		err = parse_headers(cfg, SIGNAL_VAR(sig, "HEADERS"), v);
	if (err) {
		otlp_config_free(cfg);
		return err;
	}

	cfg->compression = env_compression(sig);
	const char *name;
	v = env_get_either(SIGNAL_VAR(sig, "TIMEOUT"), "OTEL_EXPORTER_OTLP_TIMEOUT", &name);
	cfg->timeout_ms = env_number(name, v, 1, OTLP_HTTP_DEFAULT_TIMEOUT_MS);
	cfg->schedule_delay_ms =
	    env_number_named("OTEL_BSP_SCHEDULE_DELAY", 0, OTLP_BSP_DEFAULT_SCHEDULE_DELAY_MS);
	cfg->export_timeout_ms =
	    env_number_named("OTEL_BSP_EXPORT_TIMEOUT", 1, OTLP_BSP_DEFAULT_EXPORT_TIMEOUT_MS);
	cfg->max_queue_size =
	    env_number_named("OTEL_BSP_MAX_QUEUE_SIZE", 1, OTLP_BSP_DEFAULT_MAX_QUEUE_SIZE);
	cfg->max_export_batch_size = env_number_named("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1,
						      OTLP_BSP_DEFAULT_MAX_EXPORT_BATCH_SIZE);
	/* trace/sdk.md, Batching processor: "It must be less than or equal to maxQueueSize." */
	if (cfg->max_export_batch_size > cfg->max_queue_size) {
		log_warn("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%u is larger than "
			 "OTEL_BSP_MAX_QUEUE_SIZE=%u; using %u",
			 cfg->max_export_batch_size, cfg->max_queue_size, cfg->max_queue_size);
		cfg->max_export_batch_size = cfg->max_queue_size;
	}
	cfg->queue_max_bytes =
	    env_number_named("KSPAN_OTLP_QUEUE_MAX_BYTES", 1024, OTLP_DEFAULT_QUEUE_MAX_BYTES);
	cfg->retry_initial_ms =
	    env_number_named("KSPAN_OTLP_RETRY_INITIAL_INTERVAL", 1, OTLP_DEFAULT_RETRY_INITIAL_MS);
	cfg->retry_max_ms =
	    env_number_named("KSPAN_OTLP_RETRY_MAX_INTERVAL", 1, OTLP_DEFAULT_RETRY_MAX_MS);
	cfg->retry_max_elapsed_ms = env_number_named("KSPAN_OTLP_RETRY_MAX_ELAPSED_TIME", 0,
						     OTLP_DEFAULT_RETRY_MAX_ELAPSED_MS);
	/* configuration/sdk-environment-variables.md, "Attribute Limits": the span one wins. */
	v = env_get_either("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
			   "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", &name);
	cfg->attr_value_limit = env_number(name, v, 1, 0);
	if (cfg->retry_max_ms < cfg->retry_initial_ms)
		cfg->retry_max_ms = cfg->retry_initial_ms;
	return 0;
}

void otlp_config_free(struct otlp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_headers; i++) {
		free(cfg->headers[i].name);
		free(cfg->headers[i].value);
	}
	free(cfg->headers);
	free(cfg->endpoint);
	free(cfg->certificate);
	free(cfg->client_certificate);
	free(cfg->client_key);
	memset(cfg, 0, sizeof(*cfg));
}

int otlp_config_copy(struct otlp_config *dst, const struct otlp_config *src)
{
	*dst = *src;
	dst->headers = NULL;
	dst->n_headers = 0;
	dst->certificate = dst->client_certificate = dst->client_key = NULL;
	dst->endpoint = strdup(src->endpoint);
	if (!dst->endpoint)
		return -ENOMEM;
	if ((src->certificate && !(dst->certificate = strdup(src->certificate))) ||
	    (src->client_certificate &&
	     !(dst->client_certificate = strdup(src->client_certificate))) ||
	    (src->client_key && !(dst->client_key = strdup(src->client_key))))
		return -ENOMEM;
	for (size_t i = 0; i < src->n_headers; i++) {
		char *name = strdup(src->headers[i].name);
		char *value = strdup(src->headers[i].value);
		if (!name || !value || config_set_header(dst, name, value)) {
			free(name);
			free(value);
			return -ENOMEM;
		}
	}
	return 0;
}
