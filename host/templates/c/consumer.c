// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{name}}: a consumer for any probe. It prints each record on one line,
 * its kind then its fields as `name=value`, and a count at the end:
 *
 *     event pid=4242 ppid=4200 comm="sleep" filename="/usr/bin/sleep"
 *
 *     wasm-bpf run --sink {{ident}}.wasm PROBE.wasm [PROBE ARGS]
 *     wasm-bpf compose PROBE.wasm {{ident}}.wasm -o app.wasm
 *
 * It exports the `sink` of wasm-bpf:bpf (wit/records.wit), whose C
 * bindings `wasm-bpf gen c-bindings --wit wit --world consumer` writes.
 */
#include <inttypes.h>
#include <stdio.h>

#include "consumer.h"

typedef wasm_bpf_bpf_records_value_t value_t;

/* Kept from `start` to the end: the records refer to them by index. */
static exports_wasm_bpf_bpf_sink_list_schema_t schemas;
static uint64_t count;

/* WIT strings are not NUL-terminated: print them with a length. */
static void print_string(const consumer_string_t *s)
{
	printf("%.*s", (int)s->len, (const char *)s->ptr);
}

static void print_value(const value_t *v)
{
	switch (v->tag) {
	case WASM_BPF_BPF_RECORDS_VALUE_SIGNED:
		printf("%" PRId64, v->val.signed_);
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_UNSIGNED:
		printf("%" PRIu64, v->val.unsigned_);
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_BOOLEAN:
		fputs(v->val.boolean ? "true" : "false", stdout);
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_TEXT:
		putchar('"');
		print_string(&v->val.text);
		putchar('"');
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_ENUMERATOR:
		print_string(&v->val.enumerator);
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_FLOAT:
		printf("%g", v->val.float_);
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_SIGNED_LIST:
		for (size_t i = 0; i < v->val.signed_list.len; i++)
			printf("%s%" PRId64, i ? "," : "[", v->val.signed_list.ptr[i]);
		putchar(']');
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_UNSIGNED_LIST:
		for (size_t i = 0; i < v->val.unsigned_list.len; i++)
			printf("%s%" PRIu64, i ? "," : "[", v->val.unsigned_list.ptr[i]);
		putchar(']');
		break;
	case WASM_BPF_BPF_RECORDS_VALUE_BYTES:
		for (size_t i = 0; i < v->val.bytes.len; i++)
			printf("%02x", v->val.bytes.ptr[i]);
		break;
	}
}

/* The probe describes its records once; returning false with a message in
 * `err` would stop it. */
bool exports_wasm_bpf_bpf_sink_start(exports_wasm_bpf_bpf_sink_list_schema_t *list,
				     consumer_string_t *err)
{
	schemas = *list;
	return true;
}

/* The batch is ours to free, as with every argument of an export. */
void exports_wasm_bpf_bpf_sink_push(exports_wasm_bpf_bpf_sink_list_record_t *records)
{
	for (size_t i = 0; i < records->len; i++) {
		const exports_wasm_bpf_bpf_sink_record_t *r = &records->ptr[i];
		const exports_wasm_bpf_bpf_sink_schema_t *s;

		if (r->schema >= schemas.len)
			continue;
		s = &schemas.ptr[r->schema];
		print_string(&s->name);
		for (size_t f = 0; f < s->fields.len && f < r->values.len; f++) {
			putchar(' ');
			print_string(&s->fields.ptr[f].name);
			putchar('=');
			print_value(&r->values.ptr[f]);
		}
		putchar('\n');
	}
	count += records->len;
	/* Each batch's lines out at once, also when stdout is a file. */
	fflush(stdout);
	exports_wasm_bpf_bpf_sink_list_record_free(records);
}

void exports_wasm_bpf_bpf_sink_finish(void)
{
	printf("%" PRIu64 " records\n", count);
	fflush(stdout);
	exports_wasm_bpf_bpf_sink_list_schema_free(&schemas);
}
