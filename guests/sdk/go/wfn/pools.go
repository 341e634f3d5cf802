package wfn

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/conns"
)

// ErrUnsupportedPool is returned by [AttachDatabasePool] for a value that
// is none of the pools it knows, as attachDatabasePool throws
// "Unsupported database pool type".
var ErrUnsupportedPool = errors.New("wfn: unsupported database pool type")

// suspendBudget is how long wfn_on_suspend gives the pools together: the
// host allows the call 500 ms (abi/SPEC.md, section 5c).
const suspendBudget = 400 * time.Millisecond

// idleReleaser releases the idle connections of one attached pool.
type idleReleaser func(ctx context.Context) error

var attached struct {
	mu    sync.Mutex
	pools []any
	rel   []idleReleaser
}

// AttachDatabasePool makes the host's suspension of the instance release
// the idle connections of pool, the counterpart of attachDatabasePool in
// @vercel/functions ("idle pool clients are properly released before
// functions suspend"). Between invocations no guest code runs, so a
// pool's own idle timers cannot fire; instead the host calls the
// wfn_on_suspend export on an instance that served nothing for 10
// seconds, and before it closes an idle instance (abi/SPEC.md, section
// 5c), and the SDK then closes the attached pools' idle connections with
// each pool's own API. The pool stays usable: its next acquire dials
// again.
//
// pool is one of (recognised by its methods, so the SDK does not depend
// on the drivers):
//
//   - *pgxpool.Pool (github.com/jackc/pgx/v5/pgxpool): the connections
//     that AcquireAllIdle returns are closed.
//   - *sql.DB (database/sql): each idle connection is taken with DB.Conn
//     and its driver connection closed (Conn.Raw); the DB drops it when
//     the driver's ResetSession then reports driver.ErrBadConn, as pgx's
//     stdlib does, and otherwise finds it closed at its next use and dials
//     again. (Not DB.SetMaxIdleConns(0): the DB has no getter to restore
//     the setting after.)
//   - *redis.Client (github.com/redis/go-redis/v9): go-redis has no call
//     that closes only idle connections, so the SDK closes the
//     connections that wfnnet dialed for the instance to the client's
//     Options().Addr, which read as closed by the server; go-redis drops
//     such a connection and retries the command (up to its MaxRetries, 3
//     by default) on another. A Pub/Sub connection to the same address
//     is closed too and resubscribes.
//
// Under ABI version 2 (build tag wfn_fluid, "fluid": true) an instance is
// never suspended, and a pool's own idle timers run between invocations
// (the guest waits in poll_oneoff, abi/SPEC-v2.md section 2), so they
// close idle connections as they do natively. "Before the instance
// suspends" then means "before it goes": the SDK releases the attached
// pools' idle connections when the host posts EventStop (the instance is
// idle and the host closes it: shutdown, reload, idle closing), before
// wfn_serve returns, and when it posts EventSigterm (after the OnSigterm
// functions), within the same 400 ms; the host closes whatever is left
// when the instance goes.
//
// Anything else returns an error wrapping [ErrUnsupportedPool], and is not
// attached. Attaching the same pool twice attaches it once. The pool's
// connections must belong to the instance (wfnnet.PoolDialContext), or
// the host closes them at the end of each invocation anyway. Call it from
// init, after making the pool; it is safe from any goroutine.
func AttachDatabasePool(pool any) error {
	rel, err := releaserOf(pool)
	if err != nil {
		return err
	}
	attached.mu.Lock()
	defer attached.mu.Unlock()
	for _, p := range attached.pools {
		if p == pool {
			return nil
		}
	}
	attached.pools = append(attached.pools, pool)
	attached.rel = append(attached.rel, rel)
	suspendHook = releaseIdle
	return nil
}

// releaserOf recognises a pool by its methods. The reflection lives in
// functions that only AttachDatabasePool reaches, so that a function
// that attaches no pool does not link it (the linker keeps every exported
// method once reflect's Method is reachable).
func releaserOf(pool any) (idleReleaser, error) {
	v := reflect.ValueOf(pool)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil, unsupported(pool)
	}
	// *sql.DB: Stats() sql.DBStats with an Idle count, Conn(ctx)
	// (*sql.Conn, error) with a Raw method. Not imported, so that a
	// function that does not use database/sql does not link it.
	if stats, conn := v.MethodByName("Stats"), v.MethodByName("Conn"); stats.IsValid() && conn.IsValid() && sqlDBType(stats.Type(), conn.Type()) {
		return func(ctx context.Context) error { return releaseSQL(ctx, stats, conn) }, nil
	}
	// pgxpool.Pool: AcquireAllIdle(ctx) []*pgxpool.Conn.
	if m := v.MethodByName("AcquireAllIdle"); m.IsValid() && acquireAllIdleType(m.Type()) {
		return func(ctx context.Context) error { return releasePgx(ctx, m) }, nil
	}
	// go-redis: Options() *redis.Options with an Addr, and PoolStats.
	if v.MethodByName("PoolStats").IsValid() {
		if m := v.MethodByName("Options"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
			if addr, ok := redisAddr(m); ok {
				return func(context.Context) error { conns.ReleaseTo(addr); return nil }, nil
			}
		}
	}
	return nil, unsupported(pool)
}

// unsupported is the error for a value that is no known pool.
func unsupported(pool any) error {
	name := "nil"
	if t := reflect.TypeOf(pool); t != nil {
		name = t.String()
	}
	return &poolError{name}
}

type poolError struct{ typ string }

func (e *poolError) Error() string {
	return ErrUnsupportedPool.Error() + ": " + e.typ + " (want *pgxpool.Pool, *sql.DB or *redis.Client)"
}

func (e *poolError) Unwrap() error { return ErrUnsupportedPool }

// acquireAllIdleType reports whether t is func(context.Context) []*C for
// a C with a Release method and a Conn method.
func acquireAllIdleType(t reflect.Type) bool {
	contextType := reflect.TypeFor[context.Context]()
	releaseType := reflect.TypeFor[interface{ Release() }]()
	if t.NumIn() != 1 || t.In(0) != contextType || t.NumOut() != 1 || t.Out(0).Kind() != reflect.Slice {
		return false
	}
	elem := t.Out(0).Elem()
	_, hasConn := elem.MethodByName("Conn")
	return elem.Implements(releaseType) && hasConn
}

// redisAddr calls Options and reads its Addr field.
func redisAddr(options reflect.Value) (string, bool) {
	o := options.Call(nil)[0]
	if o.Kind() != reflect.Pointer || o.IsNil() || o.Elem().Kind() != reflect.Struct {
		return "", false
	}
	addr := o.Elem().FieldByName("Addr")
	if !addr.IsValid() || addr.Kind() != reflect.String {
		return "", false
	}
	return addr.String(), true
}

// releasePgx closes the connections that pgxpool's AcquireAllIdle hands
// over: each *pgx.Conn is closed, then released, and a released closed
// connection leaves the pool.
func releasePgx(ctx context.Context, acquireAllIdle reflect.Value) error {
	idle := acquireAllIdle.Call([]reflect.Value{reflect.ValueOf(ctx)})[0]
	var errs []error
	for i := range idle.Len() {
		c := idle.Index(i)
		if conn, ok := c.MethodByName("Conn").Call(nil)[0].Interface().(interface {
			Close(context.Context) error
		}); ok {
			errs = append(errs, conn.Close(ctx))
		}
		c.Interface().(interface{ Release() }).Release()
	}
	return errors.Join(errs...)
}

// sqlDBType reports whether stats and conn have the shapes of *sql.DB's
// Stats and Conn.
func sqlDBType(stats, conn reflect.Type) bool {
	contextType := reflect.TypeFor[context.Context]()
	errorType := reflect.TypeFor[error]()
	rawFunc := reflect.TypeFor[func(any) error]()
	if stats.NumIn() != 0 || stats.NumOut() != 1 || stats.Out(0).Kind() != reflect.Struct {
		return false
	}
	if f, ok := stats.Out(0).FieldByName("Idle"); !ok || f.Type.Kind() != reflect.Int {
		return false
	}
	if conn.NumIn() != 1 || conn.In(0) != contextType || conn.NumOut() != 2 || conn.Out(1) != errorType {
		return false
	}
	raw, ok := conn.Out(0).MethodByName("Raw")
	_, closes := conn.Out(0).MethodByName("Close")
	return ok && closes && raw.Type.NumIn() == 2 && raw.Type.In(1) == rawFunc
}

// releaseSQL closes the idle connections of a *sql.DB: each is taken with
// Conn, its driver connection closed through Raw, and handed back with
// the error the driver's ResetSession gives for a closed connection
// (driver.ErrBadConn), so that the DB drops it.
func releaseSQL(ctx context.Context, stats, conn reflect.Value) error {
	idle := int(stats.Call(nil)[0].FieldByName("Idle").Int())
	bad := reflect.ValueOf(func(dc any) error {
		if c, ok := dc.(interface{ Close() error }); ok {
			c.Close()
		}
		// The driver's own word that the connection is gone
		// (driver.ErrBadConn, without importing database/sql/driver, whose
		// initialisation costs every function 230 KB), which makes Raw
		// hand it back bad.
		if r, ok := dc.(interface{ ResetSession(context.Context) error }); ok {
			return r.ResetSession(ctx)
		}
		return nil
	})
	for range idle {
		out := conn.Call([]reflect.Value{reflect.ValueOf(ctx)})
		if err, _ := out[1].Interface().(error); err != nil {
			return err
		}
		c := out[0]
		c.MethodByName("Raw").Call([]reflect.Value{bad})
		c.MethodByName("Close").Call(nil)
	}
	return nil
}

// suspendHook is set by the first AttachDatabasePool, so that a module
// that attaches no pool does not link the pools' code.
var suspendHook func()

// onSuspend is what the wfn_on_suspend export does.
func onSuspend() {
	if suspendHook != nil {
		suspendHook()
	}
}

// releaseIdle releases the idle connections of every attached pool,
// within the host's 500 ms.
func releaseIdle() {
	attached.mu.Lock()
	rel := attached.rel
	attached.mu.Unlock()
	if len(rel) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), suspendBudget)
	defer cancel()
	for _, r := range rel {
		r(ctx) // a pool that cannot release now releases at its next use
	}
}
