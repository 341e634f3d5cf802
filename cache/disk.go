package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketEntries = []byte("entries") // key -> record; its sequence numbers writes
	bucketTags    = []byte("tags")    // tag -> tagState
)

// gcBatch bounds the keys one sweep transaction looks at.
const gcBatch = 1000

type diskStore struct {
	db     *bolt.DB
	path   string
	front  *front
	cfg    config
	closed atomic.Bool
	dead   chan string // keys Get found dead, for the sweeper to remove
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

var _ Store = (*diskStore)(nil)

// OpenDisk opens the store in the file at path, creating the file and its
// directory if needed. Only one process may have the file open: OpenDisk
// fails with an error wrapping ErrUnavailable after waiting WithTimeout
// (default 500 ms) for another holder to let go.
//
// Every write is committed with fsync before it returns, so an entry whose
// Set returned survives a crash of the process or the machine. A sweeper
// removes expired entries and entries of expired tags every
// WithSweepInterval; Get reports them as misses before that.
//
// Options that apply: WithFrontSize, WithTimeout, WithSweepInterval,
// WithLogger.
func OpenDisk(path string, opts ...Option) (Store, error) {
	cfg := newConfig(opts)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot open cache: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("cannot open cache: %s is held by another process (waited %v): %w: %w",
			path, cfg.timeout, ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open cache %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketTags} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open cache %s: %w", path, err)
	}
	s := &diskStore{
		db:    db,
		path:  path,
		front: newFront(cfg.frontBytes, true),
		cfg:   cfg,
		dead:  make(chan string, gcBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go s.sweeper()
	return s, nil
}

func (s *diskStore) usable(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("store closed: %w", ErrUnavailable)
	}
	return ctx.Err()
}

func now() time.Time { return time.Now().Round(0) }

func (s *diskStore) Get(ctx context.Context, key string) (Entry, error) {
	if err := checkKey(key); err != nil {
		return Entry{}, fmt.Errorf("cannot get: %w", err)
	}
	if err := s.usable(ctx); err != nil {
		return Entry{}, fmt.Errorf("cannot get: %w", err)
	}
	t := now()
	if e, ok := s.front.get(key, t); ok {
		return e, nil
	}
	epoch := s.front.begin()
	var (
		rec    record
		states []tagState
		found  bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries).Get([]byte(key))
		if b == nil {
			return nil
		}
		var err error
		if rec, states, err = loadRecord(tx, b); err != nil {
			return err
		}
		// b is only valid inside the transaction.
		rec.value, err = decodeValue(rec.value)
		found = err == nil
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, s.wrap(err))
	}
	if !found {
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, ErrNotFound)
	}
	miss, stale, until := judge(rec.seq, rec.expires, states, t)
	if miss {
		select {
		case s.dead <- key:
		default: // the sweeper is busy; the periodic sweep will find it
		}
		return Entry{}, fmt.Errorf("cannot get %q: %w", key, ErrNotFound)
	}
	e := Entry{Value: rec.value, Tags: rec.tags, Created: rec.created, Expires: rec.expires, Stale: stale}
	s.front.put(key, e, until, epoch)
	return e, nil
}

// loadRecord decodes the record b and reads the states of its tags.
func loadRecord(tx *bolt.Tx, b []byte) (record, []tagState, error) {
	rec, err := unmarshalRecord(b)
	if err != nil {
		return rec, nil, err
	}
	var states []tagState
	tb := tx.Bucket(bucketTags)
	for _, tag := range rec.tags {
		v := tb.Get([]byte(tag))
		if v == nil {
			continue
		}
		st, err := unmarshalTagState(v)
		if err != nil {
			return rec, nil, err
		}
		states = append(states, st)
	}
	return rec, states, nil
}

func (s *diskStore) wrap(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("store closed: %w: %w", ErrUnavailable, err)
	}
	return err
}

func (s *diskStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration, tags []string) error {
	if err := checkSet(key, value, ttl, tags); err != nil {
		return fmt.Errorf("cannot set: %w", err)
	}
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("cannot set: %w", err)
	}
	rec := record{created: now(), tags: tags, value: encodeValue(value)}
	if ttl > 0 {
		rec.expires = rec.created.Add(ttl)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		var err error
		if rec.seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put([]byte(key), rec.marshal())
	})
	s.front.drop(key)
	if err != nil {
		return fmt.Errorf("cannot set %q: %w", key, s.wrap(err))
	}
	return nil
}

func (s *diskStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("cannot delete: %w", err)
	}
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("cannot delete: %w", err)
	}
	// Most deletes find nothing (the CDN invalidates the URL of every
	// POST): a read transaction tells, and only a key that is there
	// costs a write transaction (bbolt's writes are serialised, each
	// with an fsync).
	var present bool
	err := s.db.View(func(tx *bolt.Tx) error {
		present = tx.Bucket(bucketEntries).Get([]byte(key)) != nil
		return nil
	})
	if err == nil && present {
		err = s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketEntries).Delete([]byte(key))
		})
	}
	s.front.drop(key)
	if err != nil {
		return fmt.Errorf("cannot delete %q: %w", key, s.wrap(err))
	}
	return nil
}

func (s *diskStore) ExpireTags(ctx context.Context, tags ...string) error {
	return s.tagOp(ctx, "expire tags", tags, func(st *tagState, seq uint64, _ time.Time) {
		st.expired = seq
	})
}

func (s *diskStore) InvalidateTags(ctx context.Context, tags ...string) error {
	return s.tagOp(ctx, "invalidate tags", tags, func(st *tagState, seq uint64, _ time.Time) {
		st.invalidated = seq
	})
}

func (s *diskStore) DeleteTags(ctx context.Context, deadline time.Duration, tags ...string) error {
	if deadline < 0 {
		return fmt.Errorf("cannot delete tags: negative deadline %v: %w", deadline, ErrInvalid)
	}
	return s.tagOp(ctx, "delete tags", tags, func(st *tagState, seq uint64, t time.Time) {
		st.delete(seq, t, deadline)
	})
}

// tagOp applies change to the state of every tag in one transaction, at one
// new position in the sequence of writes.
func (s *diskStore) tagOp(ctx context.Context, what string, tags []string, change func(*tagState, uint64, time.Time)) error {
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	if len(tags) == 0 {
		return nil
	}
	t := now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		seq, err := tx.Bucket(bucketEntries).NextSequence()
		if err != nil {
			return err
		}
		tb := tx.Bucket(bucketTags)
		for _, tag := range tags {
			var st tagState
			if v := tb.Get([]byte(tag)); v != nil {
				if st, err = unmarshalTagState(v); err != nil {
					return err
				}
			}
			change(&st, seq, t)
			if err := tb.Put([]byte(tag), st.marshal()); err != nil {
				return err
			}
		}
		return nil
	})
	s.front.dropTags(tags)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", what, s.wrap(err))
	}
	return nil
}

func (s *diskStore) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		select {
		case <-s.done:
		case <-ctx.Done():
			// The sweeper stops between batches; release the file then.
			go func() { <-s.done; s.db.Close() }()
			err = fmt.Errorf("cannot close cache: %w", ctx.Err())
			return
		}
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("cannot close cache: %w", cerr)
		}
		s.front.reset(false)
	})
	return err
}

// sweeper removes dead entries: those Get reported, at once, and all of them
// every sweep interval.
func (s *diskStore) sweeper() {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case key := <-s.dead:
			keys := []string{key}
		drain:
			for len(keys) < gcBatch {
				select {
				case k := <-s.dead:
					keys = append(keys, k)
				default:
					break drain
				}
			}
			if err := s.removeDead(keys); err != nil {
				s.cfg.logger.Warn("cache: cannot remove dead entries", "path", s.path, "err", err)
			}
		case <-tick.C:
			if err := s.sweep(); err != nil {
				s.cfg.logger.Warn("cache: cannot sweep", "path", s.path, "err", err)
			}
		}
	}
}

// sweep walks every entry, gcBatch keys per read transaction, and removes
// the dead ones.
func (s *diskStore) sweep() error {
	var after []byte
	for {
		var dead []string
		var last []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			t := now()
			c := tx.Bucket(bucketEntries).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for n := 0; k != nil && n < gcBatch; k, v = c.Next() {
				n++
				last = append(last[:0], k...)
				rec, states, err := loadRecord(tx, v)
				if err != nil {
					continue // left for Get to report
				}
				if miss, _, _ := judge(rec.seq, rec.expires, states, t); miss {
					dead = append(dead, string(k))
				}
			}
			if k == nil {
				last = nil
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(dead) > 0 {
			if err := s.removeDead(dead); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		after = last
		select {
		case <-s.stop:
			return nil
		default:
		}
	}
}

// removeDead deletes those of keys that are still dead, judged again in the
// writing transaction so that a Set since they were found is kept.
func (s *diskStore) removeDead(keys []string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		t := now()
		for _, key := range keys {
			v := b.Get([]byte(key))
			if v == nil {
				continue
			}
			rec, states, err := loadRecord(tx, v)
			if err != nil {
				continue
			}
			if miss, _, _ := judge(rec.seq, rec.expires, states, t); miss {
				if err := b.Delete([]byte(key)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
