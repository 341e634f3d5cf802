//go:build wasip1 && wfn_fluid

// An assembly file lets fluid_wasip1.go declare getProfLabel without a body
// (it is linked by name).
