package cache

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis layout, under the prefix P (WithPrefix):
//
//	P k:<key>  hash  v: encoded value, s: seq, c: created µs, e: expires µs (0: never), t: tags joined by ","
//	P t:<tag>  hash  x: expired seq, i: invalidated seq, d: deleted seq, u: deleted until µs
//	P seq      the sequence every write takes a number from (INCR)
//	P gen      a random value; gone when Redis lost the data (FLUSHALL)
//	P inval    pub/sub channel: "k"+key after Set and Delete, "t"+tags after tag operations
//
// Times are Redis's own clock (TIME), so hosts with skewed clocks agree.
// Scripts touch keys they do not declare, so the store needs a standalone
// Redis (or one where all of P lives in one slot), not Redis Cluster.

const luaHelpers = `
local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local function n(x) return string.format('%.0f', x) end
`

// KEYS: entry, seq. ARGV: value, ttl ms (0: none), tags, channel, message.
var setScript = redis.NewScript(luaHelpers + `
local t = now()
local seq = redis.call('INCR', KEYS[2])
local ttl = tonumber(ARGV[2])
local exp = 0
if ttl > 0 then exp = t + ttl * 1000 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', n(seq), 'c', n(t), 'e', n(exp), 't', ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`)

// KEYS: entry. ARGV: tag key prefix.
// Returns nil, or v, s, c, e, t, now µs, then x, i, d, u for each tag.
var getScript = redis.NewScript(luaHelpers + `
local h = redis.call('HMGET', KEYS[1], 'v', 's', 'c', 'e', 't')
if not h[1] then return false end
local r = {h[1], h[2], h[3], h[4], h[5], n(now())}
for tag in string.gmatch(h[5], '[^,]+') do
  local st = redis.call('HMGET', ARGV[1] .. tag, 'x', 'i', 'd', 'u')
  for j = 1, 4 do r[#r + 1] = st[j] or '0' end
end
return r
`)

// KEYS: entry. ARGV: seq. Deletes the entry if it is still the one at seq.
var deleteIfScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 's') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// KEYS: entry. ARGV: channel, message.
var deleteScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`)

// KEYS: seq. ARGV: op (x, i or d), deadline µs, tag key prefix, channel,
// message, tags... The d branch is tagState.delete.
var tagScript = redis.NewScript(luaHelpers + `
local seq = redis.call('INCR', KEYS[1])
local t = now()
local op, dl = ARGV[1], tonumber(ARGV[2])
for j = 6, #ARGV do
  local k = ARGV[3] .. ARGV[j]
  if op == 'd' then
    local st = redis.call('HMGET', k, 'x', 'd', 'u')
    local untilT = t + dl
    local d = tonumber(st[2] or '0')
    if d > 0 then
      local u = tonumber(st[3] or '0')
      if t >= u then
        if d > tonumber(st[1] or '0') then redis.call('HSET', k, 'x', n(d)) end
      elseif u < untilT then
        untilT = u
      end
    end
    redis.call('HSET', k, 'd', n(seq), 'u', n(untilT))
  else
    redis.call('HSET', k, op, n(seq))
  end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`)

// The subscription is checked with a PING after heartbeat of silence. The
// front is used only while something was heard on it within lease, so that
// a host cut off from Redis stops serving from its front within lease (the
// 300 ms in which Vercel propagates expireTag); after lease of silence the
// subscription is dropped and made again.
const (
	heartbeat = 100 * time.Millisecond
	lease     = 300 * time.Millisecond
)

type redisStore struct {
	client  *redis.Client
	cfg     config
	front   *front
	health  *health      // of calls
	subs    *health      // of the subscription
	heard   atomic.Int64 // unix ns when the subscription last delivered anything
	channel string
	closed  atomic.Bool

	ctx        context.Context // ends at Close; the listener runs under it
	cancel     context.CancelFunc
	done       chan struct{}
	genDone    chan struct{} // closed when watchGen returns
	gen        string        // the value of P gen the front was filled under; watchGen's
	subscribed chan struct{} // closed at the first subscription
	subOnce    sync.Once
	closeOnce  sync.Once

	psMu sync.Mutex
	ps   *redis.PubSub // the listener's subscription, closed by Close to wake it
}

var _ Store = (*redisStore)(nil)

// OpenRedis connects to the Redis at url (redis://[user:pass@]host:port/db
// or rediss:// for TLS) and returns a store that several host processes,
// on several machines, share.
//
// Every call waits at most WithTimeout (default 500 ms) for Redis and then
// fails with an error wrapping ErrUnavailable and the cause; a warning is
// logged when Redis goes away (then at most every 10 s) and when it is back.
// The client reconnects by itself. A command Redis refuses (full with
// noeviction, read-only, an ACL) fails the same way, but Redis is not taken
// for down: other calls still go to it, and a warning names the refusal at
// most every 10 s.
//
// The front (WithFrontSize) is kept coherent across processes through Redis
// pub/sub: every write publishes what it changed, and every store drops the
// keys and tags it hears about. The front is used only while the
// subscription answered within the last 300 ms (it is pinged every 100 ms
// of silence); when it fails the front is emptied, and it is used again
// once the subscription is made again, as messages sent meanwhile are lost.
// A loss of data that publishes nothing (FLUSHALL, FLUSHDB, the prefix's
// keys deleted) empties the front within about 100 ms.
//
// OpenRedis fails if Redis does not answer a PING. Options that apply:
// WithFrontSize, WithTimeout, WithPrefix, WithLogger.
func OpenRedis(ctx context.Context, url string, opts ...Option) (Store, error) {
	cfg := newConfig(opts)
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cannot open cache: %w: %w", ErrInvalid, err)
	}
	opt.DialTimeout = cfg.timeout
	opt.ReadTimeout = cfg.timeout
	opt.WriteTimeout = cfg.timeout
	opt.PoolTimeout = cfg.timeout
	opt.ContextTimeoutEnabled = true
	opt.DialerRetries = 1
	opt.MaxRetries = 1
	opt.MinRetryBackoff = 8 * time.Millisecond
	opt.MaxRetryBackoff = 32 * time.Millisecond
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	client := redis.NewClient(opt)

	pctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	err = client.Ping(pctx).Err()
	cancel()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("cannot open cache at %s: %w: %w%s", opt.Addr, ErrUnavailable, err, tlsHint(opt, err))
	}

	s := &redisStore{
		client:     client,
		cfg:        cfg,
		front:      newFront(cfg.frontBytes, false),
		health:     &health{logger: cfg.logger, attrs: []any{"backend", "redis", "addr", opt.Addr}},
		subs:       &health{logger: cfg.logger, attrs: []any{"backend", "redis pub/sub", "addr", opt.Addr}},
		channel:    cfg.prefix + "inval",
		done:       make(chan struct{}),
		subscribed: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.listen()
	s.genDone = make(chan struct{})
	if s.front != nil {
		go s.watchGen()
	} else {
		close(s.genDone)
	}
	// Wait a little for the subscription so that the front works from the
	// first call; the store works without it.
	select {
	case <-s.subscribed:
	case <-time.After(cfg.timeout):
	case <-ctx.Done():
	}
	return s, nil
}

// tlsHint explains a first PING that failed for a likely reason the
// driver's error does not give: a rediss:// URL (TLS) to a Redis without
// TLS, which waits for a command while the client waits for the
// handshake's answer until the timeout (or answers with a plain error the
// handshake cannot read).
func tlsHint(opt *redis.Options, err error) string {
	var rec tls.RecordHeaderError
	if opt.TLSConfig != nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rec)) {
		return " (the URL's rediss:// scheme asks for TLS, and no TLS handshake was answered: a Redis without TLS takes redis://)"
	}
	return ""
}

func (s *redisStore) entryKey(key string) string { return s.cfg.prefix + "k:" + key }
func (s *redisStore) tagPrefix() string          { return s.cfg.prefix + "t:" }
func (s *redisStore) seqKey() string             { return s.cfg.prefix + "seq" }

// call runs f with the per-call timeout and turns a backend failure into
// ErrUnavailable.
func (s *redisStore) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	if s.closed.Load() {
		return fmt.Errorf("cannot %s: store closed: %w", what, ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	if err := s.health.allow(); err != nil {
		return fmt.Errorf("cannot %s: %w: %w", what, ErrUnavailable, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	err := f(cctx)
	if err == nil || errors.Is(err, redis.Nil) {
		s.health.ok()
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cannot %s: %w", what, ctx.Err())
	}
	if s.closed.Load() {
		return fmt.Errorf("cannot %s: store closed: %w: %w", what, ErrUnavailable, err)
	}
	if refusal(err) {
		// Redis answered and refused the command: it is reachable and
		// the subscription missed nothing, so other calls still try it
		// and the front stays.
		s.health.refused(err)
		return fmt.Errorf("cannot %s: %w: %w", what, ErrUnavailable, err)
	}
	s.health.fail(err)
	// What the front holds may be outdated by writes this process did not
	// hear about; keep using it only if the subscription survives.
	s.front.clear()
	return fmt.Errorf("cannot %s: %w: %w", what, ErrUnavailable, err)
}

// refusal reports whether err is Redis refusing one command while it
// serves others: full with noeviction (OOM), a read-only replica
// (READONLY), an ACL (NOPERM), writes stopped after a failed save
// (MISCONF). Other error replies (LOADING, BUSY, max clients reached) mean
// a server that answers nothing useful for now: it is down.
func refusal(err error) bool {
	for _, p := range []string{"OOM ", "READONLY ", "NOPERM ", "MISCONF "} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

func (s *redisStore) Get(ctx context.Context, key string) (Entry, error) {
	if err := checkKey(key); err != nil {
		return Entry{}, fmt.Errorf("cannot get: %w", err)
	}
	if s.closed.Load() {
		return Entry{}, fmt.Errorf("cannot get: store closed: %w", ErrUnavailable)
	}
	local := now()
	if local.UnixNano()-s.heard.Load() < int64(lease) {
		if e, ok := s.front.get(key, local); ok {
			return e, nil
		}
	}
	epoch := s.front.begin()
	var res []any
	err := s.call(ctx, "get", func(ctx context.Context) error {
		var err error
		res, err = getScript.Run(ctx, s.client, []string{s.entryKey(key)}, s.tagPrefix()).Slice()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Entry{}, err
	}
	e, seq, until, server, miss, err := parseGet(res)
	if err != nil {
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, err)
	}
	if miss {
		// Remove it now: nothing else would before its TTL, if any.
		_ = s.call(ctx, "get", func(ctx context.Context) error {
			return deleteIfScript.Run(ctx, s.client, []string{s.entryKey(key)}, seq).Err()
		})
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, ErrNotFound)
	}
	// The server's clock to ours: callers compare these times with
	// time.Now (the CDN cache computes ages from Created).
	if !until.IsZero() {
		until = local.Add(until.Sub(server))
	}
	e.Created = local.Add(e.Created.Sub(server))
	if !e.Expires.IsZero() {
		e.Expires = local.Add(e.Expires.Sub(server))
	}
	s.front.put(key, e, until, epoch)
	return e, nil
}

// parseGet decodes getScript's reply and judges the entry at the server's
// time, which it returns with the time the answer changes.
func parseGet(res []any) (e Entry, seq uint64, until, server time.Time, miss bool, err error) {
	str := make([]string, len(res))
	for i, v := range res {
		s, ok := v.(string)
		if !ok {
			return e, 0, until, server, false, fmt.Errorf("reply item %d is %T: %w", i, v, errCorrupt)
		}
		str[i] = s
	}
	if len(str) < 6 || (len(str)-6)%4 != 0 {
		return e, 0, until, server, false, fmt.Errorf("reply of %d items: %w", len(str), errCorrupt)
	}
	var nums [3]int64
	for i, s := range []string{str[1], str[2], str[3]} {
		if nums[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return e, 0, until, server, false, fmt.Errorf("entry field: %w: %w", errCorrupt, err)
		}
	}
	nowUs, err := strconv.ParseInt(str[5], 10, 64)
	if err != nil {
		return e, 0, until, server, false, fmt.Errorf("server time: %w: %w", errCorrupt, err)
	}
	seq, server = uint64(nums[0]), time.UnixMicro(nowUs)
	states := make([]tagState, 0, (len(str)-6)/4)
	for i := 6; i < len(str); i += 4 {
		var v [4]uint64
		for j := range v {
			if v[j], err = strconv.ParseUint(str[i+j], 10, 64); err != nil {
				return e, 0, until, server, false, fmt.Errorf("tag field: %w: %w", errCorrupt, err)
			}
		}
		st := tagState{expired: v[0], invalidated: v[1], deleted: v[2]}
		if v[3] != 0 {
			st.deleteUntil = time.UnixMicro(int64(v[3]))
		}
		states = append(states, st)
	}
	e.Created = time.UnixMicro(nums[1])
	if nums[2] != 0 {
		e.Expires = time.UnixMicro(nums[2])
	}
	miss, e.Stale, until = judge(seq, e.Expires, states, server)
	if miss {
		return Entry{}, seq, time.Time{}, server, true, nil
	}
	if str[4] != "" {
		e.Tags = strings.Split(str[4], ",")
	}
	if e.Value, err = decodeValue([]byte(str[0])); err != nil {
		return Entry{}, seq, until, server, false, err
	}
	return e, seq, until, server, false, nil
}

func (s *redisStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration, tags []string) error {
	if err := checkSet(key, value, ttl, tags); err != nil {
		return fmt.Errorf("cannot set: %w", err)
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	enc := encodeValue(value)
	err := s.call(ctx, "set", func(ctx context.Context) error {
		return setScript.Run(ctx, s.client, []string{s.entryKey(key), s.seqKey()},
			enc, ms, strings.Join(tags, ","), s.channel, "k"+key).Err()
	})
	s.front.drop(key)
	return err
}

func (s *redisStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("cannot delete: %w", err)
	}
	err := s.call(ctx, "delete", func(ctx context.Context) error {
		return deleteScript.Run(ctx, s.client, []string{s.entryKey(key)}, s.channel, "k"+key).Err()
	})
	s.front.drop(key)
	return err
}

func (s *redisStore) ExpireTags(ctx context.Context, tags ...string) error {
	return s.tagOp(ctx, "expire tags", "x", 0, tags)
}

func (s *redisStore) InvalidateTags(ctx context.Context, tags ...string) error {
	return s.tagOp(ctx, "invalidate tags", "i", 0, tags)
}

func (s *redisStore) DeleteTags(ctx context.Context, deadline time.Duration, tags ...string) error {
	if deadline < 0 {
		return fmt.Errorf("cannot delete tags: negative deadline %v: %w", deadline, ErrInvalid)
	}
	if deadline == 0 {
		return s.tagOp(ctx, "delete tags", "x", 0, tags)
	}
	return s.tagOp(ctx, "delete tags", "d", max(deadline.Microseconds(), 1), tags)
}

func (s *redisStore) tagOp(ctx context.Context, what, op string, deadlineUs int64, tags []string) error {
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	if len(tags) == 0 {
		return nil
	}
	args := make([]any, 0, 5+len(tags))
	args = append(args, op, deadlineUs, s.tagPrefix(), s.channel, "t"+strings.Join(tags, ","))
	for _, t := range tags {
		args = append(args, t)
	}
	err := s.call(ctx, what, func(ctx context.Context) error {
		return tagScript.Run(ctx, s.client, []string{s.seqKey()}, args...).Err()
	})
	s.front.dropTags(tags)
	return err
}

func (s *redisStore) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.psMu.Lock()
		if s.ps != nil {
			s.ps.Close()
		}
		s.psMu.Unlock()
		for _, done := range []chan struct{}{s.done, s.genDone} {
			select {
			case <-done:
			case <-ctx.Done():
				err = fmt.Errorf("cannot close cache: %w", ctx.Err())
			}
		}
		if cerr := s.client.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cannot close cache: %w", cerr)
		}
		s.front.reset(false)
	})
	return err
}

// flushCheck is how often watchGen checks that Redis still has the data
// the front was filled from.
const flushCheck = 100 * time.Millisecond

// watchGen empties the front when Redis has lost the data it was filled
// from: FLUSHALL or FLUSHDB, the prefix's keys deleted, a restart without
// persistence. Such a loss publishes nothing, and the subscription
// survives a flush, so the front would keep answering what Redis no
// longer holds. P gen holds a random value set when it is missing; a
// store that finds another value than the one it last saw empties its
// front.
func (s *redisStore) watchGen() {
	defer close(s.genDone)
	t := time.NewTicker(flushCheck)
	defer t.Stop()
	for {
		// While the subscription is down the front is empty and not
		// filled (listen), and Redis is not dialled for this.
		if !s.subs.down.Load() {
			s.checkGen()
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *redisStore) checkGen() {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.timeout)
	defer cancel()
	key := s.cfg.prefix + "gen"
	v, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		if err = s.client.SetNX(ctx, key, rand.Text(), 0).Err(); err == nil {
			v, err = s.client.Get(ctx, key).Result()
		}
	}
	if err != nil {
		return // down or full: the calls and the subscription see to that
	}
	if s.gen != "" && v != s.gen {
		s.front.clear()
		s.cfg.logger.Info("cache: Redis lost the cache's data (flushed, or restarted empty); the in-memory front is emptied", s.health.attrs...)
	}
	s.gen = v
}

// listen keeps a subscription to the invalidation channel and applies what
// it hears to the front. The front is trusted only while subscribed.
func (s *redisStore) listen() {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		s.psMu.Lock()
		if s.ctx.Err() != nil {
			s.psMu.Unlock()
			return
		}
		ps := s.client.Subscribe(s.ctx, s.channel)
		s.ps = ps
		s.psMu.Unlock()
		subscribed, err := s.receive(ps)
		ps.Close()
		s.front.reset(false)
		if s.ctx.Err() != nil {
			return
		}
		s.subs.fail(err)
		if subscribed {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// receive handles the messages of ps until it fails. It reports whether the
// subscription was made.
func (s *redisStore) receive(ps *redis.PubSub) (subscribed bool, err error) {
	heard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(s.ctx, heartbeat)
		if err != nil {
			if s.ctx.Err() != nil {
				return subscribed, err
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return subscribed, err
			}
			if silent := time.Since(heard); silent > lease {
				return subscribed, fmt.Errorf("no reply to PING for %v: %w", silent.Round(time.Millisecond), err)
			}
			if err := ps.Ping(s.ctx); err != nil {
				return subscribed, err
			}
			continue
		}
		heard = time.Now()
		s.heard.Store(heard.UnixNano())
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				subscribed = true
				// Messages sent before this point were lost: start empty.
				s.front.reset(true)
				s.subs.ok()
				s.subOnce.Do(func() { close(s.subscribed) })
			}
		case *redis.Message:
			switch p := m.Payload; {
			case strings.HasPrefix(p, "k"):
				s.front.drop(p[1:])
			case strings.HasPrefix(p, "t"):
				s.front.dropTags(strings.Split(p[1:], ","))
			}
		}
	}
}
