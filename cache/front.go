package cache

import (
	"container/list"
	"slices"
	"sync"
	"time"
)

// front is the in-memory front of a store: the entries Get returned
// recently, least recently used first out, bounded by the bytes of their
// values and tags.
//
// Coherence: every write that may change what Get answers (Set, Delete, a
// tag operation, a lost connection) calls drop, dropTags or reset, which
// also advance the epoch and note what they dropped. Get reads the epoch
// before it reads the backend, and put refuses the entry if a drop since
// then concerns its key or one of its tags (or if the notes do not reach
// back that far), so an answer read before a write never lands in the
// front after the write's drop, while writes to other keys do not keep the
// front from filling.
//
// A nil *front is a disabled front.
type front struct {
	mu      sync.Mutex
	max     int64
	size    int64
	epoch   uint64
	trusted bool
	ll      list.List // of *frontItem, most recent first
	items   map[string]*list.Element
	drops   [dropLog]dropNote // drops[e%dropLog] is the note of epoch e
}

// dropLog is how many drops the front remembers for put.
const dropLog = 256

// dropNote is what the drop that advanced the epoch to epoch forgot.
type dropNote struct {
	epoch uint64
	key   string   // drop
	tags  []string // dropTags
	all   bool     // reset, clear
}

// note advances the epoch and records what the drop forgets.
func (f *front) note(n dropNote) {
	f.epoch++
	n.epoch = f.epoch
	f.drops[f.epoch%dropLog] = n
}

// droppedSince reports whether a drop after epoch concerns key or tags.
func (f *front) droppedSince(epoch uint64, key string, tags []string) bool {
	if f.epoch-epoch >= dropLog {
		return true // the notes do not reach back that far
	}
	for e := epoch + 1; e <= f.epoch; e++ {
		n := &f.drops[e%dropLog]
		if n.all || n.key == key && n.tags == nil {
			return true
		}
		for _, t := range n.tags {
			if slices.Contains(tags, t) {
				return true
			}
		}
	}
	return false
}

type frontItem struct {
	key   string
	entry Entry
	until time.Time // the answer may change at until; zero: never
	size  int64
}

func newFront(maxBytes int64, trusted bool) *front {
	if maxBytes <= 0 {
		return nil
	}
	return &front{max: maxBytes, trusted: trusted, items: make(map[string]*list.Element)}
}

// get returns a copy of the entry under key if the front holds a valid one.
func (f *front) get(key string, now time.Time) (Entry, bool) {
	if f == nil {
		return Entry{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	el, ok := f.items[key]
	if !ok {
		return Entry{}, false
	}
	it := el.Value.(*frontItem)
	if !it.until.IsZero() && !now.Before(it.until) {
		f.remove(el)
		return Entry{}, false
	}
	f.ll.MoveToFront(el)
	e := it.entry
	e.Value = slices.Clone(e.Value)
	e.Tags = slices.Clone(e.Tags)
	return e, true
}

// begin returns the epoch to pass to put.
func (f *front) begin() uint64 {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epoch
}

// put stores a copy of e under key unless a write happened since begin
// returned epoch, or the front is not trusted.
func (f *front) put(key string, e Entry, until time.Time, epoch uint64) {
	if f == nil {
		return
	}
	size := int64(len(key) + len(e.Value) + 64)
	for _, t := range e.Tags {
		size += int64(len(t) + 16)
	}
	if size > f.max/4 {
		return
	}
	e.Value = slices.Clone(e.Value)
	e.Tags = slices.Clone(e.Tags)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.trusted || f.droppedSince(epoch, key, e.Tags) {
		return
	}
	if el, ok := f.items[key]; ok {
		f.remove(el)
	}
	f.items[key] = f.ll.PushFront(&frontItem{key: key, entry: e, until: until, size: size})
	f.size += size
	for f.size > f.max {
		f.remove(f.ll.Back())
	}
}

func (f *front) remove(el *list.Element) {
	it := el.Value.(*frontItem)
	f.ll.Remove(el)
	delete(f.items, it.key)
	f.size -= it.size
}

// drop forgets key.
func (f *front) drop(key string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(dropNote{key: key})
	if el, ok := f.items[key]; ok {
		f.remove(el)
	}
}

// dropTags forgets every entry carrying any of tags. Tag operations are
// rare next to Get, so it scans instead of keeping an index.
func (f *front) dropTags(tags []string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(dropNote{tags: slices.Clone(tags)})
	for el := f.ll.Front(); el != nil; {
		next := el.Next()
		for _, t := range el.Value.(*frontItem).entry.Tags {
			if slices.Contains(tags, t) {
				f.remove(el)
				break
			}
		}
		el = next
	}
}

// reset forgets everything and sets whether the front may be filled again.
func (f *front) reset(trusted bool) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(dropNote{all: true})
	f.trusted = trusted
	f.ll.Init()
	clear(f.items)
	f.size = 0
}

// clear forgets everything and keeps whether the front may be filled.
func (f *front) clear() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(dropNote{all: true})
	f.ll.Init()
	clear(f.items)
	f.size = 0
}
