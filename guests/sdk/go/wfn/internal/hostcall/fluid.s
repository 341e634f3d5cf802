//go:build wfn_fluid

// An assembly file lets fluid.go declare getProfLabel without a body
// (it is linked by name).
