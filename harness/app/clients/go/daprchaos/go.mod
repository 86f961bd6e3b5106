module github.com/dapr-chaos/daprchaos

go 1.22
