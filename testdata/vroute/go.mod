module github.com/wfn-dev/wfn/testdata/vroute

go 1.26.0

require github.com/wfn-dev/wfn v0.0.0

replace github.com/wfn-dev/wfn => ../..
