'use strict';
/**
 * The JavaScript client of the dapr-chaos app protocol (harness/app/PROTOCOL.md in
 * dapr-chaos): records activity invocations and business effects in the run's ledger and
 * obeys the harness's failpoints. CommonJS, Node >= 18, no dependencies.
 *
 *   const chaos = require('./daprchaos');
 *   const scope = chaos.invocation('ProcessPaymentActivity', instanceId, taskExecutionId, taskId);
 *   try {
 *     await scope.failpoint('ProcessPaymentActivity.before');
 *     // apply the effect idempotently, then:
 *     scope.effect('payment.charged', orderId, application, { cents });
 *     await scope.failpoint('ProcessPaymentActivity.after');
 *     scope.end('ok');
 *   } catch (err) { scope.end('error'); throw err; }
 *
 * Outside dapr-chaos (DAPR_CHAOS_LEDGER and DAPR_CHAOS_FAILPOINTS unset) every call is a
 * no-op. An unarmed failpoint costs one stat(2) of armed.json, re-read only when it
 * changed. Ledger writes are synchronous, one write(2) per record; failpoint() returns a
 * promise (a delay must not block the event loop): await it.
 */

const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const LEDGER_ENV = 'DAPR_CHAOS_LEDGER';
const FAILPOINTS_ENV = 'DAPR_CHAOS_FAILPOINTS';
const ARMED_FILE = 'armed.json';
const EVERY = '*';
const ARMING_KEYS = ['action', 'nth', 'count', 'probability', 'seconds', 'seed'];

/** What a failpoint armed with "raise" rejects with: let it fail the activity. */
class FailpointError extends Error {
  constructor(name, hit) {
    super(`failpoint ${name} raised (hit ${hit})`);
    this.name = 'FailpointError';
    this.failpoint = name;
    this.hit = hit;
  }
}

/** Epoch seconds (float) with sub-millisecond precision. */
function now() {
  return (performance.timeOrigin + performance.now()) / 1000;
}

// -- the ledger ------------------------------------------------------------------------

let ledgerFd = null;
let ledgerPath = null;

function appendRecord(record) {
  const file = process.env[LEDGER_ENV];
  if (!file) return;
  if (ledgerFd === null || ledgerPath !== file) {
    if (ledgerFd !== null) fs.closeSync(ledgerFd);
    ledgerFd = fs.openSync(file, 'a', 0o600); // O_WRONLY | O_APPEND | O_CREAT
    ledgerPath = file;
  }
  const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
  // One write(2) of the whole line: records never interleave with other writers'.
  const written = fs.writeSync(ledgerFd, line);
  if (written !== line.length) {
    throw new Error(`short write to the dapr-chaos ledger (${written}/${line.length} bytes)`);
  }
}

/** Details with what JSON cannot carry (NaN, infinities, BigInt) as its string form. */
function encodable(details) {
  const out = {};
  for (const [key, value] of Object.entries(details || {})) {
    if (typeof value === 'bigint' || (typeof value === 'number' && !Number.isFinite(value))) {
      out[key] = String(value);
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

/** One activity execution: what effect and failpoint records name. */
class Scope {
  constructor(activity, workflowId, taskExecutionId, taskId) {
    this.activity = String(activity);
    this.workflowId = String(workflowId);
    this.taskExecutionId = String(taskExecutionId ?? '');
    this.taskId = Number.isInteger(taskId) ? taskId : -1;
  }

  /** Record the end of the invocation: outcome 'ok' or 'error'. */
  end(outcome) {
    appendRecord({
      type: 'invocation_end',
      ts: now(),
      pid: process.pid,
      activity: this.activity,
      workflow_id: this.workflowId,
      task_execution_id: this.taskExecutionId,
      outcome,
    });
  }

  /** effect(kind, subject, application, details, this). */
  effect(kind, subject, application, details) {
    effect(kind, subject, application, details, this);
  }

  /** failpoint(name, this). */
  failpoint(name) {
    return failpoint(name, this);
  }
}

/**
 * Record the start of one execution of an activity and return its scope; call
 * scope.end() when the activity returns or throws. taskId is the task's sequence number
 * in the history (-1 if unknown), taskExecutionId '' if the SDK does not expose it.
 */
function invocation(activity, workflowId, taskExecutionId, taskId) {
  const scope = new Scope(activity, workflowId, taskExecutionId, taskId);
  appendRecord({
    type: 'invocation',
    ts: now(),
    pid: process.pid,
    activity: scope.activity,
    workflow_id: scope.workflowId,
    task_execution_id: scope.taskExecutionId,
    task_id: scope.taskId,
  });
  return scope;
}

/**
 * Record one applied business effect, right after it is committed. application
 * identifies this application (e.g. '<idempotency key>#<n>' from an idempotent store):
 * records with the same (kind, subject, application) count once, so record on every
 * execution. null/undefined: every record counts as one more application. scope: the
 * enclosing activity execution, or nothing outside one.
 */
function effect(kind, subject, application, details, scope) {
  appendRecord({
    type: 'effect',
    ts: now(),
    pid: process.pid,
    kind,
    subject,
    application: application ?? null,
    activity: scope ? scope.activity : null,
    workflow_id: scope ? scope.workflowId : null,
    task_execution_id: scope ? scope.taskExecutionId : null,
    details: encodable(details),
  });
}

// -- failpoints ------------------------------------------------------------------------

let armedKey = null;
let armedDir = null;
let armedSpecs = null;

function validArming(spec) {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return false;
  const keys = Object.keys(spec).filter((k) => k !== 'instances'); // optional
  if (keys.length !== ARMING_KEYS.length || !ARMING_KEYS.every((k) => keys.includes(k))) {
    return false;
  }
  if (spec.instances !== undefined && typeof spec.instances !== 'string') return false;
  return (
    typeof spec.action === 'string' &&
    Number.isInteger(spec.nth) &&
    (spec.count === null || Number.isInteger(spec.count)) &&
    typeof spec.probability === 'number' &&
    typeof spec.seconds === 'number' &&
    Number.isInteger(spec.seed)
  );
}

/** The current arming; null when nothing is armed or armed.json cannot be read. */
function currentArming(dir) {
  const file = path.join(dir, ARMED_FILE);
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return null;
  const key = `${st.ino}:${st.mtimeNs}`;
  if (key === armedKey && dir === armedDir) return armedSpecs;
  let parsed;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; // not cached: read again at the next call
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  if (!Object.values(parsed).every(validArming)) return null;
  armedKey = key;
  armedDir = dir;
  armedSpecs = parsed;
  return parsed;
}

/**
 * The descriptor's offset, from /proc/self/fdinfo (Node has no lseek). Where /proc is
 * missing (not Linux) the file size stands in: exact for one writer at a time only.
 */
function offsetOf(fd) {
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const match = /^pos:\s*(\d+)/m.exec(info);
    if (match) return Number(match[1]);
  } catch {
    // fall through
  }
  return fs.fstatSync(fd).size;
}

/** Append one byte; the descriptor's offset after it is this caller's 1-based count. */
function bump(file) {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    if (fs.writeSync(fd, '.') !== 1) throw new Error(`cannot count a hit in ${file}`);
    return offsetOf(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The protocol's deterministic draw: the first 8 bytes of sha256('{seed}:{name}:{hit}'),
 * big-endian, as a double divided by 2^64 (Number(BigInt) rounds to nearest even, like
 * Python's int / int).
 */
function chance(seed, name, hit) {
  const digest = crypto.createHash('sha256').update(`${seed}:${name}:${hit}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0)) / 2 ** 64;
}

function validName(name) {
  return typeof name === 'string' && name !== '' && !name.startsWith('.') && !/[/\\\0]/.test(name);
}

function sleepSync(seconds) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/**
 * Mark a place in app code; act only if the harness armed name (or '*'). scope: the
 * enclosing activity execution, or nothing outside one. The promise resolves when the
 * failpoint is done ('pause' and 'delay' after their time), rejects with FailpointError
 * when armed to 'raise'; 'crash' never settles (the process is gone).
 */
async function failpoint(name, scope) {
  const dir = process.env[FAILPOINTS_ENV];
  if (!dir || !validName(name)) return;
  const armed = currentArming(dir);
  if (!armed) return;
  const spec = Object.hasOwn(armed, name) ? armed[name] : armed[EVERY];
  if (!spec) return;
  // Another test's (or run's) instance: not this arming's, not counted.
  if (spec.instances && !(scope && scope.workflowId.startsWith(spec.instances))) return;
  const hit = bump(path.join(dir, `${name}.hits`));
  let fired = hit >= spec.nth && chance(spec.seed, name, hit) < spec.probability;
  if (fired && spec.count !== null) {
    fired = bump(path.join(dir, `${name}.fired`)) <= spec.count;
  }
  // On record before acting: a crash must be in the ledger.
  appendRecord({
    type: 'failpoint',
    ts: now(),
    pid: process.pid,
    name,
    hit,
    fired,
    action: fired ? spec.action : null,
    workflow_id: scope ? scope.workflowId : null,
    activity: scope ? scope.activity : null,
    task_execution_id: scope ? scope.taskExecutionId : null,
  });
  if (!fired) return;
  switch (spec.action) {
    case 'crash':
      process.kill(process.pid, 'SIGKILL');
      sleepSync(10); // SIGKILL is asynchronous; never run past the failpoint
      throw new Error(`failpoint ${name} sent SIGKILL but the process lives on`);
    case 'pause': {
      // The resumer stays in our process group, so a stack teardown kills it too.
      const resumer = childProcess.spawn(
        'sh',
        ['-c', `sleep ${spec.seconds}; kill -CONT ${process.pid}`],
        { stdio: 'ignore' },
      );
      resumer.unref();
      process.kill(process.pid, 'SIGSTOP');
      return;
    }
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, spec.seconds * 1000));
      return;
    case 'raise':
      throw new FailpointError(name, hit);
    default:
      return; // trace, or an action this version does not know: recorded only
  }
}

module.exports = {
  ARMED_FILE,
  EVERY,
  FAILPOINTS_ENV,
  FailpointError,
  LEDGER_ENV,
  Scope,
  chance,
  effect,
  failpoint,
  invocation,
};
