package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dapr-chaos/daprchaos"
	"github.com/dapr/durabletask-go/workflow"
)

// The names of the original OrderProcessing sample.
const (
	WorkflowName            = "OrderProcessingWorkflow"
	CheckInventoryActivity  = "CheckInventoryActivity"
	ProcessPaymentActivity  = "ProcessPaymentActivity"
	UpdateInventoryActivity = "UpdateInventoryActivity"
	NotifyCustomerActivity  = "NotifyCustomerActivity"
	// RefundPaymentActivity is this port's one addition (see orderProcessing).
	RefundPaymentActivity = "RefundPaymentActivity"

	StatusCompleted = "Completed"
	StatusRejected  = "Rejected: out of stock"
)

// Order is the workflow's input, as POSTed.
type Order struct {
	OrderID     string  `json:"orderId"`
	CustomerID  string  `json:"customerId"`
	ProductID   string  `json:"productId"`
	Quantity    int     `json:"quantity"`
	TotalAmount float64 `json:"totalAmount"`
}

// OrderResult is the workflow's output.
type OrderResult struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
}

// step is every activity's input: the order, plus the workflow instance id, which the Go
// SDK does not give activities and which keys their effects.
type step struct {
	InstanceID string `json:"instanceId"`
	Order      Order  `json:"order"`
}

// InventoryResult is what CheckInventoryActivity answers.
type InventoryResult struct {
	InStock bool `json:"inStock"`
}

// reservation is what UpdateInventoryActivity answers.
type reservation struct {
	Reserved bool `json:"reserved"`
}

// retry: activities fail while Valkey is unreachable; retry long enough to ride out a
// Valkey restart (about 40 s in all), as the reference app does.
var retry = workflow.RetryPolicy{
	MaxAttempts:          12,
	InitialRetryInterval: 500 * time.Millisecond,
	BackoffCoefficient:   1.5,
	MaxRetryInterval:     5 * time.Second,
}

// orderProcessing is the original's workflow: check inventory, charge, reserve, notify.
//
// The one deliberate addition: when UpdateInventoryActivity finds too little stock
// (another order took the last units between the check and the reservation),
// RefundPaymentActivity refunds the charge and the order is rejected as out of stock.
// The original would complete such an order charged but without stock, and money and
// stock would not add up.
func orderProcessing(ctx *workflow.WorkflowContext) (any, error) {
	var order Order
	if err := ctx.GetInput(&order); err != nil {
		return nil, fmt.Errorf("the workflow input is not an order: %w", err)
	}
	in := step{InstanceID: ctx.ID(), Order: order}
	call := func(activity string, out any) error {
		return ctx.CallActivity(activity, workflow.WithActivityInput(in), workflow.WithActivityRetryPolicy(&retry)).Await(out)
	}
	var inventory InventoryResult
	if err := call(CheckInventoryActivity, &inventory); err != nil {
		return nil, err
	}
	if !inventory.InStock {
		return OrderResult{order.OrderID, StatusRejected}, nil
	}
	if err := call(ProcessPaymentActivity, nil); err != nil {
		return nil, err
	}
	var reserved reservation
	if err := call(UpdateInventoryActivity, &reserved); err != nil {
		return nil, err
	}
	if !reserved.Reserved {
		if err := call(RefundPaymentActivity, nil); err != nil {
			return nil, err
		}
		return OrderResult{order.OrderID, StatusRejected}, nil
	}
	if err := call(NotifyCustomerActivity, nil); err != nil {
		return nil, err
	}
	return OrderResult{order.OrderID, StatusCompleted}, nil
}

// activityBody is one activity's work, inside its recorded scope.
type activityBody func(ctx context.Context, in step, scope *daprchaos.Scope) (any, error)

// referenceNames are the Python reference app's names of the same activities: each
// failpoint is also reachable as <reference name>.before_effect / .after_effect (at the
// same place), so the shipped scenarios, written for the reference app, arm it here too.
var referenceNames = map[string]string{
	CheckInventoryActivity:  "check_inventory",
	ProcessPaymentActivity:  "charge_payment",
	UpdateInventoryActivity: "reserve_stock",
	RefundPaymentActivity:   "refund_payment",
	NotifyCustomerActivity:  "notify_customer",
}

// failpoints passes the failpoint of activity name at place ("before" or "after") under
// both of its names; the first that acts wins.
func failpoints(scope *daprchaos.Scope, name, place string) error {
	if err := scope.Failpoint(name + "." + place); err != nil {
		return err
	}
	return scope.Failpoint(referenceNames[name] + "." + place + "_effect")
}

// recorded wraps an activity for dapr-chaos: an invocation record (and its end), the
// failpoints <name>.before at the start and <name>.after once the effect is committed and
// recorded, before the result is returned (each also under its reference name, see
// referenceNames).
func recorded(name string, body activityBody) workflow.Activity {
	return func(actx workflow.ActivityContext) (result any, err error) {
		var in step
		if err := actx.GetInput(&in); err != nil {
			return nil, fmt.Errorf("%s: the input is not an order step: %w", name, err)
		}
		scope, err := daprchaos.Invocation(name, in.InstanceID, actx.GetTaskExecutionID(), int(actx.GetTaskID()))
		if err != nil {
			return nil, err
		}
		defer func() {
			if panicked := recover(); panicked != nil {
				_ = scope.End(daprchaos.OutcomeError)
				panic(panicked) // the SDK turns it into a failed activity
			}
			if endErr := scope.End(daprchaos.Outcome(err)); endErr != nil && err == nil {
				result, err = nil, endErr
			}
		}()
		if err := failpoints(scope, name, "before"); err != nil {
			return nil, err
		}
		result, err = body(actx.Context(), in, scope)
		if err != nil {
			return nil, err
		}
		if err := failpoints(scope, name, "after"); err != nil {
			return nil, err
		}
		return result, nil
	}
}

// idempotencyKey is "<workflow instance id>:<activity>": each activity runs once per
// order, so that names one logical step. Not the task execution id: a daprd crash
// mid-turn schedules the activity again under a new one (see harness.app.idempotency_key).
func idempotencyKey(in step, scope *daprchaos.Scope) string {
	return in.InstanceID + ":" + scope.Activity
}

func cents(amount float64) int64 { return int64(math.Round(amount * 100)) }

// register adds the workflow and its activities, each recorded, to the registry.
func register(registry *workflow.Registry, store *Store) error {
	activities := map[string]activityBody{
		CheckInventoryActivity: func(ctx context.Context, in step, _ *daprchaos.Scope) (any, error) {
			ok, err := store.InStock(ctx, in.Order.ProductID, in.Order.Quantity)
			return InventoryResult{ok}, err
		},
		ProcessPaymentActivity: func(ctx context.Context, in step, scope *daprchaos.Scope) (any, error) {
			amount := cents(in.Order.TotalAmount)
			charge, err := store.Charge(ctx, idempotencyKey(in, scope), in.Order.OrderID, amount)
			if err != nil {
				return nil, err
			}
			// Recorded on every execution, applied now or found applied: a crash between
			// the commit and this record must not lose it. The ledger dedups by application.
			return amount, scope.Effect("payment.charged", in.Order.OrderID, charge.Application,
				map[string]any{"cents": amount})
		},
		UpdateInventoryActivity: func(ctx context.Context, in step, scope *daprchaos.Scope) (any, error) {
			booked, err := store.Reserve(ctx, idempotencyKey(in, scope), in.Order.OrderID, in.Order.ProductID, in.Order.Quantity)
			if err != nil || booked == nil {
				return reservation{false}, err
			}
			return reservation{true}, scope.Effect("stock.reserved", in.Order.OrderID, booked.Application,
				map[string]any{"product": in.Order.ProductID, "quantity": in.Order.Quantity})
		},
		RefundPaymentActivity: func(ctx context.Context, in step, scope *daprchaos.Scope) (any, error) {
			amount := cents(in.Order.TotalAmount)
			refund, err := store.Refund(ctx, idempotencyKey(in, scope), in.Order.OrderID, amount)
			if err != nil {
				return nil, err
			}
			return amount, scope.Effect("payment.refunded", in.Order.OrderID, refund.Application,
				map[string]any{"cents": amount})
		},
		NotifyCustomerActivity: func(ctx context.Context, in step, scope *daprchaos.Scope) (any, error) {
			note, err := store.Notify(ctx, idempotencyKey(in, scope), in.Order.OrderID)
			if err != nil {
				return nil, err
			}
			return true, scope.Effect("customer.notified", in.Order.OrderID, note.Application,
				map[string]any{"customer": in.Order.CustomerID})
		},
	}
	if err := registry.AddWorkflowN(WorkflowName, orderProcessing); err != nil {
		return err
	}
	for name, body := range activities {
		if err := registry.AddActivityN(name, recorded(name, body)); err != nil {
			return err
		}
	}
	return nil
}
