'use strict';
// Conformance driver for the JavaScript client of the dapr-chaos app protocol: executes a
// script of operations read from stdin (see ../README.md).

const fs = require('node:fs');
const path = require('node:path');

const chaos = require(path.join(__dirname, '..', '..', '..', 'harness', 'app', 'clients', 'js', 'daprchaos.js'));

function say(line) {
  fs.writeSync(1, JSON.stringify(line) + '\n'); // synchronous: out before a crash
}

function fail(message) {
  process.stderr.write(`driver: ${message}\n`);
  process.exit(2);
}

async function main() {
  const ops = fs
    .readFileSync(0, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
  const open = [];
  const current = () => (open.length ? open[open.length - 1] : undefined);
  for (const op of ops) {
    switch (op.op) {
      case 'invocation':
        open.push(chaos.invocation(op.activity, op.workflow_id, op.task_execution_id, op.task_id));
        break;
      case 'end':
        if (!open.length) fail("'end' without an open invocation");
        open.pop().end(op.outcome);
        break;
      case 'effect':
        chaos.effect(op.kind, op.subject, op.application, op.details, current());
        break;
      case 'failpoint': {
        const started = process.hrtime.bigint();
        let error = null;
        try {
          await chaos.failpoint(op.name, current());
        } catch (err) {
          if (!(err instanceof chaos.FailpointError)) throw err;
          error = err.message;
        }
        say({ name: op.name, error, elapsed: Number(process.hrtime.bigint() - started) / 1e9 });
        break;
      }
      default:
        fail(`unknown operation ${JSON.stringify(op.op)}`);
    }
  }
  if (open.length) fail('script ended inside an invocation');
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
