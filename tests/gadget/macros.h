/* The marker macros and typed-field typedefs of Inspektor Gadget's
 * include/gadget/macros.h and types.h, as the test gadgets use them:
 * unused globals whose names describe the object to user space. */
#ifndef TEST_GADGET_MACROS_H
#define TEST_GADGET_MACROS_H

/* A ring or perf buffer `map` of `struct record`s. */
#define GADGET_TRACER(name, map, record) \
	const void *gadget_tracer_##name##___##map##___##record __attribute__((unused)); \
	const struct record *__gadget_tracer_type_##name __attribute__((unused));

/* A `const volatile` global set from user space before load. */
#define GADGET_PARAM(name) const void *gadget_param_##name __attribute__((unused));

/* A hash map drained every interval. */
#define GADGET_MAPITER(name, map) \
	const void *gadget_mapiter_##name##___##map __attribute__((unused));

/* A bpf_iter program writing `struct type`s. */
#define GADGET_ITER(name, type, prog) \
	const void *gadget_iter_##name##___##type##___##prog __attribute__((unused)); \
	const struct type *unusedevent_##name##___##type __attribute__((unused));

typedef __u32 gadget_errno;
typedef __u32 gadget_signal;
typedef __u32 gadget_histogram_slot__u32;

#endif
