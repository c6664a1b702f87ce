module github.com/gantry-build/gantry/examples/hello

go 1.26
