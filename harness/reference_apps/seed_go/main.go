// Command seed-go is the article's OrderProcessing workflow (C#, Dapr .NET SDK) ported to Go
// with the Dapr Go SDK, shipped with dapr-chaos as a second-language reference app.
//
// It reads what `dapr run` or `dapr-chaos exec` provides: DAPR_GRPC_ENDPOINT (or
// DAPR_GRPC_PORT) and DAPR_API_TOKEN (read by the Go SDK), APP_PORT, and the business
// store DAPR_CHAOS_VALKEY_URL; DAPR_CHAOS_LEDGER and DAPR_CHAOS_FAILPOINTS (read by the
// daprchaos client) when run under dapr-chaos. ORDER_APP_VARIANT=payment-not-idempotent
// charges on every execution of ProcessPaymentActivity (a deliberate bug for checker tests).
//
// HTTP API on 127.0.0.1:$APP_PORT:
//
//	POST /orders       {"orderId"?, "customerId", "productId", "quantity", "totalAmount"}
//	                   → 202 {"instanceId": "<id>"} + Location: /orders/<id> (id = orderId,
//	                   generated when absent); 400 malformed; 409 id reused; 503 not scheduled
//	GET /orders/{id}   → 200 {"runtimeStatus": "COMPLETED", "output": {"orderId", "status"}}
//	                   (+ "failure" when the workflow failed); 404 unknown
//	GET /healthz       → 200 once the workflow worker is connected
//	GET /state         → 200 the business state, as the Python reference app's
//
// It runs until SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dapr/durabletask-go/api"
	"github.com/dapr/durabletask-go/workflow"
	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var variants = []string{"correct", "payment-not-idempotent"}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if err := run(); err != nil {
		log.Fatalf("seed order app: %v", err)
	}
}

func required(name string) (string, error) {
	value := os.Getenv(name)
	if value == "" {
		return "", fmt.Errorf("%s is not set; run it under `dapr run` or `dapr-chaos exec`", name)
	}
	return value, nil
}

func run() error {
	variant := os.Getenv("ORDER_APP_VARIANT")
	if variant == "" {
		variant = "correct"
	}
	if variant != variants[0] && variant != variants[1] {
		return fmt.Errorf("ORDER_APP_VARIANT=%q is unknown; use one of %s", variant, strings.Join(variants, ", "))
	}
	port, err := required("APP_PORT")
	if err != nil {
		return err
	}
	valkeyURL, err := required("DAPR_CHAOS_VALKEY_URL")
	if err != nil {
		return err
	}
	if os.Getenv("DAPR_GRPC_ENDPOINT") == "" {
		if _, err := required("DAPR_GRPC_PORT"); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	store, err := OpenStore(valkeyURL, variant != "payment-not-idempotent")
	if err != nil {
		return err
	}
	if err := retrying(ctx, "seeding the catalog in Valkey", store.Seed); err != nil {
		return err
	}
	// The Go SDK dials DAPR_GRPC_ENDPOINT (else 127.0.0.1:$DAPR_GRPC_PORT) and sends
	// DAPR_API_TOKEN with every call.
	client, err := dapr.NewWorkflowClient()
	if err != nil {
		return fmt.Errorf("cannot reach daprd's gRPC API: %w", err)
	}
	registry := workflow.NewRegistry()
	if err := register(registry, store); err != nil {
		return err
	}
	// StartWorker fails unless daprd answers; once started it reconnects on its own.
	if err := retrying(ctx, "starting the workflow worker", func(ctx context.Context) error {
		return client.StartWorker(ctx, registry)
	}); err != nil {
		return err
	}

	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("cannot listen on 127.0.0.1:%s: %w", port, err)
	}
	server := &http.Server{Handler: routes(client, store), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Printf("order app (Go, %s) serving on %s", variant, listener.Addr())
	select {
	case err := <-served:
		return fmt.Errorf("the HTTP server stopped: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return server.Shutdown(shutdown)
}

// retrying calls attempt until it succeeds, with a short backoff, for at most 30 s: at
// start daprd or Valkey may still be coming up (or restarting, under chaos).
func retrying(ctx context.Context, what string, attempt func(context.Context) error) error {
	deadline := time.Now().Add(30 * time.Second)
	wait := 100 * time.Millisecond
	for {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s failed for 30 s: %w", what, err)
		}
		log.Printf("%s failed (retrying in %s): %v", what, wait, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func routes(client *workflow.Client, store *Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		submit(w, r, client, store)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		orderStatus(w, r, client)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		state, err := store.Snapshot(r.Context())
		if err != nil {
			reply(w, http.StatusServiceUnavailable, problem("the order store is unavailable: %v", err))
			return
		}
		reply(w, http.StatusOK, state)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, problem("no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func problem(format string, args ...any) map[string]string {
	return map[string]string{"error": fmt.Sprintf(format, args...)}
}

func reply(w http.ResponseWriter, code int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func submit(w http.ResponseWriter, r *http.Request, client *workflow.Client, store *Store) {
	order, err := parseOrder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		reply(w, http.StatusBadRequest, problem("%v", err))
		return
	}
	claimed, err := store.ClaimOrder(r.Context(), order.OrderID)
	if err != nil {
		reply(w, http.StatusServiceUnavailable, problem("the order store is unavailable: %v", err))
		return
	}
	if !claimed && !retryInDoubt(w, r, client, store, order.OrderID) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, err := client.ScheduleWorkflow(ctx, WorkflowName, workflow.WithInstanceID(order.OrderID), workflow.WithInput(order))
	if err != nil {
		// daprd may have saved it all the same: the claim stays in doubt (a first
		// attempt's is born so; a retry's goes back to it).
		if !claimed {
			_ = store.DoubtOrder(context.WithoutCancel(r.Context()), order.OrderID)
		}
		reply(w, http.StatusServiceUnavailable, problem("could not schedule the workflow: %v", err))
		return
	}
	// daprd has it: accepted, settled or not (a claim left in doubt makes a retry ask
	// daprd, which answers that it exists).
	_ = store.SettleOrder(context.WithoutCancel(r.Context()), order.OrderID)
	w.Header().Set("Location", "/orders/"+id)
	reply(w, http.StatusAccepted, map[string]string{"instanceId": id})
}

// retryInDoubt handles a retry of an id already claimed: true when this request should
// schedule it (an earlier attempt failed and daprd does not have it); otherwise it has
// answered 409 (the id is taken, or daprd has it from the earlier attempt) or 503.
func retryInDoubt(w http.ResponseWriter, r *http.Request, client *workflow.Client, store *Store, orderID string) bool {
	doubtful, err := store.RetryDoubtful(r.Context(), orderID)
	if err != nil {
		reply(w, http.StatusServiceUnavailable, problem("the order store is unavailable: %v", err))
		return false
	}
	if !doubtful {
		reply(w, http.StatusConflict, problem("order %s already exists", orderID))
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	_, err = client.FetchWorkflowMetadata(ctx, orderID)
	if errors.Is(err, api.ErrInstanceNotFound) || status.Code(err) == codes.NotFound {
		return true
	}
	if err != nil {
		_ = store.DoubtOrder(context.WithoutCancel(r.Context()), orderID)
		reply(w, http.StatusServiceUnavailable, problem("could not tell whether %s exists: %v", orderID, err))
		return false
	}
	_ = store.SettleOrder(r.Context(), orderID)
	reply(w, http.StatusConflict, problem("order %s already exists", orderID))
	return false
}

func orderStatus(w http.ResponseWriter, r *http.Request, client *workflow.Client) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	meta, err := client.FetchWorkflowMetadata(ctx, id, workflow.WithFetchPayloads(true))
	if errors.Is(err, api.ErrInstanceNotFound) || status.Code(err) == codes.NotFound {
		reply(w, http.StatusNotFound, problem("no order %s", id))
		return
	}
	if err != nil {
		reply(w, http.StatusServiceUnavailable, problem("could not read the workflow state: %v", err))
		return
	}
	body := map[string]any{"runtimeStatus": meta.String(), "output": nil}
	if out := meta.Output.GetValue(); out != "" {
		body["output"] = json.RawMessage(out)
	}
	if failure := meta.FailureDetails; failure != nil {
		body["failure"] = map[string]string{"type": failure.GetErrorType(), "message": failure.GetErrorMessage()}
	}
	reply(w, http.StatusOK, body)
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

var orderFields = map[string]bool{
	"orderId": true, "customerId": true, "productId": true, "quantity": true, "totalAmount": true,
}

// parseOrder validates a POST /orders body as the reference app does; the error says what
// to fix.
func parseOrder(body io.Reader) (Order, error) {
	var raw map[string]json.RawMessage
	data, err := io.ReadAll(body)
	if err != nil {
		return Order{}, fmt.Errorf("cannot read the body: %v", err)
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return Order{}, errors.New("body must be a JSON object with customerId, productId, " +
			"quantity, totalAmount (and optionally orderId)")
	}
	for name := range raw {
		if !orderFields[name] {
			return Order{}, fmt.Errorf("unknown field %q; allowed: customerId, orderId, productId, quantity, totalAmount", name)
		}
	}
	var order Order
	if text, ok := raw["orderId"]; ok && string(text) != "null" {
		if json.Unmarshal(text, &order.OrderID) != nil {
			return Order{}, errors.New("orderId must be a string")
		}
	}
	if order.OrderID == "" {
		order.OrderID = newOrderID()
	}
	if !orderIDPattern.MatchString(order.OrderID) {
		return Order{}, errors.New("orderId must be 1-128 characters of letters, digits, '.', '_', ':', '-', " +
			"starting with a letter or digit")
	}
	for name, into := range map[string]*string{"customerId": &order.CustomerID, "productId": &order.ProductID} {
		if json.Unmarshal(raw[name], into) != nil || strings.TrimSpace(*into) == "" {
			return Order{}, fmt.Errorf("%s is required and must be a non-empty string", name)
		}
	}
	quantity, ok := number(raw["quantity"])
	n, err := strconv.ParseInt(quantity, 10, 32)
	if !ok || err != nil || n <= 0 {
		return Order{}, fmt.Errorf("quantity must be a positive integer, got %s", orNothing(raw["quantity"]))
	}
	order.Quantity = int(n)
	total, ok := number(raw["totalAmount"])
	amount, err := strconv.ParseFloat(total, 64)
	if !ok || err != nil || amount < 0 {
		return Order{}, fmt.Errorf("totalAmount must be a number >= 0, got %s", orNothing(raw["totalAmount"]))
	}
	order.TotalAmount = amount
	return order, nil
}

// number returns a JSON number's literal; false for anything else (strings included).
func number(raw json.RawMessage) (string, bool) {
	text := strings.TrimSpace(string(raw))
	if text == "" || (text[0] != '-' && (text[0] < '0' || text[0] > '9')) {
		return "", false
	}
	return text, true
}

func orNothing(raw json.RawMessage) string {
	if raw == nil {
		return "nothing"
	}
	return string(raw)
}

func newOrderID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
