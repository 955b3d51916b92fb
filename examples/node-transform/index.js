// A JSON transform (CommonJS): renames, drops and defaults fields of every record in the event.
//   event: {"records": [...], "rename": {"old": "new"}, "drop": ["field"], "defaults": {"f": v}}
'use strict';

function transformRecord(record, { rename = {}, drop = [], defaults = {} }) {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(record)) {
    if (drop.includes(key)) continue;
    out[rename[key] ?? key] = value;
  }
  return out;
}

exports.handler = async (event) => {
  if (!event || !Array.isArray(event.records)) {
    throw new TypeError('event.records must be an array');
  }
  const records = event.records.map((r) => transformRecord(r, event));
  console.log(`transformed ${records.length} records`);
  return { count: records.length, records };
};
