// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* prometheus_text.c - metric snapshots as Prometheus text and OpenMetrics. */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "metrics/prometheus_text.h"

void prometheus_name(const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	if (!out_size)
		return;
	if (in[0] >= '0' && in[0] <= '9' && o + 1 < out_size)
		out[o++] = '_';
	for (size_t i = 0; in[i] && o + 1 < out_size; i++) {
		char c = in[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';
		out[o++] = ok ? c : '_';
	}
	out[o] = '\0';
}

/* Prometheus text format: label values escape \, " and newline. */
static void write_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void write_label(FILE *out, bool *first, const char *key, const char *value)
{
	char name[128];
	prometheus_name(key, name, sizeof(name));
	fprintf(out, "%s%s=\"", *first ? "" : ",", name);
	write_value(out, value);
	fputc('"', out);
	*first = false;
}

static const char *resource_str(const struct resource *r, const char *key)
{
	const struct attribute *a = r ? attribute_list_find(&r->attrs, key) : NULL;
	return a && a->type == ATTR_STRING ? a->str : NULL;
}

/* job and instance, from the resource (see the header). */
static void write_target_labels(FILE *out, bool *first, const struct resource *r)
{
	char job[512], instance[320];
	const char *ns = resource_str(r, "service.namespace");
	const char *svc = resource_str(r, "service.name");
	const char *inst = resource_str(r, "service.instance.id");
	const char *host = resource_str(r, "host.name");

	if (!r)
		return;
	snprintf(job, sizeof(job), "%s%s%s", ns ? ns : "", ns ? "/" : "", svc ? svc : "");
	if (inst)
		snprintf(instance, sizeof(instance), "%s", inst);
	else
		snprintf(instance, sizeof(instance), "%s:%u", host ? host : "", r->pid);
	write_label(out, first, "job", job);
	write_label(out, first, "instance", instance);
}

static void write_labels(FILE *out, const struct metric_point *p, const char *le)
{
	bool first = true;
	char num[32];

	fputc('{', out);
	write_target_labels(out, &first, p->stream->resource);
	if (p->stream->overflow)
		write_label(out, &first, "otel.metric.overflow", "true");
	for (size_t i = 0; i < p->stream->attrs.n; i++) {
		const struct metric_attr *a = &p->stream->attrs.a[i];
		if (a->str) {
			write_label(out, &first, a->key, a->str);
		} else {
			snprintf(num, sizeof(num), "%" PRId64, a->i);
			write_label(out, &first, a->key, num);
		}
	}
	if (le)
		write_label(out, &first, "le", le);
	fputc('}', out);
}

/* A float as OpenMetrics wants it in le: always with a '.' or an exponent. */
static void format_bound(double v, char *out, size_t size)
{
	snprintf(out, size, "%g", v);
	if (!strpbrk(out, ".e"))
		strncat(out, ".0", size - strlen(out) - 1);
}

static void write_exemplar(FILE *out, const struct exemplar *e)
{
	char trace[33], span[17];
	if (!e->time_unix_ns)
		return;
	hex_encode(e->trace_id, sizeof(e->trace_id), trace);
	hex_encode(e->span_id, sizeof(e->span_id), span);
	fprintf(out, " # {trace_id=\"%s\",span_id=\"%s\"} %.9g %" PRIu64 ".%09" PRIu64, trace, span,
		e->value, e->time_unix_ns / 1000000000u, e->time_unix_ns % 1000000000u);
}

static void write_histogram(FILE *out, const char *name, const struct metric_desc *d,
			    const struct metric_point *p, bool openmetrics)
{
	uint64_t cumulative = 0;
	char le[32];

	for (size_t i = 0; i <= d->n_bounds; i++) {
		cumulative += p->h.counts[i];
		if (i < d->n_bounds)
			format_bound(d->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(out, "%s_bucket", name);
		write_labels(out, p, le);
		fprintf(out, " %" PRIu64, cumulative);
		if (openmetrics)
			write_exemplar(out, &p->h.exemplars[i]);
		fputc('\n', out);
	}
	fprintf(out, "%s_sum", name);
	write_labels(out, p, NULL);
	fprintf(out, " %.9g\n%s_count", p->h.sum, name);
	write_labels(out, p, NULL);
	fprintf(out, " %" PRIu64 "\n", p->h.count);
}

static void write_family(const struct metric_snapshot *snap, enum metric_id id, FILE *out,
			 bool openmetrics)
{
	const struct metric_desc *d = &metric_descs[id];
	const char *name = d->prometheus_name;
	size_t family_len = strlen(name);
	bool any = false;

	/* OpenMetrics names a counter family without its _total sample suffix. */
	if (openmetrics && d->counter && family_len > 6 && !strcmp(name + family_len - 6, "_total"))
		family_len -= 6;
	for (size_t i = 0; i < snap->n; i++) {
		const struct metric_point *p = &snap->points[i];
		if (p->stream->id != id)
			continue;
		if (!any) {
			fprintf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)family_len, name,
				d->description, (int)family_len, name,
				d->counter ? "counter" : "histogram");
			if (openmetrics && !strcmp(d->unit, "s"))
				fprintf(out, "# UNIT %.*s seconds\n", (int)family_len, name);
			any = true;
		}
		if (d->counter) {
			fputs(name, out);
			write_labels(out, p, NULL);
			fprintf(out, " %" PRIu64 "\n", p->h.count);
		} else {
			write_histogram(out, name, d, p, openmetrics);
		}
	}
}

static void write_resource_attr(FILE *out, bool *first, const struct attribute *a)
{
	char v[64];
	switch (a->type) {
	case ATTR_STRING:
		write_label(out, first, a->key, a->str);
		return;
	case ATTR_INT:
		snprintf(v, sizeof(v), "%" PRId64, a->i);
		break;
	case ATTR_BOOL:
		snprintf(v, sizeof(v), "%s", a->b ? "true" : "false");
		break;
	case ATTR_DOUBLE:
		snprintf(v, sizeof(v), "%g", a->d);
		break;
	default:
		return; /* arrays (process.command_args) are not a label */
	}
	write_label(out, first, a->key, v);
}

/* One target_info sample per resource, with its attributes as labels. */
static void write_target_info(const struct metric_snapshot *snap, FILE *out, bool openmetrics)
{
	const struct resource *last = NULL;
	bool any = false;

	for (size_t i = 0; i < snap->n; i++) {
		const struct resource *r = snap->points[i].stream->resource;
		if (!r || r == last)
			continue;
		last = r;
		if (!any) {
			/* OpenMetrics names an info family without its _info suffix. */
			if (openmetrics)
				fputs("# HELP target Target metadata\n# TYPE target info\n", out);
			else
				fputs("# HELP target_info Target metadata\n# TYPE target_info "
				      "gauge\n",
				      out);
			any = true;
		}
		bool first = true;
		fputs("target_info{", out);
		write_target_labels(out, &first, r);
		for (size_t k = 0; k < r->attrs.count; k++)
			write_resource_attr(out, &first, &r->attrs.items[k]);
		fputs("} 1\n", out);
	}
}

void prometheus_write_metrics(const struct metric_snapshot *snap, FILE *out, bool openmetrics)
{
	write_target_info(snap, out, openmetrics);
	for (int id = 0; id < METRIC_COUNT; id++)
		write_family(snap, (enum metric_id)id, out, openmetrics);
}
