//go:build cgo

package discv4test

// gethRecoversBadRecoveryID is whether go-ethereum's signature recovery
// accepts recovery IDs 4 to 7. With cgo it uses libsecp256k1, which refuses
// them.
const gethRecoversBadRecoveryID = false
