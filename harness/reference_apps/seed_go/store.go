package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The business state lives in Valkey under the same keys, with the same meaning, as the
// Python reference app's (scenarios/order_app/store.py), so GET /state has the same shape
// and the harness's conservation check reads either app. Money is integer cents.
const (
	prefix        = "orderapp:"
	stockKey      = prefix + "stock"
	initialKey    = prefix + "stock:initial"
	chargesKey    = prefix + "charges"
	refundsKey    = prefix + "refunds"
	reservedKey   = prefix + "reservations"
	notifiedKey   = prefix + "notifications"
	acceptedKeyOf = prefix + "accepted:"
	idemKeyOf     = prefix + "idem:"
)

// applyOnce adds ARGV[2] to field ARGV[1] of hash KEYS[2] unless the idempotency hash
// KEYS[1] says it was applied already (ARGV[3] = '1'; '0' applies every time: the broken
// variant). Returns {1 if applied now else 0, the application's number}: a retry that
// finds the effect applied gets the number of the application it found, a real second
// application gets the next number, so the ledger can tell a re-record from a duplicate.
var applyOnce = redis.NewScript(`
if ARGV[3] == '1' then
  local done = redis.call('HGET', KEYS[1], 'applied')
  if done then
    return {0, tonumber(done)}
  end
end
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
`)

// stockOnFirstUse defines stock_on_first_use(stock, initial, product, units): the first
// time product is asked for, it is stocked with units (-1: not a product of this shop,
// never stocked) in both hashes. Spliced into the scripts that read stock, so stocking and
// reading are one atomic step.
const stockOnFirstUse = `
local function stock_on_first_use(stock, initial, product, units)
  if tonumber(units) >= 0 and redis.call('HSETNX', initial, product, units) == 1 then
    redis.call('HSET', stock, product, units)
  end
end
`

// stockOf returns the units of product ARGV[1] left in KEYS[1], stocking it first
// (initial stock KEYS[2], ARGV[2] units) if it was never asked for.
var stockOf = redis.NewScript(stockOnFirstUse + `
stock_on_first_use(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
`)

// reserveOnce takes ARGV[2] units of product ARGV[1] from the stock hash KEYS[2] and books
// them for order ARGV[3] in KEYS[3], once per idempotency hash KEYS[1]. Too little stock is
// an outcome too, remembered like a reservation so that a retry answers the same.
// Returns {applied now, reserved (1/0), application number}.
// The product is stocked on first use (initial stock KEYS[4], ARGV[4] units).
var reserveOnce = redis.NewScript(stockOnFirstUse + `
local earlier = redis.call('HGET', KEYS[1], 'reserved')
if earlier then
  return {0, tonumber(earlier), tonumber(redis.call('HGET', KEYS[1], 'applied') or '0')}
end
stock_on_first_use(KEYS[2], KEYS[4], ARGV[1], ARGV[4])
local left = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local wanted = tonumber(ARGV[2])
if left < wanted then
  redis.call('HSET', KEYS[1], 'reserved', 0)
  return {0, 0, 0}
end
redis.call('HINCRBY', KEYS[2], ARGV[1], -wanted)
redis.call('HINCRBY', KEYS[3], ARGV[3], wanted)
redis.call('HSET', KEYS[1], 'reserved', 1)
return {1, 1, redis.call('HINCRBY', KEYS[1], 'applied', 1)}
`)

// catalog is the stock the app starts with: the reference app's.
func catalog() map[string]int {
	units := map[string]int{"scarce": 5, "sold-out": 0}
	for i := 0; i < 20; i++ {
		units[fmt.Sprintf("p-%03d", i)] = regularUnits
	}
	return units
}

const (
	regularUnits = 100_000
	scarceUnits  = 5
)

var regularProduct = regexp.MustCompile(`^(?:.*-)?p-\d{3}$`)

// initialUnits is what a product is first stocked with, from its name, as the Python
// reference app does: "p-NNN" (or "<anything>-p-NNN") 100,000; "<anything>scarce" 5;
// "<anything>sold-out" 0; -1 for a name that is not a product of this shop (never
// stocked). So every run of a scenario can name scarce and sold-out products of its own,
// and one run selling out never leaves the next with nothing to sell.
func initialUnits(product string) int {
	switch {
	case strings.HasSuffix(product, "sold-out"):
		return 0
	case strings.HasSuffix(product, "scarce"):
		return scarceUnits
	case regularProduct.MatchString(product):
		return regularUnits
	}
	return -1
}

// Applied is one application of an effect: Now if this call applied it, and its identity
// "<idempotency key>#<n>", the same for every retry that finds it applied.
type Applied struct {
	Now         bool
	Application string
}

// BusinessState is GET /state: cents and units, keyed by order id or product.
type BusinessState struct {
	Stock         map[string]int64 `json:"stock"`
	InitialStock  map[string]int64 `json:"initial_stock"`
	Charges       map[string]int64 `json:"charges"`
	Refunds       map[string]int64 `json:"refunds"`
	Reservations  map[string]int64 `json:"reservations"`
	Notifications map[string]int64 `json:"notifications"`
}

// Store is the order app's business state. chargeOnce=false is the deliberately broken
// "payment-not-idempotent" variant: the charge applies on every execution.
type Store struct {
	rdb        *redis.Client
	chargeOnce bool
}

// OpenStore connects to Valkey at url (redis://:password@host:port/db).
func OpenStore(url string, chargeOnce bool) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("DAPR_CHAOS_VALKEY_URL is not a redis:// URL: %w", err)
	}
	// Short timeouts: an activity that fails fast is retried by its policy; one that hangs
	// holds the workflow.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 2*time.Second, 3*time.Second, 3*time.Second
	return &Store{rdb: redis.NewClient(opts), chargeOnce: chargeOnce}, nil
}

// Seed sets the initial stock of every product not seeded yet: a restarted app keeps
// what the orders so far left on the shelves.
func (s *Store) Seed(ctx context.Context) error {
	for product, units := range catalog() {
		fresh, err := s.rdb.HSetNX(ctx, initialKey, product, units).Result()
		if err != nil {
			return err
		}
		if fresh {
			if err := s.rdb.HSet(ctx, stockKey, product, units).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClaimOrder reserves an order id; false if it was claimed before. Dapr would run a
// finished instance id scheduled again, charging twice: the API refuses a reused id.
// The claim is born in doubt and settled (SettleOrder) once daprd has the instance:
// whatever stops the request in between (the store gone before a doubt could be
// written, the app killed) leaves a claim a retry can take, never one that answers 409
// for an order daprd never saved.
func (s *Store) ClaimOrder(ctx context.Context, orderID string) (bool, error) {
	return s.rdb.SetNX(ctx, acceptedKeyOf+orderID, doubtful, 0).Result()
}

// doubtful marks an order id not known to be scheduled: daprd may have the instance or not.
const doubtful = "?"

// takeDoubt turns a claim in doubt into one taken by this retry (KEYS[1] the claim,
// ARGV[1] the marker); 1 if it was in doubt, else 0.
var takeDoubt = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'retrying')
  return 1
end
return 0
`)

// DoubtOrder keeps the id taken after a retry's failed schedule, in doubt again: an error is no
// proof that daprd did not save the start (a restart can cut the answer). Releasing the
// id instead let a retry start it again after the first instance had finished, and Dapr
// recreates a completed instance: its effects, twice.
func (s *Store) DoubtOrder(ctx context.Context, orderID string) error {
	return s.rdb.Set(ctx, acceptedKeyOf+orderID, doubtful, 0).Err()
}

// RetryDoubtful tells whether the id is in doubt, taking it for this retry (one retry at
// a time asks daprd). The caller settles it with SettleOrder or DoubtOrder.
func (s *Store) RetryDoubtful(ctx context.Context, orderID string) (bool, error) {
	n, err := takeDoubt.Run(ctx, s.rdb, []string{acceptedKeyOf + orderID}, doubtful).Int()
	return n == 1, err
}

// SettleOrder makes the claim final: the id's instance exists in daprd.
func (s *Store) SettleOrder(ctx context.Context, orderID string) error {
	return s.rdb.Set(ctx, acceptedKeyOf+orderID, "1", 0).Err()
}

// InStock tells whether quantity units of product are on the shelves now (stocking it
// on first use, see initialUnits).
func (s *Store) InStock(ctx context.Context, product string, quantity int) (bool, error) {
	left, err := stockOf.Run(ctx, s.rdb, []string{stockKey, initialKey}, product, initialUnits(product)).Int64()
	if err != nil {
		return false, err
	}
	return left >= int64(quantity), nil
}

func (s *Store) apply(ctx context.Context, kind, key, hash, field string, amount int64, once bool) (Applied, error) {
	flag := "0"
	if once {
		flag = "1"
	}
	out, err := applyOnce.Run(ctx, s.rdb, []string{idemKeyOf + kind + ":" + key, hash}, field, amount, flag).Int64Slice()
	if err != nil {
		return Applied{}, err
	}
	return Applied{out[0] == 1, key + "#" + strconv.FormatInt(out[1], 10)}, nil
}

// Charge charges cents for the order once per key (every time in the broken variant).
func (s *Store) Charge(ctx context.Context, key, orderID string, cents int64) (Applied, error) {
	return s.apply(ctx, "charge", key, chargesKey, orderID, cents, s.chargeOnce)
}

// Refund refunds cents for the order once per key.
func (s *Store) Refund(ctx context.Context, key, orderID string, cents int64) (Applied, error) {
	return s.apply(ctx, "refund", key, refundsKey, orderID, cents, true)
}

// Notify counts one notification of the order's customer, once per key.
func (s *Store) Notify(ctx context.Context, key, orderID string) (Applied, error) {
	return s.apply(ctx, "notify", key, notifiedKey, orderID, 1, true)
}

// Reserve books quantity units of product for the order once per key; nil when there was
// not enough stock (no effect).
func (s *Store) Reserve(ctx context.Context, key, orderID, product string, quantity int) (*Applied, error) {
	keys := []string{idemKeyOf + "reserve:" + key, stockKey, reservedKey, initialKey}
	out, err := reserveOnce.Run(ctx, s.rdb, keys, product, quantity, orderID, initialUnits(product)).Int64Slice()
	if err != nil {
		return nil, err
	}
	if out[1] == 0 {
		return nil, nil
	}
	return &Applied{out[0] == 1, key + "#" + strconv.FormatInt(out[2], 10)}, nil
}

// Snapshot reads the whole business state at one moment: the hashes are read in one
// MULTI/EXEC, so no effect lands between two of the reads (a reservation made between
// the stock read and the reservations read would show as units that never left the
// shelves).
func (s *Store) Snapshot(ctx context.Context) (BusinessState, error) {
	pipe := s.rdb.TxPipeline()
	names := []string{stockKey, initialKey, chargesKey, refundsKey, reservedKey, notifiedKey}
	cmds := make([]*redis.MapStringStringCmd, len(names))
	for i, name := range names {
		cmds[i] = pipe.HGetAll(ctx, name)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return BusinessState{}, err
	}
	maps := make([]map[string]int64, len(names))
	for i, cmd := range cmds {
		maps[i] = make(map[string]int64, len(cmd.Val()))
		for field, raw := range cmd.Val() {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return BusinessState{}, fmt.Errorf("%s[%s] = %q is not an integer", names[i], field, raw)
			}
			maps[i][field] = n
		}
	}
	return BusinessState{maps[0], maps[1], maps[2], maps[3], maps[4], maps[5]}, nil
}
