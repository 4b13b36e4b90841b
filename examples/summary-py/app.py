"""summary-py: a consumer for any probe, in Python. It groups records by
one field and prints, when the probe finishes, how many records each
value had and the average and largest of a numeric field:

    wasm-bpf run --env SUMMARY_BY=comm --env SUMMARY_OF=duration_ns \\
        --sink summary-py.wasm bootstrap-probe.wasm -t 10

* SUMMARY_BY: the field to group by (default `comm`);
* SUMMARY_OF: an integer or float field to average (optional).

Built with componentize-py from the repository's WIT (see the Makefile):
the `wasm-bpf:bpf/consumer` world, whose `sink` this module's `Sink`
class implements.
"""

import os

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import records


NUMBERS = (records.Column_Signed, records.Column_Unsigned, records.Column_Float)
TEXTS = (records.Column_Text, records.Column_Enumerator)


def numbers(column):
    """The values of a numeric column, or None."""
    return column.value if isinstance(column, NUMBERS) else None


def texts(column):
    """The values of a column as text."""
    return column.value if isinstance(column, TEXTS) else [str(v) for v in column.value]


class Summary:
    """The table so far, grouped by SUMMARY_BY."""

    def __init__(self):
        self.key = {}
        self.of = {}
        self.rows = {}
        self.by_name = "comm"
        self.of_name = None

    def start(self, schemas):
        by = os.environ.get("SUMMARY_BY", "comm")
        of = os.environ.get("SUMMARY_OF")
        self.by_name, self.of_name = by, of
        for index, schema in enumerate(schemas):
            names = [field.name for field in schema.fields]
            if by in names:
                self.key[index] = names.index(by)
            if of is not None and of in names:
                self.of[index] = names.index(of)
        if not self.key:
            raise Err(f"summary-py: SUMMARY_BY: the records have no field `{by}`")
        if of is not None and not self.of:
            raise Err(f"summary-py: SUMMARY_OF: the records have no field `{of}`")

    def push(self, batch):
        """Records of one schema, by column: record i is value i of each."""
        key_at = self.key.get(batch.schema)
        if key_at is None or key_at >= len(batch.columns):
            return
        keys = texts(batch.columns[key_at])[: batch.rows]
        of_at = self.of.get(batch.schema)
        values = None
        if of_at is not None and of_at < len(batch.columns):
            values = numbers(batch.columns[of_at])
        for i, key in enumerate(keys):
            row = self.rows.setdefault(key, [0, 0, 0])
            row[0] += 1
            if values is not None and i < len(values):
                row[1] += values[i]
                row[2] = max(row[2], values[i])

    def finish(self):
        header = f"{self.by_name.upper():<24} {'COUNT':>8}"
        if self.of_name:
            header += f" {'AVG ' + self.of_name:>20} {'MAX ' + self.of_name:>20}"
        print(header)
        for key, (count, total, largest) in sorted(
            self.rows.items(), key=lambda item: (-item[1][0], item[0])
        ):
            line = f"{key:<24} {count:>8}"
            if self.of_name:
                line += f" {total / count:>20.0f} {largest:>20}"
            print(line, flush=True)


# componentize-py makes a new `Sink` for each call, so the state lives
# here, once per component instance.
SUMMARY = Summary()


class Sink(exports.Sink):
    def start(self, schemas):
        SUMMARY.start(schemas)

    def push(self, batch):
        SUMMARY.push(batch)

    def finish(self):
        SUMMARY.finish()
