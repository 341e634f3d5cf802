package jsbuild

// SetTestHookLoad has f called with the path of each file esbuild loads,
// before it reads the file, until the returned function is called.
func SetTestHookLoad(f func(path string)) (reset func()) {
	testHookLoad = f
	return func() { testHookLoad = nil }
}
