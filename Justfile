# wfn tasks. `just` is optional: each recipe is one plain command.

# Serve the example functions on http://127.0.0.1:3000
serve:
    go run ./cli/wfn serve ./guests

# Run every test, with the race detector
test:
    go test -race ./...

# Benchmarks: wfn against a native net/http handler, in the same run: one
# table of warm throughput, cold start, start time and density (< 10 min;
# `go run ./internal/bench/wfnbench -h` for sections and scale)
bench *ARGS:
    go run ./internal/bench/wfnbench {{ARGS}}

# Build and compile every example; fails on any error
build:
    go run ./cli/wfn build ./guests

# What CI runs
ci:
    bash .ci/run
