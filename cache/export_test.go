package cache

import bolt "go.etcd.io/bbolt"

// CountEntries returns the number of entries in the file of a disk store,
// live or dead.
func CountEntries(s Store) (int, error) {
	var n int
	err := s.(*diskStore).db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEntries).Stats().KeyN
		return nil
	})
	return n, err
}

// FrontHas reports whether the front of s holds key.
func FrontHas(s Store, key string) bool {
	var f *front
	switch s := s.(type) {
	case *diskStore:
		f = s.front
	case *redisStore:
		f = s.front
	}
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.items[key]
	return ok
}

// WriteTxns returns the number of write transactions the file of a disk
// store has committed since it was opened.
func WriteTxns(s Store) int64 {
	st := s.(*diskStore).db.Stats()
	return st.TxStats.GetWrite()
}
