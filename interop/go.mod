module github.com/devp2p-go/devp2p/interop

go 1.26

require (
	github.com/devp2p-go/devp2p v0.0.0
	github.com/ethereum/go-ethereum v1.17.10
)

replace github.com/devp2p-go/devp2p => ../
