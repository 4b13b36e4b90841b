// lifetimes-js: a consumer in JavaScript for bootstrap's probe (or any
// probe whose records have comm, pid, duration_ns and exit_event). It
// prints each process that ran for at least LIFETIMES_MIN_MS milliseconds
// (default 100) when it exits, and how many there were when the probe
// finishes:
//
//     wasm-bpf run --env LIFETIMES_MIN_MS=50 --sink lifetimes-js.wasm bootstrap-probe.wasm
//
// Built with componentize-js from the repository's WIT (see the
// Makefile): the world wasm-bpf:bpf/script-consumer, whose `sink` is the object
// exported below.

import { getEnvironment } from "wasi:cli/environment@0.2.12";

let fields = [];
let minNs = 100n * 1000000n;
let long = 0;

// Record `row` of a batch by field name: batches hold records of one
// schema by column, and record `row` is value `row` of every column.
function named(batch, row) {
  const names = fields[batch.schema] ?? [];
  const values = {};
  names.forEach((name, i) => {
    values[name] = batch.columns[i]?.val[row];
  });
  return values;
}

export const sink = {
  start(schemas) {
    fields = schemas.map((schema) => schema.fields.map((field) => field.name));
    const wanted = ["comm", "pid", "duration_ns", "exit_event"];
    if (!fields.some((names) => wanted.every((name) => names.includes(name)))) {
      throw `lifetimes-js: the records lack one of ${wanted.join(", ")}`;
    }
    const min = getEnvironment().find(([name]) => name === "LIFETIMES_MIN_MS")?.[1];
    if (min !== undefined) {
      minNs = BigInt(min) * 1000000n;
    }
    console.log(`${"COMM".padEnd(16)} ${"PID".padStart(7)} ${"LIFETIME_MS".padStart(12)}`);
  },

  push(batch) {
    for (let row = 0; row < batch.rows; row++) {
      const r = named(batch, row);
      if (r.exit_event && r.duration_ns >= minNs) {
        long += 1;
        const ms = Number(r.duration_ns / 1000n) / 1000;
        console.log(`${r.comm.padEnd(16)} ${String(r.pid).padStart(7)} ${ms.toFixed(1).padStart(12)}`);
      }
    }
  },

  finish() {
    console.log(`${long} processes ran for ${minNs / 1000000n} ms or more`);
  },
};
