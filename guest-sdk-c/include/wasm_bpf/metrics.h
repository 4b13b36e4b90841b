/* The app's own Prometheus metrics (wit/metrics.wit), in libbpf's style:
 * `wasm-bpf run --metrics ADDR` serves them with the host's, each series
 * labelled as declared. As the Rust SDK's Counter, Gauge and Histogram.
 *
 *     static const char *const kind[] = { "kind", NULL };
 *     struct wasm_bpf_counter *events =
 *             wasm_bpf_counter__new("myapp_events_total", "Events seen.", kind);
 *
 *     wasm_bpf_counter__inc(events, (const char *[]){ "exec", NULL }, 1);
 *
 * Label names and values are NULL-terminated lists, the values in the
 * order of the names. Names follow Prometheus's rules and the host's
 * limits (a few hundred series per metric); a call that breaks them fails
 * with -EINVAL or -EMFILE and the host's message on the libbpf print
 * callback. Calls return 0 or a negative errno and set errno; the
 * constructors return NULL with errno set. */
#ifndef __WASM_BPF_METRICS_H
#define __WASM_BPF_METRICS_H

#include <stddef.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A count that only goes up. */
struct wasm_bpf_counter;
/* A value that goes up and down. */
struct wasm_bpf_gauge;
/* A distribution over buckets. */
struct wasm_bpf_histogram;

struct wasm_bpf_counter *wasm_bpf_counter__new(const char *name, const char *help,
					       const char *const *label_names);
/* Adds `by` to the series of these label values. */
int wasm_bpf_counter__inc(struct wasm_bpf_counter *counter, const char *const *label_values,
			  __u64 by);
/* Forgets the series of these label values. */
int wasm_bpf_counter__remove(struct wasm_bpf_counter *counter, const char *const *label_values);
/* Drops the counter; its series stay served until the app exits. */
void wasm_bpf_counter__free(struct wasm_bpf_counter *counter);

struct wasm_bpf_gauge *wasm_bpf_gauge__new(const char *name, const char *help,
					   const char *const *label_names);
int wasm_bpf_gauge__set(struct wasm_bpf_gauge *gauge, const char *const *label_values,
			double value);
int wasm_bpf_gauge__add(struct wasm_bpf_gauge *gauge, const char *const *label_values,
			double delta);
int wasm_bpf_gauge__remove(struct wasm_bpf_gauge *gauge, const char *const *label_values);
void wasm_bpf_gauge__free(struct wasm_bpf_gauge *gauge);

/* Buckets with these `bounds_cnt` upper bounds, ascending (+Inf is
 * added). */
struct wasm_bpf_histogram *wasm_bpf_histogram__new(const char *name, const char *help,
						   const char *const *label_names,
						   const double *bounds, size_t bounds_cnt);
/* Records `count` observations of `value`. */
int wasm_bpf_histogram__observe(struct wasm_bpf_histogram *histogram,
				const char *const *label_values, double value, __u64 count);
/* Adds a BPF log2 histogram's `slots_cnt` slots (slot k counts values in
 * [2^k, 2^(k+1)), as libbpf-tools' bits.bpf.h fills them): one
 * observation per slot at its highest value, so each lands in its bucket
 * of wasm_bpf_log2_bounds(). */
int wasm_bpf_histogram__observe_log2(struct wasm_bpf_histogram *histogram,
				     const char *const *label_values, const __u32 *slots,
				     size_t slots_cnt);
int wasm_bpf_histogram__remove(struct wasm_bpf_histogram *histogram,
			       const char *const *label_values);
void wasm_bpf_histogram__free(struct wasm_bpf_histogram *histogram);

/* Fills `bounds` with the `slots_cnt` bucket bounds that match a log2
 * histogram's slots: 1, 3, 7, 15, ... (2^(k+1) - 1). */
void wasm_bpf_log2_bounds(double *bounds, size_t slots_cnt);

#ifdef __cplusplus
}
#endif

#endif
