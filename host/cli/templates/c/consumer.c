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

typedef wasm_bpf_bpf_records_column_t column_t;

/* Kept from `start` to the end: the records refer to them by index. */
static exports_wasm_bpf_bpf_sink_list_schema_t schemas;
static uint64_t count;

/* WIT strings are not NUL-terminated: print them with a length. */
static void print_string(const consumer_string_t *s)
{
	printf("%.*s", (int)s->len, (const char *)s->ptr);
}

/* How many values a column holds. */
static size_t column_len(const column_t *c)
{
	switch (c->tag) {
	case WASM_BPF_BPF_RECORDS_COLUMN_SIGNED:
		return c->val.signed_.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_UNSIGNED:
		return c->val.unsigned_.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_BOOLEAN:
		return c->val.boolean.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_TEXT:
		return c->val.text.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_ENUMERATOR:
		return c->val.enumerator.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_FLOAT:
		return c->val.float_.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_SIGNED_LIST:
		return c->val.signed_list.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_UNSIGNED_LIST:
		return c->val.unsigned_list.len;
	case WASM_BPF_BPF_RECORDS_COLUMN_BYTES:
		return c->val.bytes.len;
	}
	return 0;
}

/* Value `row` of a column: the field's value in record `row`. */
static void print_value(const column_t *c, size_t row)
{
	switch (c->tag) {
	case WASM_BPF_BPF_RECORDS_COLUMN_SIGNED:
		printf("%" PRId64, c->val.signed_.ptr[row]);
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_UNSIGNED:
		printf("%" PRIu64, c->val.unsigned_.ptr[row]);
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_BOOLEAN:
		fputs(c->val.boolean.ptr[row] ? "true" : "false", stdout);
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_TEXT:
		putchar('"');
		print_string(&c->val.text.ptr[row]);
		putchar('"');
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_ENUMERATOR:
		print_string(&c->val.enumerator.ptr[row]);
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_FLOAT:
		printf("%g", c->val.float_.ptr[row]);
		break;
	case WASM_BPF_BPF_RECORDS_COLUMN_SIGNED_LIST: {
		const consumer_list_s64_t *l = &c->val.signed_list.ptr[row];

		for (size_t i = 0; i < l->len; i++)
			printf("%s%" PRId64, i ? "," : "[", l->ptr[i]);
		putchar(']');
		break;
	}
	case WASM_BPF_BPF_RECORDS_COLUMN_UNSIGNED_LIST: {
		const consumer_list_u64_t *l = &c->val.unsigned_list.ptr[row];

		for (size_t i = 0; i < l->len; i++)
			printf("%s%" PRIu64, i ? "," : "[", l->ptr[i]);
		putchar(']');
		break;
	}
	case WASM_BPF_BPF_RECORDS_COLUMN_BYTES: {
		const consumer_list_u8_t *l = &c->val.bytes.ptr[row];

		for (size_t i = 0; i < l->len; i++)
			printf("%02x", l->ptr[i]);
		break;
	}
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

/* Records of one schema, stored by column: record `row` is value `row` of
 * every column. The batch is ours to free, as every argument of an export. */
void exports_wasm_bpf_bpf_sink_push(exports_wasm_bpf_bpf_sink_batch_t *batch)
{
	const exports_wasm_bpf_bpf_sink_schema_t *s;
	const wasm_bpf_bpf_records_list_column_t *columns = &batch->columns;

	if (batch->schema < schemas.len) {
		s = &schemas.ptr[batch->schema];
		for (size_t row = 0; row < batch->rows; row++) {
			print_string(&s->name);
			for (size_t f = 0; f < s->fields.len && f < columns->len; f++) {
				if (row >= column_len(&columns->ptr[f]))
					continue;
				putchar(' ');
				print_string(&s->fields.ptr[f].name);
				putchar('=');
				print_value(&columns->ptr[f], row);
			}
			putchar('\n');
		}
		count += batch->rows;
	}
	/* Each batch's lines out at once, also when stdout is a file. */
	fflush(stdout);
	exports_wasm_bpf_bpf_sink_batch_free(batch);
}

void exports_wasm_bpf_bpf_sink_finish(void)
{
	printf("%" PRIu64 " records\n", count);
	fflush(stdout);
	exports_wasm_bpf_bpf_sink_list_schema_free(&schemas);
}
