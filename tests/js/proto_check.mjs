// node tests/js/proto_check.mjs SCHEMA_MODULE: checks static/js/proto.js against the golden frames (see
// frames_check.mjs). Prints "N passed, M failed" and exits non-zero on a failure. Run by tests/proto.rs.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { schema } = await import(pathToFileURL(process.argv[2]).href);
const { Codec } = await import(new URL("../../static/js/proto.js", import.meta.url).href);
const { checkFrames } = await import(new URL("./frames_check.mjs", import.meta.url).href);
const frames = JSON.parse(readFileSync(new URL("./frames.json", import.meta.url), "utf8"));
const failures = checkFrames(Codec, schema, frames);
for (const f of failures) console.log("FAIL " + f);
console.log(`${frames.length - new Set(failures.map((f) => f.split(/[:.]/)[0])).size} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
