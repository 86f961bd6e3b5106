// Package daprchaos is the Go client of the dapr-chaos app protocol (harness/app/PROTOCOL.md
// in dapr-chaos): it records activity invocations and business effects in the run's
// ledger and obeys the harness's failpoints.
//
// Outside dapr-chaos (DAPR_CHAOS_LEDGER and DAPR_CHAOS_FAILPOINTS unset) every call is a
// no-op that costs an environment lookup. A failpoint that is not armed costs one stat(2)
// of armed.json; the file is read again only when it changed.
//
//	scope, err := daprchaos.Invocation("ProcessPaymentActivity", instanceID, ctx.GetTaskExecutionID(), int(ctx.GetTaskID()))
//	...
//	defer func() { scope.End(daprchaos.Outcome(err)) }()
//	if err := scope.Failpoint("ProcessPaymentActivity.before"); err != nil { return nil, err }
//	// apply the effect idempotently, then:
//	scope.Effect("payment.charged", orderID, application, map[string]any{"cents": cents})
//
// Go has no implicit per-call context like Python's context variables, so the scope an
// effect or failpoint belongs to is passed explicitly (a nil *Scope means "outside any
// activity"). Only the standard library is used, so any app can vendor or replace it in.
package daprchaos

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment variables and file names of the protocol.
const (
	LedgerEnv     = "DAPR_CHAOS_LEDGER"
	FailpointsEnv = "DAPR_CHAOS_FAILPOINTS"
	ArmedFile     = "armed.json"
	// Every is the failpoint name that arms every failpoint not armed by its own name.
	Every = "*"
)

// Outcomes of an invocation, as written in invocation_end records.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Outcome maps an activity's returned error to the invocation_end outcome.
func Outcome(err error) string {
	if err != nil {
		return OutcomeError
	}
	return OutcomeOK
}

// Scope is one execution of an activity: what effect and failpoint records name.
type Scope struct {
	Activity        string
	WorkflowID      string
	TaskExecutionID string
	TaskID          int
}

// FailpointError is what a failpoint armed with the "raise" action returns: the activity
// should return it, so that the activity fails.
type FailpointError struct {
	Name string
	Hit  int64
}

func (e *FailpointError) Error() string {
	return fmt.Sprintf("failpoint %s raised (hit %d)", e.Name, e.Hit)
}

// Records, with fields in the order the Python reference writes them. Nullable fields are
// pointers: the protocol writes every key, null when there is no value.
type invocationRecord struct {
	Type            string  `json:"type"`
	TS              float64 `json:"ts"`
	PID             int     `json:"pid"`
	Activity        string  `json:"activity"`
	WorkflowID      string  `json:"workflow_id"`
	TaskExecutionID string  `json:"task_execution_id"`
	TaskID          int     `json:"task_id"`
}

type invocationEndRecord struct {
	Type            string  `json:"type"`
	TS              float64 `json:"ts"`
	PID             int     `json:"pid"`
	Activity        string  `json:"activity"`
	WorkflowID      string  `json:"workflow_id"`
	TaskExecutionID string  `json:"task_execution_id"`
	Outcome         string  `json:"outcome"`
}

type effectRecord struct {
	Type            string         `json:"type"`
	TS              float64        `json:"ts"`
	PID             int            `json:"pid"`
	Kind            string         `json:"kind"`
	Subject         string         `json:"subject"`
	Application     *string        `json:"application"`
	Activity        *string        `json:"activity"`
	WorkflowID      *string        `json:"workflow_id"`
	TaskExecutionID *string        `json:"task_execution_id"`
	Details         map[string]any `json:"details"`
}

type failpointRecord struct {
	Type            string  `json:"type"`
	TS              float64 `json:"ts"`
	PID             int     `json:"pid"`
	Name            string  `json:"name"`
	Hit             int64   `json:"hit"`
	Fired           bool    `json:"fired"`
	Action          *string `json:"action"`
	WorkflowID      *string `json:"workflow_id"`
	Activity        *string `json:"activity"`
	TaskExecutionID *string `json:"task_execution_id"`
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// scopeFields: the scope's (activity, workflow id, task execution id), nil outside one.
func (s *Scope) scopeFields() (*string, *string, *string) {
	if s == nil {
		return nil, nil, nil
	}
	return &s.Activity, &s.WorkflowID, &s.TaskExecutionID
}

// Invocation records the start of one execution of an activity and returns its scope.
// Call it first thing in the activity, and End when the activity returns. The returned
// scope is usable even when the error is not nil (the record could not be written).
//
// The Dapr Go SDK does not tell an activity its workflow instance id: have the workflow
// pass ctx.ID() in the activity's input. taskID is the task's sequence number in the
// history (-1 if unknown).
func Invocation(activity, workflowID, taskExecutionID string, taskID int) (*Scope, error) {
	scope := &Scope{activity, workflowID, taskExecutionID, taskID}
	return scope, appendRecord(invocationRecord{
		"invocation", now(), os.Getpid(), activity, workflowID, taskExecutionID, taskID,
	})
}

// End records the end of the invocation: outcome is OutcomeOK or OutcomeError (see
// Outcome). An invocation that never ends (the process died) is what tells the harness
// its effects may or may not have happened.
func (s *Scope) End(outcome string) error {
	if s == nil {
		return errors.New("daprchaos: End on a nil scope")
	}
	return appendRecord(invocationEndRecord{
		"invocation_end", now(), os.Getpid(), s.Activity, s.WorkflowID, s.TaskExecutionID, outcome,
	})
}

// Effect records one applied business effect in this activity execution, right after it
// is committed. application identifies this application of the effect (e.g.
// "<idempotency key>#<n>" from an idempotent store): records with the same (kind,
// subject, application) count once, so record on every execution. "" means no id:
// every record then counts as one more application. details may be nil.
func (s *Scope) Effect(kind, subject, application string, details map[string]any) error {
	activity, workflowID, taskExecutionID := s.scopeFields()
	return appendRecord(effectRecord{
		"effect", now(), os.Getpid(), kind, subject, optional(application),
		activity, workflowID, taskExecutionID, encodable(details),
	})
}

// Effect records an effect outside any activity execution (see Scope.Effect).
func Effect(kind, subject, application string, details map[string]any) error {
	return (*Scope)(nil).Effect(kind, subject, application, details)
}

// encodable returns details with every value JSON can carry, others as their string form
// (NaN and infinities included: they are not JSON).
func encodable(details map[string]any) map[string]any {
	out := make(map[string]any, len(details))
	for key, value := range details {
		if _, err := json.Marshal(value); err != nil {
			out[key] = fmt.Sprint(value)
		} else {
			out[key] = value
		}
	}
	return out
}

// -- the ledger -----------------------------------------------------------------------

var ledger struct {
	sync.Mutex
	fd   int
	path string
	open bool
}

func ledgerFD() (int, bool, error) {
	path := os.Getenv(LedgerEnv)
	if path == "" {
		return 0, false, nil
	}
	ledger.Lock()
	defer ledger.Unlock()
	if ledger.open && ledger.path == path {
		return ledger.fd, true, nil
	}
	fd, err := openAppend(path)
	if err != nil {
		return 0, false, fmt.Errorf("daprchaos: cannot open the ledger %s: %w", path, err)
	}
	if ledger.open {
		syscall.Close(ledger.fd)
	}
	ledger.fd, ledger.path, ledger.open = fd, path, true
	return fd, true, nil
}

func openAppend(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// writeOnce is one write(2): os.File.Write would loop over a short write, splitting the
// record into several appends that another writer could interleave with.
func writeOnce(fd int, data []byte) (int, error) {
	for {
		n, err := syscall.Write(fd, data)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func appendRecord(record any) error {
	fd, ok, err := ledgerFD()
	if !ok {
		return err
	}
	var line bytes.Buffer
	encoder := json.NewEncoder(&line) // Encode ends the line with '\n'
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(record); err != nil {
		return fmt.Errorf("daprchaos: cannot encode a ledger record: %w", err)
	}
	n, err := writeOnce(fd, line.Bytes())
	if err != nil {
		return fmt.Errorf("daprchaos: writing the ledger failed: %w", err)
	}
	if n != line.Len() {
		return fmt.Errorf("daprchaos: short write to the ledger (%d/%d bytes)", n, line.Len())
	}
	return nil
}

// -- failpoints -----------------------------------------------------------------------

type arming struct {
	Action      string
	Nth         int64
	Count       *int64
	Probability float64
	Seconds     float64
	Seed        int64
	Instances   string // a workflow instance id prefix ("": every instance)
}

// armingJSON has every key as a pointer (or a raw value for count, which may be null) so
// that a missing key is told apart from a zero value.
type armingJSON struct {
	Action      *string         `json:"action"`
	Nth         *int64          `json:"nth"`
	Count       json.RawMessage `json:"count"`
	Probability *float64        `json:"probability"`
	Seconds     *float64        `json:"seconds"`
	Seed        *int64          `json:"seed"`
	Instances   *string         `json:"instances"` // optional: absent means ""
}

type statKey struct {
	ino   uint64
	mtime int64
}

var armed struct {
	sync.Mutex
	key   statKey
	valid bool
	dir   string
	specs map[string]arming
}

// armedSpecs returns the current arming; nil when nothing is armed or armed.json cannot
// be read (then it is read again at the next call).
func armedSpecs(dir string) map[string]arming {
	path := filepath.Join(dir, ArmedFile)
	info, err := os.Stat(path)
	if err != nil {
		return nil
	}
	key := statKey{mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		key.ino = uint64(st.Ino) //nolint:unconvert // Ino is not uint64 on every platform
	}
	armed.Lock()
	defer armed.Unlock()
	if armed.valid && armed.dir == dir && armed.key == key {
		return armed.specs
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	specs, err := parseArmed(data)
	if err != nil {
		return nil
	}
	armed.key, armed.valid, armed.dir, armed.specs = key, true, dir, specs
	return specs
}

func parseArmed(data []byte) (map[string]arming, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	specs := make(map[string]arming, len(raw))
	for name, body := range raw {
		var spec armingJSON
		decoder := json.NewDecoder(bytes.NewReader(body))
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&spec); err != nil {
			return nil, fmt.Errorf("failpoint %q: %w", name, err)
		}
		if spec.Action == nil || spec.Nth == nil || spec.Count == nil || spec.Probability == nil ||
			spec.Seconds == nil || spec.Seed == nil {
			return nil, fmt.Errorf("failpoint %q: a key is missing", name)
		}
		var count *int64
		if string(spec.Count) != "null" {
			var n int64
			if err := json.Unmarshal(spec.Count, &n); err != nil {
				return nil, fmt.Errorf("failpoint %q: count: %w", name, err)
			}
			count = &n
		}
		instances := ""
		if spec.Instances != nil {
			instances = *spec.Instances
		}
		specs[name] = arming{*spec.Action, *spec.Nth, count, *spec.Probability, *spec.Seconds, *spec.Seed, instances}
	}
	return specs, nil
}

// bump appends one byte to path and returns the descriptor's offset after it: this
// caller's unique 1-based count, whatever other threads and processes do at the same time.
func bump(path string) (int64, error) {
	fd, err := openAppend(path)
	if err != nil {
		return 0, fmt.Errorf("daprchaos: cannot open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	if n, err := writeOnce(fd, []byte{'.'}); err != nil || n != 1 {
		return 0, fmt.Errorf("daprchaos: cannot count a hit in %s: %v", path, err)
	}
	offset, err := syscall.Seek(fd, 0, 1) // SEEK_CUR: our own offset, not the file's size
	if err != nil {
		return 0, fmt.Errorf("daprchaos: cannot read the offset of %s: %w", path, err)
	}
	return offset, nil
}

// Chance is the protocol's deterministic draw for hit number hit of failpoint name under
// seed: the first 8 bytes of sha256("{seed}:{name}:{hit}"), big-endian, divided by 2^64.
// Exported so that tests can check it against other implementations.
func Chance(seed int64, name string, hit int64) float64 {
	digest := sha256.Sum256([]byte(strconv.FormatInt(seed, 10) + ":" + name + ":" + strconv.FormatInt(hit, 10)))
	// The conversion rounds to nearest even, like Python's int / int.
	return float64(binary.BigEndian.Uint64(digest[:8])) / 18446744073709551616.0
}

func validName(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\\x00")
}

// Failpoint marks a place in app code and acts only if the harness armed name (or "*").
// scope is the enclosing activity execution (nil outside one). It returns a
// *FailpointError when armed to "raise" (return it from the activity), another error
// when the counter files or the ledger cannot be written, and nil otherwise; "crash"
// never returns, "pause" and "delay" return when their time is up.
func Failpoint(name string, scope *Scope) error {
	dir := os.Getenv(FailpointsEnv)
	if dir == "" || !validName(name) {
		return nil
	}
	specs := armedSpecs(dir)
	spec, ok := specs[name]
	if !ok {
		if spec, ok = specs[Every]; !ok {
			return nil
		}
	}
	if spec.Instances != "" && (scope == nil || !strings.HasPrefix(scope.WorkflowID, spec.Instances)) {
		return nil // another test's (or run's) instance: not this arming's, not counted
	}
	// Counting, recording and a crash happen under one lock: a crash that another
	// goroutine's failpoint sends would otherwise land between this one's count and its
	// record, using up a Count with no record of it. A crash kills the process holding it.
	section.Lock()
	locked := true
	defer func() {
		if locked {
			section.Unlock()
		}
	}()
	hit, err := bump(filepath.Join(dir, name+".hits"))
	if err != nil {
		return err
	}
	fire := hit >= spec.Nth && Chance(spec.Seed, name, hit) < spec.Probability
	if fire && spec.Count != nil {
		fired, err := bump(filepath.Join(dir, name+".fired"))
		if err != nil {
			return err
		}
		fire = fired <= *spec.Count
	}
	var action *string
	if fire {
		action = &spec.Action
	}
	activity, workflowID, taskExecutionID := scope.scopeFields()
	// On record before acting: a crash must be in the ledger.
	if err := appendRecord(failpointRecord{
		"failpoint", now(), os.Getpid(), name, hit, fire, action, workflowID, activity, taskExecutionID,
	}); err != nil {
		return err
	}
	if !fire {
		return nil
	}
	if spec.Action != "crash" {
		section.Unlock() // a pause, delay or raise must not hold up other failpoints
		locked = false
	}
	// A crash keeps the lock: the process dies inside act (if the kill fails, the
	// deferred unlock releases it).
	return act(spec, name, hit)
}

// section serialises failpoints' counting, recording and crashing within the process.
var section sync.Mutex

// Failpoint is Failpoint(name, s).
func (s *Scope) Failpoint(name string) error { return Failpoint(name, s) }

func act(spec arming, name string, hit int64) error {
	pid := os.Getpid()
	switch spec.Action {
	case "crash":
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("daprchaos: failpoint %s could not kill the process: %w", name, err)
		}
		time.Sleep(10 * time.Second) // SIGKILL is asynchronous; never run past the failpoint
		return fmt.Errorf("daprchaos: failpoint %s sent SIGKILL but the process lives on", name)
	case "pause":
		// The resumer stays in our process group, so a stack teardown kills it too.
		seconds := strconv.FormatFloat(spec.Seconds, 'f', -1, 64)
		resumer := exec.Command("sh", "-c", fmt.Sprintf("sleep %s; kill -CONT %d", seconds, pid))
		if err := resumer.Start(); err != nil {
			return fmt.Errorf("daprchaos: failpoint %s could not start its resumer: %w", name, err)
		}
		go resumer.Wait() //nolint:errcheck // reaps the resumer; its status does not matter
		// Stop this thread, not "the process": a process-directed SIGSTOP lands on the
		// main thread, and this goroutine ran on past the failpoint until the group stop
		// reached its thread (a 0.4 s pause returned in 1.6 ms). A thread-directed one
		// stops the caller before tgkill returns, and the group stop takes the rest.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := syscall.Tgkill(pid, syscall.Gettid(), syscall.SIGSTOP); err != nil {
			return fmt.Errorf("daprchaos: failpoint %s could not stop the process: %w", name, err)
		}
	case "delay":
		time.Sleep(time.Duration(spec.Seconds * float64(time.Second)))
	case "raise":
		return &FailpointError{Name: name, Hit: hit}
	}
	return nil // trace, or an action this version does not know: recorded only
}
