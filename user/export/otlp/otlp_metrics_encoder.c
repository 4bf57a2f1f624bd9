// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* otlp_metrics_encoder.c - metric snapshots to ExportMetricsServiceRequest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_json.h"
#include "export/otlp/otlp_metrics_encoder.h"
#include "export/otlp/otlp_proto_common.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope InstrumentationScope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics ResourceMetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics ScopeMetrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum Sum;
typedef Opentelemetry__Proto__Metrics__V1__Histogram Histogram;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistogramDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar Exemplar;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest ExportRequest;

#define M(x) OPENTELEMETRY__PROTO__METRICS__V1__##x

static KeyValue *new_kv(struct otlp_arena *a, const char *key, const struct attribute *attr)
{
	KeyValue *kv = otlp_arena_alloc(a, sizeof(*kv));
	if (!kv)
		return NULL;
	*kv = (KeyValue)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
	kv->key = otlp_wire_string(key);
	kv->value = otlp_new_any_value(a, attr);
	return kv->value ? kv : NULL;
}

static int point_attributes(struct otlp_arena *a, const struct metric_stream *st, KeyValue ***out,
			    size_t *n)
{
	size_t count = st->overflow ? 1 : st->attrs.n;
	*n = 0;
	*out = count ? otlp_arena_alloc(a, count * sizeof(**out)) : NULL;
	if (count && !*out)
		return -ENOMEM;
	if (st->overflow) {
		struct attribute t = {.key = "otel.metric.overflow", .type = ATTR_BOOL, .b = true};
		(*out)[0] = new_kv(a, t.key, &t);
		*n = (*out)[0] ? 1 : 0;
		return *n ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct metric_attr *m = &st->attrs.a[i];
		struct attribute t = {.key = m->key};
		if (m->str) {
			t.type = ATTR_STRING;
			t.str = (char *)m->str;
			t.str_len = strlen(m->str);
		} else {
			t.type = ATTR_INT;
			t.i = m->i;
		}
		if (!((*out)[i] = new_kv(a, m->key, &t)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static NumberDataPoint *counter_point(struct otlp_arena *a, const struct metric_point *p)
{
	NumberDataPoint *d = otlp_arena_alloc(a, sizeof(*d));
	if (!d)
		return NULL;
	*d = (NumberDataPoint)M(NUMBER_DATA_POINT__INIT);
	d->start_time_unix_nano = p->start_unix_ns;
	d->time_unix_nano = p->time_unix_ns;
	d->value_case = M(NUMBER_DATA_POINT__VALUE_AS_INT);
	d->as_int = (int64_t)p->h.count;
	return point_attributes(a, p->stream, &d->attributes, &d->n_attributes) ? NULL : d;
}

static int exemplars(struct otlp_arena *a, const struct histogram *h, size_t n_buckets,
		     HistogramDataPoint *d)
{
	size_t n = 0;
	for (size_t i = 0; i < n_buckets; i++)
		n += h->exemplars[i].time_unix_ns != 0;
	if (!n)
		return 0;
	d->exemplars = otlp_arena_alloc(a, n * sizeof(*d->exemplars));
	if (!d->exemplars)
		return -ENOMEM;
	for (size_t i = 0; i < n_buckets; i++) {
		const struct exemplar *e = &h->exemplars[i];
		if (!e->time_unix_ns)
			continue;
		Exemplar *x = otlp_arena_alloc(a, sizeof(*x));
		uint8_t *ids = otlp_arena_alloc(a, sizeof(e->trace_id) + sizeof(e->span_id));
		if (!x || !ids)
			return -ENOMEM;
		*x = (Exemplar)M(EXEMPLAR__INIT);
		memcpy(ids, e->trace_id, sizeof(e->trace_id));
		memcpy(ids + sizeof(e->trace_id), e->span_id, sizeof(e->span_id));
		x->trace_id = (ProtobufCBinaryData){sizeof(e->trace_id), ids};
		x->span_id = (ProtobufCBinaryData){sizeof(e->span_id), ids + sizeof(e->trace_id)};
		x->time_unix_nano = e->time_unix_ns;
		x->value_case = M(EXEMPLAR__VALUE_AS_DOUBLE);
		x->as_double = e->value;
		d->exemplars[d->n_exemplars++] = x;
	}
	return 0;
}

static HistogramDataPoint *histogram_point(struct otlp_arena *a, const struct metric_point *p,
					   const struct metric_desc *desc, bool delta)
{
	HistogramDataPoint *d = otlp_arena_alloc(a, sizeof(*d));
	size_t n_buckets = desc->n_bounds + 1;
	if (!d)
		return NULL;
	*d = (HistogramDataPoint)M(HISTOGRAM_DATA_POINT__INIT);
	d->start_time_unix_nano = p->start_unix_ns;
	d->time_unix_nano = p->time_unix_ns;
	d->count = p->h.count;
	d->_sum_case = M(HISTOGRAM_DATA_POINT___SUM_SUM);
	d->sum = p->h.sum;
	/* min and max of a delta interval are not known from cumulative values. */
	if (!delta && p->h.count) {
		d->_min_case = M(HISTOGRAM_DATA_POINT___MIN_MIN);
		d->min = p->h.min;
		d->_max_case = M(HISTOGRAM_DATA_POINT___MAX_MAX);
		d->max = p->h.max;
	}
	d->bucket_counts = otlp_arena_alloc(a, n_buckets * sizeof(uint64_t));
	d->explicit_bounds = otlp_arena_alloc(a, desc->n_bounds * sizeof(double));
	if (!d->bucket_counts || !d->explicit_bounds)
		return NULL;
	memcpy(d->bucket_counts, p->h.counts, n_buckets * sizeof(uint64_t));
	d->n_bucket_counts = n_buckets;
	memcpy(d->explicit_bounds, desc->bounds, desc->n_bounds * sizeof(double));
	d->n_explicit_bounds = desc->n_bounds;
	if (exemplars(a, &p->h, n_buckets, d))
		return NULL;
	return point_attributes(a, p->stream, &d->attributes, &d->n_attributes) ? NULL : d;
}

/* points[0..n): one metric's points. */
static Metric *encode_metric(struct otlp_arena *a, const struct metric_point *points, size_t n,
			     bool delta)
{
	const struct metric_desc *desc = &metric_descs[points[0].stream->id];
	int temporality = delta ? M(AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA)
				: M(AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
	Metric *m = otlp_arena_alloc(a, sizeof(*m));
	if (!m)
		return NULL;
	*m = (Metric)M(METRIC__INIT);
	m->name = otlp_wire_string(desc->name);
	m->description = otlp_wire_string(desc->description);
	m->unit = otlp_wire_string(desc->unit);
	if (desc->counter) {
		Sum *s = otlp_arena_alloc(a, sizeof(*s));
		NumberDataPoint **dp = otlp_arena_alloc(a, n * sizeof(*dp));
		if (!s || !dp)
			return NULL;
		*s = (Sum)M(SUM__INIT);
		s->aggregation_temporality = temporality;
		s->is_monotonic = true;
		for (size_t i = 0; i < n; i++)
			if (!(dp[i] = counter_point(a, &points[i])))
				return NULL;
		s->data_points = dp;
		s->n_data_points = n;
		m->data_case = M(METRIC__DATA_SUM);
		m->sum = s;
		return m;
	}
	Histogram *h = otlp_arena_alloc(a, sizeof(*h));
	HistogramDataPoint **dp = otlp_arena_alloc(a, n * sizeof(*dp));
	if (!h || !dp)
		return NULL;
	*h = (Histogram)M(HISTOGRAM__INIT);
	h->aggregation_temporality = temporality;
	for (size_t i = 0; i < n; i++)
		if (!(dp[i] = histogram_point(a, &points[i], desc, delta)))
			return NULL;
	h->data_points = dp;
	h->n_data_points = n;
	m->data_case = M(METRIC__DATA_HISTOGRAM);
	m->histogram = h;
	return m;
}

/* points[0..n): one resource's points, metric by metric. */
static ResourceMetrics *encode_resource(struct otlp_arena *a, InstrumentationScope *scope,
					const struct metric_point *points, size_t n, bool delta)
{
	ResourceMetrics *rm = otlp_arena_alloc(a, sizeof(*rm));
	ScopeMetrics *sm = otlp_arena_alloc(a, sizeof(*sm));
	ScopeMetrics **sms = otlp_arena_alloc(a, sizeof(*sms));
	Metric **metrics = otlp_arena_alloc(a, METRIC_COUNT * sizeof(*metrics));
	const struct resource *r = points[0].stream->resource;
	if (!rm || !sm || !sms || !metrics)
		return NULL;
	*rm = (ResourceMetrics)M(RESOURCE_METRICS__INIT);
	*sm = (ScopeMetrics)M(SCOPE_METRICS__INIT);
	sm->scope = scope;
	sm->metrics = metrics;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && points[j].stream->id == points[i].stream->id; j++)
			;
		if (!(metrics[sm->n_metrics++] = encode_metric(a, points + i, j - i, delta)))
			return NULL;
	}
	sms[0] = sm;
	rm->scope_metrics = sms;
	rm->n_scope_metrics = 1;
	if (r) {
		Resource *res = otlp_arena_alloc(a, sizeof(*res));
		if (!res)
			return NULL;
		*res = (Resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
		if (otlp_encode_attributes(a, &r->attrs, &res->attributes, &res->n_attributes))
			return NULL;
		rm->resource = res;
	}
	return rm;
}

static int build_request(struct otlp_arena *a, const struct metric_snapshot *snap,
			 ExportRequest *req)
{
	static char scope_name[] = OTLP_SCOPE_NAME;
	static char scope_version[] = KSPAN_VERSION;
	size_t n_res = 0;
	if (!snap->n)
		return 0;
	for (size_t i = 0; i < snap->n; i++)
		n_res +=
		    !i || snap->points[i].stream->resource != snap->points[i - 1].stream->resource;
	InstrumentationScope *scope = otlp_arena_alloc(a, sizeof(*scope));
	req->resource_metrics = otlp_arena_alloc(a, n_res * sizeof(*req->resource_metrics));
	if (!scope || !req->resource_metrics)
		return -ENOMEM;
	*scope =
	    (InstrumentationScope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	scope->name = scope_name;
	scope->version = scope_version;
	for (size_t i = 0, j; i < snap->n; i = j) {
		for (j = i; j < snap->n &&
			    snap->points[j].stream->resource == snap->points[i].stream->resource;
		     j++)
			;
		ResourceMetrics *rm =
		    encode_resource(a, scope, snap->points + i, j - i, snap->delta);
		if (!rm)
			return -ENOMEM;
		req->resource_metrics[req->n_resource_metrics++] = rm;
	}
	return 0;
}

int otlp_encode_metrics(const struct metric_snapshot *snap, bool json, uint8_t **out,
			size_t *out_len)
{
	struct otlp_arena arena = {0};
	ExportRequest req =
	    OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
	int err = build_request(&arena, snap, &req);

	*out = NULL;
	*out_len = 0;
	if (!err && json) {
		err = otlp_json_write(&req.base, (char **)out, out_len);
	} else if (!err) {
		size_t len =
		    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(
			&req);
		*out = malloc(len ? len : 1);
		if (*out)
			*out_len =
			    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(
				&req, *out);
		else
			err = -ENOMEM;
	}
	otlp_arena_free(&arena);
	return err;
}
