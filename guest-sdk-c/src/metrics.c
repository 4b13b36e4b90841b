/* <wasm_bpf/metrics.h> over the WIT's metrics resources. */
#include <stdlib.h>
#include <wasm_bpf/metrics.h>

#include "internal.h"

struct wasm_bpf_counter {
	wasm_bpf_bpf_metrics_own_counter_t handle;
};

struct wasm_bpf_gauge {
	wasm_bpf_bpf_metrics_own_gauge_t handle;
};

struct wasm_bpf_histogram {
	wasm_bpf_bpf_metrics_own_histogram_t handle;
};

/* A NULL-terminated list of strings as a WIT list that borrows them; the
 * array is the caller's to free. */
static int strings(const char *const *list, bpf_app_list_string_t *out)
{
	size_t n = 0, i;

	while (list && list[n])
		n++;
	out->len = n;
	out->ptr = n ? calloc(n, sizeof(*out->ptr)) : NULL;
	if (n && !out->ptr)
		return wbpf_err(-ENOMEM);
	for (i = 0; i < n; i++)
		out->ptr[i] = wbpf_str(list[i]);
	return 0;
}

/* Runs a call that takes label values; 0 or -errno. */
#define WITH_VALUES(values, call)                                  \
	({                                                         \
		bpf_app_list_string_t list_;                       \
		wbpf_error_t e_;                                   \
		int err_ = strings(values, &list_);                \
		if (!err_) {                                       \
			bool ok_ = call(&list_, &e_);              \
			free(list_.ptr);                           \
			err_ = ok_ ? 0 : wbpf_fail(&e_);           \
		}                                                  \
		err_;                                              \
	})

enum kind { COUNTER, GAUGE, HISTOGRAM };

/* Declares a metric of `kind`: its handle, or -errno. */
static int declare(enum kind kind, const char *name, const char *help,
		   const char *const *label_names, const double *bounds, size_t bounds_cnt,
		   int32_t *handle)
{
	bpf_app_string_t n = wbpf_str(name), h = wbpf_str(help);
	bpf_app_list_f64_t b = { .ptr = (double *)bounds, .len = bounds_cnt };
	bpf_app_list_string_t labels;
	wasm_bpf_bpf_metrics_own_counter_t counter;
	wasm_bpf_bpf_metrics_own_gauge_t gauge;
	wasm_bpf_bpf_metrics_own_histogram_t histogram;
	wbpf_error_t e;
	bool ok = false;
	int err;

	if (!name || !help || (bounds_cnt && !bounds))
		return wbpf_err(-EINVAL);
	err = strings(label_names, &labels);
	if (err)
		return err;
	switch (kind) {
	case COUNTER:
		ok = wasm_bpf_bpf_metrics_declare_counter(&n, &h, &labels, &counter, &e);
		*handle = counter.__handle;
		break;
	case GAUGE:
		ok = wasm_bpf_bpf_metrics_declare_gauge(&n, &h, &labels, &gauge, &e);
		*handle = gauge.__handle;
		break;
	case HISTOGRAM:
		ok = wasm_bpf_bpf_metrics_declare_histogram(&n, &h, &labels, &b, &histogram, &e);
		*handle = histogram.__handle;
		break;
	}
	free(labels.ptr);
	return ok ? 0 : wbpf_fail(&e);
}

/* The handle in a new wrapper, or NULL (the handle dropped). */
static void *wrap(int32_t handle, size_t size, void (*drop)(int32_t))
{
	int32_t *wrapper = malloc(size);

	if (!wrapper) {
		drop(handle);
		return wbpf_err_ptr(-ENOMEM);
	}
	*wrapper = handle;
	return wrapper;
}

static void drop_counter(int32_t handle)
{
	wasm_bpf_bpf_metrics_counter_drop_own((wasm_bpf_bpf_metrics_own_counter_t){ handle });
}

static void drop_gauge(int32_t handle)
{
	wasm_bpf_bpf_metrics_gauge_drop_own((wasm_bpf_bpf_metrics_own_gauge_t){ handle });
}

static void drop_histogram(int32_t handle)
{
	wasm_bpf_bpf_metrics_histogram_drop_own((wasm_bpf_bpf_metrics_own_histogram_t){ handle });
}

struct wasm_bpf_counter *wasm_bpf_counter__new(const char *name, const char *help,
					       const char *const *label_names)
{
	int32_t handle;
	int err = declare(COUNTER, name, help, label_names, NULL, 0, &handle);

	return err ? NULL : wrap(handle, sizeof(struct wasm_bpf_counter), drop_counter);
}

int wasm_bpf_counter__inc(struct wasm_bpf_counter *counter, const char *const *label_values,
			  __u64 by)
{
	if (!counter)
		return wbpf_err(-EINVAL);
#define INC(list, e)                                                                          \
	wasm_bpf_bpf_metrics_method_counter_inc(                                              \
		wasm_bpf_bpf_metrics_borrow_counter(counter->handle), list, by, e)
	return WITH_VALUES(label_values, INC);
#undef INC
}

int wasm_bpf_counter__remove(struct wasm_bpf_counter *counter, const char *const *label_values)
{
	if (!counter)
		return wbpf_err(-EINVAL);
#define REMOVE(list, e)                                                                       \
	wasm_bpf_bpf_metrics_method_counter_remove(                                           \
		wasm_bpf_bpf_metrics_borrow_counter(counter->handle), list, e)
	return WITH_VALUES(label_values, REMOVE);
#undef REMOVE
}

void wasm_bpf_counter__free(struct wasm_bpf_counter *counter)
{
	if (!counter)
		return;
	drop_counter(counter->handle.__handle);
	free(counter);
}

struct wasm_bpf_gauge *wasm_bpf_gauge__new(const char *name, const char *help,
					   const char *const *label_names)
{
	int32_t handle;
	int err = declare(GAUGE, name, help, label_names, NULL, 0, &handle);

	return err ? NULL : wrap(handle, sizeof(struct wasm_bpf_gauge), drop_gauge);
}

int wasm_bpf_gauge__set(struct wasm_bpf_gauge *gauge, const char *const *label_values,
			double value)
{
	if (!gauge)
		return wbpf_err(-EINVAL);
#define SET(list, e)                                                                          \
	wasm_bpf_bpf_metrics_method_gauge_set(wasm_bpf_bpf_metrics_borrow_gauge(gauge->handle), \
					      list, value, e)
	return WITH_VALUES(label_values, SET);
#undef SET
}

int wasm_bpf_gauge__add(struct wasm_bpf_gauge *gauge, const char *const *label_values,
			double delta)
{
	if (!gauge)
		return wbpf_err(-EINVAL);
#define ADD(list, e)                                                                          \
	wasm_bpf_bpf_metrics_method_gauge_add(wasm_bpf_bpf_metrics_borrow_gauge(gauge->handle), \
					      list, delta, e)
	return WITH_VALUES(label_values, ADD);
#undef ADD
}

int wasm_bpf_gauge__remove(struct wasm_bpf_gauge *gauge, const char *const *label_values)
{
	if (!gauge)
		return wbpf_err(-EINVAL);
#define REMOVE(list, e)                                                                       \
	wasm_bpf_bpf_metrics_method_gauge_remove(                                             \
		wasm_bpf_bpf_metrics_borrow_gauge(gauge->handle), list, e)
	return WITH_VALUES(label_values, REMOVE);
#undef REMOVE
}

void wasm_bpf_gauge__free(struct wasm_bpf_gauge *gauge)
{
	if (!gauge)
		return;
	drop_gauge(gauge->handle.__handle);
	free(gauge);
}

struct wasm_bpf_histogram *wasm_bpf_histogram__new(const char *name, const char *help,
						   const char *const *label_names,
						   const double *bounds, size_t bounds_cnt)
{
	int32_t handle;
	int err = declare(HISTOGRAM, name, help, label_names, bounds, bounds_cnt, &handle);

	return err ? NULL : wrap(handle, sizeof(struct wasm_bpf_histogram), drop_histogram);
}

int wasm_bpf_histogram__observe(struct wasm_bpf_histogram *histogram,
				const char *const *label_values, double value, __u64 count)
{
	if (!histogram)
		return wbpf_err(-EINVAL);
#define OBSERVE(list, e)                                                                      \
	wasm_bpf_bpf_metrics_method_histogram_observe(                                        \
		wasm_bpf_bpf_metrics_borrow_histogram(histogram->handle), list, value, count, e)
	return WITH_VALUES(label_values, OBSERVE);
#undef OBSERVE
}

/* The highest value of log2 slot `slot`. */
static double log2_high(size_t slot)
{
	return (double)((2ULL << slot) - 1);
}

int wasm_bpf_histogram__observe_log2(struct wasm_bpf_histogram *histogram,
				     const char *const *label_values, const __u32 *slots,
				     size_t slots_cnt)
{
	size_t slot;
	int err;

	if (!histogram || (slots_cnt && !slots) || slots_cnt > 63)
		return wbpf_err(-EINVAL);
	for (slot = 0; slot < slots_cnt; slot++) {
		if (!slots[slot])
			continue;
		err = wasm_bpf_histogram__observe(histogram, label_values, log2_high(slot),
						  slots[slot]);
		if (err)
			return err;
	}
	return 0;
}

int wasm_bpf_histogram__remove(struct wasm_bpf_histogram *histogram,
			       const char *const *label_values)
{
	if (!histogram)
		return wbpf_err(-EINVAL);
#define REMOVE(list, e)                                                                       \
	wasm_bpf_bpf_metrics_method_histogram_remove(                                         \
		wasm_bpf_bpf_metrics_borrow_histogram(histogram->handle), list, e)
	return WITH_VALUES(label_values, REMOVE);
#undef REMOVE
}

void wasm_bpf_histogram__free(struct wasm_bpf_histogram *histogram)
{
	if (!histogram)
		return;
	drop_histogram(histogram->handle.__handle);
	free(histogram);
}

void wasm_bpf_log2_bounds(double *bounds, size_t slots_cnt)
{
	size_t slot;

	for (slot = 0; slot < slots_cnt && slot < 63; slot++)
		bounds[slot] = log2_high(slot);
}
