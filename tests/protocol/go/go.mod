module daprchaos.local/protocoldriver

go 1.22

require github.com/dapr-chaos/daprchaos v0.0.0

replace github.com/dapr-chaos/daprchaos => ../../../harness/app/clients/go/daprchaos
