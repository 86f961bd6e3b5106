// Command go-chain is a tiny Go workflow app for dapr-chaos tests: task chaining.
//
// Workflow "chain" takes a JSON string and calls the activities "step1", "step2" and
// "step3" in sequence; each appends "|" and its own name to the string it gets, so the
// input "x" gives the output "x|step1|step2|step3". Every activity records its invocation,
// one effect (kind "chain.appended", subject "<instance id>/<activity>": one per step,
// application "<instance id>:<activity>": a pure step re-executed is the same
// application) and hits the failpoints "<activity>.before" and "<activity>.after".
//
// There is no HTTP API: workflows are started over daprd's gRPC workflow API. The app
// runs the workflow worker until SIGTERM or SIGINT. It reads DAPR_GRPC_ENDPOINT (or
// DAPR_GRPC_PORT) and DAPR_API_TOKEN (through the Go SDK), and DAPR_CHAOS_LEDGER and
// DAPR_CHAOS_FAILPOINTS (through the daprchaos client).
package main

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/dapr-chaos/daprchaos"
	"github.com/dapr/durabletask-go/workflow"
	dapr "github.com/dapr/go-sdk/client"
)

// Steps are the activities, in the order the workflow calls them.
var Steps = []string{"step1", "step2", "step3"}

// link is each activity's input: the Go SDK does not tell activities their workflow
// instance id, so the workflow passes it.
type link struct {
	InstanceID string `json:"instanceId"`
	Value      string `json:"value"`
}

func chain(ctx *workflow.WorkflowContext) (any, error) {
	var value string
	if err := ctx.GetInput(&value); err != nil {
		return nil, fmt.Errorf("the input of chain must be a JSON string: %w", err)
	}
	for _, step := range Steps {
		if err := ctx.CallActivity(step, workflow.WithActivityInput(link{ctx.ID(), value})).Await(&value); err != nil {
			return nil, err
		}
	}
	return value, nil
}

func appender(name string) workflow.Activity {
	return func(actx workflow.ActivityContext) (result any, err error) {
		var in link
		if err := actx.GetInput(&in); err != nil {
			return nil, err
		}
		scope, err := daprchaos.Invocation(name, in.InstanceID, actx.GetTaskExecutionID(), int(actx.GetTaskID()))
		if err != nil {
			return nil, err
		}
		defer func() {
			if endErr := scope.End(daprchaos.Outcome(err)); endErr != nil && err == nil {
				result, err = nil, endErr
			}
		}()
		if err := scope.Failpoint(name + ".before"); err != nil {
			return nil, err
		}
		value := in.Value + "|" + name
		if err := scope.Effect("chain.appended", in.InstanceID+"/"+name, in.InstanceID+":"+name, map[string]any{"value": value}); err != nil {
			return nil, err
		}
		if err := scope.Failpoint(name + ".after"); err != nil {
			return nil, err
		}
		return value, nil
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	client, err := dapr.NewWorkflowClient()
	if err != nil {
		return fmt.Errorf("cannot reach daprd's gRPC API: %w", err)
	}
	registry := workflow.NewRegistry()
	if err := registry.AddWorkflowN("chain", chain); err != nil {
		return err
	}
	for _, step := range Steps {
		if err := registry.AddActivityN(step, appender(step)); err != nil {
			return err
		}
	}
	// StartWorker fails unless daprd answers; once started it reconnects on its own.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := client.StartWorker(ctx, registry)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("starting the workflow worker failed: %w", err)
		}
		log.Printf("starting the workflow worker failed (retrying): %v", err)
		time.Sleep(500 * time.Millisecond)
	}
	log.Printf("go-chain: workflow worker running")
	<-ctx.Done()
	return nil
}

func main() {
	if err := run(); err != nil {
		log.Fatalf("go-chain: %v", err)
	}
}
