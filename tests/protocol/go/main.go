// Command protocoldriver is the conformance driver for the Go client of the dapr-chaos app
// protocol: it executes a script of operations read from stdin (see ../README.md).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/dapr-chaos/daprchaos"
)

type operation struct {
	Op              string         `json:"op"`
	Activity        string         `json:"activity"`
	WorkflowID      string         `json:"workflow_id"`
	TaskExecutionID string         `json:"task_execution_id"`
	TaskID          int            `json:"task_id"`
	Outcome         string         `json:"outcome"`
	Kind            string         `json:"kind"`
	Subject         string         `json:"subject"`
	Application     *string        `json:"application"`
	Details         map[string]any `json:"details"`
	Name            string         `json:"name"`
}

type hitResult struct {
	Name    string  `json:"name"`
	Error   *string `json:"error"`
	Elapsed float64 `json:"elapsed"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "driver: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	out := json.NewEncoder(os.Stdout) // unbuffered: every line is out before a crash
	var open []*daprchaos.Scope
	current := func() *daprchaos.Scope {
		if len(open) == 0 {
			return nil
		}
		return open[len(open)-1]
	}
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		if len(lines.Bytes()) == 0 {
			continue
		}
		var op operation
		decoder := json.NewDecoder(bytes.NewReader(lines.Bytes()))
		decoder.UseNumber() // details' numbers go back out as written
		if err := decoder.Decode(&op); err != nil {
			fail("bad operation %q: %v", lines.Text(), err)
		}
		switch op.Op {
		case "invocation":
			scope, err := daprchaos.Invocation(op.Activity, op.WorkflowID, op.TaskExecutionID, op.TaskID)
			if err != nil {
				fail("%v", err)
			}
			open = append(open, scope)
		case "end":
			if len(open) == 0 {
				fail("'end' without an open invocation")
			}
			if err := current().End(op.Outcome); err != nil {
				fail("%v", err)
			}
			open = open[:len(open)-1]
		case "effect":
			application := ""
			if op.Application != nil {
				application = *op.Application
			}
			if err := current().Effect(op.Kind, op.Subject, application, op.Details); err != nil {
				fail("%v", err)
			}
		case "failpoint":
			started := time.Now()
			result := hitResult{Name: op.Name}
			if err := daprchaos.Failpoint(op.Name, current()); err != nil {
				message := err.Error()
				result.Error = &message
			}
			result.Elapsed = time.Since(started).Seconds()
			if err := out.Encode(result); err != nil {
				fail("%v", err)
			}
		default:
			fail("unknown operation %q", op.Op)
		}
	}
	if err := lines.Err(); err != nil {
		fail("reading stdin: %v", err)
	}
	if len(open) != 0 {
		fail("script ended inside an invocation")
	}
}
